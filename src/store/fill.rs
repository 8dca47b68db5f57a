//! Replacing a whole store (`replace_all`, `fill_if_empty`), the same steps for every backend:
//! check the dataset, then inside the backend's transaction clear the layers children first,
//! write every built-in layer with one progress count, the declared layers, then what each
//! backend derives. A backend supplies the steps through `Fill`.

use super::Progress;
use crate::model::declared::Declarations;
use crate::model::{Dataset, Layer, LayerData, validate_dataset};
use crate::{Error, Result};

/// The steps of `fill` a backend performs, inside its own transaction.
pub trait Fill {
    /// Whether any layer holds a feature.
    fn holds_anything(&mut self) -> Result<bool>;
    /// Delete every feature of `layer`.
    fn clear(&mut self, layer: Layer) -> Result<()>;
    /// Write `data` into its emptied layer.
    fn write_layer(&mut self, data: &LayerData, progress: Progress) -> Result<()>;
    /// Write every declared layer of `data` whole.
    fn write_declared(&mut self, data: &Dataset) -> Result<()>;
    /// What the backend keeps beside the rows (derived geometry, extents, the change log).
    fn finish(&mut self, data: &Dataset) -> Result<()>;
}

/// Check `data` before any transaction: valid as a whole, and declaring only layers of `layers`.
pub fn check(data: &Dataset, layers: &Declarations, store: &str) -> Result<()> {
    let report = validate_dataset(data);
    if !report.is_ok() {
        return Err(Error::Invalid(report));
    }
    if let Some(unknown) = data
        .declared
        .iter()
        .find(|d| layers.get(d.def.name).is_none())
    {
        return Err(Error::store(
            store,
            format!(
                "layer '{}' is not declared in {}; give --layers with it",
                unknown.def.name, layers.source
            ),
        ));
    }
    Ok(())
}

/// Replace every built-in layer, and each declared layer `data` holds, with `data` (checked by
/// `check`); with `only_if_empty`, only when the store holds nothing. Returns whether it wrote.
/// The caller commits.
pub fn fill(
    w: &mut dyn Fill,
    data: &Dataset,
    progress: Progress,
    only_if_empty: bool,
) -> Result<bool> {
    if only_if_empty && w.holds_anything()? {
        return Ok(false);
    }
    // Children first, so a reader never sees a dangling reference mid-transaction.
    for &layer in Layer::ALL.iter().rev() {
        w.clear(layer)?;
    }
    let total: usize = Layer::ALL.iter().map(|&l| data.count(l)).sum();
    let mut done = 0;
    for layer in Layer::ALL {
        let rows = data.layer(layer);
        let offset = done;
        w.write_layer(&rows, &|i, _| progress(offset + i, total))?;
        done += rows.len();
    }
    w.write_declared(data)?;
    w.finish(data)?;
    Ok(true)
}

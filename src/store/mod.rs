//! Persistence. `Store` is the one small trait every backend implements; nothing outside this
//! module knows SQL. The embedded GeoPackage file is the default backend.

mod blob;
mod gpkg;
mod gpkg_rows;

pub use gpkg::GeoPackage;

use std::sync::Arc;

use crate::model::{Dataset, Layer, LayerData, validate_dataset};
use crate::{Error, Result};

/// How many features an import added, changed and removed.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    pub layer: Option<Layer>,
    pub inserted: usize,
    pub updated: usize,
    pub deleted: usize,
}

/// Progress of a long write: (features written, features to write).
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Sync);

pub trait Store: Send + Sync {
    /// Where the data lives, with any secret redacted (for logs and `--help`).
    fn describe(&self) -> String;

    /// Every layer, as stored.
    fn load(&self) -> Result<Dataset>;

    /// Upsert `data` into its layer (or replace the layer), validating the whole resulting dataset
    /// first. All or nothing: on any error, or a crash, the stored data is unchanged.
    fn import(&self, data: LayerData, replace: bool, progress: Progress) -> Result<ImportSummary>;

    /// Replace every layer with `data` in one transaction (used to load the sample).
    fn replace_all(&self, data: &Dataset, progress: Progress) -> Result<()>;

    /// A number that changes whenever any process commits a change to the store: servers poll it
    /// to pick up imports made by other processes.
    fn version(&self) -> Result<u64>;
}

/// Open a store from a `--store` value: a file path (GeoPackage, created when missing).
pub fn open(location: &str) -> Result<Arc<dyn Store>> {
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        return Err(Error::store(
            redact(location),
            "PostGIS storage is not built yet; use a GeoPackage file path",
        ));
    }
    Ok(Arc::new(GeoPackage::open(location)?))
}

/// A connection string with its password replaced by `***`.
pub fn redact(location: &str) -> String {
    match (location.find("://"), location.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &location[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &location[..scheme + 3],
                    &userinfo[..colon],
                    &location[at..]
                ),
                None => location.to_string(),
            }
        }
        _ => location.to_string(),
    }
}

/// The dataset after an import, validated, with the counts of what changes. Shared by backends.
pub fn plan_import(
    mut current: Dataset,
    data: LayerData,
    replace: bool,
) -> Result<(Dataset, ImportSummary)> {
    let layer = data.layer();
    let before = keys(&current.layer(layer));
    let incoming = keys(&data);
    current.apply(data, replace);
    let report = validate_dataset(&current);
    if !report.is_ok() {
        return Err(Error::Invalid(report));
    }
    let updated = incoming.iter().filter(|k| before.contains(*k)).count();
    let summary = ImportSummary {
        layer: Some(layer),
        inserted: incoming.len() - updated,
        updated,
        deleted: if replace {
            before.iter().filter(|k| !incoming.contains(*k)).count()
        } else {
            0
        },
    };
    Ok((current, summary))
}

fn keys(data: &LayerData) -> std::collections::HashSet<String> {
    match data {
        LayerData::Towns(v) => v.iter().map(|f| f.code.clone()).collect(),
        LayerData::Villages(v) => v.iter().map(|f| f.code.clone()).collect(),
        LayerData::Grids(v) => v.iter().map(|f| f.code.clone()).collect(),
        LayerData::Stations(v) => v.iter().map(|f| f.id.to_string()).collect(),
        LayerData::Alliances(v) => v.iter().map(|f| f.id.to_string()).collect(),
        LayerData::Members(v) => v.iter().map(|f| f.id.to_string()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://gm:s3cret@db:5432/gridmap"),
            "postgres://gm:***@db:5432/gridmap"
        );
        assert_eq!(
            redact("postgres://gm@db/gridmap"),
            "postgres://gm@db/gridmap"
        );
        assert_eq!(redact("data/gridmap.gpkg"), "data/gridmap.gpkg");
    }
}

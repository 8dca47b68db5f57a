//! The built-in buildings layer (`declared::BUILDINGS`) read as typed values: where a grid's
//! households live, for coverage, siting and `gridmap check`. The layer itself is stored, served
//! and tiled by the declared-layer paths like any other.

use geo::Point;
use serde_json::Value;

use super::Dataset;
use super::declared::BUILDINGS;
use super::records::{DeclaredData, Record};
use super::schema::LayerDef;

/// One building, borrowed from its record.
#[derive(Clone, Copy, Debug)]
pub struct Building<'a> {
    /// The grid's code and 5 digits.
    pub code: &'a str,
    pub at: Point,
    pub households: u64,
    pub residents: u64,
    pub record: &'a Record,
    pub def: &'static LayerDef,
}

impl<'a> Building<'a> {
    /// A text field's value ("" when null).
    pub fn text(&self, field: &str) -> &'a str {
        self.record.value(self.def, field).as_str().unwrap_or("")
    }

    /// The code of the grid it belongs to: the first 15 digits of its own.
    pub fn grid_code(&self) -> &'a str {
        self.code.get(..15).unwrap_or(self.code)
    }
}

/// The dataset's buildings layer, if it has one.
pub fn layer(d: &Dataset) -> Option<&DeclaredData> {
    d.declared(BUILDINGS)
}

/// Every building of the dataset (none when it has no buildings layer), in layer order.
pub fn all(d: &Dataset) -> Vec<Building<'_>> {
    let Some(layer) = layer(d) else {
        return Vec::new();
    };
    let position = |name| layer.def.position(name);
    let (Some(h), Some(r)) = (position("households"), position("residents")) else {
        return Vec::new();
    };
    let count = |rec: &Record, i: usize| rec.values.get(i).and_then(Value::as_u64).unwrap_or(0);
    layer
        .features
        .iter()
        .filter_map(|rec| {
            Some(Building {
                code: &rec.key,
                at: rec.anchor()?,
                households: count(rec, h),
                residents: count(rec, r),
                record: rec,
                def: layer.def,
            })
        })
        .collect()
}

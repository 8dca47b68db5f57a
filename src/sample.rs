//! The committed Danyang sample (`geodata/*.geojson`, written by `gridmap generate`), embedded in
//! the binary so that a first `serve` with no store can load it from anywhere.

use crate::model::{Dataset, Layer, geojson::read_layer};
use crate::store::Store;
use crate::{Error, Result};

const FILES: [(Layer, &str); 6] = [
    (Layer::Towns, include_str!("../geodata/towns.geojson")),
    (Layer::Villages, include_str!("../geodata/villages.geojson")),
    (Layer::Grids, include_str!("../geodata/grids.geojson")),
    (Layer::Stations, include_str!("../geodata/stations.geojson")),
    (
        Layer::Alliances,
        include_str!("../geodata/alliances.geojson"),
    ),
    (Layer::Members, include_str!("../geodata/members.geojson")),
];

/// The embedded sample, parsed.
pub fn dataset() -> Result<Dataset> {
    let mut d = Dataset::default();
    for (layer, text) in FILES {
        d.apply(read_layer(layer, text).map_err(Error::Invalid)?, true);
    }
    Ok(d)
}

/// Load the sample into `store` when it holds no features at all. Returns whether it did.
pub fn load_if_empty(store: &dyn Store) -> Result<bool> {
    store.fill_if_empty(&dataset()?, &|_, _| {})
}

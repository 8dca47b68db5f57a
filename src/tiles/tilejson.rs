//! TileJSON 3.0.0 for the composite tiles: served at /tiles.json and stored in archives.

use serde_json::{Value, json};

use super::MAX_ZOOM;
use super::layers::TILE_LAYERS;
use crate::index::Snapshot;
use crate::model::Layer;

/// Where the sample's data comes from.
pub const ATTRIBUTION: &str = "Danyang outline and points © Vonng/adcode (CC BY 4.0, from Amap/DataV); \
divisions: NBS/MCA; town, village and grid polygons, posts and alliances: synthetic (gridmap)";

/// The TileJSON document for tiles at `tiles_url` (a `{z}/{x}/{y}` template) over `min_zoom..=max_zoom`.
pub fn tilejson(snap: &Snapshot, tiles_url: &str, min_zoom: u8, max_zoom: u8) -> Value {
    let bounds = snap
        .extent(Layer::Towns)
        .map(|b| vec![b.min_lon, b.min_lat, b.max_lon, b.max_lat])
        .unwrap_or_else(|| vec![-180.0, -85.051_128_779_806_59, 180.0, 85.051_128_779_806_59]);
    let center = json!([
        (bounds[0] + bounds[2]) / 2.0,
        (bounds[1] + bounds[3]) / 2.0,
        10.min(max_zoom)
    ]);
    let vector_layers: Vec<Value> = TILE_LAYERS
        .iter()
        .filter(|l| l.minzoom <= max_zoom && l.maxzoom >= min_zoom)
        .map(|l| {
            let fields: serde_json::Map<String, Value> =
                l.fields.iter().map(|(k, t)| (k.to_string(), json!(t))).collect();
            json!({"id": l.name, "fields": fields, "minzoom": l.minzoom.max(min_zoom), "maxzoom": l.maxzoom.min(max_zoom)})
        })
        .collect();
    json!({
        "tilejson": "3.0.0",
        "name": "gridmap",
        "description": "Grid governance one map: towns, villages, grids, grid posts, alliances",
        "version": env!("CARGO_PKG_VERSION"),
        "scheme": "xyz",
        "tiles": [tiles_url],
        "minzoom": min_zoom,
        "maxzoom": max_zoom.min(MAX_ZOOM),
        "bounds": bounds,
        "center": center,
        "attribution": ATTRIBUTION,
        "vector_layers": vector_layers,
    })
}

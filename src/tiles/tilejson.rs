//! TileJSON 3.0.0 for the composite tiles (served at /tiles.json, and with `tilestats` stored in
//! archives), and tippecanoe's `metadata.json` (served at /tiles/metadata.json for GDAL).

use serde_json::{Value, json};

use super::MAX_ZOOM;
use super::layers::all;
use super::stats::TileStats;
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
    // The public pyramid's layers: a staff layer's features are only in accounts' tiles (the
    // web map learns of it from /map/config.json).
    let vector_layers: Vec<Value> = all(snap)
        .iter()
        .filter(|l| l.minzoom <= max_zoom && l.maxzoom >= min_zoom)
        .filter(|l| !l.staff_only())
        .map(|l| {
            let fields: serde_json::Map<String, Value> =
                l.fields().into_iter().map(|(k, t)| (k.to_string(), json!(t))).collect();
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

/// The layer names in drawing order, for listing statistics in the layer table's order.
fn layer_order(snap: &Snapshot) -> Vec<&'static str> {
    all(snap).iter().map(|l| l.name).collect()
}

/// What `gridmap tiles` stores in an archive: the TileJSON without `tiles` (an archive does not
/// know the URL it will be served from; PMTiles readers take tile addresses from the archive) and
/// the `tilestats` of the tiles it holds, as tippecanoe and `pmtiles convert` store them.
pub fn archive_metadata(snap: &Snapshot, min_zoom: u8, max_zoom: u8, stats: &TileStats) -> Value {
    let mut metadata = tilejson(snap, "", min_zoom, max_zoom);
    if let Some(object) = metadata.as_object_mut() {
        object.remove("tiles");
    }
    metadata["tilestats"] = stats.to_json(&layer_order(snap));
    metadata
}

/// A TileJSON document's `bounds` (and `center`, kept at its zoom) as the tile set of `crs`
/// has them: the box holding the WGS84 bounds' image.
pub fn bounds_in(doc: &mut Value, crs: crate::geodesy::Crs) {
    let n = |i: usize| doc["bounds"].get(i).and_then(Value::as_f64);
    let (Some(a), Some(b), Some(c), Some(d)) = (n(0), n(1), n(2), n(3)) else {
        return;
    };
    let area = crate::model::Bbox {
        min_lon: a,
        min_lat: b,
        max_lon: c,
        max_lat: d,
    };
    let s = super::area_in(crs, &area);
    doc["bounds"] = json!([s.min_lon, s.min_lat, s.max_lon, s.max_lat]);
    if doc["center"].is_array() {
        doc["center"][0] = ((s.min_lon + s.max_lon) / 2.0).into();
        doc["center"][1] = ((s.min_lat + s.max_lat) / 2.0).into();
    }
}

/// `metadata.json` in tippecanoe's layout, which GDAL's MVT driver reads before it fetches
/// `{z}/{x}/{y}.pbf` next to it: zooms, `bounds` and `center` as comma-separated strings, and
/// `json`, a string holding `vector_layers` and `tilestats`. Made from a TileJSON document (ours,
/// or an archive's metadata) and the `tilestats` (left out when null).
pub fn tippecanoe_metadata(tilejson: &Value, tilestats: &Value) -> Value {
    let join = |v: &Value| {
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default()
    };
    let mut inner = json!({"vector_layers": tilejson["vector_layers"]});
    if !tilestats.is_null() {
        inner["tilestats"] = tilestats.clone();
    }
    json!({
        "name": tilejson["name"],
        "description": tilejson["description"],
        "version": tilejson["version"],
        "attribution": tilejson["attribution"],
        "type": "overlay",
        "format": "pbf",
        "minzoom": tilejson["minzoom"].to_string(),
        "maxzoom": tilejson["maxzoom"].to_string(),
        "bounds": join(&tilejson["bounds"]),
        "center": join(&tilejson["center"]),
        "json": inner.to_string(),
    })
}

/// `metadata.json` for the live tiles over `min_zoom..=max_zoom`, with `stats` of what they draw.
pub fn live_metadata(snap: &Snapshot, min_zoom: u8, max_zoom: u8, stats: &TileStats) -> Value {
    tippecanoe_metadata(
        &tilejson(snap, "", min_zoom, max_zoom),
        &stats.to_json(&layer_order(snap)),
    )
}

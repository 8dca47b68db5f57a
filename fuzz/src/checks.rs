//! What each fuzz target checks, shared by the targets (`fuzz_targets/`) and by the replay of
//! their corpus on stable (`tests/it/fuzz_corpus.rs`), so the two never disagree. Each function
//! takes the fuzzer's bytes and panics on a finding.
#![allow(dead_code)] // each target uses one check

/// Load the sample and build the router before fuzzing starts, so the first input is not timed
/// with it (under the sanitizer the load takes longer than the hang timeout).
pub fn warm() {
    served::warm();
}

use geo::{Coord, LineString, MultiPolygon, Polygon};
use gridmap::model::{Dataset, Layer};
use gridmap::tiles::{TileConfig, TileCoord, TileFrame};

#[path = "served.rs"]
mod served;

const PATHS: [&str; 14] = [
    "/locate",
    "/nearest",
    "/search",
    "/geocode",
    "/reverse",
    "/collections/grids/items",
    "/collections/stations/items",
    "/collections/events/items",
    "/events",
    "/stats",
    "/stats/trend",
    "/coverage/gaps",
    "/coverage/suggest",
    "/tiles/12/3408/1663.mvt",
];

/// Any bytes as a GeoJSON import into any layer: read, applied to an empty dataset and
/// validated, never a panic (a refusal is a `ValidationReport`).
pub fn geojson_import(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let layer = Layer::ALL[usize::from(which) % Layer::ALL.len()];
    let text = String::from_utf8_lossy(rest);
    if let Ok(read) = gridmap::model::geojson::read_layer(layer, &text) {
        let mut d = Dataset::default();
        d.apply(read, which & 0x80 != 0);
        let _ = gridmap::model::validate_dataset(&d);
    }
}

/// Any text as a layer declaration file (`--layers`): parsed or refused with a message, never a
/// panic.
pub fn layer_declarations(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = gridmap::model::declared::Declarations::parse(text, "fuzz.toml");
    }
}

/// Random polygons, valid or not (self-crossing, degenerate, huge, tiny, NaN-free), through the
/// tile pipeline at a random tile: projected, simplified, clipped and rounded without a panic, and
/// what comes out lies within the buffered tile.
pub fn tile_geometry(data: &[u8]) {
    if data.len() < 4 {
        return;
    }
    let z = u32::from(data[0] % 19);
    let n = 1u32 << z;
    // Tiles around Danyang at any zoom, so polygons near it land in them.
    let (x, y) = {
        let (wx, wy) = gridmap::tiles::lon_lat_to_world(119.58, 31.99);
        let x = (wx * f64::from(n)) as u32 + u32::from(data[1] % 3);
        let y = (wy * f64::from(n)) as u32 + u32::from(data[2] % 3);
        (x.min(n - 1), y.min(n - 1))
    };
    let Ok(coord) = TileCoord::new(z, x, y) else {
        return;
    };
    let config = TileConfig::default();
    let frame = TileFrame::new(coord, &config);
    // Each 2 bytes: an offset from the city centre, scaled by the third byte's power of two.
    let scale = f64::from(1u32 << (data[3] % 20)) * 1e-6;
    let mut rings = vec![Vec::new()];
    for pair in data[4..].chunks(2) {
        if pair.len() == 1 || (pair[0] == 0xff && pair[1] == 0xff) {
            rings.push(Vec::new());
            continue;
        }
        let dx = f64::from(pair[0] as i8) * scale;
        let dy = f64::from(pair[1] as i8) * scale;
        rings.last_mut().unwrap().push(Coord {
            x: 119.58 + dx,
            y: 31.99 + dy,
        });
    }
    let mut rings = rings.into_iter().map(LineString::from);
    let Some(exterior) = rings.next() else {
        return;
    };
    let polygon = Polygon::new(exterior, rings.collect());
    let mp = MultiPolygon(vec![polygon]);
    let tolerance = f64::from(data[1] % 8);
    if let Some(out) = frame.polygon(&mp, tolerance, 0.0) {
        // The buffered tile, a unit of rounding either side.
        let buffer = i32::try_from(config.buffer).unwrap();
        let extent = i32::try_from(config.extent).unwrap();
        let inside = -buffer - 1..=extent + buffer + 1;
        for p in &out.0 {
            for c in p
                .exterior()
                .coords()
                .chain(p.interiors().iter().flat_map(|r| r.coords()))
            {
                assert!(
                    inside.contains(&c.x) && inside.contains(&c.y),
                    "{c:?} outside the buffered tile"
                );
            }
        }
    }
}

/// Any query string on every endpoint that reads one: a 2xx, 3xx or 4xx answer, never a 5xx or a
/// panic. Runs the real router on the Danyang sample (loaded once).
pub fn query_string(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let path = PATHS[usize::from(which) % PATHS.len()];
    let query: String = String::from_utf8_lossy(rest)
        .chars()
        .filter(|c| !c.is_control() && *c != ' ' && *c != '#')
        .collect();
    served::get_is_not_5xx(&format!("{path}?{query}"));
}

/// Any tile address text (`/tiles/{z}/{x}/{y}.{ext}` and the GCJ-02 and event sets): a tile, or a
/// 4xx naming the part that is wrong, never a 5xx or a panic.
pub fn tile_coords(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let set = [
        "/tiles/",
        "/tiles/gcj02/",
        "/tiles/events/",
        "/tiles/gcj02/events/",
    ][usize::from(which) % 4];
    let address: String = String::from_utf8_lossy(rest)
        .chars()
        .filter(|c| c.is_ascii_graphic() && !"?#%".contains(*c))
        .collect();
    served::get_is_not_5xx(&format!("{set}{address}"));
}

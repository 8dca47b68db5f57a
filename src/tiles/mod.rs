//! Vector tiles: tile maths (Web Mercator, EPSG:3857 XYZ), the layer table, clipping and
//! simplification in tile space, and Mapbox Vector Tile 2.1 encoding (fast-mvt).
//!
//! Tiles are rendered from an index snapshot, never from SQL. This module knows nothing of HTTP.

pub mod archive;
mod budget;
pub mod cache;
mod clip;
pub mod clusters;
pub mod events;
mod features;
mod geometry;
pub mod layers;
mod render;
mod shapes;
pub mod stats;
pub mod tilejson;
mod valid;

pub use features::each_feature;
pub use geometry::TileFrame;
pub use render::{Rendered, TileConfig, label_point, render, render_for, render_scoped};
pub use shapes::carry_over;

use std::f64::consts::PI;

/// The deepest zoom served; MapLibre and QGIS overzoom beyond it.
pub const MAX_ZOOM: u8 = 18;

/// Web Mercator's latitude limit (the square world).
const MAX_MERCATOR_LAT: f64 = 85.051_128_779_806_59;

/// An XYZ tile address (y down from the north, as MapLibre and OSM number them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TileCoord {
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

impl TileCoord {
    /// A validated address: `z <= MAX_ZOOM`, `x` and `y` in `0..2^z`.
    pub fn new(z: u32, x: u32, y: u32) -> Result<TileCoord, String> {
        if z > u32::from(MAX_ZOOM) {
            return Err(format!("zoom {z} is above the maximum {MAX_ZOOM}"));
        }
        let n = 1u32 << z;
        if x >= n || y >= n {
            return Err(format!(
                "x and y must be in 0..{} at zoom {z}, got x={x} y={y}",
                n - 1
            ));
        }
        Ok(TileCoord { z: z as u8, x, y })
    }

    /// The tile's bounds in world units (0..1 from the west and from the north).
    pub fn world_bounds(&self) -> (f64, f64, f64) {
        let size = 1.0 / f64::from(1u32 << self.z);
        (f64::from(self.x) * size, f64::from(self.y) * size, size)
    }
}

/// Longitude/latitude to world units: x from 0 (180W) to 1 (180E), y from 0 (north) to 1 (south).
pub fn lon_lat_to_world(lon: f64, lat: f64) -> (f64, f64) {
    let lat = lat.clamp(-MAX_MERCATOR_LAT, MAX_MERCATOR_LAT).to_radians();
    let x = (lon + 180.0) / 360.0;
    let y = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / PI) / 2.0;
    (x, y)
}

/// World units back to longitude/latitude.
pub fn world_to_lon_lat(x: f64, y: f64) -> (f64, f64) {
    let lon = x * 360.0 - 180.0;
    let lat = (PI * (1.0 - 2.0 * y)).sinh().atan().to_degrees();
    (lon, lat)
}

/// A WGS84 box in a tile set's datum: the box holding its image (itself for WGS84).
pub fn area_in(crs: crate::geodesy::Crs, area: &crate::model::Bbox) -> crate::model::Bbox {
    if !crs.shifts() {
        return *area;
    }
    let r = crs.rect_from_wgs84(area.rect());
    crate::model::Bbox {
        min_lon: r.min().x,
        min_lat: r.min().y,
        max_lon: r.max().x,
        max_lat: r.max().y,
    }
}

/// Whether a change inside `area` (lon/lat) shows in tile `coord`: its buffered box meets it.
pub fn touches(coord: TileCoord, area: &crate::model::Bbox, config: &TileConfig) -> bool {
    let b = geometry::TileFrame::new(coord, config).lon_lat_bbox(f64::from(config.buffer));
    b.min_lon <= area.max_lon
        && area.min_lon <= b.max_lon
        && b.min_lat <= area.max_lat
        && area.min_lat <= b.max_lat
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn tile_outside_zoom_range_is_rejected() {
        assert!(TileCoord::new(19, 0, 0).is_err());
        assert!(TileCoord::new(3, 8, 0).is_err());
        assert!(TileCoord::new(3, 0, 8).is_err());
        assert_eq!(TileCoord::new(3, 7, 7), Ok(TileCoord { z: 3, x: 7, y: 7 }));
    }

    #[test]
    fn mercator_round_trips_and_matches_known_tiles() {
        // Danyang's city point lies in tile 14/13634/6653 (computed with the standard slippy-map
        // formula: x = floor((lon+180)/360 * 2^z), y = floor((1 - asinh(tan(lat))/pi)/2 * 2^z)).
        let (x, y) = lon_lat_to_world(119.585, 31.99167);
        assert_eq!(((x * 16384.0) as u32, (y * 16384.0) as u32), (13634, 6653));
        let (lon, lat) = world_to_lon_lat(x, y);
        assert_relative_eq!(lon, 119.585, epsilon = 1e-9);
        assert_relative_eq!(lat, 31.99167, epsilon = 1e-9);
    }
}

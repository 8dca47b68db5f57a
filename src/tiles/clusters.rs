//! Posts as clusters where single posts would crowd the view (the city and county views, below
//! the zoom posts are drawn from): each tile is cut into 4 x 4 cells of 64 pixels, and the posts
//! of a cell become one point at their mean position, with their count and the services any of
//! them offers. A cell lies in one tile, so a cluster is in exactly one tile of its set, and its id
//! is its zoom and cell (the GCJ-02 set cuts cells in its own coordinates, so its clusters are
//! its own); a zoom later the cells are half as wide, and the
//! clusters break up until single posts take over.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use geo::Coord;
use serde_json::{Map, Value};

use super::TileCoord;
use super::features::{TileFeature, TileGeometry};
use super::geometry::TileFrame;
use crate::index::Snapshot;
use crate::model::{Layer, Service};

/// Cells across a tile: 64 pixels of a 256-pixel tile (supercluster's default radius is 40).
pub const CELLS_PER_TILE: u32 = 4;

/// The posts of one cell, as they accumulate.
#[derive(Default)]
struct Cell {
    count: u64,
    sum: (i64, i64),
    services: BTreeSet<Service>,
}

/// The clusters of tile `coord`, by cell: id, `count` and `services` (names, comma-separated in
/// the tile), at the mean position of the cell's posts.
pub(super) fn features(snap: &Snapshot, coord: TileCoord, frame: &TileFrame) -> Vec<TileFeature> {
    let stations = &snap.dataset().stations;
    let cell_units = frame.extent / f64::from(CELLS_PER_TILE);
    let mut cells: BTreeMap<(u32, u32), Cell> = BTreeMap::new();
    for i in snap.in_bbox(Layer::Stations, Some(frame.lon_lat_bbox(0.0))) {
        let s = &stations[i];
        // Only posts in the tile proper: each post is in one tile, so in one cluster.
        let Some(at) = frame.point(s.location) else {
            continue;
        };
        let cell = (
            (f64::from(at.x) / cell_units) as u32,
            (f64::from(at.y) / cell_units) as u32,
        );
        let c = cells.entry(cell).or_default();
        c.count += 1;
        c.sum.0 += i64::from(at.x);
        c.sum.1 += i64::from(at.y);
        c.services.extend(s.services.iter().copied());
    }
    cells
        .into_iter()
        .map(|((cx, cy), c)| {
            let n = c.count as i64;
            // The mean of points in a cell is in the cell.
            let at = Coord {
                x: (c.sum.0 / n) as i32,
                y: (c.sum.1 / n) as i32,
            };
            let mut properties = Map::new();
            properties.insert("count".into(), Value::from(c.count));
            properties.insert(
                "services".into(),
                Value::from(c.services.iter().map(|s| s.name()).collect::<Vec<_>>()),
            );
            let id = cluster_id(
                coord.z,
                coord.x * CELLS_PER_TILE + cx,
                coord.y * CELLS_PER_TILE + cy,
            );
            (
                Some(id),
                Arc::new(properties.into()),
                TileGeometry::Point(at),
            )
        })
        .collect()
}

/// A cluster's id: its zoom and its cell's column and row in the whole world at that zoom.
pub fn cluster_id(z: u8, column: u32, row: u32) -> u64 {
    (u64::from(z) << 56) | (u64::from(column) << 28) | u64::from(row)
}

/// The tiles at zoom `z` holding a post, for counting clusters without a tile request.
pub(super) fn tiles_with_posts(snap: &Snapshot, z: u8) -> BTreeSet<(u32, u32)> {
    let n = f64::from(1u32 << z);
    snap.dataset()
        .stations
        .iter()
        .map(|s| {
            let (x, y) = super::lon_lat_to_world(s.location.x(), s.location.y());
            ((x * n) as u32, (y * n) as u32)
        })
        .collect()
}

//! The event tiles (`/tiles/events/{z}/{x}/{y}.mvt`), a source of their own beside the map's:
//! events change by the second, the map's tiles are cached until the map changes. Two layers:
//!
//! - `event_density`, for everyone: each grid's polygon with how many of its cases are open and
//!   how many were reported in the last 30 days. Never a point, a text or a person.
//! - `events`, for staff: the cases the caller's area holds, as points, open ones and those of
//!   the last 30 days, with their state (no text, no reporter).

use std::collections::HashMap;
use std::sync::Arc;

use fast_mvt::MvtTileBuilder;
use geo::BoundingRect;
use serde_json::json;

use super::features::{TileFeature, TileGeometry, add_feature};
use super::geometry::TileFrame;
use super::{TileConfig, TileCoord};
use crate::events::{Book, Case, Filter};
use crate::index::Snapshot;
use crate::model::Layer;

/// Counted as recent when reported within this long.
pub const RECENT_MS: i64 = 30 * 86_400_000;
/// The zooms the two layers start at: the city view (z10) shows where cases cluster.
pub const DENSITY_MINZOOM: u8 = 10;
pub const POINTS_MINZOOM: u8 = 10;

/// Encode tile `coord` of the events; `sees` says which cases the caller's area holds (none for
/// the public, who gets the density layer only). Empty when nothing falls in the tile.
pub fn render(
    snap: &Snapshot,
    book: &Book,
    coord: TileCoord,
    config: &TileConfig,
    now_ms: i64,
    sees: impl Fn(&Case) -> bool,
) -> crate::Result<Vec<u8>> {
    let failed = |message: String| crate::Error::Tile {
        z: coord.z,
        x: coord.x,
        y: coord.y,
        message,
    };
    let frame = TileFrame::new(coord, config);
    let px = f64::from(config.extent) / 256.0;
    let live = |c: &Case| c.open() || now_ms - c.event.reported_at_ms <= RECENT_MS;
    let mut layers: Vec<(&str, Vec<TileFeature>)> = Vec::new();
    if coord.z >= DENSITY_MINZOOM {
        let d = snap.dataset();
        let grids = snap.in_bbox(Layer::Grids, Some(frame.lon_lat_bbox(frame.buffer)));
        // Every case of those grids, wherever in its grid it lies (the grids reach past the tile).
        let mut counts: HashMap<&str, (u64, u64)> = HashMap::new();
        let reach = grids
            .iter()
            .filter_map(|&i| d.grids[i].geometry.bounding_rect())
            .reduce(|a, b| {
                geo::Rect::new(
                    geo::coord! { x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y) },
                    geo::coord! { x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y) },
                )
            });
        if let Some(reach) = reach {
            let filter = Filter {
                bbox: Some(crate::model::Bbox {
                    min_lon: reach.min().x,
                    min_lat: reach.min().y,
                    max_lon: reach.max().x,
                    max_lat: reach.max().y,
                }),
                ..Filter::default()
            };
            for case in book.query(&filter, now_ms, live) {
                if let Some(grid) = case.event.grid.as_deref() {
                    let c = counts.entry(grid).or_default();
                    c.0 += u64::from(case.open());
                    c.1 += u64::from(now_ms - case.event.reported_at_ms <= RECENT_MS);
                }
            }
        }
        let features = grids
            .into_iter()
            .filter_map(|i| {
                let g = &d.grids[i];
                let (open, recent) = counts.get(g.code.as_str()).copied().unwrap_or_default();
                let polygon = frame.polygon(&g.geometry, config.tolerance_px * px, 0.0)?;
                let props = json!({"code": g.code, "open": open, "recent_30d": recent});
                Some((
                    g.code.parse().ok(),
                    Arc::new(props.as_object().cloned().unwrap_or_default().into()),
                    TileGeometry::Polygon(polygon),
                ))
            })
            .collect();
        layers.push(("event_density", features));
    }
    if coord.z >= POINTS_MINZOOM {
        let filter = Filter {
            bbox: Some(frame.lon_lat_bbox(0.0)),
            ..Filter::default()
        };
        let features = book
            .query(&filter, now_ms, |c| live(c) && sees(c))
            .into_iter()
            .filter_map(|c| {
                let e = &c.event;
                let at = frame.point(geo::Point::new(e.lon, e.lat))?;
                let props = json!({
                    "id": e.id, "status": c.status.name(), "category": e.category,
                    "severity": e.severity.name(), "overdue": c.overdue_at(now_ms),
                    "grid_code": e.grid, "holder": c.holder, "assignee": c.assignee,
                });
                Some((
                    Some(e.id),
                    Arc::new(props.as_object().cloned().unwrap_or_default().into()),
                    TileGeometry::Point(at),
                ))
            })
            .collect();
        layers.push(("events", features));
    }
    let mut tile = MvtTileBuilder::new();
    let mut any = false;
    for (name, features) in layers {
        if features.is_empty() {
            continue;
        }
        let mut builder = tile
            .layer(name)
            .map_err(|e| failed(format!("layer {name}: {e}")))?;
        if let Some(extent) = std::num::NonZeroU32::new(config.extent) {
            builder.extent(extent);
        }
        for (id, properties, geometry) in features {
            builder = add_feature(builder, id, &properties, &geometry)
                .map_err(|e| failed(format!("layer {name}, feature {id:?}: {e}")))?;
        }
        tile = builder.end();
        any = true;
    }
    Ok(if any { tile.encode() } else { Vec::new() })
}

//! What an emergency touches (应急研判): for an area (a polygon, a circle, a risk zone), every
//! grid it meets with the overlap in m² and as a share of the grid, the households and people
//! affected (by the buildings inside where the grid has buildings, else pro rata to area), the
//! posts and centres inside; totals by village, town and for the whole; the three shelters
//! nearest to the area and the shortfall when the people affected exceed the capacity of the
//! shelters within 3 km. What `POST /impact` and `gridmap impact` both answer.
//!
//! Overlaps are clipped in longitude/latitude and measured in the plane tangent at each grid
//! (the equirectangular scaling is affine, so clipping before or after projecting gives the same
//! polygon); the area as a whole is measured on the ellipsoid (Karney).

//!
//! `area` reads and checks what a request asks for, this module assesses it, `report` writes the
//! answer (JSON and CSV, totals by village and town).

mod area;
mod report;

use std::collections::HashMap;

use geo::orient::{Direction, Orient};
use geo::{Area, BooleanOps, BoundingRect, GeodesicArea, Intersects, MultiPolygon};
use serde_json::Value;

use crate::geodesy::{distance_outside_m, m_per_deg_lat, m_per_deg_lon};
use crate::index::Snapshot;
use crate::model::records::Record;
use crate::model::{AnyLayer, Bbox, Layer};

pub use area::{Asked, Refusal, circle, read, resolve};
pub use report::{Totals, csv, json, totals_by};

/// The largest circle asked for, in metres (beyond it an emergency is the county's whole).
pub const MAX_RADIUS_M: f64 = 50_000.0;
/// Shelters this far from the area (or inside it) count towards its capacity.
pub const SHELTER_REACH_M: f64 = 3_000.0;
/// The most vertices an asked area may have (a county's outline has a few thousand).
pub const MAX_VERTICES: usize = 10_000;
/// Vertices of a circle's polygon: its area is within 0.05% of the circle's.
const CIRCLE_VERTICES: usize = 128;
/// The declared layers read here (`geodata/layers.toml`).
const SHELTERS: &str = "shelters";
const CENTRES: &str = "centres";
const RISK_ZONES: &str = "risk_zones";

/// One grid the area meets.
#[derive(Clone, Debug, PartialEq)]
pub struct GridHit {
    /// The grid's position in the dataset.
    pub grid: usize,
    pub overlap_m2: f64,
    /// Of the grid's area.
    pub share: f64,
    pub households: u64,
    pub people: u64,
    /// Whether households and people were counted by buildings (else pro rata to area).
    pub by_buildings: bool,
    /// Post ids inside the area.
    pub posts: Vec<u64>,
    /// Keys of the centres inside the area.
    pub centres: Vec<String>,
}

/// A shelter and its distance to the area (0 inside).
#[derive(Clone, Debug, PartialEq)]
pub struct ShelterNear {
    /// Its position in the shelters layer.
    pub index: usize,
    pub capacity: u64,
    pub distance_m: f64,
}

/// What an area touches.
#[derive(Clone, Debug, PartialEq)]
pub struct Impact {
    /// The area's own size on the ellipsoid.
    pub area_m2: f64,
    pub grids: Vec<GridHit>,
    /// The nearest three, nearest first.
    pub nearest_shelters: Vec<ShelterNear>,
    pub shelters_within_reach: usize,
    pub capacity_within_reach: u64,
}

impl Impact {
    pub fn people(&self) -> u64 {
        self.grids.iter().map(|g| g.people).sum()
    }

    /// People affected beyond what the shelters within 3 km hold (0 when they hold everyone).
    pub fn shortfall(&self) -> u64 {
        self.people().saturating_sub(self.capacity_within_reach)
    }
}

fn bbox_of(area: &MultiPolygon) -> Option<Bbox> {
    area.bounding_rect().map(|r| Bbox {
        min_lon: r.min().x,
        min_lat: r.min().y,
        max_lon: r.max().x,
        max_lat: r.max().y,
    })
}

/// Square metres per square degree in the plane tangent at the middle of `r`.
fn m2_per_deg2(r: geo::Rect) -> f64 {
    let lat = r.center().y;
    m_per_deg_lon(lat) * m_per_deg_lat(lat)
}

/// What `area` (valid, WGS84) touches on `snap`'s map, reading only the declared features the
/// caller `sees` (a layer may be declared for staff only). `None` when it meets no grid: the area
/// lies outside the county.
pub fn assess(
    snap: &Snapshot,
    area: &MultiPolygon,
    sees: impl Fn(AnyLayer, usize) -> bool,
) -> Option<Impact> {
    let data = snap.dataset();
    let bbox = bbox_of(area)?;
    let mut grids: Vec<GridHit> = Vec::new();
    for i in snap.in_bbox(Layer::Grids, Some(bbox)) {
        let g = &data.grids[i].geometry;
        let Some(r) = g.bounding_rect() else { continue };
        let whole_deg2 = g.unsigned_area();
        let overlap_deg2 = g.intersection(area).unsigned_area();
        if overlap_deg2 <= 0.0 || whole_deg2 <= 0.0 {
            continue;
        }
        let share = (overlap_deg2 / whole_deg2).min(1.0);
        grids.push(GridHit {
            grid: i,
            overlap_m2: overlap_deg2 * m2_per_deg2(r),
            share,
            households: 0,
            people: 0,
            by_buildings: false,
            posts: Vec::new(),
            centres: Vec::new(),
        });
    }
    if grids.is_empty() {
        return None;
    }
    let hit: HashMap<&str, usize> = grids
        .iter()
        .enumerate()
        .map(|(k, h)| (data.grids[h.grid].code.as_str(), k))
        .collect();
    count_people(snap, area, &mut grids, &hit);
    for s in snap.in_bbox(Layer::Stations, Some(bbox)) {
        let post = &data.stations[s];
        if let Some(&k) = hit.get(post.grid_code.as_str())
            && area.intersects(&post.location)
        {
            grids[k].posts.push(post.id);
        }
    }
    if let Some(centres) = snap.declared_layer(CENTRES) {
        let layer = AnyLayer::Declared(centres.def);
        for i in snap.in_bbox_any(layer, Some(bbox)) {
            if !sees(layer, i) {
                continue;
            }
            let r = &centres.features[i];
            let grid = r.value(centres.def, "grid_code").as_str();
            if let (Some(&k), Some(p)) = (grid.and_then(|c| hit.get(c)), r.anchor())
                && area.intersects(&p)
            {
                grids[k].centres.push(r.key.clone());
            }
        }
    }
    let (nearest_shelters, shelters_within_reach, capacity_within_reach) =
        shelters(snap, area, &sees);
    Some(Impact {
        // Karney's area reads a clockwise ring as the rest of the globe: orient it first.
        area_m2: area.orient(Direction::Default).geodesic_area_unsigned(),
        grids,
        nearest_shelters,
        shelters_within_reach,
        capacity_within_reach,
    })
}

/// Households and people affected in each grid hit: the buildings inside the area where the grid
/// has buildings holding anyone, else its figures times the share of its area (rounded).
fn count_people(
    snap: &Snapshot,
    area: &MultiPolygon,
    grids: &mut [GridHit],
    hit: &HashMap<&str, usize>,
) {
    let data = snap.dataset();
    // Every building of the grids hit lies within their boxes (a building stands within 1 m
    // of its grid), so one query over their union finds them all.
    let union = grids
        .iter()
        .filter_map(|h| data.grids[h.grid].geometry.bounding_rect())
        .reduce(|a, b| {
            geo::Rect::new(
                geo::coord! {x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y)},
                geo::coord! {x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y)},
            )
        });
    let mut housed = vec![false; grids.len()];
    let mut inside = vec![(0_u64, 0_u64); grids.len()];
    if let (Some(layer), Some(u)) = (crate::model::buildings::layer(data), union) {
        let (h, r) = (
            layer.def.position("households"),
            layer.def.position("residents"),
        );
        let count = |rec: &Record, i: Option<usize>| {
            i.and_then(|i| rec.values.get(i))
                .and_then(Value::as_u64)
                .unwrap_or(0)
        };
        let ubox = Bbox {
            min_lon: u.min().x,
            min_lat: u.min().y,
            max_lon: u.max().x,
            max_lat: u.max().y,
        };
        for i in snap.in_bbox_any(AnyLayer::Declared(layer.def), Some(ubox)) {
            let rec = &layer.features[i];
            let Some(&k) = rec.key.get(..15).and_then(|c| hit.get(c)) else {
                continue;
            };
            let (households, residents) = (count(rec, h), count(rec, r));
            housed[k] |= households + residents > 0;
            if rec.anchor().is_some_and(|p| area.intersects(&p)) {
                inside[k].0 += households;
                inside[k].1 += residents;
            }
        }
    }
    for (k, g) in grids.iter_mut().enumerate() {
        let grid = &data.grids[g.grid];
        if housed[k] {
            g.by_buildings = true;
            (g.households, g.people) = inside[k];
        } else {
            g.households = (f64::from(grid.households) * g.share).round() as u64;
            g.people = (f64::from(grid.population) * g.share).round() as u64;
        }
    }
}

/// The three shelters nearest to `area` (geodesic distance to its edge, 0 inside), and how many
/// lie within `SHELTER_REACH_M` and what they hold.
fn shelters(
    snap: &Snapshot,
    area: &MultiPolygon,
    sees: &impl Fn(AnyLayer, usize) -> bool,
) -> (Vec<ShelterNear>, usize, u64) {
    let Some(layer) = snap.declared_layer(SHELTERS) else {
        return (Vec::new(), 0, 0);
    };
    let capacity = layer.def.position("capacity");
    let mut all: Vec<ShelterNear> = layer
        .features
        .iter()
        .enumerate()
        .filter(|&(index, _)| sees(AnyLayer::Declared(layer.def), index))
        .filter_map(|(index, r)| {
            let p = r.anchor()?;
            Some(ShelterNear {
                index,
                capacity: capacity
                    .and_then(|c| r.values.get(c))
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
                distance_m: distance_outside_m(area, p),
            })
        })
        .collect();
    all.sort_by(|a, b| {
        a.distance_m
            .total_cmp(&b.distance_m)
            .then(a.index.cmp(&b.index))
    });
    let near: Vec<&ShelterNear> = all
        .iter()
        .filter(|s| s.distance_m <= SHELTER_REACH_M)
        .collect();
    let (count, held) = (near.len(), near.iter().map(|s| s.capacity).sum());
    all.truncate(3);
    (all, count, held)
}

#[cfg(test)]
mod tests;

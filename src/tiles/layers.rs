//! The one table of which layers appear in tiles from which zoom, and with which fields.
//!
//! Documented in the README. Polygon layers carry a label point in a `<layer>_labels` point layer.

use crate::model::Layer;

/// What a tile layer is drawn from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The features of a model layer (polygons or points).
    Features(Layer),
    /// One label point per polygon of a model layer.
    Labels(Layer),
    /// The uncovered part of each grid at the default walking radius (`analysis::coverage`).
    CoverageGaps,
}

/// A layer of the composite tile.
#[derive(Clone, Copy, Debug)]
pub struct TileLayer {
    pub name: &'static str,
    pub source: Source,
    pub minzoom: u8,
    pub maxzoom: u8,
    /// From this zoom on every polygon is kept however small; below it, polygons smaller than
    /// `MIN_AREA_PX2` square pixels after simplification are dropped.
    pub full_detail_zoom: u8,
    /// Public fields, with their TileJSON types.
    pub fields: &'static [(&'static str, &'static str)],
}

impl TileLayer {
    /// The MVT geometry type every feature of the layer has: points for posts, members and label
    /// points, polygons for the rest.
    pub fn geometry(&self) -> super::stats::GeomKind {
        use super::stats::GeomKind;
        match self.source {
            Source::Features(Layer::Stations | Layer::Members) | Source::Labels(_) => {
                GeomKind::Point
            }
            Source::Features(_) | Source::CoverageGaps => GeomKind::Polygon,
        }
    }
}

/// Polygons below this many square pixels are dropped under their layer's `full_detail_zoom`.
pub const MIN_AREA_PX2: f64 = 2.0;

const TOWN_FIELDS: &[(&str, &str)] = &[
    ("code", "String"),
    ("name", "String"),
    ("mca_code", "String"),
    ("kind", "String"),
];
const VILLAGE_FIELDS: &[(&str, &str)] = &[
    ("code", "String"),
    ("name", "String"),
    ("kind", "String"),
    ("town_code", "String"),
];
const GRID_FIELDS: &[(&str, &str)] = &[
    ("code", "String"),
    ("name", "String"),
    ("village_code", "String"),
    ("households", "Number"),
    ("population", "Number"),
];
const STATION_FIELDS: &[(&str, &str)] = &[
    ("id", "Number"),
    ("name", "String"),
    ("grid_code", "String"),
    ("services", "String"),
    ("opening_hours", "String"),
];
const ALLIANCE_FIELDS: &[(&str, &str)] = &[
    ("id", "Number"),
    ("name", "String"),
    ("theme", "String"),
    ("founded", "String"),
];
const GAP_FIELDS: &[(&str, &str)] = &[
    ("code", "String"),
    ("name", "String"),
    ("uncovered_population", "Number"),
    ("radius_m", "Number"),
];
const MEMBER_FIELDS: &[(&str, &str)] = &[
    ("id", "Number"),
    ("alliance_id", "Number"),
    ("kind", "String"),
    ("name", "String"),
    ("village_code", "String"),
];

/// Towns from z0 (the city view), villages from z10, grids from z12 (as a command-centre screen
/// zooms from the city to a street), stations from z11, alliances z8-z13 (a planning overview),
/// members from z12; coverage gaps (grid by grid, 500 m) from z12 with the grids, under the boundaries.
pub const TILE_LAYERS: &[TileLayer] = &[
    TileLayer {
        name: "towns",
        source: Source::Features(Layer::Towns),
        minzoom: 0,
        maxzoom: 18,
        full_detail_zoom: 10,
        fields: TOWN_FIELDS,
    },
    TileLayer {
        name: "towns_labels",
        source: Source::Labels(Layer::Towns),
        minzoom: 0,
        maxzoom: 18,
        full_detail_zoom: 0,
        fields: TOWN_FIELDS,
    },
    TileLayer {
        name: "alliances",
        source: Source::Features(Layer::Alliances),
        minzoom: 8,
        maxzoom: 13,
        full_detail_zoom: 11,
        fields: ALLIANCE_FIELDS,
    },
    TileLayer {
        name: "coverage_gaps",
        source: Source::CoverageGaps,
        minzoom: 12,
        maxzoom: 18,
        full_detail_zoom: 14,
        fields: GAP_FIELDS,
    },
    TileLayer {
        name: "villages",
        source: Source::Features(Layer::Villages),
        minzoom: 10,
        maxzoom: 18,
        full_detail_zoom: 12,
        fields: VILLAGE_FIELDS,
    },
    TileLayer {
        name: "villages_labels",
        source: Source::Labels(Layer::Villages),
        minzoom: 11,
        maxzoom: 18,
        full_detail_zoom: 0,
        fields: VILLAGE_FIELDS,
    },
    TileLayer {
        name: "grids",
        source: Source::Features(Layer::Grids),
        minzoom: 12,
        maxzoom: 18,
        full_detail_zoom: 14,
        fields: GRID_FIELDS,
    },
    TileLayer {
        name: "grids_labels",
        source: Source::Labels(Layer::Grids),
        minzoom: 14,
        maxzoom: 18,
        full_detail_zoom: 0,
        fields: GRID_FIELDS,
    },
    TileLayer {
        name: "stations",
        source: Source::Features(Layer::Stations),
        minzoom: 11,
        maxzoom: 18,
        full_detail_zoom: 0,
        fields: STATION_FIELDS,
    },
    TileLayer {
        name: "members",
        source: Source::Features(Layer::Members),
        minzoom: 12,
        maxzoom: 18,
        full_detail_zoom: 0,
        fields: MEMBER_FIELDS,
    },
];

/// The layers drawn at zoom `z`, in drawing order.
pub fn at_zoom(z: u8) -> impl Iterator<Item = &'static TileLayer> {
    TILE_LAYERS
        .iter()
        .filter(move |l| (l.minzoom..=l.maxzoom).contains(&z))
}

/// Whether tiles at zoom `z` draw the `coverage_gaps` layer.
pub fn shows_coverage(z: u8) -> bool {
    at_zoom(z).any(|l| l.source == Source::CoverageGaps)
}

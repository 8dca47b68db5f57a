//! The one table of which layers appear in tiles from which zoom, and with which fields.
//!
//! Documented in the README. Polygon layers carry a label point in a `<layer>_labels` point layer.

use crate::index::Snapshot;
use crate::model::Layer;
use crate::model::schema::{self, GeometryKind, LayerDef};

/// What a tile layer is drawn from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Source {
    /// The features of a model layer (polygons or points).
    Features(Layer),
    /// One label point per polygon of a model layer.
    Labels(Layer),
    /// The uncovered part of each grid at the default walking radius (`analysis::coverage`).
    CoverageGaps,
    /// The features of a declared layer, at the zooms its declaration gives.
    Declared(&'static LayerDef),
    /// Posts gathered by cells of 64 pixels (`tiles::clusters`), below the zoom posts start.
    StationClusters,
}

/// A layer of the composite tile.
#[derive(Clone, Copy, Debug)]
pub struct TileLayer {
    pub name: &'static str,
    pub source: Source,
    pub minzoom: u8,
    pub maxzoom: u8,
    /// From this zoom on every feature is kept; below it, polygons smaller than `MIN_AREA_PX2`
    /// square pixels after simplification are dropped, and a tile over its byte budget drops
    /// more of its smallest polygons and thins its points (`render_scoped`).
    pub full_detail_zoom: u8,
}

impl TileLayer {
    /// Whether it draws a staff layer, whose features only accounts' tiles hold.
    pub fn staff_only(&self) -> bool {
        matches!(self.source, Source::Declared(def) if def.staff_only())
    }

    /// The declaration of the layer whose features this tile layer draws, for the audit log:
    /// none for label points (they repeat their layer's features) and the coverage gaps.
    pub fn audited(&self) -> Option<&'static LayerDef> {
        match self.source {
            Source::Features(layer) => Some(layer.def()),
            Source::Declared(def) => Some(def),
            Source::Labels(_) | Source::CoverageGaps | Source::StationClusters => None,
        }
    }

    /// The fields its features carry, with their TileJSON types: the public fields of the model
    /// layer's declaration (`model::schema`) and those public by consent, or the coverage gaps'
    /// own.
    pub fn fields(&self) -> Vec<(&'static str, &'static str)> {
        match self.source {
            Source::Features(layer) | Source::Labels(layer) => layer
                .def()
                .published_fields()
                .map(|f| (f.name, f.ty.tile_type()))
                .collect(),
            Source::CoverageGaps => GAP_FIELDS.to_vec(),
            Source::StationClusters => CLUSTER_FIELDS.to_vec(),
            Source::Declared(def) => def
                .public_fields()
                .map(|f| (f.name, f.ty.tile_type()))
                .collect(),
        }
    }

    /// The MVT geometry type every feature of the layer has: points for posts, members and label
    /// points, polygons for the rest.
    pub fn geometry(&self) -> super::stats::GeomKind {
        use super::stats::GeomKind;
        match self.source {
            Source::Features(Layer::Stations | Layer::Members)
            | Source::Labels(_)
            | Source::StationClusters => GeomKind::Point,
            Source::Features(_) | Source::CoverageGaps => GeomKind::Polygon,
            Source::Declared(def) => match def.geometry {
                GeometryKind::Point => GeomKind::Point,
                GeometryKind::MultiLineString => GeomKind::LineString,
                GeometryKind::MultiPolygon => GeomKind::Polygon,
            },
        }
    }
}

/// Polygons below this many square pixels are dropped under their layer's `full_detail_zoom`.
pub const MIN_AREA_PX2: f64 = 2.0;

const GAP_FIELDS: &[(&str, &str)] = &[
    ("code", "String"),
    ("name", "String"),
    ("uncovered_population", "Number"),
    ("radius_m", "Number"),
];
const CLUSTER_FIELDS: &[(&str, &str)] = &[("count", "Number"), ("services", "String")];

/// Each layer's features at the zooms of its declaration (`model::schema`); labels and gaps at
/// their own. Towns from z0 (the city view), villages from z10, grids from z12 (as a command-centre screen
/// zooms from the city to a street), stations from z11 and as clusters z8-z10, alliances z8-z13 (a planning overview),
/// members from z12; coverage gaps (grid by grid, 500 m) from z12 with the grids, under the boundaries.
pub const TILE_LAYERS: &[TileLayer] = &[
    TileLayer {
        name: "towns",
        source: Source::Features(Layer::Towns),
        minzoom: schema::TOWNS.zooms.0,
        maxzoom: schema::TOWNS.zooms.1,
        full_detail_zoom: 10,
    },
    TileLayer {
        name: "towns_labels",
        source: Source::Labels(Layer::Towns),
        minzoom: 0,
        maxzoom: 18,
        full_detail_zoom: 0,
    },
    TileLayer {
        name: "alliances",
        source: Source::Features(Layer::Alliances),
        minzoom: schema::ALLIANCES.zooms.0,
        maxzoom: schema::ALLIANCES.zooms.1,
        full_detail_zoom: 11,
    },
    TileLayer {
        name: "coverage_gaps",
        source: Source::CoverageGaps,
        minzoom: 12,
        maxzoom: 18,
        full_detail_zoom: 14,
    },
    TileLayer {
        name: "villages",
        source: Source::Features(Layer::Villages),
        minzoom: schema::VILLAGES.zooms.0,
        maxzoom: schema::VILLAGES.zooms.1,
        full_detail_zoom: 12,
    },
    TileLayer {
        name: "villages_labels",
        source: Source::Labels(Layer::Villages),
        minzoom: 11,
        maxzoom: 18,
        full_detail_zoom: 13,
    },
    TileLayer {
        name: "grids",
        source: Source::Features(Layer::Grids),
        minzoom: schema::GRIDS.zooms.0,
        maxzoom: schema::GRIDS.zooms.1,
        full_detail_zoom: 14,
    },
    TileLayer {
        name: "grids_labels",
        source: Source::Labels(Layer::Grids),
        minzoom: 14,
        maxzoom: 18,
        full_detail_zoom: 16,
    },
    TileLayer {
        name: "stations_clusters",
        source: Source::StationClusters,
        minzoom: 8,
        maxzoom: schema::STATIONS.zooms.0 - 1,
        full_detail_zoom: 0,
    },
    TileLayer {
        name: "stations",
        source: Source::Features(Layer::Stations),
        minzoom: schema::STATIONS.zooms.0,
        maxzoom: schema::STATIONS.zooms.1,
        full_detail_zoom: 14,
    },
    TileLayer {
        name: "members",
        source: Source::Features(Layer::Members),
        minzoom: schema::MEMBERS.zooms.0,
        maxzoom: schema::MEMBERS.zooms.1,
        full_detail_zoom: 14,
    },
];

/// Every tile layer of `snap`, in drawing order: the built-in ones, then one per declared layer
/// (at its declared zooms; polygons below two zooms past its first keep only what is at least
/// `MIN_AREA_PX2`).
pub fn all(snap: &Snapshot) -> Vec<TileLayer> {
    TILE_LAYERS
        .iter()
        .copied()
        .chain(snap.dataset().declared.iter().map(|d| TileLayer {
            name: d.def.name,
            source: Source::Declared(d.def),
            minzoom: d.def.zooms.0,
            maxzoom: d.def.zooms.1,
            full_detail_zoom: d.def.zooms.0.saturating_add(2),
        }))
        .collect()
}

/// The layers of `snap` drawn at zoom `z`, in drawing order.
pub fn at_zoom(snap: &Snapshot, z: u8) -> Vec<TileLayer> {
    all(snap)
        .into_iter()
        .filter(|l| (l.minzoom..=l.maxzoom).contains(&z))
        .collect()
}

/// Whether tiles at zoom `z` draw the `coverage_gaps` layer.
pub fn shows_coverage(z: u8) -> bool {
    TILE_LAYERS
        .iter()
        .any(|l| l.source == Source::CoverageGaps && (l.minzoom..=l.maxzoom).contains(&z))
}

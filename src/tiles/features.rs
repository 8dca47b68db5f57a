//! A tile's features: each layer's features in a tile with their public (or the caller's)
//! properties and tile geometry, the coverage-gap polygons, and how one feature is encoded.
//! `render` draws them into layers; clusters, budgets and event tiles share the types.

use fast_mvt::{MvtGeomType, MvtLayerBuilder, MvtValue};
use geo::{Coord, MultiPolygon};
use serde_json::Value;
use std::sync::Arc;

use super::budget;
use super::geometry::TileFrame;
use super::layers::{Source, TileLayer};
use super::render::TileConfig;
use super::shapes::{ShapeSet, Shapes};
use crate::access::View;
use crate::analysis::coverage::CoverageMap;
use crate::index::Snapshot;
use crate::index::access::Scope;
use crate::model::{AnyLayer, Layer, label_point};

/// One feature ready for encoding: its id, properties and tile geometry.
pub(super) type TileFeature = (Option<u64>, Arc<Props>, TileGeometry);

/// A feature's properties, with the MVT tags they become (made once: the public ones of a
/// snapshot's features are kept for every tile, `tiles::shapes`).
pub(super) struct Props {
    pub map: serde_json::Map<String, Value>,
    tags: Vec<(String, MvtValue)>,
    /// About what they take in a tile (`budget::properties_size`).
    pub estimated_bytes: usize,
}

impl From<serde_json::Map<String, Value>> for Props {
    fn from(map: serde_json::Map<String, Value>) -> Props {
        let tags = map
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), tag_value(v)?)))
            .collect();
        let estimated_bytes = budget::properties_size(&map);
        Props {
            map,
            tags,
            estimated_bytes,
        }
    }
}

pub(super) enum TileGeometry {
    Point(Coord<i32>),
    Line(geo::MultiLineString<i32>),
    Polygon(geo::MultiPolygon<i32>),
}

/// The positions of a model layer's features meeting the tile (`margin` tile units beyond it),
/// queried once per tile however many of its layers draw from them (the grids and their
/// coverage gaps).
#[derive(Default)]
pub(super) struct InTile(std::collections::HashMap<(Layer, u64), Vec<usize>>);

impl InTile {
    pub(super) fn get(
        &mut self,
        snap: &Snapshot,
        layer: Layer,
        frame: &TileFrame,
        margin: f64,
    ) -> &[usize] {
        self.0
            .entry((layer, margin.to_bits()))
            .or_insert_with(|| snap.in_bbox(layer, Some(frame.lon_lat_bbox(margin))))
    }
}

/// (feature id, public properties, tile geometry) for every feature of `layer` in the tile.
pub(super) fn features(
    snap: &Snapshot,
    layer: &TileLayer,
    frame: &TileFrame,
    tolerance: f64,
    min_area: f64,
    scope: &Scope,
    in_tile: &mut InTile,
) -> Vec<TileFeature> {
    let d = snap.dataset();
    let (source, labels) = match layer.source {
        Source::Features(l) => (l, false),
        Source::Labels(l) => (l, true),
        Source::CoverageGaps | Source::StationClusters => return Vec::new(),
        Source::Declared(def) => {
            return declared_features(snap, def, frame, tolerance, min_area, scope);
        }
    };
    let margin = if labels || matches!(source, Layer::Stations | Layer::Members) {
        0.0
    } else {
        frame.buffer
    };
    let shapes = snap.derived::<Shapes>();
    let set = ShapeSet::Builtin(source);
    let (polygons, label_points) = if labels {
        (None, Some(shapes.labels(set, d.count(source))))
    } else if matches!(source, Layer::Stations | Layer::Members) {
        (None, None)
    } else {
        let n = d.count(source);
        (Some(shapes.polygons(set, n, frame, tolerance)), None)
    };
    let public_props = shapes.properties(set, d.count(source));
    let area = |i: usize| -> Option<&MultiPolygon> {
        match source {
            Layer::Towns => Some(&d.towns[i].geometry),
            Layer::Villages => Some(&d.villages[i].geometry),
            Layer::Grids => Some(&d.grids[i].geometry),
            Layer::Alliances => snap.alliance_footprint(i),
            Layer::Stations | Layer::Members => None,
        }
    };
    in_tile
        .get(snap, source, frame, margin)
        .iter()
        .filter_map(|&i| {
            let geometry = match (source, labels) {
                (Layer::Stations, _) => TileGeometry::Point(frame.point(d.stations[i].location)?),
                (Layer::Members, _) => TileGeometry::Point(frame.point(snap.member_location(i)?)?),
                (_, true) => {
                    let at = label_points.as_ref()?.get(i, || label_point(area(i)?))?;
                    TileGeometry::Point(frame.point(*at)?)
                }
                (_, false) => {
                    let mp = area(i)?;
                    let world = polygons
                        .as_ref()?
                        .get(i, || Some(Arc::new(frame.zoom_polygon(mp, tolerance))))?;
                    TileGeometry::Polygon(frame.polygon_at_zoom(world, mp, min_area)?)
                }
            };
            let any = AnyLayer::Builtin(source);
            let (id, props) = match scope.view(snap, any, i) {
                View::Public => public_props
                    .get(i, || Some(tagged(snap, any, i, View::Public)))?
                    .clone(),
                view => tagged(snap, any, i, view),
            };
            Some((id, props, geometry))
        })
        .collect()
}

/// Every feature of a declared layer in the buffered tile (points in the tile itself); its id is
/// a numeric key when it has one.
fn declared_features(
    snap: &Snapshot,
    def: &'static crate::model::schema::LayerDef,
    frame: &TileFrame,
    tolerance: f64,
    min_area: f64,
    scope: &Scope,
) -> Vec<TileFeature> {
    let Some(data) = snap.declared_layer(def.name) else {
        return Vec::new();
    };
    let layer = AnyLayer::Declared(def);
    let margin = match def.geometry {
        crate::model::schema::GeometryKind::Point => 0.0,
        _ => frame.buffer,
    };
    let shapes = snap.derived::<Shapes>();
    let set = ShapeSet::Declared(def.name);
    // Slots for polygons only where the layer has them.
    let polygons = (def.geometry == crate::model::schema::GeometryKind::MultiPolygon)
        .then(|| shapes.polygons(set, data.features.len(), frame, tolerance));
    let public_props = shapes.properties(set, data.features.len());
    snap.in_bbox_any(layer, Some(frame.lon_lat_bbox(margin)))
        .into_iter()
        .filter(|&i| scope.sees(snap, layer, i))
        .filter_map(|i| {
            let r = &data.features[i];
            let geometry = match &r.geometry {
                geo::Geometry::Point(p) => TileGeometry::Point(frame.point(*p)?),
                geo::Geometry::MultiLineString(ml) => {
                    TileGeometry::Line(frame.line(ml, tolerance)?)
                }
                geo::Geometry::MultiPolygon(mp) => {
                    let world = polygons
                        .as_ref()?
                        .get(i, || Some(Arc::new(frame.zoom_polygon(mp, tolerance))))?;
                    TileGeometry::Polygon(frame.polygon_at_zoom(world, mp, min_area)?)
                }
                _ => return None,
            };
            let properties = match scope.view(snap, layer, i) {
                View::Public => public_props
                    .get(i, || Some(tagged(snap, layer, i, View::Public)))?
                    .1
                    .clone(),
                view => tagged(snap, layer, i, view).1,
            };
            Some((Some(r.tile_id()), properties, geometry))
        })
        .collect()
}

/// The gap of every grid meeting the buffered tile, keyed by the grid's code.
pub(super) fn gap_features(
    snap: &Snapshot,
    map: &CoverageMap,
    frame: &TileFrame,
    tolerance: f64,
    min_area: f64,
    in_tile: &mut InTile,
) -> Vec<TileFeature> {
    let grids = &snap.dataset().grids;
    let set = ShapeSet::Gaps {
        radius_bits: map.radius_m.to_bits(),
        service: map.service,
    };
    let shapes = snap.derived::<Shapes>();
    // Positions are the snapshot's grids (the map is of this snapshot, as `render` requires).
    let polygons = shapes.polygons(set, grids.len(), frame, tolerance);
    let props = shapes.properties(set, grids.len());
    in_tile
        .get(snap, Layer::Grids, frame, frame.buffer)
        .iter()
        .filter_map(|&i| {
            let (g, c) = (&grids[i], map.grids.get(i)?);
            if c.gap.0.is_empty() {
                return None;
            }
            let world =
                polygons.get(i, || Some(Arc::new(frame.zoom_polygon(&c.gap, tolerance))))?;
            let geometry = TileGeometry::Polygon(frame.polygon_at_zoom(world, &c.gap, min_area)?);
            let (id, props) = props
                .get(i, || {
                    let props = Arc::new(Props::from(gap_properties(g, c, map.radius_m)));
                    Some((g.code.parse().ok(), props))
                })?
                .clone();
            Some((id, props, geometry))
        })
        .collect()
}

/// The tile properties of a grid's coverage gap.
fn gap_properties(
    g: &crate::model::Grid,
    c: &crate::analysis::coverage::GridCoverage,
    radius_m: f64,
) -> serde_json::Map<String, Value> {
    let uncovered = c.uncovered_people(g.population);
    let mut properties = serde_json::Map::new();
    properties.insert("code".into(), Value::from(g.code.as_str()));
    properties.insert("name".into(), Value::from(g.name.as_str()));
    properties.insert(
        "uncovered_population".into(),
        Value::from((uncovered * 10.0).round() / 10.0),
    );
    properties.insert("radius_m".into(), Value::from(radius_m));
    properties
}

/// A feature's tag: key and MVT value.
pub type Tag<'a> = (&'a str, MvtValue);

/// Every feature `layer` can draw, as its tiles tag it (id and tags, no geometry): what a live
/// server's tile statistics count without rendering a tile. A polygon without a label point
/// (degenerate) or an alliance without a footprint is left out, as `render` leaves them out;
/// `coverage_gaps` needs `gaps`.
pub fn each_feature(
    snap: &Snapshot,
    layer: &TileLayer,
    gaps: Option<&CoverageMap>,
    visit: &mut dyn FnMut(Option<u64>, &[Tag<'_>]),
) {
    let d = snap.dataset();
    let mut emit = |id: Option<u64>, properties: &serde_json::Map<String, Value>| {
        let tags: Vec<Tag<'_>> = properties
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), tag_value(v)?)))
            .collect();
        visit(id, &tags);
    };
    let (source, labels) = match layer.source {
        Source::Features(l) => (l, false),
        Source::Labels(l) => (l, true),
        Source::Declared(def) => {
            // The public statistics count no feature of a staff layer.
            let public = !def.staff_only();
            for r in snap
                .declared_layer(def.name)
                .map_or(&[][..], |d| &d.features)
                .iter()
                .filter(|_| public)
            {
                let feature = r.feature(def, crate::model::schema::Visibility::Public);
                emit(
                    feature_id(&feature),
                    &feature.properties.unwrap_or_default(),
                );
            }
            return;
        }
        Source::StationClusters => {
            // At the deepest zoom clusters are drawn, tile by tile as they are served.
            let z = layer.maxzoom;
            for (x, y) in super::clusters::tiles_with_posts(snap, z) {
                let Ok(coord) = super::TileCoord::new(z.into(), x, y) else {
                    continue;
                };
                let frame = TileFrame::new(coord, &TileConfig::default());
                for (id, properties, _) in super::clusters::features(snap, coord, &frame) {
                    emit(id, &properties.map);
                }
            }
            return;
        }
        Source::CoverageGaps => {
            let Some(map) = gaps else { return };
            for (g, c) in d.grids.iter().zip(&map.grids) {
                if !c.gap.0.is_empty() {
                    emit(g.code.parse().ok(), &gap_properties(g, c, map.radius_m));
                }
            }
            return;
        }
    };
    for i in 0..d.count(source) {
        let drawn = match source {
            Layer::Alliances => snap
                .alliance_footprint(i)
                .is_some_and(|a| !labels || label_point(a).is_some()),
            Layer::Towns if labels => label_point(&d.towns[i].geometry).is_some(),
            Layer::Villages if labels => label_point(&d.villages[i].geometry).is_some(),
            Layer::Grids if labels => label_point(&d.grids[i].geometry).is_some(),
            Layer::Members => snap.member_location(i).is_some(),
            _ => true,
        };
        if drawn {
            let feature = snap.public_feature(source, i);
            emit(
                feature_id(&feature),
                &feature.properties.unwrap_or_default(),
            );
        }
    }
}

/// Feature `i`'s id and properties as `view` shows them, with their tags.
fn tagged(snap: &Snapshot, layer: AnyLayer, i: usize, view: View) -> (Option<u64>, Arc<Props>) {
    let feature = snap.properties_as(layer, i, view);
    let id = feature_id(&feature);
    (
        id,
        Arc::new(Props::from(feature.properties.unwrap_or_default())),
    )
}

fn feature_id(feature: &geojson::Feature) -> Option<u64> {
    match &feature.id {
        Some(geojson::feature::Id::Number(n)) => n.as_u64(),
        Some(geojson::feature::Id::String(s)) => s.parse().ok(),
        None => None,
    }
}

/// A public property as an MVT value: MVT has no arrays, so lists (a station's services) become
/// comma-separated strings; null and objects are left out.
fn tag_value(value: &Value) -> Option<MvtValue> {
    match value {
        Value::String(s) => Some(MvtValue::String(s.clone())),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => Some(MvtValue::UInt(u)),
            (_, Some(i), _) => Some(MvtValue::SInt(i)),
            (_, _, Some(f)) => Some(MvtValue::Double(f)),
            _ => None,
        },
        Value::Bool(b) => Some(MvtValue::Bool(*b)),
        Value::Array(items) => {
            let list: Vec<String> = items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string())
                })
                .collect();
            Some(MvtValue::String(list.join(",")))
        }
        Value::Null | Value::Object(_) => None,
    }
}

/// Add one feature to the layer; an error when its geometry cannot be encoded (the tile is then
/// refused whole rather than drawn with a feature missing or broken).
pub(super) fn add_feature(
    builder: MvtLayerBuilder,
    id: Option<u64>,
    properties: &Props,
    geometry: &TileGeometry,
) -> Result<MvtLayerBuilder, fast_mvt::MvtError> {
    let kind = match geometry {
        TileGeometry::Point(_) => MvtGeomType::Point,
        TileGeometry::Line(_) => MvtGeomType::LineString,
        TileGeometry::Polygon(_) => MvtGeomType::Polygon,
    };
    let mut feature = builder.feature_of(kind);
    feature.id(id);
    for (key, value) in &properties.tags {
        // A tag fails only on a key or value MVT cannot hold; the feature is still drawn.
        if let Err(e) = feature.tag_ref(key, value.into()) {
            tracing::warn!(key = %key, error = %e, "tile property left out");
        }
    }
    match geometry {
        TileGeometry::Point(c) => {
            feature.points([*c])?;
        }
        TileGeometry::Line(ml) => {
            for l in &ml.0 {
                feature.line(l.0.iter().copied())?;
            }
        }
        TileGeometry::Polygon(mp) => {
            for p in &mp.0 {
                feature.ring(p.exterior().0.iter().copied(), true)?;
                for h in p.interiors() {
                    feature.ring(h.0.iter().copied(), false)?;
                }
            }
        }
    }
    Ok(feature.end())
}

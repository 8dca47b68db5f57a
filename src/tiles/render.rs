//! Rendering one composite tile from an index snapshot.

use fast_mvt::{MvtGeomType, MvtLayerBuilder, MvtValue};
use geo::{Coord, MultiPolygon};
use serde_json::Value;
use std::sync::Arc;

use super::TileCoord;
use super::budget::{self, Gathered, Thinning};
use super::geometry::TileFrame;
use super::layers::{MIN_AREA_PX2, Source, TileLayer, at_zoom};
use super::shapes::{ShapeSet, Shapes};
use crate::access::View;
use crate::analysis::coverage::CoverageMap;
use crate::geodesy::Crs;
use crate::index::Snapshot;
use crate::index::access::Scope;
use crate::model::{AnyLayer, Layer};

/// Tile geometry settings.
#[derive(Clone, Copy, Debug)]
pub struct TileConfig {
    /// Tile grid size (MVT extent).
    pub extent: u32,
    /// Tile units of geometry kept beyond each edge, so that strokes join across tiles.
    pub buffer: u32,
    /// Simplification tolerance, in pixels of a 256-pixel tile.
    pub tolerance_px: f64,
    /// The datum features are drawn in: WGS84, or GCJ-02 for tiles laid over AMap or Tencent.
    pub crs: Crs,
    /// A tile larger than this is drawn again with fewer small polygons (`render_scoped`).
    pub budget_bytes: usize,
}

impl Default for TileConfig {
    fn default() -> Self {
        TileConfig {
            extent: 4096,
            buffer: 64,
            tolerance_px: 0.5,
            crs: Crs::Wgs84,
            budget_bytes: TILE_BUDGET_BYTES,
        }
    }
}

pub use crate::model::label_point;

/// What a tile may weigh: a screen of 4 x 3 tiles stays within 6 MB even in the densest part of a
/// city of 200,000 grids (issue 17).
pub const TILE_BUDGET_BYTES: usize = 500_000;

/// Encode tile `coord` of `snap`. Empty (no bytes) when no layer has a feature there.
/// The `coverage_gaps` layer is drawn from `gaps` (computed from this snapshot at the default
/// radius), and left out when it is `None`. An encoder error is an error, never an empty tile.
pub fn render(
    snap: &Snapshot,
    coord: TileCoord,
    config: &TileConfig,
    gaps: Option<&CoverageMap>,
) -> crate::Result<Vec<u8>> {
    render_for(snap, coord, config, gaps, &Scope::public())
}

/// `render` for a caller: features the scope's area holds carry the staff and personal fields
/// its role may see; the rest their public fields, as in the public tile.
pub fn render_for(
    snap: &Snapshot,
    coord: TileCoord,
    config: &TileConfig,
    gaps: Option<&CoverageMap>,
    scope: &Scope,
) -> crate::Result<Vec<u8>> {
    render_scoped(snap, coord, config, gaps, scope).map(|r| r.bytes)
}

/// A tile rendered for a caller, with what the audit log needs to know of it.
pub struct Rendered {
    pub bytes: Vec<u8>,
    /// Per layer (by its name, label points not counted again), how many of its features
    /// carry personal data in clear that their person did not consent to publish (none for the
    /// public, nor for a viewer, who sees it masked).
    pub personal: Vec<(&'static str, usize)>,
}

/// `render_for`, counting the features that carry personal data in clear.
///
/// A tile over `config.budget_bytes` is drawn again with less below each layer's
/// `full_detail_zoom`, as tippecanoe's `--drop-smallest-as-needed` and `--drop-densest-as-needed`
/// do (`budget::next`): first polygons under one area (the same for every layer of the tile, so
/// what stays is always the larger ones), then, when polygons cannot make it, points thinned to
/// one per cell. The first drawing is thinned by the features' estimated sizes (`budget::plan`);
/// when it comes out within the budget, a drawing that keeps more is tried once if the tile's own
/// ratio of estimate to bytes says it fits (`budget::replan`: the whole tile, when it does), the
/// first one served if it does not; when it comes out over, each later drawing is thinned by
/// what the previous one weighed. At most `budget::MAX_DRAWINGS`; the last one is served even if
/// still over.
pub fn render_scoped(
    snap: &Snapshot,
    coord: TileCoord,
    config: &TileConfig,
    gaps: Option<&CoverageMap>,
    scope: &Scope,
) -> crate::Result<Rendered> {
    let in_clear = scope
        .account()
        .is_some_and(|a| a.view_inside() == View::Full);
    // What every drawing starts from: only the thinning differs between them.
    let layers = gather(snap, coord, config, gaps, scope);
    let mut drawn: Vec<Option<LayerDrawing>> = layers.iter().map(|_| None).collect();
    // A tile far over budget is thinned by estimate before its first encode.
    let planned = budget::plan(&layers, config.budget_bytes, None, config.extent);
    let mut thinning = planned.thinning;
    let served = |rendered: Rendered, thinning: Thinning, drawing: usize| {
        if thinning != Thinning::default() {
            tracing::debug!(
                z = coord.z,
                x = coord.x,
                y = coord.y,
                bytes = rendered.bytes.len(),
                ?thinning,
                drawing,
                "tile thinned to its budget"
            );
        }
        Ok(rendered)
    };
    // The first drawing, within the budget, while one that may keep more is tried.
    let mut first: Option<(Rendered, Thinning)> = None;
    for drawing in 1.. {
        let (rendered, mut droppable) =
            draw(&layers, &mut drawn, coord, config, in_clear, thinning)?;
        let bytes = rendered.bytes.len();
        if bytes <= config.budget_bytes {
            let again = (drawing == 1)
                .then(|| {
                    budget::replan(&layers, &planned, bytes, config.budget_bytes, config.extent)
                })
                .flatten();
            if let Some(again) = again {
                first = Some((rendered, thinning));
                thinning = again;
                continue;
            }
            return served(rendered, thinning, drawing);
        }
        // What `replan` tried came out over: the first drawing stands.
        if let Some((rendered, thinning)) = first.take() {
            return served(rendered, thinning, drawing);
        }
        // Estimates aim 5% under the budget, so that one more drawing rarely falls just short.
        let over = bytes - config.budget_bytes + config.budget_bytes / 20;
        let next = (drawing < budget::MAX_DRAWINGS)
            .then(|| budget::next(thinning, &mut droppable, over, config.extent))
            .flatten();
        match next {
            Some(next) => thinning = next,
            None => return served(rendered, thinning, drawing),
        }
    }
    unreachable!("the loop returns by its last drawing")
}

/// Every layer's features in the tile, polygons below `MIN_AREA_PX2` left out below each layer's
/// full detail zoom.
fn gather(
    snap: &Snapshot,
    coord: TileCoord,
    config: &TileConfig,
    gaps: Option<&CoverageMap>,
    scope: &Scope,
) -> Vec<Gathered> {
    let frame = TileFrame::new(coord, config);
    let px = f64::from(config.extent) / 256.0;
    let tolerance = config.tolerance_px * px;
    let mut in_tile = InTile::default();
    let mut gathered = Vec::new();
    for layer in at_zoom(snap, coord.z) {
        let thinned = coord.z < layer.full_detail_zoom;
        let min_area = if thinned { MIN_AREA_PX2 * px * px } else { 0.0 };
        let features = match (layer.source, gaps) {
            (Source::CoverageGaps, Some(map)) => {
                gap_features(snap, map, &frame, tolerance, min_area, &mut in_tile)
            }
            (Source::CoverageGaps, None) => continue,
            (Source::StationClusters, _) => super::clusters::features(snap, coord, &frame),
            _ => features(
                snap,
                &layer,
                &frame,
                tolerance,
                min_area,
                scope,
                &mut in_tile,
            ),
        };
        gathered.push(Gathered::new(layer, thinned, features));
    }
    gathered
}

/// The positions of a model layer's features meeting the tile (`margin` tile units beyond it),
/// queried once per tile however many of its layers draw from them (the grids and their
/// coverage gaps).
#[derive(Default)]
struct InTile(std::collections::HashMap<(Layer, u64), Vec<usize>>);

impl InTile {
    fn get(&mut self, snap: &Snapshot, layer: Layer, frame: &TileFrame, margin: f64) -> &[usize] {
        self.0
            .entry((layer, margin.to_bits()))
            .or_insert_with(|| snap.in_bbox(layer, Some(frame.lon_lat_bbox(margin))))
    }
}

/// One layer of one drawing: what of the thinning it depends on, its encoded bytes (a framed
/// `Tile.layers` field: a tile is its layers' bytes one after the other), and what it adds to the
/// drawing's droppable features and personal-data count.
struct LayerDrawing {
    thinning: Thinning,
    bytes: Vec<u8>,
    droppable: budget::Droppable,
    personal: usize,
}

/// One drawing of a tile, leaving out what `thinning` says below each layer's full detail zoom;
/// with what a budget could still drop. A layer whose features `thinning` selects as in the
/// previous drawing (`drawn`) is not encoded again.
fn draw(
    layers: &[Gathered],
    drawn: &mut [Option<LayerDrawing>],
    coord: TileCoord,
    config: &TileConfig,
    in_clear: bool,
    thinning: Thinning,
) -> crate::Result<(Rendered, budget::Droppable)> {
    for (gathered, previous) in layers.iter().zip(drawn.iter_mut()) {
        let applies = gathered.applies(thinning);
        if previous.as_ref().is_none_or(|p| p.thinning != applies) {
            *previous = Some(draw_layer(gathered, coord, config, in_clear, applies)?);
        }
    }
    let mut bytes = Vec::new();
    let mut droppable = budget::Droppable::default();
    let mut personal = Vec::new();
    for (gathered, layer) in layers.iter().zip(drawn.iter()) {
        let Some(layer) = layer else { continue };
        bytes.extend_from_slice(&layer.bytes);
        droppable
            .polygons
            .extend_from_slice(&layer.droppable.polygons);
        droppable.points += layer.droppable.points;
        droppable.point_bytes += layer.droppable.point_bytes;
        if layer.personal > 0
            && let Some(def) = gathered.layer.audited()
        {
            personal.push((def.name, layer.personal));
        }
    }
    Ok((Rendered { bytes, personal }, droppable))
}

/// One layer drawn with `thinning` (what of it applies to the layer).
fn draw_layer(
    gathered: &Gathered,
    coord: TileCoord,
    config: &TileConfig,
    in_clear: bool,
    thinning: Thinning,
) -> crate::Result<LayerDrawing> {
    let layer = &gathered.layer;
    let failed = |message: String| crate::Error::Tile {
        z: coord.z,
        x: coord.x,
        y: coord.y,
        message,
    };
    let mut drawing = LayerDrawing {
        thinning,
        bytes: Vec::new(),
        droppable: budget::Droppable::default(),
        personal: 0,
    };
    let kept = gathered.kept(thinning);
    if kept.is_empty() {
        return Ok(drawing);
    }
    gathered.droppable(&kept, &mut drawing.droppable);
    if in_clear && let Some(def) = layer.audited() {
        drawing.personal = kept
            .iter()
            .filter(|f| def.carries_personal(&f.feature.1.map))
            .count();
    }
    let mut builder = MvtLayerBuilder::new(layer.name)
        .map_err(|e| failed(format!("layer {}: {e}", layer.name)))?;
    if let Some(extent) = std::num::NonZeroU32::new(config.extent) {
        builder.extent(extent);
    }
    for f in kept {
        let (id, properties, geometry) = &f.feature;
        builder = add_feature(builder, *id, properties, geometry)
            .map_err(|e| failed(format!("layer {}, feature {id:?}: {e}", layer.name)))?;
    }
    drawing.bytes = builder.encode();
    Ok(drawing)
}

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

/// (feature id, public properties, tile geometry) for every feature of `layer` in the tile.
fn features(
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
fn gap_features(
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

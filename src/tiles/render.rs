//! Rendering one composite tile from an index snapshot.

use fast_mvt::MvtLayerBuilder;

use super::TileCoord;
use super::budget::{self, Gathered, Thinning};
use super::features::{InTile, add_feature, features, gap_features};
use super::geometry::TileFrame;
use super::layers::{MIN_AREA_PX2, Source, at_zoom};
use crate::access::View;
use crate::analysis::coverage::CoverageMap;
use crate::geodesy::Crs;
use crate::index::Snapshot;
use crate::index::access::Scope;

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

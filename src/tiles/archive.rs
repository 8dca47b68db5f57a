//! PMTiles v3 archives of the tile pyramid: written by `gridmap tiles`, served by
//! `gridmap serve --tiles FILE.pmtiles`.

use std::path::Path;

use pmtiles::{AsyncPmTilesReader, MmapBackend, NoCache, PmTilesWriter, TileType};

use super::stats::TileStats;
use super::{TileConfig, TileCoord, render, tilejson::archive_metadata};
use crate::index::Snapshot;
use crate::model::Bbox;
use crate::{Error, Result};

/// Every tile address of zoom `z` whose tile meets `bbox`.
pub fn tiles_covering(bbox: &Bbox, z: u8) -> Vec<TileCoord> {
    let n = 1u32 << z;
    let col = |lon: f64| {
        (((lon + 180.0) / 360.0 * f64::from(n)).floor() as i64).clamp(0, i64::from(n) - 1) as u32
    };
    let row = |lat: f64| {
        let (_, y) = super::lon_lat_to_world(0.0, lat);
        ((y * f64::from(n)).floor() as i64).clamp(0, i64::from(n) - 1) as u32
    };
    let mut out = Vec::new();
    for x in col(bbox.min_lon)..=col(bbox.max_lon) {
        for y in row(bbox.max_lat)..=row(bbox.min_lat) {
            out.push(TileCoord { z, x, y });
        }
    }
    out
}

/// What `write` produced.
#[derive(Debug, Default)]
pub struct ArchiveSummary {
    pub tiles: usize,
    pub empty: usize,
    pub bytes: u64,
    /// By zoom, from `min_zoom`: the largest tile's size and address.
    pub largest: Vec<(usize, TileCoord)>,
}

fn err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Archive {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Render every tile of `min_zoom..=max_zoom` over `bbox` (WGS84) into a PMTiles archive at
/// `path` (written aside and renamed, so a crash leaves no half archive). `progress(done,
/// total)`. A set drawn in GCJ-02 (`config.crs`) covers the box's image in GCJ-02, its header's
/// bounds and centre in GCJ-02 and its metadata saying `"crs": "gcj02"`.
pub fn write(
    snap: &Snapshot,
    path: &Path,
    min_zoom: u8,
    max_zoom: u8,
    bbox: &Bbox,
    config: &TileConfig,
    progress: &dyn Fn(usize, usize),
) -> Result<ArchiveSummary> {
    let bbox = &super::area_in(config.crs, bbox);
    let mut coords: Vec<TileCoord> = (min_zoom..=max_zoom)
        .flat_map(|z| tiles_covering(bbox, z))
        .collect();
    // Archives read fastest when tiles are added in tile-id (Hilbert) order.
    coords.sort_by_key(|c| {
        pmtiles::TileCoord::new(c.z, c.x, c.y)
            .map(|t| pmtiles::TileId::from(t).value())
            .unwrap_or(u64::MAX)
    });
    let partial = path.with_extension("pmtiles.partial");
    let file = std::fs::File::create(&partial).map_err(|e| err(&partial, e))?;
    let mut writer = PmTilesWriter::new(TileType::Mvt)
        .min_zoom(min_zoom)
        .max_zoom(max_zoom)
        .bounds(bbox.min_lon, bbox.min_lat, bbox.max_lon, bbox.max_lat)
        .center(
            (bbox.min_lon + bbox.max_lon) / 2.0,
            (bbox.min_lat + bbox.max_lat) / 2.0,
        )
        .center_zoom(min_zoom.max(10).min(max_zoom))
        .create(std::io::BufWriter::new(file))
        .map_err(|e| err(&partial, e))?;
    let mut summary = ArchiveSummary::default();
    let gaps = crate::analysis::coverage::CoverageMap::compute(
        snap.dataset(),
        crate::analysis::coverage::DEFAULT_RADIUS_M,
        None,
    );
    // Statistics of what the tiles encode, read back from each tile as a decoder reads it; they
    // become the metadata once every tile is in.
    let mut stats = TileStats::new();
    for (i, c) in coords.iter().enumerate() {
        let bytes = render(snap, *c, config, Some(&gaps))?;
        stats
            .add_tile(&bytes)
            .map_err(|e| err(path, format!("tile {}/{}/{}: {e}", c.z, c.x, c.y)))?;
        let z = usize::from(c.z - min_zoom);
        if summary.largest.len() <= z {
            summary.largest.resize(z + 1, (0, *c));
        }
        if bytes.len() > summary.largest[z].0 {
            summary.largest[z] = (bytes.len(), *c);
        }
        if bytes.is_empty() {
            summary.empty += 1;
        } else {
            let coord = pmtiles::TileCoord::new(c.z, c.x, c.y).map_err(|e| err(path, e))?;
            writer
                .add_tile(coord, &bytes)
                .map_err(|e| err(&partial, e))?;
            summary.tiles += 1;
        }
        progress(i + 1, coords.len());
    }
    let mut metadata = archive_metadata(snap, min_zoom, max_zoom, &stats);
    if config.crs.shifts() {
        // Its TileJSON fields in its own coordinates, as the header has them.
        metadata["crs"] = config.crs.name().into();
        metadata["bounds"] =
            serde_json::json!([bbox.min_lon, bbox.min_lat, bbox.max_lon, bbox.max_lat]);
        metadata["center"][0] = ((bbox.min_lon + bbox.max_lon) / 2.0).into();
        metadata["center"][1] = ((bbox.min_lat + bbox.max_lat) / 2.0).into();
    }
    writer.set_metadata(metadata.to_string());
    writer.finalize().map_err(|e| err(&partial, e))?;
    std::fs::rename(&partial, path).map_err(|e| err(path, e))?;
    summary.bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    Ok(summary)
}

/// A PMTiles archive opened for serving.
pub struct Archive {
    reader: AsyncPmTilesReader<MmapBackend, NoCache>,
    pub min_zoom: u8,
    pub max_zoom: u8,
    /// From the header: `[min_lon, min_lat, max_lon, max_lat]` and `[lon, lat, zoom]`.
    pub bounds: [f64; 4],
    pub center: [f64; 3],
    /// The archive's JSON metadata (TileJSON fields and `tilestats` when `gridmap tiles` wrote
    /// it); `Null` when the archive has none or it is not JSON.
    pub metadata: serde_json::Value,
}

impl Archive {
    pub async fn open(path: &Path) -> Result<Archive> {
        let reader = AsyncPmTilesReader::new_with_path(path)
            .await
            .map_err(|e| err(path, e))?;
        let header = reader.get_header();
        let (min_zoom, max_zoom) = (header.min_zoom, header.max_zoom);
        let bounds = [
            header.min_longitude,
            header.min_latitude,
            header.max_longitude,
            header.max_latitude,
        ];
        let center = [
            header.center_longitude,
            header.center_latitude,
            f64::from(header.center_zoom),
        ];
        if header.tile_type != TileType::Mvt {
            return Err(err(path, "not a vector-tile (MVT) archive"));
        }
        // Metadata is free-form in the PMTiles spec: an archive another tool wrote with none, or
        // with something that is not JSON, still serves its tiles.
        let text = reader.get_metadata().await.map_err(|e| err(path, e))?;
        let metadata = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) if text.trim().is_empty() => {
                tracing::debug!(path = %path.display(), "archive without metadata ({e})");
                serde_json::Value::Null
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), "archive metadata is not JSON, ignored: {e}");
                serde_json::Value::Null
            }
        };
        Ok(Archive {
            reader,
            min_zoom,
            max_zoom,
            bounds,
            center,
            metadata,
        })
    }

    /// The tile's raw (uncompressed) MVT bytes; empty when the archive has none there.
    pub async fn get(&self, c: TileCoord) -> Result<Vec<u8>> {
        let Ok(coord) = pmtiles::TileCoord::new(c.z, c.x, c.y) else {
            return Ok(Vec::new());
        };
        let tile = self
            .reader
            .get_tile_decompressed(coord)
            .await
            .map_err(|e| Error::Archive {
                path: "the served archive".into(),
                message: e.to_string(),
            })?;
        Ok(tile.map(|b| b.to_vec()).unwrap_or_default())
    }
}

//! What the GeoPackage keeps true beside the rows themselves: the derived geometry (alliance
//! footprints, village members' points) that QGIS and GDAL would otherwise not see, and the
//! layer extents in `gpkg_contents`.

use geo::{BoundingRect, Geometry, Rect};
use rusqlite::{Connection, params};

use super::blob::encode;
use crate::model::{Dataset, Derived, Layer};

/// Which derived layers a write changed.
#[derive(Clone, Copy, Debug, Default)]
pub struct DerivedChanged {
    pub alliances: bool,
    pub members: bool,
}

/// Write `derived` (from `model::derive(data)`, by position in `data`) into the `geom` of every
/// alliance, and of every member without a location of its own (with `geom_derived = 1`, so a
/// read knows it is not one). Only rows that differ are updated: a write that changes no village
/// or membership leaves them alone. The caller owns the transaction.
pub fn write_derived(
    conn: &Connection,
    data: &Dataset,
    derived: &Derived,
) -> rusqlite::Result<DerivedChanged> {
    let blob = |g: Option<Geometry>| g.map(|g| encode(&g)).transpose();
    let mut changed = DerivedChanged::default();
    let mut stmt =
        conn.prepare("UPDATE alliances SET geom = ?2 WHERE fid = ?1 AND geom IS NOT ?2")?;
    for (a, footprint) in data.alliances.iter().zip(&derived.alliance_footprints) {
        let geom = blob(footprint.clone().map(Geometry::MultiPolygon))?;
        changed.alliances |= stmt.execute(params![a.id as i64, geom])? > 0;
    }
    let mut stmt = conn.prepare(
        "UPDATE members SET geom = ?2, geom_derived = 1
         WHERE fid = ?1 AND (geom IS NOT ?2 OR geom_derived IS NOT 1)",
    )?;
    for (m, point) in data.members.iter().zip(&derived.member_locations) {
        if m.location.is_none() {
            let geom = blob(point.map(Geometry::Point))?;
            changed.members |= stmt.execute(params![m.id as i64, geom])? > 0;
        }
    }
    Ok(changed)
}

/// Keep `gpkg_contents` extents and last_change true after a write to `layer` (GDAL reports them).
/// Alliances and members span their stored geometry, derived included.
pub fn update_extent(
    conn: &Connection,
    data: &Dataset,
    derived: &Derived,
    layer: Layer,
) -> rusqlite::Result<()> {
    let rects: Vec<Rect> = match layer {
        Layer::Towns => data
            .towns
            .iter()
            .filter_map(|f| f.geometry.bounding_rect())
            .collect(),
        Layer::Villages => data
            .villages
            .iter()
            .filter_map(|f| f.geometry.bounding_rect())
            .collect(),
        Layer::Grids => data
            .grids
            .iter()
            .filter_map(|f| f.geometry.bounding_rect())
            .collect(),
        Layer::Stations => data
            .stations
            .iter()
            .map(|f| f.location.bounding_rect())
            .collect(),
        Layer::Members => derived
            .member_locations
            .iter()
            .filter_map(|p| p.map(|p| p.bounding_rect()))
            .collect(),
        Layer::Alliances => derived
            .alliance_footprints
            .iter()
            .filter_map(|f| f.as_ref()?.bounding_rect())
            .collect(),
    };
    let extent = rects.iter().fold(None, |acc: Option<[f64; 4]>, r| {
        let [a, b, c, d] = acc.unwrap_or([f64::MAX, f64::MAX, f64::MIN, f64::MIN]);
        Some([
            a.min(r.min().x),
            b.min(r.min().y),
            c.max(r.max().x),
            d.max(r.max().y),
        ])
    });
    let [min_x, min_y, max_x, max_y] = match extent {
        Some(e) => e.map(Some),
        None => [None; 4],
    };
    conn.execute(
        "UPDATE gpkg_contents SET min_x = ?1, min_y = ?2, max_x = ?3, max_y = ?4,
           last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name = ?5",
        params![min_x, min_y, max_x, max_y, layer.name()],
    )?;
    Ok(())
}

//! Rows of the GeoPackage layer tables <-> the model.

use geo::{Geometry, MultiPolygon, Point};
use rusqlite::{Connection, Row, params};

use super::Progress;
use super::blob::{decode, encode};
use super::gpkg_schema::has_column;
use crate::model::{
    Alliance, Dataset, Grid, LayerData, Member, MemberKind, Personal, Service, Station, Town,
    Village,
};

fn bad(column: usize, what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        column,
        rusqlite::types::Type::Blob,
        what.to_string().into(),
    )
}

fn area(row: &Row, i: usize) -> rusqlite::Result<MultiPolygon> {
    let blob: Vec<u8> = row.get(i)?;
    match decode(&blob) {
        Some(Geometry::MultiPolygon(mp)) => Ok(mp),
        Some(Geometry::Polygon(p)) => Ok(MultiPolygon(vec![p])),
        _ => Err(bad(i, "geometry is not a (Multi)Polygon GeoPackage blob")),
    }
}

fn point(row: &Row, i: usize) -> rusqlite::Result<Option<Point>> {
    let blob: Option<Vec<u8>> = row.get(i)?;
    match blob.map(|b| decode(&b)) {
        None => Ok(None),
        Some(Some(Geometry::Point(p))) => Ok(Some(p)),
        Some(_) => Err(bad(i, "geometry is not a Point GeoPackage blob")),
    }
}

fn all<T>(
    conn: &Connection,
    sql: &str,
    f: impl Fn(&Row) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([], |r| f(r))?;
    rows.collect()
}

pub fn read_dataset(conn: &Connection) -> rusqlite::Result<Dataset> {
    Ok(Dataset {
        towns: all(
            conn,
            "SELECT geom, code, name, mca_code, kind FROM towns ORDER BY code",
            |r| {
                Ok(Town {
                    geometry: area(r, 0)?,
                    code: r.get(1)?,
                    name: r.get(2)?,
                    mca_code: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                    kind: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                })
            },
        )?,
        villages: all(
            conn,
            "SELECT geom, code, name, kind FROM villages ORDER BY code",
            |r| {
                Ok(Village {
                    geometry: area(r, 0)?,
                    code: r.get(1)?,
                    name: r.get(2)?,
                    kind: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                })
            },
        )?,
        grids: all(
            conn,
            "SELECT geom, code, name, households, population, worker_name, worker_phone FROM grids ORDER BY code",
            |r| {
                Ok(Grid {
                    geometry: area(r, 0)?,
                    code: r.get(1)?,
                    name: r.get(2)?,
                    households: r.get(3)?,
                    population: r.get(4)?,
                    worker: Personal {
                        name: r.get(5)?,
                        phone: r.get(6)?,
                    },
                })
            },
        )?,
        stations: all(
            conn,
            "SELECT geom, fid, name, grid_code, services, opening_hours, contact_phone FROM stations ORDER BY fid",
            |r| {
                let services: String = r.get(4)?;
                Ok(Station {
                    location: point(r, 0)?.ok_or_else(|| bad(0, "station without geometry"))?,
                    id: r.get(1)?,
                    name: r.get(2)?,
                    grid_code: r.get(3)?,
                    services: Service::parse_list(services.split(',').filter(|s| !s.is_empty()))
                        .map_err(|e| bad(4, &e))?,
                    opening_hours: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                    contact_phone: r.get(6)?,
                })
            },
        )?,
        alliances: all(
            conn,
            "SELECT fid, name, theme, founded FROM alliances ORDER BY fid",
            |r| {
                Ok(Alliance {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    theme: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                    founded: r.get(3)?,
                })
            },
        )?,
        members: all(
            conn,
            // A file not yet upgraded has no `geom_derived`: every point there is the member's own.
            &format!(
                "SELECT geom, fid, alliance_id, kind, name, village_code, {} FROM members ORDER BY fid",
                if has_column(conn, "members", "geom_derived")? {
                    "geom_derived"
                } else {
                    "0"
                }
            ),
            |r| {
                let kind: String = r.get(3)?;
                let derived: bool = r.get(6)?;
                Ok(Member {
                    // A derived point is gridmap's copy of what `model::derive` computes, kept
                    // for other tools; the model holds only a location of the member's own.
                    location: if derived { None } else { point(r, 0)? },
                    id: r.get(1)?,
                    alliance_id: r.get(2)?,
                    kind: MemberKind::parse_or_explain(&kind).map_err(|e| bad(3, &e))?,
                    name: r.get(4)?,
                    village_code: r.get(5)?,
                })
            },
        )?,
        declared: Vec::new(),
    })
}

/// Report progress every this many rows.
const PROGRESS_EVERY: usize = 1_000;

/// Upsert (or, with `replace`, delete and insert) one layer's rows. The caller owns the transaction.
///
/// Upserts are `ON CONFLICT DO UPDATE`, never `INSERT OR REPLACE`: a REPLACE deletes the old row
/// without firing delete triggers, which would leave the R-tree entry of a row whose new
/// geometry is NULL behind (and GDAL's update7 trigger then fails on the duplicate id).
pub fn write_rows(
    conn: &Connection,
    data: &LayerData,
    replace: bool,
    progress: Progress,
) -> rusqlite::Result<()> {
    let table = data.layer().name();
    if replace {
        conn.execute(&format!("DELETE FROM {table}"), [])?;
    }
    let total = data.len();
    let tick = |i: usize| {
        if (i + 1).is_multiple_of(PROGRESS_EVERY) || i + 1 == total {
            progress(i + 1, total);
        }
    };
    match data {
        LayerData::Towns(v) => {
            let mut stmt = conn.prepare(
                "INSERT INTO towns (geom, code, name, mca_code, kind) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(code) DO UPDATE SET geom = ?1, name = ?3, mca_code = ?4, kind = ?5",
            )?;
            for (i, t) in v.iter().enumerate() {
                stmt.execute(params![
                    encode(&t.geometry.clone().into())?,
                    t.code,
                    t.name,
                    t.mca_code,
                    t.kind
                ])?;
                tick(i);
            }
        }
        LayerData::Villages(v) => {
            let mut stmt = conn.prepare(
                "INSERT INTO villages (geom, code, town_code, name, kind) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(code) DO UPDATE SET geom = ?1, town_code = ?3, name = ?4, kind = ?5",
            )?;
            for (i, f) in v.iter().enumerate() {
                stmt.execute(params![
                    encode(&f.geometry.clone().into())?,
                    f.code,
                    f.town_code(),
                    f.name,
                    f.kind
                ])?;
                tick(i);
            }
        }
        LayerData::Grids(v) => {
            let mut stmt = conn.prepare(
                "INSERT INTO grids (geom, code, village_code, name, households, population, worker_name, worker_phone)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT(code) DO UPDATE SET geom = ?1, village_code = ?3, name = ?4, households = ?5,
                   population = ?6, worker_name = ?7, worker_phone = ?8",
            )?;
            for (i, g) in v.iter().enumerate() {
                stmt.execute(params![
                    encode(&g.geometry.clone().into())?,
                    g.code,
                    g.village_code(),
                    g.name,
                    g.households,
                    g.population,
                    g.worker.name,
                    g.worker.phone
                ])?;
                tick(i);
            }
        }
        LayerData::Stations(v) => {
            let mut stmt = conn.prepare(
                "INSERT INTO stations (fid, geom, name, grid_code, services, opening_hours, contact_phone)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(fid) DO UPDATE SET geom = ?2, name = ?3, grid_code = ?4, services = ?5,
                   opening_hours = ?6, contact_phone = ?7",
            )?;
            for (i, s) in v.iter().enumerate() {
                let services: Vec<&str> = s.services.iter().map(|s| s.name()).collect();
                stmt.execute(params![
                    s.id as i64,
                    encode(&s.location.into())?,
                    s.name,
                    s.grid_code,
                    services.join(","),
                    s.opening_hours,
                    s.contact_phone
                ])?;
                tick(i);
            }
        }
        LayerData::Alliances(v) => {
            // The footprint (`geom`) is derived: `write_derived` keeps it, after every write.
            let mut stmt = conn.prepare(
                "INSERT INTO alliances (fid, name, theme, founded) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(fid) DO UPDATE SET name = ?2, theme = ?3, founded = ?4",
            )?;
            for (i, a) in v.iter().enumerate() {
                stmt.execute(params![a.id as i64, a.name, a.theme, a.founded])?;
                tick(i);
            }
        }
        LayerData::Members(v) => {
            // A member without a location gets NULL here and its village's point from
            // `write_derived` after this, in the same transaction.
            let mut stmt = conn.prepare(
                "INSERT INTO members (fid, geom, geom_derived, alliance_id, kind, name, village_code)
                 VALUES (?1, ?2, 0, ?3, ?4, ?5, ?6)
                 ON CONFLICT(fid) DO UPDATE SET geom = ?2, geom_derived = 0, alliance_id = ?3,
                   kind = ?4, name = ?5, village_code = ?6",
            )?;
            for (i, m) in v.iter().enumerate() {
                stmt.execute(params![
                    m.id as i64,
                    m.location.map(|p| encode(&p.into())).transpose()?,
                    m.alliance_id as i64,
                    m.kind.name(),
                    m.name,
                    m.village_code
                ])?;
                tick(i);
            }
        }
    }
    Ok(())
}

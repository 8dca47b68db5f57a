//! Rows of the PostGIS layer tables <-> the model: reads with `ST_AsBinary` + the `wkb` crate,
//! writes with `COPY ... FROM STDIN` (text format, geometry as hex EWKB with SRID 4326).

use std::collections::HashSet;
use std::io::Write;

use geo::{Geometry, MultiPolygon, Point};
use geo_traits::to_geo::ToGeoGeometry;
use postgres::{GenericClient, Row};

use crate::model::{
    Alliance, Dataset, Grid, Layer, LayerData, Member, MemberKind, Personal, Service, Station,
    Town, Village,
};
use crate::store::Progress;

/// The key column of a layer's table, and the columns COPY writes (key first).
pub fn columns(layer: Layer) -> (&'static str, &'static [&'static str]) {
    match layer {
        Layer::Towns => ("code", &["code", "name", "mca_code", "kind", "geom"]),
        Layer::Villages => ("code", &["code", "town_code", "name", "kind", "geom"]),
        Layer::Grids => (
            "code",
            &[
                "code",
                "village_code",
                "name",
                "households",
                "population",
                "worker_name",
                "worker_phone",
                "geom",
            ],
        ),
        Layer::Stations => (
            "id",
            &[
                "id",
                "grid_code",
                "name",
                "services",
                "opening_hours",
                "contact_phone",
                "geom",
            ],
        ),
        // The footprint (`geom`) is derived, written by `derived::write_footprints`.
        Layer::Alliances => ("id", &["id", "name", "theme", "founded"]),
        Layer::Members => (
            "id",
            &[
                "id",
                "alliance_id",
                "kind",
                "name",
                "village_code",
                "geom",
                "geom_derived",
            ],
        ),
    }
}

/// The SELECT list of a layer, in the order `row_to_*` reads it.
fn select_list(layer: Layer) -> &'static str {
    match layer {
        Layer::Towns => "code, name, mca_code, kind, ST_AsBinary(geom)",
        Layer::Villages => "code, name, kind, ST_AsBinary(geom)",
        Layer::Grids => {
            "code, name, households, population, worker_name, worker_phone, ST_AsBinary(geom)"
        }
        Layer::Stations => {
            "id, name, grid_code, services, opening_hours, contact_phone, ST_AsBinary(geom)"
        }
        Layer::Alliances => "id, name, theme, to_char(founded, 'YYYY-MM-DD')",
        Layer::Members => {
            "id, alliance_id, kind, name, village_code, ST_AsBinary(geom), geom_derived"
        }
    }
}

/// An error while reading rows: the database's, or a row gridmap cannot turn into a feature.
#[derive(Debug)]
pub enum ReadError {
    Db(postgres::Error),
    Row(String),
}

impl From<postgres::Error> for ReadError {
    fn from(e: postgres::Error) -> Self {
        ReadError::Db(e)
    }
}

fn geometry(layer: Layer, key: &str, bytes: &[u8]) -> Result<Geometry, ReadError> {
    wkb::reader::read_wkb(bytes)
        .map(|g| g.to_geometry())
        .map_err(|e| ReadError::Row(format!("{layer} {key}: unreadable geometry ({e})")))
}

fn area(layer: Layer, key: &str, bytes: &[u8]) -> Result<MultiPolygon, ReadError> {
    match geometry(layer, key, bytes)? {
        Geometry::MultiPolygon(mp) => Ok(mp),
        Geometry::Polygon(p) => Ok(MultiPolygon(vec![p])),
        _ => Err(ReadError::Row(format!("{layer} {key}: not a MultiPolygon"))),
    }
}

fn point(layer: Layer, key: &str, bytes: Option<Vec<u8>>) -> Result<Option<Point>, ReadError> {
    match bytes {
        None => Ok(None),
        Some(b) => match geometry(layer, key, &b)? {
            Geometry::Point(p) => Ok(Some(p)),
            _ => Err(ReadError::Row(format!("{layer} {key}: not a Point"))),
        },
    }
}

fn id(row: &Row, i: usize) -> u64 {
    row.get::<_, i64>(i) as u64
}

/// Read one layer, ordered by key; only the features whose key is in `keys` when given.
pub fn read_layer(
    client: &mut impl GenericClient,
    layer: Layer,
    keys: Option<&HashSet<String>>,
) -> Result<LayerData, ReadError> {
    let (key, _) = columns(layer);
    let cast = if key == "id" { "::bigint[]" } else { "" };
    let order = if key == "id" {
        "id"
    } else {
        "code COLLATE \"C\""
    };
    let list = select_list(layer);
    let rows = match keys {
        None => client.query(&format!("SELECT {list} FROM {layer} ORDER BY {order}"), &[])?,
        Some(keys) => {
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            client.query(
                &format!("SELECT {list} FROM {layer} WHERE {key} = ANY($1::text[]{cast}) ORDER BY {order}"),
                &[&keys],
            )?
        }
    };
    let mut data = LayerData::empty(layer);
    for r in &rows {
        data.extend(row_to_feature(layer, r)?);
    }
    Ok(data)
}

fn row_to_feature(layer: Layer, r: &Row) -> Result<LayerData, ReadError> {
    Ok(match layer {
        Layer::Towns => {
            let code: String = r.get(0);
            LayerData::Towns(vec![Town {
                geometry: area(layer, &code, r.get(4))?,
                name: r.get(1),
                mca_code: r.get(2),
                kind: r.get(3),
                code,
            }])
        }
        Layer::Villages => {
            let code: String = r.get(0);
            LayerData::Villages(vec![Village {
                geometry: area(layer, &code, r.get(3))?,
                name: r.get(1),
                kind: r.get(2),
                code,
            }])
        }
        Layer::Grids => {
            let code: String = r.get(0);
            LayerData::Grids(vec![Grid {
                geometry: area(layer, &code, r.get(6))?,
                name: r.get(1),
                households: r.get::<_, i32>(2) as u32,
                population: r.get::<_, i32>(3) as u32,
                worker: Personal {
                    name: r.get(4),
                    phone: r.get(5),
                },
                code,
            }])
        }
        Layer::Stations => {
            let id = id(r, 0);
            let services: Vec<String> = r.get(3);
            let services = Service::parse_list(services.iter().map(String::as_str))
                .map_err(|e| ReadError::Row(format!("stations {id}: {e}")))?;
            LayerData::Stations(vec![Station {
                location: point(layer, &id.to_string(), r.get(6))?
                    .ok_or_else(|| ReadError::Row(format!("stations {id}: no geometry")))?,
                id,
                name: r.get(1),
                grid_code: r.get(2),
                services,
                opening_hours: r.get(4),
                contact_phone: r.get(5),
            }])
        }
        Layer::Alliances => LayerData::Alliances(vec![Alliance {
            id: id(r, 0),
            name: r.get(1),
            theme: r.get(2),
            founded: r.get(3),
        }]),
        Layer::Members => {
            let id = id(r, 0);
            let kind: String = r.get(2);
            LayerData::Members(vec![Member {
                kind: MemberKind::parse_or_explain(&kind)
                    .map_err(|e| ReadError::Row(format!("members {id}: {e}")))?,
                // A derived point is gridmap's stored copy of `model::derive`, not the member's.
                location: if r.get::<_, bool>(6) {
                    None
                } else {
                    point(layer, &id.to_string(), r.get(5))?
                },
                id,
                alliance_id: r.get::<_, i64>(1) as u64,
                name: r.get(3),
                village_code: r.get(4),
            }])
        }
    })
}

/// Every layer, in one consistent read when `client` is a repeatable-read transaction.
pub fn read_dataset(client: &mut impl GenericClient) -> Result<Dataset, ReadError> {
    let mut d = Dataset::default();
    for layer in Layer::ALL {
        d.apply(read_layer(client, layer, None)?, true);
    }
    Ok(d)
}

/// Report progress every this many rows.
const PROGRESS_EVERY: usize = 1_000;

/// `COPY` one layer's features into `table` (the layer's own table or a staging copy of it).
pub fn copy_in(
    client: &mut impl GenericClient,
    table: &str,
    data: &LayerData,
    progress: Progress,
) -> Result<u64, postgres::Error> {
    let (_, cols) = columns(data.layer());
    let mut writer = client.copy_in(&format!("COPY {table} ({}) FROM STDIN", cols.join(", ")))?;
    let total = data.len();
    let mut line = String::with_capacity(4096);
    for i in 0..total {
        line.clear();
        copy_line(data, i, &mut line);
        // A failed write surfaces as the error of `finish` below.
        if writer.write_all(line.as_bytes()).is_err() {
            break;
        }
        if (i + 1).is_multiple_of(PROGRESS_EVERY) || i + 1 == total {
            progress(i + 1, total);
        }
    }
    writer.finish()
}

/// Append feature `i` of `data` as one line of COPY text format.
fn copy_line(data: &LayerData, i: usize, out: &mut String) {
    let mut fields: Vec<Field> = Vec::with_capacity(8);
    match data {
        LayerData::Towns(v) => {
            let t = &v[i];
            fields.extend([
                Field::Text(&t.code),
                Field::Text(&t.name),
                Field::Text(&t.mca_code),
                Field::Text(&t.kind),
                Field::Geom(t.geometry.clone().into()),
            ]);
        }
        LayerData::Villages(v) => {
            let f = &v[i];
            fields.extend([
                Field::Text(&f.code),
                Field::Text(f.town_code()),
                Field::Text(&f.name),
                Field::Text(&f.kind),
                Field::Geom(f.geometry.clone().into()),
            ]);
        }
        LayerData::Grids(v) => {
            let g = &v[i];
            fields.extend([
                Field::Text(&g.code),
                Field::Text(g.village_code()),
                Field::Text(&g.name),
                Field::Int(g.households.into()),
                Field::Int(g.population.into()),
                Field::Opt(g.worker.name.as_deref()),
                Field::Opt(g.worker.phone.as_deref()),
                Field::Geom(g.geometry.clone().into()),
            ]);
        }
        LayerData::Stations(v) => {
            let s = &v[i];
            let services: Vec<&str> = s.services.iter().map(|s| s.name()).collect();
            fields.extend([
                Field::Int(s.id as i64),
                Field::Text(&s.grid_code),
                Field::Text(&s.name),
                Field::Array(services.join(",")),
                Field::Text(&s.opening_hours),
                Field::Opt(s.contact_phone.as_deref()),
                Field::Geom(s.location.into()),
            ]);
        }
        LayerData::Alliances(v) => {
            let a = &v[i];
            fields.extend([
                Field::Int(a.id as i64),
                Field::Text(&a.name),
                Field::Text(&a.theme),
                Field::Text(&a.founded),
            ]);
        }
        LayerData::Members(v) => {
            let m = &v[i];
            fields.extend([
                Field::Int(m.id as i64),
                Field::Int(m.alliance_id as i64),
                Field::Text(m.kind.name()),
                Field::Text(&m.name),
                Field::Opt(m.village_code.as_deref()),
                match m.location {
                    Some(p) => Field::Geom(p.into()),
                    None => Field::Opt(None),
                },
                // The model holds only locations of the member's own; `derived::place_members`
                // fills and marks the others.
                Field::Bool(false),
            ]);
        }
    }
    for (n, field) in fields.iter().enumerate() {
        if n > 0 {
            out.push('\t');
        }
        field.write(out);
    }
    out.push('\n');
}

enum Field<'a> {
    Text(&'a str),
    Opt(Option<&'a str>),
    Int(i64),
    Bool(bool),
    /// Comma-separated words needing no quoting (service names).
    Array(String),
    Geom(Geometry),
}

impl Field<'_> {
    fn write(&self, out: &mut String) {
        match self {
            Field::Text(s) | Field::Opt(Some(s)) => escape(s, out),
            Field::Opt(None) => out.push_str("\\N"),
            Field::Int(n) => out.push_str(&n.to_string()),
            Field::Bool(b) => out.push(if *b { 't' } else { 'f' }),
            Field::Array(words) => {
                out.push('{');
                out.push_str(words);
                out.push('}');
            }
            Field::Geom(g) => hex_ewkb(g, out),
        }
    }
}

/// COPY text format: backslash, tab, newline and carriage return are escaped.
fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

/// `SRID=4326;` then little-endian WKB in hex: PostGIS's text input for a typed geometry column.
pub fn hex_ewkb(g: &Geometry, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut wkb = Vec::with_capacity(256);
    let options = wkb::writer::WriteOptions {
        endianness: wkb::Endianness::LittleEndian,
    };
    // Writing into a Vec cannot fail for the geometry types we store.
    let _ = wkb::writer::write_geometry(&mut wkb, g, &options);
    out.push_str("SRID=4326;");
    out.reserve(wkb.len() * 2);
    for b in wkb {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 15) as usize] as char);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_what_copy_would_split_on() {
        let mut out = String::new();
        escape("a\tb\\c\nd\re", &mut out);
        assert_eq!(out, "a\\tb\\\\c\\nd\\re");
    }

    #[test]
    fn points_are_written_as_hex_ewkb() {
        let mut out = String::new();
        hex_ewkb(&Geometry::Point(Point::new(1.0, 2.0)), &mut out);
        // Byte order 01, type 1 (Point), then x = 1.0 and y = 2.0 as little-endian doubles.
        assert_eq!(out, "SRID=4326;0101000000000000000000F03F0000000000000040");
    }
}

//! Rows of the PostGIS built-in layer tables: fetching and COPYing the cells of `store::rows`
//! (the conversion both stores share). Reads with `ST_AsBinary` + the `wkb` crate, writes with
//! `COPY ... FROM STDIN` (text format, geometry as hex EWKB with SRID 4326).

use std::collections::HashSet;
use std::io::Write;

use geo::Geometry;
use geo_traits::to_geo::ToGeoGeometry;
use postgres::GenericClient;

use crate::model::schema::FieldType;
use crate::model::{Dataset, Layer, LayerData};
use crate::store::Progress;
use crate::store::declared::Cell;
use crate::store::rows::{Row, StoredGeometry, feature, row, stored_geometry};

/// The key column of a layer's table, and the columns COPY writes: the declared fields in order,
/// then the geometry (not for alliances, whose footprint is derived and written by
/// `derived::write_footprints`) and, for members, whether the point is derived.
pub fn columns(layer: Layer) -> (&'static str, Vec<&'static str>) {
    let def = layer.def();
    let mut cols: Vec<&'static str> = def.fields.iter().map(|f| f.name).collect();
    match stored_geometry(layer) {
        StoredGeometry::Derived => {}
        StoredGeometry::OwnPoint => cols.extend(["geom", "geom_derived"]),
        _ => cols.push("geom"),
    }
    (def.key, cols)
}

/// The SELECT list of a layer: each field as the cell `read_layer` takes, then the geometry and
/// whether it is derived.
fn select_list(layer: Layer) -> String {
    let mut list: Vec<String> = layer
        .def()
        .fields
        .iter()
        .map(|f| match f.ty {
            FieldType::Integer => format!("{}::bigint", f.name),
            FieldType::Date => format!("to_char({}, 'YYYY-MM-DD')", f.name),
            FieldType::EnumList(_) => format!("array_to_string({}, ',')", f.name),
            _ => f.name.to_string(),
        })
        .collect();
    match stored_geometry(layer) {
        StoredGeometry::Derived => list.push("NULL::bytea, false".into()),
        StoredGeometry::OwnPoint => list.push("ST_AsBinary(geom), geom_derived".into()),
        _ => list.push("ST_AsBinary(geom), false".into()),
    }
    list.join(", ")
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

/// Read one layer, ordered by key; only the features whose key is in `keys` when given.
pub fn read_layer(
    client: &mut impl GenericClient,
    layer: Layer,
    keys: Option<&HashSet<String>>,
) -> Result<LayerData, ReadError> {
    let def = layer.def();
    let key = def.key;
    let by_id = def.keyed_by_id();
    let cast = if by_id { "::bigint[]" } else { "" };
    let order = if by_id {
        key.to_string()
    } else {
        format!("{key} COLLATE \"C\"")
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
    let n = def.fields.len();
    let mut data = LayerData::empty(layer);
    for r in &rows {
        let cells: Vec<Cell> = def
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| match f.ty {
                FieldType::Integer => r.get::<_, Option<i64>>(i).map_or(Cell::Null, Cell::Integer),
                FieldType::Boolean => r.get::<_, Option<bool>>(i).map_or(Cell::Null, Cell::Bool),
                _ => r.get::<_, Option<String>>(i).map_or(Cell::Null, Cell::Text),
            })
            .collect();
        // A derived point is gridmap's stored copy of `model::derive`, not the member's.
        let derived: bool = r.get(n + 1);
        let geometry = match r.get::<_, Option<Vec<u8>>>(n) {
            Some(bytes) if !derived => Some(
                wkb::reader::read_wkb(&bytes)
                    .map(|g| g.to_geometry())
                    .map_err(|e| ReadError::Row(format!("{layer}: unreadable geometry ({e})")))?,
            ),
            _ => None,
        };
        data.extend(feature(layer, geometry, cells).map_err(ReadError::Row)?);
    }
    Ok(data)
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

/// Append feature `i` of `data` as one line of COPY text format, in `columns` order.
fn copy_line(data: &LayerData, i: usize, out: &mut String) {
    let layer = data.layer();
    let Row { geometry, cells } = row(data, i);
    for (n, cell) in cells.iter().enumerate() {
        if n > 0 {
            out.push('\t');
        }
        match cell {
            Cell::Null => out.push_str("\\N"),
            Cell::Text(s) => escape(s, out),
            Cell::Integer(v) => out.push_str(&v.to_string()),
            Cell::Real(v) => out.push_str(&v.to_string()),
            Cell::Bool(b) => out.push(if *b { 't' } else { 'f' }),
            // Enumeration names need no quoting in an array literal.
            Cell::List(items) => {
                out.push('{');
                escape(&items.join(","), out);
                out.push('}');
            }
        }
    }
    match stored_geometry(layer) {
        StoredGeometry::Derived => {}
        stored => {
            out.push('\t');
            match &geometry {
                Some(g) => hex_ewkb(g, out),
                None => out.push_str("\\N"),
            }
            // The model holds only locations of the member's own; `derived::place_members`
            // fills and marks the others.
            if stored == StoredGeometry::OwnPoint {
                out.push_str("\tf");
            }
        }
    }
    out.push('\n');
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
        hex_ewkb(&Geometry::Point(geo::Point::new(1.0, 2.0)), &mut out);
        // Byte order 01, type 1 (Point), then x = 1.0 and y = 2.0 as little-endian doubles.
        assert_eq!(out, "SRID=4326;0101000000000000000000F03F0000000000000040");
    }
}

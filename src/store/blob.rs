//! GeoPackage geometry blobs: the `GP` header (version, flags, SRS id, envelope) then standard WKB
//! (GeoPackage 1.3, section 2.1.3).

use geo::{BoundingRect, Geometry};
use geo_traits::to_geo::ToGeoGeometry;

pub const SRS_WGS84: i32 = 4326;

/// Encode a geometry as a little-endian GeoPackage blob with an xy envelope. A geometry WKB cannot
/// hold is an error (never a header-only blob stored as if it were the geometry).
pub fn encode(geometry: &Geometry) -> rusqlite::Result<Vec<u8>> {
    let rect = geometry.bounding_rect();
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(b"GP");
    out.push(0); // version 1
    // bit 0: little endian; bits 1-3: envelope 1 = [minx, maxx, miny, maxy].
    out.push(if rect.is_some() {
        0b0000_0011
    } else {
        0b0001_0001
    });
    out.extend_from_slice(&SRS_WGS84.to_le_bytes());
    if let Some(r) = rect {
        for v in [r.min().x, r.max().x, r.min().y, r.max().y] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    let options = wkb::writer::WriteOptions {
        endianness: wkb::Endianness::LittleEndian,
    };
    wkb::writer::write_geometry(&mut out, geometry, &options).map_err(|e| {
        rusqlite::Error::ToSqlConversionFailure(format!("geometry as WKB: {e}").into())
    })?;
    Ok(out)
}

/// Decode a GeoPackage blob; `None` for a malformed one.
pub fn decode(blob: &[u8]) -> Option<Geometry> {
    if blob.len() < 8 || &blob[..2] != b"GP" {
        return None;
    }
    let envelope_doubles = match (blob[3] >> 1) & 0b111 {
        0 => 0,
        1 => 4,
        2 | 3 => 6,
        4 => 8,
        _ => return None,
    };
    let start = 8 + envelope_doubles * 8;
    let wkb = wkb::reader::read_wkb(blob.get(start..)?).ok()?;
    Some(wkb.to_geometry())
}

/// A blob's xy bounding box, as the `ST_MinX`... SQL functions report it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Envelope {
    pub min_x: f64,
    pub max_x: f64,
    pub min_y: f64,
    pub max_y: f64,
}

/// The `GP` header's flags byte, checked: `None` for what is not a GeoPackage blob.
fn flags(blob: &[u8]) -> Option<u8> {
    match blob {
        [b'G', b'P', _, flags, _, _, _, _, ..] => Some(*flags),
        _ => None,
    }
}

/// Whether the header marks the geometry empty (flag bit 4), as GDAL's `ST_IsEmpty` reads it.
pub fn is_empty(blob: &[u8]) -> Option<bool> {
    flags(blob).map(|f| f & 0b0001_0000 != 0)
}

/// The envelope of a non-empty geometry: from the header when it carries one (every envelope
/// kind starts with minx, maxx, miny, maxy, in the header's byte order), else from the WKB
/// (GDAL and QGIS write points without one).
pub fn envelope(blob: &[u8]) -> Option<Envelope> {
    let flags = flags(blob)?;
    if flags & 0b0001_0000 != 0 {
        return None;
    }
    let has_envelope = (flags >> 1) & 0b111 != 0;
    if !has_envelope {
        let r = decode(blob)?.bounding_rect()?;
        return Some(Envelope {
            min_x: r.min().x,
            max_x: r.max().x,
            min_y: r.min().y,
            max_y: r.max().y,
        });
    }
    let little_endian = flags & 1 == 1;
    let double = |i: usize| -> Option<f64> {
        let bytes: [u8; 8] = blob.get(8 + i * 8..16 + i * 8)?.try_into().ok()?;
        Some(if little_endian {
            f64::from_le_bytes(bytes)
        } else {
            f64::from_be_bytes(bytes)
        })
    };
    Some(Envelope {
        min_x: double(0)?,
        max_x: double(1)?,
        min_y: double(2)?,
        max_y: double(3)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{MultiPolygon, Point, polygon};

    #[test]
    fn blobs_round_trip() {
        let mp = Geometry::MultiPolygon(MultiPolygon(vec![polygon![
            (x: 119.5, y: 31.9), (x: 119.6, y: 31.9), (x: 119.6, y: 32.0), (x: 119.5, y: 31.9),
        ]]));
        assert_eq!(decode(&encode(&mp).unwrap()), Some(mp));
        let p = Geometry::Point(Point::new(119.58, 31.99));
        let blob = encode(&p).unwrap();
        assert_eq!(&blob[..2], b"GP");
        assert_eq!(decode(&blob), Some(p));
        assert_eq!(decode(b"XX"), None);
    }

    #[test]
    fn envelopes_come_from_the_header_or_else_the_wkb() {
        let mp = Geometry::MultiPolygon(MultiPolygon(vec![polygon![
            (x: 119.5, y: 31.9), (x: 119.6, y: 31.9), (x: 119.6, y: 32.0), (x: 119.5, y: 31.9),
        ]]));
        let expected = Envelope {
            min_x: 119.5,
            max_x: 119.6,
            min_y: 31.9,
            max_y: 32.0,
        };
        let blob = encode(&mp).unwrap();
        assert_eq!(envelope(&blob), Some(expected));
        assert_eq!(is_empty(&blob), Some(false));
        // The same geometry as GDAL writes points: flags 0x01, no envelope, then the WKB.
        let mut bare = blob[..8].to_vec();
        bare[3] = 0b0000_0001;
        bare.extend_from_slice(&blob[8 + 32..]);
        assert_eq!(envelope(&bare), Some(expected));
        let empty = encode(&Geometry::MultiPolygon(MultiPolygon(vec![]))).unwrap();
        assert_eq!((is_empty(&empty), envelope(&empty)), (Some(true), None));
        assert_eq!((is_empty(b"not a blob"), envelope(b"GP")), (None, None));
    }
}

//! GeoPackage geometry blobs: the `GP` header (version, flags, SRS id, envelope) then standard WKB
//! (GeoPackage 1.3, section 2.1.3).

use geo::{BoundingRect, Geometry};
use geo_traits::to_geo::ToGeoGeometry;

pub const SRS_WGS84: i32 = 4326;

/// Encode a geometry as a little-endian GeoPackage blob with an xy envelope.
pub fn encode(geometry: &Geometry) -> Vec<u8> {
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
    // Writing into a Vec cannot fail for the geometry types we store.
    let _ = wkb::writer::write_geometry(&mut out, geometry, &options);
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{MultiPolygon, Point, polygon};

    #[test]
    fn blobs_round_trip() {
        let mp = Geometry::MultiPolygon(MultiPolygon(vec![polygon![
            (x: 119.5, y: 31.9), (x: 119.6, y: 31.9), (x: 119.6, y: 32.0), (x: 119.5, y: 31.9),
        ]]));
        assert_eq!(decode(&encode(&mp)), Some(mp));
        let p = Geometry::Point(Point::new(119.58, 31.99));
        let blob = encode(&p);
        assert_eq!(&blob[..2], b"GP");
        assert_eq!(decode(&blob), Some(p));
        assert_eq!(decode(b"XX"), None);
    }
}

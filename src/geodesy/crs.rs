//! The coordinate reference systems a client may give and get coordinates in. gridmap stores
//! WGS84 longitude, latitude; every other system is a conversion at the edge.
//!
//! - The OGC API - Features Part 2 list, by URI: CRS84 (longitude first), EPSG:4326 and
//!   EPSG:4490 (latitude first, as their definitions say).
//! - Shorthands, longitude first as GeoJSON has it: `wgs84`, `cgcs2000`, `gcj02`, `bd09`.
//!   GCJ-02 and BD-09 are not EPSG systems; the shorthand is their only name, and their
//!   `Content-Crs` is a gridmap URN (`urn:gridmap:crs:gcj02`).
//!
//! CGCS2000 (EPSG:4490) is served as WGS84: the two frames agree to a few centimetres at this
//! epoch, far below the precision of any boundary gridmap holds.

use geo::{Coord, Point, Rect};

use super::china::{bd09_to_wgs84, gcj02_to_wgs84, wgs84_to_bd09, wgs84_to_gcj02};

pub const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
pub const EPSG_4326: &str = "http://www.opengis.net/def/crs/EPSG/0/4326";
pub const EPSG_4490: &str = "http://www.opengis.net/def/crs/EPSG/0/4490";

/// A CRS a request may name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Crs {
    /// WGS84 longitude, latitude: what gridmap stores, and the default of its own endpoints.
    #[default]
    Wgs84,
    /// CGCS2000 longitude, latitude (as WGS84).
    Cgcs2000,
    /// GCJ-02 longitude, latitude: AMap, Tencent and WeChat maps.
    Gcj02,
    /// BD-09 longitude, latitude: Baidu maps.
    Bd09,
    /// OGC CRS84: WGS84 longitude, latitude; the default of the OGC endpoints.
    Crs84,
    /// EPSG:4326: WGS84 latitude, longitude.
    Epsg4326,
    /// EPSG:4490: CGCS2000 latitude, longitude.
    Epsg4490,
}

/// The systems a coordinate is actually shifted between.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Datum {
    Wgs84,
    Gcj02,
    Bd09,
}

impl Crs {
    /// The systems an OGC collection lists, by URI, the storage CRS first.
    pub const OGC: [Crs; 3] = [Crs::Crs84, Crs::Epsg4326, Crs::Epsg4490];
    /// Every system a request may name.
    pub const ALL: [Crs; 7] = [
        Crs::Wgs84,
        Crs::Cgcs2000,
        Crs::Gcj02,
        Crs::Bd09,
        Crs::Crs84,
        Crs::Epsg4326,
        Crs::Epsg4490,
    ];
    /// What an error message offers.
    pub const OFFERED: &str = "wgs84, cgcs2000, gcj02, bd09 (longitude first), or by URI \
        http://www.opengis.net/def/crs/OGC/1.3/CRS84 (longitude first), \
        http://www.opengis.net/def/crs/EPSG/0/4326 or http://www.opengis.net/def/crs/EPSG/0/4490 \
        (latitude first)";

    /// A shorthand (any case), an OGC or EPSG URI (http or https, in angle or square brackets
    /// or none), `EPSG:4326`-style codes, OGC URNs, or a gridmap URN as `Content-Crs` writes it.
    pub fn parse(text: &str) -> Option<Crs> {
        let t = text
            .trim()
            .trim_start_matches(['[', '<'])
            .trim_end_matches([']', '>'])
            .to_ascii_lowercase();
        let t = t
            .strip_prefix("https://")
            .map_or(t.clone(), |rest| format!("http://{rest}"));
        let t = t.strip_prefix("urn:gridmap:crs:").unwrap_or(&t);
        Some(match t {
            "wgs84" => Crs::Wgs84,
            "cgcs2000" => Crs::Cgcs2000,
            "gcj02" | "gcj-02" => Crs::Gcj02,
            "bd09" | "bd-09" => Crs::Bd09,
            "http://www.opengis.net/def/crs/ogc/1.3/crs84"
            | "ogc:crs84"
            | "crs84"
            | "urn:ogc:def:crs:ogc:1.3:crs84" => Crs::Crs84,
            "http://www.opengis.net/def/crs/epsg/0/4326"
            | "epsg:4326"
            | "urn:ogc:def:crs:epsg::4326" => Crs::Epsg4326,
            "http://www.opengis.net/def/crs/epsg/0/4490"
            | "epsg:4490"
            | "urn:ogc:def:crs:epsg::4490" => Crs::Epsg4490,
            _ => return None,
        })
    }

    /// How answers name it: the shorthand, or the URI.
    pub fn name(self) -> &'static str {
        match self {
            Crs::Wgs84 => "wgs84",
            Crs::Cgcs2000 => "cgcs2000",
            Crs::Gcj02 => "gcj02",
            Crs::Bd09 => "bd09",
            Crs::Crs84 => CRS84,
            Crs::Epsg4326 => EPSG_4326,
            Crs::Epsg4490 => EPSG_4490,
        }
    }

    /// The URI for `Content-Crs`: OGC's where one exists, else a gridmap URN.
    pub fn uri(self) -> &'static str {
        match self {
            Crs::Wgs84 | Crs::Crs84 => CRS84,
            Crs::Cgcs2000 => "urn:gridmap:crs:cgcs2000",
            Crs::Gcj02 => "urn:gridmap:crs:gcj02",
            Crs::Bd09 => "urn:gridmap:crs:bd09",
            Crs::Epsg4326 => EPSG_4326,
            Crs::Epsg4490 => EPSG_4490,
        }
    }

    /// Whether positions in this system come latitude first.
    pub fn lat_first(self) -> bool {
        matches!(self, Crs::Epsg4326 | Crs::Epsg4490)
    }

    fn datum(self) -> Datum {
        match self {
            Crs::Gcj02 => Datum::Gcj02,
            Crs::Bd09 => Datum::Bd09,
            _ => Datum::Wgs84,
        }
    }

    /// Whether coordinates change at all (not just their order).
    pub fn shifts(self) -> bool {
        self.datum() != Datum::Wgs84
    }

    /// A client's point (longitude, latitude in this system's datum) as WGS84.
    pub fn to_wgs84(self, p: Point) -> Point {
        match self.datum() {
            Datum::Wgs84 => p,
            Datum::Gcj02 => gcj02_to_wgs84(p),
            Datum::Bd09 => bd09_to_wgs84(p),
        }
    }

    /// A WGS84 point, as longitude, latitude in this system's datum.
    pub fn from_wgs84(self, p: Point) -> Point {
        match self.datum() {
            Datum::Wgs84 => p,
            Datum::Gcj02 => wgs84_to_gcj02(p),
            Datum::Bd09 => wgs84_to_bd09(p),
        }
    }

    /// The WGS84 box holding every point of a box given in this system (longitude, latitude),
    /// its edges sampled: the shifts bend straight edges by well under a millimetre per
    /// kilometre, so 16 samples a side bound the image to a fraction of a millimetre.
    pub fn rect_to_wgs84(self, r: Rect) -> Rect {
        if !self.shifts() {
            return r;
        }
        let (lo, hi) = (r.min(), r.max());
        const SAMPLES: u32 = 16;
        let mut min = Coord {
            x: f64::INFINITY,
            y: f64::INFINITY,
        };
        let mut max = Coord {
            x: f64::NEG_INFINITY,
            y: f64::NEG_INFINITY,
        };
        for i in 0..=SAMPLES {
            let t = f64::from(i) / f64::from(SAMPLES);
            let (x, y) = (lo.x + (hi.x - lo.x) * t, lo.y + (hi.y - lo.y) * t);
            for p in [(x, lo.y), (x, hi.y), (lo.x, y), (hi.x, y)] {
                let w = self.to_wgs84(Point::new(p.0, p.1));
                min = Coord {
                    x: min.x.min(w.x()),
                    y: min.y.min(w.y()),
                };
                max = Coord {
                    x: max.x.max(w.x()),
                    y: max.y.max(w.y()),
                };
            }
        }
        Rect::new(min, max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geodesy::distance_m;

    #[test]
    fn every_name_parses_back_to_its_system() {
        for crs in Crs::ALL {
            assert_eq!(Crs::parse(crs.name()), Some(crs), "{crs:?}");
            assert_eq!(
                Crs::parse(&format!("<{}>", crs.uri())).map(Crs::uri),
                Some(crs.uri())
            );
        }
        assert_eq!(Crs::parse("EPSG:4326"), Some(Crs::Epsg4326));
        assert_eq!(Crs::parse("[OGC:CRS84]"), Some(Crs::Crs84));
        assert_eq!(
            Crs::parse("https://www.opengis.net/def/crs/EPSG/0/4490"),
            Some(Crs::Epsg4490)
        );
        assert_eq!(Crs::parse("GCJ02"), Some(Crs::Gcj02));
        for bad in [
            "EPSG:3857",
            "mars",
            "",
            "http://www.opengis.net/def/crs/EPSG/0/4549",
        ] {
            assert_eq!(Crs::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_box_in_gcj02_becomes_the_wgs84_box_of_its_points() {
        let r = Rect::new(Coord { x: 119.5, y: 31.9 }, Coord { x: 119.7, y: 32.1 });
        let w = Crs::Gcj02.rect_to_wgs84(r);
        // Every point of the box, converted, lies inside (to a millimetre's slack).
        let slack = 1e-8;
        for i in 0..=40 {
            for j in 0..=40 {
                let p = Point::new(
                    119.5 + 0.2 * f64::from(i) / 40.0,
                    31.9 + 0.2 * f64::from(j) / 40.0,
                );
                let q = gcj02_to_wgs84(p);
                assert!(
                    q.x() >= w.min().x - slack && q.x() <= w.max().x + slack,
                    "{p:?}"
                );
                assert!(
                    q.y() >= w.min().y - slack && q.y() <= w.max().y + slack,
                    "{p:?}"
                );
            }
        }
        // And it is the shifted box, not a grown one: its corner is the corner's image.
        let corner = gcj02_to_wgs84(Point::new(119.5, 31.9));
        assert!(distance_m(Point::new(w.min().x, w.min().y), corner) < 5.0);
        assert_eq!(Crs::Epsg4490.rect_to_wgs84(r), r);
    }
}

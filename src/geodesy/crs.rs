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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
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

    /// The WGS84 box holding every point of a box given in this system (longitude, latitude).
    pub fn rect_to_wgs84(self, r: Rect) -> Rect {
        if !self.shifts() {
            return r;
        }
        envelope_of_image(r, |p| self.to_wgs84(p))
    }

    /// The box in this system (longitude, latitude) holding every point of a WGS84 box.
    pub fn rect_from_wgs84(self, r: Rect) -> Rect {
        if !self.shifts() {
            return r;
        }
        envelope_of_image(r, |p| self.from_wgs84(p))
    }
}

/// The spacing of samples along a box's edges when taking its image's envelope, degrees (about
/// 100 m), at least 16 and at most 4,096 a side.
const SAMPLE_STEP_DEG: f64 = 0.001;

fn edge_samples(r: Rect) -> u32 {
    let longest = r.width().max(r.height());
    (longest / SAMPLE_STEP_DEG).ceil().clamp(16.0, 4096.0) as u32
}

/// What the sampled envelope is grown by: 1e-6 degrees (about 10 cm), more than samples 100 m
/// apart can miss (under 3 cm, measured by a unit test against 4,096 a side; BD-09's wobble,
/// with a period of 0.12 degrees, makes 64 samples on a county-sized box miss by 9 cm).
const ENVELOPE_MARGIN_DEG: f64 = 1e-6;

/// The envelope of a box's image under a shift, its edges sampled and grown by the margin. The
/// shifts are smooth but not translations (BD-09's wobbles by tens of metres over a few
/// kilometres, GCJ-02's bends a county-wide edge by tens of metres), so the corners alone are
/// not enough.
fn envelope_of_image(r: Rect, shift: impl Fn(Point) -> Point) -> Rect {
    let e = envelope_sampled(r, &shift, edge_samples(r));
    let m = ENVELOPE_MARGIN_DEG;
    Rect::new(
        Coord {
            x: e.min().x - m,
            y: e.min().y - m,
        },
        Coord {
            x: e.max().x + m,
            y: e.max().y + m,
        },
    )
}

fn envelope_sampled(r: Rect, shift: &impl Fn(Point) -> Point, samples: u32) -> Rect {
    let (lo, hi) = (r.min(), r.max());
    let mut min = Coord {
        x: f64::INFINITY,
        y: f64::INFINITY,
    };
    let mut max = Coord {
        x: f64::NEG_INFINITY,
        y: f64::NEG_INFINITY,
    };
    for i in 0..=samples {
        let t = f64::from(i) / f64::from(samples);
        let (x, y) = (lo.x + (hi.x - lo.x) * t, lo.y + (hi.y - lo.y) * t);
        for p in [(x, lo.y), (x, hi.y), (lo.x, y), (hi.x, y)] {
            let w = shift(Point::new(p.0, p.1));
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

    /// Samples 100 m apart against 4,096 a side, on Danyang's extent and a box 1.4 degrees wide,
    /// each way and for both shifts: the envelopes differ by under 3 cm, well within the margin
    /// the envelope is grown by.
    #[test]
    fn sampled_envelopes_are_within_centimetres_of_dense_ones() {
        for (x0, y0, w) in [(119.3, 31.7, 0.45), (119.0, 31.3, 1.4)] {
            let r = Rect::new(
                Coord { x: x0, y: y0 },
                Coord {
                    x: x0 + w,
                    y: y0 + w,
                },
            );
            for crs in [Crs::Gcj02, Crs::Bd09] {
                for shift in [|c: Crs, p| c.to_wgs84(p), |c: Crs, p| c.from_wgs84(p)] {
                    let f = |p| shift(crs, p);
                    let (a, b) = (
                        envelope_sampled(r, &f, edge_samples(r)),
                        envelope_sampled(r, &f, 4096),
                    );
                    for (u, v) in [(a.min(), b.min()), (a.max(), b.max())] {
                        let off_m = distance_m(Point::new(u.x, u.y), Point::new(v.x, v.y));
                        assert!(off_m < 0.03, "{crs:?} {r:?}: {off_m} m");
                    }
                    let grown = envelope_of_image(r, f);
                    assert!(grown.min().x <= b.min().x && grown.min().y <= b.min().y);
                    assert!(grown.max().x >= b.max().x && grown.max().y >= b.max().y);
                }
            }
        }
    }
}

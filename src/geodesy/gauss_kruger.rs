//! The coordinate systems boundary files come in from China's natural-resources bureaus, read into
//! WGS84 longitude, latitude: CGCS2000 geographic (EPSG:4490; WGS84's EPSG:4326 too) and the
//! CGCS2000 Gauss–Krüger zones: 3-degree EPSG:4513–4533 (eastings carry the zone number,
//! zone 40 = 40,500,000 m at 120°E) and EPSG:4534–4554 (no zone number), 6-degree
//! EPSG:4491–4501 (with) and EPSG:4502–4512 (without). Coordinates are easting, northing, the
//! order GDAL writes (EPSG's own definitions put northing first).
//!
//! The projection is proj4rs's `etmerc` (the Poder/Engsager series PROJ uses for `tmerc`, to
//! well under a millimetre within 3,900 km of the central meridian): pure Rust, no C PROJ. The
//! CGCS2000 datum is taken as WGS84 (they agree to a few centimetres).

use geo::Point;
use proj4rs::proj::Proj;

/// A file's coordinate system.
#[derive(Clone, Debug)]
pub enum SourceCrs {
    /// Longitude, latitude in degrees: EPSG:4490 (CGCS2000) or EPSG:4326 (WGS84).
    Geographic {
        epsg: u32,
    },
    GaussKruger(Box<GaussKruger>),
}

/// One CGCS2000 Gauss–Krüger zone.
#[derive(Clone, Debug)]
pub struct GaussKruger {
    pub epsg: u32,
    pub central_meridian_deg: f64,
    /// The zone number eastings carry in their millions, if they do.
    pub zone_prefix: Option<u32>,
    /// The zone's width in degrees: 3 or 6.
    pub width_deg: f64,
    projection: Proj,
    geographic: Proj,
}

/// The zone of a supported EPSG code: (central meridian, zone prefix, width).
fn zone_of(epsg: u32) -> Option<(f64, Option<u32>, f64)> {
    match epsg {
        4491..=4501 => {
            let zone = epsg - 4491 + 13;
            Some((f64::from(6 * zone - 3), Some(zone), 6.0))
        }
        4502..=4512 => Some((f64::from(75 + 6 * (epsg - 4502)), None, 6.0)),
        4513..=4533 => {
            let zone = epsg - 4513 + 25;
            Some((f64::from(3 * zone), Some(zone), 3.0))
        }
        4534..=4554 => Some((f64::from(75 + 3 * (epsg - 4534)), None, 3.0)),
        _ => None,
    }
}

/// What `--crs` accepts, for messages.
pub const SUPPORTED: &str = "EPSG:4490 (CGCS2000 longitude, latitude), EPSG:4326, or a CGCS2000 \
    Gauss-Kruger zone: 3-degree EPSG:4513-4533 (eastings with the zone number) or EPSG:4534-4554, \
    6-degree EPSG:4491-4501 (with the zone number) or EPSG:4502-4512";

impl SourceCrs {
    /// `EPSG:4549`, `epsg:4549`, `4549` or an OGC URI ending in `/EPSG/0/4549`.
    pub fn parse(text: &str) -> Result<SourceCrs, String> {
        let t = text.trim();
        let code = t
            .rsplit([':', '/'])
            .next()
            .filter(|_| {
                let lower = t.to_ascii_lowercase();
                lower.starts_with("epsg:") || lower.contains("/epsg/") || !t.contains([':', '/'])
            })
            .and_then(|c| c.parse::<u32>().ok())
            .ok_or_else(|| format!("'{text}' is not an EPSG code; give {SUPPORTED}"))?;
        SourceCrs::from_epsg(code)
    }

    pub fn from_epsg(epsg: u32) -> Result<SourceCrs, String> {
        if epsg == 4490 || epsg == 4326 {
            return Ok(SourceCrs::Geographic { epsg });
        }
        let (central_meridian_deg, zone_prefix, width_deg) = zone_of(epsg)
            .ok_or_else(|| format!("EPSG:{epsg} is not supported; give {SUPPORTED}"))?;
        let false_easting = 500_000.0 + zone_prefix.map_or(0.0, |z| f64::from(z) * 1e6);
        let projection = Proj::from_proj_string(&format!(
            "+proj=etmerc +lat_0=0 +lon_0={central_meridian_deg} +k=1 +x_0={false_easting} +y_0=0 +ellps=GRS80 +units=m +no_defs"
        ))
        .map_err(|e| format!("EPSG:{epsg}: {e}"))?;
        let geographic = Proj::from_proj_string("+proj=longlat +ellps=GRS80 +no_defs")
            .map_err(|e| format!("EPSG:{epsg}: {e}"))?;
        Ok(SourceCrs::GaussKruger(Box::new(GaussKruger {
            epsg,
            central_meridian_deg,
            zone_prefix,
            width_deg,
            projection,
            geographic,
        })))
    }

    pub fn epsg(&self) -> u32 {
        match self {
            SourceCrs::Geographic { epsg } => *epsg,
            SourceCrs::GaussKruger(gk) => gk.epsg,
        }
    }

    /// A position of the file (x, y: longitude, latitude or easting, northing) as WGS84, or why
    /// it cannot be in this system.
    pub fn to_wgs84(&self, x: f64, y: f64) -> Result<Point, String> {
        match self {
            SourceCrs::Geographic { epsg } => {
                if !((-180.0..=180.0).contains(&x) && (-90.0..=90.0).contains(&y)) {
                    return Err(format!(
                        "{x}, {y} is not longitude, latitude in degrees as EPSG:{epsg} has them; \
                         give the file's projected CRS with --crs (EPSG:4549 for Danyang's zone)"
                    ));
                }
                Ok(Point::new(x, y))
            }
            SourceCrs::GaussKruger(gk) => gk.to_wgs84(x, y),
        }
    }
}

/// Northings of China (18°N to 54°N are some 2,000 to 6,000 km), with room.
const NORTHING_M: std::ops::Range<f64> = 0.0..6_500_000.0;

impl GaussKruger {
    fn to_wgs84(&self, easting: f64, northing: f64) -> Result<Point, String> {
        let epsg = self.epsg;
        if !easting.is_finite() || !NORTHING_M.contains(&northing) {
            return Err(format!(
                "{easting}, {northing} is not an easting, northing in China (northings run 0 to \
                 6,500 km); give x = easting, y = northing in metres"
            ));
        }
        let prefix = (easting / 1e6).floor();
        match self.zone_prefix {
            Some(zone) if prefix != f64::from(zone) => {
                return Err(format!(
                    "easting {easting} does not carry zone {zone} as EPSG:{epsg}'s do ({zone},xxx,xxx m){}",
                    suggestion(easting)
                ));
            }
            None if prefix != 0.0 => {
                return Err(format!(
                    "easting {easting} carries a zone number ({prefix}), and EPSG:{epsg}'s do not{}",
                    suggestion(easting)
                ));
            }
            _ => {}
        }
        let mut p = (easting, northing, 0.0);
        proj4rs::transform::transform(&self.projection, &self.geographic, &mut p)
            .map_err(|e| format!("{easting}, {northing} in EPSG:{epsg}: {e}"))?;
        let (lon, lat) = (p.0.to_degrees(), p.1.to_degrees());
        // A zone is `width` wide; files may run a little past its edges, not a zone further.
        if (lon - self.central_meridian_deg).abs() > self.width_deg {
            return Err(format!(
                "{easting}, {northing} lies at {lon:.3}°E, outside EPSG:{epsg}'s zone around {}°E; is the file in another zone?",
                self.central_meridian_deg
            ));
        }
        Ok(Point::new(lon, lat))
    }
}

/// The CRS an easting with a zone number belongs to, as a hint.
fn suggestion(easting: f64) -> String {
    let zone = (easting / 1e6).floor() as u32;
    match zone {
        0 => {
            "; eastings without a zone number are EPSG:4534-4554 (3-degree) or 4502-4512 (6-degree)"
                .into()
        }
        25..=45 => format!(
            "; zone {zone} eastings are EPSG:{} (3-degree)",
            4513 + zone - 25
        ),
        13..=23 => format!(
            "; zone {zone} eastings are EPSG:{} (6-degree)",
            4491 + zone - 13
        ),
        _ => String::new(),
    }
}

/// The EPSG code of a Gauss–Krüger zone by its parameters (as a `.prj` gives them), preferring
/// the 3-degree family when both fit (their mathematics are the same).
pub fn gauss_kruger_epsg(
    central_meridian_deg: f64,
    false_easting_m: f64,
    three_degree: bool,
) -> Option<u32> {
    let families: [std::ops::RangeInclusive<u32>; 4] = if three_degree {
        [4534..=4554, 4513..=4533, 4502..=4512, 4491..=4501]
    } else {
        [4502..=4512, 4491..=4501, 4534..=4554, 4513..=4533]
    };
    families.into_iter().flatten().find(|&epsg| {
        zone_of(epsg).is_some_and(|(cm, prefix, _)| {
            let fe = 500_000.0 + prefix.map_or(0.0, |z| f64::from(z) * 1e6);
            (cm - central_meridian_deg).abs() < 1e-9 && (fe - false_easting_m).abs() < 1e-3
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_have_the_parameters_epsg_gives_them() {
        // From the EPSG registry (as PROJ 9.5 prints them).
        assert_eq!(zone_of(4549), Some((120.0, None, 3.0)));
        assert_eq!(zone_of(4528), Some((120.0, Some(40), 3.0)));
        assert_eq!(zone_of(4491), Some((75.0, Some(13), 6.0)));
        assert_eq!(zone_of(4501), Some((135.0, Some(23), 6.0)));
        assert_eq!(zone_of(4512), Some((135.0, None, 6.0)));
        assert_eq!(zone_of(4554), Some((135.0, None, 3.0)));
        assert_eq!(gauss_kruger_epsg(120.0, 500_000.0, true), Some(4549));
        assert_eq!(gauss_kruger_epsg(120.0, 40_500_000.0, true), Some(4528));
        assert_eq!(gauss_kruger_epsg(117.0, 20_500_000.0, false), Some(4498));
        assert_eq!(gauss_kruger_epsg(120.0, 123.0, true), None);
    }

    #[test]
    fn a_point_on_the_central_meridian_is_at_the_false_easting() {
        let gk = SourceCrs::parse("EPSG:4549").unwrap();
        // On the meridian, the northing is the meridian arc: 3,541,852.434 m to 32°N on GRS80
        // (PROJ 9.5: `Transformer.from_crs(4490, 4549, always_xy=True).transform(120, 32)`).
        let p = gk.to_wgs84(500_000.0, 3_541_852.434).unwrap();
        assert!((p.x() - 120.0).abs() < 1e-9, "{p:?}");
        assert!((p.y() - 32.0).abs() < 1e-8, "{p:?}");
        let zoned = SourceCrs::parse("http://www.opengis.net/def/crs/EPSG/0/4528").unwrap();
        let q = zoned.to_wgs84(40_500_000.0, 3_541_852.434).unwrap();
        assert_eq!(p, q);
    }

    #[test]
    fn eastings_of_another_zone_are_refused_with_the_right_code() {
        let gk = SourceCrs::parse("EPSG:4549").unwrap();
        let e = gk.to_wgs84(40_512_345.0, 3_540_000.0).unwrap_err();
        assert!(
            e.contains("carries a zone number (40)") && e.contains("EPSG:4528"),
            "{e}"
        );
        let zoned = SourceCrs::parse("EPSG:4528").unwrap();
        let e = zoned.to_wgs84(39_512_345.0, 3_540_000.0).unwrap_err();
        assert!(
            e.contains("does not carry zone 40") && e.contains("EPSG:4527"),
            "{e}"
        );
        let e = zoned.to_wgs84(512_345.0, 3_540_000.0).unwrap_err();
        assert!(e.contains("4534-4554"), "{e}");
        // Longitude, latitude given to a projected CRS: the northing is out of range.
        assert!(gk.to_wgs84(119.5, 31.9).is_err());
        for bad in ["EPSG:3857", "4549x", "mars", "EPSG:"] {
            assert!(SourceCrs::parse(bad).is_err(), "{bad}");
        }
        assert!(
            SourceCrs::parse("EPSG:4490")
                .unwrap()
                .to_wgs84(512_345.0, 3_540_000.0)
                .is_err()
        );
    }
}

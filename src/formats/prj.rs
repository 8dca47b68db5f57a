//! A shapefile's `.prj` (WKT 1, as ArcGIS and GDAL write it) to the system it names, among
//! those gridmap reads: an EPSG code when the WKT carries one, else CGCS2000 or WGS84
//! geographic, or a CGCS2000 Gauss–Krüger zone recognised by its central meridian and false
//! easting. Anything else is `None`, and the import asks for `--crs`.

use crate::geodesy::gauss_kruger::{SourceCrs, gauss_kruger_epsg};

/// The number after `PARAMETER["name",` (any case).
fn parameter(wkt: &str, name: &str) -> Option<f64> {
    let lower = wkt.to_ascii_lowercase();
    let key = format!("parameter[\"{}\"", name.to_ascii_lowercase());
    let at = lower.find(&key)? + key.len();
    let rest = wkt[at..].trim_start().strip_prefix(',')?;
    let end = rest.find([']', ','])?;
    rest[..end].trim().parse().ok()
}

/// The last `AUTHORITY["EPSG","n"]` (WKT 1 puts the whole system's last) or `ID["EPSG",n]`.
fn epsg_authority(wkt: &str) -> Option<u32> {
    let compact: String = wkt.chars().filter(|c| !c.is_whitespace()).collect();
    let lower = compact.to_ascii_lowercase();
    let at = lower
        .rfind("authority[\"epsg\",")
        .map(|i| i + "authority[\"epsg\",".len())
        .or_else(|| {
            lower
                .rfind("id[\"epsg\",")
                .map(|i| i + "id[\"epsg\",".len())
        })?;
    let rest = compact[at..].trim_start_matches('"');
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    rest[..end].parse().ok()
}

pub fn source_crs(wkt: &str) -> Option<SourceCrs> {
    if let Some(code) = epsg_authority(wkt)
        && let Ok(crs) = SourceCrs::from_epsg(code)
    {
        return Some(crs);
    }
    let lower = wkt.to_ascii_lowercase();
    let cgcs2000 = [
        "china_2000",
        "china geodetic coordinate system 2000",
        "cgcs2000",
        "cgcs_2000",
    ]
    .iter()
    .any(|n| lower.contains(n));
    let wgs84 = lower.contains("wgs_1984") || lower.contains("wgs 84") || lower.contains("wgs84");
    if !lower.trim_start().starts_with("projcs") {
        return match (cgcs2000, wgs84) {
            (true, _) => SourceCrs::from_epsg(4490).ok(),
            (false, true) => SourceCrs::from_epsg(4326).ok(),
            _ => None,
        };
    }
    let transverse = lower.contains("gauss_kruger") || lower.contains("transverse_mercator");
    let plain = parameter(wkt, "scale_factor").is_none_or(|k| (k - 1.0).abs() < 1e-12)
        && parameter(wkt, "latitude_of_origin").is_none_or(|l| l == 0.0)
        && parameter(wkt, "false_northing").is_none_or(|n| n == 0.0);
    if !(cgcs2000 && transverse && plain) {
        return None;
    }
    let code = gauss_kruger_epsg(
        parameter(wkt, "central_meridian")?,
        parameter(wkt, "false_easting")?,
        ["3_degree", "3-degree", "3 degree"]
            .iter()
            .any(|n| lower.contains(n)),
    )?;
    SourceCrs::from_epsg(code).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arcgis_and_gdal_prj_files_name_their_zone() {
        // As ArcGIS writes EPSG:4549 (no authority).
        let arcgis = r#"PROJCS["CGCS2000_3_Degree_GK_CM_120E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",120.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;
        assert_eq!(source_crs(arcgis).map(|c| c.epsg()), Some(4549));
        let zoned = arcgis
            .replace("500000.0", "40500000.0")
            .replace("GK_CM_120E", "GK_Zone_40");
        assert_eq!(source_crs(&zoned).map(|c| c.epsg()), Some(4528));
        let six = arcgis
            .replace("3_Degree_GK_CM_120E", "GK_CM_117E")
            .replace("120.0", "117.0");
        assert_eq!(source_crs(&six).map(|c| c.epsg()), Some(4509));
        let geographic = r#"GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#;
        assert_eq!(source_crs(geographic).map(|c| c.epsg()), Some(4490));
        let with_authority =
            r#"PROJCS["x",GEOGCS["y",AUTHORITY["EPSG","4490"]],AUTHORITY["EPSG","4549"]]"#;
        assert_eq!(source_crs(with_authority).map(|c| c.epsg()), Some(4549));
        // Web Mercator, Beijing 1954 and a shifted origin are not read.
        for other in [
            r#"PROJCS["WGS_1984_Web_Mercator_Auxiliary_Sphere",GEOGCS["GCS_WGS_1984"],PROJECTION["Mercator_Auxiliary_Sphere"]]"#,
            &arcgis
                .replace("China_2000", "Beijing_1954")
                .replace("China_Geodetic_Coordinate_System_2000", "Beijing_1954")
                .replace("CGCS2000", "Krasovsky_1940"),
            &arcgis.replace(
                "PARAMETER[\"False_Northing\",0.0]",
                "PARAMETER[\"False_Northing\",100.0]",
            ),
        ] {
            assert!(source_crs(other).is_none(), "{other}");
        }
    }
}

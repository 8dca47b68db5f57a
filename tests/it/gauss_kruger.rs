//! CGCS2000 Gauss–Krüger input (issue 16): gridmap's pure-Rust inverse projection against PROJ
//! (through pyproj, tests/reference/gauss_kruger.py) on 1,000 points over eight zones, within a
//! millimetre; and `gridmap import` of a bureau's files as GDAL writes them (a Shapefile with a
//! GBK `.dbf`, its `.prj` and `.cpg`; a GeoPackage layer; GeoJSON with GDAL's `crs` member), all in
//! EPSG:4549, landing where the sample's towns are; files it cannot place are refused, nothing
//! written.

use std::process::Command;

use geo::Point;
use gridmap::geodesy::distance_m;
use gridmap::geodesy::gauss_kruger::SourceCrs;

use crate::common::{assert_success, gridmap, repo};

fn python(script: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg(repo().join(script))
        .args(args)
        .output()
        .expect("python3 runs (the README's test command installs pyproj and pyogrio)");
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_inverse_projection_agrees_with_proj_to_a_millimetre() {
    let rows: Vec<(u32, f64, f64, f64, f64)> = python("tests/reference/gauss_kruger.py", &["1000"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1000);
    let mut worst_m = 0.0f64;
    for (epsg, lon, lat, easting, northing) in rows {
        let crs = SourceCrs::from_epsg(epsg).unwrap();
        let p = crs.to_wgs84(easting, northing).unwrap();
        let off = distance_m(p, Point::new(lon, lat));
        assert!(
            off < 0.001,
            "EPSG:{epsg} {easting},{northing}: {off} m from PROJ's {lon},{lat}"
        );
        worst_m = worst_m.max(off);
    }
    eprintln!("Gauss-Kruger inverse vs PROJ: worst {worst_m:e} m over 1,000 points");
}

/// Every vertex of every town, by code, with the town's name and kind.
fn towns(store: &std::path::Path) -> Vec<(String, String, String, Vec<Point>)> {
    let out = gridmap(store, &["export", "--layer", "towns"]);
    assert_success(&out);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut towns: Vec<_> = doc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let p = &f["properties"];
            let mut vertices = Vec::new();
            fn walk(v: &serde_json::Value, out: &mut Vec<Point>) {
                match v.as_array() {
                    Some(a) if a.first().is_some_and(|x| x.is_number()) => {
                        out.push(Point::new(a[0].as_f64().unwrap(), a[1].as_f64().unwrap()))
                    }
                    Some(a) => a.iter().for_each(|x| walk(x, out)),
                    None => {}
                }
            }
            walk(&f["geometry"]["coordinates"], &mut vertices);
            let s = |k: &str| p[k].as_str().unwrap_or_default().to_string();
            (s("code"), s("name"), s("kind"), vertices)
        })
        .collect();
    towns.sort_by(|a, b| a.0.cmp(&b.0));
    towns
}

#[test]
fn a_bureaus_files_in_gauss_kruger_import_where_they_belong() {
    let (dir, store) = crate::common::sample_store();
    drop(store);
    let sample = dir.path().join("gridmap.gpkg");
    let original = towns(&sample);
    assert!(original.len() > 5);
    let source = dir.path().join("towns.geojson");
    let out = gridmap(
        &sample,
        &["export", "--layer", "towns", "-o", source.to_str().unwrap()],
    );
    assert_success(&out);
    python(
        "tests/reference/bureau_files.py",
        &[source.to_str().unwrap(), dir.path().to_str().unwrap()],
    );
    let file = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    // The same shapefile without its .cpg (GBK assumed), and without its .prj.
    for (from, to) in [("towns_4549", "towns_nocpg"), ("towns_4549", "towns_noprj")] {
        for ext in ["shp", "shx", "dbf", "cpg", "prj"] {
            let skip =
                (to == "towns_nocpg" && ext == "cpg") || (to == "towns_noprj" && ext == "prj");
            if !skip {
                std::fs::copy(file(&format!("{from}.{ext}")), file(&format!("{to}.{ext}")))
                    .unwrap();
            }
        }
    }

    let cases: [(&str, &[&str]); 6] = [
        ("towns_4549.shp", &[]),
        ("towns_nocpg.shp", &[]),
        ("towns_noprj.shp", &["--crs", "EPSG:4549"]),
        ("towns_4528.shp", &[]),
        ("towns_4549.gpkg", &[]),
        ("towns_4549.geojson", &[]),
    ];
    for (i, (name, flags)) in cases.iter().enumerate() {
        let store = dir.path().join(format!("store-{i}.gpkg"));
        let path = file(name);
        let mut args = vec!["import", "--layer", "towns", path.as_str()];
        args.extend_from_slice(flags);
        assert_success(&gridmap(&store, &args));
        let imported = towns(&store);
        assert_eq!(imported.len(), original.len(), "{name}");
        for (a, b) in imported.iter().zip(&original) {
            // Codes, and Chinese names and kinds read in the .dbf's encoding.
            assert_eq!((&a.0, &a.1, &a.2), (&b.0, &b.1, &b.2), "{name}");
            assert_eq!(a.3.len(), b.3.len(), "{name} {}: vertices", a.0);
            for v in &a.3 {
                let nearest =
                    b.3.iter()
                        .map(|w| distance_m(*v, *w))
                        .fold(f64::INFINITY, f64::min);
                assert!(
                    nearest < 0.001,
                    "{name} {}: a vertex {nearest} m from the original",
                    a.0
                );
            }
        }
    }

    // What cannot be placed is refused, saying how, and nothing is written.
    let refusals: [(&str, &[&str], &str); 4] = [
        ("towns_noprj.shp", &[], "--crs"),
        ("towns_4528.shp", &["--crs", "EPSG:4549"], "EPSG:4528"),
        ("towns_4549.shp", &["--crs", "EPSG:3857"], "EPSG:3857"),
        ("towns_4549.shp", &["--crs", "EPSG:4490"], "--crs"),
    ];
    for (i, (name, flags, says)) in refusals.iter().enumerate() {
        let store = dir.path().join(format!("refused-{i}.gpkg"));
        let path = file(name);
        let mut args = vec!["import", "--layer", "towns", path.as_str()];
        args.extend_from_slice(flags);
        let out = gridmap(&store, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name} {flags:?} was imported");
        assert!(stderr.contains(says), "{name} {flags:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(
            !store.exists() || towns(&store).is_empty(),
            "{name}: something was written"
        );
    }
}

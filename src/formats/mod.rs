//! A bureau's files read into one GeoJSON FeatureCollection in WGS84, for `gridmap import`:
//! GeoJSON (RFC 7946 WGS84, or in the system `--crs` or GDAL's `crs` member names), an ESRI
//! Shapefile (`.shp` with its `.dbf` in the file's encoding and its `.prj`), or a layer of a
//! GeoPackage. A file whose system cannot be determined is refused, asking for `--crs`.

pub mod dbf;
pub mod prj;
mod shapefile;

use std::path::Path;

use serde_json::{Value, json};

use crate::geodesy::gauss_kruger::SourceCrs;

/// The file at `path` as GeoJSON text in WGS84 longitude, latitude. `crs` (from `--crs`) says
/// what the file's coordinates are, over what the file says; `layer` picks a GeoPackage's layer.
pub fn read(path: &Path, crs: Option<SourceCrs>, layer: Option<&str>) -> Result<String, String> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if layer.is_some() && extension.as_deref() != Some("gpkg") {
        return Err("--source-layer picks a layer of a GeoPackage (.gpkg) file".into());
    }
    match extension.as_deref() {
        Some("shp") => {
            let (mut doc, declared) = shapefile::read(path)?;
            let crs = match crs {
                Some(crs) => Some(crs),
                None => declared?,
            };
            let crs = crs.ok_or_else(|| {
                format!(
                    "{} has no .prj saying its coordinate system; give it with --crs ({})",
                    path.display(),
                    crate::geodesy::gauss_kruger::SUPPORTED
                )
            })?;
            to_wgs84(&mut doc, &crs)?;
            Ok(doc.to_string())
        }
        Some("gpkg") => {
            let found = crate::store::foreign::read_gpkg_layer(path, layer)?;
            let declared = match found.srs {
                Some((org, code)) if org.eq_ignore_ascii_case("epsg") => u32::try_from(code)
                    .ok()
                    .and_then(|c| SourceCrs::from_epsg(c).ok()),
                _ => None,
            };
            let crs = crs.or(declared).ok_or_else(|| {
                format!(
                    "{} layer {} is in a coordinate system gridmap does not know; give it with --crs ({})",
                    path.display(),
                    found.name,
                    crate::geodesy::gauss_kruger::SUPPORTED
                )
            })?;
            let features: Vec<Value> = found
                .rows
                .into_iter()
                .map(|(geometry, properties)| {
                    let geometry = geometry
                        .map(|g| {
                            serde_json::to_value(geojson::Geometry::from(&g)).unwrap_or(Value::Null)
                        })
                        .unwrap_or(Value::Null);
                    json!({"type": "Feature", "geometry": geometry, "properties": properties})
                })
                .collect();
            let mut doc = json!({"type": "FeatureCollection", "features": features});
            to_wgs84(&mut doc, &crs)?;
            Ok(doc.to_string())
        }
        _ => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("reading {}: {e}", path.display()))?;
            // `--crs` wins over what the file says (so a member gridmap cannot read is no bar).
            let crs = match crs {
                Some(crs) => Some(crs),
                None => named_crs(&text)?,
            };
            match crs {
                // RFC 7946: longitude, latitude in WGS84, read as it is.
                None => Ok(text),
                Some(crs) => {
                    let mut doc: Value = serde_json::from_str(&text)
                        .map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
                    to_wgs84(&mut doc, &crs)?;
                    Ok(doc.to_string())
                }
            }
        }
    }
}

/// The system a GeoJSON file names in the `crs` member GDAL writes
/// (`{"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4549"}}`); CRS84 is none.
fn named_crs(text: &str) -> Result<Option<SourceCrs>, String> {
    #[derive(serde::Deserialize)]
    struct Head {
        crs: Option<Value>,
    }
    let Ok(head) = serde_json::from_str::<Head>(text) else {
        return Ok(None); // not JSON: the GeoJSON reader says why
    };
    let Some(name) = head
        .crs
        .as_ref()
        .and_then(|c| c["properties"]["name"].as_str())
    else {
        return Ok(None);
    };
    if name.to_ascii_lowercase().ends_with("crs84") {
        return Ok(None);
    }
    let code = name.rsplit(':').next().unwrap_or(name);
    SourceCrs::parse(&format!("EPSG:{code}"))
        .map(Some)
        .map_err(|e| format!("the file's crs member names {name}: {e}"))
}

/// Every position of every feature's geometry, from `crs` to WGS84, in place; the first that
/// does not fit the system is the error (naming its feature).
fn to_wgs84(doc: &mut Value, crs: &SourceCrs) -> Result<(), String> {
    fn positions(c: &mut Value, crs: &SourceCrs) -> Result<(), String> {
        let Some(items) = c.as_array_mut() else {
            return Ok(());
        };
        if let [Value::Number(x), Value::Number(y), ..] = &items[..] {
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            let p = crs.to_wgs84(x, y)?;
            items[0] = p.x().into();
            items[1] = p.y().into();
            return Ok(());
        }
        items.iter_mut().try_for_each(|i| positions(i, crs))
    }
    fn geometry(g: &mut Value, crs: &SourceCrs) -> Result<(), String> {
        if let Some(c) = g.get_mut("coordinates") {
            positions(c, crs)?;
        }
        if let Some(parts) = g.get_mut("geometries").and_then(Value::as_array_mut) {
            parts.iter_mut().try_for_each(|p| geometry(p, crs))?;
        }
        Ok(())
    }
    if let Some(o) = doc.as_object_mut() {
        o.remove("crs");
    }
    let features = match doc.get_mut("features").and_then(Value::as_array_mut) {
        Some(f) => f,
        None => return Err("expected a GeoJSON FeatureCollection".into()),
    };
    for (i, f) in features.iter_mut().enumerate() {
        if let Some(g) = f.get_mut("geometry") {
            geometry(g, crs)
                .map_err(|e| format!("feature {} in EPSG:{}: {e}", i + 1, crs.epsg()))?;
        }
    }
    Ok(())
}

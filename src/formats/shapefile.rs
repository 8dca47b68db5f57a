//! An ESRI Shapefile: shapes from the `.shp` (the `shapefile` crate), attributes from the `.dbf`
//! (dbf.rs, in the encoding of the `.cpg`), the system from the `.prj` (prj.rs).

use std::path::Path;

use serde_json::{Value, json};

use super::{dbf, prj};
use crate::geodesy::gauss_kruger::SourceCrs;

/// The features (coordinates as the file has them), and the system its `.prj` names: `None`
/// without a `.prj`, an error (asking for `--crs`) for one gridmap cannot read, which matters
/// only when `--crs` is not given.
pub type Declared = Result<Option<SourceCrs>, String>;

pub fn read(path: &Path) -> Result<(Value, Declared), String> {
    let sibling = |ext: &str| {
        [ext.to_string(), ext.to_ascii_uppercase()]
            .into_iter()
            .map(|e| path.with_extension(e))
            .find(|p| p.exists())
    };
    let shapes = ::shapefile::read_shapes(path).map_err(|e| {
        format!(
            "{} is not a readable shapefile ({e}); is it cut short, or not a .shp?",
            path.display()
        )
    })?;
    let dbf_path = sibling("dbf").ok_or_else(|| {
        format!(
            "{} has no .dbf beside it (a shapefile's attributes)",
            path.display()
        )
    })?;
    let cpg = sibling("cpg")
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| dbf::encoding_of_cpg(&t));
    let bytes = std::fs::read(&dbf_path).map_err(|e| format!("{}: {e}", dbf_path.display()))?;
    let records = dbf::read(&bytes, cpg).map_err(|e| format!("{}: {e}", dbf_path.display()))?;
    if records.len() != shapes.len() {
        return Err(format!(
            "{} has {} shapes and its .dbf {} records",
            path.display(),
            shapes.len(),
            records.len()
        ));
    }
    let mut features = Vec::with_capacity(shapes.len());
    for (i, (shape, record)) in shapes.into_iter().zip(records).enumerate() {
        let Some(properties) = record else {
            continue; // deleted in the .dbf
        };
        let geometry = match shape {
            ::shapefile::Shape::NullShape => Value::Null,
            shape => {
                let g = geo::Geometry::<f64>::try_from(shape)
                    .map_err(|e| format!("{} shape {}: {e:?}", path.display(), i + 1))?;
                serde_json::to_value(geojson::Geometry::from(&g)).unwrap_or(Value::Null)
            }
        };
        features.push(json!({"type": "Feature", "geometry": geometry, "properties": properties}));
    }
    let declared = match sibling("prj") {
        None => None,
        Some(p) => {
            let bytes = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            let wkt = String::from_utf8_lossy(&bytes);
            Some(prj::source_crs(&wkt).ok_or_else(|| {
                format!(
                    "{} names a coordinate system gridmap does not read ({}); give the file's with --crs ({})",
                    p.display(),
                    wkt.chars().take(80).collect::<String>(),
                    crate::geodesy::gauss_kruger::SUPPORTED
                )
            }))
        }
    };
    Ok((
        json!({"type": "FeatureCollection", "features": features}),
        declared.transpose(),
    ))
}

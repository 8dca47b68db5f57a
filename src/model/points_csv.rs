//! A point layer as CSV: `lon`, `lat` and one column per declared field (the parent codes left
//! out: gridmap fills them). The compact form of the embedded buildings sample
//! (`geodata/buildings.csv.gz`): a quarter of its GeoJSON, a twentieth gzipped; GDAL and QGIS
//! read it as it is (`X_POSSIBLE_NAMES=lon Y_POSSIBLE_NAMES=lat`). An empty cell is null (an
//! empty text does not survive).

use geojson::{Feature, GeometryValue};
use serde_json::{Map, Value};

use super::declared::PARENT_FIELDS;
use super::records::{DeclaredData, read_record};
use super::schema::{FieldType, LayerDef};
use super::{Problem, ValidationReport};

/// The columns after `lon` and `lat`.
fn columns(def: &LayerDef) -> impl Iterator<Item = &super::schema::Field> {
    def.fields
        .iter()
        .filter(|f| !PARENT_FIELDS.contains(&f.name))
}

/// The layer's features (of a point layer) as CSV text, one line per feature in their order.
/// Coordinates keep their 7 decimals (1 cm).
pub fn write(data: &DeclaredData) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header: Vec<&str> = ["lon", "lat"]
        .into_iter()
        .chain(columns(data.def).map(|f| f.name))
        .collect();
    // Writing to a Vec cannot fail.
    let _ = w.write_record(&header);
    for r in &data.features {
        let at = r.anchor().map(|p| (p.x(), p.y())).unwrap_or_default();
        let mut row = vec![format!("{:.7}", at.0), format!("{:.7}", at.1)];
        for (field, value) in data.def.fields.iter().zip(&r.values) {
            if PARENT_FIELDS.contains(&field.name) {
                continue;
            }
            row.push(match value {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                v => v.to_string(),
            });
        }
        let _ = w.write_record(&row);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Read CSV text written by `write` as features of the point layer `def`, each checked against
/// the declaration as a GeoJSON feature would be; problems name the line.
pub fn read(def: &'static LayerDef, text: &str) -> Result<DeclaredData, ValidationReport> {
    let mut report = ValidationReport::default();
    let mut problem = |id: String, message: String| {
        report.problems.push(Problem {
            layer: def.name,
            id,
            message,
        })
    };
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(str::to_string).collect(),
        Err(e) => {
            problem("file".into(), format!("not CSV: {e}"));
            return Err(report);
        }
    };
    let wanted: Vec<&str> = ["lon", "lat"]
        .into_iter()
        .chain(columns(def).map(|f| f.name))
        .collect();
    if header != wanted {
        problem(
            "file".into(),
            format!(
                "the columns are {}; they must be {}",
                header.join(","),
                wanted.join(",")
            ),
        );
        return Err(report);
    }
    let fields: Vec<_> = columns(def).collect();
    let mut features = Vec::new();
    for row in reader.records() {
        let row = match row {
            Ok(row) => row,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                problem(format!("line {line}"), e.to_string());
                continue;
            }
        };
        let line = format!("line {}", row.position().map_or(0, |p| p.line()));
        let coordinate = |k: usize| row.get(k).and_then(|s| s.parse::<f64>().ok());
        let (Some(lon), Some(lat)) = (coordinate(0), coordinate(1)) else {
            problem(line, "lon and lat must be numbers".into());
            continue;
        };
        let mut properties = Map::new();
        for (field, cell) in fields.iter().zip(row.iter().skip(2)) {
            properties.insert(field.name.to_string(), cell_value(field.ty, cell));
        }
        let feature = Feature {
            bbox: None,
            geometry: Some(geojson::Geometry::new(GeometryValue::new_point([lon, lat]))),
            id: None,
            properties: Some(properties),
            foreign_members: None,
        };
        match read_record(def, &feature) {
            Ok(r) => features.push(r),
            Err(message) => problem(line, message),
        }
    }
    if report.is_ok() {
        Ok(DeclaredData { def, features })
    } else {
        Err(report)
    }
}

/// A CSV cell as the JSON value a GeoJSON property of the field's type would be (empty is
/// null; a cell that does not parse stays text, so the declaration's check names it).
fn cell_value(ty: FieldType, cell: &str) -> Value {
    if cell.is_empty() {
        return Value::Null;
    }
    let parsed = match ty {
        FieldType::Integer => cell.parse::<i64>().ok().map(Value::from),
        FieldType::Number => cell.parse::<f64>().ok().map(Value::from),
        FieldType::Boolean => cell.parse::<bool>().ok().map(Value::from),
        _ => None,
    };
    parsed.unwrap_or_else(|| Value::String(cell.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::declared::Declarations;

    #[test]
    fn a_layer_survives_csv_and_bad_cells_are_named() {
        let sample = crate::sample::dataset().unwrap();
        let buildings = sample.declared("buildings").unwrap();
        let mut part = DeclaredData::empty(buildings.def);
        part.features = buildings.features[..50].to_vec();
        let text = write(&part);
        let mut back = read(part.def, &text).unwrap();
        crate::model::records::complete(&mut back, &sample);
        assert_eq!(back, part);

        let def = Declarations::shipped().get("buildings").unwrap();
        let broken = text.replacen(",residential,", ",palace,", 1);
        let e = read(def, &broken).unwrap_err().to_string();
        assert!(
            e.contains("line ") && e.contains("property 'use' must be one of"),
            "{e}"
        );
        let e = read(def, "lon,lat,code\n1,2,3\n").unwrap_err().to_string();
        assert!(
            e.contains("the columns are lon,lat,code; they must be lon,lat,code,compound"),
            "{e}"
        );
    }
}

//! What each collection lets clients read and filter on: its public properties with their
//! types, its time property, and `GET /collections/{id}/queryables` (OGC API - Features Part 3),
//! which GDAL and QGIS read to send `-where` filters to the server instead of downloading the
//! whole layer. Items, queryables and the OpenAPI document all read the layers' declarations
//! (`model::schema`) through this module.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::base_url::BaseUrl;
use super::error::ApiError;
use super::params::Params;
use crate::model::schema::{Field, FieldType, LayerDef};

/// One public property of a collection (a field of its layer's declaration, `model::schema`):
/// what items return and what can be filtered on.
#[derive(Clone, Copy, Debug)]
pub struct Property(pub &'static Field);

impl std::ops::Deref for Property {
    type Target = Field;
    fn deref(&self) -> &Field {
        self.0
    }
}

/// The public properties of a collection, in declaration order.
pub fn public_properties(def: &'static LayerDef) -> Vec<Property> {
    // What the public may see, consented contacts included (a filter compares against the
    // public feature, so it never matches a contact that is not published).
    def.published_fields().map(Property).collect()
}

/// The property `datetime` filters on; `None` for collections without time.
pub fn temporal_property(def: &LayerDef) -> Option<&'static str> {
    def.time
}

/// The GeoJSON geometry type of a collection's features.
pub fn geometry_type(def: &LayerDef) -> &'static str {
    def.geometry.geojson_type()
}

impl Property {
    /// The JSON Schema of the value features carry, OpenAPI 3.0 style (`nullable`).
    pub fn value_schema(&self) -> Value {
        let mut schema = match self.ty {
            FieldType::Text => json!({"type": "string"}),
            FieldType::Integer => json!({"type": "integer"}),
            FieldType::Number => json!({"type": "number"}),
            FieldType::Boolean => json!({"type": "boolean"}),
            FieldType::Date => json!({"type": "string", "format": "date"}),
            FieldType::Enum(names) => json!({"type": "string", "enum": names}),
            FieldType::EnumList(names) => {
                json!({"type": "array", "items": {"type": "string", "enum": names}})
            }
        };
        if self.nullable {
            schema["nullable"] = json!(true);
        }
        schema
    }

    /// The JSON Schema of one filter value: a list property is filtered by one element, and a
    /// filter value is never null.
    pub fn filter_schema(&self) -> Value {
        match self.ty {
            FieldType::EnumList(names) => json!({"type": "string", "enum": names}),
            _ => {
                let mut schema = self.value_schema();
                schema.as_object_mut().map(|o| o.remove("nullable"));
                schema
            }
        }
    }

    /// The property in a queryables document (JSON Schema 2020-12: `null` is a type there).
    fn queryable_schema(&self) -> Value {
        let mut s = self.value_schema();
        if s.get("nullable").is_some_and(|n| n == true) {
            s.as_object_mut().map(|o| o.remove("nullable"));
            s["type"] = json!([s["type"].clone(), "null"]);
        }
        s["title"] = json!(self.name);
        s["description"] = json!(self.description);
        s
    }

    /// What a filter on this property keeps, for the API description.
    pub fn filter_meaning(&self) -> &'static str {
        match self.ty {
            FieldType::EnumList(_) => "have this value among theirs",
            _ => "have exactly this value",
        }
    }

    /// Check a filter value before it is compared, so `households=many` is a 400, not an
    /// empty answer.
    pub fn check(&self, value: &str) -> Result<(), ApiError> {
        let want = match self.ty {
            FieldType::Text => return Ok(()),
            FieldType::Integer if value.trim().parse::<i64>().is_ok() => return Ok(()),
            FieldType::Number if value.trim().parse::<f64>().is_ok_and(f64::is_finite) => {
                return Ok(());
            }
            FieldType::Boolean if matches!(value, "true" | "false") => return Ok(()),
            FieldType::Date if super::ogc_params::TimeSpan::of_date(value).is_some() => {
                return Ok(());
            }
            FieldType::Enum(names) | FieldType::EnumList(names) if names.contains(&value) => {
                return Ok(());
            }
            FieldType::Integer => "a whole number".to_string(),
            FieldType::Number => "a number".to_string(),
            FieldType::Boolean => "true or false".to_string(),
            FieldType::Date => "a date YYYY-MM-DD".to_string(),
            FieldType::Enum(names) | FieldType::EnumList(names) => {
                format!("one of {}", names.join(", "))
            }
        };
        Err(ApiError::bad(self.name, format!("'{value}' is not {want}")))
    }
}

/// Whether a property value matches a filter value given as text (arrays match any element).
pub fn matches(value: &Value, wanted: &str) -> bool {
    match value {
        Value::String(s) => s == wanted,
        Value::Number(n) => {
            n.to_string() == wanted || wanted.trim().parse::<f64>().ok() == n.as_f64()
        }
        Value::Bool(b) => b.to_string() == wanted,
        Value::Array(items) => items.iter().any(|v| matches(v, wanted)),
        _ => false,
    }
}

/// The queryables document of one collection: a JSON Schema 2020-12 object.
pub fn document(def: &'static LayerDef, base: &BaseUrl) -> Value {
    let mut properties = serde_json::Map::new();
    properties.insert(
        "geometry".into(),
        json!({
            "title": "geometry",
            "format": format!("geometry-{}", geometry_type(def).to_ascii_lowercase()),
            "x-ogc-role": "primary-geometry",
        }),
    );
    for prop in public_properties(def) {
        properties.insert(prop.name.into(), prop.queryable_schema());
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": base.join(&format!("/collections/{}/queryables", def.name)),
        "type": "object",
        "title": def.title,
        "properties": properties,
        "additionalProperties": false,
    })
}

/// GET /collections/{collection_id}/queryables
pub async fn queryables(
    State(state): State<super::AppState>,
    Path(collection_id): Path<String>,
    base: BaseUrl,
    params: Params,
    caller: super::auth::Caller,
) -> Result<Response, ApiError> {
    params.only(&["f"])?;
    super::features::check_format(&params)?;
    let document = if collection_id == super::event_collection::ID {
        caller.signed_in("the events collection")?;
        super::event_collection::queryables(&state, &base)
    } else {
        document(
            super::features::layer_of(&state.index.load(), &collection_id)?.def(),
            &base,
        )
    };
    let mut response = axum::Json(document).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/schema+json"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Layer;

    #[test]
    fn every_public_property_is_what_features_carry() {
        let snap = crate::index::Snapshot::build(crate::sample::dataset().unwrap());
        for layer in snap.layers() {
            let f = snap.public_feature_any(layer, 0);
            let carried: Vec<&str> = f
                .properties
                .as_ref()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            // Public fields, and those public by consent where the feature's consent says so.
            let props = f.properties.as_ref().unwrap();
            let declared: Vec<&str> = layer
                .def()
                .published_fields()
                .filter(|field| field.consent.is_none() || field.consented(props))
                .map(|field| field.name)
                .collect();
            let mut c = carried.clone();
            let mut d = declared.clone();
            c.sort();
            d.sort();
            assert_eq!(c, d, "{layer}");
        }
    }

    #[test]
    fn filter_values_are_checked_by_kind() {
        let property = |layer: Layer, name: &str| {
            public_properties(layer.def())
                .into_iter()
                .find(|p| p.name == name)
                .unwrap()
        };
        let households = property(Layer::Grids, "households");
        assert!(households.check("12").is_ok());
        assert!(households.check("many").is_err());
        assert!(
            property(Layer::Alliances, "founded")
                .check("2020-02-30")
                .is_err()
        );
        let services = property(Layer::Stations, "services");
        assert!(services.check("mediation").is_ok());
        assert!(services.check("karaoke").is_err());
        let kind = property(Layer::Members, "kind");
        assert!(kind.check("bank").is_ok());
        assert!(kind.check("Bank").is_err());
    }
}

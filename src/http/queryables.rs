//! What each collection lets clients read and filter on: its public properties with their
//! types, its time property, and `GET /collections/{id}/queryables` (OGC API - Features Part 3),
//! which GDAL and QGIS read to send `-where` filters to the server instead of downloading the
//! whole layer. Items, queryables and the OpenAPI document all read this one table.

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::base_url::BaseUrl;
use super::error::ApiError;
use super::params::Params;
use crate::model::{Layer, MemberKind, Service};

/// The JSON type of a public property, and so how a filter value on it is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// Text that is null where it does not apply (a member outside any village).
    OptionalText,
    Integer,
    /// `YYYY-MM-DD`.
    Date,
    /// A list of post services; a filter matches a feature offering that service.
    Services,
    /// village, enterprise, bank or agency.
    MemberRole,
}

/// One public property of a collection: what items return and what can be filtered on.
#[derive(Clone, Copy, Debug)]
pub struct Property {
    pub name: &'static str,
    pub kind: Kind,
    pub description: &'static str,
}

const fn p(name: &'static str, kind: Kind, description: &'static str) -> Property {
    Property {
        name,
        kind,
        description,
    }
}

use Kind::{Date, Integer, OptionalText, Services, Text};

const TOWNS: &[Property] = &[
    p("code", Text, "9-digit NBS code"),
    p("name", Text, "Name"),
    p("mca_code", Text, "Civil-affairs (MCA) code"),
    p("kind", Text, "镇 (town) or 街道 (street)"),
];
const VILLAGES: &[Property] = &[
    p("code", Text, "12-digit code"),
    p("name", Text, "Name"),
    p("kind", Text, "村委会 (village) or 社区居委会 (community)"),
    p("town_code", Text, "Code of the town it belongs to"),
];
const GRIDS: &[Property] = &[
    p("code", Text, "15-digit code"),
    p("name", Text, "Name"),
    p("village_code", Text, "Code of the village it belongs to"),
    p("households", Integer, "Households"),
    p("population", Integer, "Residents"),
];
const STATIONS: &[Property] = &[
    p("id", Integer, "Post id"),
    p("name", Text, "Name"),
    p("grid_code", Text, "Code of the grid it stands in"),
    p("services", Services, "Services offered"),
    p("opening_hours", Text, "Opening hours"),
];
const ALLIANCES: &[Property] = &[
    p("id", Integer, "Alliance id"),
    p("name", Text, "Name"),
    p("theme", Text, "What the alliance works on"),
    p("founded", Date, "Date founded"),
];
const MEMBERS: &[Property] = &[
    p("id", Integer, "Member id"),
    p("alliance_id", Integer, "Id of its alliance"),
    p(
        "kind",
        Kind::MemberRole,
        "village, enterprise, bank or agency",
    ),
    p("name", Text, "Name"),
    p(
        "village_code",
        OptionalText,
        "Code of the village, for village members",
    ),
];

/// The public properties of a collection, in the order features carry them.
pub fn public_properties(layer: Layer) -> &'static [Property] {
    match layer {
        Layer::Towns => TOWNS,
        Layer::Villages => VILLAGES,
        Layer::Grids => GRIDS,
        Layer::Stations => STATIONS,
        Layer::Alliances => ALLIANCES,
        Layer::Members => MEMBERS,
    }
}

/// The property `datetime` filters on; `None` for collections without time.
pub fn temporal_property(layer: Layer) -> Option<&'static str> {
    match layer {
        Layer::Alliances => Some("founded"),
        _ => None,
    }
}

/// The GeoJSON geometry type of a collection's features.
pub fn geometry_type(layer: Layer) -> &'static str {
    match layer {
        Layer::Stations | Layer::Members => "Point",
        _ => "MultiPolygon",
    }
}

fn service_names() -> [&'static str; 4] {
    Service::ALL.map(Service::name)
}

fn member_kinds() -> [&'static str; 4] {
    MemberKind::ALL.map(MemberKind::name)
}

impl Property {
    /// The JSON Schema of the value features carry, OpenAPI 3.0 style (`nullable`).
    pub fn value_schema(&self) -> Value {
        match self.kind {
            Text => json!({"type": "string"}),
            OptionalText => json!({"type": "string", "nullable": true}),
            Integer => json!({"type": "integer", "minimum": 0}),
            Date => json!({"type": "string", "format": "date"}),
            Services => {
                json!({"type": "array", "items": {"type": "string", "enum": service_names()}})
            }
            Kind::MemberRole => json!({"type": "string", "enum": member_kinds()}),
        }
    }

    /// The JSON Schema of one filter value: a list property is filtered by one element.
    pub fn filter_schema(&self) -> Value {
        match self.kind {
            OptionalText => json!({"type": "string"}),
            Services => json!({"type": "string", "enum": service_names()}),
            _ => self.value_schema(),
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

    /// Check a filter value before it is compared, so `households=many` is a 400, not an
    /// empty answer.
    pub fn check(&self, value: &str) -> Result<(), ApiError> {
        let want = match self.kind {
            Text | OptionalText => return Ok(()),
            Integer if value.trim().parse::<u64>().is_ok() => return Ok(()),
            Date if super::ogc_params::TimeSpan::of_date(value).is_some() => return Ok(()),
            Services if Service::parse(value).is_some() => return Ok(()),
            Kind::MemberRole if member_kinds().contains(&value) => return Ok(()),
            Integer => "a whole number".to_string(),
            Date => "a date YYYY-MM-DD".to_string(),
            Services => format!("one of {}", service_names().join(", ")),
            Kind::MemberRole => format!("one of {}", member_kinds().join(", ")),
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
pub fn document(layer: Layer, title: &str, base: &BaseUrl) -> Value {
    let mut properties = serde_json::Map::new();
    properties.insert(
        "geometry".into(),
        json!({
            "title": "geometry",
            "format": format!("geometry-{}", geometry_type(layer).to_ascii_lowercase()),
            "x-ogc-role": "primary-geometry",
        }),
    );
    for prop in public_properties(layer) {
        properties.insert(prop.name.into(), prop.queryable_schema());
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": base.join(&format!("/collections/{}/queryables", layer.name())),
        "type": "object",
        "title": title,
        "properties": properties,
        "additionalProperties": false,
    })
}

/// GET /collections/{collection_id}/queryables
pub async fn queryables(
    Path(collection_id): Path<String>,
    base: BaseUrl,
    params: Params,
) -> Result<Response, ApiError> {
    let layer = super::features::layer_of(&collection_id)?;
    params.only(&["f"])?;
    super::features::check_format(&params)?;
    let (title, _) = super::features::describe(layer);
    let mut response = axum::Json(document(layer, title, &base)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/schema+json"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_public_property_is_what_features_carry() {
        let snap = crate::index::Snapshot::build(crate::sample::dataset().unwrap());
        for layer in Layer::ALL {
            let f = snap.public_feature(layer, 0);
            let carried: Vec<&str> = f
                .properties
                .as_ref()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            let declared: Vec<&str> = public_properties(layer).iter().map(|p| p.name).collect();
            let mut c = carried.clone();
            let mut d = declared.clone();
            c.sort();
            d.sort();
            assert_eq!(c, d, "{layer}");
        }
    }

    #[test]
    fn filter_values_are_checked_by_kind() {
        let households = GRIDS[3];
        assert!(households.check("12").is_ok());
        assert!(households.check("many").is_err());
        assert!(ALLIANCES[3].check("2020-02-30").is_err());
        assert!(STATIONS[3].check("mediation").is_ok());
        assert!(STATIONS[3].check("karaoke").is_err());
    }
}

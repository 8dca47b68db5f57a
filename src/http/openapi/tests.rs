//! The document against the router and against what GDAL and OpenAPI 3.0 readers need.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::http::features::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::http::queryables::public_properties;

/// Every layer of the sample: the built-in and the shipped declared ones.
fn layers() -> Vec<crate::model::AnyLayer> {
    crate::index::Snapshot::build(crate::sample::dataset().unwrap()).layers()
}
use crate::model::Layer;

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (p, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((p.clone(), method.clone(), op));
        }
    }
    out
}

#[test]
fn every_route_is_described() {
    let doc = super::spec("http://localhost", &layers());
    let source = include_str!("../mod.rs");
    let router_fn =
        &source[source.find("pub fn router").unwrap()..source.find("async fn not_found").unwrap()];
    let routes: Vec<&str> = router_fn
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| s.starts_with('/'))
        .collect();
    assert!(routes.len() >= 10, "{routes:?}");
    for route in routes {
        // The tile route takes `{y}` with its extension; the document names the extensions.
        let openapi_path = route
            .replace("{collection_id}", "{collectionId}")
            .replace("{feature_id}", "{featureId}")
            .replace("{*path}", "{path}")
            .replace("{y}", "{y}.mvt");
        assert!(
            doc["paths"].get(&openapi_path).is_some(),
            "{route} is not in openapi.json"
        );
    }
}

#[test]
fn every_operation_has_a_unique_operation_id() {
    let doc = super::spec("http://localhost", &layers());
    let mut seen = BTreeSet::new();
    for (p, method, op) in operations(&doc) {
        let id = op["operationId"].as_str();
        assert!(id.is_some(), "{method} {p} has no operationId");
        assert!(seen.insert(id.unwrap().to_string()), "{id:?} twice");
    }
}

/// GDAL pushes `-where "name = 'value'"` only for names among the query parameters of the
/// concrete items path, and reads the page size only from a `$ref`'d limit.
#[test]
fn each_collection_has_a_concrete_items_path_with_its_property_filters_and_limit() {
    let doc = super::spec("http://localhost", &layers());
    for layer in Layer::ALL {
        let params =
            &doc["paths"][format!("/collections/{}/items", layer.name())]["get"]["parameters"];
        let names: BTreeSet<&str> = params
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        for property in public_properties(layer.def()) {
            let name = property.name;
            assert!(names.contains(name), "{} lacks {name}", layer.name());
        }
        assert!(
            params
                .as_array()
                .unwrap()
                .contains(&serde_json::json!({"$ref": "#/components/parameters/limit"}))
        );
    }
    let limit = &doc["components"]["parameters"]["limit"]["schema"];
    assert_eq!(limit["default"], DEFAULT_LIMIT);
    assert_eq!(limit["maximum"], MAX_LIMIT);
}

/// OpenAPI 3.0 has no type lists (`["object", "null"]`): that is 3.1 only.
#[test]
fn the_document_is_openapi_3_0() {
    fn walk(v: &Value, at: &str) {
        match v {
            Value::Object(o) => {
                if let Some(t) = o.get("type") {
                    assert!(!t.is_array(), "{at}: type list {t}");
                }
                assert!(!o.contains_key("identifier"), "{at}: identifier is 3.1");
                for (k, v) in o {
                    walk(v, &format!("{at}/{k}"));
                }
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, at)),
            _ => {}
        }
    }
    let doc = super::spec("http://localhost", &layers());
    assert_eq!(doc["openapi"], "3.0.3");
    walk(&doc, "");
}

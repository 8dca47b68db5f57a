//! The OGC API - Features part of the OpenAPI document: the shared parameters (as OGC names them),
//! the templated paths, and one concrete `/collections/<id>/items` path per collection with one
//! typed query parameter per public property.
//!
//! The concrete paths are what GDAL reads: its OAPIF driver sends `-where "town_code = '...'"` to
//! the server only for names it finds among the query parameters of
//! `paths["/collections/<id>/items"]`, and reads the page size only from a `limit` parameter given
//! as a `$ref` (docs/clients.md). pygeoapi and ldproxy publish the same shape.

use serde_json::{Map, Value, json};

use super::{ok, op, query};
use crate::geodesy::{CRS84, Crs};
use crate::http::GEOJSON;
use crate::http::features::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::http::queryables::public_properties;
use crate::model::AnyLayer;

/// A reference to a shared parameter in `components.parameters`.
pub fn param_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/parameters/{name}")})
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// Every collection: the layers, and `events` (for accounts, read-only).
fn collection_ids(layers: &[AnyLayer]) -> Vec<&'static str> {
    layers
        .iter()
        .map(|l| l.name())
        .chain(std::iter::once(crate::http::event_collection::ID))
        .collect()
}

/// `components.parameters`: the OGC API - Features parameters, each declared once.
pub fn parameters(layers: &[AnyLayer]) -> Value {
    // The Part 2 list by URI, then gridmap's shorthands (GCJ-02 and BD-09 have no URI).
    let crs_list: Vec<&str> = Crs::OGC
        .iter()
        .chain(&Crs::ALL[..4])
        .map(|c| c.name())
        .collect();
    json!({
        "collectionId": {"name": "collectionId", "in": "path", "required": true,
            "description": "The collection", "schema": {"type": "string", "enum": collection_ids(layers)}},
        "featureId": {"name": "featureId", "in": "path", "required": true,
            "description": "The code (towns, villages, grids) or numeric id (stations, alliances, members)",
            "schema": {"type": "string"}},
        "bbox": {"name": "bbox", "in": "query", "required": false, "style": "form", "explode": false,
            "description": "Only features meeting this box: min_lon,min_lat,max_lon,max_lat in bbox-crs, CRS84 by default (lat,lon order with EPSG:4326 and EPSG:4490); six numbers for a 3D box, heights ignored",
            "schema": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}},
        "bbox-crs": {"name": "bbox-crs", "in": "query", "required": false,
            "description": "CRS of bbox (OGC API - Features Part 2), or a shorthand wgs84, cgcs2000, gcj02, bd09 (longitude first); only with bbox",
            "schema": {"type": "string", "enum": crs_list, "default": CRS84}},
        "crs": {"name": "crs", "in": "query", "required": false,
            "description": "CRS of the answer's coordinates (Part 2): EPSG:4326 and EPSG:4490 are in lat,lon order; the shorthands wgs84, cgcs2000, gcj02 (AMap, Tencent), bd09 (Baidu) lon,lat. The answer names it in Content-Crs (urn:gridmap:crs:gcj02 for the shorthands without a URI)",
            "schema": {"type": "string", "enum": crs_list, "default": CRS84}},
        "datetime": {"name": "datetime", "in": "query", "required": false,
            "description": "An RFC 3339 instant, or an interval start/end with .. for an open end. Alliances are filtered on their founded date; other collections have no time and return every feature",
            "schema": {"type": "string"}},
        "limit": {"name": "limit", "in": "query", "required": false,
            "description": format!("Page size; at most {MAX_LIMIT} (a larger value is served at {MAX_LIMIT}, as OGC API - Features Core asks)"),
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}},
        "offset": {"name": "offset", "in": "query", "required": false,
            "description": "Features to skip (the next link carries it)",
            "schema": {"type": "integer", "minimum": 0, "default": 0}},
        "f": {"name": "f", "in": "query", "required": false,
            "description": "Format: GeoJSON (json and geojson are synonyms)",
            "schema": {"type": "string", "enum": ["json", "geojson"]}},
    })
}

/// `components.schemas` for the OGC resources, with one feature schema per collection.
pub fn schemas(layers: &[AnyLayer]) -> Map<String, Value> {
    let link = json!({"type": "object", "required": ["href", "rel"], "properties": {
        "href": {"type": "string"}, "rel": {"type": "string"},
        "type": {"type": "string"}, "title": {"type": "string"}}});
    let links = json!({"type": "array", "items": schema_ref("Link")});
    let out = json!({
        "Link": link,
        "LandingPage": {"type": "object", "required": ["links"], "properties": {
            "title": {"type": "string"}, "description": {"type": "string"}, "links": links}},
        "Conformance": {"type": "object", "required": ["conformsTo"], "properties": {
            "conformsTo": {"type": "array", "items": {"type": "string"}}}},
        "Collection": {"type": "object", "required": ["id", "links"], "properties": {
            "id": {"type": "string", "enum": collection_ids(layers)}, "title": {"type": "string"},
            "description": {"type": "string"}, "links": links,
            "extent": {"type": "object"}, "itemType": {"type": "string"},
            "crs": {"type": "array", "items": {"type": "string"}}, "storageCrs": {"type": "string"}}},
        "Collections": {"type": "object", "required": ["links", "collections"], "properties": {
            "links": links, "collections": {"type": "array", "items": schema_ref("Collection")}}},
        "Queryables": {"type": "object", "required": ["type", "properties"], "properties": {
            "type": {"type": "string", "enum": ["object"]}, "properties": {"type": "object"},
            "$schema": {"type": "string"}, "$id": {"type": "string"}, "title": {"type": "string"}}},
        "Feature": feature_schema(json!({"type": "object", "nullable": true})),
        "FeatureCollection": feature_collection(schema_ref("Feature")),
    });
    let Value::Object(mut out) = out else {
        unreachable!("a JSON object literal")
    };
    for &layer in layers {
        // Public fields, and personal ones where their person consented (a grid worker's
        // contact): what the public may get. Accounts get more; extra properties are allowed.
        let properties: Map<String, Value> = layer
            .def()
            .published_fields()
            .map(|f| {
                (
                    f.name.to_string(),
                    super::super::queryables::Property(f).value_schema(),
                )
            })
            .collect();
        let props = json!({"type": "object", "properties": properties});
        out.insert(feature_name(layer), feature_schema(props));
        out.insert(
            format!("{}Collection", layer.name()),
            feature_collection(schema_ref(&feature_name(layer))),
        );
    }
    out
}

fn feature_name(layer: AnyLayer) -> String {
    format!("{}Feature", layer.name())
}

fn feature_schema(properties: Value) -> Value {
    json!({"type": "object", "required": ["type", "geometry", "properties"], "properties": {
        "type": {"type": "string", "enum": ["Feature"]},
        "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        "geometry": {"type": "object", "nullable": true, "required": ["type"]},
        "properties": properties,
        "links": {"type": "array", "items": schema_ref("Link")},
    }})
}

fn feature_collection(feature: Value) -> Value {
    json!({"type": "object", "required": ["type", "features"], "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {"type": "array", "items": feature},
        "links": {"type": "array", "items": schema_ref("Link")},
        "numberMatched": {"type": "integer", "minimum": 0},
        "numberReturned": {"type": "integer", "minimum": 0},
    }})
}

/// Every `Content-Crs` an answer may carry.
fn content_crs() -> Vec<String> {
    let mut uris: Vec<String> = Crs::ALL.iter().map(|c| format!("<{}>", c.uri())).collect();
    uris.sort();
    uris.dedup();
    uris
}

fn items_response(schema: Value) -> Value {
    let mut r = ok(
        "A GeoJSON FeatureCollection with numberMatched, numberReturned and next/prev links",
        GEOJSON,
        schema,
    );
    r["headers"] = json!({"Content-Crs": {
        "description": "The CRS of the coordinates, in angle brackets",
        "schema": {"type": "string", "enum": content_crs()}}});
    r
}

fn items_parameters() -> Vec<Value> {
    [
        "bbox", "bbox-crs", "crs", "datetime", "limit", "offset", "f",
    ]
    .map(param_ref)
    .to_vec()
}

/// Every OGC API - Features path, templated and concrete, keyed by path.
pub fn paths(writes: super::accounts::Writes, layers: &[AnyLayer]) -> Map<String, Value> {
    let tag = "OGC API - Features";
    let collection_id = param_ref("collectionId");
    let mut generic_items = vec![collection_id.clone()];
    generic_items.extend(items_parameters());
    let mut item = op(
        "getFeature",
        "One feature",
        tag,
        vec![
            collection_id.clone(),
            param_ref("featureId"),
            param_ref("crs"),
            param_ref("f"),
        ],
        ok("A GeoJSON Feature", GEOJSON, schema_ref("Feature")),
    );
    item["put"] = writes.replace;
    item["patch"] = writes.patch;
    item["delete"] = writes.delete;
    let mut paths = Map::new();
    paths.insert(
        "/collections/{collectionId}".into(),
        op(
            "getCollection",
            "One collection",
            tag,
            vec![collection_id.clone(), param_ref("f")],
            ok(
                "The collection, with links to its items and queryables",
                "application/json",
                schema_ref("Collection"),
            ),
        ),
    );
    let mut items = op(
        "getFeatures",
        "Features of a collection (the concrete /collections/<id>/items paths list each collection's property filters)",
        tag,
        generic_items,
        items_response(schema_ref("FeatureCollection")),
    );
    items["post"] = writes.create.clone();
    paths.insert("/collections/{collectionId}/items".into(), items);
    paths.insert("/collections/{collectionId}/items/{featureId}".into(), item);
    paths.insert("/collections/{collectionId}/queryables".into(), op("getQueryables",
        "The properties items can be filtered on, one query parameter each (OGC API - Features Part 3)", tag,
        vec![collection_id, param_ref("f")],
        ok("A JSON Schema (2020-12) object with one property per queryable", "application/schema+json", schema_ref("Queryables"))));
    for &layer in layers {
        let id = layer.name();
        let mut parameters = items_parameters();
        for p in public_properties(layer.def()) {
            let what = p.filter_meaning();
            parameters.push(query(
                p.name,
                &format!("{}: only features that {what}", p.description),
                p.filter_schema(),
                false,
            ));
        }
        let mut get = op(
            &format!("get{}Features", capitalized(id)),
            &format!("Features of {id}, filtered by bbox, datetime and equality on any property"),
            tag,
            parameters,
            items_response(schema_ref(&format!("{id}Collection"))),
        );
        // Only a 400 here: the collection exists.
        if let Some(r) = get["get"]["responses"].as_object_mut() {
            r.remove("404");
        }
        let mut create = writes.create.clone();
        create["operationId"] = json!(format!("create{}Feature", capitalized(id)));
        create["parameters"] = json!([]);
        get["post"] = create;
        paths.insert(format!("/collections/{id}/items"), get);
    }
    paths
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

//! GET /openapi.json: the OpenAPI 3.1 description of every endpoint, written out by hand so it
//! stays readable; a test checks that every route the router serves is described here.

use axum::Json;
use axum::http::HeaderMap;
use serde_json::{Value, json};

use super::features::{DEFAULT_LIMIT, MAX_LIMIT};
use super::queries::MAX_K;

fn query(name: &str, description: &str, schema: Value, required: bool) -> Value {
    json!({"name": name, "in": "query", "required": required, "description": description, "schema": schema})
}

fn path(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description, "schema": {"type": "string"}})
}

fn ok(description: &str, media: &str, schema: Value) -> Value {
    json!({"description": description, "content": {media: {"schema": schema}}})
}

fn error_ref() -> Value {
    json!({"description": "Bad input or unknown resource", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn get(summary: &str, tag: &str, parameters: Vec<Value>, response: Value) -> Value {
    json!({"get": {
        "summary": summary, "tags": [tag], "parameters": parameters,
        "responses": {"200": response, "400": error_ref(), "404": error_ref()},
    }})
}

fn lon_lat_crs() -> Vec<Value> {
    vec![
        query(
            "lon",
            "Longitude in degrees (-180..180)",
            json!({"type": "number", "minimum": -180, "maximum": 180}),
            true,
        ),
        query(
            "lat",
            "Latitude in degrees (-90..90)",
            json!({"type": "number", "minimum": -90, "maximum": 90}),
            true,
        ),
        query(
            "crs",
            "CRS of lon/lat and of the answer: wgs84 (default) or gcj02 (AMap, Tencent, WeChat)",
            json!({"type": "string", "enum": ["wgs84", "gcj02"], "default": "wgs84"}),
            false,
        ),
    ]
}

/// PUT and DELETE of one feature (OGC API - Features Part 4), for servers with a write token.
fn writes(parameters: &[Value]) -> (Value, Value) {
    let secured = json!([{"bearer": []}]);
    let err = |what: &str| json!({"description": what, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let common = |extra: Value| {
        let mut r = json!({
            "401": err("Missing or wrong bearer token"),
            "404": err("No such collection or feature"),
            "405": err("Writes are turned off on this server (no --write-token)"),
            "422": err("The feature, or the dataset after the write, breaks a model rule; nothing was written"),
            "503": err("The store cannot be reached; nothing was written"),
        });
        r.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        r
    };
    let put = json!({
        "summary": "Create or replace one feature", "tags": ["OGC API - Features"],
        "parameters": parameters, "security": secured,
        "requestBody": {"required": true, "description": "A GeoJSON Feature of the collection (all fields, personal ones included; the key may be left to the URL)",
            "content": {"application/geo+json": {"schema": {"type": "object"}}, "application/json": {"schema": {"type": "object"}}}},
        "responses": common(json!({
            "200": {"description": "Replaced; the public feature"},
            "201": {"description": "Created; the public feature, with Location"},
            "400": err("Not a GeoJSON Feature, or its key disagrees with the URL"),
        })),
    });
    let delete = json!({
        "summary": "Delete one feature", "tags": ["OGC API - Features"],
        "parameters": parameters, "security": secured,
        "responses": common(json!({"204": {"description": "Deleted"}})),
    });
    (put, delete)
}

/// radius_m, level, service (and bbox for gaps).
fn coverage_params(bbox: bool) -> Vec<Value> {
    use crate::analysis::coverage::{DEFAULT_RADIUS_M, MAX_RADIUS_M, MIN_RADIUS_M};
    let mut p = vec![
        query(
            "radius_m",
            "Walking radius in metres on the ground (GB 50180 life circles: 300, 500, 1000)",
            json!({"type": "number", "minimum": MIN_RADIUS_M, "maximum": MAX_RADIUS_M, "default": DEFAULT_RADIUS_M}),
            false,
        ),
        query(
            "level",
            "Units to report",
            json!({"type": "string", "enum": ["town", "village", "grid"], "default": "village"}),
            false,
        ),
        query(
            "service",
            "Only posts offering this service",
            json!({"type": "string", "enum": ["policy", "mediation", "relief", "civility"]}),
            false,
        ),
    ];
    if bbox {
        p.push(query(
            "bbox",
            "Only gaps meeting min_lon,min_lat,max_lon,max_lat",
            json!({"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4}),
            false,
        ));
    }
    p
}

pub fn spec(server_url: &str) -> Value {
    let collection_id = path(
        "collectionId",
        "towns, villages, grids, stations, alliances or members",
    );
    let object = json!({"type": "object"});
    let geojson = "application/geo+json";
    let item_parameters = vec![
        collection_id.clone(),
        path(
            "featureId",
            "The code (towns, villages, grids) or numeric id",
        ),
    ];
    let (put, delete) = writes(&item_parameters);
    let mut item = get(
        "One feature",
        "OGC API - Features",
        item_parameters,
        ok("A GeoJSON Feature", geojson, object.clone()),
    );
    item["put"] = put;
    item["delete"] = delete;
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "gridmap",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Grid governance service: spatial queries and OGC API - Features over towns, villages, grids, grid posts and functional alliances. Coordinates are WGS84 lon/lat unless crs=gcj02; distances are geodesic metres on the WGS84 ellipsoid.",
            "license": {"name": "MIT OR Apache-2.0", "identifier": "MIT OR Apache-2.0"},
        },
        "servers": [{"url": server_url}],
        "paths": {
            "/": get("Landing page; a browser asking for HTML (or f=html) is redirected (303) to /map", "OGC API - Features",
                vec![query("f", "Format: json, or html for the web map (default: by Accept)", json!({"type": "string", "enum": ["json", "html"]}), false)],
                ok("Links to the API", "application/json", object.clone())),
            "/conformance": get("Conformance classes", "OGC API - Features", vec![], ok("conformsTo", "application/json", object.clone())),
            "/collections": get("Feature collections", "OGC API - Features",
                vec![query("f", "Format: json", json!({"type": "string", "enum": ["json"]}), false)],
                ok("Collections", "application/json", object.clone())),
            "/collections/{collectionId}": get("One collection", "OGC API - Features",
                vec![collection_id.clone()], ok("The collection", "application/json", object.clone())),
            "/collections/{collectionId}/items": get("Features of a collection", "OGC API - Features",
                vec![
                    collection_id.clone(),
                    query("bbox", "min_lon,min_lat,max_lon,max_lat (CRS84)", json!({"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 6}), false),
                    query("limit", &format!("Page size; larger values are served at {MAX_LIMIT}"), json!({"type": "integer", "minimum": 1, "default": DEFAULT_LIMIT}), false),
                    query("offset", "Features to skip", json!({"type": "integer", "minimum": 0, "default": 0}), false),
                    json!({"name": "properties", "in": "query", "required": false, "style": "form", "explode": true,
                        "description": "Equality filters on public properties, e.g. town_code=321181001 or services=mediation",
                        "schema": {"type": "object", "additionalProperties": {"type": "string"}}}),
                ],
                ok("A GeoJSON FeatureCollection with numberMatched, numberReturned and next links", geojson, object.clone())),
            "/collections/{collectionId}/items/{featureId}": item,
            "/locate": get("Town, village, grid, stations and alliances at a point", "Queries",
                lon_lat_crs(), ok("What contains the point and who serves it", "application/json", {
                    let unit = json!({"type": ["object", "null"], "properties": {"code": {"type": "string"}, "name": {"type": "string"}}});
                    json!({"type": "object", "properties": {
                        "query": object, "town": unit, "village": unit, "grid": unit,
                        "stations": {"type": "array"}, "nearest_station": {"type": ["object", "null"]},
                        "alliances": {"type": "array"},
                    }})
                })),
            "/nearest": get("Nearest stations by geodesic distance", "Queries",
                {
                    let mut p = lon_lat_crs();
                    p.push(query("k", "How many stations", json!({"type": "integer", "minimum": 1, "maximum": MAX_K, "default": 5}), false));
                    p.push(query("max_distance_m", "Only stations within this many metres", json!({"type": "number", "minimum": 0}), false));
                    p.push(query("service", "Only stations offering this service", json!({"type": "string", "enum": ["policy", "mediation", "relief", "civility"]}), false));
                    p
                },
                ok("A GeoJSON FeatureCollection, nearest first, each with distance_m and rank", geojson, object.clone())),
            "/search": get("Towns, villages, grids and posts by name or code, best match first", "Queries",
                vec![
                    query("q", "Part of a name (司徒) or the start of a code (321181001); a station id", json!({"type": "string", "maxLength": 100}), true),
                    query("limit", "How many results", json!({"type": "integer", "minimum": 1, "maximum": crate::http::search::MAX_LIMIT, "default": 10}), false),
                    query("layers", "Comma-separated subset of towns,villages,grids,stations", json!({"type": "string"}), false),
                ],
                ok("results with layer, id, name, context (parent names), matched, center and bbox (areas)", "application/json", object.clone())),
            "/coverage": get("Coverage of every town, village or grid by posts within a walking radius, worst first", "Planning",
                coverage_params(false), ok("units (area_m2, covered_area_m2, covered_share, population(_covered), households(_covered), stations) and total; population is area-weighted", "application/json", object.clone())),
            "/coverage/gaps": get("Uncovered areas (unit minus the union of post buffers) as GeoJSON", "Planning",
                coverage_params(true), ok("A GeoJSON FeatureCollection: one (Multi)Polygon per unit with code, name, uncovered_area_m2, uncovered_population", geojson, object.clone())),
            "/coverage/suggest": get("k new post sites covering the most uncovered people (greedy maximum coverage)", "Planning",
                {
                    let mut p = coverage_params(false);
                    p.retain(|q| q["name"] != "level");
                    p.push(query("k", "How many sites", json!({"type": "integer", "minimum": 1, "maximum": crate::http::coverage::MAX_K, "default": 10}), false));
                    p.push(query("candidates", "Candidate sites", json!({"type": "string", "enum": ["grid-centroids", "village-centroids", "points"], "default": "grid-centroids"}), false));
                    p.push(query("points", "With candidates=points: lon,lat;lon,lat;...", json!({"type": "string"}), false));
                    p
                },
                ok("picks in order with gain, covered_after and covered_share_after", "application/json", object.clone())),
            "/tiles/{z}/{x}/{y}": {"get": {
                "summary": "A composite Mapbox Vector Tile (MVT 2.1, EPSG:3857 XYZ)", "tags": ["Tiles"],
                "parameters": [path("z", "Zoom, 0..=18"), path("x", "Column, 0..2^z"), path("y", "Row with extension, e.g. 6653.mvt")],
                "responses": {
                    "200": {"description": "The tile (gzip when accepted), with an ETag", "content": {"application/vnd.mapbox-vector-tile": {"schema": {"type": "string", "format": "binary"}}}},
                    "204": {"description": "No feature in this tile"},
                    "304": {"description": "Not modified (If-None-Match matched the ETag)"},
                    "400": error_ref(),
                },
            }},
            "/tiles.json": get("TileJSON 3.0.0 for the tiles", "Tiles", vec![], ok("TileJSON", "application/json", object.clone())),
            "/tiles/metadata.json": get("The tiles' metadata in tippecanoe's layout (tilestats included), which GDAL's MVT driver reads: MVT:/vsicurl/<base>/tiles/<zoom>", "Tiles", vec![], ok("tippecanoe metadata.json", "application/json", object.clone())),
            "/map": get("The one-map web page (MapLibre GL JS, embedded; works offline). GET / redirects browsers here", "Web map",
                vec![], ok("The page", "text/html", json!({"type": "string"}))),
            "/map/": {"get": {"summary": "Redirects to /map", "tags": ["Web map"], "responses": {"308": {"description": "To /map"}}}},
            "/map/config.json": get("What the page needs besides /tiles.json: the configured basemap (or null) and coverage radius limits", "Web map",
                vec![], ok("Page configuration", "application/json", object.clone())),
            "/map/{path}": {"get": {
                "summary": "The page's scripts, stylesheets and the vendored MapLibre GL JS (with its licence)", "tags": ["Web map"],
                "parameters": [path("path", "e.g. js/main.js, vendor/maplibre-gl.js, vendor/LICENSE.txt")],
                "responses": {
                    "200": {"description": "The file (gzip when accepted), with an ETag"},
                    "304": {"description": "Not modified (If-None-Match matched the ETag)"},
                    "404": error_ref(),
                },
            }},
            "/health": get("Liveness and feature counts", "Service", vec![], ok("Status", "application/json", object.clone())),
            "/openapi.json": get("This document", "Service", vec![], ok("OpenAPI 3.1", "application/vnd.oai.openapi+json;version=3.1", object)),
        },
        "components": {
            "schemas": {"Error": {
                "type": "object", "required": ["error", "message"],
                "properties": {
                    "error": {"type": "string", "description": "Machine-readable code, e.g. invalid_parameter, not_found"},
                    "message": {"type": "string", "description": "What was wrong and how to fix it"},
                },
            }},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                "description": "The token `gridmap serve --write-token` was started with"}},
        },
    })
}

/// GET /openapi.json
pub async fn document(headers: HeaderMap) -> Json<Value> {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    Json(spec(&format!("http://{host}")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_route_is_described() {
        let doc = super::spec("http://localhost");
        let source = include_str!("mod.rs");
        let router_fn = &source
            [source.find("pub fn router").unwrap()..source.find("async fn not_found").unwrap()];
        let routes: Vec<&str> = router_fn
            .split('"')
            .skip(1)
            .step_by(2)
            .filter(|s| s.starts_with('/'))
            .collect();
        assert!(routes.len() >= 10, "{routes:?}");
        for route in routes {
            let openapi_path = route
                .replace("{collection_id}", "{collectionId}")
                .replace("{feature_id}", "{featureId}")
                .replace("{*path}", "{path}");
            assert!(
                doc["paths"].get(&openapi_path).is_some(),
                "{route} is not in openapi.json"
            );
        }
    }
}

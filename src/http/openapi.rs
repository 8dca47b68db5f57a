//! GET /openapi.json: the OpenAPI 3.0.3 description of every endpoint, written out by hand so it
//! stays readable. 3.0 rather than 3.1 because that is what OGC API - Features (conf/oas30), GDAL
//! and OWSLib look for: the landing page's `service-desc` link has the 3.0 media type.
//!
//! Tests check that every route the router serves is described here, that every operation has a
//! unique `operationId`, and (tests/it/clients.rs, with schemathesis) that the server's answers
//! agree with the document.

mod accounts;
mod events;
mod ogc;
mod stats;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::GEOJSON;
use super::base_url::BaseUrl;
use super::queries::MAX_K;
use crate::geodesy::Crs;
use crate::model::AnyLayer;

/// The media type of this document (OpenAPI 3.0 in JSON), as the landing page links it.
pub const MEDIA_TYPE: &str = "application/vnd.oai.openapi+json;version=3.0";

/// `crs` on gridmap's own endpoints: what `what` is written (and read) in.
pub(super) fn crs_query(what: &str) -> Value {
    query(
        "crs",
        &format!(
            "CRS of {what}: wgs84 (default), cgcs2000 (as WGS84), gcj02 (AMap, Tencent, WeChat), \
             bd09 (Baidu), all longitude first; or an OGC URI (EPSG:4326 and EPSG:4490 put latitude \
             first in GeoJSON positions and bbox)"
        ),
        json!({"type": "string", "enum": Crs::ALL.map(Crs::name), "default": "wgs84"}),
        false,
    )
}

fn query(name: &str, description: &str, schema: Value, required: bool) -> Value {
    json!({"name": name, "in": "query", "required": required, "description": description, "schema": schema})
}

fn path(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description, "schema": schema})
}

fn ok(description: &str, media: &str, schema: Value) -> Value {
    json!({"description": description, "content": {media: {"schema": schema}}})
}

pub(super) fn error(description: &str) -> Value {
    ok(
        description,
        "application/json",
        json!({"$ref": "#/components/schemas/Error"}),
    )
}

/// A GET operation answering 200, or 400/404 with the error shape.
fn op(id: &str, summary: &str, tag: &str, parameters: Vec<Value>, response: Value) -> Value {
    json!({"get": {
        "operationId": id, "summary": summary, "tags": [tag], "parameters": parameters,
        "responses": {"200": response, "400": error("Bad input: the message names the parameter and the fix"),
            "404": error("No such resource")},
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
        crs_query("lon/lat and of the answer"),
    ]
}

fn service_param(description: &str) -> Value {
    query(
        "service",
        description,
        json!({"type": "string", "enum": crate::model::Service::ALL.map(|s| s.name())}),
        false,
    )
}

/// radius_m, level, service (and bbox for gaps).
fn coverage_params(level: bool, bbox: bool) -> Vec<Value> {
    use crate::analysis::coverage::{DEFAULT_RADIUS_M, MAX_RADIUS_M, MIN_RADIUS_M};
    let mut p = vec![
        query(
            "radius_m",
            "Walking radius in metres on the ground (GB 50180 life circles: 300, 500, 1000)",
            json!({"type": "number", "minimum": MIN_RADIUS_M, "maximum": MAX_RADIUS_M, "default": DEFAULT_RADIUS_M}),
            false,
        ),
        service_param("Only posts offering this service"),
    ];
    if level {
        p.push(query(
            "level",
            "Units to report",
            json!({"type": "string", "enum": ["town", "village", "grid"], "default": "village"}),
            false,
        ));
    }
    if bbox {
        p.push(json!({"name": "bbox", "in": "query", "required": false, "style": "form", "explode": false,
            "description": "Only gaps meeting min_lon,min_lat,max_lon,max_lat, in crs",
            "schema": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4}}));
        p.push(crs_query("bbox and the answer's geometry"));
    }
    p
}

/// One `/tiles/{z}/{x}/{y}.<ext>` path: the router takes `{y}` with its extension.
fn tile_path(ext: &str, id: &str) -> Value {
    let int = |min: u32, max: Option<u32>| match max {
        Some(max) => json!({"type": "integer", "minimum": min, "maximum": max}),
        None => json!({"type": "integer", "minimum": min}),
    };
    let max_zoom = u32::from(crate::tiles::MAX_ZOOM);
    json!({"get": {
        "operationId": id,
        "summary": format!("A composite Mapbox Vector Tile (MVT 2.1, EPSG:3857 XYZ), .{ext} extension"), "tags": ["Tiles"],
        "parameters": [
            path("z", &format!("Zoom, 0..={max_zoom}"), int(0, Some(max_zoom))),
            path("x", "Column, 0..2^z", int(0, None)),
            path("y", "Row, 0..2^z (XYZ: row 0 at the north)", int(0, None)),
        ],
        "responses": {
            "200": {"description": "The tile (gzip when accepted), with the ETag of the encoding served",
                "headers": {"ETag": {"schema": {"type": "string"}}},
                "content": {super::tiles::MVT: {"schema": {"type": "string", "format": "binary"}}}},
            "204": {"description": "No feature in this tile"},
            "304": {"description": "Not modified (If-None-Match matched the served encoding's ETag)"},
            "400": error("z, x or y out of range"),
        },
    }})
}

pub fn spec(server_url: &str, layers: &[AnyLayer]) -> Value {
    let object = json!({"type": "object"});
    let fc = json!({"$ref": "#/components/schemas/FeatureCollection"});
    let mut paths = Map::new();
    let mut add = |p: &str, v: Value| {
        paths.insert(p.to_string(), v);
    };
    let mut landing = op(
        "getLandingPage",
        "Landing page; a browser asking for HTML (or f=html) is redirected (303) to /map",
        "OGC API - Features",
        vec![query(
            "f",
            "Format: json, or html for the web map (default: by Accept)",
            json!({"type": "string", "enum": ["json", "html"]}),
            false,
        )],
        ok(
            "Links to the API",
            "application/json",
            json!({"$ref": "#/components/schemas/LandingPage"}),
        ),
    );
    landing["get"]["responses"]["303"] = json!({"description": "To the web map (f=html, or a browser's Accept)",
        "headers": {"Location": {"schema": {"type": "string"}, "required": true}}});
    add("/", landing);
    add(
        "/conformance",
        op(
            "getConformance",
            "Conformance classes",
            "OGC API - Features",
            vec![ogc::param_ref("f")],
            ok(
                "conformsTo",
                "application/json",
                json!({"$ref": "#/components/schemas/Conformance"}),
            ),
        ),
    );
    add(
        "/collections",
        op(
            "getCollections",
            "Feature collections",
            "OGC API - Features",
            vec![ogc::param_ref("f")],
            ok(
                "Collections",
                "application/json",
                json!({"$ref": "#/components/schemas/Collections"}),
            ),
        ),
    );
    for (p, v) in ogc::paths(accounts::writes(), layers) {
        add(&p, v);
    }
    add(
        "/locate",
        op(
            "locate",
            "Town, village, grid, stations and alliances at a point",
            "Queries",
            lon_lat_crs(),
            ok(
                "What contains the point and who serves it",
                "application/json",
                {
                    let unit = json!({"type": "object", "nullable": true, "properties": {"code": {"type": "string"}, "name": {"type": "string"}}});
                    json!({"type": "object", "required": ["query", "town", "village", "grid", "stations", "alliances"], "properties": {
                        "query": object, "town": unit, "village": unit, "grid": unit,
                        "stations": {"type": "array"}, "nearest_station": {"type": "object", "nullable": true},
                        "alliances": {"type": "array"},
                        "declared": {"type": "object", "description": "Per declared layer: its features containing the point (polygons), or the nearest one with distance_m (points, lines)", "additionalProperties": {"type": "array", "items": {"type": "object"}}},
                    }})
                },
            ),
        ),
    );
    add(
        "/nearest",
        op(
            "nearest",
            "Nearest stations by geodesic distance",
            "Queries",
            {
                let mut p = lon_lat_crs();
                p.push(query(
                    "k",
                    "How many stations",
                    json!({"type": "integer", "minimum": 1, "maximum": MAX_K, "default": 5}),
                    false,
                ));
                p.push(query(
                    "max_distance_m",
                    "Only stations within this many metres",
                    json!({"type": "number", "minimum": 0}),
                    false,
                ));
                p.push(service_param("Only stations offering this service"));
                p
            },
            ok(
                "A GeoJSON FeatureCollection, nearest first, each with distance_m and rank",
                GEOJSON,
                fc.clone(),
            ),
        ),
    );
    let searched = "(towns|villages|grids|stations)";
    add(
        "/search",
        op(
            "search",
            "Towns, villages, grids and posts by name or code, best match first",
            "Queries",
            vec![
                query(
                    "q",
                    "Part of a name (司徒) or the start of a code (321181001); a station id. Not blank",
                    json!({"type": "string", "minLength": 1, "maxLength": 100, "pattern": "\\S"}),
                    true,
                ),
                query(
                    "limit",
                    "How many results",
                    json!({"type": "integer", "minimum": 1, "maximum": crate::http::search::MAX_LIMIT, "default": 10}),
                    false,
                ),
                query(
                    "layers",
                    "Comma-separated subset of towns,villages,grids,stations (default: all four)",
                    json!({"type": "string", "minLength": 1, "pattern": format!("^{searched}(,{searched})*$")}),
                    false,
                ),
                crs_query("center and bbox (longitude first)"),
            ],
            ok(
                "results with layer, id, name, context (parent names), matched, center and bbox (areas)",
                "application/json",
                json!({"type": "object", "required": ["query", "numberReturned", "results"], "properties": {
                "query": {"type": "string"}, "numberReturned": {"type": "integer", "minimum": 0}, "results": {"type": "array"}}}),
            ),
        ),
    );
    add(
        "/coverage",
        op(
            "coverage",
            "Coverage of every town, village or grid by posts within a walking radius, worst first",
            "Planning",
            coverage_params(true, false),
            ok(
                "units (area_m2, covered_area_m2, covered_share, population(_covered), households(_covered), stations) and total; people are counted by buildings where a grid has them, else area-weighted",
                "application/json",
                object.clone(),
            ),
        ),
    );
    add(
        "/coverage/gaps",
        op(
            "coverageGaps",
            "Uncovered areas (unit minus the union of post buffers), or uncovered buildings, as GeoJSON",
            "Planning",
            {
                let mut p = coverage_params(true, true);
                p.push(query(
                    "unit",
                    "areas: one uncovered (Multi)Polygon per unit of `level`; buildings: one Point per building no post reaches (with `level` left out)",
                    json!({"type": "string", "enum": ["areas", "buildings"], "default": "areas"}),
                    false,
                ));
                p.push(query(
                    "limit",
                    "At most this many features (default: all); numberMatched counts all",
                    json!({"type": "integer", "minimum": 1}),
                    false,
                ));
                p.push(query(
                    "offset",
                    "Skip this many features",
                    json!({"type": "integer", "minimum": 0, "default": 0}),
                    false,
                ));
                p
            },
            ok(
                "A GeoJSON FeatureCollection: one (Multi)Polygon per unit with code, name, uncovered_area_m2, uncovered_population; or with unit=buildings one Point per uncovered building with code, grid_code, compound, building, entrance, use, households, residents, and totals and numberMatched over all matched",
                GEOJSON,
                fc,
            ),
        ),
    );
    let number = "-?[0-9]+(\\.[0-9]+)?";
    add(
        "/coverage/suggest",
        op(
            "coverageSuggest",
            "k new post sites covering the most uncovered people (greedy maximum coverage)",
            "Planning",
            {
                let mut p = coverage_params(false, false);
                p.push(query("k", "How many sites", json!({"type": "integer", "minimum": 1, "maximum": crate::http::coverage::MAX_K, "default": 10}), false));
                p.push(query("candidates", "Candidate sites", json!({"type": "string", "enum": ["grid-centroids", "village-centroids", "points"], "default": "grid-centroids"}), false));
                p.push(query("points", "Only with candidates=points: lon,lat;lon,lat;... in degrees",
                json!({"type": "string", "minLength": 3, "pattern": format!("^{number},{number}(;{number},{number})*$")}), false));
                p.push(crs_query("points and the picks' lon/lat"));
                p
            },
            ok(
                "picks in order with gain, covered_after and covered_share_after",
                "application/json",
                object.clone(),
            ),
        ),
    );
    add("/tiles/{z}/{x}/{y}.mvt", tile_path("mvt", "getTile"));
    add("/tiles/{z}/{x}/{y}.pbf", tile_path("pbf", "getTilePbf"));
    let mut gcj02 = tile_path("mvt", "getTileGcj02");
    gcj02["get"]["summary"] = "The composite tile drawn in GCJ-02 (Web Mercator of GCJ-02 lon/lat), to lay over AMap or Tencent basemaps".into();
    add("/tiles/gcj02/{z}/{x}/{y}.mvt", gcj02);
    add(
        "/tiles/gcj02.json",
        op(
            "getTileJsonGcj02",
            "TileJSON 3.0.0 for the GCJ-02 tiles (bounds and center in GCJ-02, crs: gcj02)",
            "Tiles",
            vec![],
            ok(
                "TileJSON",
                "application/json",
                json!({"type": "object", "required": ["tilejson", "tiles"]}),
            ),
        ),
    );
    add(
        "/tiles.json",
        op(
            "getTileJson",
            "TileJSON 3.0.0 for the tiles",
            "Tiles",
            vec![],
            ok(
                "TileJSON",
                "application/json",
                json!({"type": "object", "required": ["tilejson", "tiles"], "properties": {
            "tilejson": {"type": "string"}, "tiles": {"type": "array", "items": {"type": "string"}}}}),
            ),
        ),
    );
    add(
        "/tiles/metadata.json",
        op(
            "getTileMetadata",
            "The tiles' metadata in tippecanoe's layout (tilestats included), which GDAL's MVT driver reads: MVT:/vsicurl/<base>/tiles/<zoom>",
            "Tiles",
            vec![],
            ok(
                "tippecanoe metadata.json: format, zooms, bounds and center as strings, json holding vector_layers and tilestats",
                "application/json",
                json!({"type": "object", "required": ["format", "minzoom", "maxzoom", "bounds", "json"], "properties": {
            "format": {"type": "string"}, "minzoom": {"type": "string"}, "maxzoom": {"type": "string"},
            "bounds": {"type": "string"}, "center": {"type": "string"}, "json": {"type": "string"}}}),
            ),
        ),
    );
    add(
        "/map",
        op(
            "getMap",
            "The one-map web page (MapLibre GL JS, embedded; works offline). GET / redirects browsers here",
            "Web map",
            vec![],
            ok("The page", "text/html", json!({"type": "string"})),
        ),
    );
    add(
        "/map/",
        json!({"get": {"operationId": "getMapSlash", "summary": "Redirects to /map", "tags": ["Web map"],
        "responses": {"308": {"description": "To /map", "headers": {"Location": {"schema": {"type": "string"}, "required": true}}}}}}),
    );
    add(
        "/map/config.json",
        op(
            "getMapConfig",
            "What the page needs besides /tiles.json: the configured basemap (or null) and coverage radius limits",
            "Web map",
            vec![],
            ok("Page configuration", "application/json", object.clone()),
        ),
    );
    let file = json!({"schema": {"type": "string", "format": "binary"}});
    add(
        "/map/{path}",
        json!({"get": {
            "operationId": "getMapFile",
            "summary": "The page's scripts, stylesheets and the vendored MapLibre GL JS (with its licence)", "tags": ["Web map"],
            "parameters": [path("path", "e.g. js/main.js, vendor/maplibre-gl.js, vendor/LICENSE.txt", json!({"type": "string"}))],
            "responses": {
                "200": {"description": "The file (gzip when accepted), with an ETag",
                    "content": {"text/javascript": file, "text/css": file, "text/plain": file, "text/html": file}},
                "304": {"description": "Not modified (If-None-Match matched the ETag)"},
                "404": error("No such file"),
            },
        }}),
    );
    add(
        "/health",
        op(
            "getHealth",
            "Liveness and versions; feature counts for accounts; the store and its errors for admin accounts",
            "Service",
            vec![],
            ok(
                "Status",
                "application/json",
                json!({"type": "object", "required": ["status", "version", "store_version"], "properties": {
            "status": {"type": "string", "enum": ["ok", "degraded"]}, "version": {"type": "string"},
            "store_version": {"type": "integer"}, "features": {"type": "object"}}}),
            ),
        ),
    );
    let mut audit = op(
        "getAudit",
        "The audit log, newest first: writes (who, when, from where, the feature before and after) and answers that carried personal data. Admin accounts only.",
        "Service",
        vec![
            query(
                "user",
                "Only this account's rows",
                json!({"type": "string"}),
                false,
            ),
            query(
                "since",
                "Only rows at or after this day (YYYY-MM-DD) or moment (YYYY-MM-DDThh:mm:ssZ), UTC",
                json!({"type": "string"}),
                false,
            ),
            query(
                "layer",
                "Only rows about this layer",
                json!({"type": "string"}),
                false,
            ),
            query(
                "key",
                "Only rows naming this feature key",
                json!({"type": "string"}),
                false,
            ),
            query(
                "limit",
                "At most this many rows",
                json!({"type": "integer", "minimum": 1, "maximum": super::audit::MAX_ROWS, "default": 100}),
                false,
            ),
        ],
        ok(
            "Rows",
            "application/json",
            json!({"type": "object", "required": ["rows"], "properties": {
            "numberReturned": {"type": "integer"}, "rows": {"type": "array", "items": {"type": "object"}}}}),
        ),
    );
    audit["get"]["security"] = json!([{"bearer": []}]);
    if let Some(r) = audit["get"]["responses"].as_object_mut() {
        r.remove("404");
        r.insert(
            "401".into(),
            error("No token, or a token no active account has"),
        );
        r.insert("403".into(), error("Not an admin account"));
        r.insert(
            "429".into(),
            error("Too many wrong tokens from this address within a minute"),
        );
    }
    add("/audit", audit);
    add(
        "/openapi.json",
        op(
            "getOpenApi",
            "This document",
            "Service",
            vec![],
            ok("OpenAPI 3.0", MEDIA_TYPE, object),
        ),
    );

    add(
        "/metrics",
        json!({"get": {
            "operationId": "getMetrics",
            "summary": "Request counts and latencies by route, requests in flight and shed, the tile cache, the snapshot and the store's lag, in the OpenMetrics text format Prometheus scrapes",
            "tags": ["Service"],
            "responses": {"200": {"description": "OpenMetrics text",
                "content": {"application/openmetrics-text": {"schema": {"type": "string"}}}}},
        }}),
    );

    for (p, v) in events::paths().into_iter().chain(stats::paths()) {
        add(p, v);
    }
    accounts::caller_aware(&mut paths);
    limited(&mut paths);

    let mut schemas = ogc::schemas(layers);
    schemas.insert("Error".into(), json!({
        "type": "object", "required": ["error", "message"],
        "properties": {
            "error": {"type": "string", "description": "Machine-readable code, e.g. invalid_parameter, unknown_parameter, not_found"},
            "message": {"type": "string", "description": "What was wrong and how to fix it"},
        },
    }));
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "gridmap",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Grid governance service: spatial queries and OGC API - Features over towns, villages, grids, grid posts and functional alliances. Coordinates are WGS84 lon/lat unless crs says otherwise; distances are geodesic metres on the WGS84 ellipsoid.",
            "license": {"name": "MIT OR Apache-2.0"},
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "parameters": ogc::parameters(layers),
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                "description": "An account's token (`gridmap user add NAME --role ROLE --area CODE` prints it once)"}},
        },
    })
}

/// What any operation may answer under load (`limits.rs`): 503 when shed or past the time limit,
/// and 413 for a body over the limit.
fn limited(paths: &mut Map<String, Value>) {
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (_, op) in item.iter_mut() {
            let takes_body = op.get("requestBody").is_some();
            let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
                continue;
            };
            if path != "/health" && path != "/metrics" && path != "/events/stream" {
                responses.entry("503").or_insert_with(|| {
                    error("The server is at its cap of requests in flight (Retry-After says when to try again), or the answer took longer than its time limit")
                });
            }
            if takes_body {
                responses.entry("413").or_insert_with(|| {
                    error("The body is over the server's limit (--max-body-mb)")
                });
            }
        }
    }
}

/// GET /openapi.json, with `servers[0].url` naming this server as the client reached it (the
/// same base as every link: `--public-url`, else the forwarding headers, else Host).
pub async fn document(State(state): State<super::AppState>, base: BaseUrl) -> Response {
    let layers = state.index.load().layers();
    let mut response = axum::Json(spec(&base.0, &layers)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
    response
}

#[cfg(test)]
mod tests;

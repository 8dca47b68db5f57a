//! What the document says about events: reporting (open to the public as source `public`),
//! listing and reading (accounts), taking a step (accounts, or the reporter's evaluation token),
//! the event stream and the event tiles.

use serde_json::{Value, json};

use super::{error, ok, path, query};
use crate::events::{Action, Severity, Source, Status};
use crate::http::tiles::MVT;

fn names<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|v| name(*v)).collect()
}

/// Every event path, for `spec` to add.
pub(super) fn paths() -> Vec<(&'static str, Value)> {
    let event = json!({"type": "object", "required": ["type", "id", "geometry", "properties"]});
    let object = json!({"type": "object"});
    let secured = json!([{"bearer": []}]);
    let read_errors = json!({
        "400": error("Bad input: the message names the parameter and the fix"),
        "401": error("No token, or a token no active account has: events are staff data"),
        "404": error("No such event in the account's area"),
        "429": error("Too many wrong tokens from this address within a minute"),
    });
    let with = |base: &Value, extra: Value| {
        let mut r = base.clone();
        if let (Some(r), Value::Object(extra)) = (r.as_object_mut(), extra) {
            r.extend(extra);
        }
        r
    };
    let body = |schema: Value| json!({"required": true, "content": {"application/json": {"schema": schema}}});
    let report = json!({
        "type": "object", "required": ["category", "severity", "source", "text"],
        "properties": {
            "lon": {"type": "number", "minimum": -180, "maximum": 180},
            "lat": {"type": "number", "minimum": -90, "maximum": 90},
            "crs": {"type": "string", "enum": crate::geodesy::Crs::ALL.map(crate::geodesy::Crs::name)},
            "category": {"type": "string", "description": "A category of the categories file (geodata/events.toml): dispute, hazard, sanitation, …"},
            "severity": {"type": "string", "enum": names(&Severity::ALL, Severity::name)},
            "source": {"type": "string", "enum": names(&Source::ALL, Source::name), "description": "Without an account, only public"},
            "text": {"type": "string", "minLength": 1, "maxLength": 2000},
            "address": {"type": "string", "maxLength": 2000},
            "reporter": {"type": "object", "properties": {"name": {"type": "string"}, "phone": {"type": "string"}}},
        },
    });
    let transition = json!({
        "type": "object", "required": ["action"],
        "properties": {
            "action": {"type": "string", "enum": Action::transitions().map(Action::name).collect::<Vec<_>>()},
            "to": {"type": "string", "description": "dispatch: a grid, village or town code inside the holder's area, or member:ID"},
            "note": {"type": "string", "description": "handle, escalate and return need one"},
            "rating": {"type": "integer", "minimum": 1, "maximum": 5},
            "token": {"type": "string", "description": "The reporter's evaluation token (from the report's answer), instead of an account"},
        },
    });
    let id = path(
        "id",
        "The event's id",
        json!({"type": "integer", "minimum": 1}),
    );
    let list_params = vec![
        query(
            "bbox",
            "min_lon,min_lat,max_lon,max_lat",
            json!({"type": "string"}),
            false,
        ),
        query(
            "status",
            "Comma-separated states",
            json!({"type": "string", "description": names(&Status::ALL, Status::name).join(", ")}),
            false,
        ),
        query(
            "category",
            "A category id",
            json!({"type": "string"}),
            false,
        ),
        query(
            "code",
            "A town, village or grid code: its events",
            json!({"type": "string", "pattern": "^[0-9]{6,15}$"}),
            false,
        ),
        query(
            "overdue",
            "Open past their deadline (true) or not (false)",
            json!({"type": "boolean"}),
            false,
        ),
        query(
            "from",
            "Reported at or after (YYYY-MM-DD or RFC 3339 UTC)",
            json!({"type": "string"}),
            false,
        ),
        query("to", "Reported before", json!({"type": "string"}), false),
        query(
            "limit",
            "Page size",
            json!({"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}),
            false,
        ),
        query(
            "offset",
            "Events skipped",
            json!({"type": "integer", "minimum": 0, "default": 0}),
            false,
        ),
        super::crs_query("bbox and the answer's geometry"),
    ];
    let crs = super::crs_query("lon/lat and of the answer");
    vec![
        (
            "/geocode",
            json!({"get": {
                "operationId": "geocode", "tags": ["Queries"],
                "summary": "An address to its building (town and village may be left out; 幢, 栋, 号 all read), with precision and confidence",
                "parameters": [
                    query("q", "The address, as 云阳街道太阳城社区华府公寓5幢2单元", json!({"type": "string", "minLength": 1, "maxLength": 200, "pattern": "\\S"}), true),
                    query("limit", "Most results", json!({"type": "integer", "minimum": 1, "maximum": 20, "default": 5}), false),
                    crs.clone(),
                ],
                "responses": {
                    "200": ok("The places the address may mean, best first (empty when it names no compound)", "application/json", json!({"type": "object", "required": ["results"]})),
                    "400": error("Bad input: the message names the parameter and the fix"),
                },
            }}),
        ),
        (
            "/reverse",
            json!({"get": {
                "operationId": "reverseGeocode", "tags": ["Queries"],
                "summary": "A point to the nearest building and its address",
                "parameters": [
                    query("lon", "Longitude", json!({"type": "number", "minimum": -180, "maximum": 180}), true),
                    query("lat", "Latitude", json!({"type": "number", "minimum": -90, "maximum": 90}), true),
                    crs,
                ],
                "responses": {
                    "200": ok("The nearest building (null when there is none)", "application/json", json!({"type": "object", "required": ["building"]})),
                    "400": error("Bad input: the message names the parameter and the fix"),
                },
            }}),
        ),
        (
            "/events",
            json!({
                "get": {
                    "operationId": "listEvents", "tags": ["Events"], "security": secured,
                    "summary": "The events the account's area holds, newest first, filtered and paged",
                    "parameters": list_params,
                    "responses": with(&read_errors, json!({"200": ok("A GeoJSON FeatureCollection with numberMatched, numberReturned and links", "application/geo+json", object)})),
                },
                "post": {
                    "operationId": "reportEvent", "tags": ["Events"],
                    "security": [{}, {"bearer": []}],
                    "summary": "Report a problem at a point: routed to its grid, village, town and post; 201 once stored",
                    "parameters": [super::crs_query("lon/lat (when the body names no crs; naming two different ones is a 400) and of the answer")],
                    "requestBody": body(report),
                    "responses": {
                        "201": {"description": "Stored: the event as a GeoJSON Feature (with evaluation_token, given once)",
                            "headers": {"Location": {"schema": {"type": "string"}}},
                            "content": {"application/json": {"schema": event.clone()}}},
                        "400": error("Not a JSON object of the report's fields"),
                        "401": error("A source other than public needs an account"),
                        "413": error("The body is too large"),
                        "422": error("A field is not acceptable (the message names it): an unknown category, a point outside the county, …; nothing was stored"),
                        "429": error("Too many wrong tokens from this address within a minute"),
                        "503": error("Too many reports waiting, or the store cannot be reached; nothing was stored"),
                    },
                },
            }),
        ),
        (
            "/events/stream",
            json!({"get": {
                "operationId": "eventStream", "tags": ["Events"], "security": secured,
                "summary": "Server-sent events: each new report and step in the account's area (id: the log's sequence number; Last-Event-ID replays what was missed)",
                "parameters": [{"name": "Last-Event-ID", "in": "header", "required": false, "schema": {"type": "string"}}],
                "responses": with(&read_errors, json!({"200": {"description": "text/event-stream", "content": {"text/event-stream": {"schema": {"type": "string"}}}}})),
            }}),
        ),
        (
            "/events/{id}",
            json!({"get": {
                "operationId": "getEvent", "tags": ["Events"], "security": secured,
                "summary": "One event with its history and its photos",
                "parameters": [id.clone(), super::crs_query("the answer's geometry")],
                "responses": with(&read_errors, json!({"200": ok("The event as a GeoJSON Feature, with properties.history and properties.photos (each with its href)", "application/geo+json", event.clone())})),
            }}),
        ),
        (
            "/events/{id}/photos",
            json!({"post": {
                "operationId": "addEventPhoto", "tags": ["Events"],
                "security": [{}, {"bearer": []}],
                "summary": "Add a photo to the event (until it is closed): the body is the photo's bytes, JPEG, PNG or WebP (recognised by the bytes), at most 5 MiB; at most 9 per event. Staff who see the event, or the reporter with the evaluation token in a Report-Token header",
                "parameters": [id.clone(), {"name": "Report-Token", "in": "header", "required": false, "schema": {"type": "string"}, "description": "The reporter's evaluation token, instead of an account"}],
                "requestBody": {"required": true, "content": {
                    "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                    "image/png": {"schema": {"type": "string", "format": "binary"}},
                    "image/webp": {"schema": {"type": "string", "format": "binary"}},
                }},
                "responses": {
                    "201": ok("The photo's description: n, type, size_bytes, width_px, height_px, at, actor, href", "application/json", json!({"type": "object"})),
                    "401": error("No account and no evaluation token"),
                    "404": error("No such event for this caller"),
                    "409": error("The event is closed, or holds 9 photos already"),
                    "413": error("The photo is over 5 MiB"),
                    "422": error("The body is not a JPEG, PNG or WebP photo (the message says what it is)"),
                    "429": error("Too many wrong tokens from this address within a minute"),
                    "503": error("The store cannot be reached"),
                },
            }}),
        ),
        (
            "/events/{id}/photos/{n}",
            json!({"get": {
                "operationId": "getEventPhoto", "tags": ["Events"], "security": secured,
                "summary": "A photo of the event, as it was sent (ETag: its SHA-256)",
                "parameters": [id.clone(), path("n", "The photo's number, 1 to 9", json!({"type": "integer", "minimum": 1, "maximum": 9}))],
                "responses": with(&read_errors, json!({
                    "200": {"description": "The photo", "content": {
                        "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                        "image/png": {"schema": {"type": "string", "format": "binary"}},
                        "image/webp": {"schema": {"type": "string", "format": "binary"}},
                    }},
                    "304": {"description": "Not modified (If-None-Match)"},
                })),
            }}),
        ),
        (
            "/events/{id}/transitions",
            json!({"post": {
                "operationId": "takeEventStep", "tags": ["Events"],
                "security": [{}, {"bearer": []}],
                "summary": "Take a step in the event's life: accept, dispatch, handle, close, evaluate, escalate, return",
                "parameters": [id],
                "requestBody": body(transition),
                "responses": {
                    "200": ok("The event after the step, with its history and the step taken", "application/json", event),
                    "400": error("Not a JSON object of the step's fields"),
                    "401": error("No account and no evaluation token"),
                    "403": error("The account's area holds the event but its role may not take this step"),
                    "404": error("No such event for this caller"),
                    "409": error("The step is not allowed from the event's state, or another server took a step first"),
                    "413": error("The body is too large"),
                    "422": error("A field is missing or wrong (the message names it)"),
                    "429": error("Too many wrong tokens from this address within a minute"),
                    "503": error("Too many requests waiting, or the store cannot be reached"),
                },
            }}),
        ),
        (
            "/tiles/events/{z}/{x}/{y}.mvt",
            event_tile(
                "getEventTile",
                "Event tiles: event_density (open and recent cases per grid) for everyone, events (points) for staff of their area",
            ),
        ),
        (
            "/tiles/gcj02/events/{z}/{x}/{y}.mvt",
            event_tile(
                "getEventTileGcj02",
                "The event tiles drawn in GCJ-02, to lay over AMap or Tencent basemaps",
            ),
        ),
        (
            "/tiles/events.json",
            tilejson("getEventTileJson", "TileJSON 3.0.0 for the event tiles"),
        ),
        (
            "/tiles/gcj02/events.json",
            tilejson(
                "getEventTileJsonGcj02",
                "TileJSON 3.0.0 for the GCJ-02 event tiles",
            ),
        ),
    ]
}

/// An event tile path (`/tiles/events/...` and its GCJ-02 twin).
fn event_tile(id: &str, summary: &str) -> Value {
    let coordinates =
        ["z", "x", "y"].map(|name| path(name, name, json!({"type": "integer", "minimum": 0})));
    json!({"get": {
        "operationId": id, "tags": ["Tiles"], "summary": summary,
        "parameters": coordinates,
        "responses": {
            "200": {"description": "A Mapbox Vector Tile", "content": {MVT: {"schema": {"type": "string", "format": "binary"}}}},
            "204": {"description": "Nothing in this tile"},
            "304": {"description": "Not modified (If-None-Match)"},
            "400": error("Bad tile address"),
            "404": error("No such resource"),
        },
    }})
}

fn tilejson(id: &str, summary: &str) -> Value {
    json!({"get": {
        "operationId": id, "tags": ["Tiles"], "summary": summary, "parameters": [],
        "responses": {"200": ok("TileJSON", "application/json", json!({"type": "object", "required": ["tilejson", "tiles"]}))},
    }})
}

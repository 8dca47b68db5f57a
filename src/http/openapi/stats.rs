//! What the document says about judging the situation: `/stats` and `/stats/trend` (statistics
//! by unit and over time, for accounts) and `/impact` (what an emergency touches).

use serde_json::{Value, json};

use super::{error, query};
use crate::analysis::stats::{Level, Metric};
use crate::analysis::trend::Interval;

/// The `/stats` path, for `spec` to add.
pub(super) fn paths() -> Vec<(&'static str, Value)> {
    let mut metrics: Vec<String> = Metric::all(&[]).iter().map(Metric::name).collect();
    metrics.push("events_{category} and events_per_1000_{category} for each event category".into());
    vec![
        impact(),
        trend(),
        (
            "/stats",
            json!({"get": {
                "operationId": "getStats", "tags": ["Statistics"],
                "security": [{"bearer": []}],
                "summary": "Statistics by unit (city, town, village or grid) of the account's area: counts that add up to the level above, and ratios computed from those sums",
                "parameters": [
                    query("level", "The units: city, town (default), village or grid", json!({"type": "string", "enum": Level::ALL.map(Level::name)}), false),
                    query("metrics", "Comma-separated metrics (all when absent)", json!({"type": "string", "description": metrics.join(", ")}), false),
                    query("from", "Events reported from (a date or date-time, UTC)", json!({"type": "string"}), false),
                    query("to", "Events reported before", json!({"type": "string"}), false),
                    query("f", "json (default), csv, or geojson (each unit's outline, for a choropleth)", json!({"type": "string", "enum": ["json", "csv", "geojson"]}), false),
                    super::crs_query("the outlines with f=geojson"),
                ],
                "responses": {
                    "200": {"description": "A row per unit (code, name, one member per metric) and quantile class breaks per metric", "content": {
                        "application/json": {"schema": {"type": "object"}},
                        "text/csv": {"schema": {"type": "string"}},
                        "application/geo+json": {"schema": {"type": "object"}},
                    }},
                    "400": error("Bad input: the message names the parameter and the fix"),
                    "401": error("No token, or a token no active account has: statistics are for accounts"),
                    "403": error("No unit of that level lies within the account's area"),
                    "429": error("Too many wrong tokens from this address within a minute"),
                },
            }}),
        ),
    ]
}

fn trend() -> (&'static str, Value) {
    (
        "/stats/trend",
        json!({"get": {
            "operationId": "getStatsTrend", "tags": ["Statistics"],
            "security": [{"bearer": []}],
            "summary": "The event metrics of each unit of the account's area per day, week or month (China Standard Time, UTC+8), each period counting the cases reported in it, and their total over those units",
            "parameters": [
                query("level", "The units: city, town (default), village or grid", json!({"type": "string", "enum": Level::ALL.map(Level::name)}), false),
                query("metrics", "Comma-separated event metrics (all of them when absent): events, events_{category}, events_per_1000, events_per_1000_{category}, closure_share, on_time_share, median_hours_to_close, mean_rating", json!({"type": "string"}), false),
                query("interval", "day, week (Monday to Sunday) or month (default)", json!({"type": "string", "enum": Interval::ALL.map(Interval::name)}), false),
                query("from", "The first period holds this time: a date (midnight China Standard Time) or a UTC date-time; the first case reported when absent (at most the last 400 periods)", json!({"type": "string"}), false),
                query("to", "The last period holds the last instant before this time (a date, midnight China Standard Time, or a UTC date-time); now when absent", json!({"type": "string"}), false),
                query("f", "json (default) or csv (a line per unit and period)", json!({"type": "string", "enum": ["json", "csv"]}), false),
            ],
            "responses": {
                "200": {"description": "periods (label, start, end), and for each unit and the total a list of values per metric, one per period", "content": {
                    "application/json": {"schema": {"type": "object", "required": ["periods", "units", "total"]}},
                    "text/csv": {"schema": {"type": "string"}},
                }},
                "400": error("Bad input: the message names the parameter and the fix (a metric that is not of events, a span of more than 400 periods)"),
                "401": error("No token, or a token no active account has: statistics are for accounts"),
                "403": error("No unit of that level lies within the account's area"),
                "429": error("Too many wrong tokens from this address within a minute"),
            },
        }}),
    )
}

fn impact() -> (&'static str, Value) {
    let polygon = json!({"type": "object", "description": "A GeoJSON Polygon or MultiPolygon, bare or as a Feature (rings closed, not crossing themselves)",
        "required": ["type"], "properties": {"type": {"type": "string", "enum": ["Polygon", "MultiPolygon", "Feature"]}}});
    let circle = json!({"type": "object", "required": ["lon", "lat", "radius_m"], "properties": {
        "lon": {"type": "number", "minimum": -180, "maximum": 180},
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "radius_m": {"type": "number", "minimum": 0, "exclusiveMinimum": true, "maximum": crate::analysis::impact::MAX_RADIUS_M}}});
    let zone = json!({"type": "object", "required": ["risk_zone"], "properties": {"risk_zone": {"type": "string", "description": "A risk zone's code"}}});
    (
        "/impact",
        json!({"post": {
            "operationId": "postImpact", "tags": ["Statistics"],
            "security": [{}, {"bearer": []}],
            "summary": "What an emergency touches: every grid an area meets (overlap_m2, share of the grid, households and people affected by buildings or pro rata, posts and centres inside, the responsible worker as the caller may see), totals by village and town, the three nearest shelters and the shortfall against the capacity within 3 km",
            "parameters": [
                query("f", "json (default) or csv (a row per grid, village and town)", json!({"type": "string", "enum": ["json", "csv"]}), false),
                super::crs_query("the area given (its GeoJSON positions, or lon and lat) and of the shelters' lon and lat"),
            ],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"oneOf": [polygon, circle, zone]}}}},
            "responses": {
                "200": {"description": "grids, totals (with villages and towns) and shelters", "content": {
                    "application/json": {"schema": {"type": "object", "required": ["area_m2", "grids", "totals", "shelters"]}},
                    "text/csv": {"schema": {"type": "string"}},
                }},
                "400": error("The body is not JSON, or a bad parameter"),
                "401": error("A token no active account has (send none for the public view)"),
                "413": error("The body is too large"),
                "422": error("The area is not acceptable (the message names the field and the fix): an open or self-intersecting ring, a radius not in (0, 50 km], an unknown risk zone, an area outside the county"),
                "429": error("Too many wrong tokens from this address within a minute"),
            },
        }}),
    )
}

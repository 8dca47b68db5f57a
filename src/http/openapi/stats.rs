//! What the document says about `/stats`: statistics by unit, for accounts.

use serde_json::{Value, json};

use super::{error, query};
use crate::analysis::stats::{Level, Metric};

/// The `/stats` path, for `spec` to add.
pub(super) fn paths() -> Vec<(&'static str, Value)> {
    let mut metrics: Vec<String> = Metric::all(&[]).iter().map(Metric::name).collect();
    metrics.push("events_per_1000_{category} for each event category".into());
    vec![(
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
    )]
}

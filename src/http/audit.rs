//! `GET /audit?user=&since=&layer=&key=&limit=`: the audit log, newest first, for admin accounts
//! only. Rows of reads still waiting in this server are written first, so the answer includes
//! every request this server has answered.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use super::params::Params;
use crate::access::Role;
use crate::access::audit::AuditQuery;
use crate::model::date::parse_utc;

pub const MAX_ROWS: u64 = 10_000;

pub async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    caller.with_role(Role::Admin, "the audit log")?;
    params.only(&["user", "since", "layer", "key", "limit"])?;
    let since_s = params
        .get("since")
        .map(|s| {
            parse_utc(s).ok_or_else(|| {
                ApiError::bad(
                    "since",
                    format!("'{s}' is not YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ (UTC)"),
                )
            })
        })
        .transpose()?;
    let query = AuditQuery {
        account: params.get("user").map(str::to_string),
        since_s,
        layer: params.get("layer").map(str::to_string),
        key: params.get("key").map(str::to_string),
        limit: params.int("limit", 1, MAX_ROWS, 100)? as usize,
    };
    let s = state.clone();
    let rows = super::request_id::blocking(move || {
        s.follower().flush_audit()?;
        s.store.read_audit(&query)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    let rows: Vec<Value> = rows.iter().map(|r| r.to_json()).collect();
    Ok(Json(json!({"numberReturned": rows.len(), "rows": rows})))
}

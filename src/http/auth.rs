//! Who is asking: the `Caller` of a request, from its `Authorization: Bearer` token (the only
//! place a token is accepted; it is never logged). No header is the public. A wrong, expired or
//! revoked token is 401 (a token no account has, after the accounts are re-read: one made a
//! moment ago works; 503 when the store cannot be read for it) and counts against the client's
//! address; after `MAX_FAILURES` within a
//! minute that client's further tokens get 429 with `Retry-After`, others are not affected.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use super::AppState;
use super::error::ApiError;
use crate::access::audit::{Action, AuditRow, MAX_KEYS};
use crate::access::{Account, Refusal, Role};
use crate::model::date::{now_s, utc_text};

/// The token of an `Authorization: Bearer <token>` header value.
pub(super) fn bearer(value: &axum::http::HeaderValue) -> Option<&str> {
    let (scheme, token) = value.to_str().ok()?.split_once(' ')?;
    Some(token.trim()).filter(|t| scheme.eq_ignore_ascii_case("bearer") && !t.is_empty())
}

/// The account behind a request (`None`: the public) and the client's address.
#[derive(Clone, Debug)]
pub struct Caller {
    pub account: Option<Arc<Account>>,
    pub address: IpAddr,
}

impl Caller {
    pub fn public() -> Caller {
        Caller {
            account: None,
            address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        }
    }

    pub fn account(&self) -> Option<&Account> {
        self.account.as_deref()
    }

    /// The account, or 401 when the request has no token.
    pub fn signed_in(&self, what: &str) -> Result<&Account, ApiError> {
        self.account().ok_or_else(|| {
            ApiError::Unauthorized(format!(
                "{what} needs an account: send Authorization: Bearer <token> (an admin makes one with `gridmap user add`)"
            ))
        })
    }

    /// The account when it has `role`, else 403 (401 without a token).
    pub fn with_role(&self, role: Role, what: &str) -> Result<&Account, ApiError> {
        let account = self.signed_in(what)?;
        if account.role == role {
            Ok(account)
        } else {
            Err(ApiError::Forbidden(format!(
                "{what} is for {role} accounts; account '{}' is a {} account",
                account.name, account.role
            )))
        }
    }

    /// Record that an answer carried personal data of `count` features not named one by one
    /// (a vector tile's).
    pub fn audit_read_count(&self, state: &AppState, layer: &str, count: usize) {
        self.audit_row(state, layer, Vec::new(), count);
    }

    /// Record that an answer carried personal data of these features (written within a second).
    pub fn audit_read(&self, state: &AppState, layer: &str, mut keys: Vec<String>) {
        if keys.is_empty() {
            return;
        }
        let count = keys.len();
        keys.truncate(MAX_KEYS);
        self.audit_row(state, layer, keys, count);
    }

    /// Queue the row of a read of personal data by this caller (none for the public).
    fn audit_row(&self, state: &AppState, layer: &str, keys: Vec<String>, count: usize) {
        let Some(account) = self.account() else {
            return;
        };
        state.audit.push(AuditRow {
            id: 0,
            at_s: now_s(),
            account: account.name.clone(),
            address: self.address.to_string(),
            action: Action::Read,
            layer: layer.to_string(),
            keys,
            count: count as i64,
            before: None,
            after: None,
        });
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(Caller {
                account: None,
                address,
            });
        };
        let token = bearer(value).ok_or_else(|| {
            ApiError::Unauthorized(
                "Authorization: give the account's token as `Bearer <token>`".into(),
            )
        })?;
        let (store, sync) = (state.store.clone(), state.sync.clone());
        let reread = || async move {
            if sync.degraded().is_some() {
                return None; // the follower is retrying the store already
            }
            match super::request_id::blocking(move || store.accounts()).await {
                Ok(Ok(accounts)) => Some(accounts),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "could not re-read the accounts for an unknown token");
                    None
                }
                Err(e) => {
                    tracing::warn!(error = %e, "re-reading the accounts failed");
                    None
                }
            }
        };
        let verdict = state
            .accounts
            .check_or_reread(token, address, now_s(), reread)
            .await;
        match verdict {
            Ok(account) => Ok(Caller {
                account: Some(account),
                address,
            }),
            Err(Refusal::Unknown) => Err(ApiError::Unauthorized(
                "Authorization: no account has this token (it may have been rotated); ask an admin for yours (`gridmap user rotate NAME`)".into(),
            )),
            Err(Refusal::Expired { name, at_s }) => Err(ApiError::Unauthorized(format!(
                "Authorization: the token of account '{name}' expired at {}; ask an admin for a new one (`gridmap user rotate {name}`)",
                utc_text(at_s)
            ))),
            Err(Refusal::Revoked { name }) => Err(ApiError::Unauthorized(format!(
                "Authorization: account '{name}' was revoked; ask an admin if it should not have been"
            ))),
            Err(Refusal::Unchecked) => Err(ApiError::Unavailable(
                "Authorization: this server does not know the token and cannot reach its store to look for it; try again shortly".into(),
            )),
            Err(Refusal::TooMany { retry_after_s }) => {
                Err(ApiError::TooManyAttempts { retry_after_s })
            }
        }
    }
}

//! The audit log: one row per write (who, when, from where, the feature before and after) and
//! per answer that carried personal data (who, when, which layer, which keys or how many). The
//! stores only append to it; pruning rows older than `--audit-days` is the one exception.

use serde::Serialize;
use serde_json::Value;

/// What a row records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Replace,
    Patch,
    Delete,
    /// An answer that carried personal data.
    Read,
}

impl Action {
    pub const ALL: [Action; 5] = [
        Action::Create,
        Action::Replace,
        Action::Patch,
        Action::Delete,
        Action::Read,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Replace => "replace",
            Action::Patch => "patch",
            Action::Delete => "delete",
            Action::Read => "read",
        }
    }

    pub fn parse(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// One row of the log.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditRow {
    /// Assigned by the store; 0 before.
    pub id: i64,
    /// When, in Unix seconds.
    pub at_s: i64,
    /// The account's name.
    pub account: String,
    /// The client's address as the server saw it.
    pub address: String,
    pub action: Action,
    pub layer: String,
    /// The features' keys (a read of many lists at most `MAX_KEYS` and counts the rest).
    pub keys: Vec<String>,
    /// How many features.
    pub count: i64,
    /// The feature before a write (every field), `None` for a create or a read.
    pub before: Option<Value>,
    /// The feature after a write, `None` for a delete or a read.
    pub after: Option<Value>,
}

/// A read row names at most this many keys; `count` says how many there were.
pub const MAX_KEYS: usize = 100;

/// Which rows to read, newest first.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub account: Option<String>,
    /// Rows at or after this moment (Unix seconds).
    pub since_s: Option<i64>,
    pub layer: Option<String>,
    /// Rows naming this key.
    pub key: Option<String>,
    pub limit: usize,
}

impl AuditQuery {
    pub fn matches(&self, row: &AuditRow) -> bool {
        self.account.as_ref().is_none_or(|a| *a == row.account)
            && self.since_s.is_none_or(|s| row.at_s >= s)
            && self.layer.as_ref().is_none_or(|l| *l == row.layer)
            && self.key.as_ref().is_none_or(|k| row.keys.contains(k))
    }
}

impl AuditRow {
    /// The row as JSON for `/audit` and `gridmap audit`, its time in RFC 3339 UTC.
    pub fn to_json(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Some(o) = v.as_object_mut() {
            o.remove("at_s");
            o.insert(
                "at".into(),
                Value::String(crate::model::date::utc_text(self.at_s)),
            );
        }
        v
    }
}

/// How many read rows may wait for the store (about 300 MB at most).
pub const MAX_PENDING: usize = 1_000_000;

/// Rows waiting to be appended: reads of personal data are recorded here by the request and
/// written by the follower within a second, in one transaction per batch, so a read never
/// waits on the store. (Writes append their row in their own transaction instead.)
#[derive(Debug, Default)]
pub struct Pending {
    rows: std::sync::Mutex<Vec<AuditRow>>,
}

impl Pending {
    /// Queue a row; while the store is unreachable at most `MAX_PENDING` wait, the oldest
    /// dropped first (and logged), so memory stays bounded.
    pub fn push(&self, row: AuditRow) {
        let mut rows = self.rows.lock().unwrap_or_else(|e| e.into_inner());
        if rows.len() >= MAX_PENDING {
            let dropped = rows.len() + 1 - MAX_PENDING;
            rows.drain(..dropped);
            tracing::error!(
                dropped,
                "audit rows dropped: the store has not taken them for too long"
            );
        }
        rows.push(row);
    }

    /// Every waiting row, oldest first; the buffer is left empty.
    pub fn take(&self) -> Vec<AuditRow> {
        std::mem::take(&mut *self.rows.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Put back rows that could not be written, ahead of newer ones.
    pub fn put_back(&self, mut rows: Vec<AuditRow>) {
        let mut waiting = self.rows.lock().unwrap_or_else(|e| e.into_inner());
        rows.append(&mut waiting);
        *waiting = rows;
    }
}

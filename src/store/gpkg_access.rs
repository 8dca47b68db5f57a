//! Accounts and the audit log in the GeoPackage: two plain tables (`gridmap_accounts`,
//! `gridmap_audit`), made on their first write. The audit table has triggers that refuse UPDATE
//! and DELETE whoever writes; pruning drops and remakes the DELETE trigger in its transaction.
//! Times are RFC 3339 UTC text (they sort as text), keys and features JSON.

use rusqlite::{Connection, params};

use crate::access::audit::{Action, AuditQuery, AuditRow};
use crate::access::{Account, Role, StoredAccount, TokenHash};
use crate::model::date::{parse_utc, utc_text};

const NO_DELETE: &str = "CREATE TRIGGER IF NOT EXISTS gridmap_audit_no_delete BEFORE DELETE ON gridmap_audit
  BEGIN SELECT RAISE(ABORT, 'gridmap_audit is append-only (gridmap prunes it after --audit-days)'); END;";

/// Make the tables when missing.
pub fn ensure(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS gridmap_accounts (
           name TEXT PRIMARY KEY NOT NULL,
           role TEXT NOT NULL,
           areas TEXT NOT NULL,
           token_sha256 TEXT NOT NULL UNIQUE,
           created TEXT NOT NULL,
           expires TEXT,
           revoked TEXT);
         CREATE TABLE IF NOT EXISTS gridmap_audit (
           id INTEGER PRIMARY KEY AUTOINCREMENT,
           at TEXT NOT NULL,
           account TEXT NOT NULL,
           address TEXT NOT NULL,
           action TEXT NOT NULL,
           layer TEXT NOT NULL,
           keys TEXT NOT NULL,
           count INTEGER NOT NULL,
           before TEXT,
           after TEXT);
         CREATE INDEX IF NOT EXISTS gridmap_audit_at ON gridmap_audit (at);
         CREATE TRIGGER IF NOT EXISTS gridmap_audit_no_update BEFORE UPDATE ON gridmap_audit
           BEGIN SELECT RAISE(ABORT, 'gridmap_audit is append-only'); END;
         {NO_DELETE}"
    ))
}

fn exists(conn: &Connection, table: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [table],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

/// A stored value gridmap cannot read (a row another tool wrote).
fn unreadable(what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, what.into())
}

fn time(text: Option<String>) -> rusqlite::Result<Option<i64>> {
    text.map(|t| {
        parse_utc(&t).ok_or_else(|| unreadable(format!("'{t}' is not an RFC 3339 UTC time")))
    })
    .transpose()
}

pub fn accounts(conn: &Connection) -> rusqlite::Result<Vec<StoredAccount>> {
    if !exists(conn, "gridmap_accounts")? {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare(
        "SELECT name, role, areas, token_sha256, created, expires, revoked
         FROM gridmap_accounts ORDER BY name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, Option<String>>(5)?,
            r.get::<_, Option<String>>(6)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (name, role, areas, token, created, expires, revoked) = row?;
        out.push(StoredAccount {
            account: Account {
                role: Role::parse(&role).map_err(unreadable)?,
                areas: areas
                    .split(',')
                    .filter(|a| !a.is_empty())
                    .map(str::to_string)
                    .collect(),
                created_s: time(Some(created))?.unwrap_or_default(),
                expires_s: time(expires)?,
                revoked_s: time(revoked)?,
                name,
            },
            token: TokenHash::from_hex(&token)
                .ok_or_else(|| unreadable(format!("token_sha256 '{token}' is not a SHA-256")))?,
        });
    }
    Ok(out)
}

pub fn put_account(conn: &Connection, a: &StoredAccount) -> rusqlite::Result<()> {
    ensure(conn)?;
    let acc = &a.account;
    conn.execute(
        "INSERT INTO gridmap_accounts (name, role, areas, token_sha256, created, expires, revoked)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (name) DO UPDATE SET role = excluded.role, areas = excluded.areas,
           token_sha256 = excluded.token_sha256, created = excluded.created,
           expires = excluded.expires, revoked = excluded.revoked",
        params![
            acc.name,
            acc.role.name(),
            acc.areas.join(","),
            a.token.to_hex(),
            utc_text(acc.created_s),
            acc.expires_s.map(utc_text),
            acc.revoked_s.map(utc_text),
        ],
    )?;
    Ok(())
}

pub fn append(conn: &Connection, rows: &[AuditRow]) -> rusqlite::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    ensure(conn)?;
    let mut stmt = conn.prepare_cached(
        "INSERT INTO gridmap_audit (at, account, address, action, layer, keys, count, before, after)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for row in rows {
        stmt.execute(params![
            utc_text(row.at_s),
            row.account,
            row.address,
            row.action.name(),
            row.layer,
            serde_json::to_string(&row.keys).unwrap_or_default(),
            row.count,
            row.before.as_ref().map(|v| v.to_string()),
            row.after.as_ref().map(|v| v.to_string()),
        ])?;
    }
    Ok(())
}

fn json(text: Option<String>) -> rusqlite::Result<Option<serde_json::Value>> {
    text.map(|t| serde_json::from_str(&t).map_err(|e| unreadable(format!("not JSON: {e}"))))
        .transpose()
}

pub fn read(conn: &Connection, q: &AuditQuery) -> rusqlite::Result<Vec<AuditRow>> {
    if !exists(conn, "gridmap_audit")? {
        return Ok(Vec::new());
    }
    // The filters on indexed columns in SQL; the key (inside a JSON list) below.
    let mut stmt = conn.prepare(
        "SELECT id, at, account, address, action, layer, keys, count, before, after
         FROM gridmap_audit
         WHERE (?1 IS NULL OR account = ?1) AND (?2 IS NULL OR at >= ?2)
           AND (?3 IS NULL OR layer = ?3)
           AND (?4 IS NULL OR EXISTS (SELECT 1 FROM json_each(keys) WHERE value = ?4))
         ORDER BY at DESC, id DESC LIMIT ?5",
    )?;
    let rows = stmt.query_map(
        params![
            q.account,
            q.since_s.map(utc_text),
            q.layer,
            q.key,
            q.limit as i64
        ],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, i64>(7)?,
                r.get::<_, Option<String>>(8)?,
                r.get::<_, Option<String>>(9)?,
            ))
        },
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (id, at, account, address, action, layer, keys, count, before, after) = row?;
        out.push(AuditRow {
            id,
            at_s: time(Some(at))?.unwrap_or_default(),
            account,
            address,
            action: Action::parse(&action)
                .ok_or_else(|| unreadable(format!("'{action}' is not an audit action")))?,
            layer,
            keys: serde_json::from_str(&keys)
                .map_err(|e| unreadable(format!("keys are not a JSON list: {e}")))?,
            count,
            before: json(before)?,
            after: json(after)?,
        });
    }
    Ok(out)
}

/// Delete rows from before `before_s`, lifting the DELETE trigger for this transaction only.
/// Without such rows the schema is not touched: a trigger dropped and made again is a schema
/// change, after which servers following the file read it whole once (`gpkg_changes`).
pub fn prune(conn: &Connection, before_s: i64) -> rusqlite::Result<usize> {
    if !exists(conn, "gridmap_audit")? {
        return Ok(0);
    }
    let expired: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM gridmap_audit WHERE at < ?1)",
        [utc_text(before_s)],
        |r| r.get(0),
    )?;
    if !expired {
        return Ok(0);
    }
    conn.execute_batch("DROP TRIGGER IF EXISTS gridmap_audit_no_delete")?;
    let n = conn.execute(
        "DELETE FROM gridmap_audit WHERE at < ?1",
        [utc_text(before_s)],
    )?;
    conn.execute_batch(NO_DELETE)?;
    Ok(n)
}

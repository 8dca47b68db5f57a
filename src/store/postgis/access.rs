//! Accounts and the audit log in PostGIS (migration 0004): reads and writes of
//! `gridmap_accounts` and `gridmap_audit`. Neither has a change-log trigger, so neither wakes the
//! servers following the layers.

use postgres::GenericClient;

use crate::access::audit::{Action, AuditQuery, AuditRow};
use crate::access::{Account, Role, StoredAccount, TokenHash};

/// A row another tool wrote that gridmap cannot read.
pub struct Unreadable(pub String);

pub enum AccessError {
    Db(postgres::Error),
    Row(Unreadable),
}

impl From<postgres::Error> for AccessError {
    fn from(e: postgres::Error) -> Self {
        AccessError::Db(e)
    }
}

fn row_err(text: String) -> AccessError {
    AccessError::Row(Unreadable(text))
}

pub fn accounts(c: &mut impl GenericClient) -> Result<Vec<StoredAccount>, AccessError> {
    let rows = c.query(
        "SELECT name, role, areas, token_sha256,
                extract(epoch FROM created)::bigint, extract(epoch FROM expires)::bigint,
                extract(epoch FROM revoked)::bigint
         FROM gridmap_accounts ORDER BY name",
        &[],
    )?;
    rows.iter()
        .map(|r| {
            let token: String = r.get(3);
            Ok(StoredAccount {
                account: Account {
                    name: r.get(0),
                    role: Role::parse(r.get(1)).map_err(row_err)?,
                    areas: r.get(2),
                    created_s: r.get(4),
                    expires_s: r.get(5),
                    revoked_s: r.get(6),
                },
                token: TokenHash::from_hex(&token)
                    .ok_or_else(|| row_err(format!("token_sha256 '{token}' is not a SHA-256")))?,
            })
        })
        .collect()
}

pub fn put_account(c: &mut impl GenericClient, a: &StoredAccount) -> Result<(), postgres::Error> {
    let acc = &a.account;
    c.execute(
        "INSERT INTO gridmap_accounts (name, role, areas, token_sha256, created, expires, revoked)
         VALUES ($1, $2, $3, $4, to_timestamp($5), to_timestamp($6), to_timestamp($7))
         ON CONFLICT (name) DO UPDATE SET role = excluded.role, areas = excluded.areas,
           token_sha256 = excluded.token_sha256, created = excluded.created,
           expires = excluded.expires, revoked = excluded.revoked",
        &[
            &acc.name,
            &acc.role.name(),
            &acc.areas,
            &a.token.to_hex(),
            &(acc.created_s as f64),
            &acc.expires_s.map(|s| s as f64),
            &acc.revoked_s.map(|s| s as f64),
        ],
    )?;
    Ok(())
}

pub fn append(c: &mut impl GenericClient, rows: &[AuditRow]) -> Result<(), postgres::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let stmt = c.prepare(
        "INSERT INTO gridmap_audit (at, account, address, action, layer, keys, count, before, after)
         VALUES (to_timestamp($1), $2, $3, $4, $5, $6, $7, $8::text::jsonb, $9::text::jsonb)",
    )?;
    for row in rows {
        c.execute(
            &stmt,
            &[
                &(row.at_s as f64),
                &row.account,
                &row.address,
                &row.action.name(),
                &row.layer,
                &row.keys,
                &row.count,
                &row.before.as_ref().map(|v| v.to_string()),
                &row.after.as_ref().map(|v| v.to_string()),
            ],
        )?;
    }
    Ok(())
}

pub fn read(c: &mut impl GenericClient, q: &AuditQuery) -> Result<Vec<AuditRow>, AccessError> {
    let rows = c.query(
        "SELECT id, extract(epoch FROM at)::bigint, account, address, action, layer, keys, count,
                before::text, after::text
         FROM gridmap_audit
         WHERE ($1::text IS NULL OR account = $1) AND ($2::float8 IS NULL OR at >= to_timestamp($2))
           AND ($3::text IS NULL OR layer = $3) AND ($4::text IS NULL OR keys @> ARRAY[$4])
         ORDER BY at DESC, id DESC LIMIT $5",
        &[
            &q.account,
            &q.since_s.map(|s| s as f64),
            &q.layer,
            &q.key,
            &(q.limit as i64),
        ],
    )?;
    let json = |t: Option<String>| -> Result<Option<serde_json::Value>, AccessError> {
        t.map(|t| serde_json::from_str(&t).map_err(|e| row_err(format!("not JSON: {e}"))))
            .transpose()
    };
    rows.iter()
        .map(|r| {
            let action: String = r.get(4);
            Ok(AuditRow {
                id: r.get(0),
                at_s: r.get(1),
                account: r.get(2),
                address: r.get(3),
                action: Action::parse(&action)
                    .ok_or_else(|| row_err(format!("'{action}' is not an audit action")))?,
                layer: r.get(5),
                keys: r.get(6),
                count: r.get(7),
                before: json(r.get(8))?,
                after: json(r.get(9))?,
            })
        })
        .collect()
}

/// Delete rows from before `before_s`: the one DELETE the append-only trigger lets through,
/// for this transaction only.
pub fn prune(c: &mut impl GenericClient, before_s: i64) -> Result<usize, postgres::Error> {
    c.execute("SELECT set_config('gridmap.audit_prune', 'on', true)", &[])?;
    let n = c.execute(
        "DELETE FROM gridmap_audit WHERE at < to_timestamp($1)",
        &[&(before_s as f64)],
    )?;
    c.execute("SELECT set_config('gridmap.audit_prune', 'off', true)", &[])?;
    Ok(n as usize)
}

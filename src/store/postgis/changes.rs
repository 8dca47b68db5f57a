//! Following the change log: a server at change id `seen` reads the entries after it and fetches
//! only the features they name, all in one repeatable-read snapshot, so the data and the id it
//! reports always match.
//!
//! The log is trusted only while the layer tables are the ones last read: the same tables (by
//! oid and storage), the same columns, and the four log triggers of each enabled ALWAYS
//! (`schema_fingerprint`). A table replaced behind the log's back (`ogr2ogr -overwrite`, a
//! rename and a copy), a trigger dropped, disabled or toggled, a column altered: the next read is
//! whole. While a trigger is not ALWAYS (disabled, or `O`/`R`, which skip some sessions) every
//! read is whole, and the log says so once, with the fix.

use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, IsolationLevel, Transaction};

use super::PostGis;
use super::rows::read_layer;
use crate::model::{Dataset, Layer};
use crate::store::changes::{self, Changes};

/// A read-only transaction that sees one consistent snapshot of every table.
pub fn snapshot_transaction(client: &mut Client) -> Result<Transaction<'_>, postgres::Error> {
    client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
}

/// The id of the latest change-log entry (0 when the log is empty): the store's version.
pub fn latest_change(client: &mut impl postgres::GenericClient) -> Result<u64, postgres::Error> {
    let id: i64 = client
        .query_one("SELECT coalesce(max(id), 0) FROM change_log", &[])?
        .get(0);
    Ok(id as u64)
}

/// On a connection that LISTENs: the latest change id, as soon as it differs from `seen` or after
/// `timeout`. Anything committed before LISTEN took effect shows in the first read; anything after
/// is notified.
pub fn wait_for_notification(
    client: &mut Client,
    seen: u64,
    timeout: Duration,
) -> Result<u64, postgres::Error> {
    let now = latest_change(client)?;
    if now != seen {
        return Ok(now);
    }
    {
        let mut notifications = client.notifications();
        if notifications.timeout_iter(timeout).next()?.is_some() {
            // Several commits may be notified at once: drain them, then read the latest.
            while notifications.iter().next()?.is_some() {}
        }
    }
    latest_change(client)
}

/// The dataset at the latest change; `None` when it is still `seen`. Read in one repeatable-read
/// transaction through `read_current`, so the data and the id match.
pub fn catch_up(
    store: &PostGis,
    client: &mut Client,
    seen: Option<u64>,
) -> crate::Result<Option<(u64, Dataset)>> {
    let db = |e| store.db_err(e);
    let mut tx = snapshot_transaction(client).map_err(db)?;
    if seen == Some(latest_change(&mut tx).map_err(db)?) {
        return Ok(None);
    }
    if seen.is_none() {
        // Nothing loaded yet: everything is read.
        store.held.lock().map(|mut h| h.take()).ok();
    }
    let read = read_current(store, &mut tx)?;
    tx.commit().map_err(db)?;
    Ok(Some(read))
}

/// What this handle read last: the change id then, the layer tables' fingerprint then, and the
/// dataset (its records are shared with the snapshot built from it, so keeping it costs pointers).
pub struct Held {
    at: u64,
    schema: Option<String>,
    data: Dataset,
}

/// Every layer as stored, with the latest change id: the dataset this handle read last, patched
/// with the features the log names since, when the log can say (the same tables as then, every
/// entry since kept); otherwise everything. Kept for the next read. In a repeatable-read
/// snapshot (a catch-up), or in a write's transaction under the write lock, which every logged
/// writer takes: either way the log and the tables agree.
pub fn read_current(store: &PostGis, tx: &mut Transaction) -> crate::Result<(u64, Dataset)> {
    let db = |e| store.db_err(e);
    let schema = match schema_fingerprint(tx, store).map_err(db)? {
        Ok(print) => {
            note_untrusted(store, None);
            Some(print)
        }
        Err(table) => {
            note_untrusted(store, Some(table));
            None
        }
    };
    let row = tx
        .query_one(
            "SELECT coalesce(min(id), 0), coalesce(max(id), 0) FROM change_log",
            &[],
        )
        .map_err(db)?;
    let (first, latest) = (row.get::<_, i64>(0) as u64, row.get::<_, i64>(1) as u64);
    let held = store.held.lock().ok().and_then(|mut h| h.take());
    let dataset = match held {
        // Tables replaced, triggers gone or columns altered since: the log cannot say.
        Some(h) if schema.is_none() || h.schema != schema => store.read_all(tx)?,
        Some(h) if h.at == latest => h.data,
        // Entries after `at` may have been pruned, or the database is not the one we read.
        Some(h) if h.at < latest && h.at + 1 >= first => {
            match changed_keys(tx, h.at, store).map_err(db)? {
                Some(changes) => patch(store, tx, &h.data, changes)?,
                None => store.read_all(tx)?,
            }
        }
        _ => store.read_all(tx)?,
    };
    if let Ok(mut held) = store.held.lock() {
        *held = Some(Held {
            at: latest,
            schema,
            data: dataset.clone(),
        });
    }
    Ok((latest, dataset))
}

/// Say once, when it starts, that the log is not trusted because of `table`'s triggers (and when
/// it is again): every read is then whole, which an operator must hear about.
fn note_untrusted(store: &PostGis, table: Option<String>) {
    let Ok(mut noted) = store.log_untrusted.lock() else {
        return;
    };
    if *noted == table {
        return;
    }
    match &table {
        Some(t) => tracing::warn!(
            table = %t,
            "the change log is not trusted: table {t} lacks one of its four log triggers enabled \
             ALWAYS, so every read of the store is whole; fix: ALTER TABLE {t} ENABLE ALWAYS \
             TRIGGER {t}_log_insert, ENABLE ALWAYS TRIGGER {t}_log_update, ENABLE ALWAYS TRIGGER \
             {t}_log_delete, ENABLE ALWAYS TRIGGER {t}_log_truncate"
        ),
        None => tracing::info!("the change log is trusted again: reads follow it"),
    }
    *noted = table;
}

/// The layer tables as the catalog has them, with each taken in ACCESS SHARE mode first (so no
/// table is dropped or replaced until the transaction ends: a write's guard, plan and rows all
/// meet the tables printed). Per table (the six built-in layers and every declared one, found as
/// the queries find them, through `search_path`): its oid, its storage (`relfilenode`, new after
/// a rewrite), its columns and types, and its log triggers with their state and row version
/// (`xmin`, new after any `ALTER TABLE … DISABLE/ENABLE TRIGGER`, even both in one transaction);
/// and the version of the logging function. `Err(table)` when a table that exists lacks one of
/// its four log triggers enabled ALWAYS (`A`, as migration 0008 and `Tables::create` leave them):
/// an `O`rigin trigger does not fire under `session_replication_role = replica`, a disabled one
/// never, so the log is never trusted for such a table. A missing table (a declared layer not
/// created yet) is part of the print.
fn schema_fingerprint(
    tx: &mut Transaction,
    store: &PostGis,
) -> Result<Result<String, String>, postgres::Error> {
    let mut names: Vec<&str> = Layer::ALL.iter().map(|l| l.name()).collect();
    names.extend(store.layers.layers.iter().map(|d| d.name));
    let literals: Vec<String> = (names.iter())
        .map(|n| format!("'{}'", n.replace('\'', "''")))
        .collect();
    tx.batch_execute(&format!(
        "DO $$ DECLARE t text; BEGIN
           FOREACH t IN ARRAY ARRAY[{}]::text[] LOOP
             IF to_regclass(quote_ident(t)) IS NOT NULL THEN
               EXECUTE format('LOCK TABLE %I IN ACCESS SHARE MODE', t);
             END IF;
           END LOOP;
         END $$",
        literals.join(", ")
    ))?;
    let rows = tx.query(
        "SELECT n.name, c.oid::bigint, c.relfilenode::bigint,
                (SELECT count(*) FROM pg_trigger t
                  WHERE t.tgrelid = c.oid AND t.tgenabled = 'A'
                    AND t.tgname IN (n.name || '_log_insert', n.name || '_log_update',
                                     n.name || '_log_delete', n.name || '_log_truncate')),
                (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ','
                                   ORDER BY a.attnum)
                   FROM pg_attribute a
                  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
                (SELECT string_agg(t.tgname || ' ' || t.tgenabled::text || ' ' || t.xmin::text, ','
                                   ORDER BY t.tgname)
                   FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal),
                (SELECT p.xmin::text FROM pg_proc p WHERE p.oid = to_regproc('gridmap_log_changes'))
           FROM unnest($1::text[]) AS n (name)
           LEFT JOIN pg_class c ON c.oid = to_regclass(quote_ident(n.name))
          ORDER BY n.name",
        &[&names],
    )?;
    let mut print = String::new();
    for r in rows {
        let (name, oid): (String, Option<i64>) = (r.get(0), r.get(1));
        let Some(oid) = oid else {
            print.push_str(&format!("{name} missing;"));
            continue;
        };
        let (storage, triggers): (i64, i64) = (r.get(2), r.get(3));
        let (columns, states, function): (Option<String>, Option<String>, Option<String>) =
            (r.get(4), r.get(5), r.get(6));
        if triggers < 4 {
            return Ok(Err(name));
        }
        print.push_str(&format!(
            "{name} {oid} {storage} [{}] [{}] {};",
            columns.unwrap_or_default(),
            states.unwrap_or_default(),
            function.unwrap_or_default()
        ));
    }
    Ok(Ok(print))
}

/// What changed after `seen`; `None` when a full read is needed (a TRUNCATE of a built-in
/// layer, a table this store does not know, or too many changes to fetch by key).
fn changed_keys(
    tx: &mut Transaction,
    seen: u64,
    store: &PostGis,
) -> Result<Option<Changes>, postgres::Error> {
    let rows = tx.query(
        "SELECT layer, operation, keys FROM change_log WHERE id > $1 ORDER BY id",
        &[&(seen as i64)],
    )?;
    let mut changes = Changes::default();
    for r in rows {
        let (name, operation): (String, String) = (r.get(0), r.get(1));
        let Some(layer) = Layer::parse(&name) else {
            if store.layers.get(&name).is_none() {
                return Ok(None);
            }
            changes.add_declared(name);
            continue;
        };
        if operation == "truncate" || !changes.add_keys(layer, r.get::<_, Vec<String>>(2)) {
            return Ok(None);
        }
    }
    Ok(Some(changes))
}

/// `current` with the changes read in `tx` (`store::changes::patch`).
fn patch(
    store: &PostGis,
    tx: &mut Transaction,
    current: &Dataset,
    changes: Changes,
) -> crate::Result<Dataset> {
    use crate::store::declared::Tables;
    // Both readers need the transaction, one at a time.
    let tx = std::cell::RefCell::new(tx);
    changes::patch(
        current,
        changes,
        store.layers,
        |layer, keys| {
            read_layer(*tx.borrow_mut(), layer, Some(keys)).map_err(|e| store.read_err(e))
        },
        |def| {
            super::tables::PgTables {
                tx: *tx.borrow_mut(),
                store,
            }
            .read(def)
        },
    )
}

//! Schema migrations: the SQL files of `migrations/`, embedded, applied in order under an
//! advisory lock, recorded with an md5 of their text in `gridmap_migrations`.

use postgres::Client;

/// One migration file.
pub struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub sql: &'static str,
}

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "layers",
        sql: include_str!("../../../migrations/0001_layers.sql"),
    },
    Migration {
        version: 2,
        name: "change_log",
        sql: include_str!("../../../migrations/0002_change_log.sql"),
    },
    Migration {
        version: 3,
        name: "derived_geometry",
        sql: include_str!("../../../migrations/0003_derived_geometry.sql"),
    },
    Migration {
        version: 4,
        name: "accounts_audit",
        sql: include_str!("../../../migrations/0004_accounts_audit.sql"),
    },
    Migration {
        version: 5,
        name: "publish_contact",
        sql: include_str!("../../../migrations/0005_publish_contact.sql"),
    },
    Migration {
        version: 6,
        name: "events",
        sql: include_str!("../../../migrations/0006_events.sql"),
    },
    Migration {
        version: 7,
        name: "event_photos",
        sql: include_str!("../../../migrations/0007_event_photos.sql"),
    },
    Migration {
        version: 8,
        name: "log_always",
        sql: include_str!("../../../migrations/0008_log_always.sql"),
    },
];

/// Held while migrating, so that servers starting together apply each file once.
const MIGRATE_LOCK: i64 = 7_266_707_371;

/// What `migrate` did.
#[derive(Debug, Default)]
pub struct Applied {
    /// Versions applied by this call.
    pub applied: Vec<i32>,
    /// The schema version now.
    pub version: i32,
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(transparent)]
    Db(#[from] postgres::Error),
    #[error(
        "migration {0} was changed after it was applied; restore migrations/{0:04}_*.sql or add a new migration"
    )]
    Edited(i32),
    #[error(
        "the database schema is at version {0}, newer than this gridmap knows ({1}); upgrade gridmap"
    )]
    Newer(i32, i32),
}

/// Apply every pending migration, all in one transaction. A no-op (and read-only) when the schema
/// is current.
pub fn migrate(client: &mut Client) -> Result<Applied, MigrateError> {
    let latest = MIGRATIONS.last().map_or(0, |m| m.version);
    if current_version(client)? == Some(latest) {
        verify(client)?;
        return Ok(Applied {
            applied: Vec::new(),
            version: latest,
        });
    }
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS gridmap_migrations (
           version    integer PRIMARY KEY,
           name       text NOT NULL,
           checksum   text NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now())",
    )?;
    let mut applied = Vec::new();
    for m in MIGRATIONS {
        let row = tx.query_opt(
            "SELECT checksum = md5($2) FROM gridmap_migrations WHERE version = $1",
            &[&m.version, &m.sql],
        )?;
        match row.map(|r| r.get::<_, bool>(0)) {
            Some(true) => continue,
            Some(false) => return Err(MigrateError::Edited(m.version)),
            None => {}
        }
        tx.batch_execute(m.sql)?;
        tx.execute(
            "INSERT INTO gridmap_migrations (version, name, checksum) VALUES ($1, $2, md5($3))",
            &[&m.version, &m.name, &m.sql],
        )?;
        applied.push(m.version);
    }
    let newest: i32 = tx
        .query_one("SELECT max(version) FROM gridmap_migrations", &[])?
        .get(0);
    if newest > latest {
        return Err(MigrateError::Newer(newest, latest));
    }
    tx.commit()?;
    Ok(Applied {
        applied,
        version: latest,
    })
}

/// The highest applied version, `None` before the first migration.
fn current_version(client: &mut Client) -> Result<Option<i32>, postgres::Error> {
    let exists: bool = client
        .query_one("SELECT to_regclass('gridmap_migrations') IS NOT NULL", &[])?
        .get(0);
    if !exists {
        return Ok(None);
    }
    Ok(client
        .query_one("SELECT max(version) FROM gridmap_migrations", &[])?
        .get(0))
}

/// Check that no applied file was edited since.
fn verify(client: &mut Client) -> Result<(), MigrateError> {
    for m in MIGRATIONS {
        let same: Option<bool> = client
            .query_opt(
                "SELECT checksum = md5($2) FROM gridmap_migrations WHERE version = $1",
                &[&m.version, &m.sql],
            )?
            .map(|r| r.get(0));
        if same == Some(false) {
            return Err(MigrateError::Edited(m.version));
        }
    }
    Ok(())
}

//! The throwaway PostGIS clusters that the README's test command starts (`scripts/test`,
//! `scripts/pg-cluster`): one shared, one that the replica tests may stop and restart.
//!
//! Without them a PostGIS test skips with a message, unless skipping is forbidden: in CI, or with
//! `GRIDMAP_REQUIRE_POSTGRES=1` (which `scripts/test` sets), it fails instead.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Whether PostGIS tests must run here.
fn required() -> bool {
    let set = |name: &str| {
        std::env::var(name)
            .map(|v| !v.is_empty() && v != "0" && v != "false")
            .unwrap_or(false)
    };
    set("CI") || set("GRIDMAP_REQUIRE_POSTGRES")
}

/// The URL of a cluster from `var`, or `None` (the test then skips) when it is not running.
pub fn cluster(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if required() => panic!(
            "{var} is not set, and PostGIS tests may not be skipped here: run scripts/test, which starts PostgreSQL + PostGIS"
        ),
        _ => {
            eprintln!("skipped: {var} is not set (scripts/test starts a PostGIS cluster)");
            None
        }
    }
}

/// Run `f` on a thread of its own: the blocking `postgres` client must not run inside a tokio
/// runtime, and tests call this from async tests too.
pub fn blocking<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|s| s.spawn(f).join().unwrap())
}

/// A connection for test queries (outside any async context).
pub fn connect(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls)
        .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"))
}

/// A fresh, empty database on a cluster, dropped at the end of the test.
pub struct TestDb {
    pub url: String,
    admin: String,
    name: String,
}

impl TestDb {
    /// A new database on the shared cluster, or `None` when PostGIS tests skip.
    pub fn create() -> Option<TestDb> {
        TestDb::on(&cluster("GRIDMAP_TEST_POSTGRES")?)
    }

    /// A new database on the cluster at `admin` (a URL ending in `/postgres`).
    pub fn on(admin: &str) -> Option<TestDb> {
        TestDb::copy_of(admin, None)
    }

    /// A new database on the shared cluster holding the sample as a first `serve` loads it: a
    /// copy (`CREATE DATABASE … TEMPLATE`) of one database filled once per test process.
    pub fn with_sample() -> Option<TestDb> {
        static TEMPLATE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let admin = cluster("GRIDMAP_TEST_POSTGRES")?;
        let template = TEMPLATE.get_or_init(|| {
            let name = format!("gridmap_sample_{}", std::process::id());
            let base = admin.rsplit_once('/').expect("a URL with a database").0;
            blocking(|| {
                let mut c = connect(&admin);
                c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .unwrap();
                c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
                // The store's connections close when it is dropped: a template must have none.
                let store = gridmap::store::PostGis::open(
                    &format!("{base}/{name}"),
                    gridmap::model::declared::Declarations::shipped(),
                )
                .unwrap();
                assert!(gridmap::sample::load_if_empty(&store).unwrap());
            });
            name
        });
        TestDb::copy_of(&admin, Some(template))
    }

    /// A new database on the cluster at `admin`, empty or a copy of `template`.
    fn copy_of(admin: &str, template: Option<&str>) -> Option<TestDb> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "gridmap_test_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let admin = admin.to_string();
        let sql = match template {
            None => format!("CREATE DATABASE {name}"),
            Some(t) => format!("CREATE DATABASE {name} TEMPLATE {t} STRATEGY FILE_COPY"),
        };
        blocking(|| connect(&admin).batch_execute(&sql).unwrap());
        let base = admin.rsplit_once('/').expect("a URL with a database").0;
        Some(TestDb {
            url: format!("{base}/{name}"),
            admin,
            name,
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Best effort: the cluster itself is removed at the end of scripts/test.
        blocking(move || {
            if let Ok(mut c) = postgres::Client::connect(&admin, postgres::NoTls) {
                let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        });
    }
}

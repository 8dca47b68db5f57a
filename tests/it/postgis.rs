//! PostGIS itself as the judge: migrations, constraints, the change log, and gridmap's locate and
//! nearest checked against `ST_Contains` and geography distances on the same data.

use std::collections::BTreeSet;

use gridmap::http::AppState;
use gridmap::store::{PostGis, Store};

use crate::common::get;
use crate::pg::{TestDb, connect};

/// A migrated database holding the sample.
fn sample_db() -> Option<(TestDb, PostGis)> {
    let db = TestDb::create()?;
    let store = PostGis::open(&db.url, gridmap::model::declared::Declarations::shipped()).unwrap();
    assert!(gridmap::sample::load_if_empty(&store).unwrap());
    Some((db, store))
}

#[test]
fn migrations_apply_once_in_order_and_refuse_edited_history() {
    let Some(db) = TestDb::create() else { return };
    let store =
        PostGis::connect_only(&db.url, gridmap::model::declared::Declarations::shipped()).unwrap();
    // Every file, numbered from 1 without a gap, in order.
    let all: Vec<i32> = (1..=gridmap::store::MIGRATIONS.len() as i32).collect();
    assert_eq!(store.migrate().unwrap().applied, all);
    assert!(store.migrate().unwrap().applied.is_empty(), "idempotent");
    let mut c = connect(&db.url);
    let rows: Vec<(i32, String)> = c
        .query(
            "SELECT version, name FROM gridmap_migrations ORDER BY version",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        rows,
        vec![
            (1, "layers".into()),
            (2, "change_log".into()),
            (3, "derived_geometry".into()),
            (4, "accounts_audit".into()),
            (5, "publish_contact".into()),
            (6, "events".into()),
            (7, "event_photos".into()),
            (8, "log_always".into())
        ]
    );
    // Geometry columns are typed, with SRID 4326, and indexed with GiST.
    let types: Vec<(String, String, i32)> = c
        .query(
            "SELECT f_table_name::text, type, srid FROM geometry_columns ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(types.len(), 7);
    assert!(types.iter().all(|(_, _, srid)| *srid == 4326));
    assert!(types.contains(&("gridmap_events".into(), "POINT".into(), 4326)));
    assert!(types.contains(&("grids".into(), "MULTIPOLYGON".into(), 4326)));
    assert!(types.contains(&("stations".into(), "POINT".into(), 4326)));
    assert!(types.contains(&("alliances".into(), "MULTIPOLYGON".into(), 4326)));
    let gist: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_indexes WHERE indexdef LIKE '%USING gist (geom)%'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(gist, 7);
    // An applied file edited afterwards is refused with a way out; so is a newer schema.
    c.execute(
        "UPDATE gridmap_migrations SET checksum = 'x' WHERE version = 2",
        &[],
    )
    .unwrap();
    let err = store.migrate().unwrap_err().to_string();
    assert!(err.contains("migration 2 was changed"), "{err}");
    c.execute(
        "UPDATE gridmap_migrations SET checksum = md5($1) WHERE version = 2",
        &[&gridmap::store::MIGRATIONS[1].sql],
    )
    .unwrap();
    c.execute(
        "INSERT INTO gridmap_migrations VALUES (99, 'future', 'x')",
        &[],
    )
    .unwrap();
    let err = store.migrate().unwrap_err().to_string();
    assert!(
        err.contains("version 99") && err.contains("upgrade gridmap"),
        "{err}"
    );
}

#[test]
fn the_database_refuses_what_gridmap_would_refuse() {
    let Some((db, _store)) = sample_db() else {
        return;
    };
    let mut c = connect(&db.url);
    let square =
        "ST_GeomFromText('MULTIPOLYGON(((119.5 31.9,119.6 31.9,119.6 32,119.5 31.9)))', 4326)";
    let bowtie = "ST_GeomFromText('MULTIPOLYGON(((119.5 31.9,119.6 32,119.6 31.9,119.5 32,119.5 31.9)))', 4326)";
    let refused = [
        // A grid code that does not nest in its village.
        format!("INSERT INTO grids (code, village_code, name, households, population, geom)
                 VALUES ('321181002001901', '321181001001', 'x', 1, 2, {square})"),
        // A self-intersecting ring.
        format!("INSERT INTO grids (code, village_code, name, households, population, geom)
                 VALUES ('321181001001901', '321181001001', 'x', 1, 2, {bowtie})"),
        // More households than people.
        format!("INSERT INTO grids (code, village_code, name, households, population, geom)
                 VALUES ('321181001001902', '321181001001', 'x', 5, 2, {square})"),
        // A village in a town that does not exist (checked at commit: deferred).
        format!("INSERT INTO villages (code, town_code, name, geom) VALUES ('321181999001', '321181999', 'x', {square})"),
        // A service gridmap does not know, and a point in the wrong CRS.
        "INSERT INTO stations (id, grid_code, name, services, geom) VALUES
           (9999, '321181001001001', 'x', '{karaoke}', ST_SetSRID(ST_MakePoint(119.5, 31.9), 4326))".into(),
        "INSERT INTO stations (id, grid_code, name, services, geom) VALUES
           (9999, '321181001001001', 'x', '{policy}', ST_SetSRID(ST_MakePoint(119.5, 31.9), 3857))".into(),
        // An enterprise member without a location.
        "INSERT INTO members (id, alliance_id, kind, name) VALUES (9999, 1, 'enterprise', 'x')".into(),
    ];
    let before: i64 = c
        .query_one("SELECT max(id) FROM change_log", &[])
        .unwrap()
        .get(0);
    for sql in &refused {
        assert!(c.batch_execute(sql).is_err(), "accepted: {sql}");
    }
    let after: i64 = c
        .query_one("SELECT max(id) FROM change_log", &[])
        .unwrap()
        .get(0);
    assert_eq!(before, after, "refused writes log nothing");
}

#[test]
fn writes_by_other_tools_are_logged_and_caught_up() {
    let Some((db, store)) = sample_db() else {
        return;
    };
    let before = store.load().unwrap();
    let seen = store.version().unwrap();
    let mut c = connect(&db.url);
    c.batch_execute(
        "SET application_name = 'qgis';
         UPDATE grids SET name = name || '（更正）' WHERE code IN ('321181001001001', '321181001001002');
         DELETE FROM members WHERE id = 1;",
    )
    .unwrap();
    let log: Vec<(String, String, Vec<String>, String)> = c
        .query(
            "SELECT layer, operation, keys, client FROM change_log WHERE id > $1 ORDER BY id",
            &[&(seen as i64)],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    let mut keys = log[0].2.clone();
    keys.sort();
    assert_eq!(
        (
            log[0].0.as_str(),
            log[0].1.as_str(),
            keys,
            log[0].3.as_str()
        ),
        (
            "grids",
            "update",
            vec!["321181001001001".into(), "321181001001002".into()],
            "qgis"
        )
    );
    assert_eq!(
        (log[1].0.as_str(), log[1].1.as_str(), log[1].2.clone()),
        ("members", "delete", vec!["1".into()])
    );
    let updated_at_moved: bool = c
        .query_one(
            "SELECT updated_at > now() - interval '1 minute' FROM grids WHERE code = '321181001001001'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(updated_at_moved);
    let (version, after) = store.catch_up(Some(seen), &before).unwrap().unwrap();
    assert_eq!(version, store.version().unwrap());
    assert_eq!(after, store.load().unwrap());
    assert!(after.grids[0].name.ends_with("（更正）"));
    assert_eq!(after.members.len(), before.members.len() - 1);
    // The next gridmap write brings the derived geometry the psql delete left stale up to date
    // (member 1 was a village: its alliance's footprint shrinks), and logs only that.
    let reimport = || {
        store
            .import(
                gridmap::model::LayerData::Grids(gridmap::model::unshare(&after.grids)),
                false,
                &|_, _| {},
            )
            .unwrap()
    };
    let v = store.version().unwrap();
    reimport();
    let healed: Vec<String> = c
        .query("SELECT layer FROM change_log WHERE id > $1", &[&(v as i64)])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(healed, ["alliances"]);
    assert_eq!(store.load().unwrap(), after, "no feature changed");
    // Importing the same data again changes nothing and logs nothing.
    let v = store.version().unwrap();
    reimport();
    assert_eq!(store.version().unwrap(), v);
}

/// Reads follow the change log only while the tables are the ones last read and every log trigger
/// fires ALWAYS: a log trigger left disabled, toggled, made replica-only or ordinary-only, or a
/// table replaced by a copy (as `ogr2ogr -overwrite` or a rename and a copy do), and the next
/// write and catch-up read everything, so neither acts on, nor serves, a copy that misses an
/// unlogged edit. With the triggers ALWAYS, an edit under `session_replication_role = replica` is
/// logged; migration 0008 switches an older store's triggers.
#[test]
fn writes_and_catch_ups_read_whole_when_a_table_changed_behind_the_log() {
    use gridmap::model::{Dataset, LayerData};
    use gridmap::store::Guard;
    use std::sync::Mutex;
    let Some((db, store)) = sample_db() else {
        return;
    };
    let (seen, start) = store.catch_up(None, &Dataset::default()).unwrap().unwrap();
    let code = start.grids[5].code.clone();
    let population = |d: &Dataset| d.grids.iter().find(|g| g.code == code).unwrap().population;
    // A write of another grid, through the API's path: what population the write saw.
    let write = |n: u32| {
        let saw = Mutex::new(None);
        let check = |d: &Dataset| {
            *saw.lock().unwrap() = Some(population(d));
            Ok(())
        };
        let mut other = start.grids[9].as_ref().clone();
        other.households += n;
        store
            .import_guarded(
                LayerData::Grids(vec![other]),
                &Guard {
                    check: &check,
                    audit: &[],
                },
            )
            .unwrap();
        saw.into_inner().unwrap().unwrap()
    };
    assert_eq!(write(1), start.grids[5].population, "a first write");
    // Every log trigger, of the built-in layers (migrations) and of the declared ones (made by
    // the store), fires always: four per layer, none otherwise.
    let states: Vec<(String, String)> = connect(&db.url)
        .query(
            "SELECT tgrelid::regclass::text || '.' || tgname, tgenabled::text FROM pg_trigger
              WHERE tgfoid = to_regproc('gridmap_log_changes') ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let layers = 6 + gridmap::model::declared::Declarations::shipped()
        .layers
        .len();
    assert_eq!(states.len(), 4 * layers, "{states:?}");
    assert!(states.iter().all(|(_, s)| s == "A"), "{states:?}");
    // A store from before migration 0008 (every trigger ordinary, declared tables' too) gets
    // them all switched by it.
    let mut c = connect(&db.url);
    for (trigger, _) in &states {
        let (table, name) = trigger.rsplit_once('.').unwrap();
        c.batch_execute(&format!("ALTER TABLE {table} ENABLE TRIGGER {name}"))
            .unwrap();
    }
    let always = gridmap::store::MIGRATIONS.iter().find(|m| m.version == 8);
    c.batch_execute(always.unwrap().sql).unwrap();
    let switched: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_trigger
              WHERE tgfoid = to_regproc('gridmap_log_changes') AND tgenabled = 'A'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(switched as usize, states.len());
    // A catch-up after `seen` from `base`: what it gives is what reading everything gives.
    let catch_up_whole = |seen: u64, base: &Dataset| {
        let (version, caught_up) = store.catch_up(Some(seen), base).unwrap().unwrap();
        assert!(
            caught_up == store.load().unwrap(),
            "the same as reading everything"
        );
        (version, caught_up)
    };

    // The table replaced by a copy with an edit, its triggers made again: the same columns and
    // triggers, another table.
    let triggers =
        "CREATE TRIGGER grids_log_insert AFTER INSERT ON grids REFERENCING NEW TABLE AS new_rows
           FOR EACH STATEMENT EXECUTE FUNCTION gridmap_log_changes('code');
         CREATE TRIGGER grids_log_update AFTER UPDATE ON grids REFERENCING OLD TABLE AS old_rows
           NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION gridmap_log_changes('code');
         CREATE TRIGGER grids_log_delete AFTER DELETE ON grids REFERENCING OLD TABLE AS old_rows
           FOR EACH STATEMENT EXECUTE FUNCTION gridmap_log_changes('code');
         CREATE TRIGGER grids_log_truncate AFTER TRUNCATE ON grids
           FOR EACH STATEMENT EXECUTE FUNCTION gridmap_log_changes('code');
         ALTER TABLE grids ENABLE ALWAYS TRIGGER grids_log_insert,
           ENABLE ALWAYS TRIGGER grids_log_update, ENABLE ALWAYS TRIGGER grids_log_delete,
           ENABLE ALWAYS TRIGGER grids_log_truncate;";
    c.batch_execute(&format!(
        "BEGIN;
         CREATE TABLE grids_copy (LIKE grids INCLUDING ALL);
         INSERT INTO grids_copy SELECT * FROM grids;
         UPDATE grids_copy SET population = 70000 WHERE code = '{code}';
         DROP TABLE grids CASCADE;
         ALTER TABLE grids_copy RENAME TO grids;
         {triggers}
         COMMIT;"
    ))
    .unwrap();
    assert_eq!(write(2), 70_000, "the write read the replaced table");
    let (seen, caught_up) = catch_up_whole(seen, &start);
    assert_eq!(population(&caught_up), 70_000);

    // A log trigger disabled, then an edit it does not log.
    c.batch_execute(&format!(
        "ALTER TABLE grids DISABLE TRIGGER grids_log_update;
         UPDATE grids SET population = 80000 WHERE code = '{code}';"
    ))
    .unwrap();
    assert_eq!(write(3), 80_000, "the write read the edit the log missed");
    // Updates of grids go unlogged now (the write's too): a logged edit of another layer wakes
    // the follower, whose read is whole.
    c.batch_execute("UPDATE stations SET name = name WHERE id = 1")
        .unwrap();
    let (_, caught_up) = catch_up_whole(seen, &caught_up);
    assert_eq!(population(&caught_up), 80_000);

    // The trigger enabled again: a logged edit is read.
    c.batch_execute(&format!(
        "ALTER TABLE grids ENABLE ALWAYS TRIGGER grids_log_update;
         UPDATE grids SET population = 90000 WHERE code = '{code}'"
    ))
    .unwrap();
    assert_eq!(write(4), 90_000);

    // Disabled and enabled again between two reads, an edit in between: the triggers' rows are
    // new versions, so the next read is whole.
    c.batch_execute(&format!(
        "ALTER TABLE grids DISABLE TRIGGER grids_log_update;
         UPDATE grids SET population = 95000 WHERE code = '{code}';
         ALTER TABLE grids ENABLE ALWAYS TRIGGER grids_log_update;"
    ))
    .unwrap();
    assert_eq!(
        write(5),
        95_000,
        "the write read the edit made while the trigger was off"
    );
    // Enabled for replication sessions only, it does not fire for the others.
    c.batch_execute(&format!(
        "ALTER TABLE grids ENABLE REPLICA TRIGGER grids_log_update;
         UPDATE grids SET population = 96000 WHERE code = '{code}';"
    ))
    .unwrap();
    assert_eq!(write(6), 96_000, "a replica-only trigger is not a log");

    // Enabled always again: an edit under session_replication_role = replica (a logical
    // replication worker's, a bulk load's) is logged like any other.
    let logged = |c: &mut postgres::Client| -> i64 {
        c.query_one(
            "SELECT count(*) FROM change_log WHERE layer = 'grids' AND $1 = ANY (keys)",
            &[&code],
        )
        .unwrap()
        .get(0)
    };
    c.batch_execute("ALTER TABLE grids ENABLE ALWAYS TRIGGER grids_log_update")
        .unwrap();
    assert_eq!(write(7), 96_000);
    let before = logged(&mut c);
    let in_replica_session = |c: &mut postgres::Client, population: u32| {
        c.batch_execute(&format!(
            "SET session_replication_role = replica;
             UPDATE grids SET population = {population} WHERE code = '{code}';
             RESET session_replication_role;"
        ))
        .unwrap()
    };
    in_replica_session(&mut c, 97_000);
    assert_eq!(
        logged(&mut c),
        before + 1,
        "the replica session's edit is in the log"
    );
    assert_eq!(write(8), 97_000);

    // Enabled for ordinary sessions only (`O`): a replica session's edit goes unlogged, so the
    // log is not trusted even once the fingerprint has settled (a write in between).
    c.batch_execute("ALTER TABLE grids ENABLE TRIGGER grids_log_update")
        .unwrap();
    assert_eq!(write(9), 97_000);
    in_replica_session(&mut c, 98_000);
    assert_eq!(
        logged(&mut c),
        before + 1,
        "an ordinary trigger skips the replica session"
    );
    assert_eq!(write(10), 98_000, "the write read the edit the log missed");
}

/// gridmap's answers for seeded random points against PostGIS's own: `ST_Contains` for the units
/// holding a point, and geography distances (on the spheroid) for the nearest stations.
#[test]
fn locate_and_nearest_agree_with_postgis_on_3000_random_points() {
    let Some((db, store)) = sample_db() else {
        return;
    };
    let store: std::sync::Arc<dyn Store> = std::sync::Arc::new(store);
    let state = AppState::load(store).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut c = connect(&db.url);
    let containing = c
        .prepare(
            "SELECT (SELECT array_agg(code ORDER BY code) FROM grids WHERE ST_Contains(geom, p)),
                    (SELECT array_agg(code ORDER BY code) FROM villages WHERE ST_Contains(geom, p)),
                    (SELECT array_agg(code ORDER BY code) FROM towns WHERE ST_Contains(geom, p))
             FROM ST_SetSRID(ST_MakePoint($1, $2), 4326) AS p",
        )
        .unwrap();
    // KNN on geography orders by sphere distance; take a margin of candidates and rank them by
    // the spheroid distance, as gridmap does.
    let nearest = c
        .prepare(
            "SELECT id, d FROM (
               SELECT id, ST_Distance(geom::geography, p::geography, true) AS d
               FROM stations, ST_SetSRID(ST_MakePoint($1, $2), 4326) AS p
               ORDER BY geom::geography <-> p::geography LIMIT 20) AS candidates
             ORDER BY d, id LIMIT 5",
        )
        .unwrap();
    let (mut located, mut ties) = (0, 0);
    for p in crate::differential::points(3_000) {
        let (x, y) = (p.x(), p.y());
        let row = c.query_one(&containing, &[&x, &y]).unwrap();
        let [grids, villages, towns]: [BTreeSet<String>; 3] = [0, 1, 2].map(|i| {
            row.get::<_, Option<Vec<String>>>(i)
                .unwrap_or_default()
                .into_iter()
                .collect()
        });
        let r = runtime.block_on(get(&state, &format!("/locate?lon={x}&lat={y}")));
        let code = |unit: &str| r.json[unit]["code"].as_str().map(str::to_string);
        // The grid is the one PostGIS finds (the smallest code on a shared edge)...
        assert_eq!(code("grid"), grids.first().cloned(), "grid at {x},{y}");
        // ...and village and town are its parents, or else the units PostGIS finds.
        let (village, town) = match code("grid") {
            Some(g) => (Some(g[..12].to_string()), Some(g[..9].to_string())),
            None => (villages.first().cloned(), towns.first().cloned()),
        };
        assert_eq!(code("village"), village, "village at {x},{y}");
        assert_eq!(code("town"), town, "town at {x},{y}");
        located += usize::from(code("grid").is_some());

        let expected: Vec<(i64, f64)> = c
            .query(&nearest, &[&x, &y])
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let r = runtime.block_on(get(&state, &format!("/nearest?lon={x}&lat={y}&k=5")));
        let got: Vec<(i64, f64)> = r.json["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["id"].as_i64().unwrap(),
                    f["properties"]["distance_m"].as_f64().unwrap(),
                )
            })
            .collect();
        assert_eq!(got.len(), expected.len());
        for (i, ((gid, gd), (eid, ed))) in got.iter().zip(&expected).enumerate() {
            // distance_m is rounded to the centimetre: within 1 cm of PostGIS's spheroid distance.
            assert!(
                (gd - ed).abs() <= 0.011,
                "#{i} at {x},{y}: gridmap {gd} m, PostGIS {ed} m"
            );
            if gid != eid {
                // Only a tie within 1 cm may swap two stations.
                let other = expected.iter().find(|(id, _)| id == gid).map(|(_, d)| *d);
                assert!(
                    other.is_some_and(|d| (d - ed).abs() <= 0.01),
                    "#{i} at {x},{y}: gridmap {gid} ({gd} m), PostGIS {eid} ({ed} m)"
                );
                ties += 1;
            }
        }
    }
    eprintln!("{located} of 3000 points in a grid; {ties} rank swaps within 1 cm");
    assert!(located >= 1_000, "at least 1,000 points fall inside a grid");
}

/// A database that cannot be reached is a store error of that kind, which HTTP answers 503
/// ("try again"); not a generic failure. Needs no cluster: nothing listens on port 1.
#[test]
fn an_unreachable_database_is_said_to_be_unreachable() {
    use axum::response::IntoResponse;
    let e = match PostGis::open(
        "postgres://gridmap@127.0.0.1:1/nowhere",
        gridmap::model::declared::Declarations::shipped(),
    ) {
        Ok(_) => panic!("port 1 answered as PostgreSQL"),
        Err(e) => e,
    };
    assert!(
        matches!(
            e,
            gridmap::Error::Store {
                failure: gridmap::StoreFailure::Unreachable,
                ..
            }
        ),
        "{e:?}"
    );
    let response = gridmap::http::ApiError::from(e).into_response();
    assert_eq!(response.status(), 503);
}

//! What the stores hold for other tools: the derived geometry (alliance footprints, village
//! members' points) equals what the API serves, read back by code gridmap does not share (GDAL for
//! the GeoPackage, `ST_AsGeoJSON` for PostGIS); the GeoPackage's R-tree index agrees with a
//! brute-force scan of the blobs and GDAL reports it; files and databases from the previous
//! version gain both on their first write (GeoPackage) or migration (PostGIS).

use gridmap::model::declared::Declarations;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use geo::BoundingRect;
use geo_traits::to_geo::ToGeoGeometry;
use gridmap::http::AppState;
use gridmap::model::{Layer, LayerData};
use gridmap::store::{GeoPackage, PostGis, Store};
use serde_json::Value;

use crate::common::{assert_success, get, ogrinfo};
use crate::pg::{TestDb, blocking, connect};

/// id -> GeoJSON geometry (`null` when none).
type Geometries = BTreeMap<u64, Value>;

/// What `/collections/{layer}/items` serves, by id.
fn served(store: Arc<dyn Store>, layer: Layer) -> Geometries {
    let state = AppState::load(store).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let uri = format!("/collections/{layer}/items?limit=10000");
    let reply = runtime.block_on(get(&state, &uri));
    assert_eq!(reply.status, 200, "{uri}: {}", reply.json);
    by_id(&reply.json)
}

fn by_id(collection: &Value) -> Geometries {
    collection["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["id"].as_u64().unwrap(), f["geometry"].clone()))
        .collect()
}

/// Every number of a GeoJSON coordinate array, in order.
fn flatten(coordinates: &Value, out: &mut Vec<f64>) {
    match coordinates {
        Value::Array(items) => items.iter().for_each(|v| flatten(v, out)),
        Value::Number(n) => out.push(n.as_f64().unwrap()),
        other => panic!("not a coordinate: {other}"),
    }
}

/// Every feature has a geometry in the store, of the type served and with the same coordinates
/// in the same order, each within 1e-9 degrees.
#[track_caller]
fn assert_stored_as_served(layer: Layer, stored: &Geometries, served: &Geometries) {
    assert_eq!(
        stored.keys().collect::<Vec<_>>(),
        served.keys().collect::<Vec<_>>(),
        "{layer}: the same features"
    );
    for (id, want) in served {
        let got = &stored[id];
        assert!(!want.is_null(), "{layer} {id}: the API serves a geometry");
        assert_eq!(got["type"], want["type"], "{layer} {id}");
        let (mut a, mut b) = (Vec::new(), Vec::new());
        flatten(&got["coordinates"], &mut a);
        flatten(&want["coordinates"], &mut b);
        assert_eq!(a.len(), b.len(), "{layer} {id}: coordinate count");
        let worst = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        assert!(worst <= 1e-9, "{layer} {id}: off by {worst}");
    }
}

/// The stored geometries of a GeoPackage layer as GDAL reads them.
fn gdal_geometries(path: &Path, layer: Layer) -> Geometries {
    let out = std::process::Command::new("ogr2ogr")
        .args(["-f", "GeoJSON", "/vsistdout/"])
        .arg(path)
        .args([layer.name(), "-preserve_fid"])
        .output()
        .unwrap();
    assert_success(&out);
    by_id(&serde_json::from_slice(&out.stdout).unwrap())
}

/// The stored geometries of a PostGIS layer as PostGIS writes them in GeoJSON.
fn postgis_geometries(url: &str, layer: Layer) -> Geometries {
    blocking(|| {
        connect(url)
            .query(
                &format!("SELECT id, ST_AsGeoJSON(geom, 15) FROM {layer} ORDER BY id"),
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| {
                let json: Option<String> = r.get(1);
                let geometry = json.map_or(Value::Null, |j| serde_json::from_str(&j).unwrap());
                (r.get::<_, i64>(0) as u64, geometry)
            })
            .collect()
    })
}

const DERIVED: [Layer; 2] = [Layer::Alliances, Layer::Members];

fn sample_gpkg(dir: &Path) -> (std::path::PathBuf, Arc<dyn Store>) {
    sample_gpkg_with(dir, Declarations::shipped())
}

fn sample_gpkg_with(
    dir: &Path,
    layers: &'static Declarations,
) -> (std::path::PathBuf, Arc<dyn Store>) {
    let path = dir.join("gridmap.gpkg");
    let store: Arc<dyn Store> = Arc::new(GeoPackage::open(&path, layers).unwrap());
    assert!(gridmap::sample::load_if_empty(store.as_ref()).unwrap());
    (path, store)
}

#[test]
fn the_geopackage_stores_the_geometry_the_api_serves() {
    let dir = tempfile::tempdir().unwrap();
    let (path, store) = sample_gpkg(dir.path());
    for layer in DERIVED {
        let served = served(store.clone(), layer);
        assert_stored_as_served(layer, &gdal_geometries(&path, layer), &served);
    }
    // A member leaving moves its alliance's footprint; the store follows in the same write.
    let sample = gridmap::sample::dataset().unwrap();
    let leaving = village_member_of_a_big_alliance(&sample);
    store
        .delete(Layer::Members, &[leaving.to_string()])
        .unwrap();
    for layer in DERIVED {
        let served = served(store.clone(), layer);
        assert_stored_as_served(layer, &gdal_geometries(&path, layer), &served);
    }
}

/// A village member whose alliance keeps other village members after it leaves.
fn village_member_of_a_big_alliance(d: &gridmap::model::Dataset) -> u64 {
    use gridmap::model::MemberKind::Village;
    let villages_of = |a: u64| {
        d.members
            .iter()
            .filter(|m| m.alliance_id == a && m.kind == Village)
            .count()
    };
    d.members
        .iter()
        .find(|m| m.kind == Village && villages_of(m.alliance_id) >= 3)
        .unwrap()
        .id
}

#[test]
fn postgis_stores_the_geometry_the_api_serves_after_a_load_and_after_writes() {
    let Some(db) = TestDb::create() else { return };
    let store: Arc<dyn Store> = Arc::new(PostGis::open(&db.url, Declarations::shipped()).unwrap());
    assert!(gridmap::sample::load_if_empty(store.as_ref()).unwrap());
    let nulls =
        |sql: &str| -> i64 { blocking(|| connect(&db.url).query_one(sql, &[]).unwrap().get(0)) };
    let check = |store: &Arc<dyn Store>| {
        assert_eq!(
            nulls("SELECT count(*) FROM alliances WHERE geom IS NULL"),
            0
        );
        assert_eq!(nulls("SELECT count(*) FROM members WHERE geom IS NULL"), 0);
        for layer in DERIVED {
            let served = served(store.clone(), layer);
            assert_stored_as_served(layer, &postgis_geometries(&db.url, layer), &served);
        }
    };
    check(&store);

    // A repeated import of every layer changes and logs nothing, derived columns included.
    let sample = gridmap::sample::dataset().unwrap();
    let latest = "SELECT coalesce(max(id), 0) FROM change_log";
    let before = nulls(latest);
    for layer in Layer::ALL {
        store
            .import(sample.layer(layer), false, &|_, _| {})
            .unwrap();
    }
    assert_eq!(nulls(latest), before, "nothing logged by a repeated import");
    assert_eq!(store.load().unwrap(), sample);

    // A member leaving: the footprint and the change log follow in the same transaction.
    let leaving = village_member_of_a_big_alliance(&sample);
    store
        .delete(Layer::Members, &[leaving.to_string()])
        .unwrap();
    check(&store);
    let logged: Vec<String> = blocking(|| {
        connect(&db.url)
            .query(
                "SELECT layer FROM change_log WHERE id > $1 ORDER BY id",
                &[&before],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    });
    assert_eq!(
        logged,
        ["members", "alliances"],
        "the delete, then the footprint"
    );
}

/// GDAL reports an R-tree spatial index for every layer, and the geometry types.
#[test]
fn gdal_sees_a_spatial_index_and_typed_geometry_on_every_geopackage_layer() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _store) = sample_gpkg(dir.path());
    assert_spatial_index(&path);
    let out = ogrinfo()
        .args(["-ro", "-so"])
        .arg(&path)
        .args(["alliances", "members"])
        .output()
        .unwrap();
    assert_success(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    let geometry_of = |layer: &str| {
        text.split("Layer name: ")
            .find(|block| block.starts_with(layer))
            .and_then(|block| block.lines().find_map(|l| l.strip_prefix("Geometry: ")))
            .map(str::to_string)
    };
    assert_eq!(
        geometry_of("alliances").as_deref(),
        Some("Multi Polygon"),
        "{text}"
    );
    assert_eq!(geometry_of("members").as_deref(), Some("Point"), "{text}");
}

#[track_caller]
fn assert_spatial_index(path: &Path) {
    for layer in Layer::ALL {
        let out = ogrinfo()
            .args(["-ro", "-q"])
            .arg(path)
            .args([
                "-sql",
                &format!("SELECT HasSpatialIndex('{layer}', 'geom')"),
            ])
            .output()
            .unwrap();
        assert_success(&out);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("HasSpatialIndex (Integer) = 1"),
            "{layer}: {text}"
        );
    }
}

/// The envelope of a GeoPackage blob's geometry, from its WKB (not from the header).
fn wkb_envelope(blob: &[u8]) -> [f64; 4] {
    let envelope_doubles = [0, 4, 6, 6, 8][((blob[3] >> 1) & 0b111) as usize];
    let wkb = wkb::reader::read_wkb(&blob[8 + envelope_doubles * 8..]).unwrap();
    let r = wkb.to_geometry().bounding_rect().unwrap();
    [r.min().x, r.min().y, r.max().x, r.max().y]
}

/// The R-tree holds one entry per row, each box enclosing its geometry to float precision, and a
/// box query through it finds what a scan of every blob finds.
#[test]
fn each_rtree_matches_its_table_and_answers_box_queries_like_a_scan() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _store) = sample_gpkg(dir.path());
    let conn = rusqlite::Connection::open(&path).unwrap();
    // The R*Tree stores 32-bit floats, rounded outwards: 2^-23 * 128 degrees at most.
    let slack = 1.6e-5;
    let query = [119.55, 31.85, 119.70, 31.98];
    for layer in Layer::ALL {
        let mut stmt = conn
            .prepare(&format!(
                "SELECT fid, geom FROM {layer} WHERE geom IS NOT NULL"
            ))
            .unwrap();
        let scanned: BTreeMap<i64, [f64; 4]> = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, wkb_envelope(&r.get::<_, Vec<u8>>(1)?)))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let rtree = format!("rtree_{layer}_geom");
        let mut stmt = conn
            .prepare(&format!("SELECT id, minx, miny, maxx, maxy FROM {rtree}"))
            .unwrap();
        let entries: BTreeMap<i64, [f64; 4]> = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, [r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?]))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let rows: i64 = conn
            .query_row(&format!("SELECT count(*) FROM {layer}"), [], |r| r.get(0))
            .unwrap();
        assert_eq!(entries.len() as i64, rows, "{layer}: one entry per row");
        assert_eq!(
            entries.keys().collect::<Vec<_>>(),
            scanned.keys().collect::<Vec<_>>()
        );
        for (id, e) in &entries {
            let s = scanned[id];
            assert!(
                e[0] <= s[0] && e[1] <= s[1] && e[2] >= s[2] && e[3] >= s[3],
                "{layer} {id}: {e:?} encloses {s:?}"
            );
            assert!(
                e.iter().zip(&s).all(|(a, b)| (a - b).abs() <= slack),
                "{layer} {id}"
            );
        }
        let meets = |b: &[f64; 4], grow: f64| {
            b[2] >= query[0] - grow
                && b[0] <= query[2] + grow
                && b[3] >= query[1] - grow
                && b[1] <= query[3] + grow
        };
        let mut stmt = conn
            .prepare(&format!(
                "SELECT id FROM {rtree} WHERE maxx >= ?1 AND minx <= ?3 AND maxy >= ?2 AND miny <= ?4"
            ))
            .unwrap();
        let found: Vec<i64> = stmt
            .query_map(query, |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let brute: Vec<i64> = scanned
            .iter()
            .filter(|(_, b)| meets(b, 0.0))
            .map(|(id, _)| *id)
            .collect();
        assert!(!brute.is_empty(), "{layer}: the query box meets something");
        assert!(
            brute.iter().all(|id| found.contains(id)),
            "{layer}: nothing missed"
        );
        assert!(
            found.iter().all(|id| meets(&scanned[id], slack)),
            "{layer}: extra hits only within float rounding of the box"
        );
    }
}

/// Turn a current file back into what the previous gridmap wrote: no R-tree, no extension table,
/// no alliance geometry, village members without a point, no change log.
fn downgrade(path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let triggers: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'
               AND (name LIKE 'rtree_%' OR name LIKE 'gridmap_log_%')",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for t in triggers {
        conn.execute_batch(&format!("DROP TRIGGER \"{t}\""))
            .unwrap();
    }
    for layer in Layer::ALL {
        conn.execute_batch(&format!("DROP TABLE rtree_{layer}_geom"))
            .unwrap();
    }
    conn.execute_batch(
        "DROP TABLE gpkg_extensions;
         DROP TABLE gridmap_changes;
         UPDATE members SET geom = NULL WHERE geom_derived;
         ALTER TABLE members DROP COLUMN geom_derived;
         ALTER TABLE alliances DROP COLUMN geom;
         DELETE FROM gpkg_geometry_columns WHERE table_name = 'alliances';
         UPDATE gpkg_contents SET data_type = 'attributes', srs_id = NULL, min_x = NULL,
           min_y = NULL, max_x = NULL, max_y = NULL WHERE table_name = 'alliances';",
    )
    .unwrap();
}

#[test]
fn an_old_geopackage_is_read_as_is_and_upgraded_by_its_first_write() {
    let dir = tempfile::tempdir().unwrap();
    // Files of that gridmap had no declared layers.
    let none = Declarations::none();
    let (path, store) = sample_gpkg_with(dir.path(), none);
    drop(store);
    downgrade(&path);
    let sample = gridmap::sample::dataset_for(none).unwrap();
    let rtrees = || -> i64 {
        rusqlite::Connection::open(&path)
            .unwrap()
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name IN ('rtree_towns_geom',
                   'rtree_villages_geom', 'rtree_grids_geom', 'rtree_stations_geom',
                   'rtree_alliances_geom', 'rtree_members_geom')",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    let logged = || -> bool {
        rusqlite::Connection::open(&path)
            .unwrap()
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'gridmap_changes'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .unwrap()
            == 1
    };
    assert_eq!(rtrees(), 0);
    assert!(!logged());

    // Opening and reading neither write nor count as a change.
    let store: Arc<dyn Store> = Arc::new(GeoPackage::open(&path, none).unwrap());
    let v0 = store.version().unwrap();
    assert_eq!(store.load().unwrap(), sample);
    assert_eq!(
        GeoPackage::open(&path, none).unwrap().load().unwrap(),
        sample
    );
    assert_eq!(store.version().unwrap(), v0);
    assert_eq!(rtrees(), 0, "opening does not upgrade");
    assert!(!logged(), "opening does not add the change log");

    // The first write does, in its own transaction.
    let summary = store
        .import(
            LayerData::Stations(gridmap::model::unshare(&sample.stations[..1])),
            false,
            &|_, _| {},
        )
        .unwrap();
    assert_eq!(summary.updated, 1);
    assert_eq!(rtrees(), Layer::ALL.len() as i64);
    assert!(logged(), "the first write adds the change log");
    assert_eq!(store.load().unwrap(), sample, "the data is unchanged");
    assert_spatial_index(&path);
    for layer in DERIVED {
        let served = served(store.clone(), layer);
        assert_stored_as_served(layer, &gdal_geometries(&path, layer), &served);
    }
}

#[test]
fn gridmap_migrate_upgrades_an_old_geopackage_once() {
    let dir = tempfile::tempdir().unwrap();
    let (path, store) = sample_gpkg(dir.path());
    drop(store);
    downgrade(&path);
    let out = crate::common::gridmap(&path, &["migrate"]);
    assert_success(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("schema upgraded"));
    assert_spatial_index(&path);
    let out = crate::common::gridmap(&path, &["migrate"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("schema current"));
}

/// A database at version 2 with data, as the previous gridmap left it, gets migration 3 and
/// its derived geometry on the next open, without its data changing.
#[test]
fn migration_3_stores_derived_geometry_in_a_database_at_version_2() {
    let Some(db) = TestDb::create() else { return };
    let store = PostGis::open(&db.url, Declarations::shipped()).unwrap();
    assert!(gridmap::sample::load_if_empty(&store).unwrap());
    drop(store);
    blocking(|| {
        connect(&db.url)
            .batch_execute(
                "UPDATE members SET geom = NULL WHERE geom_derived;
                 ALTER TABLE members DROP COLUMN geom_derived;
                 DROP INDEX alliances_geom_idx;
                 ALTER TABLE alliances DROP COLUMN geom;
                 DROP TABLE gridmap_accounts, gridmap_audit;
                 DROP FUNCTION gridmap_audit_append_only();
                 ALTER TABLE grids DROP COLUMN publish_contact;
                 DROP TABLE gridmap_event_photos, gridmap_event_steps, gridmap_events;
                 DROP FUNCTION gridmap_events_append_only(), gridmap_events_notify();
                 DELETE FROM gridmap_migrations WHERE version >= 3;",
            )
            .unwrap()
    });
    let store: Arc<dyn Store> = Arc::new(PostGis::open(&db.url, Declarations::shipped()).unwrap());
    let nulls: i64 = blocking(|| {
        connect(&db.url)
            .query_one(
                "SELECT (SELECT count(*) FROM alliances WHERE geom IS NULL)
                      + (SELECT count(*) FROM members WHERE geom IS NULL)",
                &[],
            )
            .unwrap()
            .get(0)
    });
    assert_eq!(nulls, 0);
    // A database at version 2 had no publish_contact: migration 5 adds it as false everywhere.
    let mut want = gridmap::sample::dataset().unwrap();
    for g in &mut want.grids {
        g.worker.published = false;
    }
    assert_eq!(store.load().unwrap(), want);
    for layer in DERIVED {
        let served = served(store.clone(), layer);
        assert_stored_as_served(layer, &postgis_geometries(&db.url, layer), &served);
    }
}

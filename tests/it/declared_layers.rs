//! Layers declared in a file, on both stores: a round trip through the CLI, the store, the
//! HTTP API, a tile and GDAL; bad rows and bad declarations refused with nothing written; a
//! changed declaration migrated only as far as it is safe.
//!
//! Every expectation is built independently of gridmap's code: the features are written here
//! as GeoJSON, placed at grids' label points (so their grid is known), and read back through
//! ogrinfo, SQL and the Python MVT decoder.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use serde_json::{Value, json};

use gridmap::http::AppState;
use gridmap::model::declared::Declarations;
use gridmap::store::{self, Store};

use crate::common::{assert_success, bin, get, ogrinfo, tile_xy};
use crate::pg::TestDb;

const WELLS: &str = r#"
[[layer]]
name = "wells"
title = "Wells (水井)"
geometry = "point"
key = "id"
zooms = [12, 18]
search = "name"
parent = "containment"
fields = [
  { name = "id", type = "integer" },
  { name = "name", type = "text", required = true },
  { name = "depth_m", type = "number" },
  { name = "potable", type = "boolean" },
  { name = "dug", type = "date" },
  { name = "kind", type = "enum", values = ["village", "farm"] },
  { name = "keeper_phone", type = "text", visibility = "personal" },
]

[[layer]]
name = "canals"
geometry = "line"
key = "code"
zooms = [10, 18]
fields = [
  { name = "code", type = "text" },
  { name = "name", type = "text" },
]
"#;

/// A store of either kind, holding the sample's built-in layers, and how to reach it.
struct Backend {
    /// What `--store` takes.
    location: String,
    /// GDAL's name for it.
    gdal: String,
    _keep: Box<dyn std::any::Any>,
}

fn gpkg() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gridmap.gpkg").display().to_string();
    Backend {
        gdal: path.clone(),
        location: path,
        _keep: Box::new(dir),
    }
}

fn postgis() -> Option<Backend> {
    let db = TestDb::create()?;
    let rest = db.url.strip_prefix("postgres://").unwrap();
    let (user, rest) = rest.split_once('@').unwrap();
    let (host_port, dbname) = rest.split_once('/').unwrap();
    let (host, port) = host_port.split_once(':').unwrap();
    Some(Backend {
        location: db.url.clone(),
        gdal: format!("PG:host={host} port={port} dbname={dbname} user={user}"),
        _keep: Box::new(db),
    })
}

/// Generates `gpkg::name` and `postgis::name` for each test `name(Backend)`.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod gpkg {
            $( #[test] fn $name() { super::$name(super::gpkg()); } )*
        }
        mod postgis {
            $( #[test] fn $name() {
                let Some(backend) = super::postgis() else { return };
                super::$name(backend);
            } )*
        }
    };
}

on_both!(
    a_declared_layer_round_trips_through_import_api_tiles_locate_export_and_gdal,
    bad_rows_name_the_feature_and_field_and_write_nothing,
    a_changed_declaration_adds_in_place_and_drops_only_when_allowed,
);

fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// `gridmap --store S --layers L ARGS...`.
fn run(b: &Backend, layers: &Path, args: &[&str]) -> Output {
    std::process::Command::new(bin())
        .arg("--store")
        .arg(&b.location)
        .arg("--layers")
        .arg(layers)
        .args(args)
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Open the store with `decls`, filling the built-in layers with the sample when empty.
fn open(b: &Backend, decls: &'static Declarations) -> Arc<dyn Store> {
    let s = store::open(&b.location, decls).unwrap();
    gridmap::sample::load_if_empty(s.as_ref()).unwrap();
    s
}

/// Five wells at the label points of five grids spread over the sample, with their grids.
fn wells() -> (Value, Vec<String>) {
    let sample = gridmap::sample::dataset().unwrap();
    let mut features = Vec::new();
    let mut grids = Vec::new();
    for (n, g) in sample.grids.iter().step_by(400).take(5).enumerate() {
        let p = gridmap::model::label_point(&g.geometry).unwrap();
        grids.push(g.code.clone());
        features.push(json!({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [p.x(), p.y()]},
            "properties": {
                "id": 100 + n, "name": format!("第{n}号井"), "depth_m": 12.5 + n as f64,
                "potable": n % 2 == 0, "dug": format!("199{n}-0{}-1{n}", n + 1),
                "kind": if n < 3 { "village" } else { "farm" },
                "keeper_phone": format!("0511-0000000{n}"),
            },
        }));
    }
    (
        json!({"type": "FeatureCollection", "features": features}),
        grids,
    )
}

fn canals() -> Value {
    json!({"type": "FeatureCollection", "features": [{
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": [[119.50, 32.03], [119.58, 31.99], [119.66, 31.94]]},
        "properties": {"code": "YH01", "name": "运河示意"},
    }]})
}

fn a_declared_layer_round_trips_through_import_api_tiles_locate_export_and_gdal(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let layers = write_file(dir.path(), "layers.toml", WELLS);
    let decls = Declarations::load(Some(&layers)).unwrap();
    drop(open(&b, decls));
    let (collection, grids) = wells();
    let file = write_file(dir.path(), "wells.geojson", &collection.to_string());
    let out = run(
        &b,
        &layers,
        &["import", "--layer", "wells", file.to_str().unwrap()],
    );
    assert_success(&out);
    assert!(
        stderr(&out).contains("wells: 5 inserted"),
        "{}",
        stderr(&out)
    );
    let canal_file = write_file(dir.path(), "canals.geojson", &canals().to_string());
    assert_success(&run(
        &b,
        &layers,
        &["import", "--layer", "canals", canal_file.to_str().unwrap()],
    ));

    // The HTTP API, from a fresh handle on the store.
    let state = AppState::load(store::open(&b.location, decls).unwrap()).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let items = get(&state, "/collections/wells/items?potable=true&limit=100").await;
        assert_eq!(items.status, 200, "{}", items.json);
        let ids: Vec<u64> = items.json["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_u64().unwrap())
            .collect();
        assert_eq!(ids, [100, 102, 104], "the wells with potable=true");
        for f in items.json["features"].as_array().unwrap() {
            let p = &f["properties"];
            assert!(p.get("keeper_phone").is_none(), "personal: {p}");
            let n = (f["id"].as_u64().unwrap() - 100) as usize;
            assert_eq!(p["grid_code"], grids[n].as_str(), "filled by containment");
            assert_eq!(p["town_code"], &grids[n][..9]);
        }
        let q = get(&state, "/collections/wells/queryables").await;
        let props = &q.json["properties"];
        assert_eq!(props["depth_m"]["type"], json!(["number", "null"]));
        assert_eq!(props["potable"]["type"], json!(["boolean", "null"]));
        assert_eq!(props["dug"]["format"], "date");
        assert_eq!(props["kind"]["enum"], json!(["village", "farm"]));
        assert!(props.get("keeper_phone").is_none());
        let bad = get(&state, "/collections/wells/items?depth_m=deep").await;
        assert_eq!(bad.status, 400, "{}", bad.json);

        // /locate: the nearest well from where one stands, and the canal's nearest point.
        let first = &collection["features"][0]["geometry"]["coordinates"];
        let (lon, lat) = (first[0].as_f64().unwrap(), first[1].as_f64().unwrap());
        let here = get(&state, &format!("/locate?lon={lon}&lat={lat}")).await;
        assert_eq!(here.json["declared"]["wells"][0]["id"], 100);
        assert!(
            here.json["declared"]["wells"][0]["distance_m"]
                .as_f64()
                .unwrap()
                < 0.01
        );
        assert_eq!(here.json["declared"]["canals"][0]["code"], "YH01");
        // The distance to the line is to its closest point, not to a vertex: brute force over
        // the line cut into 20,000 pieces, measured with geo's geodesic (Karney).
        use geo::{Distance, Geodesic};
        let line = &canals()["features"][0]["geometry"]["coordinates"];
        let at = geo::Point::new(lon, lat);
        let mut brute = f64::MAX;
        for w in line.as_array().unwrap().windows(2) {
            let (a, b) = (&w[0], &w[1]);
            for k in 0..=10_000 {
                let t = k as f64 / 10_000.0;
                let x = a[0].as_f64().unwrap() * (1.0 - t) + b[0].as_f64().unwrap() * t;
                let y = a[1].as_f64().unwrap() * (1.0 - t) + b[1].as_f64().unwrap() * t;
                brute = brute.min(Geodesic.distance(at, geo::Point::new(x, y)));
            }
        }
        let got = here.json["declared"]["canals"][0]["distance_m"]
            .as_f64()
            .unwrap();
        assert!(
            (got - brute).abs() < 2.0,
            "canal at {got} m, brute force {brute} m"
        );
        assert_eq!(here.json["grid"]["code"], grids[0].as_str());

        // /search by the declared search field.
        let found = get(&state, "/search?q=第3号井").await;
        assert_eq!(found.json["results"][0]["layer"], "wells");
        assert_eq!(found.json["results"][0]["id"], "103");

        // TileJSON names the layer and its public fields with their tile types.
        let tj = get(&state, "/tiles.json").await;
        let layer = tj.json["vector_layers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["id"] == "wells")
            .cloned()
            .unwrap();
        assert_eq!(layer["minzoom"], 12);
        assert_eq!(layer["fields"]["depth_m"], "Number");
        assert_eq!(layer["fields"]["potable"], "Boolean");
        assert!(layer["fields"].get("keeper_phone").is_none());
    });

    // A tile holding the first well, decoded by the independent decoder.
    let snap = state.index.load();
    let p = geo::Point::new(
        collection["features"][0]["geometry"]["coordinates"][0]
            .as_f64()
            .unwrap(),
        collection["features"][0]["geometry"]["coordinates"][1]
            .as_f64()
            .unwrap(),
    );
    let (x, y) = tile_xy(p, 15);
    let tiles = tempfile::tempdir().unwrap();
    let bytes = gridmap::tiles::render(
        &snap,
        gridmap::tiles::TileCoord::new(15, x, y).unwrap(),
        &gridmap::tiles::TileConfig::default(),
        None,
    )
    .unwrap();
    std::fs::write(tiles.path().join(format!("15-{x}-{y}.mvt")), bytes).unwrap();
    let decoded = crate::tiles::decode(tiles.path());
    let well = decoded[0]["layers"]["wells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == 100)
        .cloned()
        .unwrap();
    assert_eq!(well["properties"]["name"], "第0号井");
    assert_eq!(well["properties"]["depth_m"], 12.5);
    assert_eq!(well["properties"]["potable"], true);
    assert!(well["properties"].get("keeper_phone").is_none());

    // Export: every field as imported (personal too), with the parents gridmap filled.
    let out = run(
        &b,
        &layers,
        &["export", "--layer", "wells", "--with-personal"],
    );
    assert_success(&out);
    let exported: Value = serde_json::from_slice(&out.stdout).unwrap();
    let features = exported["features"].as_array().unwrap();
    assert_eq!(features.len(), 5);
    for (f, want) in features
        .iter()
        .zip(collection["features"].as_array().unwrap())
    {
        assert_eq!(f["geometry"], want["geometry"]);
        for (k, v) in want["properties"].as_object().unwrap() {
            assert_eq!(&f["properties"][k], v, "{k}");
        }
        assert!(f["properties"]["village_code"].is_string());
    }

    // GDAL sees typed columns and the features, in the store itself.
    let info = ogrinfo()
        .args(["-ro", "-so", &b.gdal, "wells", "canals"])
        .output()
        .unwrap();
    assert_success(&info);
    let text = String::from_utf8_lossy(&info.stdout);
    for want in [
        "Feature Count: 5",
        "Feature Count: 1",
        "depth_m: Real",
        "potable: Integer(Boolean)",
        "dug: Date",
        "kind: String",
        "keeper_phone: String",
        "Geometry: Point",
        "Geometry: Multi Line String",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
}

fn bad_rows_name_the_feature_and_field_and_write_nothing(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let layers = write_file(dir.path(), "layers.toml", WELLS);
    let decls = Declarations::load(Some(&layers)).unwrap();
    let s = open(&b, decls);
    let (good, _) = wells();
    let file = write_file(dir.path(), "good.geojson", &good.to_string());
    assert_success(&run(
        &b,
        &layers,
        &["import", "--layer", "wells", file.to_str().unwrap()],
    ));
    let before = s.load().unwrap();
    let cases: [(&str, Value, &[&str]); 6] = [
        ("depth_m", json!("deep"), &["102", "depth_m", "a number"]),
        ("kind", json!("river"), &["102", "kind", "village, farm"]),
        ("id", Value::Null, &["id", "missing", "required"]),
        ("name", Value::Null, &["102", "name", "required"]),
        ("colour", json!("red"), &["102", "colour", "not declared"]),
        ("dug", json!("1990-02-30"), &["102", "dug", "YYYY-MM-DD"]),
    ];
    for (field, value, words) in cases {
        let mut bad = good.clone();
        bad["features"][2]["properties"][field] = value;
        if field == "id" {
            bad["features"][2]["properties"]
                .as_object_mut()
                .unwrap()
                .remove("id");
        }
        let file = write_file(dir.path(), "bad.geojson", &bad.to_string());
        let out = run(
            &b,
            &layers,
            &[
                "import",
                "--layer",
                "wells",
                "--replace",
                file.to_str().unwrap(),
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{field}: {}", stderr(&out));
        for w in words {
            assert!(
                stderr(&out).contains(w),
                "{field}: '{w}' in {}",
                stderr(&out)
            );
        }
    }
    // Outside the county: no town contains it.
    let mut outside = good.clone();
    outside["features"][1]["geometry"]["coordinates"] = json!([121.5, 31.2]);
    let file = write_file(dir.path(), "outside.geojson", &outside.to_string());
    let out = run(
        &b,
        &layers,
        &["import", "--layer", "wells", file.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("wells 101: lies outside every town"),
        "{}",
        stderr(&out)
    );
    // An unknown layer names the choices.
    let out = run(
        &b,
        &layers,
        &["import", "--layer", "lakes", file.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("wells, canals"), "{}", stderr(&out));
    assert_eq!(s.load().unwrap(), before, "nothing was written");
}

fn a_changed_declaration_adds_in_place_and_drops_only_when_allowed(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let v1 = write_file(dir.path(), "v1.toml", WELLS);
    let s = open(&b, Declarations::load(Some(&v1)).unwrap());
    let (good, _) = wells();
    let file = write_file(dir.path(), "good.geojson", &good.to_string());
    assert_success(&run(
        &b,
        &v1,
        &["import", "--layer", "wells", file.to_str().unwrap()],
    ));
    drop(s);

    // A new optional field: added in place on the next start, the features kept.
    let with_owner = WELLS.replace(
        "  { name = \"keeper_phone\"",
        "  { name = \"owner\", type = \"text\" },\n  { name = \"keeper_phone\"",
    );
    let v2 = write_file(dir.path(), "v2.toml", &with_owner);
    let s = store::open(&b.location, Declarations::load(Some(&v2)).unwrap()).unwrap();
    let wells = s.load().unwrap().declared("wells").unwrap().clone();
    assert_eq!(wells.features.len(), 5);
    assert!(
        wells
            .features
            .iter()
            .all(|r| r.value(wells.def, "owner").is_null())
    );
    drop(s);
    let out = run(&b, &v2, &["migrate"]);
    assert_success(&out);
    assert!(stderr(&out).contains("already current"), "{}", stderr(&out));

    // Making it required while features lack it: refused, with the count.
    let required = with_owner.replace(
        "{ name = \"owner\", type = \"text\" }",
        "{ name = \"owner\", type = \"text\", required = true }",
    );
    let v3 = write_file(dir.path(), "v3.toml", &required);
    let out = run(&b, &v3, &["migrate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("5 stored feature(s) break the new rule of field 'owner'"),
        "{}",
        stderr(&out)
    );

    // Free text becoming an enumeration the stored names are not in: refused, counted.
    let enumerated = with_owner
        .replace(
            "{ name = \"name\", type = \"text\", required = true }",
            "{ name = \"name\", type = \"enum\", values = [\"甲\", \"乙\"], required = true }",
        )
        .replace("search = \"name\"\n", "");
    let v_enum = write_file(dir.path(), "v_enum.toml", &enumerated);
    let out = run(&b, &v_enum, &["migrate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("5 stored feature(s) break the new rule of field 'name'"),
        "{}",
        stderr(&out)
    );

    // A field changing type: refused whatever the flag.
    let retyped = with_owner.replace(
        "{ name = \"depth_m\", type = \"number\" }",
        "{ name = \"depth_m\", type = \"text\" }",
    );
    let v4 = write_file(dir.path(), "v4.toml", &retyped);
    let out = run(&b, &v4, &["migrate", "--allow-drop"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("field 'depth_m' changed type (number to text)"),
        "{}",
        stderr(&out)
    );

    // A field and a layer gone: refused on start, done by migrate --allow-drop.
    let fewer = with_owner
        .replace("  { name = \"depth_m\", type = \"number\" },\n", "")
        .split("[[layer]]\nname = \"canals\"")
        .next()
        .unwrap()
        .to_string();
    let v5 = write_file(dir.path(), "v5.toml", &fewer);
    let e = match store::open(&b.location, Declarations::load(Some(&v5)).unwrap()) {
        Ok(_) => panic!("a store opened with fields and layers missing"),
        Err(e) => e.to_string(),
    };
    assert!(e.contains("canals") && e.contains("--allow-drop"), "{e}");
    let out = run(&b, &v5, &["migrate", "--allow-drop"]);
    assert_success(&out);
    assert!(
        stderr(&out).contains("dropped layer canals"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("dropped wells.depth_m"),
        "{}",
        stderr(&out)
    );
    let s = store::open(&b.location, Declarations::load(Some(&v5)).unwrap()).unwrap();
    let data = s.load().unwrap();
    let wells = data.declared("wells").unwrap();
    assert_eq!(wells.features.len(), 5, "the other fields' values are kept");
    assert!(wells.def.field("depth_m").is_none());
    assert_eq!(wells.features[0].value(wells.def, "name"), "第0号井");
}

/// A bad declaration file stops every command with the file, the line and the problem.
#[test]
fn a_bad_declaration_file_is_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write_file(
        dir.path(),
        "bad.toml",
        &WELLS.replace("type = \"boolean\"", "type = \"yes-no\""),
    );
    for args in [
        &["migrate"][..],
        &["export", "--layer", "wells"],
        &["check"],
    ] {
        let out = std::process::Command::new(bin())
            .arg("--store")
            .arg(dir.path().join("g.gpkg"))
            .arg("--layers")
            .arg(&bad)
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let e = stderr(&out);
        assert!(
            e.contains(
                "bad.toml, line 14: in layer 'wells': field 'potable': type 'yes-no' is unknown"
            ),
            "{e}"
        );
        assert!(!dir.path().join("g.gpkg").exists(), "nothing created");
    }
}

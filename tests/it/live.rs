//! A running server process follows its store: an import by another process reaches its index
//! and redraws exactly the touched tiles.

use crate::common::{Server, assert_success, gridmap, http_get, sample_state, tile_etag, tile_xy};

#[test]
fn an_import_by_another_process_reaches_a_running_server_and_its_tiles() {
    let (dir, state) = sample_state();
    let store = dir.path().join("gridmap.gpkg");
    let snap = state.index.load();
    let station = snap.dataset().stations[20].as_ref().clone();
    drop(snap);
    let (x, y) = tile_xy(station.location, 14);
    let path = format!("/tiles/14/{x}/{y}.mvt");

    let server = Server::start(&store);
    let before = tile_etag(server.port, &path).expect("the tile has an ETag");
    let mut changed = station.clone();
    changed.name = "搬迁后的驿站".into();
    let file = dir.path().join("one.geojson");
    let features =
        gridmap::model::geojson::layer_features(&gridmap::model::LayerData::Stations(vec![
            changed,
        ]));
    std::fs::write(&file, gridmap::model::geojson::write_collection(&features)).unwrap();
    let out = gridmap(
        &store,
        &["import", "--layer", "stations", file.to_str().unwrap()],
    );
    assert_success(&out);

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, body) = http_get(
            server.port,
            &format!("/collections/stations/items/{}", station.id),
        );
        if body.contains("搬迁后的驿站") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the running server never saw the import"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_ne!(
        tile_etag(server.port, &path),
        Some(before),
        "the station's tile was not redrawn"
    );
}

//! Tiles over a real socket: an ETag per encoding (tiles, archive tiles, the map's files) and
//! GDAL reading the live tiles through /tiles/metadata.json.

use std::collections::BTreeMap;

use crate::common::{Server, http_raw, ogrinfo, sample_state, tile_xy};

/// Status and headers (lower-case names) of a GET with `headers`.
fn head(port: u16, path: &str, headers: &[(&str, &str)]) -> (u16, BTreeMap<String, String>) {
    let text = http_raw(port, "GET", path, headers, "");
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in lines.filter_map(|l| l.split_once(':')) {
        // Repeated fields (Vary from CORS and from us) join into one list.
        let value = headers.entry(k.trim().to_ascii_lowercase()).or_default();
        if !value.is_empty() {
            value.push_str(", ");
        }
        value.push_str(v.trim());
    }
    (status, headers)
}

/// Each encoding of `path` has its own strong ETag, and If-None-Match is compared (weakly, as
/// RFC 9110 says) with the tag of the encoding being served.
fn check_etags_per_encoding(port: u16, path: &str) {
    const GZIP: (&str, &str) = ("accept-encoding", "gzip, deflate, br");
    let (status, identity) = head(port, path, &[]);
    assert_eq!(status, 200, "{path}");
    assert!(!identity.contains_key("content-encoding"));
    let (_, gzip) = head(port, path, &[GZIP]);
    assert_eq!(gzip["content-encoding"], "gzip");
    let (plain_tag, gzip_tag) = (&identity["etag"], &gzip["etag"]);
    assert!(
        !plain_tag.starts_with("W/") && !gzip_tag.starts_with("W/"),
        "strong tags"
    );
    assert_eq!(
        *gzip_tag,
        format!("{}-gzip\"", plain_tag.trim_end_matches('"'))
    );
    assert!(
        gzip["vary"]
            .to_ascii_lowercase()
            .contains("accept-encoding"),
        "{gzip:?}"
    );

    // Holding the identity tag and asking for gzip: the gzip form, with its tag.
    let (status, h) = head(port, path, &[GZIP, ("if-none-match", plain_tag)]);
    assert_eq!(
        (status, h["etag"].as_str()),
        (200, gzip_tag.as_str()),
        "{path}"
    );
    assert_eq!(h["content-encoding"], "gzip");
    // Holding the gzip tag and asking without gzip: the identity form.
    let (status, h) = head(port, path, &[("if-none-match", gzip_tag)]);
    assert_eq!(
        (status, h["etag"].as_str()),
        (200, plain_tag.as_str()),
        "{path}"
    );
    // Each tag revalidates its own encoding, also weakly and in a list.
    let (status, h) = head(port, path, &[GZIP, ("if-none-match", gzip_tag)]);
    assert_eq!(
        (status, h["etag"].as_str()),
        (304, gzip_tag.as_str()),
        "{path}"
    );
    let (status, _) = head(port, path, &[("if-none-match", plain_tag)]);
    assert_eq!(status, 304, "{path}");
    let list = format!("\"other\", W/{gzip_tag}");
    let (status, _) = head(port, path, &[GZIP, ("if-none-match", &list)]);
    assert_eq!(status, 304, "W/ tag in a list, compared weakly: {path}");
}

#[test]
fn tiles_archive_tiles_and_map_files_have_an_etag_per_encoding() {
    let (dir, state) = sample_state();
    let station = state.index.load().dataset().stations[10].location;
    let (x, y) = tile_xy(station, 13);
    let tile = format!("/tiles/13/{x}/{y}.mvt");
    let store = dir.path().join("gridmap.gpkg");
    let live = Server::start(&store);
    check_etags_per_encoding(live.port, &tile);
    check_etags_per_encoding(live.port, "/map/js/main.js");
    check_etags_per_encoding(live.port, "/map");

    let archive = dir.path().join("a.pmtiles");
    crate::common::assert_success(&crate::common::gridmap(
        &store,
        &[
            "tiles",
            "--min-zoom",
            "13",
            "--max-zoom",
            "13",
            "--out",
            archive.to_str().unwrap(),
        ],
    ));
    let served = Server::start_with(&store, &["--tiles", archive.to_str().unwrap()]);
    check_etags_per_encoding(served.port, &tile);
}

#[test]
fn gdal_reads_the_live_tiles_through_metadata_json() {
    let (dir, state) = sample_state();
    let server = Server::start(&dir.path().join("gridmap.gpkg"));
    let snap = state.index.load();
    let (status, body) = crate::common::http_get(server.port, "/tiles/metadata.json");
    assert_eq!(status, 200, "{body}");
    let metadata: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (metadata["format"].as_str(), metadata["minzoom"].as_str()),
        (Some("pbf"), Some("0"))
    );
    assert_eq!(metadata["bounds"].as_str().unwrap().split(',').count(), 4);
    let inner: serde_json::Value =
        serde_json::from_str(metadata["json"].as_str().unwrap()).unwrap();
    let stats = inner["tilestats"]["layers"].as_array().unwrap();
    let count = |name: &str| stats.iter().find(|l| l["layer"] == name).unwrap()["count"].clone();
    assert_eq!(count("grids"), snap.dataset().grids.len());
    assert_eq!(count("stations"), snap.dataset().stations.len());
    assert_eq!(
        inner["vector_layers"].as_array().unwrap().len(),
        stats.len()
    );

    // Debian's GDAL 3.6: `MVT:/vsicurl/<base>/tiles/<zoom>` fetches <base>/tiles/metadata.json,
    // then the tiles of that zoom over the bounds, as <base>/tiles/z/x/y.pbf.
    let source = format!("MVT:/vsicurl/{}/tiles/14", server.url());
    let out = ogrinfo().args(["-ro", "-so", &source]).output().unwrap();
    crate::common::assert_success(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    for l in stats {
        let name = l["layer"].as_str().unwrap();
        let kind = match crate::archive::gdal_type(name) {
            "MultiPoint" => "Multi Point",
            _ => "Multi Polygon",
        };
        assert!(
            text.contains(&format!(": {name} ({kind})")),
            "{name}: {text}"
        );
    }
    let out = ogrinfo()
        .args(["-ro", "-q", &source, "stations"])
        .output()
        .unwrap();
    crate::common::assert_success(&out);
    let features = String::from_utf8_lossy(&out.stdout)
        .matches("OGRFeature(stations)")
        .count();
    assert_eq!(features, snap.dataset().stations.len());

    // pyogrio's GDAL (3.12) the same way: typed layers, features read.
    let gdal = crate::archive::gdal_read(&source, &["stations", "villages"]);
    for (name, kind) in gdal["layers"].as_object().unwrap() {
        assert_eq!(kind, crate::archive::gdal_type(name), "{name}");
    }
    assert_eq!(
        gdal["read"]["stations"]["features"],
        snap.dataset().stations.len()
    );
    let villages = gdal["read"]["villages"]["geometries"].as_object().unwrap();
    assert_eq!(
        villages.keys().collect::<Vec<_>>(),
        ["MultiPolygon"],
        "{gdal}"
    );
}

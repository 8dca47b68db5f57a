//! The one-map web page: `GET /map` and its assets, all embedded in the binary (the page and
//! MapLibre GL JS, vendored from npm under `web/vendor`), so an intranet without internet
//! access gets the whole map from gridmap alone. Assets are gzipped once on first request and
//! revalidated by ETag.

use std::sync::OnceLock;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use flate2::Compression;
use serde_json::{Value, json};

use super::encoding::{accepts_gzip, none_match};
use super::{ApiError, AppState, BaseUrl};
use crate::analysis::coverage::{DEFAULT_RADIUS_M, MAX_RADIUS_M, MIN_RADIUS_M};

/// One embedded file of the page.
struct Asset {
    /// The path under `/map/` (`""` is the page itself).
    path: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $content_type:expr, $file:literal) => {
        Asset {
            path: $path,
            content_type: $content_type,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/web/", $file)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

static ASSETS: &[Asset] = &[
    asset!("", "text/html; charset=utf-8", "map.html"),
    asset!("map.css", CSS, "map.css"),
    asset!("js/main.js", JS, "js/main.js"),
    asset!("js/style.js", JS, "js/style.js"),
    asset!("js/panels.js", JS, "js/panels.js"),
    asset!("js/tools.js", JS, "js/tools.js"),
    asset!("js/account.js", JS, "js/account.js"),
    asset!("js/events.js", JS, "js/events.js"),
    asset!("js/stats.js", JS, "js/stats.js"),
    asset!("js/impact.js", JS, "js/impact.js"),
    asset!("js/charts.js", JS, "js/charts.js"),
    asset!("js/screen.js", JS, "js/screen.js"),
    asset!("js/crs.js", JS, "js/crs.js"),
    asset!(
        "vendor/maplibre-gl.js",
        JS,
        "vendor/maplibre-gl/maplibre-gl.js"
    ),
    asset!(
        "vendor/maplibre-gl.css",
        CSS,
        "vendor/maplibre-gl/maplibre-gl.css"
    ),
    asset!(
        "vendor/LICENSE.txt",
        "text/plain; charset=utf-8",
        "vendor/maplibre-gl/LICENSE.txt"
    ),
];

/// The gzipped bytes and the ETags of each asset (one per encoding), made on first use.
struct Encoded {
    /// `None` if compressing failed (logged): the identity form is served.
    gzip: Option<Vec<u8>>,
    etag: String,
    etag_gzip: String,
}

fn encoded(i: usize) -> &'static Encoded {
    static ENCODED: OnceLock<Vec<OnceLock<Encoded>>> = OnceLock::new();
    let all = ENCODED.get_or_init(|| ASSETS.iter().map(|_| OnceLock::new()).collect());
    all[i].get_or_init(|| {
        let bytes = ASSETS[i].bytes;
        let gzip = crate::tiles::cache::gzip(bytes, Compression::best());
        let (etag, etag_gzip) = crate::tiles::cache::etags(bytes);
        Encoded {
            gzip,
            etag,
            etag_gzip,
        }
    })
}

/// GET /map
pub async fn page(headers: HeaderMap) -> Response {
    serve(0, &headers)
}

/// GET /map/{*path}
pub async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Result<Response, ApiError> {
    match ASSETS
        .iter()
        .position(|a| !a.path.is_empty() && a.path == path)
    {
        Some(i) => Ok(serve(i, &headers)),
        None => Err(ApiError::NotFound(format!(
            "/map/{path} is not part of the map page; open /map"
        ))),
    }
}

fn serve(i: usize, headers: &HeaderMap) -> Response {
    let asset = &ASSETS[i];
    let encoded = encoded(i);
    let gzipped = encoded.gzip.as_ref().filter(|_| accepts_gzip(headers));
    let gzip = gzipped.is_some();
    let etag = if gzip {
        &encoded.etag_gzip
    } else {
        &encoded.etag
    };
    let common = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        ),
        (
            header::ETAG,
            HeaderValue::from_str(etag).unwrap_or(HeaderValue::from_static("\"\"")),
        ),
        // Revalidate every time: a new binary must not leave an old page in the browser.
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (header::VARY, HeaderValue::from_static("accept-encoding")),
    ];
    if none_match(headers, etag) {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    if let Some(bytes) = gzipped {
        let gzip = [(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"))];
        (common, gzip, bytes.clone()).into_response()
    } else {
        (common, asset.bytes).into_response()
    }
}

/// True when a request for `/` comes from a browser: it lists `text/html` before any JSON type
/// (and `?f=` does not ask for JSON). OGC clients ask for JSON or send no Accept at all.
pub fn wants_html(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let position = |needle: &str| accept.find(needle);
    match (position("text/html"), position("json")) {
        (Some(html), Some(json)) => html < json,
        (Some(_), None) => true,
        _ => false,
    }
}

/// An optional basemap drawn under gridmap's layers (none by default: the page must work offline).
#[derive(Clone, Debug, PartialEq)]
pub enum Basemap {
    /// An XYZ raster tile URL template with `{z}`, `{x}` and `{y}` (Tianditu, a local tile server).
    Raster { url: String, attribution: String },
    /// A MapLibre style document URL; gridmap's layers are added on top of it.
    Style { url: String },
}

impl Basemap {
    /// A URL containing `{z}` is a raster template; anything else a style URL.
    pub fn parse(url: &str, attribution: Option<String>) -> Result<Basemap, String> {
        let on_this_server = url.starts_with('/') && !url.starts_with("//");
        if !(url.starts_with("http://") || url.starts_with("https://") || on_this_server) {
            return Err(format!(
                "--basemap must be an http(s) URL or a path on this server (one leading /, \
                 resolved against the public URL), got '{url}'"
            ));
        }
        if url.contains("{z}") {
            if !(url.contains("{x}") && url.contains("{y}")) {
                return Err(format!(
                    "--basemap raster template needs {{z}}, {{x}} and {{y}}, got '{url}'"
                ));
            }
            return Ok(Basemap::Raster {
                url: url.to_owned(),
                attribution: attribution.unwrap_or_default(),
            });
        }
        Ok(Basemap::Style {
            url: url.to_owned(),
        })
    }
}

/// GET /map/config.json: what the page needs besides /tiles.json. A basemap on this server
/// (`--basemap /basemap/{z}/{x}/{y}.png`) is named by its public URL, as every other link is.
pub async fn config(State(state): State<AppState>, base: BaseUrl) -> Json<Value> {
    let absolute = |url: &str| {
        if url.starts_with('/') {
            base.join(url)
        } else {
            url.to_owned()
        }
    };
    let basemap = match state.basemap.as_deref() {
        None => Value::Null,
        Some(Basemap::Raster { url, attribution }) => {
            json!({"type": "raster", "tiles": [absolute(url)], "attribution": attribution})
        }
        Some(Basemap::Style { url }) => json!({"type": "style", "url": absolute(url)}),
    };
    // The declared layers, for the switcher, the legend and the popups.
    let declared: Vec<Value> = state
        .index
        .load()
        .dataset()
        .declared
        .iter()
        .map(|d| {
            json!({
                "id": d.def.name,
                "title": d.def.title,
                "key": d.def.key,
                // Features that exist only for accounts whose area holds them.
                "staff": d.def.staff_only(),
                "geometry": d.def.geometry.name(),
                "minzoom": d.def.zooms.0,
                "maxzoom": d.def.zooms.1,
                "label": d.def.search,
                "fields": d.def.public_fields().map(|f| json!({"name": f.name, "description": f.description})).collect::<Vec<_>>(),
            })
        })
        .collect();
    Json(json!({
        "basemap": basemap,
        // The datum the page draws (its tile set) and asks every endpoint in.
        "crs": state.basemap_crs.name(),
        "declared": declared,
        "coverage": {
            "default_radius_m": DEFAULT_RADIUS_M,
            "min_radius_m": MIN_RADIUS_M,
            "max_radius_m": MAX_RADIUS_M,
        },
        // What the report form offers.
        "events": {
            "categories": state.events.categories().all().iter()
                .map(|c| json!({"id": c.id, "label": c.label}))
                .collect::<Vec<_>>(),
            "severities": crate::events::Severity::ALL.map(crate::events::Severity::name),
        },
        "maplibre_version": include_str!("../../web/vendor/maplibre-gl/VERSION").trim(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn browsers_get_html_and_ogc_clients_json() {
        let chromium =
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";
        assert!(wants_html(&accept(chromium)));
        assert!(!wants_html(&accept("application/json")));
        assert!(!wants_html(&accept("application/json, text/html;q=0.5")));
        assert!(!wants_html(&accept("*/*")));
        assert!(!wants_html(&HeaderMap::new()));
    }

    #[test]
    fn every_asset_gzips_back_to_itself() {
        for (i, asset) in ASSETS.iter().enumerate() {
            let mut out = Vec::new();
            std::io::Read::read_to_end(
                &mut flate2::read::GzDecoder::new(&encoded(i).gzip.as_ref().unwrap()[..]),
                &mut out,
            )
            .unwrap();
            assert_eq!(out, asset.bytes, "{}", asset.path);
        }
    }

    #[test]
    fn basemap_urls() {
        let t =
            "https://t0.tianditu.gov.cn/vec_w/wmts?tk=KEY&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}";
        assert!(matches!(
            Basemap::parse(t, None),
            Ok(Basemap::Raster { .. })
        ));
        assert!(matches!(
            Basemap::parse("https://example.org/style.json", None),
            Ok(Basemap::Style { .. })
        ));
        assert!(Basemap::parse("ftp://x/{z}/{x}/{y}", None).is_err());
        assert!(Basemap::parse("//tiles.example.org/{z}/{x}/{y}.png", None).is_err());
        assert!(Basemap::parse("/basemap/{z}/{x}/{y}.png", None).is_ok());
        assert!(Basemap::parse("https://x/{z}/{x}.png", None).is_err());
    }
}

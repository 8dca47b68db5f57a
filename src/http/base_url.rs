//! The one way to build absolute URLs for links (landing page, collections, items and their
//! `next` pages, `Location`, TileJSON, the OpenAPI `servers`): GDAL, QGIS and OWSLib follow them,
//! so behind a reverse proxy they must name the proxy, not the socket gridmap listens on.
//!
//! In order: `--public-url` when set; else what the proxy says (`Forwarded: proto=…;host=…`,
//! RFC 7239, then `X-Forwarded-Proto`, `X-Forwarded-Host` and `X-Forwarded-Prefix`); else the
//! request's `Host`. A header value that is not a plausible scheme, host or path is ignored
//! rather than copied into links.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

use super::AppState;

/// `scheme://host[:port][/prefix]`, without a trailing slash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseUrl(pub String);

impl BaseUrl {
    /// This base joined with an absolute path (`/collections`).
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }

    /// The base for a request with `headers`, on a server configured with `public_url`.
    pub fn resolve(public_url: Option<&str>, headers: &HeaderMap) -> BaseUrl {
        if let Some(url) = public_url {
            return BaseUrl(url.trim_end_matches('/').to_string());
        }
        let forwarded = forwarded_pairs(headers);
        let from_forwarded = |key: &str| {
            forwarded
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.clone())
        };
        let proto = from_forwarded("proto")
            .or_else(|| first_value(headers, "x-forwarded-proto"))
            .map(|p| p.to_ascii_lowercase())
            .filter(|p| p == "http" || p == "https")
            .unwrap_or_else(|| "http".to_string());
        let host = from_forwarded("host")
            .or_else(|| first_value(headers, "x-forwarded-host"))
            .filter(|h| is_host(h))
            .or_else(|| {
                headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .map(str::to_string)
                    .filter(|h| is_host(h))
            })
            .unwrap_or_else(|| "localhost".to_string());
        let prefix = first_value(headers, "x-forwarded-prefix")
            .map(|p| p.trim_end_matches('/').to_string())
            .filter(|p| p.is_empty() || is_path(p))
            .unwrap_or_default();
        BaseUrl(format!("{proto}://{host}{prefix}"))
    }
}

impl FromRequestParts<AppState> for BaseUrl {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        Ok(BaseUrl::resolve(
            state.public_url.as_deref(),
            &parts.headers,
        ))
    }
}

/// The first comma-separated value of a header (proxies append theirs to a list).
fn first_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let raw = headers.get(name)?.to_str().ok()?;
    let first = raw.split(',').next()?.trim();
    (!first.is_empty()).then(|| first.to_string())
}

/// The `key=value` pairs of the first element of `Forwarded` (the proxy nearest the client),
/// with quoted values unquoted.
fn forwarded_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    let Some(raw) = headers.get("forwarded").and_then(|h| h.to_str().ok()) else {
        return Vec::new();
    };
    let first = raw.split(',').next().unwrap_or("");
    first
        .split(';')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            Some((k.trim().to_string(), v.to_string()))
        })
        .collect()
}

/// A host name, IPv4 or bracketed IPv6 address, with an optional port: nothing that could end
/// the authority or inject into a link.
fn is_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:[]".contains(&b))
}

/// An absolute path of plain segments (`/gridmap`, `/gis/v1`).
fn is_path(p: &str) -> bool {
    p.starts_with('/')
        && !p.contains("//")
        && !p.split('/').any(|s| s == "..")
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-._~%".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn base(public_url: Option<&str>, pairs: &[(&'static str, &str)]) -> String {
        BaseUrl::resolve(public_url, &headers(pairs)).0
    }

    #[test]
    fn the_host_header_is_the_default() {
        assert_eq!(
            base(None, &[("host", "127.0.0.1:8080")]),
            "http://127.0.0.1:8080"
        );
        assert_eq!(base(None, &[]), "http://localhost");
    }

    #[test]
    fn public_url_wins_over_every_header() {
        let pairs = [
            ("host", "127.0.0.1:8080"),
            ("x-forwarded-proto", "http"),
            ("forwarded", "host=evil.example"),
        ];
        assert_eq!(
            base(Some("https://gis.example.org/gridmap/"), &pairs),
            "https://gis.example.org/gridmap"
        );
    }

    #[test]
    fn x_forwarded_headers_give_scheme_host_and_prefix() {
        let pairs = [
            ("host", "127.0.0.1:8080"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "gis.example.org, 10.0.0.1"),
            ("x-forwarded-prefix", "/gridmap/"),
        ];
        assert_eq!(base(None, &pairs), "https://gis.example.org/gridmap");
    }

    #[test]
    fn forwarded_is_read_before_x_forwarded() {
        let pairs = [
            ("host", "127.0.0.1:8080"),
            (
                "forwarded",
                "for=192.0.2.60;proto=https;host=\"map.example.cn:8443\", for=10.0.0.2",
            ),
            ("x-forwarded-proto", "http"),
            ("x-forwarded-prefix", "/gis"),
        ];
        assert_eq!(base(None, &pairs), "https://map.example.cn:8443/gis");
    }

    #[test]
    fn implausible_values_are_ignored_not_copied_into_links() {
        let pairs = [
            ("host", "127.0.0.1:8080"),
            ("x-forwarded-proto", "javascript"),
            ("x-forwarded-host", "evil.example/path?x"),
            ("x-forwarded-prefix", "/../admin"),
        ];
        assert_eq!(base(None, &pairs), "http://127.0.0.1:8080");
        let pairs = [("host", "a b"), ("x-forwarded-prefix", "nope")];
        assert_eq!(base(None, &pairs), "http://localhost");
    }
}

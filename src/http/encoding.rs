//! Conditional GET and gzip for what gridmap serves ready-made in two encodings (tiles and the web
//! map's files): one strong ETag per encoding, and If-None-Match compared as RFC 9110 says.
//!
//! The gzip form of a resource is a different representation with different bytes, so it gets a
//! tag of its own (`tiles::cache::etags`): a cache holding one encoding never answers a client
//! asking for the other with it (RFC 9110 §8.8.3: a strong validator changes with the content
//! coding).

use axum::http::{HeaderMap, header};

/// For the front layer's compression: leave alone a response that names its own validator (an
/// ETag is per encoding here; tiles and the map's files choose theirs, and their gzip form, themselves).
#[derive(Clone, Copy, Debug)]
pub struct NotTagged;

impl tower_http::compression::Predicate for NotTagged {
    fn should_compress<B>(&self, response: &axum::http::Response<B>) -> bool
    where
        B: axum::body::HttpBody,
    {
        !response.headers().contains_key(header::ETAG)
    }
}

/// Whether the client accepts gzip: `gzip` or `x-gzip` listed without `q=0`.
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            ["gzip", "x-gzip"]
                .iter()
                .any(|g| name.eq_ignore_ascii_case(g))
                && !refused
        })
}

/// Whether `If-None-Match` matches `etag`, the tag of the representation about to be served: `*`,
/// or any listed tag equal to it under the weak comparison RFC 9110 §13.1.2 prescribes for
/// If-None-Match (`W/"x"` matches `"x"`). Absent or unreadable: no match.
pub fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_string();
    let wanted = opaque(etag);
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == "*" || opaque(t) == wanted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(name: header::HeaderName, value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_static(value));
        h
    }

    #[test]
    fn if_none_match_compares_weakly_and_only_with_the_served_tag() {
        let h = with(header::IF_NONE_MATCH, "\"a\", W/\"b\"");
        assert!(none_match(&h, "\"a\""));
        assert!(none_match(&h, "\"b\""), "W/\"b\" matches \"b\" weakly");
        assert!(
            !none_match(&h, "\"a-gzip\""),
            "the identity tag does not match the gzip form"
        );
        assert!(none_match(&with(header::IF_NONE_MATCH, "*"), "\"z\""));
        assert!(!none_match(&HeaderMap::new(), "\"a\""));
    }

    /// The router's compression layer leaves tagged answers (tiles, the map's files, even when
    /// their own gzip form is missing) alone, and compresses the rest.
    #[test]
    fn only_untagged_answers_are_compressed_by_the_router() {
        use tower_http::compression::Predicate;
        let mut tagged = axum::http::Response::new(axum::body::Body::from("x".repeat(100)));
        tagged
            .headers_mut()
            .insert(header::ETAG, HeaderValue::from_static("\"a-64\""));
        assert!(!NotTagged.should_compress(&tagged));
        let plain = axum::http::Response::new(axum::body::Body::from("x".repeat(100)));
        assert!(NotTagged.should_compress(&plain));
    }

    #[test]
    fn gzip_only_when_accepted() {
        assert!(!accepts_gzip(&HeaderMap::new()));
        assert!(accepts_gzip(&with(
            header::ACCEPT_ENCODING,
            "gzip, deflate, br"
        )));
        assert!(accepts_gzip(&with(
            header::ACCEPT_ENCODING,
            "br;q=1.0, GZIP;q=0.5"
        )));
        assert!(!accepts_gzip(&with(
            header::ACCEPT_ENCODING,
            "br, gzip;q=0"
        )));
        assert!(!accepts_gzip(&with(
            header::ACCEPT_ENCODING,
            "gzip;q=0.000"
        )));
        assert!(!accepts_gzip(&with(header::ACCEPT_ENCODING, "gzipped")));
    }
}

//! A request id on every request: the client's `X-Request-Id` when it sent a sane one (a proxy's,
//! so one id follows a request through both logs), else one of ours. It is on the request's log
//! span, so every line logged while serving it carries it, and in the answer's `X-Request-Id`.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Ids of this process: a random prefix (so two servers' ids differ) and a counter.
struct Ids {
    prefix: u32,
    next: AtomicU64,
}

fn ids() -> &'static Ids {
    static IDS: std::sync::OnceLock<Ids> = std::sync::OnceLock::new();
    IDS.get_or_init(|| {
        let mut bytes = [0u8; 4];
        let _ = getrandom::fill(&mut bytes);
        Ids {
            prefix: u32::from_le_bytes(bytes),
            next: AtomicU64::new(1),
        }
    })
}

/// A client's id is kept when it is 1-64 characters of letters, digits and `-_.:`.
fn acceptable(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    (1..=64).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
}

/// Give `request` its id (kept in its `X-Request-Id` header, where the log span reads it); the
/// id, for the answer.
pub fn assign(request: &mut Request) -> HeaderValue {
    let id = match request.headers().get(X_REQUEST_ID) {
        Some(v) if acceptable(v) => return v.clone(),
        _ => {
            let ids = ids();
            let n = ids.next.fetch_add(1, Ordering::Relaxed);
            HeaderValue::from_str(&format!("{:08x}-{n:x}", ids.prefix))
                .expect("hex digits are a header value")
        }
    };
    request.headers_mut().insert(X_REQUEST_ID, id.clone());
    id
}

/// The log span of a request (made by the front layer): its id, method and URI.
pub fn span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    let id = request
        .headers()
        .get(X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        id = %id,
        method = %request.method(),
        uri = %request.uri(),
        version = ?request.version(),
    )
}

/// `tokio::task::spawn_blocking` with the work run inside the caller's log span, so what it logs
/// (a write's catch-up, a store failure) carries the request id as the handler's own lines do.
pub fn blocking<F, T>(work: F) -> tokio::task::JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(work))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clients_id_is_kept_only_when_short_and_plain() {
        assert!(acceptable(&HeaderValue::from_static("abc-123_x.y:z")));
        assert!(!acceptable(&HeaderValue::from_static("")));
        assert!(!acceptable(&HeaderValue::from_static("has space")));
        assert!(!acceptable(
            &HeaderValue::from_str(&"a".repeat(65)).unwrap()
        ));
    }
}

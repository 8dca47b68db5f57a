//! What keeps one client, or too many, from taking the server down: a body limit, a time limit
//! and caps on requests in flight (load shedding), all answered in the JSON error shape.
//!
//! Beyond the cap a request is refused at once (503 with `Retry-After`) rather than queued, so an
//! overload slows nobody already being served. Heavy endpoints (coverage, siting, statistics,
//! impact) have a cap of their own, so a burst of them cannot starve tiles and `/locate`. The
//! health and metrics endpoints are never shed (an operator must see the overload), and the event
//! stream, which stays open for as long as a screen watches, has neither cap nor time limit.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::time::Duration;

use axum::extract::Request;
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};

use tracing::Instrument;

use super::error::ApiError;
use super::metrics::Metrics;

/// The limits `gridmap serve` was started with.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// A request body over this is refused with 413 (`--max-body-mb`).
    pub max_body_bytes: usize,
    /// A request not answered within this is answered 503 (`--request-timeout-s`).
    pub request_timeout: Duration,
    /// Requests served at once; more are refused with 503 (`--max-in-flight`).
    pub max_in_flight: usize,
    /// Heavy requests served at once, within `max_in_flight` (`--max-heavy`).
    pub max_heavy: usize,
}

impl Default for Limits {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Limits {
            max_body_bytes: 10 << 20,
            request_timeout: Duration::from_secs(60),
            max_in_flight: 512,
            max_heavy: cores.max(2),
        }
    }
}

/// How a route is limited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Tiles, features, `/locate`, writes: the common cap and the time limit.
    Light,
    /// Whole-city computations: their own cap as well.
    Heavy,
    /// `/health` and `/metrics`: never shed, but time-limited.
    Ops,
    /// `/events/stream`: open for as long as a client watches; neither cap nor time limit.
    Stream,
}

impl Class {
    /// The class of a request to `route` (the matched path template).
    pub fn of(method: &Method, route: &str) -> Class {
        match route {
            "/health" | "/metrics" => Class::Ops,
            "/events/stream" => Class::Stream,
            "/coverage" | "/coverage/gaps" | "/coverage/suggest" | "/stats" | "/stats/trend"
            | "/audit" => Class::Heavy,
            "/impact" if method == Method::POST => Class::Heavy,
            _ => Class::Light,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Class::Light => "light",
            Class::Heavy => "heavy",
            Class::Ops => "ops",
            Class::Stream => "stream",
        }
    }
}

/// The limits and the counts in flight they are held to (one per server). Counts, not a
/// semaphore: nobody waits for a permit, so an atomic add and a check are all a request pays.
#[derive(Debug)]
pub struct Gate {
    pub limits: Limits,
    all: AtomicUsize,
    heavy: AtomicUsize,
}

/// A request's places within the caps, given back when dropped: when its handler has produced
/// the answer's head (a streamed body may still be going out), or, for one answered because it
/// took too long, when its handler is done or dropped.
#[derive(Debug)]
pub struct Admitted {
    gate: Arc<Gate>,
    class: Class,
    all: bool,
    heavy: bool,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        if self.all {
            self.gate.all.fetch_sub(1, Ordering::AcqRel);
        }
        if self.heavy {
            self.gate.heavy.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// A place within `cap` on `count`, or none when it is full.
fn take(count: &AtomicUsize, cap: usize) -> bool {
    count
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < cap).then_some(n + 1)
        })
        .is_ok()
}

impl Gate {
    pub fn new(limits: Limits) -> Gate {
        Gate {
            all: AtomicUsize::new(0),
            heavy: AtomicUsize::new(0),
            limits,
        }
    }

    /// Requests being served now, within the common cap.
    pub fn in_flight(&self) -> usize {
        self.all
            .load(Ordering::Acquire)
            .min(self.limits.max_in_flight)
    }

    /// Heavy requests being served now.
    pub fn heavy_in_flight(&self) -> usize {
        self.heavy
            .load(Ordering::Acquire)
            .min(self.limits.max_heavy)
    }

    /// Places for one request of `class`, or the refusal when its cap is reached.
    fn admit(self: &Arc<Self>, class: Class) -> Result<Admitted, ApiError> {
        // Built first, so that a place taken is given back by `drop` when the next is refused.
        let mut admitted = Admitted {
            gate: self.clone(),
            class,
            all: false,
            heavy: false,
        };
        if matches!(class, Class::Light | Class::Heavy) {
            admitted.all = take(&self.all, self.limits.max_in_flight);
            if !admitted.all {
                return Err(ApiError::Busy(format!(
                    "the server is serving its limit of {} requests at once (--max-in-flight); try again in a second",
                    self.limits.max_in_flight
                )));
            }
        }
        if class == Class::Heavy {
            admitted.heavy = take(&self.heavy, self.limits.max_heavy);
            if !admitted.heavy {
                return Err(ApiError::Busy(format!(
                    "the server is computing its limit of {} whole-area answers (coverage, statistics, impact) at once (--max-heavy); try again in a second, or ask for a smaller area",
                    self.limits.max_heavy
                )));
            }
        }
        Ok(admitted)
    }
}

impl Default for Gate {
    fn default() -> Self {
        Gate::new(Limits::default())
    }
}

/// Check a request before its handler is called: a body declared over the limit is refused
/// (413), and a request beyond its caps is shed (503, counted).
pub fn admit(
    gate: &Arc<Gate>,
    metrics: &Metrics,
    route: &str,
    request: &Request,
) -> Result<Admitted, ApiError> {
    if let Some(length) = declared_length(request)
        && length > gate.limits.max_body_bytes as u64
    {
        return Err(ApiError::TooLarge(format!(
            "body: {length} bytes, over this server's limit of {} bytes (--max-body-mb); send less (one feature, a simpler polygon, a smaller photo)",
            gate.limits.max_body_bytes
        )));
    }
    let class = Class::of(request.method(), route);
    gate.admit(class).inspect_err(|_| metrics.shed(class))
}

/// An admitted request's handler, run under the time limit: answered 503 when it takes longer.
pub async fn run(
    metrics: &Metrics,
    route: &str,
    admitted: Admitted,
    mut handler: Pin<Box<dyn Future<Output = Response> + Send>>,
) -> Response {
    if admitted.class == Class::Stream {
        return handler.await;
    }
    // Most answers (a cached tile, /locate) are ready at the first poll: only a handler that
    // waits is put under a timer.
    let first = std::future::poll_fn(|cx| Poll::Ready(handler.as_mut().poll(cx))).await;
    if let Poll::Ready(response) = first {
        return response;
    }
    let limit = admitted.gate.limits.request_timeout;
    match tokio::time::timeout(limit, handler.as_mut()).await {
        Ok(response) => response,
        Err(_) => {
            metrics.timed_out(route);
            // The client is answered now, but the handler is left one more time limit to finish
            // (a write half way through its commit, a blocking computation that cannot be
            // stopped) and keeps its places within the caps meanwhile, so timeouts cannot pile
            // work up past them; a handler still waiting after that (for a body that never
            // comes) is dropped, and its connection with it.
            // In the request's span, so what it logs later still carries the id its client got.
            tokio::spawn(
                async move {
                    let _ = tokio::time::timeout(limit, handler).await;
                    drop(admitted);
                }
                .in_current_span(),
            );
            ApiError::TimedOut(format!(
                "not answered within this server's limit of {} s (--request-timeout-s): ask for less (a smaller bbox, area or limit); a write may or may not have been committed, so read it (its ETag) before sending it again",
                limit.as_secs_f64()
            ))
            .into_response()
        }
    }
}

/// The `Content-Length` a request declares, if any.
fn declared_length(request: &Request) -> Option<u64> {
    request
        .headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_area_computations_are_heavy_and_the_stream_is_unlimited() {
        assert_eq!(Class::of(&Method::GET, "/coverage/gaps"), Class::Heavy);
        assert_eq!(Class::of(&Method::POST, "/impact"), Class::Heavy);
        assert_eq!(Class::of(&Method::GET, "/tiles/{z}/{x}/{y}"), Class::Light);
        assert_eq!(Class::of(&Method::GET, "/events/stream"), Class::Stream);
        assert_eq!(Class::of(&Method::GET, "/metrics"), Class::Ops);
        assert_eq!(Class::of(&Method::GET, "unmatched"), Class::Light);
    }

    #[test]
    fn a_cap_of_one_heavy_request_refuses_the_second_and_frees_on_drop() {
        let gate = Arc::new(Gate::new(Limits {
            max_heavy: 1,
            max_in_flight: 3,
            ..Limits::default()
        }));
        let first = gate.admit(Class::Heavy).unwrap();
        assert!(matches!(gate.admit(Class::Heavy), Err(ApiError::Busy(_))));
        // The refused one gave back the common place it had taken.
        assert_eq!(gate.in_flight(), 1);
        // Light requests still pass; the common cap counts the heavy one.
        let light = gate.admit(Class::Light).unwrap();
        assert_eq!(gate.in_flight(), 2);
        let _third = gate.admit(Class::Light).unwrap();
        assert!(matches!(gate.admit(Class::Light), Err(ApiError::Busy(_))));
        // Ops are never refused.
        let ops = gate.admit(Class::Ops).unwrap();
        assert_eq!((gate.in_flight(), gate.heavy_in_flight()), (3, 1));
        drop(ops);
        assert_eq!(gate.in_flight(), 3);
        drop((first, light));
        assert_eq!(gate.heavy_in_flight(), 0);
        assert!(gate.admit(Class::Heavy).is_ok());
    }
}

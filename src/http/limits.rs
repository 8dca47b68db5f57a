//! What keeps one client, or too many, from taking the server down: a body limit, a time limit
//! and caps on requests in flight (load shedding), all answered in the JSON error shape.
//!
//! Beyond the cap a request is refused at once (503 with `Retry-After`) rather than queued, so an
//! overload slows nobody already being served. Heavy endpoints (coverage, siting, statistics,
//! impact) have a cap of their own, so a burst of them cannot starve tiles and `/locate`. The
//! health and metrics endpoints are never shed (an operator must see the overload), and the event
//! stream, which stays open for as long as a screen watches, has neither cap nor time limit.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::AppState;
use super::error::ApiError;

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

/// The limits and the permits they hand out (one per server).
#[derive(Debug)]
pub struct Gate {
    pub limits: Limits,
    all: Arc<Semaphore>,
    heavy: Arc<Semaphore>,
}

impl Gate {
    pub fn new(limits: Limits) -> Gate {
        Gate {
            all: Arc::new(Semaphore::new(limits.max_in_flight)),
            heavy: Arc::new(Semaphore::new(limits.max_heavy)),
            limits,
        }
    }

    /// Requests being served now, within the common cap.
    pub fn in_flight(&self) -> usize {
        self.limits.max_in_flight - self.all.available_permits()
    }

    /// Heavy requests being served now.
    pub fn heavy_in_flight(&self) -> usize {
        self.limits.max_heavy - self.heavy.available_permits()
    }

    /// Permits for one request of `class`, or the refusal when its cap is reached.
    fn admit(&self, class: Class) -> Result<Vec<OwnedSemaphorePermit>, ApiError> {
        let mut permits = Vec::with_capacity(2);
        if matches!(class, Class::Light | Class::Heavy) {
            let permit = self.all.clone().try_acquire_owned().map_err(|_| {
                ApiError::Busy(format!(
                    "the server is serving its limit of {} requests at once (--max-in-flight); try again in a second",
                    self.limits.max_in_flight
                ))
            })?;
            permits.push(permit);
        }
        if class == Class::Heavy {
            let permit = self.heavy.clone().try_acquire_owned().map_err(|_| {
                ApiError::Busy(format!(
                    "the server is computing its limit of {} whole-area answers (coverage, statistics, impact) at once (--max-heavy); try again in a second, or ask for a smaller area",
                    self.limits.max_heavy
                ))
            })?;
            permits.push(permit);
        }
        Ok(permits)
    }
}

impl Default for Gate {
    fn default() -> Self {
        Gate::new(Limits::default())
    }
}

/// The route a request matched (its template), or `unmatched`.
pub fn route_of(request: &Request) -> String {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string())
}

/// The middleware: refuse a body declared over the limit, shed beyond the caps, and answer 503
/// when the handler takes longer than the time limit. A shed request is counted by `metrics`.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let gate = &state.gate;
    let route = route_of(&request);
    let class = Class::of(request.method(), &route);
    if let Some(length) = declared_length(&request)
        && length > gate.limits.max_body_bytes as u64
    {
        return ApiError::TooLarge(format!(
            "body: {length} bytes, over this server's limit of {} bytes (--max-body-mb); send less (one feature, a simpler polygon, a smaller photo)",
            gate.limits.max_body_bytes
        ))
        .into_response();
    }
    let _permits = match gate.admit(class) {
        Ok(permits) => permits,
        Err(refusal) => {
            state.metrics.shed(class);
            return refusal.into_response();
        }
    };
    if class == Class::Stream {
        return next.run(request).await;
    }
    let limit = gate.limits.request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            state.metrics.timed_out(&route);
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
        let gate = Gate::new(Limits {
            max_heavy: 1,
            max_in_flight: 3,
            ..Limits::default()
        });
        let first = gate.admit(Class::Heavy).unwrap();
        assert!(matches!(gate.admit(Class::Heavy), Err(ApiError::Busy(_))));
        // Light requests still pass; the common cap counts the heavy one.
        let light = gate.admit(Class::Light).unwrap();
        assert_eq!(gate.in_flight(), 2);
        let _third = gate.admit(Class::Light).unwrap();
        assert!(matches!(gate.admit(Class::Light), Err(ApiError::Busy(_))));
        // Ops are never refused.
        assert!(gate.admit(Class::Ops).unwrap().is_empty());
        drop((first, light));
        assert_eq!(gate.heavy_in_flight(), 0);
        assert!(gate.admit(Class::Heavy).is_ok());
    }
}

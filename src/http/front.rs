//! The one layer every request passes first, doing in one place what four stacked layers did:
//! CORS, the request id and its log span, the limits and metrics (`limits::admit` and
//! `limits::run`), and gzip for the JSON answers of clients that take it.
//!
//! One layer, not four, because each layer axum stacks on a route is one more boxed service
//! cloned for every request and one more boxed body: together they took a cached tile from about
//! 99,000 to 66,000 answers a second on the 2-core machine (BENCHMARKS.md, "The HTTP floor").
//!
//! - **CORS** as a public read API has it (any origin, no credentials): every answer carries
//!   `Access-Control-Allow-Origin: *` and exposes the headers a script reads (ETag, Location,
//!   Retry-After, Content-Crs, X-Request-Id). A preflight (`OPTIONS`) is answered here, before
//!   the limits, allowing the six methods and whatever headers it names (nothing depends on
//!   cookies, so mirroring them is safe).
//! - **Compression** is tower-http's, asked only when the client accepts gzip: others pay nothing
//!   for it but the `Vary: Accept-Encoding` a compressible answer carries either way (a shared
//!   cache must not hand the plain form to a client that takes gzip, or the reverse). Tiles and
//!   the web map's files carry an ETag per encoding and choose their gzip form themselves
//!   (`encoding::NotTagged` leaves them alone).
//! - **Logging**: the request's span (id, method, URI) holds every line logged while it is
//!   served; at debug, a line as it starts and one with its status and latency as it ends.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service, ServiceExt};
use tower_http::compression::Compression;
use tower_http::compression::predicate::{And, DefaultPredicate, Predicate};
use tracing::Instrument;

use super::encoding;
use super::limits::{self, Gate};
use super::metrics::Metrics;
use super::request_id;

/// What the front layer needs: the limits and the metrics.
#[derive(Clone)]
pub struct Front {
    pub gate: Arc<Gate>,
    pub metrics: Arc<Metrics>,
}

impl<S> Layer<S> for Front {
    type Service = FrontService<S>;

    fn layer(&self, inner: S) -> FrontService<S> {
        FrontService {
            inner,
            front: Arc::new(self.clone()),
        }
    }
}

/// A route behind the front layer.
#[derive(Clone)]
pub struct FrontService<S> {
    inner: S,
    front: Arc<Front>,
}

impl<S> FrontService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    /// The route's handler for an admitted `request`, not yet polled: through tower-http's
    /// compression for a client that takes gzip, else as it is with the `Vary` the compression
    /// would have added.
    fn handler(&mut self, request: Request) -> Pin<Box<dyn Future<Output = Response> + Send>> {
        if encoding::accepts_gzip(request.headers()) {
            let compressed = Compression::new(self.inner.clone())
                .no_br()
                .no_deflate()
                .no_zstd()
                .compress_when(compressible());
            return Box::pin(async move {
                let Ok(response) = compressed.oneshot(request).await;
                response.map(Body::new)
            });
        }
        // `poll_ready` saw `inner` ready, and axum clones this service for each request, so it
        // is called once.
        let call = self.inner.call(request);
        Box::pin(async move {
            let Ok(mut response) = call.await;
            if compressible().should_compress(&response) {
                response
                    .headers_mut()
                    .append(header::VARY, HeaderValue::from_static("accept-encoding"));
            }
            response
        })
    }
}

impl<S> Service<Request> for FrontService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let started = Instant::now();
        let id = request_id::assign(&mut request);
        if request.method() == Method::OPTIONS {
            let mut response = preflight(request.headers());
            response.headers_mut().insert(request_id::X_REQUEST_ID, id);
            return Box::pin(std::future::ready(Ok(response)));
        }
        let span = request_id::span(&request);
        let front = self.front.clone();
        // A route template shared with the router (an `Arc`), or none for a path no route matches.
        let matched = request.extensions().get::<MatchedPath>().cloned();
        let route = matched.as_ref().map_or("unmatched", |p| p.as_str());
        let method = request.method().clone();
        let handler = limits::admit(&front.gate, &front.metrics, route, &request)
            .map(|admitted| (admitted, self.handler(request)));
        Box::pin(
            async move {
                tracing::debug!("started processing request");
                let route = matched.as_ref().map_or("unmatched", |p| p.as_str());
                let mut response = match handler {
                    Ok((admitted, handler)) => {
                        limits::run(&front.metrics, route, admitted, handler).await
                    }
                    Err(refusal) => refusal.into_response(),
                };
                let status = response.status();
                let written = method != Method::GET && method != Method::HEAD;
                front
                    .metrics
                    .answered(route, &method, written, status.as_u16(), started.elapsed());
                tracing::debug!(
                    status = status.as_u16(),
                    latency_ms = started.elapsed().as_secs_f64() * 1e3,
                    "finished processing request"
                );
                let headers = response.headers_mut();
                headers.insert(request_id::X_REQUEST_ID, id);
                headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, ANY_ORIGIN);
                headers.insert(
                    header::ACCESS_CONTROL_EXPOSE_HEADERS,
                    HeaderValue::from_static(EXPOSED),
                );
                Ok(response)
            }
            .instrument(span),
        )
    }
}

/// What the compression gzips: tower-http's default (not too small, not already compressed, no
/// images, no event stream), and nothing that names its own per-encoding ETag.
fn compressible() -> And<DefaultPredicate, encoding::NotTagged> {
    DefaultPredicate::new().and(encoding::NotTagged)
}

const ANY_ORIGIN: HeaderValue = HeaderValue::from_static("*");

/// The answer headers a script may read: validators, where a created thing is, when to retry,
/// the datum of the coordinates, and the request id to quote in a report.
const EXPOSED: &str = "etag, location, retry-after, content-crs, x-request-id";

/// A CORS preflight's answer: any origin, the methods served, and the headers it asked for.
/// Every `OPTIONS` request is taken for one (no route answers `OPTIONS`), as tower-http does.
fn preflight(request: &HeaderMap) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, ANY_ORIGIN);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, HEAD, POST, PUT, PATCH, DELETE"),
    );
    if let Some(asked) = request.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
    }
    // The allowed headers mirror the request's, so a cache must key the answer on them.
    headers.insert(
        header::VARY,
        HeaderValue::from_static(
            "origin, access-control-request-method, access-control-request-headers",
        ),
    );
    response
}

//! Answers counted by route template, method and status, and latency histograms by route: the
//! request path's share of `/metrics`, kept without a lock. The table of routes is copied on
//! the rare insert (a route's first request) and read through `arc-swap` otherwise; each count
//! is an atomic add.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;

/// Upper bounds of the latency buckets, in seconds: half a millisecond to 16 s, doubling (a
/// cached tile lands in the first, a city-wide coverage map in the last); then +Inf.
const BOUNDS_S: [f64; 16] = {
    let mut b = [0.0005; 16];
    let mut i = 1;
    while i < 16 {
        b[i] = b[i - 1] * 2.0;
        i += 1;
    }
    b
};

#[derive(Default)]
pub struct RouteStats {
    routes: ArcSwap<HashMap<Box<str>, Arc<Route>>>,
}

impl std::fmt::Debug for RouteStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RouteStats({} routes)", self.routes.load().len())
    }
}

#[derive(Default)]
struct Route {
    /// Answers per bucket (not cumulative); the last is beyond every bound.
    buckets: [AtomicU64; BOUNDS_S.len() + 1],
    sum_ns: AtomicU64,
    /// By method and status: a few per route, scanned.
    answers: ArcSwap<Vec<Arc<Answers>>>,
}

struct Answers {
    method: &'static str,
    status: u16,
    count: AtomicU64,
}

impl Route {
    fn record(&self, method: &'static str, status: u16, elapsed: Duration) {
        let s = elapsed.as_secs_f64();
        let bucket = BOUNDS_S
            .iter()
            .position(|&b| s <= b)
            .unwrap_or(BOUNDS_S.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_ns
            .fetch_add(elapsed.as_nanos() as u64, Ordering::Relaxed);
        let found = self
            .answers
            .load()
            .iter()
            .find(|a| a.status == status && a.method == method)
            .map(|a| a.count.fetch_add(1, Ordering::Relaxed))
            .is_some();
        if !found {
            self.answers.rcu(|all| {
                let mut all = Vec::clone(all);
                if !all.iter().any(|a| a.status == status && a.method == method) {
                    all.push(Arc::new(Answers {
                        method,
                        status,
                        count: AtomicU64::new(0),
                    }));
                }
                all
            });
            self.record_answer(method, status);
        }
    }

    fn record_answer(&self, method: &'static str, status: u16) {
        if let Some(a) = self
            .answers
            .load()
            .iter()
            .find(|a| a.status == status && a.method == method)
        {
            a.count.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl RouteStats {
    /// One answer to `route` (a template, or `unmatched`), its head `elapsed` after arrival.
    pub fn record(&self, route: &str, method: &'static str, status: u16, elapsed: Duration) {
        if let Some(r) = self.routes.load().get(route) {
            return r.record(method, status, elapsed);
        }
        self.routes.rcu(|routes| {
            let mut routes = HashMap::clone(routes);
            routes.entry(route.into()).or_default();
            routes
        });
        if let Some(r) = self.routes.load().get(route) {
            r.record(method, status, elapsed);
        }
    }

    /// `http_requests_total` and `http_request_duration_seconds`, routes in order.
    pub fn encode(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let routes = self.routes.load();
        let mut sorted: Vec<_> = routes.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        let mut family = encoder.encode_descriptor(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            None,
            MetricType::Counter,
        )?;
        for (route, r) in &sorted {
            let mut answers: Vec<_> = r.answers.load().iter().cloned().collect();
            answers.sort_by_key(|a| (a.method, a.status));
            for a in answers {
                let status = a.status.to_string();
                let labels = [
                    ("route", &**route as &str),
                    ("method", a.method),
                    ("status", &status),
                ];
                ConstCounter::new(a.count.load(Ordering::Relaxed))
                    .encode(family.encode_family(&labels)?)?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "http_request_duration_seconds",
            "Time from a request's arrival to its answer's head, by route template",
            None,
            MetricType::Histogram,
        )?;
        for (route, r) in &sorted {
            let counts: Vec<u64> = r
                .buckets
                .iter()
                .map(|b| b.load(Ordering::Relaxed))
                .collect();
            let buckets: Vec<(f64, u64)> = BOUNDS_S
                .iter()
                .copied()
                .chain([f64::MAX])
                .zip(counts.iter().copied())
                .collect();
            let count = counts.iter().sum();
            let sum_s = r.sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
            family
                .encode_family(&[("route", &**route as &str)])?
                .encode_histogram::<NoLabelSet>(sum_s, count, &buckets, None)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_land_in_their_bucket_and_count() {
        let stats = RouteStats::default();
        for ms in [0, 1, 3, 100, 20_000] {
            stats.record("/x", "GET", 200, Duration::from_millis(ms));
        }
        stats.record("/x", "GET", 404, Duration::ZERO);
        stats.record("/x", "POST", 200, Duration::ZERO);
        let routes = stats.routes.load();
        let r = &routes["/x"];
        let counts: Vec<u64> = r
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        // 0 ms in the 0.5 ms bucket (with the 404 and the POST), 1 ms in 1 ms, 3 ms in 4 ms,
        // 100 ms in 128 ms, 20 s beyond 16 s.
        assert_eq!(counts[0], 3);
        assert_eq!(counts[1], 1);
        assert_eq!(counts[3], 1);
        assert_eq!(counts[8], 1);
        assert_eq!(counts[16], 1);
        assert_eq!(counts.iter().sum::<u64>(), 7);
        let answers = r.answers.load();
        let count = |m: &str, s: u16| {
            answers
                .iter()
                .find(|a| a.method == m && a.status == s)
                .map(|a| a.count.load(Ordering::Relaxed))
        };
        assert_eq!(count("GET", 200), Some(5));
        assert_eq!(count("GET", 404), Some(1));
        assert_eq!(count("POST", 200), Some(1));
    }
}

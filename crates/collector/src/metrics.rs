//! Prometheus metrics: requests by route and status, ingest bytes, snapshots stored, snapshot
//! requests, long-polls waiting and a request latency histogram, rendered as Prometheus text at
//! `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// Upper bounds of the latency histogram, in seconds.
const LATENCY_BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Debug, Default)]
pub struct Metrics {
    /// (method, route, status) -> count. Routes are templates (`/api/v1/devices/{id}`), so the
    /// number of series stays bounded whatever paths clients send.
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
    ingest_bytes_received: AtomicU64,
    ingest_bytes_decompressed: AtomicU64,
    snapshots_stored: AtomicU64,
    snapshots_duplicate: AtomicU64,
    snapshot_requests_created: AtomicU64,
    snapshot_requests_delivered: AtomicU64,
    /// Gauge: agents' long-polls open now.
    long_polls_waiting: AtomicU64,
}

/// A response extension: the answer was held on purpose (a long-poll), so its time says
/// nothing about how fast the collector is and stays out of the latency histogram.
#[derive(Debug, Clone, Copy)]
pub struct HeldAnswer;

/// Counts one open long-poll in `sitrep_long_polls_waiting` until dropped, however the poll
/// ends (answered, or the client went away).
#[derive(Debug)]
pub struct LongPoll<'a> {
    gauge: &'a AtomicU64,
}

impl Drop for LongPoll<'_> {
    fn drop(&mut self) {
        self.gauge.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    /// One answered request; `latency` is `None` for answers held on purpose.
    pub fn observe_request(
        &self,
        method: &str,
        route: &str,
        status: u16,
        latency: Option<Duration>,
    ) {
        if let Ok(mut requests) = self.requests.lock() {
            *requests
                .entry((method.to_string(), route.to_string(), status))
                .or_default() += 1;
        }
        let Some(latency) = latency else {
            return;
        };
        let seconds = latency.as_secs_f64();
        for (bucket, bound) in self.latency_buckets.iter().zip(LATENCY_BUCKETS) {
            if seconds <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// One snapshot received: its size as sent and decompressed, and whether it was new.
    pub fn ingested(&self, received_bytes: u64, decompressed_bytes: u64, new: bool) {
        self.ingest_bytes_received
            .fetch_add(received_bytes, Ordering::Relaxed);
        self.ingest_bytes_decompressed
            .fetch_add(decompressed_bytes, Ordering::Relaxed);
        let counter = if new {
            &self.snapshots_stored
        } else {
            &self.snapshots_duplicate
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A specialist asked a device for a fresh snapshot.
    pub fn snapshot_request_created(&self) {
        self.snapshot_requests_created
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Snapshot requests handed to an agent.
    pub fn snapshot_requests_delivered(&self, count: usize) {
        self.snapshot_requests_delivered
            .fetch_add(count as u64, Ordering::Relaxed);
    }

    /// An agent's long-poll opens; it counts as waiting until the guard drops.
    pub fn long_poll(&self) -> LongPoll<'_> {
        self.long_polls_waiting.fetch_add(1, Ordering::Relaxed);
        LongPoll {
            gauge: &self.long_polls_waiting,
        }
    }

    /// The Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP sitrep_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE sitrep_http_requests_total counter\n");
        if let Ok(requests) = self.requests.lock() {
            for ((method, route, status), count) in requests.iter() {
                let _ = writeln!(
                    out,
                    "sitrep_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {count}",
                    escape_label(route)
                );
            }
        }
        out.push_str("# HELP sitrep_http_request_duration_seconds Time to answer a request.\n");
        out.push_str("# TYPE sitrep_http_request_duration_seconds histogram\n");
        for (bucket, bound) in self.latency_buckets.iter().zip(LATENCY_BUCKETS) {
            let _ = writeln!(
                out,
                "sitrep_http_request_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "sitrep_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let sum = self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "sitrep_http_request_duration_seconds_sum {sum}");
        let _ = writeln!(out, "sitrep_http_request_duration_seconds_count {count}");
        for (name, help, counter) in [
            (
                "sitrep_ingest_received_bytes_total",
                "Snapshot bytes received, as sent.",
                &self.ingest_bytes_received,
            ),
            (
                "sitrep_ingest_decompressed_bytes_total",
                "Snapshot bytes after decompression.",
                &self.ingest_bytes_decompressed,
            ),
            (
                "sitrep_snapshots_stored_total",
                "Snapshots stored for the first time.",
                &self.snapshots_stored,
            ),
            (
                "sitrep_snapshots_duplicate_total",
                "Snapshots received again (idempotent repeats).",
                &self.snapshots_duplicate,
            ),
            (
                "sitrep_snapshot_requests_created_total",
                "Fresh snapshots specialists asked devices for.",
                &self.snapshot_requests_created,
            ),
            (
                "sitrep_snapshot_requests_delivered_total",
                "Snapshot requests handed to agents (a request handed out again counts again).",
                &self.snapshot_requests_delivered,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP sitrep_long_polls_waiting Agents' long-polls open now.\n\
             # TYPE sitrep_long_polls_waiting gauge\nsitrep_long_polls_waiting {}",
            self.long_polls_waiting.load(Ordering::Relaxed)
        );
        out
    }
}

fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Middleware recording every request under its route template.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |path| path.as_str().to_string());
    let response = next.run(request).await;
    let held = response.extensions().get::<HeldAnswer>().is_some();
    state.metrics.observe_request(
        &method,
        &route,
        response.status().as_u16(),
        (!held).then(|| started.elapsed()),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let metrics = Metrics::default();
        metrics.observe_request(
            "POST",
            "/api/v1/snapshots",
            201,
            Some(Duration::from_millis(3)),
        );
        metrics.observe_request(
            "POST",
            "/api/v1/snapshots",
            201,
            Some(Duration::from_millis(30)),
        );
        // A held long-poll is counted, but not timed.
        metrics.observe_request("GET", "/api/v1/agent/requests", 200, None);
        let poll = metrics.long_poll();
        let open = metrics.render();
        drop(poll);
        metrics.ingested(1200, 5400, true);
        metrics.ingested(1200, 5400, false);
        let text = metrics.render();
        assert!(text.contains("sitrep_http_requests_total{method=\"POST\",route=\"/api/v1/snapshots\",status=\"201\"} 2\n"), "{text}");
        assert!(
            text.contains("sitrep_http_request_duration_seconds_bucket{le=\"0.005\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("sitrep_http_request_duration_seconds_bucket{le=\"0.05\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("sitrep_http_request_duration_seconds_count 2\n"),
            "{text}"
        );
        assert!(
            text.contains("sitrep_ingest_received_bytes_total 2400\n"),
            "{text}"
        );
        assert!(text.contains("sitrep_snapshots_stored_total 1\n"), "{text}");
        assert!(
            text.contains("sitrep_snapshots_duplicate_total 1\n"),
            "{text}"
        );
        assert!(text.contains("sitrep_http_requests_total{method=\"GET\",route=\"/api/v1/agent/requests\",status=\"200\"} 1\n"), "{text}");
        assert!(text.contains("sitrep_long_polls_waiting 0\n"), "{text}");
        assert!(open.contains("sitrep_long_polls_waiting 1\n"), "{open}");
    }
}

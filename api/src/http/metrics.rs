//! Prometheus metrics, kept in process and rendered as text at `/metrics`.
//!
//! Labels are bounded: operation names are recorded only while fewer than
//! [`MAX_OPERATION_NAMES`] distinct ones have been seen (then `other`), so a client sending
//! random names cannot grow memory or the scrape.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt::Write as _,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

/// Distinct operation names kept as labels.
pub const MAX_OPERATION_NAMES: usize = 100;

const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, v: f64) {
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS.len()];
        }
        for (i, b) in BUCKETS.iter().enumerate() {
            if v <= *b {
                self.counts[i] += 1;
            }
        }
        self.sum += v;
        self.count += 1;
    }
}

#[derive(Default)]
struct Inner {
    names: BTreeSet<String>,
    requests: BTreeMap<(String, String), u64>,
    latency: BTreeMap<String, Histogram>,
    errors: BTreeMap<String, u64>,
    statements: Histogram,
    refused: BTreeMap<String, u64>,
    anonymous_refusals: BTreeMap<&'static str, u64>,
}

/// The process's metrics.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
    /// The websocket subscription feeds (`http/ws.rs`).
    pub feeds: FeedCounters,
}

/// How shared subscription feeds work: each event a feed delivers is resolved and
/// serialized once, then sent to every member of the feed.
#[derive(Default)]
pub struct FeedCounters {
    /// Feeds running now (one per subscription document, variables and visibility class).
    pub live: AtomicU64,
    /// Subscriptions served by a feed now.
    pub members: AtomicU64,
    /// Event results resolved and serialized by feeds, once per feed and event.
    pub serialized: AtomicU64,
    /// Results sent from feeds to their members.
    pub delivered: AtomicU64,
    /// Fan-outs timed (a feed result written by every member it was sent to), their total
    /// and the longest, in microseconds: from the feed's send to the last member's write.
    fanouts: AtomicU64,
    fanout_micros: AtomicU64,
    fanout_max_micros: AtomicU64,
}

impl FeedCounters {
    /// One fan-out's duration: from a feed's send to the last member's socket write.
    pub fn record_fanout(&self, took: std::time::Duration) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.fanouts.fetch_add(1, Ordering::Relaxed);
        self.fanout_micros.fetch_add(us, Ordering::Relaxed);
        self.fanout_max_micros.fetch_max(us, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String) {
        let secs = |v: &AtomicU64| v.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(
            out,
            "# HELP lifeflow_ws_feed_fanout_seconds From a feed's send of a result to the socket write of the last member it was sent to.\n\
             # TYPE lifeflow_ws_feed_fanout_seconds summary\n\
             lifeflow_ws_feed_fanout_seconds_sum {}\n\
             lifeflow_ws_feed_fanout_seconds_count {}\n\
             # HELP lifeflow_ws_feed_fanout_max_seconds The longest fan-out timed.\n\
             # TYPE lifeflow_ws_feed_fanout_max_seconds gauge\n\
             lifeflow_ws_feed_fanout_max_seconds {}",
            secs(&self.fanout_micros),
            self.fanouts.load(Ordering::Relaxed),
            secs(&self.fanout_max_micros),
        );
        for (name, kind, help, v) in [
            (
                "lifeflow_ws_feeds",
                "gauge",
                "Shared subscription feeds running.",
                &self.live,
            ),
            (
                "lifeflow_ws_feed_members",
                "gauge",
                "Subscriptions served by a shared feed.",
                &self.members,
            ),
            (
                "lifeflow_ws_feed_results_serialized_total",
                "counter",
                "Subscription results resolved and serialized by feeds (once per feed and event).",
                &self.serialized,
            ),
            (
                "lifeflow_ws_feed_results_delivered_total",
                "counter",
                "Subscription results sent from feeds to their members.",
                &self.delivered,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {}", v.load(Ordering::Relaxed));
        }
    }
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 64
        && n.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Metrics {
    /// Records one executed GraphQL operation.
    pub fn record_operation(
        &self,
        op_type: &str,
        op_name: Option<&str>,
        elapsed: Duration,
        error_codes: &[String],
        statements: u64,
    ) {
        let Ok(mut m) = self.inner.lock() else { return };
        let name = match op_name {
            Some(n)
                if valid_name(n)
                    && (m.names.contains(n) || m.names.len() < MAX_OPERATION_NAMES) =>
            {
                m.names.insert(n.to_string());
                n.to_string()
            }
            Some(_) => "other".to_string(),
            None => "anonymous".to_string(),
        };
        *m.requests.entry((op_type.to_string(), name)).or_default() += 1;
        m.latency
            .entry(op_type.to_string())
            .or_default()
            .observe(elapsed.as_secs_f64());
        for c in error_codes {
            *m.errors.entry(c.clone()).or_default() += 1;
        }
        m.statements.observe(statements as f64);
    }

    /// Records a request refused before execution (bad media type, too large, invalid…).
    pub fn record_refused(&self, reason: &str) {
        if let Ok(mut m) = self.inner.lock() {
            *m.refused.entry(reason.to_string()).or_default() += 1;
        }
    }

    /// Records a mutation refused to an anonymous caller, which writes no audit row.
    pub fn record_anonymous_refusal(&self, action: &'static str) {
        if let Ok(mut m) = self.inner.lock() {
            *m.anonymous_refusals.entry(action).or_default() += 1;
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let Ok(m) = self.inner.lock() else {
            return String::new();
        };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP lifeflow_graphql_requests_total GraphQL operations executed."
        );
        let _ = writeln!(out, "# TYPE lifeflow_graphql_requests_total counter");
        for ((t, n), v) in &m.requests {
            let _ = writeln!(
                out,
                "lifeflow_graphql_requests_total{{operation_type=\"{t}\",operation_name=\"{n}\"}} {v}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP lifeflow_graphql_request_duration_seconds GraphQL operation latency."
        );
        let _ = writeln!(
            out,
            "# TYPE lifeflow_graphql_request_duration_seconds histogram"
        );
        for (t, h) in &m.latency {
            let labels = format!("operation_type=\"{t}\"");
            write_histogram(
                &mut out,
                "lifeflow_graphql_request_duration_seconds",
                &labels,
                h,
            );
        }
        let _ = writeln!(
            out,
            "# HELP lifeflow_graphql_errors_total GraphQL errors by extensions.code."
        );
        let _ = writeln!(out, "# TYPE lifeflow_graphql_errors_total counter");
        for (c, v) in &m.errors {
            let _ = writeln!(out, "lifeflow_graphql_errors_total{{code=\"{c}\"}} {v}");
        }
        let _ = writeln!(
            out,
            "# HELP lifeflow_http_refused_total Requests refused before execution."
        );
        let _ = writeln!(out, "# TYPE lifeflow_http_refused_total counter");
        for (r, v) in &m.refused {
            let _ = writeln!(out, "lifeflow_http_refused_total{{reason=\"{r}\"}} {v}");
        }
        let _ = writeln!(
            out,
            "# HELP lifeflow_anonymous_refusals_total Mutations refused to anonymous callers (not audited)."
        );
        let _ = writeln!(out, "# TYPE lifeflow_anonymous_refusals_total counter");
        for (a, v) in &m.anonymous_refusals {
            let _ = writeln!(
                out,
                "lifeflow_anonymous_refusals_total{{action=\"{a}\"}} {v}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP lifeflow_sql_statements_per_request SQL statements run by one GraphQL request."
        );
        let _ = writeln!(out, "# TYPE lifeflow_sql_statements_per_request histogram");
        write_histogram(
            &mut out,
            "lifeflow_sql_statements_per_request",
            "",
            &m.statements,
        );
        self.feeds.render(&mut out);
        out
    }
}

/// The argon2 runs since start, `kind` `hash` or `verify`: a password check is a verify.
pub fn write_password_work(out: &mut String, (hashes, verifies): (u64, u64)) {
    let _ = writeln!(
        out,
        "# HELP lifeflow_password_hashes_total Argon2 runs (new password hashes, password checks)."
    );
    let _ = writeln!(out, "# TYPE lifeflow_password_hashes_total counter");
    let _ = writeln!(
        out,
        "lifeflow_password_hashes_total{{kind=\"hash\"}} {hashes}"
    );
    let _ = writeln!(
        out,
        "lifeflow_password_hashes_total{{kind=\"verify\"}} {verifies}"
    );
}

fn write_histogram(out: &mut String, name: &str, labels: &str, h: &Histogram) {
    let sep = if labels.is_empty() { "" } else { "," };
    for (i, b) in BUCKETS.iter().enumerate() {
        let c = h.counts.get(i).copied().unwrap_or(0);
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {c}");
    }
    let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", h.count);
    let _ = writeln!(out, "{name}_sum{{{labels}}} {}", h.sum);
    let _ = writeln!(out, "{name}_count{{{labels}}} {}", h.count);
}

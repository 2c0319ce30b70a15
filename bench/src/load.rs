//! The load generator: fixed concurrent workers, bounded time and request count, latency
//! percentiles and SQL statement counts.

use crate::{DbKind, Scenario};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde_json::{Value, json};
use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// One GraphQL request, serialized once and replayed by every worker.
#[derive(Debug, Clone)]
pub struct Request {
    body: String,
    authorization: Option<HeaderValue>,
}

impl Request {
    /// A POST body for `query` with `variables`, sent with `Authorization: Bearer token`
    /// when a token is given.
    pub fn new(query: &str, variables: Value, token: Option<&str>) -> Self {
        Self {
            body: json!({"query": query, "variables": variables}).to_string(),
            authorization: token.and_then(|t| HeaderValue::from_str(&format!("Bearer {t}")).ok()),
        }
    }
}

/// How long and how wide a run is.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Concurrent workers, each with one request in flight.
    pub concurrency: usize,
    /// Workers start no request after this.
    pub duration: Duration,
    /// Workers start no more than this many requests in all.
    pub max_requests: u64,
}

/// What one worker saw.
#[derive(Debug, Default)]
struct Tally {
    latencies_us: Vec<u64>,
    errors: u64,
    first_error: Option<String>,
    sql_min: Option<u64>,
    sql_max: u64,
    sql_sum: u64,
    sql_seen: u64,
    sql_missing: u64,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.latencies_us.extend(other.latencies_us);
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.sql_min = match (self.sql_min, other.sql_min) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.sql_max = self.sql_max.max(other.sql_max);
        self.sql_sum += other.sql_sum;
        self.sql_seen += other.sql_seen;
        self.sql_missing += other.sql_missing;
    }
}

/// The outcome of a run.
#[derive(Debug)]
pub struct Report {
    /// Completed requests (successful or not).
    pub requests: u64,
    /// Requests that failed: transport error, non-2xx status or GraphQL `errors`.
    pub errors: u64,
    /// The first failure, for diagnosis.
    pub first_error: Option<String>,
    /// From the first request sent to the last response received.
    pub elapsed: Duration,
    latencies_us: Vec<u64>,
    sql_min: Option<u64>,
    sql_max: u64,
    sql_sum: u64,
    sql_seen: u64,
    sql_missing: u64,
}

impl Report {
    /// The markdown table header matching [`Report::row`].
    pub const HEADER: &'static str = "| Scenario | DB | Concurrency | Requests | Errors | Req/s | p50 ms | p95 ms | p99 ms | Max ms | SQL/req min | SQL/req max | SQL/req mean |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|";

    /// The latency at quantile `q` (nearest rank), in milliseconds.
    fn percentile_ms(&self, q: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let n = self.latencies_us.len();
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        self.latencies_us[rank - 1] as f64 / 1000.0
    }

    /// One markdown table row whose first cell is `label` (a scenario's, perhaps with the
    /// data set it ran on).
    pub fn row_labelled(&self, label: &str, db: DbKind, concurrency: usize) -> String {
        let rps = self.requests as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON);
        let sql = |v: Option<String>| v.unwrap_or_else(|| "n/a".into());
        let missing = if self.sql_missing > 0 {
            format!(" ({} without header)", self.sql_missing)
        } else {
            String::new()
        };
        format!(
            "| {} | {} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} | {}{} |",
            label,
            db.label(),
            concurrency,
            self.requests,
            self.errors,
            rps,
            self.percentile_ms(0.50),
            self.percentile_ms(0.95),
            self.percentile_ms(0.99),
            self.latencies_us.last().copied().unwrap_or(0) as f64 / 1000.0,
            sql(self.sql_min.map(|v| v.to_string())),
            sql((self.sql_seen > 0).then(|| self.sql_max.to_string())),
            sql((self.sql_seen > 0)
                .then(|| format!("{:.2}", self.sql_sum as f64 / self.sql_seen as f64))),
            missing,
        )
    }
}

/// Runs `request` with `plan.concurrency` workers until `plan.duration` has passed or
/// `plan.max_requests` requests have been started, then waits for those in flight.
pub async fn run(http: &reqwest::Client, url: &str, request: &Request, plan: &Plan) -> Report {
    let started = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + plan.duration;
    let workers: Vec<_> = (0..plan.concurrency)
        .map(|_| {
            let (http, url, request, started) = (
                http.clone(),
                url.to_string(),
                request.clone(),
                started.clone(),
            );
            let max = plan.max_requests;
            tokio::spawn(async move {
                let mut tally = Tally::default();
                while Instant::now() < deadline && started.fetch_add(1, Ordering::Relaxed) < max {
                    let t0 = Instant::now();
                    let outcome = send(&http, &url, &request).await;
                    tally
                        .latencies_us
                        .push(u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX));
                    match outcome {
                        Ok(Some(n)) => {
                            tally.sql_min = Some(tally.sql_min.map_or(n, |m| m.min(n)));
                            tally.sql_max = tally.sql_max.max(n);
                            tally.sql_sum += n;
                            tally.sql_seen += 1;
                        }
                        Ok(None) => tally.sql_missing += 1,
                        Err(e) => {
                            tally.errors += 1;
                            tally.first_error.get_or_insert(e);
                        }
                    }
                }
                tally
            })
        })
        .collect();
    let mut total = Tally::default();
    for w in workers {
        match w.await {
            Ok(t) => total.merge(t),
            Err(e) => {
                total.errors += 1;
                total
                    .first_error
                    .get_or_insert(format!("worker panicked: {e}"));
            }
        }
    }
    let elapsed = start.elapsed();
    total.latencies_us.sort_unstable();
    Report {
        requests: total.latencies_us.len() as u64,
        errors: total.errors,
        first_error: total.first_error,
        elapsed,
        latencies_us: total.latencies_us,
        sql_min: total.sql_min,
        sql_max: total.sql_max,
        sql_sum: total.sql_sum,
        sql_seen: total.sql_seen,
        sql_missing: total.sql_missing,
    }
}

/// Sends one request; returns its `x-sql-statements` count, or the failure.
async fn send(http: &reqwest::Client, url: &str, request: &Request) -> Result<Option<u64>, String> {
    let mut req = http
        .post(url)
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, "application/graphql-response+json")
        .body(request.body.clone());
    if let Some(auth) = &request.authorization {
        req = req.header(AUTHORIZATION, auth.clone());
    }
    let resp = req.send().await.map_err(|e| format!("transport: {e}"))?;
    let status = resp.status();
    let statements = resp
        .headers()
        .get("x-sql-statements")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let body = resp
        .bytes()
        .await
        .map_err(|e| format!("reading body: {e}"))?;
    // A full parse per response would spend the client's share of the 2 cores; data never
    // contains this key, so a byte search finds GraphQL errors.
    let has_errors = body.windows(9).any(|w| w == b"\"errors\":");
    if !status.is_success() || has_errors {
        let text = String::from_utf8_lossy(&body);
        let text: String = text.chars().take(500).collect();
        return Err(format!("HTTP {status}: {text}"));
    }
    Ok(statements)
}

/// One row of a read scenario: `--warmup` seconds unmeasured, then a run of `--duration`
/// seconds or `--max-requests` requests; prints the row and returns false when some request
/// failed.
pub async fn measure(
    http: &reqwest::Client,
    url: &str,
    args: &crate::Args,
    scenario: Scenario,
    request: &Request,
    concurrency: usize,
) -> bool {
    measure_labelled(http, url, args, scenario.label(), request, concurrency).await
}

/// [`measure`], the row's first cell being `label`.
pub async fn measure_labelled(
    http: &reqwest::Client,
    url: &str,
    args: &crate::Args,
    label: &str,
    request: &Request,
    concurrency: usize,
) -> bool {
    if args.warmup > 0 {
        let plan = Plan {
            concurrency,
            duration: Duration::from_secs(args.warmup),
            max_requests: u64::MAX,
        };
        run(http, url, request, &plan).await;
    }
    let plan = Plan {
        concurrency,
        duration: Duration::from_secs(args.duration),
        max_requests: args.max_requests,
    };
    let report = run(http, url, request, &plan).await;
    if let Some(e) = &report.first_error {
        eprintln!(
            "{label} at concurrency {concurrency}: {} of {} requests failed; first error: {e}",
            report.errors, report.requests
        );
    }
    println!("{}", report.row_labelled(label, args.db, concurrency));
    report.first_error.is_none()
}

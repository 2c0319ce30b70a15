//! What the workers of a mutation scenario (`blood-accept`, `book`) saw, and how a run of
//! them becomes a table row: one piece of code for every scenario that counts an expected
//! refusal apart from real failures.

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use std::time::Instant;

/// Sends one GraphQL request; returns its `x-sql-statements` count and body, or a transport
/// failure (non-2xx statuses included).
pub async fn post(
    http: &reqwest::Client,
    url: &str,
    authorization: &HeaderValue,
    body: String,
) -> Result<(Option<u64>, Vec<u8>), String> {
    let resp = http
        .post(url)
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, "application/graphql-response+json")
        .header(AUTHORIZATION, authorization.clone())
        .body(body)
        .send()
        .await
        .map_err(|e| format!("transport: {e}"))?;
    let status = resp.status();
    let sql = resp
        .headers()
        .get("x-sql-statements")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let body = resp
        .bytes()
        .await
        .map_err(|e| format!("reading body: {e}"))?;
    if !status.is_success() {
        return Err(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&body)
                .chars()
                .take(500)
                .collect::<String>()
        ));
    }
    Ok((sql, body.to_vec()))
}

/// Attempts of one or more workers.
#[derive(Default)]
pub struct Tally {
    /// Latency of every attempt, µs.
    pub latencies_us: Vec<u64>,
    /// `x-sql-statements` of every answered attempt.
    pub sql: Vec<u64>,
    /// Attempts that succeeded.
    pub ok: u64,
    /// Attempts refused with the expected code.
    pub refused: u64,
    /// Everything else.
    pub errors: u64,
    /// The first failure, for the log.
    pub first_error: Option<String>,
}

impl Tally {
    /// Records one attempt started at `started`: a success, the expected refusal (an error
    /// body holding `refusal`), or a failure.
    pub fn record(
        &mut self,
        started: Instant,
        outcome: Result<(Option<u64>, Vec<u8>), String>,
        refusal: &[u8],
    ) {
        self.latencies_us
            .push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
        match outcome {
            Ok((sql, body)) => {
                if let Some(n) = sql {
                    self.sql.push(n);
                }
                if body.windows(9).any(|w| w == b"\"errors\":") {
                    if body.windows(refusal.len()).any(|w| w == refusal) {
                        self.refused += 1;
                    } else {
                        self.errors += 1;
                        self.first_error.get_or_insert_with(|| {
                            String::from_utf8_lossy(&body).chars().take(500).collect()
                        });
                    }
                } else {
                    self.ok += 1;
                }
            }
            Err(e) => {
                self.errors += 1;
                self.first_error.get_or_insert(e);
            }
        }
    }

    /// Adds another worker's attempts.
    pub fn merge(&mut self, t: Tally) {
        self.latencies_us.extend(t.latencies_us);
        self.sql.extend(t.sql);
        self.ok += t.ok;
        self.refused += t.refused;
        self.errors += t.errors;
        if self.first_error.is_none() {
            self.first_error = t.first_error;
        }
    }

    /// The markdown row of a run that took `elapsed` seconds: attempts, successes, refusals,
    /// failures, both rates, latency percentiles (nearest rank) and statements per request.
    pub fn row(&mut self, scenario: &str, db: &str, concurrency: usize, elapsed: f64) -> String {
        self.latencies_us.sort_unstable();
        let v = &self.latencies_us;
        let pct = |q: f64| {
            if v.is_empty() {
                return 0.0;
            }
            let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
            v[rank - 1] as f64 / 1000.0
        };
        let attempts = v.len();
        let (smin, smax, smean) = match (self.sql.iter().min(), self.sql.iter().max()) {
            (Some(a), Some(b)) => (
                a.to_string(),
                b.to_string(),
                format!(
                    "{:.2}",
                    self.sql.iter().sum::<u64>() as f64 / self.sql.len() as f64
                ),
            ),
            _ => ("n/a".into(), "n/a".into(), "n/a".into()),
        };
        let elapsed = elapsed.max(f64::EPSILON);
        format!(
            "| {scenario} | {db} | {concurrency} | {attempts} | {} | {} | {} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {smin} | {smax} | {smean} |",
            self.ok,
            self.refused,
            self.errors,
            self.ok as f64 / elapsed,
            attempts as f64 / elapsed,
            pct(0.50),
            pct(0.95),
            pct(0.99),
            v.last().copied().unwrap_or(0) as f64 / 1000.0,
        )
    }
}

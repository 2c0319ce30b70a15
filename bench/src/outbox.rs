//! `outbox`: the notification outbox's throughput and its commit→send delay.
//!
//! The server runs in-process with its SMS channel pointed at a loopback HTTP sink that this
//! module serves (HTTP/1.1 keep-alive, answers 200 at once and notes when each delivery
//! id arrived). Two phases:
//!
//! 1. Throughput: `--deliveries` rows are queued in one transaction; the workers (at each
//!    `--concurrency` value, as `OUTBOX_CONCURRENCY`) drain them; deliveries per second is
//!    the count over the time from the commit to the last arrival.
//! 2. Delay: `--delay-samples` deliveries, one per transaction, each followed by the
//!    `OutboxQueued` event as a use case publishes it after its commit, 20 ms apart; the
//!    delay is from the commit's return to the sink's receipt (p50, p99, max). The poll
//!    interval stays at its default (5 s): a p99 well under it shows the wake-up path.

use crate::{
    Args,
    setup::{Res, Server},
};
use lifeflow::notifications::outbox::{self, NewDelivery};
use sea_orm::TransactionTrait;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
    sync::Notify,
};

#[derive(Default)]
struct Sink {
    arrivals: Mutex<HashMap<String, Instant>>,
    arrived: Notify,
}

/// Serves the sink on a free loopback port; returns its URL.
async fn start_sink(sink: Arc<Sink>) -> Res<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let sink = sink.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut read = BufReader::new(read);
                loop {
                    let mut length = 0usize;
                    let mut line = String::new();
                    // The request line and headers.
                    loop {
                        line.clear();
                        if read.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some((k, v)) = line.split_once(':')
                            && k.eq_ignore_ascii_case("content-length")
                        {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0u8; length];
                    if read.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    let at = Instant::now();
                    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body)
                        && let Some(id) = v["id"].as_str()
                    {
                        sink.arrivals
                            .lock()
                            .expect("arrivals")
                            .entry(id.to_string())
                            .or_insert(at);
                        sink.arrived.notify_waiters();
                    }
                    if write
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    Ok(format!("http://{addr}/sms"))
}

impl Sink {
    /// Waits until every id arrived, or `limit` passed; returns how many did.
    async fn wait_all(&self, ids: &[String], limit: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let arrived = self.arrived.notified();
            let n = {
                let a = self.arrivals.lock().expect("arrivals");
                ids.iter().filter(|id| a.contains_key(*id)).count()
            };
            if n == ids.len() || tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return n;
            }
        }
    }

    fn at(&self, id: &str) -> Option<Instant> {
        self.arrivals.lock().expect("arrivals").get(id).copied()
    }
}

fn sms(i: usize) -> NewDelivery {
    NewDelivery::sms(
        format!("+2507880{i:05}"),
        "BENCH",
        "LifeFlow: a bench message.",
    )
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Runs both phases at every concurrency; prints one markdown row per concurrency.
pub async fn run(args: &Args, db_url: &str, base: HashMap<String, String>) -> Res<bool> {
    let sink = Arc::new(Sink::default());
    let url = start_sink(sink.clone()).await?;
    let backend = if db_url.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    if !args.no_header {
        println!(
            "| scenario | db | OUTBOX_CONCURRENCY | deliveries | deliveries/s | delay p50 ms | delay p99 ms | delay max ms | samples |"
        );
        println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    }
    let mut ok = true;
    for &concurrency in &args.concurrency {
        let mut settings = base.clone();
        settings.insert("SMS_WEBHOOK_URL".into(), url.clone());
        settings.insert("SMS_WEBHOOK_TOKEN".into(), "bench".into());
        settings.insert("OUTBOX_CONCURRENCY".into(), concurrency.to_string());
        settings
            .entry("OUTBOX_BATCH".into())
            .or_insert_with(|| "100".into());
        let server = Server::start(&settings).await?;
        // Phase 1: throughput.
        let n = args.deliveries;
        let queued: Vec<NewDelivery> = (0..n).map(sms).collect();
        let txn = server.db().begin().await?;
        let ids: Vec<String> = outbox::enqueue_many(&txn, queued)
            .await
            .map_err(|e| format!("enqueue: {}", e.code()))?
            .iter()
            .map(ToString::to_string)
            .collect();
        txn.commit().await?;
        let committed = Instant::now();
        server.state().events.publish(vec![outbox::queued()]).await;
        let got = sink.wait_all(&ids, Duration::from_secs(600)).await;
        let last = ids
            .iter()
            .filter_map(|id| sink.at(id))
            .max()
            .unwrap_or(committed);
        let rate = got as f64 / (last - committed).as_secs_f64().max(1e-9);
        ok &= got == n;
        // Phase 2: commit→send delay, one delivery at a time.
        let mut delays = Vec::with_capacity(args.delay_samples);
        for i in 0..args.delay_samples {
            let txn = server.db().begin().await?;
            let id = outbox::enqueue(&txn, sms(n + i))
                .await
                .map_err(|e| format!("enqueue: {}", e.code()))?
                .to_string();
            txn.commit().await?;
            let at = Instant::now();
            server.state().events.publish(vec![outbox::queued()]).await;
            if sink
                .wait_all(std::slice::from_ref(&id), Duration::from_secs(30))
                .await
                == 1
            {
                if let Some(arrived) = sink.at(&id) {
                    delays.push(arrived.saturating_duration_since(at).as_secs_f64() * 1e3);
                }
            } else {
                ok = false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        delays.sort_by(f64::total_cmp);
        println!(
            "| outbox | {backend} | {concurrency} | {got}/{n} | {rate:.0} | {:.1} | {:.1} | {:.1} | {} |",
            percentile(&delays, 0.5),
            percentile(&delays, 0.99),
            delays.last().copied().unwrap_or(f64::NAN),
            delays.len(),
        );
        // The next run starts on the same database, whose rows are all SENT by now.
        server.stop().await;
    }
    Ok(ok)
}

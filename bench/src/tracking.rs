//! `delivery-tracking` (issue 19): live delivery positions at a target rate, measured from
//! the bank's mutation to the hospital's websocket.
//!
//! Seeds through the public API, as a bank and a hospital would: a hospital, a bank with a
//! STAFF member, `--tracked-deliveries` AVAILABLE units (each with its cleared panel), one
//! request per unit addressed to the bank, accepted, fulfilled and dispatched. Then the
//! hospital's admin opens one websocket per delivery (`graphql-transport-ws`,
//! `deliveryTracked(requestId)`), and `--update-workers` HTTP workers send
//! `updateDeliveryLocation` as the bank's staff on an open-loop schedule: update `k` is due
//! at `k / --rate` seconds, for delivery `k mod N` with sequence `k div N` written into its
//! latitude, for `--duration` seconds. Each subscriber reads the sequence back from the
//! position it receives and measures from the instant the worker sent that mutation. After
//! the last send it waits up to 5 s for the stragglers; what never arrived is lost.
//!
//! ```text
//! cargo run --release -p lifeflow-bench -- --db postgres --scenario delivery-tracking --rate 1000 --duration 30
//! ```

use crate::{
    Args,
    setup::{self, PASSWORD, Res},
    tally::post,
};
use futures_util::{SinkExt, StreamExt, TryStreamExt, stream};
use reqwest::header::HeaderValue;
use serde_json::{Value, json};
use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};
use tokio::{sync::watch, task::JoinHandle};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

/// Where the deliveries are reported: the latitude is `BASE_LAT + sequence × 1e-6`.
const BASE_LAT: f64 = 10.0;
const LAT_STEP: f64 = 1e-6;

const UPDATE: &str = "mutation($i: UpdateDeliveryLocationInput!) { updateDeliveryLocation(input: $i) { delivery { id } } }";

const TRACKED: &str = "subscription($r: ID!) { deliveryTracked(requestId: $r) { deliveryId status position { latitude longitude } } }";

/// Setup requests in flight at once.
const SEED_CONCURRENCY: usize = 8;

/// How long the subscribers get, after the last send, to receive what is still on its way.
const DRAIN: Duration = Duration::from_secs(5);

/// Send instants of the updates in flight or delivered, by update number `k`.
type Sent = Arc<Mutex<HashMap<u64, Instant>>>;

/// What one update worker saw: its mutations' milliseconds, its failures and the first one.
type WorkerTally = (Vec<f64>, u64, Option<String>);

/// The seeded parties and deliveries.
struct Seeded {
    hospital_token: String,
    staff_token: String,
    /// (request id, delivery id), in delivery order.
    deliveries: Vec<(String, String)>,
}

/// Starts the server, seeds, subscribes, drives the updates and prints one row. Returns
/// false when an update failed or a position never reached its subscriber.
pub async fn run(args: &Args, db_url: &str) -> Res<bool> {
    let n = args.tracked_deliveries;
    if n == 0 || args.update_workers == 0 || !args.rate.is_finite() || args.rate <= 0.0 {
        return Err("--tracked-deliveries, --update-workers and --rate must be positive".into());
    }
    let mut settings = crate::server_settings(db_url, args);
    // One user (the hospital's admin) holds every subscriber, all from 127.0.0.1.
    for key in [
        "WS_MAX_CONNECTIONS_PER_USER",
        "WS_MAX_PENDING_PER_IP",
        "WS_MAX_PENDING_CONNECTIONS",
    ] {
        settings
            .entry(key.to_string())
            .or_insert_with(|| (n + 50).max(1000).to_string());
    }
    let server = setup::Server::start(&settings).await?;
    eprintln!(
        "server on {} | {} | pool {} connections | {} cores",
        server.base,
        args.db.label(),
        server.config.db_max_connections,
        std::thread::available_parallelism().map_or(0, |c| c.get()),
    );
    let outcome = drive(args, &server).await;
    server.stop().await;
    outcome
}

async fn drive(args: &Args, server: &setup::Server) -> Res<bool> {
    let n = args.tracked_deliveries;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.update_workers + 8)
        .timeout(Duration::from_secs(60))
        .build()?;
    let base = server.base.as_str();
    let t0 = Instant::now();
    let seeded = seed(server, &http, n).await?;
    eprintln!(
        "seeded {n} dispatched deliveries through the API in {:.1} s",
        t0.elapsed().as_secs_f64()
    );

    // Subscribers: one socket per delivery, as the hospital's admin.
    let ws_url = format!("{}/graphql/ws", base.replacen("http://", "ws://", 1));
    let sent: Sent = Arc::new(Mutex::new(HashMap::new()));
    let received = Arc::new(AtomicU64::new(0));
    let (stop_tx, stop_rx) = watch::channel(false);
    let t1 = Instant::now();
    let subscribers: Vec<JoinHandle<Result<Vec<f64>, String>>> =
        stream::iter(seeded.deliveries.iter().enumerate())
            .map(|(i, (request, _))| {
                let (url, token) = (ws_url.clone(), seeded.hospital_token.clone());
                let (request, sent, received) = (request.clone(), sent.clone(), received.clone());
                let stop = stop_rx.clone();
                async move {
                    let ws = subscribe(&url, &token, &request).await?;
                    Ok::<_, String>(tokio::spawn(listen(
                        ws, i as u64, n as u64, sent, received, stop,
                    )))
                }
            })
            .buffered(50)
            .try_collect()
            .await?;
    eprintln!(
        "{n} subscribers connected and subscribed in {:.1} s",
        t1.elapsed().as_secs_f64()
    );
    // Let every subscription join its feed before the first update.
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Updates on an open-loop schedule.
    let total = (args.rate * args.duration as f64).round() as u64;
    let next = Arc::new(AtomicU64::new(0));
    let deliveries: Arc<Vec<String>> =
        Arc::new(seeded.deliveries.iter().map(|(_, d)| d.clone()).collect());
    let auth = HeaderValue::from_str(&format!("Bearer {}", seeded.staff_token))?;
    let url = format!("{base}/graphql");
    let start = Instant::now();
    let workers: Vec<JoinHandle<WorkerTally>> = (0..args.update_workers)
        .map(|_| {
            let (http, url, auth) = (http.clone(), url.clone(), auth.clone());
            let (next, deliveries, sent) = (next.clone(), deliveries.clone(), sent.clone());
            let rate = args.rate;
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0u64;
                let mut first_error = None;
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= total {
                        break;
                    }
                    let due = start + Duration::from_secs_f64(k as f64 / rate);
                    tokio::time::sleep_until(due.into()).await;
                    let n = deliveries.len() as u64;
                    let (delivery, seq) = (&deliveries[(k % n) as usize], k / n);
                    let body = json!({"query": UPDATE, "variables": {"i": {
                        "deliveryId": delivery,
                        "lat": BASE_LAT + seq as f64 * LAT_STEP,
                        "lng": 77.59,
                        "recordedAt": chrono::Utc::now().to_rfc3339(),
                        "temperatureC": 4.0,
                    }}})
                    .to_string();
                    let at = Instant::now();
                    sent.lock().expect("sent").insert(k, at);
                    let outcome = post(&http, &url, &auth, body).await;
                    latencies.push(at.elapsed().as_secs_f64() * 1000.0);
                    let failure = match outcome {
                        Ok((_, b)) if has_errors(&b) => {
                            Some(String::from_utf8_lossy(&b).chars().take(300).collect())
                        }
                        Ok(_) => None,
                        Err(e) => Some(e),
                    };
                    if let Some(f) = failure {
                        // A failed update is never delivered: not counted as lost.
                        sent.lock().expect("sent").remove(&k);
                        errors += 1;
                        first_error.get_or_insert(f);
                    }
                }
                (latencies, errors, first_error)
            })
        })
        .collect();
    let mut mutation_ms = Vec::new();
    let mut errors = 0;
    for w in workers {
        let (l, e, first) = w.await?;
        mutation_ms.extend(l);
        errors += e;
        if let Some(f) = first {
            eprintln!("updateDeliveryLocation failed: {f}");
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let delivered = total - errors;
    let drained = Instant::now();
    while received.load(Ordering::Relaxed) < delivered && drained.elapsed() < DRAIN {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop_tx.send(true);
    let mut latency_ms = Vec::new();
    for s in subscribers {
        match s.await? {
            Ok(l) => latency_ms.extend(l),
            Err(e) => eprintln!("a subscriber stopped: {e}"),
        }
    }
    let got = latency_ms.len() as u64;
    let lost = delivered.saturating_sub(got);
    latency_ms.sort_by(f64::total_cmp);
    mutation_ms.sort_by(f64::total_cmp);
    if !args.no_header {
        println!(
            "| Scenario | DB | Deliveries | Subscribers | Workers | Target/s | Achieved/s | Sent | Errors | Received | Lost | p50 ms | p90 ms | p99 ms | Max ms | Mutation p50 ms | Mutation p99 ms |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
    }
    println!(
        "| delivery-tracking | {} | {n} | {n} | {} | {:.0} | {:.0} | {total} | {errors} | {got} | {lost} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
        args.db.label(),
        args.update_workers,
        args.rate,
        total as f64 / elapsed,
        pct(&latency_ms, 50.0),
        pct(&latency_ms, 90.0),
        pct(&latency_ms, 99.0),
        latency_ms.last().copied().unwrap_or(0.0),
        pct(&mutation_ms, 50.0),
        pct(&mutation_ms, 99.0),
    );
    Ok(errors == 0 && lost == 0)
}

/// Nearest rank: the value at rank ⌈p·n/100⌉ of sorted values.
fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn has_errors(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body).map_or(true, |v| {
        v.get("errors")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
    })
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects, authenticates and subscribes to one request's delivery.
async fn subscribe(url: &str, token: &str, request: &str) -> Result<Socket, String> {
    let mut req = url.into_client_request().map_err(|e| e.to_string())?;
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        tokio_tungstenite::tungstenite::http::HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    ws.send(Message::text(
        json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}})
            .to_string(),
    ))
    .await
    .map_err(|e| format!("connection_init: {e}"))?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) if t.contains("connection_ack") => break,
            Some(Ok(Message::Text(t))) => return Err(format!("before ack: {t}")),
            Some(Ok(Message::Close(f))) => return Err(format!("closed before ack: {f:?}")),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(format!("before ack: {e}")),
            None => return Err("closed before ack".into()),
        }
    }
    ws.send(Message::text(
        json!({"id": "1", "type": "subscribe",
               "payload": {"query": TRACKED, "variables": {"r": request}}})
        .to_string(),
    ))
    .await
    .map_err(|e| format!("subscribe: {e}"))?;
    Ok(ws)
}

/// Reads one delivery's stream until stopped: for each position, the update it carries
/// (delivery `index`, sequence from the latitude) and the milliseconds since it was sent.
async fn listen(
    mut ws: Socket,
    index: u64,
    n: u64,
    sent: Sent,
    received: Arc<AtomicU64>,
    mut stop: watch::Receiver<bool>,
) -> Result<Vec<f64>, String> {
    let mut latencies = Vec::new();
    let mut seen = HashSet::new();
    loop {
        tokio::select! {
            m = ws.next() => match m {
                Some(Ok(Message::Text(t))) => {
                    let at = Instant::now();
                    let v: Value = serde_json::from_str(&t).map_err(|e| e.to_string())?;
                    match v["type"].as_str() {
                        Some("next") => {}
                        Some("ping") => {
                            let _ = ws.send(Message::text(r#"{"type":"pong"}"#)).await;
                            continue;
                        }
                        _ => return Err(format!("delivery {index}: {t}")),
                    }
                    let Some(lat) = v
                        .pointer("/payload/data/deliveryTracked/position/latitude")
                        .and_then(Value::as_f64)
                    else {
                        continue;
                    };
                    let seq = ((lat - BASE_LAT) / LAT_STEP).round() as u64;
                    let k = seq * n + index;
                    if !seen.insert(k) {
                        continue;
                    }
                    let sent_at = sent.lock().expect("sent").get(&k).copied();
                    if let Some(s) = sent_at {
                        latencies.push(at.saturating_duration_since(s).as_secs_f64() * 1000.0);
                        received.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Some(Ok(Message::Close(f))) => return Err(format!("delivery {index}: closed {f:?}")),
                None => return Err(format!("delivery {index}: closed")),
                Some(Err(e)) => return Err(format!("delivery {index}: {e}")),
                Some(Ok(_)) => {}
            },
            _ = stop.changed() => {
                let _ = ws.close(None).await;
                return Ok(latencies);
            }
        }
    }
}

/// An approved organization of `kind` and its admin: the admin's token and the id.
async fn org(
    http: &reqwest::Client,
    base: &str,
    root: &str,
    kind: &str,
    code: &str,
) -> Res<(String, String)> {
    let admin = format!("{}@tracking.bench.example", code.to_lowercase());
    setup::approved_org(
        http,
        base,
        root,
        &admin,
        code,
        &format!("Tracking {code}"),
        kind,
    )
    .await
}

/// A hospital, a bank and its staff member, `n` units, and `n` requests each accepted,
/// fulfilled and dispatched, all through the API.
async fn seed(server: &setup::Server, http: &reqwest::Client, n: usize) -> Res<Seeded> {
    let base = server.base.as_str();
    let root_email = "root@tracking.bench.example";
    lifeflow::seed::create_admin(&server.config, server.db(), root_email, PASSWORD, "Root")
        .await
        .map_err(|e| format!("create_admin: {e:?}"))?;
    let root = setup::login(http, base, root_email).await?;
    let (hospital_token, hospital) = org(http, base, &root, "HOSPITAL", "TRK-HOSP").await?;
    let (bank_admin, bank) = org(http, base, &root, "BLOOD_BANK", "TRK-BANK").await?;
    let staff_email = "staff@tracking.bench.example";
    setup::register(http, base, staff_email, "Bank Staff").await?;
    setup::gql(
        http,
        base,
        Some(&bank_admin),
        "mutation($i: AddMemberInput!) { addMember(input: $i) { membership { id } } }",
        json!({"i": {"organizationId": bank, "email": staff_email, "role": "STAFF"}}),
    )
    .await?;
    let staff_token = setup::login(http, base, staff_email).await?;

    let today = chrono::Utc::now().date_naive().to_string();
    let tests = json!({"hiv": "NEGATIVE", "hbv": "NEGATIVE", "hcv": "NEGATIVE",
                       "syphilis": "NEGATIVE", "malaria": "NEGATIVE",
                       "aboConfirmed": true, "rhConfirmed": true});
    let numbers: Vec<usize> = (0..n).collect();
    for chunk in numbers.chunks(100) {
        let units: Vec<Value> = chunk
            .iter()
            .map(|i| {
                json!({"unitNumber": format!("TRK-{i:05}"), "isLocalBarcode": true,
                       "component": "RED_CELLS", "bloodGroup": "O_POS", "volumeMl": 300,
                       "collectedOn": today, "status": "AVAILABLE", "tests": tests})
            })
            .collect();
        setup::gql(
            http,
            base,
            Some(&staff_token),
            "mutation($i: AddBloodUnitsInput!) { addBloodUnits(input: $i) { units { id } } }",
            json!({"i": {"bloodBankId": bank, "units": units}}),
        )
        .await?;
    }
    let needed_by = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let deliveries: Vec<(String, String)> = stream::iter(0..n)
        .map(|i| {
            let (hospital_token, staff_token) = (hospital_token.as_str(), staff_token.as_str());
            let (hospital, bank, needed_by) = (hospital.as_str(), bank.as_str(), needed_by.as_str());
            async move {
                let data = setup::gql(
                    http,
                    base,
                    Some(hospital_token),
                    "mutation($i: CreateBloodRequestInput!) { createBloodRequest(input: $i) { bloodRequest { id } } }",
                    json!({"i": {"hospitalId": hospital, "bloodBankId": bank,
                                 "patientReference": format!("MRN-TRK-{i:05}"),
                                 "bloodGroup": "O_POS", "component": "RED_CELLS",
                                 "unitsRequired": 1, "urgency": "ROUTINE", "neededBy": needed_by}}),
                )
                .await?;
                let request = data
                    .pointer("/createBloodRequest/bloodRequest/id")
                    .and_then(Value::as_str)
                    .ok_or("createBloodRequest: no id")?
                    .to_string();
                let on_request = json!({"i": {"requestId": request, "bloodBankId": bank}});
                setup::gql(
                    http,
                    base,
                    Some(staff_token),
                    "mutation($i: AcceptBloodRequestInput!) { acceptBloodRequest(input: $i) { bloodRequest { id } } }",
                    on_request.clone(),
                )
                .await?;
                setup::gql(
                    http,
                    base,
                    Some(staff_token),
                    "mutation($i: FulfillBloodRequestInput!) { fulfillBloodRequest(input: $i) { bloodRequest { id } } }",
                    on_request,
                )
                .await?;
                let data = setup::gql(
                    http,
                    base,
                    Some(staff_token),
                    "mutation($i: DispatchDeliveryInput!) { dispatchDelivery(input: $i) { delivery { id } } }",
                    json!({"i": {"requestId": request, "bloodBankId": bank,
                                 "courierName": format!("Courier {i}")}}),
                )
                .await?;
                let delivery = data
                    .pointer("/dispatchDelivery/delivery/id")
                    .and_then(Value::as_str)
                    .ok_or("dispatchDelivery: no id")?
                    .to_string();
                Res::Ok((request, delivery))
            }
        })
        .buffered(SEED_CONCURRENCY)
        .try_collect()
        .await?;
    Ok(Seeded {
        hospital_token,
        staff_token,
        deliveries,
    })
}

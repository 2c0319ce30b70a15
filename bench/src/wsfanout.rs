//! `ws-fanout`: many idle `alertRaised` subscribers on one server instance, then emergency
//! alerts fanned out to all of them.
//!
//! The server runs as its own process (the release `lifeflow` binary next to this one), so
//! that its memory and its open-file limit are its own. The client connects in batches,
//! measures the server's resident memory before and after, then creates EMERGENCY requests
//! and times each alert's arrival at every subscriber from the mutation's HTTP response.
//!
//! Two clients (`--ws-client`): `raw` (the default) hands every socket, once subscribed, to
//! one thread that waits on all of them with one `epoll` (mio) and only splits the bytes into
//! websocket frames and timestamps each text frame carrying `"next"`; `tungstenite` keeps a
//! tokio task per socket reading through tokio-tungstenite (the client of the earlier
//! measurements). Both run on the same two cores as the server, so the lighter the client,
//! the less of the measured latency is the client's own reading.

use crate::{
    Args,
    setup::{self, PASSWORD, Res},
};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::{
    MaybeTlsStream,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

/// How subscribers read their sockets once subscribed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum WsClient {
    /// One thread, one `epoll` for every socket, frames split but not decoded.
    Raw,
    /// A tokio task per socket, reading through tokio-tungstenite.
    Tungstenite,
}

/// The subscription every connection opens.
pub const SUBSCRIPTION: &str = "subscription { alertRaised { id kind } }";

/// The server process; killed when dropped (also on Ctrl-C and on errors).
pub(crate) struct ServerProcess {
    child: Child,
    pid: u32,
    log: PathBuf,
}

impl ServerProcess {
    /// Owns a started server process, its output going to `log`.
    pub(crate) fn new(child: Child, log: PathBuf) -> Self {
        Self {
            pid: child.id(),
            child,
            log,
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    pub(crate) fn log(&self) -> &std::path::Path {
        &self.log
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server's resident set size, from `/proc/<pid>/status`, in KiB.
pub(crate) fn rss_kib(pid: u32) -> Res<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmRSS".into())
}

/// CPU time a process has used so far, every thread included, in nanoseconds (the first
/// field of each `/proc/<pid>/task/<tid>/schedstat`); 0 when unreadable.
fn cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

pub(crate) fn server_bin(args: &Args) -> Res<PathBuf> {
    if let Some(p) = &args.server_bin {
        // Absolute (the server runs in the temporary directory), symlinks kept: the process
        // takes its name from the link (see BENCHMARKS.md on `run-quiet.py`).
        return Ok(std::path::absolute(p)?);
    }
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .ok_or("no directory for the current executable")?;
    Ok(dir.join("lifeflow"))
}

pub(crate) fn command(bin: &PathBuf, env: &[(String, String)]) -> Command {
    let mut c = Command::new(bin);
    c.env_clear()
        .current_dir(std::env::temp_dir())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    if let Ok(path) = std::env::var("PATH") {
        c.env("PATH", path);
    }
    c
}

/// Starts the release server as its own process on a free port, with development defaults,
/// `extra` settings and then `--setting`s, after making the super admin `root_email` the way
/// an operator does (which also applies the migrations). Returns the server and its port.
pub(crate) fn start_server(
    args: &Args,
    db_url: &str,
    extra: &[(&str, &str)],
    root_email: &str,
    log_name: &str,
) -> Res<(ServerProcess, u16)> {
    let bin = server_bin(args)?;
    if !bin.exists() {
        return Err(format!(
            "{} not found: cargo build --release -p lifeflow-api (or pass --server-bin)",
            bin.display()
        )
        .into());
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut env: Vec<(String, String)> = [
        ("DATABASE_URL", db_url),
        ("HOST", "127.0.0.1"),
        ("JWT_SECRET", crate::JWT_SECRET),
        ("APP_ENV", "development"),
        ("RUST_LOG", "warn"),
        ("ACCESS_TOKEN_TTL_SECS", "86400"),
        // The scenarios sign in as super admins without enrolling in MFA.
        ("MFA_REQUIRED_ROLES", ""),
    ]
    .into_iter()
    .chain(extra.iter().copied())
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.push(("PORT".into(), port.to_string()));
    for (k, v) in &args.settings {
        env.retain(|(k2, _)| k2 != k);
        env.push((k.clone(), v.clone()));
    }
    let status = command(&bin, &env)
        .args([
            "create-admin",
            "--email",
            root_email,
            "--password",
            PASSWORD,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()?;
    if !status.success() {
        return Err(format!("lifeflow create-admin failed: {status}").into());
    }
    let log = std::env::temp_dir().join(format!("{log_name}-{port}.log"));
    let log_file = std::fs::File::create(&log)?;
    let child = command(&bin, &env)
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .spawn()?;
    Ok((ServerProcess::new(child, log), port))
}

/// Runs the scenario on the database at `db_url`. Returns false when some subscriber missed
/// an alert or a connection failed.
pub async fn run(args: &Args, db_url: &str) -> Res<bool> {
    let root_email = "root@ws.bench.lifeflow.example";
    let (server, port) = start_server(
        args,
        db_url,
        &[
            ("LOGIN_MAX_ATTEMPTS", "100000"),
            ("LOGIN_MAX_ATTEMPTS_PER_IP", "100000"),
            ("REGISTER_MAX_PER_IP", "100000"),
            ("WS_MAX_CONNECTIONS", "15000"),
            ("WS_MAX_CONNECTIONS_PER_USER", "20000"),
            // Every subscriber connects from 127.0.0.1, a batch at a time.
            ("WS_MAX_PENDING_PER_IP", "20000"),
        ],
        root_email,
        "lifeflow-ws-bench",
    )?;
    let outcome = drive(args, &server, port).await;
    if outcome.is_err() {
        eprintln!("server log: {}", server.log.display());
    }
    drop(server);
    outcome
}

async fn drive(args: &Args, server: &ServerProcess, port: u16) -> Res<bool> {
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let up = Instant::now();
    loop {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await
            && r.status().is_success()
        {
            break;
        }
        if up.elapsed() > Duration::from_secs(60) {
            return Err("the server did not answer /healthz within 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let limit = std::fs::read_to_string(format!("/proc/{}/limits", server.pid))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Max open files"))
                .map(|l| {
                    l.split_whitespace()
                        .skip(3)
                        .take(2)
                        .collect::<Vec<_>>()
                        .join("/")
                })
        })
        .unwrap_or_default();
    eprintln!(
        "server pid {} on {base} (open files soft/hard {limit})",
        server.pid
    );

    // Seed through the API: a hospital and a blood bank at the same place, a bank staff user.
    let root = setup::login(&http, &base, "root@ws.bench.lifeflow.example").await?;
    let org = |code: &'static str, kind: &'static str, admin: &'static str| {
        let name = format!("WS Bench {code}");
        let (http, base, root) = (&http, &base, &root);
        async move {
            let (token, id) =
                setup::approved_org(http, base, root, admin, code, &name, kind).await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((id, token))
        }
    };
    let (hospital_id, hospital_token) =
        org("WSB-HOSP", "HOSPITAL", "hospital@ws.bench.lifeflow.example").await?;
    let (bank_id, bank_token) =
        org("WSB-BANK", "BLOOD_BANK", "bank@ws.bench.lifeflow.example").await?;
    let staff = "staff@ws.bench.lifeflow.example";
    setup::register(&http, &base, staff, "Bench Staff").await?;
    setup::gql(
        &http,
        &base,
        Some(&bank_token),
        "mutation($i: AddMemberInput!) { addMember(input: $i) { membership { id } } }",
        json!({"i": {"organizationId": bank_id, "email": staff, "role": "STAFF"}}),
    )
    .await?;
    let staff_token = setup::login(&http, &base, staff).await?;

    // Settle, then the baseline.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_before = rss_kib(server.pid)?;

    let n = args.subscribers;
    let (arrivals_tx, mut arrivals) = mpsc::unbounded_channel::<(usize, Instant)>();
    let (stop_tx, stop) = watch::channel(false);
    let url = format!("ws://127.0.0.1:{port}/graphql/ws");
    let raw_reader =
        (args.ws_client == WsClient::Raw).then(|| RawReader::start(arrivals_tx.clone()));
    let mut tasks = Vec::with_capacity(n);
    let connect_start = Instant::now();
    let mut connected = 0usize;
    let mut first_failure: Option<String> = None;
    for batch_start in (0..n).step_by(args.connect_batch.max(1)) {
        let batch_end = (batch_start + args.connect_batch.max(1)).min(n);
        let (ready_tx, mut ready) = mpsc::channel::<Result<(), String>>(batch_end - batch_start);
        for idx in batch_start..batch_end {
            tasks.push(tokio::spawn(subscriber(
                url.clone(),
                staff_token.clone(),
                idx,
                ready_tx.clone(),
                arrivals_tx.clone(),
                stop.clone(),
                raw_reader.as_ref().map(|r| r.sockets.clone()),
            )));
        }
        drop(ready_tx);
        for _ in batch_start..batch_end {
            match tokio::time::timeout(Duration::from_secs(30), ready.recv()).await {
                Ok(Some(Ok(()))) => connected += 1,
                Ok(Some(Err(e))) => {
                    first_failure.get_or_insert(e);
                }
                Ok(None) => break,
                Err(_) => {
                    first_failure.get_or_insert("a connection took over 30 s".into());
                    break;
                }
            }
        }
        if first_failure.is_some() {
            break;
        }
    }
    drop(arrivals_tx);
    let connect_secs = connect_start.elapsed().as_secs_f64();
    if let Some(e) = &first_failure {
        eprintln!("{connected} of {n} subscribers connected; first failure: {e}");
    }
    eprintln!("{connected} subscribers connected and subscribed in {connect_secs:.1} s");

    // Idle: let the server finish setting the subscriptions up, then measure.
    tokio::time::sleep(Duration::from_secs(args.settle)).await;
    let rss_idle = rss_kib(server.pid)?;
    let per_sub = (rss_idle.saturating_sub(rss_before)) as f64 * 1024.0 / connected.max(1) as f64;
    println!(
        "| Scenario | DB | Subscribers | Connect s | RSS before MiB | RSS idle MiB | Per idle subscriber KiB |\n|---|---|---:|---:|---:|---:|---:|"
    );
    println!(
        "| ws-fanout | {} | {connected} | {connect_secs:.1} | {:.1} | {:.1} | {:.1} |",
        args.db.label(),
        rss_before as f64 / 1024.0,
        rss_idle as f64 / 1024.0,
        per_sub / 1024.0,
    );
    println!(
        "\n| Round | Subscribers | Received | Mutation ms | p50 ms | p99 ms | Max ms | Min ms | From send p50 ms | From send p99 ms | From send max ms | Server CPU ms | Client CPU ms | RSS after MiB |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );

    let mut all_ok = first_failure.is_none();
    let mut all_from_resp: Vec<f64> = Vec::new();
    let needed_by = (chrono::Utc::now() + chrono::Duration::hours(12)).to_rfc3339();
    for round in 1..=args.rounds {
        // Nothing from an earlier round may count in this one.
        while arrivals.try_recv().is_ok() {}
        let me = std::process::id();
        let (server_cpu, client_cpu) = (cpu_ns(server.pid), cpu_ns(me));
        let sent = Instant::now();
        setup::gql(
            &http,
            &base,
            Some(&hospital_token),
            "mutation($i: CreateBloodRequestInput!) { createBloodRequest(input: $i) { bloodRequest { id } } }",
            json!({"i": {
                "hospitalId": hospital_id, "patientReference": format!("WS-{round}"),
                "bloodGroup": "O_POS", "component": "RED_CELLS", "unitsRequired": 1,
                "urgency": "EMERGENCY", "neededBy": needed_by, "radiusKm": 10,
            }}),
        )
        .await?;
        let responded = Instant::now();
        let mut seen = vec![false; n];
        let mut from_resp = Vec::with_capacity(connected);
        let mut from_send = Vec::with_capacity(connected);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(args.round_timeout);
        while from_resp.len() < connected {
            match tokio::time::timeout_at(deadline, arrivals.recv()).await {
                Ok(Some((idx, at))) => {
                    if std::mem::replace(&mut seen[idx], true) {
                        continue;
                    }
                    from_resp.push(signed_ms(at, responded));
                    from_send.push(signed_ms(at, sent));
                }
                _ => break,
            }
        }
        // From before the mutation to the last arrival: the mutation, the fan-out, the reading.
        let server_cpu_ms = cpu_ns(server.pid).saturating_sub(server_cpu) as f64 / 1e6;
        let client_cpu_ms = cpu_ns(me).saturating_sub(client_cpu) as f64 / 1e6;
        let received = from_resp.len();
        if received < connected {
            all_ok = false;
            eprintln!(
                "round {round}: {received} of {connected} subscribers got the alert within {} s",
                args.round_timeout
            );
        }
        from_resp.sort_by(f64::total_cmp);
        from_send.sort_by(f64::total_cmp);
        let rss = rss_kib(server.pid)?;
        println!(
            "| {round} | {connected} | {received} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {server_cpu_ms:.1} | {client_cpu_ms:.1} | {:.1} |",
            signed_ms(responded, sent),
            pct(&from_resp, 0.50),
            pct(&from_resp, 0.99),
            from_resp.last().copied().unwrap_or(0.0),
            from_resp.first().copied().unwrap_or(0.0),
            pct(&from_send, 0.50),
            pct(&from_send, 0.99),
            from_send.last().copied().unwrap_or(0.0),
            rss as f64 / 1024.0,
        );
        all_from_resp.extend(from_resp);
        if round < args.rounds {
            tokio::time::sleep(Duration::from_secs(args.round_gap)).await;
        }
    }
    all_from_resp.sort_by(f64::total_cmp);
    println!(
        "| all | {connected} | {} | | {:.2} | {:.2} | {:.2} | {:.2} | | | | | | |",
        all_from_resp.len(),
        pct(&all_from_resp, 0.50),
        pct(&all_from_resp, 0.99),
        all_from_resp.last().copied().unwrap_or(0.0),
        all_from_resp.first().copied().unwrap_or(0.0),
    );

    // A server with shared subscription feeds counts its serializations and deliveries.
    if let Ok(r) = http.get(format!("{base}/metrics")).send().await
        && let Ok(text) = r.text().await
    {
        for l in text.lines().filter(|l| l.starts_with("lifeflow_ws_feed")) {
            eprintln!("server: {l}");
        }
    }

    // Close everything, bounded.
    let _ = stop_tx.send(true);
    if let Some(r) = raw_reader {
        r.stop();
    }
    let closing = Instant::now();
    for t in tasks {
        let left = Duration::from_secs(20).saturating_sub(closing.elapsed());
        let abort = t.abort_handle();
        if tokio::time::timeout(left, t).await.is_err() {
            abort.abort();
        }
    }
    Ok(all_ok)
}

/// Milliseconds from `from` to `at`, negative when `at` came first.
fn signed_ms(at: Instant, from: Instant) -> f64 {
    if at >= from {
        at.duration_since(from).as_secs_f64() * 1000.0
    } else {
        -(from.duration_since(at).as_secs_f64() * 1000.0)
    }
}

/// Nearest-rank percentile of sorted values.
fn pct(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// The `raw` client's reading thread: every subscribed socket, one `epoll`.
struct RawReader {
    sockets: std::sync::mpsc::Sender<(usize, std::net::TcpStream)>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl RawReader {
    fn start(arrivals: mpsc::UnboundedSender<(usize, Instant)>) -> Self {
        let (sockets, incoming) = std::sync::mpsc::channel();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("ws-raw-reader".into())
            .spawn(move || {
                if let Err(e) = raw_read(&incoming, &arrivals, &flag) {
                    eprintln!("raw reader: {e}");
                }
            })
            .expect("spawn the raw reader");
        Self {
            sockets,
            stop,
            thread,
        }
    }

    /// Ends the thread, which closes every socket.
    fn stop(self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        drop(self.sockets);
        let _ = self.thread.join();
    }
}

/// A socket of the raw reader and the bytes of its unfinished frame.
struct RawSocket {
    idx: usize,
    stream: mio::net::TcpStream,
    buf: Vec<u8>,
}

/// Waits on every socket at once; on each readable one reads what is there, splits it into
/// frames (server frames are not masked) and reports every text frame carrying `"next"`,
/// timestamped when its last byte was read.
fn raw_read(
    incoming: &std::sync::mpsc::Receiver<(usize, std::net::TcpStream)>,
    arrivals: &mpsc::UnboundedSender<(usize, Instant)>,
    stop: &std::sync::atomic::AtomicBool,
) -> std::io::Result<()> {
    use std::io::Read as _;
    let mut poll = mio::Poll::new()?;
    let mut events = mio::Events::with_capacity(1024);
    let mut sockets: Vec<RawSocket> = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        while let Ok((idx, s)) = incoming.try_recv() {
            let mut stream = mio::net::TcpStream::from_std(s);
            let token = mio::Token(sockets.len());
            poll.registry()
                .register(&mut stream, token, mio::Interest::READABLE)?;
            sockets.push(RawSocket {
                idx,
                stream,
                buf: Vec::new(),
            });
        }
        poll.poll(&mut events, Some(Duration::from_millis(50)))?;
        for ev in &events {
            let Some(sock) = sockets.get_mut(ev.token().0) else {
                continue;
            };
            // Edge-triggered: read until the socket is drained.
            loop {
                match sock.stream.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => {
                        let at = Instant::now();
                        sock.buf.extend_from_slice(&chunk[..n]);
                        let used = split_frames(&sock.buf, |opcode, payload| {
                            if opcode == 1 && contains(payload, b"\"next\"") {
                                let _ = arrivals.send((sock.idx, at));
                            }
                        });
                        sock.buf.drain(..used);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
        }
    }
    Ok(())
}

/// Calls `each(opcode, payload)` for every whole frame at the start of `buf`; returns the
/// bytes they take.
fn split_frames(buf: &[u8], mut each: impl FnMut(u8, &[u8])) -> usize {
    let mut at = 0;
    loop {
        let rest = &buf[at..];
        if rest.len() < 2 {
            return at;
        }
        let opcode = rest[0] & 0x0f;
        let masked = rest[1] & 0x80 != 0;
        let (len, mut head) = match rest[1] & 0x7f {
            126 if rest.len() >= 4 => (u64::from(u16::from_be_bytes([rest[2], rest[3]])), 4),
            127 if rest.len() >= 10 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&rest[2..10]);
                (u64::from_be_bytes(b), 10)
            }
            126 | 127 => return at,
            n => (u64::from(n), 2),
        };
        if masked {
            head += 4;
        }
        let Ok(len) = usize::try_from(len) else {
            return buf.len();
        };
        if rest.len() < head + len {
            return at;
        }
        each(opcode, &rest[head..head + len]);
        at += head + len;
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// One subscriber: connects, authenticates, subscribes, reports ready, then reports the
/// arrival time of every `next` message until told to stop; with the raw client, hands its
/// socket to the raw reader instead of reading it.
async fn subscriber(
    url: String,
    token: String,
    idx: usize,
    ready: mpsc::Sender<Result<(), String>>,
    arrivals: mpsc::UnboundedSender<(usize, Instant)>,
    mut stop: watch::Receiver<bool>,
    raw: Option<std::sync::mpsc::Sender<(usize, std::net::TcpStream)>>,
) {
    let setup = async {
        let mut req = url.into_client_request().map_err(|e| e.to_string())?;
        req.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("graphql-transport-ws"),
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
            json!({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}).to_string(),
        ))
        .await
        .map_err(|e| format!("subscribe: {e}"))?;
        Ok(ws)
    };
    let mut ws = match setup.await {
        Ok(ws) => {
            if let Some(raw) = raw {
                // Nothing more is sent to a subscriber before its first result, so
                // tungstenite holds no bytes of it: the socket alone carries what follows.
                let handed = match ws.into_inner() {
                    MaybeTlsStream::Plain(tcp) => tcp
                        .into_std()
                        .map_err(|e| e.to_string())
                        .and_then(|s| raw.send((idx, s)).map_err(|e| e.to_string())),
                    _ => Err("not a plain TCP socket".to_string()),
                };
                let _ = ready.send(handed).await;
                return;
            }
            let _ = ready.send(Ok(())).await;
            ws
        }
        Err(e) => {
            let _ = ready.send(Err(e)).await;
            return;
        }
    };
    drop(ready);
    loop {
        tokio::select! {
            m = ws.next() => match m {
                Some(Ok(Message::Text(t))) => {
                    let at = Instant::now();
                    if t.contains("\"next\"") {
                        let _ = arrivals.send((idx, at));
                    } else if t.contains("\"error\"") || t.contains("\"complete\"") {
                        eprintln!("subscriber {idx}: {t}");
                        return;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            _ = stop.changed() => {
                let _ = ws.close(None).await;
                return;
            }
        }
    }
}

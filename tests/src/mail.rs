//! Loopback servers that receive what LifeFlow sends: [`SmtpServer`] speaks SMTP (RFC 5321:
//! greeting, EHLO/HELO, MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT) over TCP on
//! `127.0.0.1`, and [`HttpSink`] records POSTs and answers with a scripted status. Both can
//! stop and start again on the same port, for outage tests.

use crate::{TestApp, spawn_app_with};
use entity::outbox_delivery;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    sync::Notify,
    task::JoinHandle,
};

/// One message as the SMTP server received it.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The envelope sender (`MAIL FROM`).
    pub from: String,
    /// The envelope recipients (`RCPT TO`).
    pub to: Vec<String>,
    /// Headers and body, dot-unstuffed, with CRLF line ends.
    pub data: String,
}

impl Mail {
    /// A header's value (first occurrence, unfolded), case-insensitive.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if let Some(v) = value.as_mut() {
                if line.starts_with([' ', '\t']) {
                    v.push_str(line.trim_start());
                    continue;
                }
                return value;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case(name)
            {
                value = Some(v.trim().to_string());
            }
        }
        value
    }

    /// The body (after the blank line).
    pub fn body(&self) -> &str {
        self.data.split_once("\r\n\r\n").map_or("", |(_, b)| b)
    }
}

#[derive(Default)]
struct Inbox {
    mails: Mutex<Vec<Mail>>,
    arrived: Notify,
}

/// A real SMTP server on `127.0.0.1`.
pub struct SmtpServer {
    addr: SocketAddr,
    inbox: Arc<Inbox>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl SmtpServer {
    /// Starts on a free port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind smtp");
        let addr = listener.local_addr().expect("smtp addr");
        let inbox = Arc::new(Inbox::default());
        let task = tokio::spawn(serve(listener, inbox.clone()));
        Self {
            addr,
            inbox,
            task: Mutex::new(Some(task)),
        }
    }

    /// `smtp://127.0.0.1:PORT` (no TLS, no auth), for `SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Stops listening and drops every open connection.
    pub fn stop(&self) {
        if let Some(t) = self.task.lock().expect("smtp task").take() {
            t.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn restart(&self) {
        self.stop();
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) if tries < 50 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("rebind smtp: {e}"),
            }
        };
        *self.task.lock().expect("smtp task") =
            Some(tokio::spawn(serve(listener, self.inbox.clone())));
    }

    /// What arrived so far.
    pub fn mails(&self) -> Vec<Mail> {
        self.inbox.mails.lock().expect("inbox").clone()
    }

    /// What arrived for `address`.
    pub fn mails_to(&self, address: &str) -> Vec<Mail> {
        self.mails()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
            .collect()
    }

    /// Waits until at least `n` messages arrived for `address` (panics after `limit`).
    pub async fn wait_for_to(&self, address: &str, n: usize, limit: Duration) -> Vec<Mail> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let arrived = self.inbox.arrived.notified();
            let mails = self.mails_to(address);
            if mails.len() >= n {
                return mails;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                let mails = self.mails_to(address);
                assert!(
                    mails.len() >= n,
                    "expected {n} mails to {address}, got {}; all: {:#?}",
                    mails.len(),
                    self.mails()
                );
                return mails;
            }
        }
    }

    /// Waits until at least `n` messages other than account emails (the verification every
    /// registration mails) arrived for `address`; returns those (panics after `limit`).
    pub async fn wait_for_notifications_to(
        &self,
        address: &str,
        n: usize,
        limit: Duration,
    ) -> Vec<Mail> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let mails: Vec<Mail> = self
                .mails_to(address)
                .into_iter()
                .filter(|m| {
                    !m.header("Subject")
                        .is_some_and(|s| s.contains("Confirm your email"))
                })
                .collect();
            if mails.len() >= n || tokio::time::Instant::now() >= deadline {
                assert!(
                    mails.len() >= n,
                    "expected {n} mails to {address}: {mails:#?}"
                );
                return mails;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits until at least `n` messages arrived (panics after `limit`, naming what came).
    pub async fn wait_for(&self, n: usize, limit: Duration) -> Vec<Mail> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let arrived = self.inbox.arrived.notified();
            let mails = self.mails();
            if mails.len() >= n {
                return mails;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                let mails = self.mails();
                assert!(
                    mails.len() >= n,
                    "expected {n} mails, got {}: {mails:#?}",
                    mails.len()
                );
                return mails;
            }
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn serve(listener: TcpListener, inbox: Arc<Inbox>) {
    let mut sessions = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        // Sessions live in the set, so stopping the server (aborting this task) drops them.
        sessions.spawn(session(stream, inbox.clone()));
        while sessions.try_join_next().is_some() {}
    }
}

async fn session(stream: TcpStream, inbox: Arc<Inbox>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let reply = async |w: &mut tokio::net::tcp::OwnedWriteHalf, s: &str| {
        w.write_all(s.as_bytes()).await.is_ok()
    };
    if !reply(&mut write, "220 lifeflow-test ESMTP\r\n").await {
        return;
    }
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        let answer = if upper.starts_with("EHLO") {
            "250-lifeflow-test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n".to_string()
        } else if upper.starts_with("HELO") {
            "250 lifeflow-test\r\n".into()
        } else if upper.starts_with("MAIL FROM:") {
            from = address(&cmd[10..]);
            to.clear();
            "250 OK\r\n".into()
        } else if upper.starts_with("RCPT TO:") {
            to.push(address(&cmd[8..]));
            "250 OK\r\n".into()
        } else if upper == "DATA" {
            if !reply(&mut write, "354 End data with <CR><LF>.<CR><LF>\r\n").await {
                return;
            }
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                let l = line.strip_prefix('.').unwrap_or(&line);
                data.push_str(l);
            }
            inbox.mails.lock().expect("inbox").push(Mail {
                from: from.clone(),
                to: std::mem::take(&mut to),
                data,
            });
            inbox.arrived.notify_waiters();
            "250 OK queued\r\n".into()
        } else if upper == "RSET" {
            to.clear();
            "250 OK\r\n".into()
        } else if upper == "NOOP" {
            "250 OK\r\n".into()
        } else if upper == "QUIT" {
            let _ = reply(&mut write, "221 Bye\r\n").await;
            return;
        } else {
            "502 Command not implemented\r\n".into()
        };
        if !reply(&mut write, &answer).await {
            return;
        }
    }
}

fn address(arg: &str) -> String {
    let arg = arg.trim();
    let inner = arg
        .strip_prefix('<')
        .and_then(|a| a.split_once('>'))
        .map_or(arg, |(a, _)| a);
    inner.to_string()
}

/// One request as the HTTP sink received it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The request path.
    pub path: String,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
}

impl Received {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("json body")
    }
}

#[derive(Default)]
struct SinkState {
    received: Mutex<Vec<Received>>,
    /// Statuses to answer with, in order; then 200.
    script: Mutex<VecDeque<u16>>,
    arrived: Notify,
}

/// A loopback HTTP server that records every request and answers 200 (or a scripted status).
pub struct HttpSink {
    addr: SocketAddr,
    state: Arc<SinkState>,
    task: JoinHandle<()>,
}

impl HttpSink {
    /// Starts on a free port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind sink");
        let addr = listener.local_addr().expect("sink addr");
        let state = Arc::new(SinkState::default());
        let s = state.clone();
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: String| {
                let s = s.clone();
                async move {
                    let status = s.script.lock().expect("script").pop_front().unwrap_or(200);
                    s.received.lock().expect("received").push(Received {
                        path: uri.path().to_string(),
                        headers: headers
                            .iter()
                            .map(|(k, v)| {
                                (k.as_str().to_string(), v.to_str().unwrap_or("").to_string())
                            })
                            .collect(),
                        body,
                    });
                    s.arrived.notify_waiters();
                    axum::http::StatusCode::from_u16(status)
                        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR)
                }
            },
        );
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, state, task }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Answers the next requests with these statuses (then 200 again).
    pub fn answer(&self, statuses: &[u16]) {
        self.state
            .script
            .lock()
            .expect("script")
            .extend(statuses.iter().copied());
    }

    /// What arrived so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().expect("received").clone()
    }

    /// Waits until at least `n` requests arrived (panics after `limit`).
    pub async fn wait_for(&self, n: usize, limit: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let arrived = self.state.arrived.notified();
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                let got = self.received();
                assert!(got.len() >= n, "expected {n} requests, got {}", got.len());
                return got;
            }
        }
    }
}

impl Drop for HttpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A server whose email goes to `smtp`, retrying fast.
pub async fn app_mailing(smtp: &SmtpServer, more: &[(&str, &str)]) -> TestApp {
    let url = smtp.url();
    let mut settings = vec![
        ("SMTP_URL", url.as_str()),
        ("PUBLIC_APP_URL", "https://app.lifeflow.example"),
        ("OUTBOX_RETRY_BASE_MS", "50"),
        ("OUTBOX_RETRY_CAP_MS", "200"),
        ("OUTBOX_POLL_MS", "100"),
    ];
    settings.extend_from_slice(more);
    spawn_app_with(&settings).await
}

/// The deliveries of the notifications of `user_email`, oldest first.
pub async fn deliveries_to(app: &TestApp, email: &str) -> Vec<outbox_delivery::Model> {
    let mut rows = outbox_delivery::Entity::find()
        .filter(outbox_delivery::Column::Recipient.eq(email))
        .filter(outbox_delivery::Column::NotificationId.is_not_null())
        .all(&app.db)
        .await
        .expect("deliveries");
    rows.sort_by_key(|d| d.created_at);
    rows
}

/// Polls `check` until it holds or `limit` passes; returns whether it held.
pub async fn wait_until<F, Fut>(limit: Duration, check: F) -> bool
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

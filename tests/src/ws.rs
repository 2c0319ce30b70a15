//! A websocket test client for `/graphql/ws`: the `graphql-transport-ws` protocol and the
//! older `graphql-ws` one (subscriptions-transport-ws), with timeouts everywhere so a test
//! never hangs on a silent server.

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use std::{
    net::{IpAddr, SocketAddr},
    time::Duration,
};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{self, Message, client::IntoClientRequest, http::HeaderValue},
};

/// `graphql-transport-ws`, the current protocol (graphql-ws on npm).
pub const TRANSPORT_WS: &str = "graphql-transport-ws";
/// `graphql-ws`, the legacy subscriptions-transport-ws protocol.
pub const LEGACY_WS: &str = "graphql-ws";

/// How long a test waits for something that should arrive. Generous: the whole suite runs
/// at once on 2 cores, and a sweep that expires a unit shares them with 130 other tests.
pub const ARRIVES: Duration = Duration::from_secs(10);

/// What the server sent, as the test sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// A JSON text message.
    Json(Value),
    /// A close frame with its code and reason.
    Closed(Option<u16>, String),
    /// The connection ended without a close frame.
    Ended,
}

/// A websocket connected to `/graphql/ws`.
pub struct WsClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The subprotocol the server selected.
    pub protocol: Option<String>,
    next_ping: u64,
    /// Messages read while waiting for a pong, handed out first.
    pending: std::collections::VecDeque<Value>,
}

/// `http://127.0.0.1:PORT` → `ws://127.0.0.1:PORT/graphql/ws`.
pub fn ws_url(base: &str) -> String {
    format!(
        "{}/graphql/ws",
        base.replacen("http://", "ws://", 1)
            .replacen("https://", "wss://", 1)
    )
}

/// Opens a socket offering `protocols` (comma-separated, as a browser sends them), with an
/// optional `Origin`. The upgrade's refusal comes back as the error.
pub async fn try_connect(
    base: &str,
    protocols: &str,
    origin: Option<&str>,
) -> Result<WsClient, tungstenite::Error> {
    let mut req = ws_url(base).into_client_request()?;
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_str(protocols).expect("protocol header"),
    );
    if let Some(o) = origin {
        req.headers_mut()
            .insert("Origin", HeaderValue::from_str(o).expect("origin header"));
    }
    let (socket, resp) = tokio::time::timeout(ARRIVES, tokio_tungstenite::connect_async(req))
        .await
        .expect("websocket upgrade timed out")?;
    Ok(WsClient::upgraded(socket, &resp))
}

/// Opens a `graphql-transport-ws` socket from another loopback address (`127.0.0.2`, …: on
/// Linux the whole of 127/8 is local), so the server sees another client IP.
pub async fn try_connect_from(base: &str, from: IpAddr) -> Result<WsClient, tungstenite::Error> {
    let mut req = ws_url(base).into_client_request()?;
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static(TRANSPORT_WS),
    );
    let server: SocketAddr = base
        .trim_start_matches("http://")
        .parse()
        .expect("the test server's address");
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    let stream = socket.connect(server).await?;
    let (socket, resp) = tokio::time::timeout(
        ARRIVES,
        tokio_tungstenite::client_async(req, MaybeTlsStream::Plain(stream)),
    )
    .await
    .expect("websocket upgrade timed out")?;
    Ok(WsClient::upgraded(socket, &resp))
}

/// Opens a socket with one protocol; panics if the upgrade fails.
pub async fn connect(base: &str, protocol: &str) -> WsClient {
    try_connect(base, protocol, None)
        .await
        .expect("websocket upgrade")
}

/// Opens a `graphql-transport-ws` socket and authenticates it with `token`.
pub async fn connect_as(base: &str, token: &str) -> WsClient {
    let mut c = connect(base, TRANSPORT_WS).await;
    c.init(Some(token)).await;
    c
}

impl WsClient {
    fn upgraded(
        socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
        resp: &tungstenite::handshake::client::Response,
    ) -> Self {
        let protocol = resp
            .headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Self {
            socket,
            protocol,
            next_ping: 0,
            pending: Default::default(),
        }
    }

    /// Sends a JSON message.
    pub async fn send(&mut self, v: Value) {
        self.socket
            .send(Message::Text(v.to_string().into()))
            .await
            .expect("send");
    }

    /// The next JSON message, close or end within `wait`; `None` if nothing came.
    /// Websocket pings and keep-alive (`ka`) messages are skipped.
    pub async fn next_frame(&mut self, wait: Duration) -> Option<Frame> {
        if let Some(v) = self.pending.pop_front() {
            return Some(Frame::Json(v));
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let msg = match tokio::time::timeout_at(deadline, self.socket.next()).await {
                Err(_) => return None,
                Ok(None) => return Some(Frame::Ended),
                Ok(Some(Err(_))) => return Some(Frame::Ended),
                Ok(Some(Ok(m))) => m,
            };
            match msg {
                Message::Text(t) => {
                    let v: Value = serde_json::from_str(t.as_str()).expect("JSON message");
                    if v["type"] == "ka" {
                        continue;
                    }
                    return Some(Frame::Json(v));
                }
                Message::Close(frame) => {
                    return Some(match frame {
                        Some(f) => Frame::Closed(Some(u16::from(f.code)), f.reason.to_string()),
                        None => Frame::Closed(None, String::new()),
                    });
                }
                _ => continue,
            }
        }
    }

    /// The next JSON message; panics on a timeout or a close.
    pub async fn next_json(&mut self, wait: Duration) -> Value {
        match self.next_frame(wait).await {
            Some(Frame::Json(v)) => v,
            other => panic!("expected a message within {wait:?}, got {other:?}"),
        }
    }

    /// Sends `connection_init` (with `{"authorization": "Bearer <token>"}` when given) and
    /// waits for `connection_ack`.
    pub async fn init(&mut self, token: Option<&str>) {
        self.send_init(token).await;
        let ack = self.next_json(ARRIVES).await;
        assert_eq!(ack["type"], "connection_ack", "expected an ack, got {ack}");
    }

    /// Sends `connection_init` without waiting.
    pub async fn send_init(&mut self, token: Option<&str>) {
        let payload = match token {
            Some(t) => json!({"authorization": format!("Bearer {t}")}),
            None => json!({}),
        };
        self.send(json!({"type": "connection_init", "payload": payload}))
            .await;
    }

    /// Waits for the server to close the socket and returns the close code (`None` for a
    /// close without a code or a dropped connection); panics if it stays open.
    pub async fn closed_with(&mut self, wait: Duration) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_frame(left).await {
                Some(Frame::Closed(code, _)) => return code,
                Some(Frame::Ended) => return None,
                Some(Frame::Json(_)) => continue,
                None => panic!("the socket was still open after {wait:?}"),
            }
        }
    }

    /// Starts a subscription (`subscribe`, or `start` on the legacy protocol) and waits until
    /// the server has registered it (a ping/pong round trip, then a short settle time), so
    /// that an event raised afterwards reaches it.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        let kind = if self.is_legacy() {
            "start"
        } else {
            "subscribe"
        };
        self.send(
            json!({"id": id, "type": kind, "payload": {"query": query, "variables": variables}}),
        )
        .await;
        self.settle().await;
    }

    fn is_legacy(&self) -> bool {
        self.protocol.as_deref() == Some(LEGACY_WS)
    }

    /// A barrier: messages sent before it have been processed by the server's protocol
    /// machine, and the subscriptions they started have been polled once.
    pub async fn settle(&mut self) {
        if !self.is_legacy() {
            self.next_ping += 1;
            let n = self.next_ping;
            self.send(json!({"type": "ping", "payload": {"n": n}}))
                .await;
            let deadline = tokio::time::Instant::now() + ARRIVES;
            let mut held = Vec::new();
            loop {
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                match self.next_frame(left).await {
                    // async-graphql answers with an empty payload; one ping is in flight.
                    Some(Frame::Json(v)) if v["type"] == "pong" => break,
                    // Kept for the caller (an error for a refused subscription, say).
                    Some(Frame::Json(v)) => held.push(v),
                    other => panic!("no pong while waiting for the subscription: {other:?}"),
                }
            }
            self.pending.extend(held);
        }
        // The subscription resolver may need a query (bloodRequestChanged): let it finish.
        tokio::time::sleep(Duration::from_millis(150)).await;
    }

    /// The payload of the next result (`next`, or `data` on the legacy protocol) of
    /// subscription `id`; panics on an error, a completion, a close or a timeout.
    pub async fn next_result(&mut self, id: &str, wait: Duration) -> Value {
        match self.try_next_result(id, wait).await {
            Some(v) => v,
            None => panic!("subscription {id}: nothing arrived within {wait:?}"),
        }
    }

    /// The payload of the next result of subscription `id` within `wait`, or `None`.
    /// Panics on anything else for that id (error, complete) or a close.
    pub async fn try_next_result(&mut self, id: &str, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_frame(left).await? {
                Frame::Json(v) if v["id"] == id => match v["type"].as_str() {
                    Some("next") | Some("data") => return Some(v["payload"].clone()),
                    _ => panic!("subscription {id} ended: {v}"),
                },
                Frame::Json(v) if v["type"] == "pong" || v["type"] == "ping" => continue,
                Frame::Json(v) => panic!("unexpected message: {v}"),
                other => panic!("subscription {id}: socket closed: {other:?}"),
            }
        }
    }

    /// The data of the next result of subscription `id`, panicking on GraphQL errors.
    pub async fn next_data(&mut self, id: &str, wait: Duration) -> Value {
        let p = self.next_result(id, wait).await;
        if let Some(e) = p.get("errors").filter(|e| !e.is_null()) {
            panic!("subscription {id} returned errors: {e:#}");
        }
        p["data"].clone()
    }

    /// Everything subscription `id` receives during `wait` (for "nothing arrives" checks).
    pub async fn results_during(&mut self, id: &str, wait: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut out = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return out;
            }
            match self.next_frame(left).await {
                None => return out,
                Some(Frame::Json(v)) if v["id"] == id => out.push(v),
                Some(Frame::Json(_)) => continue,
                Some(other) => panic!("socket closed while listening: {other:?}"),
            }
        }
    }

    /// The first message that concerns subscription `id` (an error or a completion when the
    /// subscription is refused).
    pub async fn message_for(&mut self, id: &str, wait: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_frame(left).await {
                Some(Frame::Json(v)) if v["id"] == id => return v,
                Some(Frame::Json(_)) => continue,
                other => panic!("subscription {id}: no message within {wait:?}: {other:?}"),
            }
        }
    }

    /// Closes the socket politely.
    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}

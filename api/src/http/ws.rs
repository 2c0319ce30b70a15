//! GraphQL over websocket at `/graphql/ws` (`graphql-transport-ws`, and the older
//! `graphql-ws`). async-graphql's ready-made service accepts anyone and never times out a
//! silent socket, so the handshake is done here: the first message must be
//! `connection_init` carrying a valid token (`{"authorization": "Bearer …"}`) within
//! `WS_INIT_TIMEOUT_MS`, else the socket is closed with 4403 (bad token) or 4408 (no init).
//! Then async-graphql's protocol machine runs with the caller's session as connection data,
//! until a revocation ends the session (closed with 4403: the client reconnects and is
//! authenticated afresh, or refused).
//!
//! Caps: authenticated connections per instance, per user and per API client; sockets not yet
//! authenticated per instance and per client IP, counted apart so they cannot crowd out the
//! authenticated ones.

use super::{
    client::RequestMeta,
    feeds::{self, Hub, Outgoing},
    graphql::GqlState,
};
use crate::{
    auth::Viewer,
    events::session::{Registration, Session},
    schema::AppSchema,
};
use async_graphql::{
    Data,
    http::{
        ClientMessage, DefaultOnConnInitType, DefaultOnPingType, WebSocket as GqlWebSocket,
        WebSocketProtocols, WsMessage,
    },
};
use axum::{
    Extension,
    extract::{
        State,
        ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade},
    },
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::Utc;
use futures_util::{SinkExt as _, StreamExt as _, stream::BoxStream};
use std::{
    collections::{HashMap, VecDeque},
    net::IpAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Poll, Waker},
};
use uuid::Uuid;

/// The subprotocols served, in order of preference.
const PROTOCOLS: [&str; 2] = ["graphql-transport-ws", "graphql-ws"];

/// Open connections, for the caps: authenticated ones in total and per user or API client,
/// and those not yet authenticated in total and per client IP. The two kinds are counted
/// apart, so sockets that never authenticate cannot take the places of those that did.
#[derive(Default)]
pub struct WsCounters {
    authenticated: AtomicUsize,
    pending: AtomicUsize,
    per_key: Mutex<HashMap<Key, usize>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    /// Sockets from one client IP that have not authenticated yet.
    PendingFrom(IpAddr),
    User(Uuid),
    Client(Uuid),
}

#[derive(Debug, Clone, Copy)]
enum Slot {
    Authenticated,
    Pending,
    Keyed(Key),
}

/// A place taken under a cap, given back when dropped.
struct Held(Arc<WsCounters>, Slot);

impl Drop for Held {
    fn drop(&mut self) {
        match self.1 {
            Slot::Authenticated => {
                self.0.authenticated.fetch_sub(1, Ordering::Relaxed);
            }
            Slot::Pending => {
                self.0.pending.fetch_sub(1, Ordering::Relaxed);
            }
            Slot::Keyed(k) => {
                let mut m = self.0.keyed();
                if let Some(n) = m.get_mut(&k) {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        m.remove(&k);
                    }
                }
            }
        }
    }
}

impl WsCounters {
    fn keyed(&self) -> std::sync::MutexGuard<'_, HashMap<Key, usize>> {
        self.per_key.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a place under `max`, or `None` when all are taken.
    fn take(self: &Arc<Self>, slot: Slot, max: usize) -> Option<Held> {
        let below = |n: usize| (n < max).then_some(n + 1);
        let taken = match slot {
            Slot::Authenticated => self
                .authenticated
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, below)
                .is_ok(),
            Slot::Pending => self
                .pending
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, below)
                .is_ok(),
            Slot::Keyed(k) => {
                let mut m = self.keyed();
                let n = m.get(&k).copied().unwrap_or(0);
                if n < max {
                    m.insert(k, n + 1);
                    true
                } else {
                    false
                }
            }
        };
        taken.then(|| Held(self.clone(), slot))
    }
}

fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        // Not a browser: no ambient credentials to abuse.
        return true;
    };
    if allowed.iter().any(|a| a == origin) {
        return true;
    }
    // Same origin as the API itself.
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        == Some(host)
}

/// `GET /graphql/ws`.
pub async fn handler(
    State(st): State<GqlState>,
    meta: Option<Extension<RequestMeta>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let config = &st.app.config;
    if !origin_allowed(&headers, &config.cors_origins) {
        st.app.metrics.record_refused("ws_origin");
        return (StatusCode::FORBIDDEN, "origin not allowed").into_response();
    }
    // Speak the protocol the handshake selects: the first of `PROTOCOLS` the client offers
    // (axum picks in the server's order, whatever order the client listed them in).
    let offered: Vec<&str> = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let protocol = PROTOCOLS
        .iter()
        .find(|p| offered.contains(p))
        .and_then(|p| p.parse::<WebSocketProtocols>().ok())
        .unwrap_or(WebSocketProtocols::GraphQLWS);
    let counters = &st.ws;
    let full = || {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "too many websocket connections",
        )
            .into_response()
    };
    // A socket that could not be served once authenticated is refused before it waits.
    if counters.authenticated.load(Ordering::Relaxed) >= config.ws_max_connections {
        st.app.metrics.record_refused("ws_capacity");
        return full();
    }
    // Until `connection_init` proves who it is, a socket holds a place among the pending
    // ones only (ended after WS_INIT_TIMEOUT_MS), and one of its IP's.
    let Some(pending) = counters.take(Slot::Pending, config.ws_max_pending) else {
        st.app.metrics.record_refused("ws_pending_capacity");
        return full();
    };
    let pending_from = match meta.and_then(|Extension(m)| m.ip) {
        Some(ip) => match counters.take(
            Slot::Keyed(Key::PendingFrom(ip)),
            config.ws_max_pending_per_ip,
        ) {
            Some(held) => Some(held),
            None => {
                st.app.metrics.record_refused("ws_pending_per_ip");
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    "too many unauthenticated websocket connections from this address",
                )
                    .into_response();
            }
        },
        None => None,
    };
    let max_message = config.ws_max_message_bytes;
    upgrade
        .protocols(PROTOCOLS)
        // A 1 KiB read buffer instead of 128 KiB: it is allocated for the connection's life
        // (idle ones included) and zero-filled per read, and clients send small messages
        // (a larger frame reserves its own room). DESIGN, websocket capacity; BENCHMARKS.
        .read_buffer_size(1024)
        .max_message_size(max_message)
        .max_frame_size(max_message)
        .on_upgrade(move |socket| serve(socket, st, protocol, (pending, pending_from)))
}

async fn close(sink: &mut (impl futures_util::Sink<Message> + Unpin), code: u16, reason: &str) {
    let _ = sink
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })))
        .await;
    let _ = sink.close().await;
}

fn token_of(payload: &serde_json::Value) -> Option<String> {
    let raw = payload
        .get("authorization")
        .or_else(|| payload.get("Authorization"))
        .or_else(|| payload.get("token"))?
        .as_str()?;
    let token = raw
        .strip_prefix("Bearer ")
        .or_else(|| raw.strip_prefix("bearer "))
        .unwrap_or(raw)
        .trim();
    (!token.is_empty()).then(|| token.to_string())
}

/// Runs one socket; `pending` holds its places among the not-yet-authenticated ones until
/// it authenticates.
async fn serve(
    socket: WebSocket,
    st: GqlState,
    protocol: WebSocketProtocols,
    pending: (Held, Option<Held>),
) {
    // The connection's task is sized for the largest state of this future, and an idle
    // subscriber keeps it for hours: opening (the token's database lookups alone are ~2 KiB
    // of future) is boxed, so it is freed once done, and the open connection is one box the
    // loop borrows, so it is not held twice in the task.
    if let Some(mut open) = Box::pin(open(socket, st, protocol, pending)).await {
        open.run().await;
    }
}

/// An authenticated connection, acknowledged, with what its loop needs.
struct Open {
    /// Read and written in turn by one task: not split, so no lock between the halves.
    socket: WebSocket,
    gql: GqlWebSocket<Inbox, AppSchema, DefaultOnConnInitType, DefaultOnPingType>,
    inbox: Inbox,
    hub: Arc<Hub>,
    data: Arc<Data>,
    registration: Registration,
    ping_interval: std::time::Duration,
    /// Its places under the caps, given back when the connection ends.
    _held: (Held, Held),
}

/// Reads `connection_init`, authenticates it and acknowledges it: the connection ready for
/// its loop, or `None` once it was refused (and closed).
async fn open(
    mut socket: WebSocket,
    st: GqlState,
    protocol: WebSocketProtocols,
    pending: (Held, Option<Held>),
) -> Option<Box<Open>> {
    let config = st.app.config.clone();
    // 1. The first message must be connection_init, in time.
    let first = tokio::time::timeout(config.ws_init_timeout, async {
        while let Some(Ok(msg)) = socket.next().await {
            match msg {
                Message::Text(t) => return Some(t.as_str().to_string()),
                Message::Binary(b) => return Some(String::from_utf8_lossy(&b).into_owned()),
                Message::Close(_) => return None,
                _ => continue,
            }
        }
        None
    })
    .await;
    // Closes the socket with this code and reason, and ends the opening.
    macro_rules! refuse {
        ($code:expr, $reason:expr) => {{
            close(&mut socket, $code, $reason).await;
            return None;
        }};
    }
    let text = match first {
        Err(_) => refuse!(4408, "Connection initialisation timeout"),
        Ok(None) => return None,
        Ok(Some(t)) => t,
    };
    let msg: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    if msg.get("type").and_then(|t| t.as_str()) != Some("connection_init") {
        refuse!(4401, "Unauthorized");
    }
    let payload = msg.get("payload").cloned().unwrap_or_default();
    // 2. Authenticate.
    let Some(token) = token_of(&payload) else {
        refuse!(4403, "Forbidden");
    };
    let viewer = match Viewer::from_bearer(&st.app.db, &st.app.keys, Some(&token)).await {
        Ok(v @ (Viewer::User(_) | Viewer::Client(_))) => v,
        _ => refuse!(4403, "Forbidden"),
    };
    drop(pending);
    let (key, max_per_key, expires_at) = match &viewer {
        Viewer::Client(c) => (
            Key::Client(c.id),
            config.ws_max_connections_per_client,
            // The token lives a year: the connection's streams end long before (DESIGN §7.2).
            chrono::Duration::from_std(config.ws_client_session_max)
                .ok()
                .map(|d| Utc::now() + d),
        ),
        Viewer::User(u) => (
            Key::User(u.id),
            config.ws_max_connections_per_user,
            st.app.keys.access_expiry(&token),
        ),
        Viewer::Anonymous { .. } => refuse!(4403, "Forbidden"),
    };
    let Some(authenticated) = st.ws.take(Slot::Authenticated, config.ws_max_connections) else {
        st.app.metrics.record_refused("ws_capacity");
        refuse!(1013, "Try again later");
    };
    let Some(per_key) = st.ws.take(Slot::Keyed(key), max_per_key) else {
        refuse!(4429, "Too many connections");
    };
    // Revocations (events, and the periodic re-check) end the connection through this.
    let registration = st.app.sessions.register(viewer.clone());
    let session = Session {
        viewer,
        expires_at,
        open: Arc::default(),
        max: config.ws_max_subscriptions,
    };
    let hub = Arc::new(Hub {
        feeds: st.feeds.clone(),
        schema: st.schema.clone(),
        metrics: st.app.metrics.clone(),
        session: session.clone(),
        buffer: config.event_buffer,
        word: match protocol {
            WebSocketProtocols::GraphQLWS => "next",
            WebSocketProtocols::SubscriptionsTransportWS => "data",
        },
    });
    let mut data = Data::default();
    data.insert(session);
    drop(st);
    // 3. async-graphql's protocol machine answers everything but `subscribe` and
    // `complete` (pings, a second init, malformed messages: exactly as before), starting
    // with the init message replayed. Operations are run here (`feeds.rs`), so that a
    // subscription's events can come from a shared feed.
    let inbox = Inbox::default();
    inbox.push(ClientMessage::from_bytes(text.as_bytes()));
    drop(text);
    // The token was checked above: the machine's default `connection_init` handler accepts.
    let mut gql = GqlWebSocket::from_message_stream(hub.schema.clone(), inbox.clone(), protocol);
    // The ack goes out before any operation's first message, as it did.
    match gql.next().await {
        Some(WsMessage::Text(t)) => socket.send(Message::Text(t.into())).await.ok()?,
        Some(WsMessage::Close(code, reason)) => refuse!(code, &reason),
        None => return None,
    }
    Some(Box::new(Open {
        socket,
        gql,
        inbox,
        hub,
        data: Arc::new(data),
        registration,
        ping_interval: config.ws_ping_interval,
        _held: (authenticated, per_key),
    }))
}

impl Open {
    /// Serves the connection until it ends.
    async fn run(&mut self) {
        let Self {
            socket,
            gql,
            inbox,
            hub,
            data,
            registration,
            ping_interval,
            _held,
        } = self;
        let mut operations: HashMap<String, BoxStream<'static, Outgoing>> = HashMap::new();
        let mut ping = tokio::time::interval(*ping_interval);
        ping.tick().await;
        // Made once, not per message: each wake-up of an idle connection polls the futures
        // below, and a fresh `ended` future registers with the session's channel again.
        let ended = registration.ended();
        tokio::pin!(ended);
        // Closing is rare and its future not small: boxed, so the loop's state stays lean.
        let (code, reason) = loop {
            // Biased, in the order the protocol machine read and answered its input: what
            // the machine answers to one message goes out before the next message is read.
            let out = tokio::select! {
                biased;
                // The access this connection was granted is withdrawn: it ends, and a client
                // that reconnects is authenticated afresh (or refused).
                () = &mut ended => break (4403, "Forbidden".into()),
                out = gql.next() => match out {
                    Some(WsMessage::Text(t)) => Outgoing::from(t),
                    Some(WsMessage::Close(code, reason)) => break (code, reason),
                    None => return,
                },
                t = std::future::poll_fn(|cx| next_of(&mut operations, cx)) => t,
                m = socket.next() => {
                    let bytes = match m {
                        Some(Ok(Message::Text(t))) => t.as_str().as_bytes().to_vec(),
                        Some(Ok(Message::Binary(b))) => b.to_vec(),
                        Some(Ok(_)) => continue,
                        // An error ends the stream at its next read, as it ended the
                        // machine's.
                        Some(Err(_)) => continue,
                        None => return,
                    };
                    match ClientMessage::from_bytes(&bytes) {
                        Ok(ClientMessage::Start { id, payload }) => {
                            // A repeated id replaces the operation, silently, as the machine
                            // did.
                            let op = feeds::subscribe(hub, &id, payload, data.clone());
                            operations.insert(id, op);
                            continue;
                        }
                        Ok(ClientMessage::Stop { id }) => {
                            if operations.remove(&id).is_none() {
                                continue;
                            }
                            feeds::complete_message(&id).into()
                        }
                        other => {
                            inbox.push(other);
                            continue;
                        }
                    }
                }
                _ = ping.tick() => {
                    if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                        return;
                    }
                    continue;
                }
            };
            // A feed's result is the same reference-counted bytes for every member with
            // this operation id: the send copies it into the socket's write buffer, nothing
            // more.
            if socket.send(Message::Text(out.text.clone())).await.is_err() {
                return;
            }
            out.written(&hub.metrics);
        };
        Box::pin(close(socket, code, &reason)).await;
    }
}

/// The next message of the connection's operations: a result, or `complete` for one that
/// ended (then forgotten).
fn next_of(
    operations: &mut HashMap<String, BoxStream<'static, Outgoing>>,
    cx: &mut std::task::Context<'_>,
) -> Poll<Outgoing> {
    let mut ended = None;
    for (id, op) in operations.iter_mut() {
        match op.poll_next_unpin(cx) {
            Poll::Ready(Some(t)) => return Poll::Ready(t),
            Poll::Ready(None) => {
                ended = Some(id.clone());
                break;
            }
            Poll::Pending => {}
        }
    }
    match ended {
        Some(id) => {
            operations.remove(&id);
            Poll::Ready(feeds::complete_message(&id).into())
        }
        None => Poll::Pending,
    }
}

/// The messages for the protocol machine, fed by the connection's loop.
#[derive(Clone, Default)]
struct Inbox(Arc<Mutex<InboxState>>);

#[derive(Default)]
struct InboxState {
    queue: VecDeque<serde_json::Result<ClientMessage>>,
    waker: Option<Waker>,
}

impl Inbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, InboxState> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push(&self, m: serde_json::Result<ClientMessage>) {
        let mut s = self.lock();
        s.queue.push_back(m);
        if let Some(w) = s.waker.take() {
            w.wake();
        }
    }
}

impl futures_util::Stream for Inbox {
    type Item = serde_json::Result<ClientMessage>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<Self::Item>> {
        let mut s = self.lock();
        match s.queue.pop_front() {
            Some(m) => {
                // A message is several hundred bytes: an idle connection keeps no room for
                // them.
                if s.queue.is_empty() {
                    s.queue = VecDeque::new();
                }
                Poll::Ready(Some(m))
            }
            None => {
                if !s.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    s.waker = Some(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size of the future an `async fn` of four arguments returns, without calling it.
    fn future_size<A, B, C, D, F>(_: fn(A, B, C, D) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    #[test]
    fn an_open_connection_keeps_its_loop_and_not_its_opening() {
        let (serve, open) = (future_size(serve), future_size(open));
        // Each idle subscriber's task holds `serve` for the connection's life: the opening
        // (authentication's database lookups) lives in a box freed before the loop.
        assert!(
            serve < open / 2,
            "the connection's task is {serve} bytes, its opening {open}"
        );
    }
}

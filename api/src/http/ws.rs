//! GraphQL over websocket at `/graphql/ws` (`graphql-transport-ws`, and the older
//! `graphql-ws`). async-graphql's ready-made service accepts anyone and never times out a
//! silent socket, so the handshake is done here: the first message must be
//! `connection_init` carrying a valid token (`{"authorization": "Bearer …"}`) within
//! `WS_INIT_TIMEOUT_MS`, else the socket is closed with 4403 (bad token) or 4408 (no init).
//! Then async-graphql's protocol machine runs with the caller's session as connection data.

use super::graphql::GqlState;
use crate::{
    auth::{Viewer, tokens::API_TOKEN_PREFIX},
    events::session::Session,
};
use async_graphql::{
    Data,
    http::{WebSocket as GqlWebSocket, WebSocketProtocols, WsMessage},
};
use axum::{
    extract::{
        State,
        ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade},
    },
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures_util::{SinkExt as _, StreamExt as _, stream};
use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};
use uuid::Uuid;

/// The subprotocols served, in order of preference.
const PROTOCOLS: [&str; 2] = ["graphql-transport-ws", "graphql-ws"];

/// Open connections, in total and per user, for the caps.
#[derive(Default)]
pub struct WsCounters {
    total: AtomicUsize,
    per_user: Mutex<HashMap<Uuid, usize>>,
}

struct TotalGuard(Arc<WsCounters>);

impl Drop for TotalGuard {
    fn drop(&mut self) {
        self.0.total.fetch_sub(1, Ordering::Relaxed);
    }
}

struct UserGuard(Arc<WsCounters>, Uuid);

impl Drop for UserGuard {
    fn drop(&mut self) {
        if let Ok(mut m) = self.0.per_user.lock()
            && let Some(n) = m.get_mut(&self.1)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(&self.1);
            }
        }
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
    let counters = st.ws.clone();
    if counters.total.fetch_add(1, Ordering::Relaxed) >= config.ws_max_connections {
        counters.total.fetch_sub(1, Ordering::Relaxed);
        st.app.metrics.record_refused("ws_capacity");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "too many websocket connections",
        )
            .into_response();
    }
    let guard = TotalGuard(counters);
    let max_message = config.ws_max_message_bytes;
    upgrade
        .protocols(PROTOCOLS)
        // A 4 KiB read buffer instead of 128 KiB: ~10x less memory per idle connection and
        // less zero-filling per read (DESIGN, websocket capacity).
        .read_buffer_size(4096)
        .max_message_size(max_message)
        .max_frame_size(max_message)
        .on_upgrade(move |socket| async move {
            serve(socket, st, protocol).await;
            drop(guard);
        })
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

async fn serve(socket: WebSocket, st: GqlState, protocol: WebSocketProtocols) {
    let config = st.app.config.clone();
    let (mut sink, mut stream) = socket.split();
    // 1. The first message must be connection_init, in time.
    let first = tokio::time::timeout(config.ws_init_timeout, async {
        while let Some(Ok(msg)) = stream.next().await {
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
    let text = match first {
        Err(_) => return close(&mut sink, 4408, "Connection initialisation timeout").await,
        Ok(None) => return,
        Ok(Some(t)) => t,
    };
    let msg: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    if msg.get("type").and_then(|t| t.as_str()) != Some("connection_init") {
        return close(&mut sink, 4401, "Unauthorized").await;
    }
    let payload = msg.get("payload").cloned().unwrap_or_default();
    // 2. Authenticate.
    let Some(token) = token_of(&payload) else {
        return close(&mut sink, 4403, "Forbidden").await;
    };
    let viewer = match Viewer::from_bearer(&st.app.db, &st.app.keys, Some(&token)).await {
        Ok(v @ (Viewer::User(_) | Viewer::Client(_))) => v,
        _ => return close(&mut sink, 4403, "Forbidden").await,
    };
    let expires_at = if token.starts_with(API_TOKEN_PREFIX) {
        None
    } else {
        st.app.keys.access_expiry(&token)
    };
    let _user_guard = match viewer.user_id() {
        Some(uid) => {
            let over = {
                let mut m = st.ws.per_user.lock().unwrap_or_else(|p| p.into_inner());
                let n = m.entry(uid).or_default();
                *n += 1;
                *n > config.ws_max_connections_per_user
            };
            let g = UserGuard(st.ws.clone(), uid);
            if over {
                return close(&mut sink, 4429, "Too many connections").await;
            }
            Some(g)
        }
        None => None,
    };
    let session = Session {
        viewer,
        expires_at,
        open: Arc::default(),
        max: config.ws_max_subscriptions,
    };
    // 3. Hand over to the protocol machine, replaying the init message.
    let input =
        stream::once(async move { text.into_bytes() }).chain(stream.filter_map(|m| async move {
            match m {
                Ok(Message::Text(t)) => Some(t.as_str().as_bytes().to_vec()),
                Ok(Message::Binary(b)) => Some(b.to_vec()),
                _ => None,
            }
        }));
    let mut data = Data::default();
    data.insert(session);
    let mut gql = GqlWebSocket::new(st.schema.clone(), Box::pin(input), protocol)
        .on_connection_init(move |_| futures_util::future::ready(Ok(data)));
    let mut ping = tokio::time::interval(config.ws_ping_interval);
    ping.tick().await;
    loop {
        tokio::select! {
            out = gql.next() => match out {
                Some(WsMessage::Text(t)) => {
                    if sink.send(Message::Text(t.into())).await.is_err() {
                        break;
                    }
                }
                Some(WsMessage::Close(code, reason)) => {
                    close(&mut sink, code, &reason).await;
                    break;
                }
                None => break,
            },
            _ = ping.tick() => {
                if sink.send(Message::Ping(Vec::new().into())).await.is_err() {
                    break;
                }
            }
        }
    }
}

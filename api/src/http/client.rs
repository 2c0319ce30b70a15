//! Request metadata: id, client IP (honouring `X-Forwarded-For` only from trusted proxies)
//! and user agent, computed once by a middleware.

use crate::{error::REQUEST_ID, state::AppState};
use axum::{
    extract::{ConnectInfo, Request, State},
    http::HeaderValue,
    middleware::Next,
    response::Response,
};
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// What the HTTP layer knows about a request's origin.
#[derive(Clone, Debug)]
pub struct RequestMeta {
    /// The request id (the client's `X-Request-Id` when it is sane, else a new one).
    pub id: String,
    /// The client's IP.
    pub ip: Option<IpAddr>,
    /// The client's user agent.
    pub user_agent: Option<String>,
}

/// The client IP: the peer, unless the peer is a trusted proxy, in which case the right-most
/// `X-Forwarded-For` entry that is not itself a trusted proxy.
pub fn client_ip(peer: Option<IpAddr>, xff: Option<&str>, trusted: &[IpNet]) -> Option<IpAddr> {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    let peer = peer?;
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let Some(xff) = xff else { return Some(peer) };
    let mut candidate = peer;
    for part in xff.rsplit(',') {
        match part.trim().parse::<IpAddr>() {
            Ok(ip) => {
                candidate = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    Some(candidate)
}

fn sane_request_id(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 64
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Middleware: computes [`RequestMeta`], scopes the request id for error reports, and
/// returns it in `X-Request-Id`.
pub async fn request_meta(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let headers = req.headers();
    let id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| sane_request_id(v))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let xff = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
    let ip = client_ip(peer, xff, &app.config.trusted_proxies);
    let user_agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(512).collect());
    let meta = RequestMeta {
        id: id.clone(),
        ip,
        user_agent,
    };
    req.extensions_mut().insert(meta);
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
    let mut resp = {
        use tracing::Instrument as _;
        REQUEST_ID
            .scope(id.clone(), next.run(req))
            .instrument(span)
            .await
    };
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpNet = "10.0.0.0/8".parse().expect("cidr");
        let peer: IpAddr = "10.1.2.3".parse().expect("ip");
        let outsider: IpAddr = "203.0.113.9".parse().expect("ip");
        assert_eq!(
            client_ip(Some(outsider), Some("1.2.3.4"), &[proxy]),
            Some(outsider)
        );
        assert_eq!(
            client_ip(Some(peer), Some("1.2.3.4, 203.0.113.9, 10.0.0.7"), &[proxy]),
            Some(outsider)
        );
        assert_eq!(client_ip(Some(peer), None, &[proxy]), Some(peer));
    }
}

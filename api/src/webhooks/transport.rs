//! Sends one webhook delivery: resolve and check the target once ([`super::target`]),
//! connect to the checked address only (the client resolves nothing else), sign, POST.
//! Redirects are not followed and no proxy is used.

use super::{
    sign,
    target::{self, Resolver},
};
use std::{net::SocketAddr, sync::Arc, time::Duration};
use url::Url;
use uuid::Uuid;

/// What came of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The HTTP status the target answered, if it answered.
    pub status: Option<u16>,
    /// Why it failed, for the delivery log (no internal detail); `None` when delivered.
    pub error: Option<String>,
    /// Whether the target was refused before connecting (not https, or not public).
    pub refused: bool,
}

impl Attempt {
    /// Whether the target took the delivery (a 2xx answer).
    pub fn delivered(&self) -> bool {
        self.error.is_none()
    }
}

/// A resolver for the HTTP client that resolves nothing: the one name a send may reach is
/// pinned to its checked address, so any other lookup is an error.
struct NoDns;

impl reqwest::dns::Resolve for NoDns {
    fn resolve(&self, _: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async {
            Err::<reqwest::dns::Addrs, _>(Box::<dyn std::error::Error + Send + Sync>::from(
                "no lookups outside the check",
            ))
        })
    }
}

/// One signed POST of `body` to `url`.
pub async fn deliver(
    url: &str,
    secret: &str,
    event_id: Uuid,
    body: &str,
    resolver: &dyn Resolver,
    allow_private: bool,
    timeout: Duration,
) -> Attempt {
    let failed = |error: String| Attempt {
        status: None,
        error: Some(error),
        refused: false,
    };
    let Ok(url) = Url::parse(url) else {
        return failed("the URL does not parse".into());
    };
    let pinned = match target::resolve(&url, resolver, allow_private).await {
        Ok(p) => p,
        Err(target::Refusal(why)) => {
            return Attempt {
                refused: true,
                ..failed(why)
            };
        }
    };
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent("LifeFlow-Webhooks/1")
        .dns_resolver(Arc::new(NoDns));
    if let Some(host) = &pinned.host {
        builder = builder.resolve(host, SocketAddr::new(pinned.addr.ip(), 0));
    }
    let client = match builder.build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook client could not be built");
            return failed("internal error".into());
        }
    };
    let timestamp = chrono::Utc::now().timestamp();
    let sent = client
        .post(url)
        .header("content-type", "application/json")
        .header(sign::EVENT_ID, event_id.to_string())
        .header(sign::TIMESTAMP, timestamp.to_string())
        .header(
            sign::SIGNATURE,
            sign::signature(secret, timestamp, body.as_bytes()),
        )
        .body(body.to_string())
        .send()
        .await;
    match sent {
        Ok(r) if r.status().is_success() => Attempt {
            status: Some(r.status().as_u16()),
            error: None,
            refused: false,
        },
        Ok(r) => Attempt {
            status: Some(r.status().as_u16()),
            error: Some(format!("the target answered {}", r.status().as_u16())),
            refused: false,
        },
        Err(e) if e.is_timeout() => failed("timed out".into()),
        Err(e) if e.is_connect() => failed("could not connect".into()),
        Err(_) => failed("the request failed".into()),
    }
}

//! Redis pub/sub transport. Publishing goes through the shared connection manager (which
//! reconnects by itself); receiving runs on a dedicated pub/sub connection that is re-opened
//! with backoff whenever it drops, so fan-out resumes when Redis returns.

use super::{Envelope, Event, Transport};
use crate::redis_link::RedisLink;
use futures_util::StreamExt as _;
use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};
use tokio::sync::broadcast;
use uuid::Uuid;

/// Redis pub/sub on one channel.
pub struct RedisTransport {
    link: RedisLink,
    channel: String,
    subscribed: Arc<AtomicBool>,
}

impl RedisTransport {
    /// Starts the receiving loop, which feeds other instances' events into `local`.
    pub fn start(
        url: String,
        link: RedisLink,
        channel: String,
        instance: Uuid,
        local: broadcast::Sender<Arc<Event>>,
    ) -> Self {
        let subscribed = Arc::new(AtomicBool::new(false));
        let flag = subscribed.clone();
        let ch = channel.clone();
        tokio::spawn(async move {
            let mut delay = Duration::from_millis(100);
            loop {
                match receive(&url, &ch, instance, &local, &flag).await {
                    Ok(()) => tracing::warn!("redis pub/sub stream ended; reconnecting"),
                    Err(e) => {
                        tracing::warn!(error = %e, "redis pub/sub unavailable; local delivery only, retrying")
                    }
                }
                flag.store(false, Ordering::Relaxed);
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        });
        Self {
            link,
            channel,
            subscribed,
        }
    }
}

async fn receive(
    url: &str,
    channel: &str,
    instance: Uuid,
    local: &broadcast::Sender<Arc<Event>>,
    flag: &AtomicBool,
) -> Result<(), redis::RedisError> {
    let client = redis::Client::open(url)?;
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channel).await?;
    flag.store(true, Ordering::Relaxed);
    tracing::info!(channel, "subscribed to redis events");
    let mut messages = pubsub.on_message();
    while let Some(msg) = messages.next().await {
        let Ok(payload) = msg.get_payload::<String>() else {
            continue;
        };
        match serde_json::from_str::<Envelope>(&payload) {
            Ok(env) if env.origin != instance => {
                let _ = local.send(Arc::new(env.event));
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "unreadable event on the bus"),
        }
    }
    Ok(())
}

#[async_trait::async_trait]
impl Transport for RedisTransport {
    async fn publish(&self, envelope: &Envelope) {
        let Ok(payload) = serde_json::to_string(envelope) else {
            return;
        };
        let Some(mut conn) = self.link.conn().await else {
            tracing::warn!("redis not connected; event delivered on this instance only");
            return;
        };
        let cmd = redis::cmd("PUBLISH")
            .arg(&self.channel)
            .arg(payload)
            .to_owned();
        let sent = tokio::time::timeout(
            Duration::from_millis(500),
            cmd.query_async::<i64>(&mut conn),
        )
        .await;
        if !matches!(sent, Ok(Ok(_))) {
            tracing::warn!("redis publish failed; event delivered on this instance only");
        }
    }

    fn state(&self) -> &'static str {
        if self.subscribed.load(Ordering::Relaxed) {
            "up"
        } else {
            "down"
        }
    }
}

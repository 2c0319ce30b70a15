//! Redis pub/sub transport. Publishing goes through the shared connection manager (which
//! reconnects by itself) from a background task, so a mutation never waits on Redis: it
//! queues its events, and the task sends whatever has queued up in one pipeline. Receiving
//! runs on a dedicated pub/sub connection that is re-opened with backoff whenever it drops,
//! so fan-out resumes when Redis returns.

use super::{Envelope, Event, Transport};
use crate::redis_link::RedisLink;
use futures_util::StreamExt as _;
use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};
use tokio::sync::{broadcast, mpsc};
use uuid::Uuid;

/// Events waiting to be sent to Redis; beyond this (Redis slow or gone) new ones are sent on
/// this instance only.
const OUTBOX: usize = 10_000;
/// Events per pipeline.
const BATCH: usize = 256;

/// Redis pub/sub on one channel.
pub struct RedisTransport {
    outbox: mpsc::Sender<String>,
    subscribed: Arc<AtomicBool>,
    subscriptions: Arc<AtomicU64>,
}

/// Whether this instance hears the other instances' events now, and since which
/// subscription: what is kept from their events (the viewer cache) cannot be trusted while
/// it does not, nor across a reconnection (what was published meanwhile is lost).
#[derive(Clone)]
pub struct Hearing {
    subscribed: Arc<AtomicBool>,
    subscriptions: Arc<AtomicU64>,
}

impl Hearing {
    /// The current subscription's number, or `None` while unsubscribed.
    pub fn current(&self) -> Option<u64> {
        self.subscribed
            .load(Ordering::Acquire)
            .then(|| self.subscriptions.load(Ordering::Acquire))
    }
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
        let subscriptions = Arc::new(AtomicU64::new(0));
        let flag = subscribed.clone();
        let count = subscriptions.clone();
        let ch = channel.clone();
        tokio::spawn(async move {
            let mut delay = Duration::from_millis(100);
            loop {
                match receive(&url, &ch, instance, &local, &flag, &count).await {
                    Ok(()) => tracing::warn!("redis pub/sub stream ended; reconnecting"),
                    Err(e) => {
                        tracing::warn!(error = %e, "redis pub/sub unavailable; local delivery only, retrying")
                    }
                }
                // After a connection that worked, start the backoff over: Redis restarting
                // an hour after an earlier outage should not wait out that outage's delay.
                if flag.swap(false, Ordering::Relaxed) {
                    delay = Duration::from_millis(100);
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        });
        let (outbox, queued) = mpsc::channel(OUTBOX);
        tokio::spawn(send_loop(link, channel, queued));
        Self {
            outbox,
            subscribed,
            subscriptions,
        }
    }

    /// Whether (and since when) this instance hears the others.
    pub fn hearing(&self) -> Hearing {
        Hearing {
            subscribed: self.subscribed.clone(),
            subscriptions: self.subscriptions.clone(),
        }
    }
}

/// Sends queued events in order, as many as have queued up per round trip. When Redis is
/// gone a batch costs one timeout and is dropped (pub/sub keeps nothing for absent
/// listeners anyway; clients catch up with `alerts(filter: {createdAfter})`).
async fn send_loop(link: RedisLink, channel: String, mut queued: mpsc::Receiver<String>) {
    let mut batch = Vec::with_capacity(BATCH);
    while queued.recv_many(&mut batch, BATCH).await > 0 {
        let n = batch.len();
        let Some(mut conn) = link.conn().await else {
            batch.clear();
            tracing::warn!(
                events = n,
                "redis not connected; events delivered on this instance only"
            );
            continue;
        };
        let mut pipe = redis::pipe();
        for payload in batch.drain(..) {
            pipe.cmd("PUBLISH").arg(&channel).arg(payload).ignore();
        }
        let sent =
            tokio::time::timeout(Duration::from_millis(500), pipe.exec_async(&mut conn)).await;
        if !matches!(sent, Ok(Ok(()))) {
            tracing::warn!(
                events = n,
                "redis publish failed; events delivered on this instance only"
            );
        }
    }
}

async fn receive(
    url: &str,
    channel: &str,
    instance: Uuid,
    local: &broadcast::Sender<Arc<Event>>,
    flag: &AtomicBool,
    subscriptions: &AtomicU64,
) -> Result<(), redis::RedisError> {
    let client = redis::Client::open(url)?;
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channel).await?;
    subscriptions.fetch_add(1, Ordering::AcqRel);
    flag.store(true, Ordering::Release);
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
        if self.outbox.try_send(payload).is_err() {
            tracing::warn!("redis outbox full; event delivered on this instance only");
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

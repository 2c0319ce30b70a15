//! The Redis connection, when `REDIS_URL` is set. The server never depends on it to serve:
//! if Redis is down at start or goes away later, callers fall back and the link reconnects.

use redis::aio::ConnectionManager;
use std::{sync::Arc, time::Duration};
use tokio::sync::RwLock;

/// A shared, self-healing Redis connection.
#[derive(Clone)]
pub struct RedisLink {
    manager: Arc<RwLock<Option<ConnectionManager>>>,
}

impl RedisLink {
    /// Starts connecting; returns at once. The first connection is retried in the background
    /// until it succeeds; after that the connection manager reconnects by itself.
    pub fn start(url: String) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let link = Self {
            manager: Arc::new(RwLock::new(None)),
        };
        let slot = link.manager.clone();
        tokio::spawn(async move {
            let mut delay = Duration::from_millis(200);
            loop {
                match ConnectionManager::new(client.clone()).await {
                    Ok(m) => {
                        tracing::info!("redis connected");
                        *slot.write().await = Some(m);
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "redis unreachable; retrying");
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(10));
                    }
                }
            }
        });
        Ok(link)
    }

    /// Waits up to `timeout` for the first connection.
    pub async fn wait_connected(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while tokio::time::Instant::now() < deadline {
            if self.manager.read().await.is_some() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    /// A connection handle, if connected.
    pub async fn conn(&self) -> Option<ConnectionManager> {
        self.manager.read().await.clone()
    }

    /// Whether Redis answers a PING now.
    pub async fn ping(&self) -> bool {
        let Some(mut c) = self.conn().await else {
            return false;
        };
        let cmd = redis::cmd("PING");
        let ping = cmd.query_async::<String>(&mut c);
        matches!(
            tokio::time::timeout(Duration::from_millis(500), ping).await,
            Ok(Ok(_))
        )
    }
}

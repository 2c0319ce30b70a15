//! Fixed-window counters of failed logins, per account and per IP: in Redis when configured
//! (so every instance sees the same counts), in process otherwise.

use crate::{error::AppError, redis_link::RedisLink};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// Counts failures in windows and answers whether a key is blocked.
#[derive(Clone)]
pub struct RateLimiter {
    prefix: String,
    window: Duration,
    redis: Option<RedisLink>,
    local: Arc<Mutex<HashMap<String, (u32, Instant)>>>,
}

impl RateLimiter {
    /// A limiter whose keys start with `prefix`.
    pub fn new(prefix: String, window: Duration, redis: Option<RedisLink>) -> Self {
        Self {
            prefix,
            window,
            redis,
            local: Arc::default(),
        }
    }

    fn key(&self, name: &str) -> String {
        format!("{}:rl:{}", self.prefix, name)
    }

    /// Refuses with `RATE_LIMITED` when `name` has `max` or more failures in the window.
    pub async fn check(&self, name: &str, max: u32) -> Result<(), AppError> {
        let (count, ttl) = self.read(&self.key(name)).await;
        if count >= max {
            return Err(AppError::RateLimited {
                retry_after_secs: ttl.as_secs().max(1),
            });
        }
        Ok(())
    }

    /// Records a failure for `name`.
    pub async fn hit(&self, name: &str) {
        let key = self.key(name);
        if let Some(link) = &self.redis
            && let Some(mut c) = link.conn().await
        {
            let r: Result<(u32, bool), _> = redis::pipe()
                .atomic()
                .incr(&key, 1u32)
                .cmd("EXPIRE")
                .arg(&key)
                .arg(self.window.as_secs())
                .arg("NX")
                .query_async(&mut c)
                .await;
            match r {
                Ok(_) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "rate limit: redis failed; counting in process")
                }
            }
        }
        let mut map = self.local.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let entry = map.entry(key).or_insert((0, now));
        if now.duration_since(entry.1) >= self.window {
            *entry = (0, now);
        }
        entry.0 += 1;
    }

    /// Forgets the failures of `name` (after a successful login).
    pub async fn clear(&self, name: &str) {
        let key = self.key(name);
        if let Some(link) = &self.redis
            && let Some(mut c) = link.conn().await
        {
            let _: Result<(), _> = redis::cmd("DEL").arg(&key).query_async(&mut c).await;
        }
        self.local
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key);
    }

    async fn read(&self, key: &str) -> (u32, Duration) {
        if let Some(link) = &self.redis
            && let Some(mut c) = link.conn().await
        {
            let r: Result<(Option<u32>, i64), _> =
                redis::pipe().get(key).ttl(key).query_async(&mut c).await;
            match r {
                Ok((n, ttl)) => {
                    let local = self.read_local(key);
                    let ttl = Duration::from_secs(ttl.max(0) as u64);
                    // Failures counted in process while Redis was away still count.
                    return (n.unwrap_or(0).max(local.0), ttl.max(local.1));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "rate limit: redis failed; reading in process")
                }
            }
        }
        self.read_local(key)
    }

    fn read_local(&self, key: &str) -> (u32, Duration) {
        let map = self.local.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(key) {
            Some((n, start)) if start.elapsed() < self.window => {
                (*n, self.window - start.elapsed())
            }
            _ => (0, Duration::ZERO),
        }
    }
}

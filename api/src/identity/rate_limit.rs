//! Fixed-window attempt counters (logins per account and IP, logins per IP, registrations
//! per IP): in Redis when configured (so every instance sees the same counts), in process
//! otherwise.
//!
//! An attempt is reserved before the work it limits (a password check, a hash), in one
//! atomic step that checks every limit and counts against all of them, so requests arriving
//! together cannot all read "under the limit" before any of them is counted.

use crate::{error::AppError, redis_link::RedisLink};
use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// Refuses when any key is at its maximum; otherwise counts one attempt against every key,
/// starting a key's window with its first attempt. `KEYS`: the counters; `ARGV[1]`: the
/// window in seconds; `ARGV[1 + i]`: the maximum of `KEYS[i]`. Answers `{1, 0}` when
/// reserved, `{0, ttl}` when refused.
const RESERVE: &str = r"
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[i + 1]) then
    return {0, redis.call('TTL', key)}
  end
end
for _, key in ipairs(KEYS) do
  redis.call('INCR', key)
  redis.call('EXPIRE', key, ARGV[1], 'NX')
end
return {1, 0}
";

/// Gives one attempt back, never below zero nor to a window that already ended (a DECR of a
/// missing key would create a counter without expiry).
const RELEASE: &str = r"
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then
  redis.call('DECR', KEYS[1])
end
return 0
";

/// The part of a client's address a per-IP limit counts: the address for IPv4, the /64 for
/// IPv6, since one subscriber usually holds a whole /64 and could rotate through it.
pub fn ip_bucket(ip: Option<IpAddr>) -> String {
    match ip.map(|i| i.to_canonical()) {
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Some(v4) => v4.to_string(),
        None => "unknown".into(),
    }
}

/// Counts attempts in windows and reserves them atomically.
#[derive(Clone)]
pub struct RateLimiter {
    prefix: String,
    window: Duration,
    redis: Option<RedisLink>,
    local: Arc<Mutex<Local>>,
}

/// Where a reservation was counted, so that giving it back goes to the same place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserved {
    /// In Redis, shared by every instance.
    Shared,
    /// In this process (no Redis, or Redis failed).
    Local,
}

impl RateLimiter {
    /// A limiter whose keys start with `prefix`.
    pub fn new(prefix: String, window: Duration, redis: Option<RedisLink>) -> Self {
        Self {
            prefix,
            window,
            redis,
            local: Arc::new(Mutex::new(Local::new(window, Instant::now()))),
        }
    }

    fn key(&self, name: &str) -> String {
        format!("{}:rl:{}", self.prefix, name)
    }

    /// Reserves one attempt under every `(name, max)` limit at once, or refuses with
    /// `RATE_LIMITED` when any of them already has `max` attempts in its window (then
    /// nothing is counted). The attempt stays counted unless [`RateLimiter::release`]d.
    ///
    /// Without Redis, or when Redis is unreachable, attempts are counted in this process (so
    /// each instance allows the limit); when Redis answers too late to know whether it
    /// counted, the attempt is refused.
    pub async fn reserve(&self, limits: &[(&str, u32)]) -> Result<Reserved, AppError> {
        let keys: Vec<(String, u32)> = limits.iter().map(|(n, m)| (self.key(n), *m)).collect();
        if let Some(link) = &self.redis
            && let Some(mut c) = link.conn().await
        {
            // Attempts counted in process while Redis was away still count.
            let local = self.lock().counts(&keys, Instant::now());
            let mut cmd = redis::cmd("EVAL");
            cmd.arg(RESERVE)
                .arg(keys.len())
                .arg(keys.iter().map(|(k, _)| k).collect::<Vec<_>>())
                .arg(self.window.as_secs().max(1));
            for ((_, max), used) in keys.iter().zip(local) {
                cmd.arg(max.saturating_sub(used));
            }
            match cmd.query_async::<(u8, i64)>(&mut c).await {
                Ok((1, _)) => return Ok(Reserved::Shared),
                Ok((_, ttl)) => return Err(limited(Duration::from_secs(ttl.max(1) as u64))),
                // The script may have run and counted; granting the attempt here as well
                // would let a storm that slows the server buy extra guesses.
                Err(e) if e.is_timeout() => {
                    tracing::warn!(error = %e, "rate limit: redis answered late; attempt refused");
                    return Err(limited(Duration::from_secs(1)));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "rate limit: redis failed; counting in process")
                }
            }
        }
        self.lock()
            .reserve(&keys, Instant::now())
            .map(|()| Reserved::Local)
            .map_err(limited)
    }

    /// Gives back one attempt of `name` reserved by `reserved` (a login that succeeded does
    /// not count against its IP).
    pub async fn release(&self, reserved: Reserved, name: &str) {
        let key = self.key(name);
        if reserved == Reserved::Shared {
            if let Some(link) = &self.redis
                && let Some(mut c) = link.conn().await
            {
                let r: Result<i64, _> = redis::cmd("EVAL")
                    .arg(RELEASE)
                    .arg(1)
                    .arg(&key)
                    .query_async(&mut c)
                    .await;
                if let Err(e) = r {
                    tracing::warn!(error = %e, "rate limit: redis failed; attempt stays counted");
                }
            }
            return;
        }
        self.lock().release(&key, Instant::now());
    }

    /// Forgets every attempt of `name`.
    pub async fn clear(&self, name: &str) {
        let key = self.key(name);
        if let Some(link) = &self.redis
            && let Some(mut c) = link.conn().await
        {
            let _: Result<(), _> = redis::cmd("DEL").arg(&key).query_async(&mut c).await;
        }
        self.lock().counts.remove(&key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Local> {
        self.local.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn limited(wait: Duration) -> AppError {
    AppError::RateLimited {
        retry_after_secs: wait.as_secs().max(1),
    }
}

/// The in-process counters: `(attempts, window start)` by key. Windows that ended are swept
/// out at most once a window, so the map holds only the keys of the last two windows.
struct Local {
    window: Duration,
    counts: HashMap<String, (u32, Instant)>,
    last_sweep: Instant,
}

impl Local {
    fn new(window: Duration, now: Instant) -> Self {
        Self {
            window,
            counts: HashMap::new(),
            last_sweep: now,
        }
    }

    /// The attempts of each key in its current window.
    fn counts(&self, keys: &[(String, u32)], now: Instant) -> Vec<u32> {
        keys.iter()
            .map(|(k, _)| match self.counts.get(k) {
                Some((n, start)) if self.current(*start, now) => *n,
                _ => 0,
            })
            .collect()
    }

    fn reserve(&mut self, keys: &[(String, u32)], now: Instant) -> Result<(), Duration> {
        self.sweep(now);
        for ((key, max), used) in keys.iter().zip(self.counts(keys, now)) {
            if used >= *max {
                let start = self.counts.get(key).map_or(now, |(_, s)| *s);
                return Err(self
                    .window
                    .saturating_sub(now.saturating_duration_since(start)));
            }
        }
        for (key, _) in keys {
            let entry = self.counts.entry(key.clone()).or_insert((0, now));
            if now.saturating_duration_since(entry.1) >= self.window {
                *entry = (0, now);
            }
            entry.0 += 1;
        }
        Ok(())
    }

    fn release(&mut self, key: &str, now: Instant) {
        let window = self.window;
        if let Some((n, start)) = self.counts.get_mut(key)
            && now.saturating_duration_since(*start) < window
        {
            *n = n.saturating_sub(1);
        }
    }

    fn sweep(&mut self, now: Instant) {
        if now.saturating_duration_since(self.last_sweep) < self.window {
            return;
        }
        let window = self.window;
        self.counts
            .retain(|_, (_, start)| now.saturating_duration_since(*start) < window);
        self.last_sweep = now;
    }

    /// Whether a window started at `start` is still open at `now`.
    fn current(&self, start: Instant, now: Instant) -> bool {
        now.saturating_duration_since(start) < self.window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(names: &[&str], max: u32) -> Vec<(String, u32)> {
        names.iter().map(|n| (n.to_string(), max)).collect()
    }

    #[test]
    fn counters_of_ended_windows_are_swept_out() {
        let window = Duration::from_secs(60);
        let t0 = Instant::now();
        let mut local = Local::new(window, t0);
        for i in 0..1000 {
            let _ = local.reserve(
                &keys(&[&format!("login:ip:10.0.{}.{}", i / 256, i % 256)], 5),
                t0,
            );
        }
        assert_eq!(local.counts.len(), 1000);

        let later = t0 + window + Duration::from_secs(1);
        let _ = local.reserve(&keys(&["login:ip:192.0.2.1"], 5), later);

        assert_eq!(local.counts.len(), 1);
    }

    #[test]
    fn a_reservation_counts_against_every_limit_or_none() {
        let t0 = Instant::now();
        let mut local = Local::new(Duration::from_secs(60), t0);
        let pair_and_ip = vec![("pair".to_string(), 1), ("ip".to_string(), 10)];
        assert!(local.reserve(&pair_and_ip, t0).is_ok());

        assert!(local.reserve(&pair_and_ip, t0).is_err());

        assert_eq!(local.counts(&keys(&["pair", "ip"], 0), t0), vec![1, 1]);
    }

    #[test]
    fn a_released_attempt_frees_its_slot_until_the_window_ends() {
        let window = Duration::from_secs(60);
        let t0 = Instant::now();
        let mut local = Local::new(window, t0);
        let ip = keys(&["ip"], 1);
        assert!(local.reserve(&ip, t0).is_ok());

        local.release("ip", t0);

        assert!(local.reserve(&ip, t0).is_ok());
        assert_eq!(
            local.reserve(&ip, t0 + Duration::from_secs(20)),
            Err(Duration::from_secs(40))
        );
        assert!(local.reserve(&ip, t0 + window).is_ok());
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_slash_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().expect("ip");
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("ip");
        assert_eq!(ip_bucket(Some(a)), ip_bucket(Some(b)));
        assert_eq!(ip_bucket(Some(a)), "2001:db8:1:2::/64");
        assert_eq!(ip_bucket(Some(mapped)), "192.0.2.7");
    }
}

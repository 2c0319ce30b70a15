//! The session of a subscriber: who is subscribed on one connection (established by the
//! transport's handshake, `connection_init` on the websocket), which every stream of the
//! connection reads; and this instance's registry of live sessions, which ends those a
//! revocation concerns.

use crate::auth::{Viewer, revocation::Revocation};
use chrono::{DateTime, Utc};
use std::{
    collections::{HashMap, VecDeque},
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};
use tokio::sync::watch;
use uuid::Uuid;

/// Who is subscribed on a connection, and its limits.
#[derive(Clone)]
pub struct Session {
    pub viewer: Viewer,
    /// When the token expires: every stream of the connection ends then.
    pub expires_at: Option<DateTime<Utc>>,
    /// Subscriptions open on the connection.
    pub open: Arc<AtomicUsize>,
    /// The most a connection may hold.
    pub max: usize,
}

impl Session {
    /// Takes one of the connection's `max` places for a stream, or `None` when all are taken.
    pub fn take_slot(&self) -> Option<StreamSlot> {
        if self.open.fetch_add(1, Ordering::Relaxed) >= self.max {
            self.open.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        Some(StreamSlot(self.open.clone()))
    }

    /// How long the connection's streams may still run: until the token expires (a year
    /// for a session without expiry).
    pub fn lifetime(&self) -> Duration {
        self.expires_at
            .map(|e| (e - Utc::now()).to_std().unwrap_or_default())
            .unwrap_or(Duration::from_secs(365 * 24 * 3600))
    }
}

/// What a subscriber that fell `n` events behind is told before its stream ends.
pub fn lagged_message(n: u64) -> String {
    format!(
        "you fell {n} events behind and were unsubscribed; resubscribe and fetch missed alerts with alerts(filter: {{createdAfter}})"
    )
}

/// A place among a connection's streams, given back when dropped.
pub struct StreamSlot(Arc<AtomicUsize>);

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What decides, besides the subscription document and its variables, which events a
/// stream delivers and every field of them. Subscribers whose streams have equal classes
/// receive the same bytes, so the transport resolves and serializes each event once for
/// all of them (`http/ws.rs`). A stream declares its class where it builds its filter, from
/// the same values the filter reads.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StreamClass {
    /// Every subscriber the stream admitted sees the same events: its filter reads only the
    /// stream's arguments.
    Admitted,
    /// Readers of these organizations' items (sorted, no repeats), or of all of them.
    Orgs { all: bool, orgs: Vec<Uuid> },
    /// One user's own stream.
    User(Uuid),
}

/// Set on a subscription's execution when the transport serves its events from a shared
/// feed: the stream runs every check it runs today, leaves here the slot it took and its
/// class, and ends without events. A stream refused by a check leaves nothing.
#[derive(Default)]
pub struct Admission(Mutex<Vec<(StreamSlot, StreamClass)>>);

impl Admission {
    /// Records an admitted stream.
    pub fn admit(&self, slot: StreamSlot, class: StreamClass) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((slot, class));
    }

    /// The admitted streams' slots and classes.
    pub fn take(&self) -> Vec<(StreamSlot, StreamClass)> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// How long a revocation is remembered for sessions that register after it arrived: a
/// session whose viewer was read just before the change committed registers just after its
/// event. Later stragglers are the periodic re-check's.
const REMEMBER: Duration = Duration::from_secs(10);

/// The live sessions of this instance. A revocation (from an event on the bus, or from the
/// periodic re-check) ends the sessions it concerns: a scan of this map in memory, no query.
#[derive(Default)]
pub struct Sessions {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    next: u64,
    live: HashMap<u64, Live>,
    recent: VecDeque<(Instant, Revocation)>,
}

impl Inner {
    fn forget_old(&mut self) {
        let now = Instant::now();
        while self
            .recent
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > REMEMBER)
        {
            self.recent.pop_front();
        }
    }
}

struct Live {
    viewer: Viewer,
    end: watch::Sender<bool>,
}

/// A live session's place in the registry; dropping it leaves the registry.
pub struct Registration {
    id: u64,
    sessions: Arc<Sessions>,
    ended: watch::Receiver<bool>,
}

impl Registration {
    /// Completes once the session's viewer no longer holds.
    pub async fn ended(&mut self) {
        if self.ended.wait_for(|e| *e).await.is_err() {
            // The registry never drops a sender before its registration: unreachable, but
            // "never" is the safe answer.
            std::future::pending::<()>().await;
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.sessions.lock().live.remove(&self.id);
    }
}

impl Sessions {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a session for `viewer`; it is ended at once if a revocation that arrived
    /// moments ago concerns it.
    pub fn register(self: &Arc<Self>, viewer: Viewer) -> Registration {
        let mut inner = self.lock();
        let (end, ended) = watch::channel(false);
        inner.forget_old();
        if inner.recent.iter().any(|(_, r)| r.ends(&viewer)) {
            end.send_replace(true);
        }
        inner.next += 1;
        let id = inner.next;
        inner.live.insert(id, Live { viewer, end });
        Registration {
            id,
            sessions: self.clone(),
            ended,
        }
    }

    /// Ends the live sessions `r` concerns; returns how many.
    pub fn revoke(&self, r: &Revocation) -> usize {
        let mut inner = self.lock();
        inner.forget_old();
        inner.recent.push_back((Instant::now(), r.clone()));
        let mut n = 0;
        for live in inner.live.values().filter(|l| r.ends(&l.viewer)) {
            live.end.send_replace(true);
            n += 1;
        }
        n
    }

    /// The live sessions' ids and viewers, for the re-check.
    pub fn snapshot(&self) -> Vec<(u64, Viewer)> {
        self.lock()
            .live
            .iter()
            .map(|(id, l)| (*id, l.viewer.clone()))
            .collect()
    }

    /// Ends the sessions with these ids (those still live).
    pub fn end(&self, ids: &[u64]) {
        let inner = self.lock();
        for id in ids {
            if let Some(l) = inner.live.get(id) {
                l.end.send_replace(true);
            }
        }
    }
}

//! Reaching people who are not looking (DESIGN §7.4): the transactional outbox, its worker,
//! the channels (email, SMS; webhooks plug in the same way) and the message templates.
//!
//! - [`outbox`]: `enqueue` inside the caller's transaction; claiming and recording rows.
//! - [`worker`]: claims and sends on every instance.
//! - [`transport`]: one `Transport` per channel; [`email`] and [`sms`] implement it.
//! - [`fanout`]: a notification's deliveries, by the recipient's preferences and
//!   [`quiet`] hours, with the [`templates`] of its kind.

pub mod commands;
pub mod email;
pub mod fanout;
pub mod outbox;
pub mod quiet;
pub mod resolvers;
pub mod service;
pub mod sms;
pub mod templates;
pub mod transport;
pub mod types;
pub mod worker;

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};
use tokio::sync::Notify;
use transport::Transports;
use uuid::Uuid;

/// The outbox as one instance holds it: its channels and the worker's wake-up.
pub struct Outbox {
    /// The transports of the channels that are on here.
    pub transports: Transports,
    /// This instance's id, recorded on the rows its worker claims.
    pub instance: Uuid,
    wake: Notify,
    /// What this instance's worker did.
    pub counters: Counters,
}

impl Outbox {
    /// An outbox with these transports.
    pub fn new(transports: Transports, instance: Uuid) -> Arc<Self> {
        Arc::new(Self {
            transports,
            instance,
            wake: Notify::new(),
            counters: Counters::default(),
        })
    }

    /// Wakes this instance's worker (after a commit that queued deliveries). Cheap; wake-ups
    /// while the worker is busy coalesce into one.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Counts of one instance's sends, for `/metrics` and the benchmarks.
#[derive(Default, Debug)]
pub struct Counters {
    sent: AtomicU64,
    failed: AtomicU64,
    dead: AtomicU64,
}

impl Counters {
    fn sent(&self) {
        self.sent.fetch_add(1, Ordering::Relaxed);
    }
    fn failed(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
    }
    fn dead(&self) {
        self.dead.fetch_add(1, Ordering::Relaxed);
    }

    /// Deliveries sent, attempts failed (to be retried), deliveries dead.
    pub fn get(&self) -> (u64, u64, u64) {
        (
            self.sent.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
            self.dead.load(Ordering::Relaxed),
        )
    }
}

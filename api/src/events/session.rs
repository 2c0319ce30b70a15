//! The session of a subscriber: who is subscribed on one connection (established by the
//! transport's handshake, `connection_init` on the websocket), which every stream of the
//! connection reads.

use crate::auth::Viewer;
use chrono::{DateTime, Utc};
use std::sync::{Arc, atomic::AtomicUsize};

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

//! What every request shares: configuration, the pool, keys and limiters.

use crate::{
    auth::{password::PasswordHasher, tokens::TokenKeys},
    config::Config,
    http::metrics::Metrics,
    identity::rate_limit::RateLimiter,
    redis_link::RedisLink,
};
use sea_orm::DatabaseConnection;
use std::sync::Arc;

/// Shared application state, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Settings, read once at start.
    pub config: Arc<Config>,
    pub db: DatabaseConnection,
    pub keys: TokenKeys,
    pub hasher: PasswordHasher,
    /// Login rate limits.
    pub limiter: RateLimiter,
    pub metrics: Arc<Metrics>,
    /// Redis, when configured.
    pub redis: Option<RedisLink>,
    /// Alerts, request changes and notifications, to subscribers here and elsewhere.
    pub events: crate::events::EventBus,
    /// The subscribers' sessions on this instance, which revocations end.
    pub sessions: Arc<crate::events::session::Sessions>,
    /// Recent callers' viewers, which revocations forget.
    pub viewers: Arc<crate::auth::viewer_cache::ViewerCache>,
    /// The outbox's channels and its worker's wake-up.
    pub outbox: Arc<crate::notifications::Outbox>,
}

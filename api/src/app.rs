//! Builds the whole application from a [`Config`], so `main` and the tests start the same
//! thing (the tests on `127.0.0.1:0`).

use crate::{
    auth::{password::PasswordHasher, tokens::TokenKeys},
    config::{Config, ConfigError, MetricsEndpoint},
    db,
    events::{EventBus, redis_transport::RedisTransport},
    http::{self, metrics::Metrics},
    identity::rate_limit::RateLimiter,
    redis_link::RedisLink,
    schema,
    state::AppState,
};
use axum::Router;
use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};
use tokio::net::TcpListener;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A setting is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The database is unreachable or a migration failed.
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    /// The port could not be bound.
    #[error("listen: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Other(String),
}

impl AppState {
    /// Connects what the state needs (Redis in the background) around an open pool.
    pub async fn build(
        config: Config,
        db: sea_orm::DatabaseConnection,
    ) -> Result<Self, StartError> {
        let redis = match &config.redis_url {
            Some(url) => {
                let link = RedisLink::start(url.clone())
                    .map_err(|e| StartError::Other(format!("REDIS_URL: {e}")))?;
                if !link.wait_connected(Duration::from_secs(2)).await {
                    tracing::warn!("redis is not reachable yet; serving without it and retrying");
                }
                Some(link)
            }
            None => None,
        };
        if crate::blood::eligibility::RuleSet::by_name(&config.eligibility_rules).is_none() {
            return Err(StartError::Other(format!(
                "ELIGIBILITY_RULES: unknown rule set {:?} (default, us, uk)",
                config.eligibility_rules
            )));
        }
        let hasher = PasswordHasher::new(
            config.argon2_memory_kib,
            config.argon2_iterations,
            config.password_hash_concurrency,
        )
        .map_err(|_| StartError::Other("argon2 parameters are invalid".into()))?;
        let instance = uuid::Uuid::now_v7();
        let mut hearing = None;
        let events = match (&config.redis_url, &redis) {
            (Some(url), Some(link)) => {
                let bus = EventBus::new(
                    config.event_buffer,
                    Arc::new(crate::events::InProcess),
                    instance,
                );
                let transport = RedisTransport::start(
                    url.clone(),
                    link.clone(),
                    format!("{}:events", config.rate_limit_prefix),
                    instance,
                    bus.local_sender(),
                );
                hearing = Some(transport.hearing());
                EventBus::new_sharing(bus, Arc::new(transport))
            }
            _ => EventBus::in_process(config.event_buffer),
        };
        let outbox = crate::notifications::Outbox::new(
            crate::notifications::transport::Transports::from_config(&config, &db)?,
            instance,
        );
        Ok(Self {
            outbox,
            events,
            keys: TokenKeys::from_config(&config),
            hasher,
            limiter: RateLimiter::new(
                config.rate_limit_prefix.clone(),
                config.login_window,
                redis.clone(),
            ),
            metrics: Arc::new(Metrics::default()),
            sessions: Arc::default(),
            viewers: Arc::new(crate::auth::viewer_cache::ViewerCache::new(
                config.viewer_cache_ttl,
                config.viewer_cache_size,
                hearing,
            )),
            redis,
            db,
            config: Arc::new(config),
        })
    }
}

/// A built server, bound to its port, ready to run.
pub struct Application {
    listener: TcpListener,
    router: Router,
    /// `/metrics` on an address of its own (`METRICS_ADDR`), when set.
    metrics: Option<(TcpListener, Router)>,
    state: AppState,
}

impl Application {
    /// Connects, migrates, builds the schema and binds the port.
    pub async fn build(config: Config) -> Result<Self, StartError> {
        crate::sealing::install(&config).map_err(StartError::Other)?;
        let pool = db::connect(&config).await?;
        db::migrate(&pool).await?;
        let listener = TcpListener::bind((config.host.as_str(), config.port)).await?;
        if !config.app_env_set {
            tracing::warn!(
                addr = %listener.local_addr()?,
                "APP_ENV is not set, so this server runs as development: GraphiQL, \
                 introspection and field suggestions are on, /metrics is public on the API port \
                 unless METRICS_ADDR says otherwise, a random signing key is generated when \
                 JWT_SECRET is unset, and `seed` is allowed. Set APP_ENV=production for a \
                 deployment, or APP_ENV=development to silence this warning."
            );
        }
        if config.image_url_hosts.as_ref().is_some_and(Vec::is_empty) {
            tracing::warn!(
                "IMAGE_URL_HOSTS is not set: report images are accepted only under \
                 REPORT_STORAGE_PREFIXES, never from an https:// host"
            );
        }
        let metrics_listener = match &config.metrics {
            MetricsEndpoint::Listen { host, port } => {
                Some(TcpListener::bind((host.as_str(), *port)).await?)
            }
            MetricsEndpoint::Off | MetricsEndpoint::ApiPort => None,
        };
        let state = AppState::build(config, pool).await?;
        let schema = schema::builder(&state.config).data(state.clone()).finish();
        let runner = schema::runner(&state.config).data(state.clone()).finish();
        let router = http::router(state.clone(), schema, runner);
        let metrics = metrics_listener.map(|l| (l, http::metrics_router(state.clone())));
        crate::jobs::spawn(state.clone());
        crate::jobs::sessions::spawn(state.clone());
        crate::jobs::rollups::spawn(state.clone());
        crate::notifications::worker::spawn(state.clone());
        Ok(Self {
            listener,
            router,
            metrics,
            state,
        })
    }

    /// The address `/metrics` is served on when `METRICS_ADDR` gives it one.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|(l, _)| l.local_addr().ok())
    }

    /// The bound address (useful with `PORT=0`).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The shared state (tests use its pool).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then drains in-flight requests.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let addr = self.listener.local_addr()?;
        tracing::info!(%addr, "LifeFlow is listening: GraphQL at http://{addr}/graphql");
        let metrics = self.metrics.map(|(listener, router)| {
            if let Ok(addr) = listener.local_addr() {
                tracing::info!(%addr, "metrics at http://{addr}/metrics");
            }
            tokio::spawn(async move { axum::serve(listener, router).await })
        });
        let served = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        if let Some(task) = metrics {
            task.abort();
        }
        served
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

//! One typed configuration, read once at start from the environment (and `.env` when present).
//!
//! Every setting is listed with its default in `.env.example`. Tests build a [`Config`] from a
//! map with [`Config::from_lookup`], so they go through the same parsing as production.

use ipnet::IpNet;
use std::{collections::HashMap, net::IpAddr, time::Duration};

/// Which environment the server runs in; production turns off introspection, GraphiQL and
/// field suggestions, and insists on an explicit signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    /// Local work and tests.
    Development,
    Production,
}

/// All of the server's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// `HOST`: interface to bind.
    pub host: String,
    /// `PORT`: 0 picks a free port.
    pub port: u16,
    /// `DATABASE_URL`: `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// `DB_MAX_CONNECTIONS`: pool size; about 8 is best on 2 cores.
    pub db_max_connections: u32,
    /// `DB_ACQUIRE_TIMEOUT_MS`: how long a request waits for a pooled connection.
    pub db_acquire_timeout: Duration,
    /// `DB_STATEMENT_TIMEOUT_MS`: Postgres `statement_timeout` for every statement.
    pub db_statement_timeout: Duration,
    /// `DB_ONE_CONNECTION_PER_QUERY`: on Postgres, a query operation's statements share one
    /// pooled connection instead of taking one each (default true).
    pub db_one_connection_per_query: bool,
    /// `REDIS_URL`: unset means in-process events and rate limits.
    pub redis_url: Option<String>,
    /// `JWT_SECRET`: HS256 key, at least 32 bytes; generated at start when unset outside production.
    pub jwt_secret: Option<String>,
    /// `JWT_ISSUER`.
    pub jwt_issuer: String,
    /// `JWT_AUDIENCE`.
    pub jwt_audience: String,
    /// `ACCESS_TOKEN_TTL_SECS`.
    pub access_token_ttl: Duration,
    /// `REFRESH_TOKEN_TTL_SECS`.
    pub refresh_token_ttl: Duration,
    /// `APP_ENV`.
    pub app_env: AppEnv,
    /// Whether `APP_ENV` was set; when it was not, the server warns at start that it runs as
    /// development.
    pub app_env_set: bool,
    /// `LOG_FORMAT`: `json` or `pretty` (default: json in production).
    pub log_json: bool,
    /// `CORS_ORIGINS`: comma-separated allow-list of browser origins.
    pub cors_origins: Vec<String>,
    /// `TRUSTED_PROXIES`: comma-separated IPs or CIDRs whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// `MAX_QUERY_DEPTH`.
    pub max_depth: usize,
    /// `MAX_QUERY_COMPLEXITY`: the values one HTTP request may ask for, its batched operations
    /// together (a list counts its `first`, 20 by default).
    pub max_complexity: usize,
    /// `MAX_QUERY_FIELDS`: fields one operation may select, aliases and `__typename` included.
    pub max_fields: usize,
    /// `MAX_DIRECTIVES`: per field.
    pub max_directives: usize,
    /// `MAX_PAGE_SIZE`: ceiling for `first`/`last`.
    pub max_page_size: u64,
    /// `MAX_BODY_BYTES`.
    pub max_body_bytes: usize,
    /// `MAX_BATCH_SIZE`: operations in one batched HTTP request.
    pub max_batch_size: usize,
    /// `REQUEST_TIMEOUT_MS`.
    pub request_timeout: Duration,
    /// `LOGIN_MAX_ATTEMPTS`: failed logins per account from one IP within the window.
    pub login_max_attempts: u32,
    /// `LOGIN_MAX_ATTEMPTS_PER_IP`: failed logins from one IP within the window.
    pub login_max_attempts_per_ip: u32,
    /// `LOGIN_WINDOW_SECS`: the window of every rate limit (logins and registrations).
    pub login_window: Duration,
    /// `REGISTER_MAX_PER_IP`: registrations attempted from one IP within the window.
    pub register_max_per_ip: u32,
    /// `PASSWORD_RESET_MAX_PER_IP`: password resets requested from one IP within the window.
    pub password_reset_max_per_ip: u32,
    /// `PASSWORD_RESET_MAX_PER_EMAIL`: password resets requested for one email within the
    /// window (whether or not it has an account).
    pub password_reset_max_per_email: u32,
    /// `EMAIL_VERIFICATION_TTL_SECS`: how long an email verification link works.
    pub email_verification_ttl: Duration,
    /// `PASSWORD_RESET_TTL_SECS`: how long a password reset link works.
    pub password_reset_ttl: Duration,
    /// `INVITATION_TTL_SECS`: how long an invitation to an organization works.
    pub invitation_ttl: Duration,
    /// `MFA_REQUIRED_ROLES`: platform roles (`SUPER_ADMIN`, `USER`, comma-separated) whose
    /// accounts may do nothing but enrol in MFA until they have it. Default `SUPER_ADMIN`;
    /// set empty (or `none`) to require it of no one.
    pub mfa_required_roles: Vec<entity::PlatformRole>,
    /// `MFA_MAX_ATTEMPTS`: MFA codes tried per account (and per login challenge) within
    /// `LOGIN_WINDOW_SECS`.
    pub mfa_max_attempts: u32,
    /// `RATE_LIMIT_PREFIX`: namespaces rate-limit keys in Redis.
    pub rate_limit_prefix: String,
    /// `PASSWORD_HASH_CONCURRENCY`: argon2 hashes computed at once (each takes ~19 MiB).
    pub password_hash_concurrency: usize,
    /// `ARGON2_MEMORY_KIB`, `ARGON2_ITERATIONS`: OWASP's argon2id minimum by default.
    pub argon2_memory_kib: u32,
    /// See `argon2_memory_kib`.
    pub argon2_iterations: u32,
    /// `ELIGIBILITY_RULES`: the named donor-eligibility rule set (`default`, `us`, `uk`).
    pub eligibility_rules: String,
    /// `RESERVATION_HOLD_SECS`: how long accepted units stay reserved before the hold lapses.
    pub reservation_hold: Duration,
    /// `RETURN_WINDOW_SECS`: how long after issue a hospital may give units back to the
    /// supplying bank's stock (cold chain kept); later returns are discarded.
    pub return_window: Duration,
    /// `DEFAULT_REQUEST_RADIUS_KM`: radius of an open request when none is given.
    pub default_request_radius_km: f64,
    /// `MAX_REQUEST_RADIUS_KM`: the widest radius a request may ask for.
    pub max_request_radius_km: f64,
    /// `IDEMPOTENCY_TTL_SECS`: how long an idempotency key is remembered.
    pub idempotency_ttl: Duration,
    /// `SWEEP_INTERVAL_MS`: how often background jobs (lapsed holds, expiry) run.
    pub sweep_interval: Duration,
    /// `ROLLUP_INTERVAL_SECS`: how often the analytics rollup job closes days and refreshes
    /// the changed ones (its first run waits one interval after start).
    pub rollup_interval: Duration,
    /// `EVENT_BUFFER`: events a slow subscriber may fall behind before it is told it missed some.
    pub event_buffer: usize,
    /// `ESCALATION_WIDEN_AFTER_SECS`: an unanswered emergency widens its radius after this.
    pub escalation_widen_after: Duration,
    /// `ESCALATION_NGO_AFTER_SECS`: then NGOs in the radius are alerted.
    pub escalation_ngo_after: Duration,
    /// `ESCALATION_DELAYED_AFTER_SECS`: then super admins get a DELAYED_EMERGENCY alert.
    pub escalation_delayed_after: Duration,
    /// `ESCALATION_RADIUS_KM`: the widened radius.
    pub escalation_radius_km: f64,
    /// `WS_MAX_CONNECTIONS`: websocket connections per instance (below the open-file limit).
    pub ws_max_connections: usize,
    /// `WS_MAX_CONNECTIONS_PER_USER`.
    pub ws_max_connections_per_user: usize,
    /// `WS_MAX_CONNECTIONS_PER_CLIENT`: connections per API client (its token).
    pub ws_max_connections_per_client: usize,
    /// `WS_MAX_PENDING_CONNECTIONS`: sockets not yet authenticated, per instance, counted
    /// apart from the authenticated ones so that they cannot take their places.
    pub ws_max_pending: usize,
    /// `WS_MAX_PENDING_PER_IP`: sockets not yet authenticated from one client IP.
    pub ws_max_pending_per_ip: usize,
    /// `WS_RECHECK_SECS`: how often live sessions are checked against the database, for a
    /// revocation whose event was missed.
    pub ws_recheck_interval: Duration,
    /// `VIEWER_CACHE_SECS`: the longest a caller's viewer is kept in memory (0: not kept).
    /// Changes made through the API reach every instance's cache at once through events;
    /// this bounds only what a change made outside it leaves behind.
    pub viewer_cache_ttl: Duration,
    /// `VIEWER_CACHE_SIZE`: the most viewers kept per instance.
    pub viewer_cache_size: usize,
    /// `WS_CLIENT_SESSION_MAX_SECS`: how long an API client's subscriptions run after its
    /// connection authenticated (its token lives a year).
    pub ws_client_session_max: Duration,
    /// `WS_MAX_SUBSCRIPTIONS`: subscriptions per connection.
    pub ws_max_subscriptions: usize,
    /// `WS_INIT_TIMEOUT_MS`: a socket that sends no `connection_init` by then is closed (4408).
    pub ws_init_timeout: Duration,
    /// `WS_PING_INTERVAL_SECS`: server pings that keep idle connections alive through proxies.
    pub ws_ping_interval: Duration,
    /// `WS_MAX_MESSAGE_BYTES`: the largest message a client may send.
    pub ws_max_message_bytes: usize,
    /// `CONSULTATION_CANCEL_CUTOFF_MINUTES`: after this point before the start, only the doctor
    /// may cancel a consultation.
    pub consultation_cancel_cutoff: chrono::Duration,
    /// `CONSULTATION_MAX_DAYS_AHEAD`: how far ahead a consultation may be booked.
    pub consultation_max_days_ahead: i64,
    /// `OPEN_SLOTS_MAX_DAYS`: the widest window `openSlots` computes in one call.
    pub open_slots_max_days: i64,
    /// `VIDEO_ROOM_URL_TEMPLATE`: the video provider's room link, with `{room}` where the
    /// consultation's room token goes (e.g. `https://meet.example/lifeflow-{room}`). Unset: no
    /// consultation has a join link.
    pub video_room_url_template: Option<String>,
    /// `VIDEO_JOIN_EARLY_MINUTES`: how long before the start the two parties get the link.
    pub video_join_early: chrono::Duration,
    /// `REPORT_STORAGE_PREFIXES`: comma-separated URL prefixes report images may use besides
    /// `https://` (for example `s3://lifeflow-imaging/`).
    pub report_storage_prefixes: Vec<String>,
    /// `IMAGE_URL_HOSTS`: comma-separated hosts `https://` report images may point at. `None`
    /// (unset in development) admits any host; unset in production admits none, leaving only
    /// `REPORT_STORAGE_PREFIXES`.
    pub image_url_hosts: Option<Vec<String>>,
    /// `AI_PROBABILITY_TOLERANCE`: how far the three class probabilities may sum from 1.
    pub ai_probability_tolerance: f64,
    /// `REPORT_CLAIM_TIMEOUT_SECS`: a report claimed for analysis and not answered by then
    /// can be claimed again (so a crashed worker does not strand it in `ANALYZING`).
    pub report_claim_timeout: Duration,
    /// `METRICS_ADDR`: where `/metrics` is served.
    pub metrics: MetricsEndpoint,
    /// `EXPOSE_SQL_COUNT`: answer each GraphQL request with an `x-sql-statements` header
    /// (off in production unless set; the benchmarks and tests read it).
    pub expose_sql_count: bool,
    /// `ENCRYPTION_KEYS`: `id:base64key,…` (32-byte AES-256 keys); the first encrypts, every
    /// one decrypts. Required in production; unset elsewhere, the key file is used.
    pub encryption_keys: Option<String>,
    /// `BLIND_INDEX_KEY`: base64, at least 32 bytes; the HMAC key of blind indexes (a donor's
    /// phone). Required with `ENCRYPTION_KEYS`.
    pub blind_index_key: Option<String>,
    /// `KEY_FILE`: where development keeps generated keys when `ENCRYPTION_KEYS` is unset
    /// (default: beside the SQLite database, or `lifeflow.keys`).
    pub key_file: Option<std::path::PathBuf>,
    /// `SMTP_URL`: `smtp://host:port` (plain, for a local relay),
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS) or `smtps://user:pass@host` (TLS
    /// from the start). Unset: no email.
    pub smtp_url: Option<String>,
    /// `MAIL_FROM`: the sender of every email (`LifeFlow <noreply@example.org>`).
    pub mail_from: String,
    /// `PUBLIC_APP_URL`: the web app's address, for the links in messages.
    pub public_app_url: String,
    /// `SMS_WEBHOOK_URL`: the SMS provider's endpoint (a JSON POST `{to, body, id}`). Unset:
    /// no SMS.
    pub sms_webhook_url: Option<String>,
    /// `SMS_WEBHOOK_TOKEN`: the bearer token sent to the SMS provider.
    pub sms_webhook_token: Option<String>,
    /// The outbox worker's settings (`OUTBOX_*`).
    pub outbox: OutboxSettings,
    /// `WEBHOOK_ALLOW_PRIVATE`: webhook URLs may be plain http and reach private, loopback and
    /// link-local addresses (development and tests only; refused in production).
    pub webhook_allow_private: bool,
    /// `WEBHOOK_TIMEOUT_MS`: how long one webhook delivery may take, connection included.
    pub webhook_timeout: Duration,
    /// `CALLOUT_MIN_HOURS`: a donor is called at most once in this many hours.
    pub callout_min_hours: i64,
    /// `CALLOUT_MAX_RADIUS_KM`: the widest radius a call-out may ask for.
    pub callout_max_radius_km: f64,
}

/// How the outbox worker claims, sends and retries deliveries (`OUTBOX_*`).
#[derive(Debug, Clone)]
pub struct OutboxSettings {
    /// `OUTBOX_MAX_ATTEMPTS`: a delivery is `DEAD` after this many failed attempts.
    pub max_attempts: i32,
    /// `OUTBOX_RETRY_BASE_MS`: the wait after the first failure; it doubles with each one.
    pub retry_base: Duration,
    /// `OUTBOX_RETRY_CAP_MS`: the longest wait between two attempts.
    pub retry_cap: Duration,
    /// `OUTBOX_POLL_MS`: how often an idle worker looks for due rows (a commit that queues
    /// deliveries wakes it at once; this catches the rest: retries, quiet hours, other
    /// instances' rows).
    pub poll_interval: Duration,
    /// `OUTBOX_BATCH`: rows one claim takes.
    pub batch: u64,
    /// `OUTBOX_CONCURRENCY`: sends in flight at once per instance.
    pub concurrency: usize,
    /// `OUTBOX_SEND_TIMEOUT_MS`: one send's limit; a send that takes longer failed.
    pub send_timeout: Duration,
    /// `OUTBOX_LEASE_SECS`: how long a claim holds a row; after it (a crashed instance) any
    /// worker may take the row again. Longer than a batch's sends.
    pub lease: Duration,
    /// `OUTBOX_WORKER`: `false` runs no worker on this instance (rows wait for another).
    pub worker: bool,
}

/// Where `/metrics` is served (`METRICS_ADDR`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricsEndpoint {
    /// Not served (`off`; the default in production).
    Off,
    /// On the API's own port (the default in development only).
    ApiPort,
    /// On a listener of its own, `host:port` (port 0 picks a free one).
    Listen {
        /// Interface to bind.
        host: String,
        /// Port to bind.
        port: u16,
    },
}

/// A setting that could not be parsed; the server refuses to start.
#[derive(Debug, thiserror::Error)]
#[error("setting {name}: {problem}")]
pub struct ConfigError {
    /// The variable's name.
    pub name: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

/// `MFA_REQUIRED_ROLES`: unset means super admins; set empty or `none`, no one.
fn mfa_roles(raw: Option<String>) -> Result<Vec<entity::PlatformRole>, ConfigError> {
    use entity::PlatformRole;
    let Some(raw) = raw else {
        return Ok(vec![PlatformRole::SuperAdmin]);
    };
    let mut roles = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let role = match part.to_ascii_uppercase().as_str() {
            "NONE" => continue,
            "SUPER_ADMIN" => PlatformRole::SuperAdmin,
            "USER" => PlatformRole::User,
            other => {
                return Err(ConfigError {
                    name: "MFA_REQUIRED_ROLES",
                    problem: format!("expected SUPER_ADMIN, USER or none, got {other:?}"),
                });
            }
        };
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    Ok(roles)
}

impl Config {
    /// Reads the process environment, after loading `.env` if there is one.
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Builds a config from a map of settings; what is missing takes its default.
    pub fn from_map(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        Self::from_lookup(|k| vars.get(k).cloned())
    }

    /// Builds a config from any lookup of variable names.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mfa_required_roles = mfa_roles(get("MFA_REQUIRED_ROLES"))?;
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let app_env = match get("APP_ENV").as_deref() {
            None | Some("development") | Some("dev") | Some("test") => AppEnv::Development,
            Some("production") | Some("prod") => AppEnv::Production,
            Some(other) => {
                return Err(ConfigError {
                    name: "APP_ENV",
                    problem: format!("expected development or production, got {other:?}"),
                });
            }
        };
        let production = app_env == AppEnv::Production;
        let metrics = match get("METRICS_ADDR") {
            None if production => MetricsEndpoint::Off,
            None => MetricsEndpoint::ApiPort,
            Some(v) if v.trim() == "off" => MetricsEndpoint::Off,
            Some(v) => {
                let parsed = v
                    .trim()
                    .rsplit_once(':')
                    .and_then(|(h, p)| Some((h.trim_matches(['[', ']']), p.parse().ok()?)))
                    .filter(|(h, _)| !h.is_empty());
                let Some((host, port)) = parsed else {
                    return Err(ConfigError {
                        name: "METRICS_ADDR",
                        problem: format!("expected host:port or off, got {v:?}"),
                    });
                };
                MetricsEndpoint::Listen {
                    host: host.to_string(),
                    port,
                }
            }
        };
        let jwt_secret = get("JWT_SECRET");
        if let Some(s) = &jwt_secret {
            if s.len() < 32 {
                return Err(ConfigError {
                    name: "JWT_SECRET",
                    problem: "must be at least 32 bytes".into(),
                });
            }
        } else if production {
            return Err(ConfigError {
                name: "JWT_SECRET",
                problem: "required when APP_ENV=production".into(),
            });
        }
        let encryption_keys = get("ENCRYPTION_KEYS");
        let blind_index_key = get("BLIND_INDEX_KEY");
        match (&encryption_keys, &blind_index_key) {
            (Some(keys), Some(blind)) => {
                crate::sealing::keyring_from(keys, blind).map_err(|problem| ConfigError {
                    name: if problem.contains("blind") || problem.contains("BLIND") {
                        "BLIND_INDEX_KEY"
                    } else {
                        "ENCRYPTION_KEYS"
                    },
                    problem,
                })?;
            }
            (Some(_), None) => {
                return Err(ConfigError {
                    name: "BLIND_INDEX_KEY",
                    problem: "required with ENCRYPTION_KEYS".into(),
                });
            }
            (None, _) if production => {
                return Err(ConfigError {
                    name: "ENCRYPTION_KEYS",
                    problem: "required when APP_ENV=production".into(),
                });
            }
            (None, _) => {}
        }
        let list = |k: &str| -> Vec<String> {
            get(k)
                .map(|v| {
                    v.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default()
        };
        // Unset in production admits no https host at all (fail closed), not every host.
        let image_url_hosts = Some(list("IMAGE_URL_HOSTS"))
            .filter(|hosts| production || !hosts.is_empty())
            .map(|hosts| hosts.iter().map(|h| h.to_ascii_lowercase()).collect());
        let webhook_allow_private = match get("WEBHOOK_ALLOW_PRIVATE").as_deref() {
            None | Some("false") | Some("0") => false,
            Some("true") | Some("1") if production => {
                return Err(ConfigError {
                    name: "WEBHOOK_ALLOW_PRIVATE",
                    problem: "must not be set when APP_ENV=production".into(),
                });
            }
            Some("true") | Some("1") => true,
            Some(other) => {
                return Err(ConfigError {
                    name: "WEBHOOK_ALLOW_PRIVATE",
                    problem: format!("expected true or false, got {other:?}"),
                });
            }
        };
        let trusted_proxies = list("TRUSTED_PROXIES")
            .into_iter()
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| ConfigError {
                        name: "TRUSTED_PROXIES",
                        problem: format!("{s:?} is neither an IP nor a CIDR"),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            host: get("HOST").unwrap_or_else(|| "127.0.0.1".into()),
            port: num(&get, "PORT", 8080)?,
            database_url: get("DATABASE_URL")
                .unwrap_or_else(|| "sqlite://lifeflow.db?mode=rwc".into()),
            db_max_connections: num(&get, "DB_MAX_CONNECTIONS", 8)?,
            db_acquire_timeout: Duration::from_millis(num(&get, "DB_ACQUIRE_TIMEOUT_MS", 5_000)?),
            db_statement_timeout: Duration::from_millis(num(
                &get,
                "DB_STATEMENT_TIMEOUT_MS",
                10_000,
            )?),
            db_one_connection_per_query: match get("DB_ONE_CONNECTION_PER_QUERY").as_deref() {
                None | Some("true") | Some("1") => true,
                Some("false") | Some("0") => false,
                Some(other) => {
                    return Err(ConfigError {
                        name: "DB_ONE_CONNECTION_PER_QUERY",
                        problem: format!("{other:?} is neither true nor false"),
                    });
                }
            },
            redis_url: get("REDIS_URL"),
            jwt_secret,
            jwt_issuer: get("JWT_ISSUER").unwrap_or_else(|| "lifeflow".into()),
            jwt_audience: get("JWT_AUDIENCE").unwrap_or_else(|| "lifeflow-api".into()),
            access_token_ttl: Duration::from_secs(num(&get, "ACCESS_TOKEN_TTL_SECS", 900)?),
            refresh_token_ttl: Duration::from_secs(num(
                &get,
                "REFRESH_TOKEN_TTL_SECS",
                30 * 24 * 3600,
            )?),
            app_env,
            app_env_set: get("APP_ENV").is_some(),
            log_json: match get("LOG_FORMAT").as_deref() {
                Some("json") => true,
                Some("pretty") => false,
                _ => production,
            },
            cors_origins: list("CORS_ORIGINS"),
            trusted_proxies,
            max_depth: num(&get, "MAX_QUERY_DEPTH", 12)?,
            max_complexity: num(&get, "MAX_QUERY_COMPLEXITY", 5_000)?,
            max_fields: num(&get, "MAX_QUERY_FIELDS", 500)?,
            max_directives: num(&get, "MAX_DIRECTIVES", 10)?,
            max_page_size: num(&get, "MAX_PAGE_SIZE", 100)?,
            max_body_bytes: num(&get, "MAX_BODY_BYTES", 1024 * 1024)?,
            max_batch_size: num(&get, "MAX_BATCH_SIZE", 10)?,
            request_timeout: Duration::from_millis(num(&get, "REQUEST_TIMEOUT_MS", 15_000)?),
            login_max_attempts: num(&get, "LOGIN_MAX_ATTEMPTS", 5)?,
            login_max_attempts_per_ip: num(&get, "LOGIN_MAX_ATTEMPTS_PER_IP", 50)?,
            login_window: Duration::from_secs(num(&get, "LOGIN_WINDOW_SECS", 900)?),
            register_max_per_ip: num(&get, "REGISTER_MAX_PER_IP", 20)?,
            password_reset_max_per_ip: num(&get, "PASSWORD_RESET_MAX_PER_IP", 10)?,
            password_reset_max_per_email: num(&get, "PASSWORD_RESET_MAX_PER_EMAIL", 3)?,
            email_verification_ttl: Duration::from_secs(num(
                &get,
                "EMAIL_VERIFICATION_TTL_SECS",
                48 * 3600,
            )?),
            password_reset_ttl: Duration::from_secs(num(&get, "PASSWORD_RESET_TTL_SECS", 3600)?),
            invitation_ttl: Duration::from_secs(num(&get, "INVITATION_TTL_SECS", 7 * 24 * 3600)?),
            mfa_required_roles,
            mfa_max_attempts: num(&get, "MFA_MAX_ATTEMPTS", 5)?,
            rate_limit_prefix: get("RATE_LIMIT_PREFIX").unwrap_or_else(|| "lifeflow".into()),
            password_hash_concurrency: num(&get, "PASSWORD_HASH_CONCURRENCY", 2)?,
            argon2_memory_kib: num(&get, "ARGON2_MEMORY_KIB", 19_456)?,
            argon2_iterations: num(&get, "ARGON2_ITERATIONS", 2)?,
            eligibility_rules: get("ELIGIBILITY_RULES").unwrap_or_else(|| "default".into()),
            reservation_hold: Duration::from_secs(num(&get, "RESERVATION_HOLD_SECS", 12 * 3600)?),
            return_window: Duration::from_secs(num(&get, "RETURN_WINDOW_SECS", 30 * 60)?),
            default_request_radius_km: num(&get, "DEFAULT_REQUEST_RADIUS_KM", 10.0)?,
            max_request_radius_km: num(&get, "MAX_REQUEST_RADIUS_KM", 500.0)?,
            idempotency_ttl: Duration::from_secs(num(&get, "IDEMPOTENCY_TTL_SECS", 24 * 3600)?),
            sweep_interval: Duration::from_millis(num(&get, "SWEEP_INTERVAL_MS", 30_000)?),
            rollup_interval: Duration::from_secs(num(&get, "ROLLUP_INTERVAL_SECS", 300)?),
            event_buffer: num(&get, "EVENT_BUFFER", 1024)?,
            escalation_widen_after: Duration::from_secs(num(
                &get,
                "ESCALATION_WIDEN_AFTER_SECS",
                600,
            )?),
            escalation_ngo_after: Duration::from_secs(num(
                &get,
                "ESCALATION_NGO_AFTER_SECS",
                1800,
            )?),
            escalation_delayed_after: Duration::from_secs(num(
                &get,
                "ESCALATION_DELAYED_AFTER_SECS",
                3600,
            )?),
            escalation_radius_km: num(&get, "ESCALATION_RADIUS_KM", 30.0)?,
            ws_max_connections: num(&get, "WS_MAX_CONNECTIONS", 15_000)?,
            ws_max_connections_per_user: num(&get, "WS_MAX_CONNECTIONS_PER_USER", 20)?,
            ws_max_connections_per_client: num(&get, "WS_MAX_CONNECTIONS_PER_CLIENT", 5)?,
            ws_max_pending: num(&get, "WS_MAX_PENDING_CONNECTIONS", 1_000)?,
            ws_max_pending_per_ip: num(&get, "WS_MAX_PENDING_PER_IP", 20)?,
            ws_recheck_interval: Duration::from_secs(num(&get, "WS_RECHECK_SECS", 30)?),
            viewer_cache_ttl: Duration::from_secs(num(&get, "VIEWER_CACHE_SECS", 30)?),
            viewer_cache_size: num(&get, "VIEWER_CACHE_SIZE", 10_000)?,
            ws_client_session_max: Duration::from_secs(num(
                &get,
                "WS_CLIENT_SESSION_MAX_SECS",
                24 * 3600,
            )?),
            ws_max_subscriptions: num(&get, "WS_MAX_SUBSCRIPTIONS", 20)?,
            ws_init_timeout: Duration::from_millis(num(&get, "WS_INIT_TIMEOUT_MS", 5_000)?),
            ws_ping_interval: Duration::from_secs(num(&get, "WS_PING_INTERVAL_SECS", 25)?),
            ws_max_message_bytes: num(&get, "WS_MAX_MESSAGE_BYTES", 64 * 1024)?,
            consultation_cancel_cutoff: chrono::Duration::minutes(num(
                &get,
                "CONSULTATION_CANCEL_CUTOFF_MINUTES",
                120,
            )?),
            consultation_max_days_ahead: num(&get, "CONSULTATION_MAX_DAYS_AHEAD", 90)?,
            open_slots_max_days: num(&get, "OPEN_SLOTS_MAX_DAYS", 31)?,
            video_room_url_template: match get("VIDEO_ROOM_URL_TEMPLATE") {
                Some(t) if !t.contains("{room}") => {
                    return Err(ConfigError {
                        name: "VIDEO_ROOM_URL_TEMPLATE",
                        problem: "must contain {room}, where the room token goes".into(),
                    });
                }
                t => t,
            },
            video_join_early: chrono::Duration::minutes(num(&get, "VIDEO_JOIN_EARLY_MINUTES", 15)?),
            report_storage_prefixes: list("REPORT_STORAGE_PREFIXES"),
            image_url_hosts,
            ai_probability_tolerance: num(&get, "AI_PROBABILITY_TOLERANCE", 0.01)?,
            report_claim_timeout: Duration::from_secs(num(&get, "REPORT_CLAIM_TIMEOUT_SECS", 900)?),
            metrics,
            encryption_keys,
            blind_index_key,
            key_file: get("KEY_FILE").map(std::path::PathBuf::from),
            expose_sql_count: match get("EXPOSE_SQL_COUNT").as_deref() {
                Some("true") | Some("1") => true,
                Some("false") | Some("0") => false,
                _ => !production,
            },
            smtp_url: get("SMTP_URL"),
            mail_from: get("MAIL_FROM").unwrap_or_else(|| "LifeFlow <noreply@localhost>".into()),
            public_app_url: get("PUBLIC_APP_URL")
                .unwrap_or_else(|| "http://localhost:3000".into())
                .trim_end_matches('/')
                .to_string(),
            sms_webhook_url: get("SMS_WEBHOOK_URL"),
            sms_webhook_token: get("SMS_WEBHOOK_TOKEN"),
            outbox: OutboxSettings {
                max_attempts: num(&get, "OUTBOX_MAX_ATTEMPTS", 8)?,
                retry_base: Duration::from_millis(num(&get, "OUTBOX_RETRY_BASE_MS", 30_000)?),
                retry_cap: Duration::from_millis(num(&get, "OUTBOX_RETRY_CAP_MS", 3_600_000)?),
                poll_interval: Duration::from_millis(num(&get, "OUTBOX_POLL_MS", 5_000)?),
                batch: num(&get, "OUTBOX_BATCH", 50)?,
                concurrency: num(&get, "OUTBOX_CONCURRENCY", 8)?,
                send_timeout: Duration::from_millis(num(&get, "OUTBOX_SEND_TIMEOUT_MS", 30_000)?),
                lease: Duration::from_secs(num(&get, "OUTBOX_LEASE_SECS", 300)?),
                worker: !matches!(get("OUTBOX_WORKER").as_deref(), Some("false") | Some("0")),
            },
            webhook_allow_private,
            webhook_timeout: Duration::from_millis(num(&get, "WEBHOOK_TIMEOUT_MS", 10_000)?),
            callout_min_hours: num(&get, "CALLOUT_MIN_HOURS", 24)?,
            callout_max_radius_km: num(&get, "CALLOUT_MAX_RADIUS_KM", 100.0)?,
        })
    }

    /// True in production.
    pub fn is_production(&self) -> bool {
        self.app_env == AppEnv::Production
    }

    /// Where report images may live.
    pub fn image_sources(&self) -> crate::validation::ImageSources {
        crate::validation::ImageSources {
            hosts: self.image_url_hosts.clone(),
            prefixes: self.report_storage_prefixes.clone(),
        }
    }

    /// True when the database is SQLite.
    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

fn num<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| ConfigError {
            name,
            problem: format!("{v:?} is not a valid number"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        m.insert("JWT_SECRET".into(), "x".repeat(32));
        m.entry("ENCRYPTION_KEYS".into())
            .or_insert_with(|| format!("k1:{}", "A".repeat(43) + "="));
        m.entry("BLIND_INDEX_KEY".into())
            .or_insert_with(|| "A".repeat(43) + "=");
        m.retain(|_, v| !v.is_empty());
        Config::from_map(&m)
    }

    #[test]
    fn production_refuses_to_start_without_field_encryption_keys_and_bad_keys_are_named() {
        let none = config(&[("APP_ENV", "production"), ("ENCRYPTION_KEYS", "")]);
        let short = config(&[("ENCRYPTION_KEYS", "k1:AAAA")]);
        let no_blind = config(&[("BLIND_INDEX_KEY", "")]);
        let dev = config(&[("ENCRYPTION_KEYS", ""), ("BLIND_INDEX_KEY", "")]);
        assert_eq!(none.err().map(|e| e.name), Some("ENCRYPTION_KEYS"));
        assert_eq!(short.err().map(|e| e.name), Some("ENCRYPTION_KEYS"));
        assert_eq!(no_blind.err().map(|e| e.name), Some("BLIND_INDEX_KEY"));
        assert!(dev.expect("dev").encryption_keys.is_none());
    }

    #[test]
    fn metrics_are_off_in_production_and_on_the_api_port_in_development_by_default() {
        let prod = config(&[("APP_ENV", "production")]).expect("config");
        assert_eq!(prod.metrics, MetricsEndpoint::Off);
        let dev = config(&[]).expect("config");
        assert_eq!(dev.metrics, MetricsEndpoint::ApiPort);
        assert!(!dev.app_env_set);
    }

    #[test]
    fn channels_are_off_until_set_and_outbox_retries_take_milliseconds() {
        let c = config(&[
            ("OUTBOX_RETRY_BASE_MS", "50"),
            ("PUBLIC_APP_URL", "https://a.example/"),
        ])
        .expect("config");
        assert_eq!(c.smtp_url, None);
        assert_eq!(c.sms_webhook_url, None);
        assert_eq!(c.public_app_url, "https://a.example");
        assert_eq!(c.outbox.retry_base, Duration::from_millis(50));
        assert_eq!(c.outbox.max_attempts, 8);
        assert!(c.outbox.worker);
        assert!(config(&[("OUTBOX_WORKER", "false")]).is_ok_and(|c| !c.outbox.worker));
        assert!(config(&[("OUTBOX_MAX_ATTEMPTS", "many")]).is_err());
    }

    #[test]
    fn a_video_room_template_must_say_where_the_room_goes() {
        let unset = config(&[]).expect("config");
        assert_eq!(unset.video_room_url_template, None);
        assert_eq!(unset.video_join_early, chrono::Duration::minutes(15));
        let set = config(&[
            (
                "VIDEO_ROOM_URL_TEMPLATE",
                "https://meet.example/lifeflow-{room}",
            ),
            ("VIDEO_JOIN_EARLY_MINUTES", "5"),
        ])
        .expect("config");
        assert_eq!(set.video_join_early, chrono::Duration::minutes(5));
        let no_room = config(&[("VIDEO_ROOM_URL_TEMPLATE", "https://meet.example/fixed")]);
        assert_eq!(
            no_room.err().map(|e| e.name),
            Some("VIDEO_ROOM_URL_TEMPLATE")
        );
    }

    #[test]
    fn metrics_addr_takes_host_and_port_or_off() {
        let own =
            config(&[("APP_ENV", "production"), ("METRICS_ADDR", "[::1]:9100")]).expect("config");
        assert_eq!(
            own.metrics,
            MetricsEndpoint::Listen {
                host: "::1".into(),
                port: 9100
            }
        );
        let off = config(&[("METRICS_ADDR", "off")]).expect("config");
        assert_eq!(off.metrics, MetricsEndpoint::Off);
        for bad in ["9100", ":9100", "host:port"] {
            assert!(config(&[("METRICS_ADDR", bad)]).is_err(), "{bad}");
        }
    }
}

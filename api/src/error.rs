//! The one error type of the API and its explicit mapping to GraphQL errors.
//!
//! [`AppError`] deliberately does not implement `Display`: async-graphql converts any
//! `Display` error into a GraphQL error carrying its text, which is how `DbErr` messages
//! (SQL, table names) reach clients in other projects. Without `Display`, the only way out
//! of a resolver is [`From<AppError> for async_graphql::Error`], which sends codes and plain
//! messages and logs internal causes with the request id instead of returning them.

use async_graphql::ErrorExtensions;
use std::sync::Arc;

tokio::task_local! {
    /// The request id of the GraphQL request being executed, for error reports.
    pub static REQUEST_ID: String;
}

/// The request id of the current request, if the code runs inside one.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(|id| id.clone()).ok()
}

/// Causes that are never shown to clients.
#[derive(Debug, thiserror::Error)]
pub enum InternalError {
    /// A database failure.
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    /// A Redis failure.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// Token signing failure.
    #[error("jwt: {0}")]
    Jwt(#[from] jsonwebtoken::errors::Error),
    /// A blocking task panicked or was cancelled.
    #[error("task: {0}")]
    Join(#[from] tokio::task::JoinError),
    /// JSON (de)serialization of stored values.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// Anything else, described for the logs.
    #[error("{0}")]
    Other(String),
}

/// Every failure a resolver or service can report. Each maps to one `extensions.code`.
/// (Clone because async-graphql asks it of resolver errors; the cause is shared.)
#[derive(Debug, Clone)]
pub enum AppError {
    /// No valid credentials: `UNAUTHENTICATED`.
    Unauthenticated(&'static str),
    /// Credentials valid but not allowed: `FORBIDDEN`.
    Forbidden(&'static str),
    /// The thing does not exist, or the caller may not know it exists: `NOT_FOUND`.
    NotFound(&'static str),
    /// An input field is invalid: `BAD_USER_INPUT` with `extensions.field`.
    BadInput {
        /// The input path, e.g. `input.email`.
        field: String,
        /// What is wrong, for a person.
        message: String,
    },
    /// A uniqueness or state conflict: `CONFLICT`.
    Conflict(String),
    /// A state machine refuses the move: `INVALID_TRANSITION`.
    InvalidTransition {
        /// The entity's state now.
        from: String,
        /// The action or state asked for.
        to: String,
    },
    /// Too few units to fulfil: `INSUFFICIENT_STOCK`.
    InsufficientStock(String),
    /// Too many attempts: `RATE_LIMITED`.
    RateLimited {
        /// Seconds until another attempt is allowed.
        retry_after_secs: u64,
    },
    /// Anything the client cannot act on: `INTERNAL`; the cause goes to the logs only.
    Internal(Arc<InternalError>),
}

impl AppError {
    /// A `BAD_USER_INPUT` for one field.
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadInput {
            field: field.into(),
            message: message.into(),
        }
    }

    /// An internal error described for the logs.
    pub fn internal(msg: impl Into<String>) -> Self {
        Self::Internal(Arc::new(InternalError::Other(msg.into())))
    }

    /// The `extensions.code` this error is sent with.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::BadInput { .. } => "BAD_USER_INPUT",
            Self::Conflict(_) => "CONFLICT",
            Self::InvalidTransition { .. } => "INVALID_TRANSITION",
            Self::InsufficientStock(_) => "INSUFFICIENT_STOCK",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::Internal(_) => "INTERNAL",
        }
    }

    /// The message a client sees.
    pub fn public_message(&self) -> String {
        match self {
            Self::Unauthenticated(m) | Self::Forbidden(m) => (*m).to_string(),
            Self::NotFound(what) => format!("{what} not found"),
            Self::BadInput { field, message } => format!("{field}: {message}"),
            Self::Conflict(m) | Self::InsufficientStock(m) => m.clone(),
            Self::InvalidTransition { from, to } => format!("cannot {to} from {from}"),
            Self::RateLimited { retry_after_secs } => {
                format!("too many attempts; try again in {retry_after_secs} s")
            }
            Self::Internal(_) => "internal error".to_string(),
        }
    }
}

impl<E: Into<InternalError>> From<E> for AppError {
    fn from(e: E) -> Self {
        Self::Internal(Arc::new(e.into()))
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        let code = err.code();
        let message = err.public_message();
        let request_id = current_request_id();
        if let AppError::Internal(cause) = &err {
            // The cause stays in the logs, tied to the request id the client is given.
            tracing::error!(
                request_id = request_id.as_deref().unwrap_or("-"),
                error = %cause,
                "internal error"
            );
        }
        async_graphql::Error::new(message).extend_with(|_, ext| {
            ext.set("code", code);
            match &err {
                AppError::BadInput { field, .. } => ext.set("field", field.as_str()),
                AppError::RateLimited { retry_after_secs } => {
                    ext.set("retryAfterSeconds", *retry_after_secs)
                }
                _ => {}
            }
            if let Some(id) = &request_id {
                ext.set("requestId", id.as_str());
            }
        })
    }
}

/// Shorthand for results of services and resolvers.
pub type AppResult<T> = Result<T, AppError>;

/// Maps a unique-constraint violation to `CONFLICT`, anything else to `INTERNAL`.
pub fn unique_violation(msg: &'static str) -> impl Fn(sea_orm::DbErr) -> AppError {
    move |e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => AppError::Conflict(msg.into()),
        _ => e.into(),
    }
}

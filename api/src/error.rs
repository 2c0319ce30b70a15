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
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
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
    /// A donor who may not give: `BAD_USER_INPUT` with `extensions.field` and
    /// `extensions.reason`, the rule that refused (never the donor's clinical details).
    NotEligible {
        /// The input path of the donor (or of the measurement that refused).
        field: &'static str,
        /// The rule's code, e.g. `HEMOGLOBIN`.
        reason: &'static str,
        /// What the rule says, for a person.
        message: &'static str,
    },
    /// A uniqueness or state conflict: `CONFLICT`.
    Conflict(String),
    /// A value another record already holds: `CONFLICT` with `extensions.field`.
    Duplicate {
        /// The input path of the value.
        field: &'static str,
        /// What is taken, for a person.
        message: &'static str,
    },
    /// A state machine refuses the move: `INVALID_TRANSITION`.
    InvalidTransition {
        /// The entity's state now.
        from: String,
        /// The action or state asked for.
        to: String,
    },
    /// Too few units to fulfil: `INSUFFICIENT_STOCK`.
    InsufficientStock(String),
    /// The account's role must have MFA and it has none yet: it may only enrol
    /// (`enableMfa`, `confirmMfa`, `me`, `logout`): `MFA_ENROLMENT_REQUIRED`.
    MfaEnrolmentRequired,
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
            Self::BadInput { .. } | Self::NotEligible { .. } => "BAD_USER_INPUT",
            Self::Conflict(_) | Self::Duplicate { .. } => "CONFLICT",
            Self::InvalidTransition { .. } => "INVALID_TRANSITION",
            Self::InsufficientStock(_) => "INSUFFICIENT_STOCK",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::MfaEnrolmentRequired => "MFA_ENROLMENT_REQUIRED",
            Self::Internal(_) => "INTERNAL",
        }
    }

    /// The message a client sees.
    pub fn public_message(&self) -> String {
        match self {
            Self::Unauthenticated(m) | Self::Forbidden(m) => (*m).to_string(),
            Self::NotFound(what) => format!("{what} not found"),
            Self::BadInput { field, message } => format!("{field}: {message}"),
            Self::NotEligible { field, message, .. } => format!("{field}: {message}"),
            Self::Conflict(m) | Self::InsufficientStock(m) => m.clone(),
            Self::Duplicate { message, .. } => (*message).to_string(),
            Self::InvalidTransition { from, to } => format!("cannot {to} from {from}"),
            Self::RateLimited { retry_after_secs } => {
                format!("too many attempts; try again in {retry_after_secs} s")
            }
            Self::MfaEnrolmentRequired => {
                "your account must turn on MFA first (enableMfa, then confirmMfa)".to_string()
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
                AppError::Duplicate { field, .. } => ext.set("field", *field),
                AppError::NotEligible { field, reason, .. } => {
                    ext.set("field", *field);
                    ext.set("reason", *reason);
                }
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

/// What one unique constraint means to a caller. Postgres names the constraint in its
/// error; SQLite names the columns (`table.column, …`).
struct UniqueMeaning {
    postgres: &'static str,
    sqlite: &'static str,
    field: &'static str,
    message: &'static str,
    /// The caller asked for something the record's state already rules out (a donor's
    /// second registration in one camp): `BAD_USER_INPUT`, as when the service sees it
    /// first; otherwise another record holds the value: `CONFLICT`.
    bad_input: bool,
}

/// Every unique constraint a write can hit, from the migrations.
const UNIQUE: &[UniqueMeaning] = &[
    UniqueMeaning {
        postgres: "users_email_key",
        sqlite: "users.email",
        field: "input.email",
        message: "an account with this email exists",
        bad_input: false,
    },
    UniqueMeaning {
        postgres: "organizations_code_key",
        sqlite: "organizations.code",
        field: "input.code",
        message: "an organization with this code exists",
        bad_input: false,
    },
    UniqueMeaning {
        postgres: "ux_memberships_user_org",
        sqlite: "memberships.user_id, memberships.organization_id",
        field: "input.email",
        message: "this user is already a member",
        bad_input: false,
    },
    UniqueMeaning {
        postgres: "ux_donors_phone_index",
        sqlite: "donors.phone_index",
        field: "input.phone",
        message: "a donor with this phone is already registered",
        bad_input: false,
    },
    UniqueMeaning {
        postgres: "donors_user_id_key",
        sqlite: "donors.user_id",
        field: "input.userId",
        message: "this account already has a donor record",
        bad_input: false,
    },
    UniqueMeaning {
        postgres: "ux_blood_units_number_component",
        sqlite: "blood_units.unit_number, blood_units.component",
        field: "input.units",
        message: "a unit with this number and component is already in stock",
        bad_input: false,
    },
    UniqueMeaning {
        postgres: "ux_request_declines",
        sqlite: "blood_request_declines.request_id, blood_request_declines.blood_bank_id",
        field: "input.requestId",
        message: "your bank already declined this request",
        bad_input: false,
    },
    UniqueMeaning {
        postgres: "ux_idempotency_keys",
        sqlite: "idempotency_keys.scope, idempotency_keys.operation, idempotency_keys.key",
        field: "input.idempotencyKey",
        message: "the same idempotency key is being used by a concurrent request",
        bad_input: false,
    },
    UniqueMeaning {
        postgres: "doctors_user_id_key",
        sqlite: "doctors.user_id",
        field: "input",
        message: "you already have a doctor profile",
        bad_input: false,
    },
    UniqueMeaning {
        postgres: "doctors_license_number_key",
        sqlite: "doctors.license_number",
        field: "input.licenseNumber",
        message: "a profile with this license number exists",
        bad_input: false,
    },
    UniqueMeaning {
        postgres: "ux_payments_one_succeeded",
        sqlite: "payments.consultation_id",
        field: "input.consultationId",
        message: "this consultation is already paid",
        bad_input: false,
    },
    UniqueMeaning {
        postgres: "ux_camp_registrations_active",
        sqlite: "camp_registrations.camp_id, camp_registrations.donor_id",
        field: "input.donorId",
        message: "this donor is already registered in this camp",
        bad_input: true,
    },
    UniqueMeaning {
        postgres: "ux_ai_analyses_report",
        sqlite: "ai_analyses.report_id",
        field: "input.reportId",
        message: "this report already has an AI analysis",
        bad_input: false,
    },
    UniqueMeaning {
        postgres: "ux_deliveries_request",
        sqlite: "deliveries.request_id",
        field: "input.requestId",
        message: "this request's units were already dispatched",
        bad_input: false,
    },
    UniqueMeaning {
        postgres: "ux_unit_returns_unit_request",
        sqlite: "unit_returns.unit_id, unit_returns.request_id",
        field: "input.unitIds",
        message: "a unit was already returned",
        bad_input: false,
    },
    UniqueMeaning {
        postgres: "ux_consultation_ratings_consultation",
        sqlite: "consultation_ratings.consultation_id",
        field: "input.consultationId",
        message: "this consultation is already rated",
        bad_input: false,
    },
    UniqueMeaning {
        postgres: "ux_transfusions_unit",
        sqlite: "transfusions.unit_id",
        field: "input.unitId",
        message: "this unit's transfusion is already recorded",
        bad_input: false,
    },
    UniqueMeaning {
        postgres: "insurance_plans_plan_code_key",
        sqlite: "insurance_plans.plan_code",
        field: "input.planCode",
        message: "a plan with this code exists",
        bad_input: false,
    },
    UniqueMeaning {
        postgres: "ux_coverages_primary_active",
        sqlite: "coverages.patient_id",
        field: "input.primary",
        message: "you already have an active primary coverage: terminate it first",
        bad_input: true,
    },
];

/// Maps a unique-constraint violation to `CONFLICT` naming the field it concerns (by the
/// constraint's name), anything else to `INTERNAL`.
pub fn unique_violation(e: sea_orm::DbErr) -> AppError {
    let Some(sea_orm::SqlErr::UniqueConstraintViolation(detail)) = e.sql_err() else {
        return e.into();
    };
    let known = UNIQUE.iter().find(|u| {
        detail.contains(&format!("\"{}\"", u.postgres))
            || detail.ends_with(&format!(": {}", u.sqlite))
    });
    match known {
        Some(u) if u.bad_input => AppError::bad_input(u.field, u.message),
        Some(u) => AppError::Duplicate {
            field: u.field,
            message: u.message,
        },
        None => {
            // A constraint this table does not know: a migration added one without saying
            // what it means. The caller still hears it is a conflict.
            tracing::warn!(%detail, "unique violation of an unlisted constraint");
            AppError::Conflict("this conflicts with an existing record".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violation(detail: &str) -> sea_orm::DbErr {
        sea_orm::DbErr::Custom(detail.to_string())
    }

    #[test]
    fn every_constraint_has_its_own_field_or_message() {
        for (i, a) in UNIQUE.iter().enumerate() {
            for b in &UNIQUE[i + 1..] {
                assert!(a.postgres != b.postgres && a.sqlite != b.sqlite);
                assert!(a.field != b.field || a.message != b.message);
            }
        }
        // DbErr::Custom is not a unique violation: it stays internal.
        assert_eq!(unique_violation(violation("x")).code(), "INTERNAL");
    }
}

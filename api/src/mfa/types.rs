//! GraphQL types of MFA.

use super::service::Enrolment;
use crate::identity::types::User;
use async_graphql::{InputObject, SimpleObject};
use entity::user;

/// A new TOTP secret, shown once: add it to an authenticator app, then send a code to
/// `confirmMfa`.
#[derive(SimpleObject)]
pub struct EnableMfaPayload {
    /// Base32 secret, for typing into the app.
    pub secret: String,
    /// `otpauth://` URI, for a QR code.
    pub otpauth_uri: String,
}

impl From<Enrolment> for EnableMfaPayload {
    fn from(e: Enrolment) -> Self {
        Self {
            secret: e.secret,
            otpauth_uri: e.uri,
        }
    }
}

/// Input of `confirmMfa`.
#[derive(InputObject)]
pub struct ConfirmMfaInput {
    /// The six-digit code the app shows now.
    pub code: String,
}

/// MFA is on. The recovery codes are shown this once: each signs in once without the app.
#[derive(SimpleObject)]
pub struct ConfirmMfaPayload {
    pub recovery_codes: Vec<String>,
}

impl From<Vec<String>> for ConfirmMfaPayload {
    fn from(recovery_codes: Vec<String>) -> Self {
        Self { recovery_codes }
    }
}

/// Input of `verifyMfa`: the token `login` gave, and a code or a recovery code.
#[derive(InputObject)]
pub struct VerifyMfaInput {
    pub mfa_token: String,
    /// The six-digit code the app shows now.
    pub code: Option<String>,
    /// One of the recovery codes, instead of `code`.
    pub recovery_code: Option<String>,
}

/// Input of `disableMfa`.
#[derive(InputObject)]
pub struct DisableMfaInput {
    /// The account's password.
    pub password: String,
    /// The six-digit code the app shows now.
    pub code: String,
}

#[derive(SimpleObject)]
pub struct DisableMfaPayload {
    pub user: User,
}

impl From<user::Model> for DisableMfaPayload {
    fn from(m: user::Model) -> Self {
        Self { user: m.into() }
    }
}

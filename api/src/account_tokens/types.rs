//! GraphQL inputs and payloads of the account emails.

use crate::identity::types::User;
use async_graphql::{InputObject, SimpleObject};
use entity::user;

/// Input of `verifyEmail`.
#[derive(InputObject)]
pub struct VerifyEmailInput {
    /// The code from the verification email (also in its link).
    pub token: String,
}

#[derive(SimpleObject)]
pub struct VerifyEmailPayload {
    pub user: User,
}

impl From<user::Model> for VerifyEmailPayload {
    fn from(u: user::Model) -> Self {
        Self { user: u.into() }
    }
}

#[derive(SimpleObject)]
pub struct ResendVerificationPayload {
    /// False when the email was verified already (nothing is sent).
    pub sent: bool,
}

impl From<bool> for ResendVerificationPayload {
    fn from(sent: bool) -> Self {
        Self { sent }
    }
}

/// Input of `requestPasswordReset`.
#[derive(InputObject)]
pub struct RequestPasswordResetInput {
    pub email: String,
}

#[derive(SimpleObject)]
pub struct RequestPasswordResetPayload {
    /// Always true: the answer is the same whether or not the email has an account.
    pub accepted: bool,
}

impl From<()> for RequestPasswordResetPayload {
    fn from((): ()) -> Self {
        Self { accepted: true }
    }
}

/// Input of `resetPassword`.
#[derive(InputObject)]
pub struct ResetPasswordInput {
    /// The code from the reset email (also in its link).
    pub token: String,
    /// At least 12 characters.
    pub new_password: String,
}

#[derive(SimpleObject)]
pub struct ResetPasswordPayload {
    pub user: User,
    /// Refresh sessions revoked; access tokens issued before the reset are refused too.
    pub sessions_ended: i32,
}

impl From<(user::Model, u64)> for ResetPasswordPayload {
    fn from((u, n): (user::Model, u64)) -> Self {
        Self {
            user: u.into(),
            sessions_ended: i32::try_from(n).unwrap_or(i32::MAX),
        }
    }
}

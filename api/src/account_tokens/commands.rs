//! Account-email mutations as typed commands, run by [`crate::pipeline`]; their use cases
//! are in [`super::service`]. Rate limits and password hashing happen in `prepare`, before
//! the write transaction.

use super::{service, types::*};
use crate::{
    audit::Change,
    auth::Rule,
    error::{AppError, AppResult},
    identity::{commands::NewSecret, rate_limit::ip_bucket, service::Device},
    pipeline::{Command, Exec},
    state::AppState,
    validation::{Email, NewPassword},
};
use entity::user;
use uuid::Uuid;

/// A token as pasted: trimmed; empty or oversized ones are refused before any lookup.
fn token(raw: &str) -> AppResult<String> {
    let t = raw.trim();
    if t.is_empty() || t.len() > 128 {
        return Err(AppError::bad_input("input.token", service::INVALID_TOKEN));
    }
    Ok(t.to_string())
}

/// `verifyEmail`, parsed.
pub struct VerifyEmail {
    /// The code from the email.
    pub token: String,
}

impl TryFrom<VerifyEmailInput> for VerifyEmail {
    type Error = AppError;

    fn try_from(input: VerifyEmailInput) -> AppResult<Self> {
        Ok(Self {
            token: token(&input.token)?,
        })
    }
}

impl Command for VerifyEmail {
    type Input = VerifyEmailInput;
    type Output = user::Model;
    const ACTION: &'static str = "user.verify_email";
    const ENTITY: &'static str = "user";
    const RULE: Rule = Rule::Public;

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::verify_email(exec.txn, self).await
    }
}

/// `resendVerification`: the signed-in user.
pub struct ResendVerification {
    user_id: Uuid,
}

impl TryFrom<Option<Uuid>> for ResendVerification {
    type Error = AppError;

    fn try_from(user: Option<Uuid>) -> AppResult<Self> {
        Ok(Self {
            user_id: user.ok_or(AppError::Unauthenticated("sign in first"))?,
        })
    }
}

impl Command for ResendVerification {
    type Input = Option<Uuid>;
    type Output = bool;
    const ACTION: &'static str = "user.resend_verification";
    const ENTITY: &'static str = "user";
    const RULE: Rule = Rule::SignedIn;

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.user_id)
    }

    /// One resend per user per window slot of the registration limit.
    async fn prepare(self, app: &AppState) -> AppResult<Self> {
        let key = format!("verify:user:{}", self.user_id);
        app.limiter
            .reserve(&[(&key, app.config.password_reset_max_per_email)])
            .await?;
        Ok(self)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        let ttl = exec.app.config.email_verification_ttl;
        service::resend_verification(exec.txn, self.user_id, ttl).await
    }
}

/// `requestPasswordReset`, parsed.
pub struct RequestPasswordReset {
    /// Normalized email.
    pub email: Email,
    /// Where the request came from, for the per-IP limit.
    pub from: Device,
}

impl TryFrom<(RequestPasswordResetInput, Device)> for RequestPasswordReset {
    type Error = AppError;

    fn try_from((input, from): (RequestPasswordResetInput, Device)) -> AppResult<Self> {
        Ok(Self {
            email: Email::parse(&input.email, "input.email")?,
            from,
        })
    }
}

impl Command for RequestPasswordReset {
    type Input = (RequestPasswordResetInput, Device);
    type Output = ();
    const ACTION: &'static str = "user.request_password_reset";
    const ENTITY: &'static str = "user";
    const RULE: Rule = Rule::Public;

    /// Reserves an attempt per IP and per email before anything is looked up, whether or not
    /// the email has an account, so the limit says nothing about accounts either.
    async fn prepare(self, app: &AppState) -> AppResult<Self> {
        let ip = format!("reset:ip:{}", ip_bucket(self.from.ip));
        let email = format!("reset:email:{}", self.email.as_str());
        app.limiter
            .reserve(&[
                (&ip, app.config.password_reset_max_per_ip),
                (&email, app.config.password_reset_max_per_email),
            ])
            .await?;
        Ok(self)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        let ttl = exec.app.config.password_reset_ttl;
        service::request_reset(exec.txn, self, ttl).await
    }
}

/// `resetPassword`, parsed; `prepare` hashes the new password.
pub struct ResetPassword {
    /// The code from the email.
    pub token: String,
    /// The new password, hashed by `prepare`.
    pub password: NewSecret,
}

impl TryFrom<ResetPasswordInput> for ResetPassword {
    type Error = AppError;

    fn try_from(input: ResetPasswordInput) -> AppResult<Self> {
        Ok(Self {
            token: token(&input.token)?,
            password: NewSecret::Typed(NewPassword::parse(
                &input.new_password,
                "input.newPassword",
            )?),
        })
    }
}

impl Command for ResetPassword {
    type Input = ResetPasswordInput;
    type Output = (user::Model, u64);
    const ACTION: &'static str = "user.reset_password";
    const ENTITY: &'static str = "user";
    const RULE: Rule = Rule::Public;

    /// Hashing takes the argon2 permits logins share; a reset link is rare and single-use.
    async fn prepare(mut self, app: &AppState) -> AppResult<Self> {
        self.password = self.password.hash(app).await?;
        Ok(self)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::reset_password(exec.txn, self).await
    }
}

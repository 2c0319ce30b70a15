//! MFA mutations as typed commands. Code attempts are reserved under the rate limits in
//! `prepare`, per account and (for `verifyMfa`) per MFA token, before any code is checked.

use super::{
    service::{self, Enrolment, SecondFactor},
    types::*,
};
use crate::{
    audit::Change,
    auth::Rule,
    error::{AppError, AppResult},
    identity::service::{Device, Session},
    pipeline::{Command, Exec},
    state::AppState,
};
use entity::{mfa_challenge, user};
use uuid::Uuid;

/// The caller's user id, which every MFA command but `verifyMfa` acts on.
fn me(user: Option<Uuid>) -> AppResult<Uuid> {
    user.ok_or(AppError::Unauthenticated("sign in first"))
}

fn account_key(user: Uuid) -> String {
    format!("mfa:user:{user}")
}

/// Reserves one code attempt for an account.
async fn reserve_account(app: &AppState, user: Uuid) -> AppResult<()> {
    let key = account_key(user);
    app.limiter
        .reserve(&[(&key, app.config.mfa_max_attempts)])
        .await?;
    Ok(())
}

/// A code that checked out forgives the account's earlier misses.
async fn forgive(app: &AppState, user: Uuid) {
    app.limiter.clear(&account_key(user)).await;
}

/// `enableMfa`.
pub struct EnableMfa {
    user: Uuid,
}

impl TryFrom<Option<Uuid>> for EnableMfa {
    type Error = AppError;

    fn try_from(user: Option<Uuid>) -> AppResult<Self> {
        Ok(Self { user: me(user)? })
    }
}

impl Command for EnableMfa {
    type Input = Option<Uuid>;
    type Output = Enrolment;
    const ACTION: &'static str = "user.mfa_enable";
    const ENTITY: &'static str = "user";
    const RULE: Rule = Rule::SignedIn;

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::enable(exec.txn, self.user).await
    }
}

/// `confirmMfa`, parsed.
pub struct ConfirmMfa {
    user: Uuid,
    code: String,
}

impl TryFrom<(ConfirmMfaInput, Option<Uuid>)> for ConfirmMfa {
    type Error = AppError;

    fn try_from((input, user): (ConfirmMfaInput, Option<Uuid>)) -> AppResult<Self> {
        Ok(Self {
            user: me(user)?,
            code: input.code,
        })
    }
}

impl Command for ConfirmMfa {
    type Input = (ConfirmMfaInput, Option<Uuid>);
    type Output = Vec<String>;
    const ACTION: &'static str = "user.mfa_confirm";
    const ENTITY: &'static str = "user";
    const RULE: Rule = Rule::SignedIn;

    async fn prepare(self, app: &AppState) -> AppResult<Self> {
        reserve_account(app, self.user).await?;
        Ok(self)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        let done = service::confirm(exec.txn, self.user, &self.code).await?;
        forgive(exec.app, self.user).await;
        Ok(done)
    }
}

/// `verifyMfa`, parsed: exactly one of a code and a recovery code.
pub struct VerifyMfa {
    token: String,
    factor: SecondFactor,
    from: Device,
    challenge: Option<mfa_challenge::Model>,
}

impl TryFrom<(VerifyMfaInput, Device)> for VerifyMfa {
    type Error = AppError;

    fn try_from((input, from): (VerifyMfaInput, Device)) -> AppResult<Self> {
        let factor = match (input.code, input.recovery_code) {
            (Some(c), None) => SecondFactor::Code(c),
            (None, Some(r)) => SecondFactor::Recovery(r),
            _ => {
                return Err(AppError::bad_input(
                    "input.code",
                    "give either code or recoveryCode",
                ));
            }
        };
        Ok(Self {
            token: input.mfa_token,
            factor,
            from,
            challenge: None,
        })
    }
}

impl Command for VerifyMfa {
    type Input = (VerifyMfaInput, Device);
    type Output = Session;
    const ACTION: &'static str = "auth.mfa_verify";
    const ENTITY: &'static str = "user";
    const RULE: Rule = Rule::Public;

    /// Reserves the attempt per token and per account before any code is checked; an
    /// unknown token is refused without touching an account's limit.
    async fn prepare(mut self, app: &AppState) -> AppResult<Self> {
        let found = service::find_challenge(&app.db, &self.token)
            .await?
            .ok_or_else(service::bad_token)?;
        let token_key = format!("mfa:token:{}", found.id);
        let account = account_key(found.user_id);
        app.limiter
            .reserve(&[
                (&token_key, app.config.mfa_max_attempts),
                (&account, app.config.mfa_max_attempts),
            ])
            .await?;
        self.challenge = Some(found);
        Ok(self)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        let challenge = self.challenge.ok_or_else(service::bad_token)?;
        let done = service::verify(exec.txn, exec.app, &challenge, &self.factor, self.from).await?;
        forgive(exec.app, challenge.user_id).await;
        Ok(done)
    }
}

/// `disableMfa`, parsed; `prepare` checks the password.
pub struct DisableMfa {
    user: Uuid,
    password: String,
    code: String,
}

impl TryFrom<(DisableMfaInput, Option<Uuid>)> for DisableMfa {
    type Error = AppError;

    fn try_from((input, user): (DisableMfaInput, Option<Uuid>)) -> AppResult<Self> {
        Ok(Self {
            user: me(user)?,
            password: input.password,
            code: input.code,
        })
    }
}

impl Command for DisableMfa {
    type Input = (DisableMfaInput, Option<Uuid>);
    type Output = user::Model;
    const ACTION: &'static str = "user.mfa_disable";
    const ENTITY: &'static str = "user";
    const RULE: Rule = Rule::SignedIn;

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.user)
    }

    async fn prepare(mut self, app: &AppState) -> AppResult<Self> {
        reserve_account(app, self.user).await?;
        let password = std::mem::take(&mut self.password);
        crate::identity::service::check_password(app, self.user, password)
            .await
            .map_err(|e| match e {
                AppError::BadInput { .. } => {
                    AppError::bad_input("input.password", "is not your password")
                }
                other => other,
            })?;
        Ok(self)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        let done = service::disable(exec.txn, self.user, &self.code).await?;
        forgive(exec.app, self.user).await;
        Ok(done)
    }
}

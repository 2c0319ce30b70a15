//! Identity mutations as typed commands: each input parsed once, run by
//! [`crate::pipeline`], its use case in [`super::service`]. Password work (hashing,
//! verifying) happens in `prepare`, before the write transaction.

use super::{
    service::{self, Device, ProfileChanges, Refresh, Session, SignIn},
    types::*,
};
use crate::{
    audit::Change,
    auth::Rule,
    error::{AppError, AppResult},
    graphql::{context::CtxExt, context::RequestCtx, ids::parse_id},
    pipeline::{self, Command, Exec},
    state::AppState,
    validation::{Email, IanaZone, Locale, NewPassword, Phone, Text},
};
use async_graphql::Context;
use entity::user;
use std::sync::{Arc, OnceLock};
use uuid::Uuid;

impl Device {
    /// The device a request comes from.
    pub fn of(req: &RequestCtx) -> Self {
        Self {
            ip: req.ip,
            user_agent: req.user_agent.clone(),
        }
    }
}

/// A new password: as typed, until the command's `prepare` hashes it.
pub enum NewSecret {
    /// As typed (already checked for length).
    Typed(NewPassword),
    /// Its argon2id PHC string.
    Hashed(String),
}

impl NewSecret {
    /// Hashes a typed password (argon2 permits are shared with logins).
    pub async fn hash(self, app: &AppState) -> AppResult<Self> {
        match self {
            Self::Typed(p) => Ok(Self::Hashed(app.hasher.hash(p.into_inner()).await?)),
            hashed => Ok(hashed),
        }
    }

    /// The hash, once prepared.
    pub fn into_hash(self) -> AppResult<String> {
        match self {
            Self::Hashed(h) => Ok(h),
            Self::Typed(_) => Err(AppError::internal("a password was not hashed")),
        }
    }
}

/// `register`, parsed.
pub struct Register {
    /// Normalized email.
    pub email: Email,
    /// The password, hashed by `prepare`.
    pub password: NewSecret,
    pub full_name: Text,
    /// E.164 phone.
    pub phone: Option<Phone>,
    /// Where the request came from, for the per-IP limit.
    pub from: Device,
}

impl TryFrom<(RegisterInput, Device)> for Register {
    type Error = AppError;

    /// A registration, from the device the request came from.
    fn try_from((input, from): (RegisterInput, Device)) -> AppResult<Self> {
        Ok(Self {
            email: Email::parse(&input.email, "input.email")?,
            password: NewSecret::Typed(NewPassword::parse(&input.password, "input.password")?),
            full_name: Text::parse(&input.full_name, "input.fullName", 200)?,
            phone: Phone::parse_opt(input.phone.as_deref(), "input.phone")?,
            from,
        })
    }
}

impl Command for Register {
    type Input = (RegisterInput, Device);
    type Output = user::Model;
    const ACTION: &'static str = "user.register";
    const ENTITY: &'static str = "user";
    const RULE: Rule = Rule::Public;

    /// Hashes only once the rate limit and the email check have passed: argon2 permits
    /// are shared with logins.
    async fn prepare(mut self, app: &AppState) -> AppResult<Self> {
        service::admit_registration(app, &self.email, self.from.ip).await?;
        self.password = self.password.hash(app).await?;
        Ok(self)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::register(exec.txn, self, exec.app.config.email_verification_ttl).await
    }
}

/// `login`, parsed; `prepare` checks the credentials against the rate limits and the hash.
pub struct Login {
    email: Email,
    password: String,
    from: Device,
    verified: Option<user::Model>,
}

impl TryFrom<(LoginInput, Device)> for Login {
    type Error = AppError;

    /// A login attempt, from the device the request came from.
    fn try_from((input, from): (LoginInput, Device)) -> AppResult<Self> {
        Ok(Self {
            email: Email::parse(&input.email, "input.email")?,
            password: input.password,
            from,
            verified: None,
        })
    }
}

impl Command for Login {
    type Input = (LoginInput, Device);
    type Output = SignIn;
    const ACTION: &'static str = "auth.login";
    const ENTITY: &'static str = "user";
    const RULE: Rule = Rule::Public;

    async fn prepare(mut self, app: &AppState) -> AppResult<Self> {
        let password = std::mem::take(&mut self.password);
        let user = service::check_credentials(app, &self.email, password, self.from.ip).await?;
        self.verified = Some(user);
        Ok(self)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        let user = self
            .verified
            .ok_or_else(|| AppError::internal("credentials not checked"))?;
        service::login(exec.txn, exec.app, user, self.from).await
    }
}

/// `refreshSession`. A reused token fails the attempt, which rolls back; the family it
/// names is carried out in `reused` and revoked after, by [`refresh_session`].
pub struct RefreshSession {
    token: String,
    from: Device,
    reused: Arc<OnceLock<Uuid>>,
}

impl TryFrom<(RefreshSessionInput, Device, Arc<OnceLock<Uuid>>)> for RefreshSession {
    type Error = AppError;

    fn try_from(
        (input, from, reused): (RefreshSessionInput, Device, Arc<OnceLock<Uuid>>),
    ) -> AppResult<Self> {
        Ok(Self {
            token: input.refresh_token,
            from,
            reused,
        })
    }
}

impl Command for RefreshSession {
    type Input = (RefreshSessionInput, Device, Arc<OnceLock<Uuid>>);
    type Output = Session;
    const ACTION: &'static str = "auth.refresh";
    const ENTITY: &'static str = "session";
    const RULE: Rule = Rule::Public;

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        match service::refresh(exec.txn, exec.app, &self.token, self.from).await? {
            Refresh::Rotated(rotated) => Ok(*rotated),
            Refresh::Reused { family } => {
                let _ = self.reused.set(family);
                Err(AppError::Unauthenticated(service::REUSED))
            }
        }
    }
}

/// Runs `refreshSession`; when the token was reused, revokes its whole family once the
/// attempt is recorded.
pub async fn refresh_session(ctx: &Context<'_>, input: RefreshSessionInput) -> AppResult<Session> {
    let req = ctx.req()?;
    let reused = Arc::new(OnceLock::new());
    let input = (input, Device::of(req), reused.clone());
    let result = pipeline::run::<RefreshSession>(ctx, input).await;
    if let Some(family) = reused.get() {
        service::revoke_leaked(&req.db, *family, &req.request_id).await?;
    }
    result
}

/// `logout`: holding the refresh token is what counts.
pub struct Logout {
    /// The session's current refresh token.
    pub token: String,
}

impl TryFrom<LogoutInput> for Logout {
    type Error = AppError;

    fn try_from(input: LogoutInput) -> AppResult<Self> {
        Ok(Self {
            token: input.refresh_token,
        })
    }
}

impl Command for Logout {
    type Input = LogoutInput;
    type Output = u64;
    const ACTION: &'static str = "auth.logout";
    const ENTITY: &'static str = "session";
    const RULE: Rule = Rule::Public;

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::logout(exec.txn, &self.token).await
    }
}

/// `changePassword`, parsed; `prepare` verifies the current password and hashes the new one.
pub struct ChangePassword {
    user_id: Uuid,
    current: String,
    new: NewSecret,
    verified: Option<user::Model>,
    /// Where the caller's new session comes from.
    from: Device,
}

impl TryFrom<(ChangePasswordInput, Option<Uuid>, Device)> for ChangePassword {
    type Error = AppError;

    /// The signed-in caller's request (their user id, if a user calls) and its device.
    fn try_from(
        (input, user, from): (ChangePasswordInput, Option<Uuid>, Device),
    ) -> AppResult<Self> {
        Ok(Self {
            from,
            user_id: user.ok_or(AppError::Unauthenticated("sign in first"))?,
            new: NewSecret::Typed(NewPassword::parse(
                &input.new_password,
                "input.newPassword",
            )?),
            current: input.current_password,
            verified: None,
        })
    }
}

impl ChangePassword {
    /// Where the caller's new session comes from.
    pub fn device(&self) -> Device {
        self.from.clone()
    }

    /// The user whose current password was verified, and the new hash.
    pub fn verified(self) -> AppResult<(user::Model, String)> {
        let user = self
            .verified
            .ok_or_else(|| AppError::internal("current password not verified"))?;
        Ok((user, self.new.into_hash()?))
    }
}

impl Command for ChangePassword {
    type Input = (ChangePasswordInput, Option<Uuid>, Device);
    type Output = (Session, u64);
    const ACTION: &'static str = "user.change_password";
    const ENTITY: &'static str = "user";
    const RULE: Rule = Rule::SignedIn;

    async fn prepare(mut self, app: &AppState) -> AppResult<Self> {
        let current = std::mem::take(&mut self.current);
        self.verified = Some(service::check_password(app, self.user_id, current).await?);
        self.new = self.new.hash(app).await?;
        Ok(self)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::change_password(exec.txn, exec.app, self).await
    }
}

/// `setUserActive`, parsed.
pub struct SetUserActive {
    pub user_id: Uuid,
    /// False deactivates.
    pub active: bool,
}

impl TryFrom<SetUserActiveInput> for SetUserActive {
    type Error = AppError;

    fn try_from(input: SetUserActiveInput) -> AppResult<Self> {
        Ok(Self {
            user_id: parse_id(&input.user_id, "input.userId")?,
            active: input.is_active,
        })
    }
}

impl Command for SetUserActive {
    type Input = SetUserActiveInput;
    type Output = user::Model;
    const ACTION: &'static str = "user.set_active";
    const ENTITY: &'static str = "user";
    const RULE: Rule = Rule::SuperAdmin;

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.user_id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::set_active(exec.txn, self, exec.actor).await
    }
}

/// `revokeSession`, parsed.
pub struct RevokeSession {
    user: Uuid,
    family: Uuid,
}

impl TryFrom<(RevokeSessionInput, Option<Uuid>)> for RevokeSession {
    type Error = AppError;

    fn try_from((input, user): (RevokeSessionInput, Option<Uuid>)) -> AppResult<Self> {
        Ok(Self {
            user: user.ok_or(AppError::Unauthenticated("sign in first"))?,
            family: parse_id(&input.session_id, "input.sessionId")?,
        })
    }
}

impl Command for RevokeSession {
    type Input = (RevokeSessionInput, Option<Uuid>);
    type Output = u64;
    const ACTION: &'static str = "session.revoke";
    const ENTITY: &'static str = "session";
    const RULE: Rule = Rule::SignedIn;

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.family)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::revoke_own_session(exec.txn, self.user, self.family).await
    }
}

/// `revokeOtherSessions`: every session of the caller but the one of their token.
pub struct RevokeOtherSessions {
    user: Uuid,
    keep: Option<Uuid>,
}

impl TryFrom<(Option<Uuid>, Option<Uuid>)> for RevokeOtherSessions {
    type Error = AppError;

    /// The caller and the session of their token.
    fn try_from((user, keep): (Option<Uuid>, Option<Uuid>)) -> AppResult<Self> {
        Ok(Self {
            user: user.ok_or(AppError::Unauthenticated("sign in first"))?,
            keep,
        })
    }
}

impl Command for RevokeOtherSessions {
    type Input = (Option<Uuid>, Option<Uuid>);
    type Output = u64;
    const ACTION: &'static str = "session.revoke_others";
    const ENTITY: &'static str = "user";
    const RULE: Rule = Rule::SignedIn;

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::revoke_other_sessions(exec.txn, self.user, self.keep).await
    }
}

/// `updateMe`, parsed.
pub struct UpdateMe {
    user: Uuid,
    changes: ProfileChanges,
}

/// A field that may be left out, set, or cleared with `null`.
fn maybe<T>(
    v: async_graphql::MaybeUndefined<String>,
    parse: impl FnOnce(&str) -> AppResult<T>,
) -> AppResult<Option<Option<T>>> {
    use async_graphql::MaybeUndefined::*;
    Ok(match v {
        Undefined => None,
        Null => Some(None),
        Value(s) if s.trim().is_empty() => Some(None),
        Value(s) => Some(Some(parse(&s)?)),
    })
}

impl TryFrom<(UpdateMeInput, Option<Uuid>)> for UpdateMe {
    type Error = AppError;

    fn try_from((input, user): (UpdateMeInput, Option<Uuid>)) -> AppResult<Self> {
        let full_name = match input.full_name {
            Some(n) => Some(Text::parse(&n, "input.fullName", 200)?.into_inner()),
            None => None,
        };
        Ok(Self {
            user: user.ok_or(AppError::Unauthenticated("sign in first"))?,
            changes: ProfileChanges {
                full_name,
                phone: maybe(input.phone, |s| {
                    Phone::parse(s, "input.phone").map(Phone::into_inner)
                })?,
                locale: maybe(input.locale, |s| {
                    Locale::parse(s, "input.locale").map(Locale::into_inner)
                })?,
                time_zone: maybe(input.time_zone, |s| {
                    IanaZone::parse(s, "input.timeZone").map(|z| z.0.name().to_string())
                })?,
            },
        })
    }
}

impl Command for UpdateMe {
    type Input = (UpdateMeInput, Option<Uuid>);
    type Output = user::Model;
    const ACTION: &'static str = "user.update_me";
    const ENTITY: &'static str = "user";
    const RULE: Rule = Rule::SignedIn;

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.user)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::update_me(exec.txn, self.user, self.changes).await
    }
}

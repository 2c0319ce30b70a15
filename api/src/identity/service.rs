//! Identity use cases: accounts, sign-in, rotating sessions. Each takes a connection or
//! transaction and already-validated values, and returns what changed for the audit row.

use super::commands::{ChangePassword, Register, SetUserActive};
use crate::{
    audit::Change,
    auth::{
        Actor,
        tokens::{random_token, token_hash},
    },
    db::now,
    error::{AppError, AppResult, unique_violation},
    identity::rate_limit::ip_bucket,
    state::AppState,
    validation::{Email, Phone},
};
use chrono::{DateTime, Utc};
use entity::{PlatformRole, session, user};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::Expr,
};
use serde_json::json;
use std::{net::IpAddr, time::Duration};
use uuid::Uuid;
// Streams opened with the access a change withdraws end on these events (DESIGN §7.2).
use crate::{auth::revocation::Revocation, events::Event};

/// The error every failed credential check answers with, so that a caller cannot tell a
/// wrong email from a wrong password or a deactivated account.
pub const BAD_CREDENTIALS: &str = "invalid email or password";

/// The message of a refresh attempt with a token that was already rotated.
pub const REUSED: &str = "refresh token already used; the session has been revoked";

/// A new account's validated fields.
pub struct NewUser {
    /// Normalized email.
    pub email: Email,
    /// argon2id PHC string.
    pub password_hash: String,
    pub full_name: String,
    /// E.164 phone.
    pub phone: Option<String>,
    pub platform_role: PlatformRole,
}

/// Where a sign-in or a refresh comes from, stored with the session it starts.
#[derive(Debug, Clone, Default)]
pub struct Device {
    /// The client IP.
    pub ip: Option<IpAddr>,
    /// The client's user agent (cut to 512 characters when stored).
    pub user_agent: Option<String>,
}

/// A signed-in session as handed to the client.
pub struct Session {
    /// The user signed in.
    pub user: user::Model,
    /// The access token and its expiry.
    pub access: (String, DateTime<Utc>),
    /// The refresh token and its stored row.
    pub refresh: IssuedRefresh,
}

/// A refresh token as issued: the secret (shown once) and its row.
pub struct IssuedRefresh {
    /// The opaque token for the client.
    pub token: String,
    pub session: session::Model,
}

/// What a login with the right password leads to.
pub enum SignIn {
    /// Tokens: the account has no MFA.
    Session(Box<Session>),
    /// The account has MFA: a code is to be sent to `verifyMfa` with this token.
    Challenge {
        /// The user signing in.
        user: Box<user::Model>,
        /// The single-use MFA token (only its hash is stored).
        token: String,
    },
}

/// What presenting a refresh token led to.
pub enum Refresh {
    /// The token was live: the session goes on with its successor.
    Rotated(Box<(Session, Change)>),
    /// The token had been used already (or a concurrent refresh used it first): it leaked,
    /// and its whole family is to be revoked.
    Reused {
        /// The session family the token belongs to.
        family: Uuid,
    },
}

/// Finds a user by normalized email.
pub async fn find_by_email<C: ConnectionTrait>(
    db: &C,
    email: &Email,
) -> AppResult<Option<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(db)
        .await?)
}

/// Creates a user; `CONFLICT` when the email is taken (checked first, and by the unique index
/// when two registrations race).
pub async fn create_user<C: ConnectionTrait>(db: &C, new: NewUser) -> AppResult<user::Model> {
    if find_by_email(db, &new.email).await?.is_some() {
        return Err(email_taken());
    }
    let t = now();
    let model = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(new.email.as_str().to_string()),
        password_hash: Set(new.password_hash),
        full_name: Set(new.full_name),
        phone: Set(new.phone),
        platform_role: Set(new.platform_role),
        is_active: Set(true),
        last_login_at: Set(None),
        email_verified_at: Set(None),
        credentials_changed_at: Set(None),
        created_at: Set(t),
        updated_at: Set(t),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(unique_violation)?;
    Ok(model)
}

/// `register`: a plain user account (its password already hashed by the command), and the
/// email that verifies its address, queued in the same transaction.
pub async fn register<C: ConnectionTrait>(
    db: &C,
    cmd: Register,
    verification_ttl: Duration,
) -> AppResult<(user::Model, Change)> {
    let u = create_user(
        db,
        NewUser {
            email: cmd.email,
            password_hash: cmd.password.into_hash()?,
            full_name: cmd.full_name.into_inner(),
            phone: cmd.phone.map(Phone::into_inner),
            platform_role: PlatformRole::User,
        },
    )
    .await?;
    let mailed =
        crate::account_tokens::service::send_verification(db, &u, verification_ttl).await?;
    let change = Change {
        new: Some(json!({"email": u.email, "fullName": u.full_name})),
        events: vec![mailed],
        ..by_user(u.id, u.id)
    };
    Ok((u, change))
}

/// The change of an action on `entity` that only the action itself ties to a user.
fn by_user(entity: Uuid, user: Uuid) -> Change {
    Change {
        entity_id: Some(entity),
        actor_user_id: Some(user),
        ..Change::default()
    }
}

/// Checks a login attempt against the rate limits and the stored hash. Runs before the
/// write transaction: verifying takes tens of milliseconds of CPU.
///
/// The attempt is reserved under both limits, per account from this IP and per IP, before
/// the password is checked, so parallel guesses get at most the limits' worth of checks;
/// limiting the account per IP means guesses from elsewhere cannot lock its owner out. A
/// failure stays counted. A success forgives the account's failures from this IP (its owner
/// proved who they are) and gives its own attempt back to the IP, but not the IP's
/// failures, so signing in to one's own account never buys guesses at others.
pub async fn check_credentials(
    app: &AppState,
    email: &Email,
    password: String,
    ip: Option<IpAddr>,
) -> AppResult<user::Model> {
    let from = ip_bucket(ip);
    let pair_key = format!("login:pair:{from}:{}", email.as_str());
    let ip_key = format!("login:ip:{from}");
    let reserved = app
        .limiter
        .reserve(&[
            (&pair_key, app.config.login_max_attempts),
            (&ip_key, app.config.login_max_attempts_per_ip),
        ])
        .await?;
    let found = find_by_email(&app.db, email).await?;
    let ok = app
        .hasher
        .verify(password, found.as_ref().map(|u| u.password_hash.clone()))
        .await?;
    match found {
        Some(u) if ok && u.is_active => {
            app.limiter.clear(&pair_key).await;
            app.limiter.release(reserved, &ip_key).await;
            Ok(u)
        }
        _ => Err(AppError::Unauthenticated(BAD_CREDENTIALS)),
    }
}

/// The cheap checks of a registration, before its password is hashed: an attempt reserved
/// under the per-IP limit (whatever its outcome, so the email check below cannot be used to
/// list accounts faster), and the email not taken.
pub async fn admit_registration(
    app: &AppState,
    email: &Email,
    ip: Option<IpAddr>,
) -> AppResult<()> {
    let key = format!("register:ip:{}", ip_bucket(ip));
    app.limiter
        .reserve(&[(&key, app.config.register_max_per_ip)])
        .await?;
    if find_by_email(&app.db, email).await?.is_some() {
        return Err(email_taken());
    }
    Ok(())
}

fn email_taken() -> AppError {
    AppError::Conflict("an account with this email exists".into())
}

/// `login`, once the credentials checked out: an account with MFA gets a challenge for
/// `verifyMfa`; any other records the login and starts a session family.
pub async fn login<C: ConnectionTrait>(
    db: &C,
    app: &AppState,
    user: user::Model,
    from: Device,
) -> AppResult<(SignIn, Change)> {
    if user.mfa_enabled_at.is_some() {
        let token = crate::mfa::service::challenge(db, user.id, &from).await?;
        let change = by_user(user.id, user.id);
        return Ok((
            SignIn::Challenge {
                user: Box::new(user),
                token,
            },
            change,
        ));
    }
    let (s, change) = start_session(db, app, user, from).await?;
    Ok((SignIn::Session(Box::new(s)), change))
}

/// Records a completed sign-in and starts a session family.
pub async fn start_session<C: ConnectionTrait>(
    db: &C,
    app: &AppState,
    user: user::Model,
    from: Device,
) -> AppResult<(Session, Change)> {
    touch_login(db, user.id).await?;
    let refresh = issue_refresh(db, user.id, None, app.config.refresh_token_ttl, from).await?;
    let change = by_user(user.id, user.id);
    Ok((session(app, user, refresh)?, change))
}

fn session(app: &AppState, user: user::Model, refresh: IssuedRefresh) -> AppResult<Session> {
    Ok(Session {
        access: app
            .keys
            .issue_access(user.id, Some(refresh.session.family_id))?,
        user,
        refresh,
    })
}

/// Starts a session family (`family` `None`) or continues one (its id and when it began),
/// storing only the token's hash.
pub async fn issue_refresh<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    family: Option<(Uuid, DateTime<Utc>)>,
    ttl: Duration,
    from: Device,
) -> AppResult<IssuedRefresh> {
    let token = random_token("");
    let t = now();
    let (family_id, started) = family.unwrap_or_else(|| (Uuid::now_v7(), t));
    let session = session::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        family_id: Set(family_id),
        token_hash: Set(token_hash(&token)),
        expires_at: Set(t + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::days(30))),
        rotated_at: Set(None),
        revoked_at: Set(None),
        ip: Set(from.ip.map(|i| i.to_string())),
        user_agent: Set(from.user_agent.map(|u| u.chars().take(512).collect())),
        created_at: Set(t),
        started_at: Set(Some(started)),
        last_used_at: Set(Some(t)),
    }
    .insert(db)
    .await?;
    Ok(IssuedRefresh { token, session })
}

/// Records a successful login.
pub async fn touch_login<C: ConnectionTrait>(db: &C, user_id: Uuid) -> AppResult<()> {
    user::Entity::update_many()
        .col_expr(user::Column::LastLoginAt, Expr::value(now()))
        .filter(user::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Finds a session by its token.
pub async fn find_session<C: ConnectionTrait>(
    db: &C,
    token: &str,
) -> AppResult<Option<session::Model>> {
    Ok(session::Entity::find()
        .filter(session::Column::TokenHash.eq(token_hash(token)))
        .one(db)
        .await?)
}

/// `refreshSession`: rotates a refresh token, marking it used and issuing its successor in
/// the same family. A token used before is [`Refresh::Reused`].
///
/// The mark is a conditional update, so of two requests presenting the same token at once
/// exactly one rotates it; the other sees a used token, which is reuse too.
pub async fn refresh<C: ConnectionTrait>(
    db: &C,
    app: &AppState,
    token: &str,
    from: Device,
) -> AppResult<Refresh> {
    let invalid = || AppError::Unauthenticated("invalid refresh token");
    let s = find_session(db, token).await?.ok_or_else(invalid)?;
    let reused = Refresh::Reused {
        family: s.family_id,
    };
    if s.rotated_at.is_some() {
        return Ok(reused);
    }
    let t = now();
    if s.revoked_at.is_some() || s.expires_at <= t {
        return Err(invalid());
    }
    let marked = session::Entity::update_many()
        .col_expr(session::Column::RotatedAt, Expr::value(t))
        .filter(session::Column::Id.eq(s.id))
        .filter(session::Column::RotatedAt.is_null())
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    if marked.rows_affected != 1 {
        return Ok(reused);
    }
    let u = user::Entity::find_by_id(s.user_id)
        .one(db)
        .await?
        .ok_or_else(invalid)?;
    if !u.is_active {
        return Err(invalid());
    }
    let ttl = app.config.refresh_token_ttl;
    let started = s.started_at.unwrap_or(s.created_at);
    let next = issue_refresh(db, u.id, Some((s.family_id, started)), ttl, from).await?;
    let change = by_user(s.family_id, u.id);
    Ok(Refresh::Rotated(Box::new((session(app, u, next)?, change))))
}

/// Revokes the family of a leaked (reused) refresh token, on its own after the refresh
/// attempt rolled back.
pub async fn revoke_leaked<C: ConnectionTrait>(
    db: &C,
    family: Uuid,
    request_id: &str,
) -> AppResult<()> {
    let n = revoke_family(db, family).await?;
    tracing::warn!(request_id, family = %family, revoked = n, "refresh token reuse: session family revoked");
    Ok(())
}

/// `logout`: revokes the whole family of a refresh token.
pub async fn logout<C: ConnectionTrait>(db: &C, token: &str) -> AppResult<(u64, Change)> {
    let s = find_session(db, token)
        .await?
        .ok_or(AppError::Unauthenticated("invalid refresh token"))?;
    let n = revoke_family(db, s.family_id).await?;
    Ok((n, by_user(s.family_id, s.user_id)))
}

/// Revokes every live token of a family.
pub async fn revoke_family<C: ConnectionTrait>(db: &C, family_id: Uuid) -> AppResult<u64> {
    revoke_where(db, session::Column::FamilyId.eq(family_id)).await
}

/// Revokes every live session of a user (password change, deactivation).
pub async fn revoke_user_sessions<C: ConnectionTrait>(db: &C, user_id: Uuid) -> AppResult<u64> {
    revoke_where(db, session::Column::UserId.eq(user_id)).await
}

async fn revoke_where<C: ConnectionTrait>(
    db: &C,
    which: sea_orm::sea_query::SimpleExpr,
) -> AppResult<u64> {
    let r = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(now()))
        .filter(which)
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(r.rows_affected)
}

/// Verifies a signed-in user's current password (before the write transaction).
pub async fn check_password(
    app: &AppState,
    user_id: Uuid,
    current: String,
) -> AppResult<user::Model> {
    let u = user::Entity::find_by_id(user_id)
        .one(&app.db)
        .await?
        .ok_or(AppError::Unauthenticated("sign in first"))?;
    if !app
        .hasher
        .verify(current, Some(u.password_hash.clone()))
        .await?
    {
        return Err(AppError::bad_input(
            "input.currentPassword",
            "is not your current password",
        ));
    }
    Ok(u)
}

/// `changePassword`, its current password verified and the new one hashed by the command:
/// sets the hash and ends every session of the user at once, as a reset does: refresh
/// tokens revoked, access tokens issued before now refused (`credentials_changed_at`, on the
/// viewer-cache hit path too), cached viewers forgotten and live streams ended on every
/// instance (`Revocation::User`). The caller goes on in a new session whose tokens the
/// payload carries (issued after the change, so they are held). Returns the new session and
/// how many refresh tokens were revoked.
pub async fn change_password<C: ConnectionTrait>(
    db: &C,
    app: &AppState,
    cmd: ChangePassword,
) -> AppResult<((Session, u64), Change)> {
    use chrono::SubsecRound;
    let from = cmd.device();
    let (u, hash) = cmd.verified()?;
    // Access tokens carry their issue time in milliseconds: the change is recorded at
    // millisecond precision too, so the tokens issued just below (same millisecond) hold.
    let t = now().trunc_subsecs(3);
    let mut am: user::ActiveModel = u.into();
    am.password_hash = Set(hash);
    am.credentials_changed_at = Set(Some(t));
    am.updated_at = Set(t);
    let u = am.update(db).await?;
    let ended = revoke_user_sessions(db, u.id).await?;
    let refresh = issue_refresh(db, u.id, None, app.config.refresh_token_ttl, from).await?;
    let change = Change {
        entity_id: Some(u.id),
        new: Some(json!({"sessionsEnded": ended})),
        events: vec![Event::Revoked(Revocation::User { id: u.id })],
        ..Change::default()
    };
    Ok(((session(app, u, refresh)?, ended), change))
}

/// `setUserActive`: activates or deactivates a user (never oneself); deactivation also ends
/// their sessions.
pub async fn set_active<C: ConnectionTrait>(
    db: &C,
    cmd: SetUserActive,
    actor: &Actor,
) -> AppResult<(user::Model, Change)> {
    if actor.user_id == Some(cmd.user_id) && !cmd.active {
        return Err(AppError::bad_input(
            "input.userId",
            "you cannot deactivate yourself",
        ));
    }
    let before = user::Entity::find_by_id(cmd.user_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    let mut am: user::ActiveModel = before.clone().into();
    am.is_active = Set(cmd.active);
    am.updated_at = Set(now());
    let after = am.update(db).await?;
    if !cmd.active {
        revoke_user_sessions(db, cmd.user_id).await?;
    }
    let change = Change {
        old: Some(json!({"isActive": before.is_active})),
        new: Some(json!({"isActive": after.is_active})),
        events: (!after.is_active)
            .then_some(Event::Revoked(Revocation::User { id: after.id }))
            .into_iter()
            .collect(),
        ..Change::default()
    };
    Ok((after, change))
}

/// `mySessions`: the user's live sessions (the current token of each family), most recently
/// used first.
pub async fn live_sessions<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
) -> AppResult<Vec<session::Model>> {
    use sea_orm::QueryOrder;
    Ok(session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RotatedAt.is_null())
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(now()))
        .order_by_desc(session::Column::CreatedAt)
        .order_by_desc(session::Column::Id)
        .all(db)
        .await?)
}

/// `revokeSession`: ends one of the user's own sessions (a family); someone else's, or one
/// that does not exist, is `NOT_FOUND` alike. Its access tokens are refused from the next
/// request on, on every instance.
pub async fn revoke_own_session<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    family_id: Uuid,
) -> AppResult<(u64, Change)> {
    let owned = session::Entity::find()
        .filter(session::Column::FamilyId.eq(family_id))
        .filter(session::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("session"))?;
    let n = revoke_family(db, owned.family_id).await?;
    let change = Change {
        events: vec![Event::Revoked(Revocation::Session {
            user_id,
            family_id: Some(family_id),
        })],
        ..by_user(family_id, user_id)
    };
    Ok((u64::from(n > 0), change))
}

/// `revokeOtherSessions`: ends every live session of the user but `keep` (the caller's).
pub async fn revoke_other_sessions<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    keep: Option<Uuid>,
) -> AppResult<(u64, Change)> {
    let families: Vec<Uuid> = live_sessions(db, user_id)
        .await?
        .into_iter()
        .map(|s| s.family_id)
        .filter(|f| Some(*f) != keep)
        .collect();
    if !families.is_empty() {
        revoke_where(db, session::Column::FamilyId.is_in(families.clone())).await?;
    }
    let change = Change {
        new: Some(json!({"revokedSessions": families.len()})),
        events: families
            .iter()
            .map(|f| {
                Event::Revoked(Revocation::Session {
                    user_id,
                    family_id: Some(*f),
                })
            })
            .collect(),
        ..by_user(user_id, user_id)
    };
    Ok((families.len() as u64, change))
}

/// `updateMe`'s parsed changes: `None` leaves a field; `Some(None)` clears it.
pub struct ProfileChanges {
    pub full_name: Option<String>,
    pub phone: Option<Option<String>>,
    pub locale: Option<Option<String>>,
    pub time_zone: Option<Option<String>>,
}

/// `updateMe`: the caller's own name, phone, locale and time zone; the audit row keeps which
/// fields changed (not their values: a phone is personal).
pub async fn update_me<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    changes: ProfileChanges,
) -> AppResult<(user::Model, Change)> {
    let before = user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or(AppError::Unauthenticated("sign in first"))?;
    let mut am: user::ActiveModel = before.clone().into();
    let mut fields = Vec::new();
    if let Some(v) = changes.full_name {
        am.full_name = Set(v);
        fields.push("fullName");
    }
    if let Some(v) = changes.phone {
        am.phone = Set(v);
        fields.push("phone");
    }
    if let Some(v) = changes.locale {
        am.locale = Set(v);
        fields.push("locale");
    }
    if let Some(v) = changes.time_zone {
        am.time_zone = Set(v);
        fields.push("timeZone");
    }
    if fields.is_empty() {
        return Ok((before, by_user(user_id, user_id)));
    }
    am.updated_at = Set(now());
    let after = am.update(db).await?;
    let change = Change {
        new: Some(json!({"changed": fields})),
        ..by_user(user_id, user_id)
    };
    Ok((after, change))
}

//! Account-token use cases: issue a token and queue its email, redeem a token once, verify
//! an email, reset a password.

use super::commands::{RequestPasswordReset, ResetPassword, VerifyEmail};
use crate::{
    audit::Change,
    auth::{
        revocation::Revocation,
        tokens::{random_token, token_hash},
    },
    db::now,
    error::{AppError, AppResult},
    events::Event,
    identity::service::{find_by_email, revoke_user_sessions},
    notifications::{
        outbox::{self, NewDelivery},
        templates::{AccountEmail, account_email},
    },
};
use entity::{TokenPurpose, account_token as at, user};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::Expr,
};
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

/// What a redeemed token that is unknown, used or expired answers: the same for all three.
pub const INVALID_TOKEN: &str = "is invalid, already used or expired";

/// A fresh secret for a link: 256 random bits, base64url.
pub fn fresh_token() -> String {
    random_token("")
}

/// `now + ttl`.
pub fn expiry(ttl: Duration) -> chrono::DateTime<chrono::Utc> {
    now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(1))
}

/// Stores a new token of `purpose` for the user (its hash only) and returns its text.
pub async fn issue<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    purpose: TokenPurpose,
    ttl: Duration,
) -> AppResult<String> {
    let token = fresh_token();
    at::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        purpose: Set(purpose),
        token_hash: Set(token_hash(&token)),
        expires_at: Set(expiry(ttl)),
        used_at: Set(None),
        created_at: Set(now()),
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// Redeems a token of `purpose`: marks it used with a conditional update, so of two
/// redemptions racing exactly one succeeds. Unknown, used and expired tokens answer alike
/// (`BAD_USER_INPUT` on `field`).
pub async fn redeem<C: ConnectionTrait>(
    db: &C,
    token: &str,
    purpose: TokenPurpose,
    field: &str,
) -> AppResult<at::Model> {
    let invalid = || AppError::bad_input(field, INVALID_TOKEN);
    let t = now();
    let row = at::Entity::find()
        .filter(at::Column::TokenHash.eq(token_hash(token)))
        .filter(at::Column::Purpose.eq(purpose))
        .one(db)
        .await?
        .ok_or_else(invalid)?;
    if row.used_at.is_some() || row.expires_at <= t {
        return Err(invalid());
    }
    let marked = at::Entity::update_many()
        .col_expr(at::Column::UsedAt, Expr::value(t))
        .filter(at::Column::Id.eq(row.id))
        .filter(at::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    if marked.rows_affected != 1 {
        return Err(invalid());
    }
    Ok(row)
}

/// Ends the live tokens of a purpose a user holds (a new one supersedes them).
async fn supersede<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    purpose: TokenPurpose,
) -> AppResult<()> {
    at::Entity::update_many()
        .col_expr(at::Column::UsedAt, Expr::value(now()))
        .filter(at::Column::UserId.eq(user_id))
        .filter(at::Column::Purpose.eq(purpose))
        .filter(at::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Queues an account email with its code to `to`, in the caller's transaction; returns the
/// event that wakes the outbox workers after the commit.
pub async fn queue_email<C: ConnectionTrait>(
    db: &C,
    to: &str,
    user_id: Option<Uuid>,
    which: AccountEmail,
    code: &str,
    organization: Option<&str>,
) -> AppResult<Event> {
    let (subject, body) = account_email(which, code, organization, outbox::DEFAULT_LOCALE);
    let path = match which {
        AccountEmail::Verification => "/verify-email",
        AccountEmail::PasswordReset => "/reset-password",
        AccountEmail::Invitation => "/invitations/accept",
    };
    let mut d = NewDelivery::email(to, which.kind(), subject, body)
        .with_link(format!("{path}?token={code}"));
    if let Some(u) = user_id {
        d = d.for_user(u);
    }
    outbox::enqueue(db, d).await?;
    Ok(outbox::queued())
}

/// Issues a verification token for a user whose email is not verified yet and queues its
/// email (registration does this in its own transaction).
pub async fn send_verification<C: ConnectionTrait>(
    db: &C,
    u: &user::Model,
    ttl: Duration,
) -> AppResult<Event> {
    supersede(db, u.id, TokenPurpose::EmailVerification).await?;
    let code = issue(db, u.id, TokenPurpose::EmailVerification, ttl).await?;
    queue_email(
        db,
        &u.email,
        Some(u.id),
        AccountEmail::Verification,
        &code,
        None,
    )
    .await
}

/// `verifyEmail`: redeems the token and marks the user's email verified.
pub async fn verify_email<C: ConnectionTrait>(
    db: &C,
    cmd: VerifyEmail,
) -> AppResult<(user::Model, Change)> {
    let row = redeem(
        db,
        &cmd.token,
        TokenPurpose::EmailVerification,
        "input.token",
    )
    .await?;
    let u = user::Entity::find_by_id(row.user_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::bad_input("input.token", INVALID_TOKEN))?;
    let u = if u.email_verified_at.is_none() {
        let mut am: user::ActiveModel = u.into();
        am.email_verified_at = Set(Some(now()));
        am.update(db).await?
    } else {
        u
    };
    let change = Change {
        entity_id: Some(u.id),
        actor_user_id: Some(u.id),
        new: Some(json!({"emailVerified": true})),
        ..Change::default()
    };
    Ok((u, change))
}

/// `resendVerification`: a new link for the signed-in user, unless already verified.
pub async fn resend_verification<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    ttl: Duration,
) -> AppResult<(bool, Change)> {
    let u = user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or(AppError::Unauthenticated("sign in first"))?;
    let mut change = Change {
        entity_id: Some(u.id),
        ..Change::default()
    };
    if u.email_verified_at.is_some() {
        return Ok((false, change));
    }
    change.events.push(send_verification(db, &u, ttl).await?);
    Ok((true, change))
}

/// `requestPasswordReset`: for an active account, a reset token and its email; for an
/// unknown or deactivated email, nothing. The caller learns neither way (the audit row
/// carries no entity when no account matched). A hit writes a token and an outbox row that a
/// miss does not, so the two answers may differ by those statements' time: an oracle we
/// accept, bounded by the per-IP and per-email limits reserved before any lookup.
pub async fn request_reset<C: ConnectionTrait>(
    db: &C,
    cmd: RequestPasswordReset,
    ttl: Duration,
) -> AppResult<((), Change)> {
    let mut change = Change::default();
    let Some(u) = find_by_email(db, &cmd.email).await? else {
        return Ok(((), change));
    };
    if !u.is_active {
        return Ok(((), change));
    }
    supersede(db, u.id, TokenPurpose::PasswordReset).await?;
    let code = issue(db, u.id, TokenPurpose::PasswordReset, ttl).await?;
    let event = queue_email(
        db,
        &u.email,
        Some(u.id),
        AccountEmail::PasswordReset,
        &code,
        None,
    )
    .await?;
    change.entity_id = Some(u.id);
    change.actor_user_id = Some(u.id);
    change.events.push(event);
    Ok(((), change))
}

/// `resetPassword`: redeems the token, sets the new hash, and ends every session of the
/// user: refresh tokens revoked, access tokens issued before now refused
/// (`credentials_changed_at`), cached viewers forgotten and live streams ended on every
/// instance (`Revocation::User`). Holding the link proves the email too.
pub async fn reset_password<C: ConnectionTrait>(
    db: &C,
    cmd: ResetPassword,
) -> AppResult<((user::Model, u64), Change)> {
    let row = redeem(db, &cmd.token, TokenPurpose::PasswordReset, "input.token").await?;
    let hash = cmd.password.into_hash()?;
    let u = user::Entity::find_by_id(row.user_id)
        .one(db)
        .await?
        .filter(|u| u.is_active)
        .ok_or_else(|| AppError::bad_input("input.token", INVALID_TOKEN))?;
    let t = now();
    let verified = u.email_verified_at.unwrap_or(t);
    let mut am: user::ActiveModel = u.into();
    am.password_hash = Set(hash);
    am.credentials_changed_at = Set(Some(t));
    am.email_verified_at = Set(Some(verified));
    am.updated_at = Set(t);
    let u = am.update(db).await?;
    let ended = revoke_user_sessions(db, u.id).await?;
    supersede(db, u.id, TokenPurpose::PasswordReset).await?;
    let change = Change {
        entity_id: Some(u.id),
        actor_user_id: Some(u.id),
        new: Some(json!({"sessionsEnded": ended})),
        events: vec![Event::Revoked(Revocation::User { id: u.id })],
        ..Change::default()
    };
    Ok(((u, ended), change))
}

//! Identity rules: accounts, sessions and their rotation. Functions take a connection or
//! transaction and plain, already-validated values.

use crate::{
    auth::tokens::{random_token, token_hash},
    db::now,
    error::{AppError, AppResult, unique_violation},
    validation::Email,
};
use entity::{PlatformRole, session, user};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::Expr,
};
use std::time::Duration;
use uuid::Uuid;

/// The error every failed credential check answers with, so that a caller cannot tell a
/// wrong email from a wrong password or a deactivated account.
pub const BAD_CREDENTIALS: &str = "invalid email or password";

/// A new account's validated fields.
pub struct NewUser {
    /// Normalized email.
    pub email: Email,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Display name.
    pub full_name: String,
    /// E.164 phone.
    pub phone: Option<String>,
    /// Platform role.
    pub platform_role: PlatformRole,
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
        return Err(AppError::Conflict(
            "an account with this email exists".into(),
        ));
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
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(db)
    .await
    .map_err(unique_violation)?;
    Ok(model)
}

/// A refresh token as issued: the secret (shown once) and its row.
pub struct IssuedRefresh {
    /// The opaque token for the client.
    pub token: String,
    /// Its stored row.
    pub session: session::Model,
}

/// Starts a session family or continues one, storing only the token's hash.
pub async fn issue_refresh<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    family_id: Option<Uuid>,
    ttl: Duration,
    ip: Option<String>,
    user_agent: Option<String>,
) -> AppResult<IssuedRefresh> {
    let token = random_token("");
    let t = now();
    let session = session::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        family_id: Set(family_id.unwrap_or_else(Uuid::now_v7)),
        token_hash: Set(token_hash(&token)),
        expires_at: Set(t + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::days(30))),
        rotated_at: Set(None),
        revoked_at: Set(None),
        ip: Set(ip),
        user_agent: Set(user_agent.map(|u| u.chars().take(512).collect())),
        created_at: Set(t),
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

/// Rotates a refresh token: marks it used and issues its successor in the same family.
///
/// The mark is a conditional update, so of two requests presenting the same token at once
/// exactly one rotates it; the other sees a used token, which is treated as reuse.
pub async fn rotate<C: ConnectionTrait>(
    db: &C,
    token: &str,
    ttl: Duration,
    ip: Option<String>,
    user_agent: Option<String>,
) -> AppResult<(user::Model, IssuedRefresh)> {
    let invalid = || AppError::Unauthenticated("invalid refresh token");
    let s = find_session(db, token).await?.ok_or_else(invalid)?;
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
        return Err(AppError::Unauthenticated(REUSED));
    }
    let u = user::Entity::find_by_id(s.user_id)
        .one(db)
        .await?
        .ok_or_else(invalid)?;
    if !u.is_active {
        return Err(invalid());
    }
    let next = issue_refresh(db, u.id, Some(s.family_id), ttl, ip, user_agent).await?;
    Ok((u, next))
}

/// The message of a refresh attempt with a token that was already rotated.
pub const REUSED: &str = "refresh token already used; the session has been revoked";

/// If `token` is a rotated (already used) token, returns its family: presenting it again
/// means it leaked, and the whole family must be revoked.
pub async fn reused_family<C: ConnectionTrait>(db: &C, token: &str) -> AppResult<Option<Uuid>> {
    Ok(find_session(db, token)
        .await?
        .filter(|s| s.rotated_at.is_some())
        .map(|s| s.family_id))
}

/// Revokes every live token of a family.
pub async fn revoke_family<C: ConnectionTrait>(db: &C, family_id: Uuid) -> AppResult<u64> {
    let r = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(now()))
        .filter(session::Column::FamilyId.eq(family_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(r.rows_affected)
}

/// Revokes every live session of a user (password change, deactivation).
pub async fn revoke_user_sessions<C: ConnectionTrait>(db: &C, user_id: Uuid) -> AppResult<u64> {
    let r = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(now()))
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(r.rows_affected)
}

/// Sets a user's password hash.
pub async fn set_password<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    hash: String,
) -> AppResult<()> {
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(hash))
        .col_expr(user::Column::UpdatedAt, Expr::value(now()))
        .filter(user::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Activates or deactivates a user; deactivation also ends their sessions.
pub async fn set_active<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    active: bool,
) -> AppResult<(user::Model, user::Model)> {
    let before = user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    let mut am: user::ActiveModel = before.clone().into();
    am.is_active = Set(active);
    am.updated_at = Set(now());
    let after = am.update(db).await?;
    if !active {
        revoke_user_sessions(db, user_id).await?;
    }
    Ok((before, after))
}

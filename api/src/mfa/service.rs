//! MFA use cases. Each code check moves `users.mfa_last_step` forward with a conditional
//! update, so a code (or any earlier one) is accepted once, even by two requests at once;
//! a recovery code and an MFA token are spent the same way.

use super::totp;
use crate::{
    audit::Change,
    auth::{
        revocation::Revocation,
        tokens::{random_token, token_hash},
    },
    db::now,
    error::{AppError, AppResult},
    events::Event,
    identity::service::{Device, Session, start_session},
    state::AppState,
};
use entity::{mfa_challenge, mfa_recovery_code, sealed::Sealed, user};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

/// How long an MFA token (the second step of a login) stays valid.
pub const CHALLENGE_TTL: chrono::Duration = chrono::Duration::minutes(5);
/// Recovery codes handed out by `confirmMfa`.
pub const RECOVERY_CODES: usize = 10;

/// The answer every wrong code gets.
const WRONG_CODE: &str = "is not a valid code (or was used already)";

/// A secret pending confirmation, as `enableMfa` shows it once.
pub struct Enrolment {
    /// Base32 secret, for typing into an authenticator app.
    pub secret: String,
    /// The `otpauth://` URI, for a QR code.
    pub uri: String,
}

/// What `verifyMfa` was given besides the token.
pub enum SecondFactor {
    /// A six-digit TOTP code.
    Code(String),
    /// One of the recovery codes.
    Recovery(String),
}

fn by_user(user_id: Uuid) -> Change {
    Change {
        entity_id: Some(user_id),
        actor_user_id: Some(user_id),
        ..Change::default()
    }
}

async fn load<C: ConnectionTrait>(db: &C, user_id: Uuid) -> AppResult<user::Model> {
    user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or(AppError::Unauthenticated("sign in first"))
}

/// `enableMfa`: stores a new secret, sealed, pending until `confirmMfa`; asking again before
/// confirming replaces it. An account that has MFA on must turn it off first.
pub async fn enable<C: ConnectionTrait>(db: &C, user_id: Uuid) -> AppResult<(Enrolment, Change)> {
    let u = load(db, user_id).await?;
    if u.mfa_enabled_at.is_some() {
        return Err(AppError::Conflict(
            "MFA is already on; turn it off first to enrol again".into(),
        ));
    }
    let secret = totp::new_secret();
    let uri = totp::uri(&secret, &u.email)?;
    user::Entity::update_many()
        .col_expr(
            user::Column::MfaSecret,
            Expr::value(Sealed::from(secret.clone())),
        )
        .col_expr(user::Column::MfaLastStep, Expr::value(Option::<i64>::None))
        .col_expr(user::Column::UpdatedAt, Expr::value(now()))
        .filter(user::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    Ok((Enrolment { secret, uri }, by_user(user_id)))
}

/// Accepts a TOTP code for the user's stored secret: right for the current step (±1) and
/// later than the last step accepted, which it becomes. `false` for a wrong or used code.
async fn accept_code<C: ConnectionTrait>(db: &C, u: &user::Model, code: &str) -> AppResult<bool> {
    let Some(secret) = u.mfa_secret.as_ref() else {
        return Ok(false);
    };
    let Some(step) = totp::matching_step(secret, code, totp::now_secs())? else {
        return Ok(false);
    };
    let moved = user::Entity::update_many()
        .col_expr(user::Column::MfaLastStep, Expr::value(step))
        .filter(user::Column::Id.eq(u.id))
        .filter(
            sea_orm::Condition::any()
                .add(user::Column::MfaLastStep.is_null())
                .add(user::Column::MfaLastStep.lt(step)),
        )
        .exec(db)
        .await?;
    Ok(moved.rows_affected == 1)
}

/// Spends a recovery code of the user; `false` when it is not one or was used.
async fn accept_recovery<C: ConnectionTrait>(db: &C, user_id: Uuid, code: &str) -> AppResult<bool> {
    let spent = mfa_recovery_code::Entity::update_many()
        .col_expr(mfa_recovery_code::Column::UsedAt, Expr::value(now()))
        .filter(mfa_recovery_code::Column::UserId.eq(user_id))
        .filter(mfa_recovery_code::Column::CodeHash.eq(recovery_hash(code)))
        .filter(mfa_recovery_code::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(spent.rows_affected == 1)
}

/// Recovery codes are compared without case, spaces or dashes.
fn recovery_hash(code: &str) -> String {
    let norm: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    token_hash(&norm)
}

/// A new recovery code: 80 random bits as four groups of five base32 characters.
fn new_recovery_code() -> String {
    let raw = totp::new_secret().to_ascii_lowercase();
    let chars: Vec<char> = raw.chars().take(20).collect();
    chars
        .chunks(5)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// `confirmMfa`: a first code from the app turns MFA on; the ten recovery codes are
/// returned this once (only their hashes are kept).
pub async fn confirm<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    code: &str,
) -> AppResult<(Vec<String>, Change)> {
    let u = load(db, user_id).await?;
    if u.mfa_enabled_at.is_some() {
        return Err(AppError::Conflict("MFA is already on".into()));
    }
    if u.mfa_secret.is_none() {
        return Err(AppError::bad_input(
            "input.code",
            "there is no enrolment to confirm; call enableMfa first",
        ));
    }
    if !accept_code(db, &u, code).await? {
        return Err(AppError::bad_input("input.code", WRONG_CODE));
    }
    let t = now();
    user::Entity::update_many()
        .col_expr(user::Column::MfaEnabledAt, Expr::value(t))
        .col_expr(user::Column::UpdatedAt, Expr::value(t))
        .filter(user::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    mfa_recovery_code::Entity::delete_many()
        .filter(mfa_recovery_code::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
    mfa_recovery_code::Entity::insert_many(codes.iter().map(|c| mfa_recovery_code::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        code_hash: Set(recovery_hash(c)),
        used_at: Set(None),
        created_at: Set(t),
    }))
    .exec(db)
    .await?;
    let change = Change {
        new: Some(json!({"mfaEnabled": true})),
        events: vec![Event::Revoked(Revocation::Account { id: user_id })],
        ..by_user(user_id)
    };
    Ok((codes, change))
}

/// The second step of a login: a single-use token, valid [`CHALLENGE_TTL`], only its hash
/// stored.
pub async fn challenge<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    from: &Device,
) -> AppResult<String> {
    let token = random_token("mfa_");
    let t = now();
    mfa_challenge::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        token_hash: Set(token_hash(&token)),
        expires_at: Set(t + CHALLENGE_TTL),
        used_at: Set(None),
        ip: Set(from.ip.map(|i| i.to_string())),
        user_agent: Set(from
            .user_agent
            .as_ref()
            .map(|u| u.chars().take(512).collect())),
        created_at: Set(t),
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// Finds a live challenge by its token (before the write transaction, for the rate limits).
pub async fn find_challenge<C: ConnectionTrait>(
    db: &C,
    token: &str,
) -> AppResult<Option<mfa_challenge::Model>> {
    Ok(mfa_challenge::Entity::find()
        .filter(mfa_challenge::Column::TokenHash.eq(token_hash(token)))
        .one(db)
        .await?)
}

/// The error of a token that is unknown, expired or spent.
pub fn bad_token() -> AppError {
    AppError::Unauthenticated("invalid or expired MFA token; sign in again")
}

/// `verifyMfa`: spends the token and the code (or recovery code) and starts the session. A
/// wrong code fails the whole attempt, so the token stays usable until it expires or the
/// rate limit stops it.
pub async fn verify<C: ConnectionTrait>(
    db: &C,
    app: &AppState,
    challenge: &mfa_challenge::Model,
    factor: &SecondFactor,
    from: Device,
) -> AppResult<(Session, Change)> {
    let t = now();
    let spent = mfa_challenge::Entity::update_many()
        .col_expr(mfa_challenge::Column::UsedAt, Expr::value(t))
        .filter(mfa_challenge::Column::Id.eq(challenge.id))
        .filter(mfa_challenge::Column::UsedAt.is_null())
        .filter(mfa_challenge::Column::ExpiresAt.gt(t))
        .exec(db)
        .await?;
    if spent.rows_affected != 1 {
        return Err(bad_token());
    }
    let u = load(db, challenge.user_id).await.map_err(|_| bad_token())?;
    if !u.is_active || u.mfa_enabled_at.is_none() {
        return Err(bad_token());
    }
    let (ok, how, field) = match factor {
        SecondFactor::Code(c) => (accept_code(db, &u, c).await?, "TOTP", "input.code"),
        SecondFactor::Recovery(c) => (
            accept_recovery(db, u.id, c).await?,
            "RECOVERY_CODE",
            "input.recoveryCode",
        ),
    };
    if !ok {
        return Err(AppError::bad_input(field, WRONG_CODE));
    }
    let (session, mut change) = start_session(db, app, u, from).await?;
    change.new = Some(json!({"factor": how}));
    Ok((session, change))
}

/// `disableMfa`, the password already verified: a current code turns MFA off and voids the
/// secret and the recovery codes.
pub async fn disable<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    code: &str,
) -> AppResult<(user::Model, Change)> {
    let u = load(db, user_id).await?;
    if u.mfa_enabled_at.is_none() {
        return Err(AppError::Conflict("MFA is not on".into()));
    }
    if !accept_code(db, &u, code).await? {
        return Err(AppError::bad_input("input.code", WRONG_CODE));
    }
    let mut am: user::ActiveModel = u.into();
    am.mfa_secret = Set(None);
    am.mfa_enabled_at = Set(None);
    am.mfa_last_step = Set(None);
    am.updated_at = Set(now());
    let after = am.update(db).await?;
    mfa_recovery_code::Entity::delete_many()
        .filter(mfa_recovery_code::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    let change = Change {
        old: Some(json!({"mfaEnabled": true})),
        new: Some(json!({"mfaEnabled": false})),
        events: vec![Event::Revoked(Revocation::Account { id: user_id })],
        ..by_user(user_id)
    };
    Ok((after, change))
}

//! GraphQL types of the identity domain, kept apart from the database rows (a `User` never
//! carries its password hash).

use super::service::{Session, SignIn};
use crate::{
    auth,
    error::AppResult,
    graphql::{context::CtxExt, ids::to_id, loaders, pagination::SortDirection},
    organizations::types::Membership,
};
use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, MaybeUndefined, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{PlatformRole, session, user};

/// A person with a login.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct User {
    pub id: ID,
    /// Email, lower-cased; null where the caller may know who this is but not how to reach
    /// them (another organization's member on its work).
    pub email: Option<String>,
    pub full_name: String,
    /// Phone in E.164 form.
    pub phone: Option<String>,
    pub platform_role: PlatformRole,
    /// False once deactivated: no login, no refresh, tokens refused.
    pub is_active: bool,
    /// When the user last signed in successfully.
    pub last_login_at: Option<DateTime<Utc>>,
    /// When the owner confirmed that the email reaches them (a verification link or an
    /// accepted invitation); null until then.
    pub email_verified_at: Option<DateTime<Utc>>,
    /// When the account was registered.
    pub created_at: DateTime<Utc>,
    /// Language tag for messages (`en`, `fr-RW`); null where not set or not the caller's to see.
    pub locale: Option<String>,
    /// IANA time zone (`Africa/Kigali`); null where not set or not the caller's to see.
    pub time_zone: Option<String>,
    /// Whether sign-in asks for a TOTP code; null where not the caller's to see.
    pub mfa_enabled: Option<bool>,
    #[graphql(skip)]
    pub uuid: uuid::Uuid,
}

impl From<user::Model> for User {
    fn from(m: user::Model) -> Self {
        Self {
            id: to_id(m.id),
            email: Some(m.email),
            full_name: m.full_name,
            phone: m.phone,
            platform_role: m.platform_role,
            is_active: m.is_active,
            last_login_at: m.last_login_at,
            email_verified_at: m.email_verified_at,
            created_at: m.created_at,
            locale: m.locale,
            time_zone: m.time_zone,
            mfa_enabled: Some(m.mfa_enabled_at.is_some()),
            uuid: m.id,
        }
    }
}

impl User {
    /// A user through the request's loader, for relation fields.
    pub async fn load(ctx: &Context<'_>, id: uuid::Uuid) -> AppResult<Option<Self>> {
        Ok(loaders::load_one(&ctx.req()?.loaders.users, id)
            .await?
            .map(Self::from))
    }

    /// A user as seen by someone who may know who they are but not how to reach them or
    /// when they last signed in (a patient looking at a doctor's profile).
    pub fn public(m: user::Model) -> Self {
        Self {
            phone: None,
            last_login_at: None,
            locale: None,
            time_zone: None,
            mfa_enabled: None,
            ..Self::from(m)
        }
    }

    /// A user as seen by someone who may know who they are but not how to reach them: no
    /// email, phone or last sign-in.
    pub fn without_contacts(m: user::Model) -> Self {
        Self {
            email: None,
            ..Self::public(m)
        }
    }

    /// The fields of `User` that a signed-in caller's viewer already holds, so that `me`
    /// asking only for these needs no query (the cheapest authenticated request costs only
    /// the token check). The viewer exists only for an active user.
    pub const KNOWN_TO_VIEWER: [&'static str; 6] = [
        "id",
        "__typename",
        "platformRole",
        "isActive",
        "memberships",
        "mfaEnabled",
    ];

    /// The caller as their viewer knows them. Only for a selection of
    /// [`User::KNOWN_TO_VIEWER`]: every other field is left empty.
    pub fn of_viewer(v: &auth::viewer::UserViewer) -> Self {
        Self {
            id: to_id(v.id),
            email: None,
            full_name: String::new(),
            phone: None,
            platform_role: v.platform_role,
            is_active: true,
            last_login_at: None,
            email_verified_at: None,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            locale: None,
            time_zone: None,
            mfa_enabled: Some(v.mfa),
            uuid: v.id,
        }
    }

    /// A member of `org` where they appear on its work, through the request's loader: in
    /// full for whom `auth::organizations::sees_contacts` admits, else without contacts.
    pub async fn load_member(
        ctx: &Context<'_>,
        id: uuid::Uuid,
        org: uuid::Uuid,
    ) -> AppResult<Option<Self>> {
        let req = ctx.req()?;
        let full = auth::organizations::sees_contacts(&req.viewer, id, org);
        let u = loaders::load_one(&req.loaders.users, id).await?;
        Ok(u.map(if full {
            Self::from
        } else {
            Self::without_contacts
        }))
    }
}

#[ComplexObject]
impl User {
    /// Active memberships. Visible to the user themself and to super admins.
    async fn memberships(&self, ctx: &Context<'_>) -> AppResult<Vec<Membership>> {
        let req = ctx.req()?;
        auth::organizations::sees_memberships(&req.viewer, self.uuid)?;
        let rows = loaders::load_children(&req.loaders.memberships_by_user, self.uuid).await?;
        Ok(rows.into_iter().map(Membership::from).collect())
    }
}

/// Input of `register`.
#[derive(InputObject)]
pub struct RegisterInput {
    /// Email; unique, case-insensitive.
    pub email: String,
    /// At least 12 characters.
    pub password: String,
    pub full_name: String,
    /// Phone in international form.
    pub phone: Option<String>,
}

#[derive(SimpleObject)]
pub struct RegisterPayload {
    pub user: User,
}

/// Input of `login`.
#[derive(InputObject)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
}

/// Tokens of a session; or, when `mfaRequired`, none yet: send `mfaToken` with a code to
/// `verifyMfa`.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// Short-lived JWT for the `Authorization: Bearer` header; null while `mfaRequired`.
    pub access_token: Option<String>,
    /// When the access token expires.
    pub access_token_expires_at: Option<DateTime<Utc>>,
    /// Opaque, single-use token for `refreshSession`; store it safely. Null while
    /// `mfaRequired`.
    pub refresh_token: Option<String>,
    /// When the refresh token expires.
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
    /// True when the password was right and the account asks for a TOTP or recovery code.
    pub mfa_required: bool,
    /// Single-use token for `verifyMfa`, valid five minutes; null unless `mfaRequired`.
    pub mfa_token: Option<String>,
    pub user: User,
}

impl From<Session> for AuthPayload {
    fn from(s: Session) -> Self {
        Self {
            access_token: Some(s.access.0),
            access_token_expires_at: Some(s.access.1),
            refresh_token: Some(s.refresh.token),
            refresh_token_expires_at: Some(s.refresh.session.expires_at),
            mfa_required: false,
            mfa_token: None,
            user: s.user.into(),
        }
    }
}

impl From<SignIn> for AuthPayload {
    fn from(s: SignIn) -> Self {
        match s {
            SignIn::Session(s) => (*s).into(),
            SignIn::Challenge { user, token } => Self {
                access_token: None,
                access_token_expires_at: None,
                refresh_token: None,
                refresh_token_expires_at: None,
                mfa_required: true,
                mfa_token: Some(token),
                user: User::public(*user),
            },
        }
    }
}

/// A signed-in session of the caller (one per device that signed in).
#[derive(SimpleObject)]
pub struct UserSession {
    /// Stays the same through refreshes; pass it to `revokeSession`.
    pub id: ID,
    /// The user agent that last refreshed it.
    pub user_agent: Option<String>,
    /// The address that last refreshed it.
    pub ip: Option<String>,
    /// When it signed in.
    pub created_at: DateTime<Utc>,
    /// When it last signed in or refreshed.
    pub last_used_at: DateTime<Utc>,
    /// When it ends unless refreshed.
    pub expires_at: DateTime<Utc>,
    /// True for the session of the token making this request.
    pub current: bool,
}

impl UserSession {
    /// A session as listed to its owner; `current` is the family of the caller's token.
    pub fn of(m: session::Model, current: Option<uuid::Uuid>) -> Self {
        Self {
            id: to_id(m.family_id),
            user_agent: m.user_agent,
            ip: m.ip,
            created_at: m.started_at.unwrap_or(m.created_at),
            last_used_at: m.last_used_at.unwrap_or(m.created_at),
            expires_at: m.expires_at,
            current: current == Some(m.family_id),
        }
    }
}

/// Input of `revokeSession`.
#[derive(InputObject)]
pub struct RevokeSessionInput {
    /// A session's id from `mySessions`.
    pub session_id: ID,
}

#[derive(SimpleObject)]
pub struct RevokeSessionsPayload {
    /// How many sessions were ended.
    pub revoked: u64,
}

impl From<u64> for RevokeSessionsPayload {
    fn from(revoked: u64) -> Self {
        Self { revoked }
    }
}

/// Input of `updateMe`: what is given changes, what is left out stays; `null` clears
/// `phone`, `locale` or `timeZone`.
#[derive(InputObject)]
pub struct UpdateMeInput {
    pub full_name: Option<String>,
    /// Phone in international form.
    pub phone: MaybeUndefined<String>,
    /// Language tag such as `en` or `fr-RW`.
    pub locale: MaybeUndefined<String>,
    /// IANA time zone such as `Africa/Kigali`.
    pub time_zone: MaybeUndefined<String>,
}

#[derive(SimpleObject)]
pub struct UpdateMePayload {
    pub user: User,
}

impl From<user::Model> for UpdateMePayload {
    fn from(m: user::Model) -> Self {
        Self { user: m.into() }
    }
}

/// Input of `refreshSession`.
#[derive(InputObject)]
pub struct RefreshSessionInput {
    /// The refresh token last received.
    pub refresh_token: String,
}

/// Input of `logout`.
#[derive(InputObject)]
pub struct LogoutInput {
    /// The session's current refresh token; its whole family is revoked.
    pub refresh_token: String,
}

#[derive(SimpleObject)]
pub struct LogoutPayload {
    /// How many refresh tokens were revoked.
    pub revoked: u64,
}

/// Input of `changePassword`.
#[derive(InputObject)]
pub struct ChangePasswordInput {
    /// The password in use now.
    pub current_password: String,
    /// The new one, at least 12 characters.
    pub new_password: String,
}

/// Result of `changePassword`: every session was ended, the caller's included (its access
/// and refresh tokens are refused from now on); the caller goes on with this new session.
#[derive(SimpleObject)]
pub struct ChangePasswordPayload {
    pub user: User,
    /// How many refresh tokens were revoked.
    pub revoked_sessions: u64,
    /// The new session's access token (issued after the change).
    pub access_token: String,
    /// When the access token expires.
    pub access_token_expires_at: DateTime<Utc>,
    /// The new session's refresh token, for `refreshSession`.
    pub refresh_token: String,
    /// When the refresh token expires.
    pub refresh_token_expires_at: DateTime<Utc>,
}

/// Input of `setUserActive` (super admin).
#[derive(InputObject)]
pub struct SetUserActiveInput {
    pub user_id: ID,
    /// False deactivates: no login, no refresh, tokens refused at the next request.
    pub is_active: bool,
}

#[derive(SimpleObject)]
pub struct SetUserActivePayload {
    pub user: User,
}

/// Filter of `users`.
#[derive(InputObject, Default)]
pub struct UserFilter {
    /// Only these platform roles.
    pub platform_roles: Option<Vec<PlatformRole>>,
    /// Only active (true) or deactivated (false) users.
    pub is_active: Option<bool>,
    /// Email starts with this (case-insensitive).
    pub email_prefix: Option<String>,
}

/// Sort keys of `users`.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum UserOrderField {
    #[default]
    CreatedAt,
    Email,
}

/// Order of `users`.
#[derive(InputObject, Default)]
pub struct UserOrder {
    #[graphql(default)]
    pub field: UserOrderField,
    #[graphql(default)]
    pub direction: SortDirection,
}

impl From<user::Model> for RegisterPayload {
    fn from(m: user::Model) -> Self {
        Self { user: m.into() }
    }
}

impl From<user::Model> for SetUserActivePayload {
    fn from(m: user::Model) -> Self {
        Self { user: m.into() }
    }
}

impl From<(Session, u64)> for ChangePasswordPayload {
    fn from((s, revoked_sessions): (Session, u64)) -> Self {
        Self {
            access_token: s.access.0,
            access_token_expires_at: s.access.1,
            refresh_token: s.refresh.token,
            refresh_token_expires_at: s.refresh.session.expires_at,
            user: s.user.into(),
            revoked_sessions,
        }
    }
}

//! GraphQL types of the identity domain, kept apart from the database rows (a `User` never
//! carries its password hash).

use crate::{
    auth::Rule,
    error::AppResult,
    graphql::{
        context::CtxExt,
        ids::to_id,
        loaders::{load_children, load_one},
        pagination::SortDirection,
    },
    organizations::types::Membership,
};
use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{PlatformRole, user};

/// A person with a login.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct User {
    /// Identifier.
    pub id: ID,
    /// Email, lower-cased.
    pub email: String,
    /// Full name.
    pub full_name: String,
    /// Phone in E.164 form.
    pub phone: Option<String>,
    /// Platform role.
    pub platform_role: PlatformRole,
    /// False once deactivated: no login, no refresh, tokens refused.
    pub is_active: bool,
    /// Last successful login.
    pub last_login_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    /// The row's id.
    pub uuid: uuid::Uuid,
}

impl From<user::Model> for User {
    fn from(m: user::Model) -> Self {
        Self {
            id: to_id(m.id),
            email: m.email,
            full_name: m.full_name,
            phone: m.phone,
            platform_role: m.platform_role,
            is_active: m.is_active,
            last_login_at: m.last_login_at,
            created_at: m.created_at,
            uuid: m.id,
        }
    }
}

impl User {
    /// A user through the request's loader, for relation fields.
    pub async fn load(ctx: &Context<'_>, id: uuid::Uuid) -> AppResult<Option<Self>> {
        Ok(load_one(&ctx.req()?.loaders.users, id)
            .await?
            .map(Self::from))
    }

    /// A user as seen by someone who may know who they are but not how to reach them or
    /// when they last signed in (a patient looking at a doctor's profile).
    pub fn public(m: user::Model) -> Self {
        Self {
            phone: None,
            last_login_at: None,
            ..Self::from(m)
        }
    }
}

#[ComplexObject]
impl User {
    /// Active memberships. Visible to the user themself and to super admins.
    async fn memberships(&self, ctx: &Context<'_>) -> AppResult<Vec<Membership>> {
        let req = ctx.req()?;
        if req.viewer.user_id() != Some(self.uuid) {
            crate::auth::authorize(&req.viewer, Rule::SuperAdmin)?;
        }
        let rows = load_children(&req.loaders.memberships_by_user, self.uuid).await?;
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
    /// Full name.
    pub full_name: String,
    /// Phone in international form.
    pub phone: Option<String>,
}

/// Result of `register`.
#[derive(SimpleObject)]
pub struct RegisterPayload {
    /// The new account.
    pub user: User,
}

/// Input of `login`.
#[derive(InputObject)]
pub struct LoginInput {
    /// Email.
    pub email: String,
    /// Password.
    pub password: String,
}

/// Tokens of a session.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// Short-lived JWT for the `Authorization: Bearer` header.
    pub access_token: String,
    /// When the access token expires.
    pub access_token_expires_at: DateTime<Utc>,
    /// Opaque, single-use token for `refreshSession`; store it safely.
    pub refresh_token: String,
    /// When the refresh token expires.
    pub refresh_token_expires_at: DateTime<Utc>,
    /// The signed-in user.
    pub user: User,
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

/// Result of `logout`.
#[derive(SimpleObject)]
pub struct LogoutPayload {
    /// Tokens revoked.
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

/// Result of `changePassword`: every session was ended; sign in again.
#[derive(SimpleObject)]
pub struct ChangePasswordPayload {
    /// The user.
    pub user: User,
    /// Sessions revoked.
    pub revoked_sessions: u64,
}

/// Input of `setUserActive` (super admin).
#[derive(InputObject)]
pub struct SetUserActiveInput {
    /// The user.
    pub user_id: ID,
    /// False deactivates: no login, no refresh, tokens refused at the next request.
    pub is_active: bool,
}

/// Result of `setUserActive`.
#[derive(SimpleObject)]
pub struct SetUserActivePayload {
    /// The user after the change.
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
    /// Creation order.
    #[default]
    CreatedAt,
    /// Email.
    Email,
}

/// Order of `users`.
#[derive(InputObject, Default)]
pub struct UserOrder {
    /// Sort key.
    #[graphql(default)]
    pub field: UserOrderField,
    /// Direction.
    #[graphql(default)]
    pub direction: SortDirection,
}

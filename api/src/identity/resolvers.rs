//! Identity resolvers: queries, and mutations run as commands.

use super::{commands::*, service::Device, types::*};
use crate::{
    auth::{Rule, Viewer, authorize},
    error::{AppError, AppResult},
    graphql::{
        context::CtxExt,
        loaders::load_one,
        pagination::{Conn, Keyset, PageArgs, SortValue, fetch_selected},
    },
    pipeline,
};
use async_graphql::{Context, Object};
use entity::user;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

#[derive(Default)]
pub struct IdentityQuery;

#[Object]
impl IdentityQuery {
    async fn me(&self, ctx: &Context<'_>) -> AppResult<User> {
        let req = ctx.authorized(Rule::SignedIn)?;
        if let Viewer::User(u) = &req.viewer
            && ctx
                .field()
                .selection_set()
                .all(|f| User::KNOWN_TO_VIEWER.contains(&f.name()))
        {
            return Ok(User::of_viewer(u));
        }
        let me = match req.viewer.user_id() {
            Some(id) => load_one(&req.loaders.users, id).await?,
            None => None,
        };
        me.map(User::from)
            .ok_or(AppError::Unauthenticated("sign in first"))
    }

    /// The caller's signed-in sessions, most recently used first.
    async fn my_sessions(&self, ctx: &Context<'_>) -> AppResult<Vec<UserSession>> {
        let req = ctx.authorized(Rule::SignedIn)?;
        let Viewer::User(u) = &req.viewer else {
            return Err(AppError::Unauthenticated("sign in first"));
        };
        let rows = super::service::live_sessions(&req.db, u.id).await?;
        Ok(rows
            .into_iter()
            .map(|s| UserSession::of(s, u.session))
            .collect())
    }

    /// Every user (super admins only).
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, last, child_complexity)")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        filter: Option<UserFilter>,
        order_by: Option<UserOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<Conn<User>> {
        authorize(&ctx.req()?.viewer, Rule::SuperAdmin)?;
        let filter = filter.unwrap_or_default();
        let mut q = user::Entity::find();
        if let Some(roles) = filter.platform_roles {
            q = q.filter(user::Column::PlatformRole.is_in(roles));
        }
        if let Some(active) = filter.is_active {
            q = q.filter(user::Column::IsActive.eq(active));
        }
        if let Some(p) = filter.email_prefix {
            q = q.filter(user::Column::Email.starts_with(p.trim().to_lowercase()));
        }
        let order = order_by.unwrap_or_default();
        let keyset = Keyset::<user::Entity> {
            key: (order.field == UserOrderField::Email)
                .then_some((user::Column::Email, |m: &user::Model| {
                    SortValue::Text(m.email.clone())
                })),
            id: user::Column::Id,
            id_of: |m| m.id,
            direction: order.direction,
        };
        let args = PageArgs::new(first, after, last, before);
        let page = fetch_selected(ctx, q, &keyset, &args).await?;
        Ok(page.into_connection(User::from))
    }
}

#[derive(Default)]
pub struct IdentityMutation;

#[Object]
impl IdentityMutation {
    /// Creates an account. Attempts are rate-limited per IP.
    async fn register(
        &self,
        ctx: &Context<'_>,
        input: RegisterInput,
    ) -> AppResult<RegisterPayload> {
        let from = Device::of(ctx.req()?);
        pipeline::respond::<Register, _>(ctx, (input, from)).await
    }

    /// Signs in with email and password. Wrong email, wrong password and deactivated
    /// accounts answer alike; failures are rate-limited per account from one IP and per IP.
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> AppResult<AuthPayload> {
        let from = Device::of(ctx.req()?);
        pipeline::respond::<Login, _>(ctx, (input, from)).await
    }

    /// Trades a refresh token for a new pair. Each refresh token works once; presenting a
    /// used one again revokes its whole session family.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        input: RefreshSessionInput,
    ) -> AppResult<AuthPayload> {
        Ok(refresh_session(ctx, input).await?.into())
    }

    /// Ends a session: revokes the refresh token's whole family. Works with an expired
    /// access token, since holding the refresh token is what counts.
    async fn logout(&self, ctx: &Context<'_>, input: LogoutInput) -> AppResult<LogoutPayload> {
        let revoked = pipeline::run::<Logout>(ctx, input).await?;
        Ok(LogoutPayload { revoked })
    }

    /// Changes the caller's password and ends every session at once (other devices' access
    /// tokens are refused from the next request on); the caller goes on with the new
    /// session's tokens in the payload.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        input: ChangePasswordInput,
    ) -> AppResult<ChangePasswordPayload> {
        let req = ctx.req()?;
        let user = req.viewer.user_id();
        pipeline::respond::<ChangePassword, _>(ctx, (input, user, Device::of(req))).await
    }

    /// Changes the caller's name, phone, locale or time zone.
    async fn update_me(
        &self,
        ctx: &Context<'_>,
        input: UpdateMeInput,
    ) -> AppResult<UpdateMePayload> {
        let user = ctx.req()?.viewer.user_id();
        pipeline::respond::<UpdateMe, _>(ctx, (input, user)).await
    }

    /// Ends one of the caller's sessions: its refresh token is refused, and so are its
    /// access tokens from the next request on.
    async fn revoke_session(
        &self,
        ctx: &Context<'_>,
        input: RevokeSessionInput,
    ) -> AppResult<RevokeSessionsPayload> {
        let user = ctx.req()?.viewer.user_id();
        pipeline::respond::<RevokeSession, _>(ctx, (input, user)).await
    }

    /// Ends every session of the caller but the one making this request.
    async fn revoke_other_sessions(&self, ctx: &Context<'_>) -> AppResult<RevokeSessionsPayload> {
        let req = ctx.req()?;
        let (user, keep) = match &req.viewer {
            Viewer::User(u) => (Some(u.id), u.session),
            _ => (None, None),
        };
        pipeline::respond::<RevokeOtherSessions, _>(ctx, (user, keep)).await
    }

    /// Activates or deactivates a user (super admins). Deactivation ends their sessions, and
    /// their access tokens are refused from the next request on.
    async fn set_user_active(
        &self,
        ctx: &Context<'_>,
        input: SetUserActiveInput,
    ) -> AppResult<SetUserActivePayload> {
        pipeline::respond::<SetUserActive, _>(ctx, input).await
    }
}

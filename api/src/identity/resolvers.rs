//! Identity resolvers: check the caller, call the service, map the result.

use super::{service, types::*};
use crate::{
    audit::{AuditAction, Change},
    auth::{Rule, authorize},
    error::{AppError, AppResult},
    graphql::{
        context::CtxExt,
        ids::parse_id,
        pagination::{Conn, Keyset, PageArgs, SortValue, fetch_selected},
    },
    pipeline::mutate,
    validation::{Email, NewPassword, Phone, Text},
};
use async_graphql::{Context, Object};
use entity::{PlatformRole, user};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

/// Identity queries.
#[derive(Default)]
pub struct IdentityQuery;

#[Object]
impl IdentityQuery {
    /// The signed-in user.
    async fn me(&self, ctx: &Context<'_>) -> AppResult<User> {
        let req = ctx.req()?;
        authorize(&req.viewer, Rule::SignedIn)?;
        let id = req
            .viewer
            .user_id()
            .ok_or(AppError::Unauthenticated("sign in first"))?;
        let u = req
            .loaders
            .users
            .load_one(id)
            .await
            .map_err(crate::graphql::loaders::loader_err)?;
        u.map(User::from)
            .ok_or(AppError::Unauthenticated("sign in first"))
    }

    /// Every user (super admins only).
    #[allow(clippy::too_many_arguments)]
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
        let req = ctx.req()?;
        authorize(&req.viewer, Rule::SuperAdmin)?;
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
            key: match order.field {
                UserOrderField::CreatedAt => None,
                UserOrderField::Email => Some((user::Column::Email, |m: &user::Model| {
                    SortValue::Text(m.email.clone())
                })),
            },
            id: user::Column::Id,
            id_of: |m| m.id,
            direction: order.direction,
        };
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let page = fetch_selected(ctx, q, &keyset, &args).await?;
        Ok(page.into_connection(User::from))
    }
}

/// Identity mutations.
#[derive(Default)]
pub struct IdentityMutation;

#[Object]
impl IdentityMutation {
    /// Creates an account.
    async fn register(
        &self,
        ctx: &Context<'_>,
        input: RegisterInput,
    ) -> AppResult<RegisterPayload> {
        let app = ctx.app()?;
        let parsed = (|| {
            Ok::<_, AppError>((
                Email::parse(&input.email, "input.email")?,
                NewPassword::parse(&input.password, "input.password")?,
                Text::parse(&input.full_name, "input.fullName", 200)?,
                Phone::parse_opt(input.phone.as_deref(), "input.phone")?,
            ))
        })();
        // Hash before the write transaction: it takes tens of milliseconds of CPU.
        let hashed = match &parsed {
            Ok((_, pw, _, _)) => Some(app.hasher.hash(pw.clone().into_inner()).await?),
            Err(_) => None,
        };
        let user = mutate(
            ctx,
            AuditAction::new("user.register", "user"),
            Rule::Public,
            move |txn, _| {
                Box::pin(async move {
                    let (email, _, name, phone) = parsed?;
                    let u = service::create_user(
                        txn,
                        service::NewUser {
                            email,
                            password_hash: hashed.unwrap_or_default(),
                            full_name: name.into_inner(),
                            phone: phone.map(Phone::into_inner),
                            platform_role: PlatformRole::User,
                        },
                    )
                    .await?;
                    let change = Change {
                        entity_id: Some(u.id),
                        actor_user_id: Some(u.id),
                        new: Some(json!({"email": u.email, "fullName": u.full_name})),
                        ..Change::default()
                    };
                    Ok((u, change))
                })
            },
        )
        .await?;
        Ok(RegisterPayload { user: user.into() })
    }

    /// Signs in with email and password. Wrong email, wrong password and deactivated
    /// accounts answer alike; repeated failures are rate-limited per account and per IP.
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> AppResult<AuthPayload> {
        let app = ctx.app()?;
        let req = ctx.req()?;
        let checked = check_credentials(ctx, &input).await;
        let ip = req.ip.map(|i| i.to_string());
        let ua = req.user_agent.clone();
        let ttl = app.config.refresh_token_ttl;
        let keys = app.keys.clone();
        let (user, refresh) = mutate(
            ctx,
            AuditAction::new("auth.login", "user"),
            Rule::Public,
            move |txn, _| {
                Box::pin(async move {
                    let user = checked?;
                    service::touch_login(txn, user.id).await?;
                    let refresh = service::issue_refresh(txn, user.id, None, ttl, ip, ua).await?;
                    let change = Change {
                        entity_id: Some(user.id),
                        actor_user_id: Some(user.id),
                        ..Change::default()
                    };
                    Ok(((user, refresh), change))
                })
            },
        )
        .await?;
        let (access, access_exp) = keys.issue_access(user.id)?;
        Ok(AuthPayload {
            access_token: access,
            access_token_expires_at: access_exp,
            refresh_token: refresh.token,
            refresh_token_expires_at: refresh.session.expires_at,
            user: user.into(),
        })
    }

    /// Trades a refresh token for a new pair. Each refresh token works once; presenting a
    /// used one again revokes its whole session family.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        input: RefreshSessionInput,
    ) -> AppResult<AuthPayload> {
        let app = ctx.app()?;
        let req = ctx.req()?;
        let token = input.refresh_token;
        let reused = service::reused_family(&req.db, &token).await?;
        let ip = req.ip.map(|i| i.to_string());
        let ua = req.user_agent.clone();
        let ttl = app.config.refresh_token_ttl;
        let t = token.clone();
        let result = mutate(
            ctx,
            AuditAction::new("auth.refresh", "session"),
            Rule::Public,
            move |txn, _| {
                Box::pin(async move {
                    if reused.is_some() {
                        return Err(AppError::Unauthenticated(service::REUSED));
                    }
                    let (user, next) = service::rotate(txn, &t, ttl, ip, ua).await?;
                    let change = Change {
                        entity_id: Some(next.session.family_id),
                        actor_user_id: Some(user.id),
                        ..Change::default()
                    };
                    Ok(((user, next), change))
                })
            },
        )
        .await;
        let (user, next) = match result {
            Ok(v) => v,
            Err(AppError::Unauthenticated(m)) if m == service::REUSED => {
                let family = match reused {
                    Some(f) => Some(f),
                    None => service::find_session(&req.db, &token)
                        .await?
                        .map(|s| s.family_id),
                };
                if let Some(f) = family {
                    let n = service::revoke_family(&req.db, f).await?;
                    tracing::warn!(request_id = %req.request_id, family = %f, revoked = n, "refresh token reuse: session family revoked");
                }
                return Err(AppError::Unauthenticated(service::REUSED));
            }
            Err(e) => return Err(e),
        };
        let (access, access_exp) = app.keys.issue_access(user.id)?;
        Ok(AuthPayload {
            access_token: access,
            access_token_expires_at: access_exp,
            refresh_token: next.token,
            refresh_token_expires_at: next.session.expires_at,
            user: user.into(),
        })
    }

    /// Ends a session: revokes the refresh token's whole family. Works with an expired
    /// access token, since holding the refresh token is what counts.
    async fn logout(&self, ctx: &Context<'_>, input: LogoutInput) -> AppResult<LogoutPayload> {
        let token = input.refresh_token;
        let revoked = mutate(
            ctx,
            AuditAction::new("auth.logout", "session"),
            Rule::Public,
            move |txn, _| {
                Box::pin(async move {
                    let s = service::find_session(txn, &token)
                        .await?
                        .ok_or(AppError::Unauthenticated("invalid refresh token"))?;
                    let n = service::revoke_family(txn, s.family_id).await?;
                    let change = Change {
                        entity_id: Some(s.family_id),
                        actor_user_id: Some(s.user_id),
                        ..Change::default()
                    };
                    Ok((n, change))
                })
            },
        )
        .await?;
        Ok(LogoutPayload { revoked })
    }

    /// Changes the caller's password and ends all their sessions.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        input: ChangePasswordInput,
    ) -> AppResult<ChangePasswordPayload> {
        let app = ctx.app()?;
        let req = ctx.req()?;
        // Verify and hash before the transaction; failures are recorded by `mutate`.
        let prepared: AppResult<(user::Model, String)> = async {
            authorize(&req.viewer, Rule::SignedIn)?;
            let id = req
                .viewer
                .user_id()
                .ok_or(AppError::Unauthenticated("sign in first"))?;
            let new = NewPassword::parse(&input.new_password, "input.newPassword")?;
            let u = user::Entity::find_by_id(id)
                .one(&req.db)
                .await?
                .ok_or(AppError::Unauthenticated("sign in first"))?;
            if !app
                .hasher
                .verify(
                    input.current_password.clone(),
                    Some(u.password_hash.clone()),
                )
                .await?
            {
                return Err(AppError::bad_input(
                    "input.currentPassword",
                    "is not your current password",
                ));
            }
            let hash = app.hasher.hash(new.into_inner()).await?;
            Ok((u, hash))
        }
        .await;
        let (u, revoked) = mutate(
            ctx,
            AuditAction::new("user.change_password", "user"),
            Rule::SignedIn,
            move |txn, _| {
                Box::pin(async move {
                    let (u, hash) = prepared?;
                    service::set_password(txn, u.id, hash).await?;
                    let n = service::revoke_user_sessions(txn, u.id).await?;
                    let change = Change {
                        entity_id: Some(u.id),
                        ..Change::default()
                    };
                    Ok(((u, n), change))
                })
            },
        )
        .await?;
        Ok(ChangePasswordPayload {
            user: u.into(),
            revoked_sessions: revoked,
        })
    }

    /// Activates or deactivates a user (super admins). Deactivation ends their sessions, and
    /// their access tokens are refused from the next request on.
    async fn set_user_active(
        &self,
        ctx: &Context<'_>,
        input: SetUserActiveInput,
    ) -> AppResult<SetUserActivePayload> {
        let req = ctx.req()?;
        let id = parse_id(&input.user_id, "input.userId");
        let me = req.viewer.user_id();
        let what = AuditAction::new("user.set_active", "user").on_parsed(&id);
        let active = input.is_active;
        let after = mutate(ctx, what, Rule::SuperAdmin, move |txn, _| {
            Box::pin(async move {
                let id = id?;
                if Some(id) == me && !active {
                    return Err(AppError::bad_input(
                        "input.userId",
                        "you cannot deactivate yourself",
                    ));
                }
                let (before, after) = service::set_active(txn, id, active).await?;
                let change = Change {
                    old: Some(json!({"isActive": before.is_active})),
                    new: Some(json!({"isActive": after.is_active})),
                    ..Change::default()
                };
                Ok((after, change))
            })
        })
        .await?;
        Ok(SetUserActivePayload { user: after.into() })
    }
}

/// Checks a login attempt against the rate limits and the stored hash, counting failures.
async fn check_credentials(ctx: &Context<'_>, input: &LoginInput) -> AppResult<user::Model> {
    let app = ctx.app()?;
    let req = ctx.req()?;
    let email = Email::parse(&input.email, "input.email")?;
    let account_key = format!("login:acct:{}", email.as_str());
    let ip_key = format!(
        "login:ip:{}",
        req.ip.map(|i| i.to_string()).unwrap_or_default()
    );
    app.limiter
        .check(&account_key, app.config.login_max_attempts)
        .await?;
    app.limiter
        .check(&ip_key, app.config.login_max_attempts_per_ip)
        .await?;
    let found = service::find_by_email(&req.db, &email).await?;
    let ok = app
        .hasher
        .verify(
            input.password.clone(),
            found.as_ref().map(|u| u.password_hash.clone()),
        )
        .await?;
    match found {
        Some(u) if ok && u.is_active => {
            app.limiter.clear(&account_key).await;
            Ok(u)
        }
        _ => {
            app.limiter.hit(&account_key).await;
            app.limiter.hit(&ip_key).await;
            Err(AppError::Unauthenticated(service::BAD_CREDENTIALS))
        }
    }
}

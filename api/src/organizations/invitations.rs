//! Invitations (DESIGN §7.5): an organization's admin invites an email to a role;
//! `acceptInvitation` redeems the mailed token once, for a new account (created, its email
//! verified by the act) or for the existing account of that email (signed in), and makes
//! the membership as `addMember` does. Tokens are stored hashed and expire
//! (`INVITATION_TTL_SECS`).

use super::{commands::AddMember, service as orgs, types::Membership};
use crate::{
    account_tokens::service::{INVALID_TOKEN, expiry, fresh_token, queue_email},
    audit::Change,
    auth::{Rule, accounts, tokens::token_hash},
    db::now,
    error::{AppError, AppResult},
    graphql::{ids::to_id, prelude::*},
    identity::{
        commands::NewSecret,
        service::{NewUser, create_user, find_by_email},
        types::User,
    },
    notifications::templates::AccountEmail,
    pipeline::{self, Command, Exec},
    state::AppState,
    validation::{Email, NewPassword, Text},
};
use async_graphql::{InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{OrgRole, PlatformRole, invitation as inv, membership, organization, user};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

/// An invitation to join an organization. The token is never shown again.
#[derive(SimpleObject)]
pub struct Invitation {
    pub id: ID,
    pub organization_id: ID,
    /// The invited email, lower-cased.
    pub email: String,
    pub role: OrgRole,
    pub expires_at: DateTime<Utc>,
    /// Null until accepted; an invitation is accepted once.
    pub accepted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<inv::Model> for Invitation {
    fn from(m: inv::Model) -> Self {
        Self {
            id: to_id(m.id),
            organization_id: to_id(m.organization_id),
            email: m.email,
            role: m.role,
            expires_at: m.expires_at,
            accepted_at: m.accepted_at,
            created_at: m.created_at,
        }
    }
}

/// Input of `inviteMember`.
#[derive(InputObject)]
pub struct InviteMemberInput {
    pub organization_id: ID,
    /// Where the invitation is sent; it may or may not have an account yet.
    pub email: String,
    pub role: OrgRole,
}

#[derive(SimpleObject)]
pub struct InviteMemberPayload {
    pub invitation: Invitation,
}

impl From<inv::Model> for InviteMemberPayload {
    fn from(m: inv::Model) -> Self {
        Self {
            invitation: m.into(),
        }
    }
}

/// Input of `acceptInvitation`.
#[derive(InputObject)]
pub struct AcceptInvitationInput {
    /// The code from the invitation email (also in its link).
    pub token: String,
    /// For a new account: the name to register under.
    pub full_name: Option<String>,
    /// For a new account: its password (at least 12 characters). An email that already has
    /// an account accepts signed in as that account, without these.
    pub password: Option<String>,
}

#[derive(SimpleObject)]
pub struct AcceptInvitationPayload {
    pub user: User,
    pub membership: Membership,
}

impl From<(user::Model, membership::Model)> for AcceptInvitationPayload {
    fn from((u, m): (user::Model, membership::Model)) -> Self {
        Self {
            user: u.into(),
            membership: m.into(),
        }
    }
}

/// `inviteMember`, parsed.
pub struct InviteMember {
    organization_id: Uuid,
    email: Email,
    role: OrgRole,
}

impl TryFrom<InviteMemberInput> for InviteMember {
    type Error = AppError;

    fn try_from(input: InviteMemberInput) -> AppResult<Self> {
        Ok(Self {
            organization_id: parse_id(&input.organization_id, "input.organizationId")?,
            email: Email::parse(&input.email, "input.email")?,
            role: input.role,
        })
    }
}

impl Command for InviteMember {
    type Input = InviteMemberInput;
    type Output = inv::Model;
    const ACTION: &'static str = "invitation.create";
    const ENTITY: &'static str = "invitation";

    fn authority(input: &Self::Input) -> Rule {
        Rule::for_named(&input.organization_id, accounts::invites_for)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        let inviter = exec
            .actor
            .user_id
            .ok_or(AppError::Forbidden("only a signed-in admin invites"))?;
        let ttl = exec.app.config.invitation_ttl;
        invite(exec.txn, self, inviter, ttl).await
    }
}

/// `inviteMember`: refuses an email that is already an active member; stores the invitation
/// (its token hashed) and queues its email, in one transaction.
pub async fn invite<C: ConnectionTrait>(
    db: &C,
    cmd: InviteMember,
    inviter: Uuid,
    ttl: std::time::Duration,
) -> AppResult<(inv::Model, Change)> {
    let org = organization::Entity::find_by_id(cmd.organization_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("organization"))?;
    if let Some(u) = find_by_email(db, &cmd.email).await? {
        let member = membership::Entity::find()
            .filter(membership::Column::OrganizationId.eq(org.id))
            .filter(membership::Column::UserId.eq(u.id))
            .filter(membership::Column::IsActive.eq(true))
            .one(db)
            .await?;
        if member.is_some() {
            return Err(AppError::Conflict("this user is already a member".into()));
        }
    }
    let code = fresh_token();
    let t = now();
    let row = inv::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.id),
        email: Set(cmd.email.as_str().to_string()),
        role: Set(cmd.role),
        token_hash: Set(token_hash(&code)),
        invited_by: Set(inviter),
        expires_at: Set(expiry(ttl)),
        accepted_at: Set(None),
        accepted_by: Set(None),
        created_at: Set(t),
    }
    .insert(db)
    .await?;
    let mailed = queue_email(
        db,
        &row.email,
        None,
        AccountEmail::Invitation,
        &code,
        Some(&org.name),
    )
    .await?;
    let change = Change {
        entity_id: Some(row.id),
        organization_id: Some(org.id),
        new: Some(json!({"email": row.email, "role": row.role})),
        events: vec![mailed],
        ..Change::default()
    };
    Ok((row, change))
}

/// `acceptInvitation`, parsed; `prepare` hashes a new account's password.
pub struct AcceptInvitation {
    token: String,
    full_name: Option<Text>,
    password: Option<NewSecret>,
}

impl TryFrom<AcceptInvitationInput> for AcceptInvitation {
    type Error = AppError;

    fn try_from(input: AcceptInvitationInput) -> AppResult<Self> {
        let token = input.token.trim();
        if token.is_empty() || token.len() > 128 {
            return Err(AppError::bad_input("input.token", INVALID_TOKEN));
        }
        Ok(Self {
            token: token.to_string(),
            full_name: input
                .full_name
                .as_deref()
                .map(|n| Text::parse(n, "input.fullName", 200))
                .transpose()?,
            password: input
                .password
                .as_deref()
                .map(|p| NewPassword::parse(p, "input.password").map(NewSecret::Typed))
                .transpose()?,
        })
    }
}

impl Command for AcceptInvitation {
    type Input = AcceptInvitationInput;
    type Output = (user::Model, membership::Model);
    const ACTION: &'static str = "invitation.accept";
    const ENTITY: &'static str = "invitation";
    const RULE: Rule = Rule::Public;

    async fn prepare(mut self, app: &AppState) -> AppResult<Self> {
        if let Some(p) = self.password.take() {
            self.password = Some(p.hash(app).await?);
        }
        Ok(self)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        accept(exec.txn, self, exec.viewer).await
    }
}

/// `acceptInvitation`: redeems the invitation once (a conditional update), creates the
/// account when its email has none, or requires that account signed in when it has one;
/// then makes the membership with `addMember`'s use case.
pub async fn accept<C: ConnectionTrait>(
    db: &C,
    cmd: AcceptInvitation,
    viewer: &crate::auth::Viewer,
) -> AppResult<((user::Model, membership::Model), Change)> {
    let invalid = || AppError::bad_input("input.token", INVALID_TOKEN);
    let t = now();
    let i = inv::Entity::find()
        .filter(inv::Column::TokenHash.eq(token_hash(&cmd.token)))
        .one(db)
        .await?
        .ok_or_else(invalid)?;
    if i.accepted_at.is_some() || i.expires_at <= t {
        return Err(invalid());
    }
    let email = Email::parse(&i.email, "input.token")?;
    let u = match find_by_email(db, &email).await? {
        Some(u) => {
            accounts::may_accept_as(viewer, u.id)?;
            if u.email_verified_at.is_some() {
                u
            } else {
                let mut am: user::ActiveModel = u.into();
                am.email_verified_at = Set(Some(t));
                am.update(db).await?
            }
        }
        None => {
            let (Some(full_name), Some(password)) = (cmd.full_name, cmd.password) else {
                return Err(AppError::bad_input(
                    "input.password",
                    "a new account needs fullName and password",
                ));
            };
            let u = create_user(
                db,
                NewUser {
                    email: email.clone(),
                    password_hash: password.into_hash()?,
                    full_name: full_name.into_inner(),
                    phone: None,
                    platform_role: PlatformRole::User,
                },
            )
            .await?;
            let mut am: user::ActiveModel = u.into();
            am.email_verified_at = Set(Some(t));
            am.update(db).await?
        }
    };
    let marked = inv::Entity::update_many()
        .col_expr(inv::Column::AcceptedAt, Expr::value(t))
        .col_expr(inv::Column::AcceptedBy, Expr::value(u.id))
        .filter(inv::Column::Id.eq(i.id))
        .filter(inv::Column::AcceptedAt.is_null())
        .exec(db)
        .await?;
    if marked.rows_affected != 1 {
        return Err(invalid());
    }
    let (m, added) = orgs::add_member(
        db,
        AddMember {
            organization_id: i.organization_id,
            email,
            role: i.role,
        },
    )
    .await?;
    let change = Change {
        entity_id: Some(i.id),
        organization_id: Some(i.organization_id),
        actor_user_id: Some(u.id),
        new: Some(json!({"userId": u.id, "membershipId": m.id, "role": m.role})),
        events: added.events,
        ..Change::default()
    };
    Ok(((u, m), change))
}

#[derive(Default)]
pub struct InvitationQuery;

#[Object]
impl InvitationQuery {
    /// An organization's invitations, newest first (its admins and super admins).
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, None, child_complexity)")]
    async fn invitations(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Conn<Invitation>> {
        let org = parse_id(&organization_id, "organizationId")?;
        ctx.authorized(accounts::invites_for(org))?;
        let q = inv::Entity::find().filter(inv::Column::OrganizationId.eq(org));
        let keyset = Keyset::<inv::Entity> {
            key: None,
            id: inv::Column::Id,
            id_of: |m| m.id,
            direction: SortDirection::Desc,
        };
        let args = PageArgs::new(first, after, None, None);
        let page = fetch_selected(ctx, q, &keyset, &args).await?;
        Ok(page.into_connection(Invitation::from))
    }
}

#[derive(Default)]
pub struct InvitationMutation;

#[Object]
impl InvitationMutation {
    /// Emails an invitation to join the organization in a role (its admins and super
    /// admins). It works once, until it expires.
    async fn invite_member(
        &self,
        ctx: &Context<'_>,
        input: InviteMemberInput,
    ) -> AppResult<InviteMemberPayload> {
        pipeline::respond::<InviteMember, _>(ctx, input).await
    }

    /// Accepts an invitation with the code from its email: for a new email, creates the
    /// account (fullName and password) with its email verified; for an email that has an
    /// account, that account must be signed in. Either way it becomes a member in the
    /// invited role.
    async fn accept_invitation(
        &self,
        ctx: &Context<'_>,
        input: AcceptInvitationInput,
    ) -> AppResult<AcceptInvitationPayload> {
        pipeline::respond::<AcceptInvitation, _>(ctx, input).await
    }
}

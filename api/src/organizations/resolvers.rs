//! Organization resolvers: queries filtered by `auth::organizations`, mutations run as
//! commands.

use super::{commands::*, types::*};
use crate::{
    auth,
    error::{AppError, AppResult},
    graphql::{
        context::CtxExt,
        ids::parse_id,
        loaders::{prime, prime_users},
        pagination::{
            Conn, Keyset, PageArgs, SortDirection, SortValue, fetch_selected, node_selects,
        },
    },
    pipeline,
};
use async_graphql::{Context, ID, Object};
use entity::{api_client, membership, organization};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

#[derive(Default)]
pub struct OrganizationQuery;

#[Object]
impl OrganizationQuery {
    /// Organizations the caller may see: approved ones and their own (every one for super
    /// admins).
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, last, child_complexity)")]
    async fn organizations(
        &self,
        ctx: &Context<'_>,
        filter: Option<OrganizationFilter>,
        order_by: Option<OrganizationOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<Conn<Organization>> {
        let req = ctx.req()?;
        let f = filter.unwrap_or_default();
        let mut q = organization::Entity::find().filter(auth::organizations::visible(&req.viewer)?);
        if let Some(kinds) = f.kinds {
            q = q.filter(organization::Column::Kind.is_in(kinds));
        }
        if let Some(statuses) = f.statuses {
            q = q.filter(organization::Column::Status.is_in(statuses));
        }
        if let Some(city) = f.city {
            q = q.filter(organization::Column::City.eq(city.trim()));
        }
        if let Some(n) = f.name_contains {
            q = q.filter(organization::Column::Name.contains(n.trim()));
        }
        let order = order_by.unwrap_or_default();
        let keyset = Keyset::<organization::Entity> {
            key: match order.field {
                OrganizationOrderField::Name => Some((organization::Column::Name, |m| {
                    SortValue::Text(m.name.clone())
                })),
                OrganizationOrderField::Code => Some((organization::Column::Code, |m| {
                    SortValue::Text(m.code.clone())
                })),
                OrganizationOrderField::CreatedAt => None,
            },
            id: organization::Column::Id,
            id_of: |m| m.id,
            direction: order.direction,
        };
        let args = PageArgs::new(first, after, last, before);
        let page = fetch_selected(ctx, q, &keyset, &args).await?;
        if node_selects(ctx, &["members"]) {
            let members = prime_members(ctx, page.rows.iter().map(|(_, m)| m.id)).await?;
            if node_selects(ctx, &["members", "user"]) {
                prime_users(req, members.iter().map(|m| m.user_id)).await?;
            }
        }
        Ok(page.into_connection(Organization::from))
    }

    /// An organization's API clients, newest first (its admins and super admins); never
    /// their tokens.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, last, child_complexity)")]
    async fn api_clients(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<Conn<ApiClient>> {
        let req = ctx.req()?;
        let org = parse_id(&organization_id, "organizationId")?;
        auth::organizations::sees_api_clients(&req.viewer, org)?;
        let q = api_client::Entity::find().filter(api_client::Column::OrganizationId.eq(org));
        let keyset = Keyset::<api_client::Entity> {
            key: None,
            id: api_client::Column::Id,
            id_of: |m| m.id,
            direction: SortDirection::Desc,
        };
        let args = PageArgs::new(first, after, last, before);
        let page = fetch_selected(ctx, q, &keyset, &args).await?;
        if node_selects(ctx, &["createdBy"]) {
            prime_users(req, page.rows.iter().map(|(_, m)| m.created_by)).await?;
        }
        Ok(page.into_connection(ApiClient::from))
    }

    /// One organization by id; `NOT_FOUND` when it does not exist or is not visible.
    async fn organization(&self, ctx: &Context<'_>, id: ID) -> AppResult<Organization> {
        let req = ctx.req()?;
        let visible = auth::organizations::visible(&req.viewer)?;
        organization::Entity::find_by_id(parse_id(&id, "id")?)
            .filter(visible)
            .one(&req.db)
            .await?
            .map(Organization::from)
            .ok_or(AppError::NotFound("organization"))
    }
}

/// Loads the members of a page of organizations (those whose members the caller may see;
/// the field refuses the rest) in one query and primes the loader, so the page costs the
/// same statements whatever its length.
async fn prime_members(
    ctx: &Context<'_>,
    orgs: impl Iterator<Item = Uuid>,
) -> AppResult<Vec<membership::Model>> {
    let req = ctx.req()?;
    let readable = orgs.filter(|org| auth::organizations::sees_members(&req.viewer, *org).is_ok());
    let members = prime(&req.loaders.members_by_org, readable).await?;
    Ok(members.into_values().flatten().collect())
}

#[derive(Default)]
pub struct OrganizationMutation;

#[Object]
impl OrganizationMutation {
    /// Registers an organization as `PENDING`; the caller becomes its `ADMIN`.
    async fn register_organization(
        &self,
        ctx: &Context<'_>,
        input: RegisterOrganizationInput,
    ) -> AppResult<OrganizationPayload> {
        pipeline::respond::<RegisterOrganization, _>(ctx, input).await
    }

    /// PENDING → APPROVED (super admins).
    async fn approve_organization(
        &self,
        ctx: &Context<'_>,
        input: OrganizationStatusInput,
    ) -> AppResult<OrganizationPayload> {
        pipeline::respond::<ApproveOrganization, _>(ctx, input).await
    }

    /// PENDING → REJECTED, with a reason (super admins).
    async fn reject_organization(
        &self,
        ctx: &Context<'_>,
        input: OrganizationStatusInput,
    ) -> AppResult<OrganizationPayload> {
        pipeline::respond::<RejectOrganization, _>(ctx, input).await
    }

    /// APPROVED → SUSPENDED, with a reason (super admins). Members can no longer act for it.
    async fn suspend_organization(
        &self,
        ctx: &Context<'_>,
        input: OrganizationStatusInput,
    ) -> AppResult<OrganizationPayload> {
        pipeline::respond::<SuspendOrganization, _>(ctx, input).await
    }

    /// SUSPENDED → APPROVED (super admins).
    async fn reinstate_organization(
        &self,
        ctx: &Context<'_>,
        input: OrganizationStatusInput,
    ) -> AppResult<OrganizationPayload> {
        pipeline::respond::<ReinstateOrganization, _>(ctx, input).await
    }

    /// Adds an existing account to the organization (its admins).
    async fn add_member(
        &self,
        ctx: &Context<'_>,
        input: AddMemberInput,
    ) -> AppResult<MembershipPayload> {
        pipeline::respond::<AddMember, _>(ctx, input).await
    }

    /// Changes a member's role (its admins); the last admin cannot be demoted.
    async fn change_member_role(
        &self,
        ctx: &Context<'_>,
        input: ChangeMemberRoleInput,
    ) -> AppResult<MembershipPayload> {
        pipeline::respond::<ChangeMemberRole, _>(ctx, input).await
    }

    /// Removes a member (its admins); the last admin cannot be removed.
    async fn remove_member(
        &self,
        ctx: &Context<'_>,
        input: RemoveMemberInput,
    ) -> AppResult<MembershipPayload> {
        pipeline::respond::<RemoveMember, _>(ctx, input).await
    }

    /// Creates an API client for the organization (its admins). The token is in the
    /// payload and nowhere else.
    async fn create_api_client(
        &self,
        ctx: &Context<'_>,
        input: CreateApiClientInput,
    ) -> AppResult<CreateApiClientPayload> {
        pipeline::respond::<CreateApiClient, _>(ctx, input).await
    }

    /// Changes an organization's profile (its admins, super admins); a location change is
    /// recorded with its old and new position.
    async fn update_organization(
        &self,
        ctx: &Context<'_>,
        input: UpdateOrganizationInput,
    ) -> AppResult<OrganizationPayload> {
        pipeline::respond::<UpdateOrganization, _>(ctx, input).await
    }

    /// Revokes an API client (its organization's admins); its token stops working at once.
    async fn revoke_api_client(
        &self,
        ctx: &Context<'_>,
        input: RevokeApiClientInput,
    ) -> AppResult<ApiClientPayload> {
        pipeline::respond::<RevokeApiClient, _>(ctx, input).await
    }
}

//! GraphQL types of the organizations domain.

use crate::{
    auth,
    error::AppResult,
    graphql::{context::CtxExt, ids::to_id, loaders, pagination::SortDirection},
    identity::types::User,
};
use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, MaybeUndefined, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{OrgKind, OrgRole, OrgStatus, api_client, membership, organization};
use std::sync::Arc;
use uuid::Uuid;

/// A hospital, blood bank or NGO. Its profile is visible to every signed-in user; its
/// members only to its members and super admins.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Organization {
    pub id: ID,
    #[graphql(flatten)]
    pub profile: OrganizationProfile,
    /// `PENDING` until a super admin approves it; only `APPROVED` organizations act.
    pub status: OrgStatus,
    pub approved_at: Option<DateTime<Utc>>,
    pub suspended_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub uuid: Uuid,
}

impl Organization {
    /// An organization through the request's loader, for relation fields.
    pub async fn load(ctx: &Context<'_>, id: Uuid) -> AppResult<Option<Arc<Self>>> {
        loaders::load_one(&ctx.req()?.loaders.orgs, id).await
    }
}

impl From<organization::Model> for Organization {
    fn from(m: organization::Model) -> Self {
        Self {
            id: to_id(m.id),
            profile: OrganizationProfile {
                code: m.code,
                name: m.name,
                kind: m.kind,
                address: m.address,
                city: m.city,
                state: m.state,
                postal_code: m.postal_code,
                country: m.country,
                latitude: m.latitude,
                longitude: m.longitude,
                phone: m.phone,
                email: m.email,
                license_number: m.license_number,
                registration_number: m.registration_number,
            },
            status: m.status,
            approved_at: m.approved_at,
            suspended_at: m.suspended_at,
            created_at: m.created_at,
            uuid: m.id,
        }
    }
}

#[ComplexObject]
impl Organization {
    /// Active members: visible to the organization's members and to super admins.
    async fn members(&self, ctx: &Context<'_>) -> AppResult<Vec<Membership>> {
        let req = ctx.req()?;
        auth::organizations::sees_members(&req.viewer, self.uuid)?;
        let rows = loaders::load_children(&req.loaders.members_by_org, self.uuid).await?;
        Ok(rows.into_iter().map(Membership::from).collect())
    }
}

/// A user's role in an organization.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Membership {
    pub id: ID,
    pub role: OrgRole,
    /// False once the member was removed.
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub user_id: Uuid,
    #[graphql(skip)]
    pub organization_id: Uuid,
}

impl From<membership::Model> for Membership {
    fn from(m: membership::Model) -> Self {
        Self {
            id: to_id(m.id),
            role: m.role,
            is_active: m.is_active,
            created_at: m.created_at,
            user_id: m.user_id,
            organization_id: m.organization_id,
        }
    }
}

#[ComplexObject]
impl Membership {
    async fn user(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        User::load(ctx, self.user_id).await
    }

    async fn organization(&self, ctx: &Context<'_>) -> AppResult<Option<Arc<Organization>>> {
        Organization::load(ctx, self.organization_id).await
    }
}

/// A partner system's credential (the token itself is shown only at creation).
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct ApiClient {
    pub id: ID,
    /// Organization it acts for.
    pub organization_id: ID,
    pub name: String,
    /// First characters of the token, to tell tokens apart.
    pub token_prefix: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// When its token was last used, to the minute (null: never).
    pub last_used_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    pub created_by_id: Uuid,
    #[graphql(skip)]
    pub org: Uuid,
}

#[ComplexObject]
impl ApiClient {
    /// Who created it (an admin of the organization, or a super admin).
    async fn created_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        User::load_member(ctx, self.created_by_id, self.org).await
    }
}

impl From<api_client::Model> for ApiClient {
    fn from(m: api_client::Model) -> Self {
        Self {
            id: to_id(m.id),
            organization_id: to_id(m.organization_id),
            name: m.name,
            token_prefix: m.token_prefix,
            scopes: serde_json::from_value(m.scopes).unwrap_or_default(),
            expires_at: m.expires_at,
            revoked_at: m.revoked_at,
            created_at: m.created_at,
            last_used_at: m.last_used_at,
            created_by_id: m.created_by,
            org: m.organization_id,
        }
    }
}

/// Filter of `organizations`.
#[derive(InputObject, Default)]
pub struct OrganizationFilter {
    /// Only these kinds.
    pub kinds: Option<Vec<OrgKind>>,
    /// Only these statuses (non-admins see approved organizations and their own).
    pub statuses: Option<Vec<OrgStatus>>,
    /// Exact city.
    pub city: Option<String>,
    /// Name contains this.
    pub name_contains: Option<String>,
}

/// Sort keys of `organizations`.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum OrganizationOrderField {
    #[default]
    Name,
    Code,
    CreatedAt,
}

/// Order of `organizations`.
#[derive(InputObject, Default)]
pub struct OrganizationOrder {
    #[graphql(default)]
    pub field: OrganizationOrderField,
    #[graphql(default)]
    pub direction: SortDirection,
}

/// What an organization says of itself: the same fields on the `Organization` read and as
/// the input of `registerOrganization` (checked and normalised when registered).
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(input_name = "RegisterOrganizationInput")]
pub struct OrganizationProfile {
    /// Unique code: 3 to 32 letters, digits or dashes, stored upper-case.
    pub code: String,
    /// At most 200 characters.
    pub name: String,
    pub kind: OrgKind,
    /// At most 300 characters.
    pub address: Option<String>,
    /// At most 100 characters.
    pub city: String,
    /// State or region, at most 100 characters.
    pub state: Option<String>,
    /// At most 20 characters.
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2, e.g. `IN`.
    pub country: String,
    /// WGS 84, from -90 to 90.
    pub latitude: f64,
    /// WGS 84, from -180 to 180.
    pub longitude: f64,
    /// In international form, e.g. `+918022275081`.
    pub phone: Option<String>,
    pub email: Option<String>,
    /// Health licence number, at most 64 characters.
    pub license_number: Option<String>,
    /// Company or charity registration number, at most 64 characters.
    pub registration_number: Option<String>,
}

/// Input of `registerOrganization`.
pub type RegisterOrganizationInput = OrganizationProfile;

/// Input naming an organization for a status change.
#[derive(InputObject)]
pub struct OrganizationStatusInput {
    pub organization_id: ID,
    /// Why (recorded in the audit trail); required to reject or suspend.
    pub reason: Option<String>,
}

/// Result of organization mutations.
#[derive(SimpleObject)]
pub struct OrganizationPayload {
    pub organization: Organization,
}

/// Input of `addMember`.
#[derive(InputObject)]
pub struct AddMemberInput {
    /// The organization acted for.
    pub organization_id: ID,
    /// The email of an existing account.
    pub email: String,
    /// Role to give.
    pub role: OrgRole,
}

/// Input of `changeMemberRole`.
#[derive(InputObject)]
pub struct ChangeMemberRoleInput {
    /// The organization acted for.
    pub organization_id: ID,
    pub user_id: ID,
    pub role: OrgRole,
}

/// Input of `removeMember`.
#[derive(InputObject)]
pub struct RemoveMemberInput {
    /// The organization acted for.
    pub organization_id: ID,
    pub user_id: ID,
}

/// Result of membership mutations.
#[derive(SimpleObject)]
pub struct MembershipPayload {
    pub membership: Membership,
}

/// Input of `createApiClient`.
#[derive(InputObject)]
pub struct CreateApiClientInput {
    /// The organization the client acts for.
    pub organization_id: ID,
    /// A name to recognise it by.
    pub name: String,
    /// Scopes, e.g. `blood-requests:write`.
    pub scopes: Vec<String>,
    /// Optional expiry (must be in the future).
    pub expires_at: Option<DateTime<Utc>>,
}

/// Result of `createApiClient`: the only time the token is shown.
#[derive(SimpleObject)]
pub struct CreateApiClientPayload {
    pub api_client: ApiClient,
    /// The bearer token. It is not stored and cannot be shown again.
    pub token: String,
}

/// Input of `revokeApiClient`.
#[derive(InputObject)]
pub struct RevokeApiClientInput {
    /// The organization acted for.
    pub organization_id: ID,
    pub api_client_id: ID,
}

#[derive(SimpleObject)]
pub struct ApiClientPayload {
    pub api_client: ApiClient,
}

impl From<organization::Model> for OrganizationPayload {
    fn from(m: organization::Model) -> Self {
        Self {
            organization: m.into(),
        }
    }
}

impl From<membership::Model> for MembershipPayload {
    fn from(m: membership::Model) -> Self {
        Self {
            membership: m.into(),
        }
    }
}

impl From<(api_client::Model, String)> for CreateApiClientPayload {
    fn from((m, token): (api_client::Model, String)) -> Self {
        Self {
            api_client: m.into(),
            token,
        }
    }
}

impl From<api_client::Model> for ApiClientPayload {
    fn from(m: api_client::Model) -> Self {
        Self {
            api_client: m.into(),
        }
    }
}

/// Input of `updateOrganization`: what is given changes, what is left out stays. A new
/// location takes both `latitude` and `longitude`.
#[derive(InputObject)]
pub struct UpdateOrganizationInput {
    pub organization_id: ID,
    /// At most 200 characters.
    pub name: Option<String>,
    /// At most 300 characters; `null` clears it.
    pub address: MaybeUndefined<String>,
    /// At most 100 characters.
    pub city: Option<String>,
    /// State or region; `null` clears it.
    pub state: MaybeUndefined<String>,
    /// `null` clears it.
    pub postal_code: MaybeUndefined<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// WGS 84, with `longitude`.
    pub latitude: Option<f64>,
    /// WGS 84, with `latitude`.
    pub longitude: Option<f64>,
    /// In international form; `null` clears it.
    pub phone: MaybeUndefined<String>,
    /// `null` clears it.
    pub email: MaybeUndefined<String>,
}

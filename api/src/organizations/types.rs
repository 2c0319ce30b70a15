//! GraphQL types of the organizations domain.

use crate::{
    auth::{Rule, authorize, policy::ANY_ROLE},
    error::AppResult,
    graphql::{
        context::CtxExt,
        ids::to_id,
        loaders::{load_children, load_one},
        pagination::SortDirection,
    },
    identity::types::User,
};
use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{OrgKind, OrgRole, OrgStatus, api_client, membership, organization};
use uuid::Uuid;

/// A hospital, blood bank or NGO. Its profile is visible to every signed-in user; its
/// members only to its members and super admins.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Organization {
    /// Identifier.
    pub id: ID,
    /// Unique code, upper-case.
    pub code: String,
    /// Name.
    pub name: String,
    /// Hospital, blood bank or NGO.
    pub kind: OrgKind,
    /// Street address.
    pub address: Option<String>,
    /// City.
    pub city: String,
    /// State or region.
    pub state: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2 country.
    pub country: String,
    /// WGS 84 latitude.
    pub latitude: f64,
    /// WGS 84 longitude.
    pub longitude: f64,
    /// Contact phone.
    pub phone: Option<String>,
    /// Contact email.
    pub email: Option<String>,
    /// Health licence number.
    pub license_number: Option<String>,
    /// Company or charity registration number.
    pub registration_number: Option<String>,
    /// Standing with the platform.
    pub status: OrgStatus,
    /// When approved.
    pub approved_at: Option<DateTime<Utc>>,
    /// When suspended.
    pub suspended_at: Option<DateTime<Utc>>,
    /// Registered.
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    /// The row id.
    pub uuid: Uuid,
}

impl Organization {
    /// An organization through the request's loader, for relation fields.
    pub async fn load(ctx: &Context<'_>, id: Uuid) -> AppResult<Option<Self>> {
        Ok(load_one(&ctx.req()?.loaders.orgs, id)
            .await?
            .map(Self::from))
    }
}

impl From<organization::Model> for Organization {
    fn from(m: organization::Model) -> Self {
        Self {
            id: to_id(m.id),
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
        authorize(
            &req.viewer,
            Rule::ReadOrg {
                org: self.uuid,
                roles: ANY_ROLE,
                scope: None,
            },
        )?;
        let rows = load_children(&req.loaders.members_by_org, self.uuid).await?;
        Ok(rows.into_iter().map(Membership::from).collect())
    }
}

/// A user's role in an organization.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Membership {
    /// Identifier.
    pub id: ID,
    /// Role.
    pub role: OrgRole,
    /// False once removed.
    pub is_active: bool,
    /// Since.
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    /// Member.
    pub user_id: Uuid,
    #[graphql(skip)]
    /// Organization.
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
    /// The member.
    async fn user(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        User::load(ctx, self.user_id).await
    }

    /// The organization.
    async fn organization(&self, ctx: &Context<'_>) -> AppResult<Option<Organization>> {
        Organization::load(ctx, self.organization_id).await
    }
}

/// A partner system's credential (the token itself is shown only at creation).
#[derive(SimpleObject, Clone)]
pub struct ApiClient {
    /// Identifier.
    pub id: ID,
    /// Organization it acts for.
    pub organization_id: ID,
    /// Name.
    pub name: String,
    /// First characters of the token, to tell tokens apart.
    pub token_prefix: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Expiry, if any.
    pub expires_at: Option<DateTime<Utc>>,
    /// When revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
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
    /// Name.
    #[default]
    Name,
    /// Code.
    Code,
    /// Registration order.
    CreatedAt,
}

/// Order of `organizations`.
#[derive(InputObject, Default)]
pub struct OrganizationOrder {
    /// Sort key.
    #[graphql(default)]
    pub field: OrganizationOrderField,
    /// Direction.
    #[graphql(default)]
    pub direction: SortDirection,
}

/// Input of `registerOrganization`.
#[derive(InputObject)]
pub struct RegisterOrganizationInput {
    /// Unique code: 3 to 32 letters, digits or dashes.
    pub code: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: OrgKind,
    /// Street address.
    pub address: Option<String>,
    /// City.
    pub city: String,
    /// State.
    pub state: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// ISO country code.
    pub country: String,
    /// Latitude.
    pub latitude: f64,
    /// Longitude.
    pub longitude: f64,
    /// Phone.
    pub phone: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Licence number.
    pub license_number: Option<String>,
    /// Registration number.
    pub registration_number: Option<String>,
}

/// Input naming an organization for a status change.
#[derive(InputObject)]
pub struct OrganizationStatusInput {
    /// The organization.
    pub organization_id: ID,
    /// Why (recorded in the audit trail); required to reject or suspend.
    pub reason: Option<String>,
}

/// Result of organization mutations.
#[derive(SimpleObject)]
pub struct OrganizationPayload {
    /// The organization after the change.
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
    /// The member.
    pub user_id: ID,
    /// The new role.
    pub role: OrgRole,
}

/// Input of `removeMember`.
#[derive(InputObject)]
pub struct RemoveMemberInput {
    /// The organization acted for.
    pub organization_id: ID,
    /// The member.
    pub user_id: ID,
}

/// Result of membership mutations.
#[derive(SimpleObject)]
pub struct MembershipPayload {
    /// The membership after the change.
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
    /// The client.
    pub api_client: ApiClient,
    /// The bearer token. It is not stored and cannot be shown again.
    pub token: String,
}

/// Input of `revokeApiClient`.
#[derive(InputObject)]
pub struct RevokeApiClientInput {
    /// The organization acted for.
    pub organization_id: ID,
    /// The client.
    pub api_client_id: ID,
}

/// Result of `revokeApiClient`.
#[derive(SimpleObject)]
pub struct ApiClientPayload {
    /// The client after the change.
    pub api_client: ApiClient,
}

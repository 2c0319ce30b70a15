//! Organization mutations as typed commands: each input parsed once, run by
//! [`crate::pipeline`], its use case in [`super::service`].

use super::{
    service::{self, StatusMove},
    types::*,
};
use crate::{
    audit::Change,
    auth::{Rule, Scope, policy::ADMIN},
    error::{AppError, AppResult},
    graphql::ids::parse_id,
    pipeline::{Command, Exec},
    validation::{CountryCode, Email, GeoPoint, OrgCode, Phone, Text},
};
use async_graphql::ID;
use chrono::{DateTime, Utc};
use entity::{OrgKind, OrgRole, api_client, membership, organization};
use uuid::Uuid;

/// What only an organization's admins do (members, API clients).
fn admins_of(org: Uuid) -> Rule {
    Rule::ActFor {
        org,
        roles: ADMIN,
        scope: None,
        kind: None,
    }
}

fn org_id(id: &ID) -> AppResult<Uuid> {
    parse_id(id, "input.organizationId")
}

/// Before parsing: the admins of the organization an input names.
fn admins_named(org: &ID) -> Rule {
    Rule::for_named(org, admins_of)
}

/// `registerOrganization`, parsed.
pub struct RegisterOrganization {
    /// Unique, upper-case.
    pub code: OrgCode,
    pub name: Text,
    pub kind: OrgKind,
    pub address: Option<Text>,
    pub city: Text,
    pub state: Option<Text>,
    pub postal_code: Option<Text>,
    /// ISO 3166-1 alpha-2.
    pub country: CountryCode,
    /// WGS 84 position.
    pub location: GeoPoint,
    pub phone: Option<Phone>,
    pub email: Option<Email>,
    /// Health licence number.
    pub license_number: Option<Text>,
    /// Company or charity registration number.
    pub registration_number: Option<Text>,
}

impl TryFrom<RegisterOrganizationInput> for RegisterOrganization {
    type Error = AppError;

    fn try_from(i: RegisterOrganizationInput) -> AppResult<Self> {
        Ok(Self {
            code: OrgCode::parse(&i.code, "input.code")?,
            name: Text::parse(&i.name, "input.name", 200)?,
            kind: i.kind,
            address: Text::parse_opt(i.address.as_deref(), "input.address", 300)?,
            city: Text::parse(&i.city, "input.city", 100)?,
            state: Text::parse_opt(i.state.as_deref(), "input.state", 100)?,
            postal_code: Text::parse_opt(i.postal_code.as_deref(), "input.postalCode", 20)?,
            country: CountryCode::parse(&i.country, "input.country")?,
            location: GeoPoint::parse(i.latitude, i.longitude, "input.")?,
            phone: Phone::parse_opt(i.phone.as_deref(), "input.phone")?,
            email: i
                .email
                .as_deref()
                .map(|e| Email::parse(e, "input.email"))
                .transpose()?,
            license_number: Text::parse_opt(
                i.license_number.as_deref(),
                "input.licenseNumber",
                64,
            )?,
            registration_number: Text::parse_opt(
                i.registration_number.as_deref(),
                "input.registrationNumber",
                64,
            )?,
        })
    }
}

impl Command for RegisterOrganization {
    type Input = RegisterOrganizationInput;
    type Output = organization::Model;
    const ACTION: &'static str = "organization.register";
    const ENTITY: &'static str = "organization";
    const RULE: Rule = Rule::SignedIn;

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::register(exec.txn, self, exec.actor).await
    }
}

/// A super admin's status move, `M` a [`StatusMove`] as `u8`: `approveOrganization`,
/// `rejectOrganization` and `suspendOrganization` (these two need a reason) and
/// `reinstateOrganization`.
pub struct ChangeOrgStatus<const M: u8> {
    pub organization_id: Uuid,
    /// Why, for the audit trail.
    pub reason: Option<Text>,
}

/// `approveOrganization`, parsed.
pub type ApproveOrganization = ChangeOrgStatus<{ StatusMove::Approve as u8 }>;
/// `rejectOrganization`, parsed.
pub type RejectOrganization = ChangeOrgStatus<{ StatusMove::Reject as u8 }>;
/// `suspendOrganization`, parsed.
pub type SuspendOrganization = ChangeOrgStatus<{ StatusMove::Suspend as u8 }>;
/// `reinstateOrganization`, parsed.
pub type ReinstateOrganization = ChangeOrgStatus<{ StatusMove::Reinstate as u8 }>;

impl<const M: u8> ChangeOrgStatus<M> {
    const MOVE: StatusMove = StatusMove::ALL[M as usize];
}

impl<const M: u8> TryFrom<OrganizationStatusInput> for ChangeOrgStatus<M> {
    type Error = AppError;

    fn try_from(input: OrganizationStatusInput) -> AppResult<Self> {
        let organization_id = org_id(&input.organization_id)?;
        let reason = Text::parse_opt(input.reason.as_deref(), "input.reason", 500)?;
        if Self::MOVE.needs_reason() && reason.is_none() {
            return Err(AppError::bad_input("input.reason", "is required"));
        }
        Ok(Self {
            organization_id,
            reason,
        })
    }
}

impl<const M: u8> Command for ChangeOrgStatus<M> {
    type Input = OrganizationStatusInput;
    type Output = organization::Model;
    const ACTION: &'static str = Self::MOVE.action();
    const ENTITY: &'static str = "organization";
    const RULE: Rule = Rule::SuperAdmin;

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.organization_id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::change_status(exec.txn, self.organization_id, Self::MOVE, self.reason).await
    }
}

/// `addMember`, parsed.
pub struct AddMember {
    /// The organization acted for.
    pub organization_id: Uuid,
    /// The email of an existing account.
    pub email: Email,
    /// The role to give.
    pub role: OrgRole,
}

impl TryFrom<AddMemberInput> for AddMember {
    type Error = AppError;

    fn try_from(input: AddMemberInput) -> AppResult<Self> {
        Ok(Self {
            organization_id: org_id(&input.organization_id)?,
            email: Email::parse(&input.email, "input.email")?,
            role: input.role,
        })
    }
}

impl Command for AddMember {
    type Input = AddMemberInput;
    type Output = membership::Model;
    const ACTION: &'static str = "membership.add";
    const ENTITY: &'static str = "membership";

    fn authority(input: &Self::Input) -> Rule {
        admins_named(&input.organization_id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::add_member(exec.txn, self).await
    }
}

/// A member of an organization, named by an admin's input.
pub struct Member {
    /// The organization acted for.
    pub organization_id: Uuid,
    /// The member's user.
    pub user_id: Uuid,
}

impl Member {
    fn parse(organization_id: &ID, user_id: &ID) -> AppResult<Self> {
        Ok(Self {
            organization_id: org_id(organization_id)?,
            user_id: parse_id(user_id, "input.userId")?,
        })
    }
}

/// `changeMemberRole`, parsed.
pub struct ChangeMemberRole {
    pub member: Member,
    pub role: OrgRole,
}

impl TryFrom<ChangeMemberRoleInput> for ChangeMemberRole {
    type Error = AppError;

    fn try_from(input: ChangeMemberRoleInput) -> AppResult<Self> {
        Ok(Self {
            member: Member::parse(&input.organization_id, &input.user_id)?,
            role: input.role,
        })
    }
}

impl Command for ChangeMemberRole {
    type Input = ChangeMemberRoleInput;
    type Output = membership::Model;
    const ACTION: &'static str = "membership.change_role";
    const ENTITY: &'static str = "membership";

    fn authority(input: &Self::Input) -> Rule {
        admins_named(&input.organization_id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::change_role(exec.txn, self).await
    }
}

/// `removeMember`, parsed.
pub struct RemoveMember(pub Member);

impl TryFrom<RemoveMemberInput> for RemoveMember {
    type Error = AppError;

    fn try_from(input: RemoveMemberInput) -> AppResult<Self> {
        Member::parse(&input.organization_id, &input.user_id).map(Self)
    }
}

impl Command for RemoveMember {
    type Input = RemoveMemberInput;
    type Output = membership::Model;
    const ACTION: &'static str = "membership.remove";
    const ENTITY: &'static str = "membership";

    fn authority(input: &Self::Input) -> Rule {
        admins_named(&input.organization_id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::remove_member(exec.txn, self.0).await
    }
}

/// `createApiClient`, parsed.
pub struct CreateApiClient {
    /// The organization the client acts for.
    pub organization_id: Uuid,
    /// A name to recognise it by.
    pub name: Text,
    /// At least one, no duplicates.
    pub scopes: Vec<Scope>,
    /// In the future, if given.
    pub expires_at: Option<DateTime<Utc>>,
}

impl TryFrom<CreateApiClientInput> for CreateApiClient {
    type Error = AppError;

    fn try_from(input: CreateApiClientInput) -> AppResult<Self> {
        let organization_id = org_id(&input.organization_id)?;
        let name = Text::parse(&input.name, "input.name", 200)?;
        let scopes = Scope::parse_list(&input.scopes, "input.scopes")?;
        if input.expires_at.is_some_and(|e| e <= Utc::now()) {
            return Err(AppError::bad_input(
                "input.expiresAt",
                "must be in the future",
            ));
        }
        Ok(Self {
            organization_id,
            name,
            scopes,
            expires_at: input.expires_at,
        })
    }
}

impl Command for CreateApiClient {
    type Input = CreateApiClientInput;
    type Output = (api_client::Model, String);
    const ACTION: &'static str = "api_client.create";
    const ENTITY: &'static str = "api_client";

    fn authority(input: &Self::Input) -> Rule {
        admins_named(&input.organization_id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::create_api_client(exec.txn, self, exec.actor).await
    }
}

/// `revokeApiClient`, parsed.
pub struct RevokeApiClient {
    /// The organization acted for.
    pub organization_id: Uuid,
    /// One of its clients.
    pub api_client_id: Uuid,
}

impl TryFrom<RevokeApiClientInput> for RevokeApiClient {
    type Error = AppError;

    fn try_from(input: RevokeApiClientInput) -> AppResult<Self> {
        Ok(Self {
            organization_id: org_id(&input.organization_id)?,
            api_client_id: parse_id(&input.api_client_id, "input.apiClientId")?,
        })
    }
}

impl Command for RevokeApiClient {
    type Input = RevokeApiClientInput;
    type Output = api_client::Model;
    const ACTION: &'static str = "api_client.revoke";
    const ENTITY: &'static str = "api_client";

    fn authority(input: &Self::Input) -> Rule {
        admins_named(&input.organization_id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::revoke_api_client(exec.txn, self).await
    }
}

/// `updateOrganization`, parsed: `None` leaves a field, `Some(None)` clears it.
pub struct UpdateOrganization {
    pub organization_id: Uuid,
    pub name: Option<Text>,
    pub address: Option<Option<Text>>,
    pub city: Option<Text>,
    pub state: Option<Option<Text>>,
    pub postal_code: Option<Option<Text>>,
    pub country: Option<CountryCode>,
    pub location: Option<GeoPoint>,
    pub phone: Option<Option<Phone>>,
    pub email: Option<Option<Email>>,
}

/// A clearable field: left out, `null`, or a value to parse.
fn clearable<T>(
    v: async_graphql::MaybeUndefined<String>,
    parse: impl FnOnce(&str) -> AppResult<T>,
) -> AppResult<Option<Option<T>>> {
    use async_graphql::MaybeUndefined::*;
    Ok(match v {
        Undefined => None,
        Null => Some(None),
        Value(s) => Some(Some(parse(&s)?)),
    })
}

impl TryFrom<UpdateOrganizationInput> for UpdateOrganization {
    type Error = AppError;

    fn try_from(i: UpdateOrganizationInput) -> AppResult<Self> {
        let location = match (i.latitude, i.longitude) {
            (None, None) => None,
            (Some(lat), Some(lng)) => Some(GeoPoint::parse(lat, lng, "input.")?),
            (None, Some(_)) => {
                return Err(AppError::bad_input(
                    "input.latitude",
                    "give it with longitude",
                ));
            }
            (Some(_), None) => {
                return Err(AppError::bad_input(
                    "input.longitude",
                    "give it with latitude",
                ));
            }
        };
        Ok(Self {
            organization_id: org_id(&i.organization_id)?,
            name: i
                .name
                .map(|n| Text::parse(&n, "input.name", 200))
                .transpose()?,
            address: clearable(i.address, |s| Text::parse(s, "input.address", 300))?,
            city: i
                .city
                .map(|c| Text::parse(&c, "input.city", 100))
                .transpose()?,
            state: clearable(i.state, |s| Text::parse(s, "input.state", 100))?,
            postal_code: clearable(i.postal_code, |s| Text::parse(s, "input.postalCode", 20))?,
            country: i
                .country
                .map(|c| CountryCode::parse(&c, "input.country"))
                .transpose()?,
            location,
            phone: clearable(i.phone, |s| Phone::parse(s, "input.phone"))?,
            email: clearable(i.email, |s| Email::parse(s, "input.email"))?,
        })
    }
}

impl Command for UpdateOrganization {
    type Input = UpdateOrganizationInput;
    type Output = organization::Model;
    const ACTION: &'static str = "organization.update";
    const ENTITY: &'static str = "organization";

    /// Its admins, and super admins.
    fn authority(input: &Self::Input) -> Rule {
        Rule::for_named(&input.organization_id, |org| Rule::SuperAdminOrOrgAdmin {
            org: Some(org),
        })
    }

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.organization_id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::update(exec.txn, self).await
    }
}

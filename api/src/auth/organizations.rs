//! Who sees which organizations, their members and a user's memberships.

use super::{Rule, Scope, Viewer, authorize, policy::ANY_ROLE};
use crate::error::{AppError, AppResult};
use entity::{OrgStatus, organization};
use sea_orm::{ColumnTrait, Condition};
use uuid::Uuid;

/// Which organizations' profiles a caller lists or looks up: super admins all; everyone
/// else approved ones and those they belong to (a pending registration stays private to its
/// applicants; a suspended or rejected one stays visible to its members, who can act there
/// no more). API clients need `organizations:read`; without it they still see the
/// organizations named by the rows their other scopes read.
pub fn visible(viewer: &Viewer) -> AppResult<Condition> {
    authorize(viewer, Rule::Authenticated)?;
    Ok(match viewer {
        _ if viewer.is_super_admin() => Condition::all(),
        Viewer::User(u) => Condition::any()
            .add(organization::Column::Status.eq(OrgStatus::Approved))
            .add(organization::Column::Id.is_in(u.grants.iter().map(|g| g.organization_id)))
            .add(organization::Column::Id.is_in(u.dormant.iter().copied())),
        Viewer::Client(c) if c.scopes.contains(&Scope::OrganizationsRead) => Condition::any()
            .add(organization::Column::Status.eq(OrgStatus::Approved))
            .add(organization::Column::Id.eq(c.organization_id)),
        _ => return Err(AppError::Forbidden("the token lacks the scope for this")),
    })
}

/// An organization's members: its own members (any role, while it is pending or approved),
/// its API clients with `organizations:read`, and super admins.
pub fn sees_members(viewer: &Viewer, org: Uuid) -> AppResult<()> {
    let rule = Rule::ReadOrg {
        org,
        roles: ANY_ROLE,
        scope: Some(Scope::OrganizationsRead),
    };
    authorize(viewer, rule).map(drop)
}

/// A member's contact details (email, phone) where they appear on the organization's work
/// (`requestedBy`, `uploadedBy`, a review's doctor): the member themself and whoever sees
/// the organization's member list ([`sees_members`]). Other organizations, patients and
/// other API clients see who it was, not how to reach them.
pub fn sees_contacts(viewer: &Viewer, member: Uuid, org: Uuid) -> bool {
    viewer.user_id() == Some(member) || sees_members(viewer, org).is_ok()
}

/// A user's memberships: the user themself and super admins.
pub fn sees_memberships(viewer: &Viewer, user: Uuid) -> AppResult<()> {
    if viewer.user_id() == Some(user) {
        return Ok(());
    }
    authorize(viewer, Rule::SuperAdmin).map(drop)
}

/// An organization's API clients (never their tokens): its admins and super admins.
pub fn sees_api_clients(viewer: &Viewer, org: Uuid) -> AppResult<()> {
    authorize(viewer, Rule::SuperAdminOrOrgAdmin { org: Some(org) }).map(drop)
}

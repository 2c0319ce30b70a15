//! Who sees which organizations, their members and a user's memberships.

use super::{Rule, Viewer, authorize, policy::ANY_ROLE};
use crate::error::AppResult;
use entity::{OrgStatus, organization};
use sea_orm::{ColumnTrait, Condition};
use uuid::Uuid;

/// Which organizations' profiles a caller sees: super admins all; everyone else approved
/// ones and those they belong to (a pending registration stays private to its applicants).
pub fn visible(viewer: &Viewer) -> Condition {
    match viewer {
        _ if viewer.is_super_admin() => Condition::all(),
        Viewer::User(u) => Condition::any()
            .add(organization::Column::Status.eq(OrgStatus::Approved))
            .add(organization::Column::Id.is_in(u.grants.iter().map(|g| g.organization_id))),
        Viewer::Client(c) => Condition::any()
            .add(organization::Column::Status.eq(OrgStatus::Approved))
            .add(organization::Column::Id.eq(c.organization_id)),
        Viewer::Anonymous { .. } => Condition::all().add(organization::Column::Id.is_null()),
    }
}

/// An organization's members: its own members (any role, whatever its status) and super
/// admins.
pub fn sees_members(viewer: &Viewer, org: Uuid) -> AppResult<()> {
    let rule = Rule::ReadOrg {
        org,
        roles: ANY_ROLE,
        scope: None,
    };
    authorize(viewer, rule).map(drop)
}

/// A user's memberships: the user themself and super admins.
pub fn sees_memberships(viewer: &Viewer, user: Uuid) -> AppResult<()> {
    if viewer.user_id() == Some(user) {
        return Ok(());
    }
    authorize(viewer, Rule::SuperAdmin).map(drop)
}

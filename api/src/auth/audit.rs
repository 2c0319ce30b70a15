//! Who reads which audit rows.

use super::{Rule, Viewer, authorize, policy::ADMIN};
use crate::error::{AppError, AppResult};
use entity::{OrgRole, audit_log};
use sea_orm::{ColumnTrait, Condition};
use uuid::Uuid;

/// The audit rows a caller reads: one organization's rows for its admins (and super
/// admins); without an organization, everything for super admins and the rows of the
/// organizations they administer for other users. Anyone else is refused.
pub fn visible(viewer: &Viewer, org: Option<Uuid>) -> AppResult<Condition> {
    if let Some(org) = org {
        let rule = Rule::ReadOrg {
            org,
            roles: ADMIN,
            scope: None,
        };
        authorize(viewer, rule)?;
        return Ok(Condition::all().add(audit_log::Column::OrganizationId.eq(org)));
    }
    if viewer.is_super_admin() {
        return Ok(Condition::all());
    }
    authorize(viewer, Rule::SignedIn)?;
    let mine: Vec<Uuid> = match viewer {
        Viewer::User(u) => u
            .grants
            .iter()
            .filter(|g| g.role == OrgRole::Admin)
            .map(|g| g.organization_id)
            .collect(),
        _ => Vec::new(),
    };
    if mine.is_empty() {
        return Err(AppError::Forbidden(
            "only super admins and organization admins read the audit trail",
        ));
    }
    Ok(Condition::all().add(audit_log::Column::OrganizationId.is_in(mine)))
}

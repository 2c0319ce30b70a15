//! Who reads which audit rows, and which of their values.

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

/// The kinds of entity whose audit values are health data: reports, consultations and what
/// hangs off them (prescriptions, payments, risk flags).
const HEALTH_ENTITIES: &[&str] = &[
    "medical_report",
    "consultation",
    "prescription",
    "payment",
    "risk_flag",
];

/// Whether a caller reads a row's old and new values. On health data only the admins of the
/// row's organization do (they see those records themselves); a super admin, barred from
/// health data, sees the action and the entity but not a risk level or a study type.
pub fn sees_values(viewer: &Viewer, row: &audit_log::Model) -> bool {
    let health = (row.entity_type.as_deref()).is_some_and(|t| HEALTH_ENTITIES.contains(&t));
    !health
        || (row.organization_id)
            .and_then(|org| viewer.grant(org))
            .is_some_and(|g| g.role == OrgRole::Admin)
}

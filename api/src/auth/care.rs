//! Who may act on, and read, a consultation: its patient, its doctor, and (for an
//! organization's consultations) that organization's admins. Kept here with the rest of the
//! permission layer; the consultation services call [`require`] inside their transactions,
//! once they hold the row.

use super::viewer::Viewer;
use crate::error::{AppError, AppResult};
use entity::{OrgRole, consultation};
use sea_orm::{ColumnTrait, Condition};
use uuid::Uuid;

/// How the caller is related to a consultation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// The patient who booked it.
    Patient,
    /// The doctor who holds it.
    Doctor,
    /// An admin of the organization the doctor practises in.
    OrgAdmin,
}

impl Party {
    /// The role the audit row records.
    pub fn role(self) -> &'static str {
        match self {
            Self::Patient => "PATIENT",
            Self::Doctor => "DOCTOR",
            Self::OrgAdmin => "ADMIN",
        }
    }
}

/// The caller's relation to a consultation, if any. A super admin has none: consultations
/// are health data and platform administration does not need them.
pub fn party(viewer: &Viewer, c: &consultation::Model) -> Option<Party> {
    let me = viewer.user_id()?;
    if me == c.patient_id {
        return Some(Party::Patient);
    }
    if me == c.doctor_user_id {
        return Some(Party::Doctor);
    }
    c.organization_id
        .and_then(|org| viewer.grant(org))
        .filter(|g| g.role == OrgRole::Admin)
        .map(|_| Party::OrgAdmin)
}

/// The caller must be one of `allowed`. Someone with no relation at all is told the
/// consultation does not exist (its existence is private); a party without the right to this
/// action is refused.
pub fn require(viewer: &Viewer, c: &consultation::Model, allowed: &[Party]) -> AppResult<Party> {
    match party(viewer, c) {
        None => Err(AppError::NotFound("consultation")),
        Some(p) if allowed.contains(&p) => Ok(p),
        Some(_) => Err(AppError::Forbidden(
            "only another party to this consultation may do this",
        )),
    }
}

/// The consultations a caller may list: their own as a patient, those they hold as a doctor,
/// and their organizations' if they are an admin there. `None` when they can see none.
pub fn visible(viewer: &Viewer) -> Option<Condition> {
    let Viewer::User(u) = viewer else {
        return None;
    };
    let admin_of: Vec<Uuid> = u
        .grants
        .iter()
        .filter(|g| g.role == OrgRole::Admin)
        .map(|g| g.organization_id)
        .collect();
    let mut any = Condition::any()
        .add(consultation::Column::PatientId.eq(u.id))
        .add(consultation::Column::DoctorUserId.eq(u.id));
    if !admin_of.is_empty() {
        any = any.add(consultation::Column::OrganizationId.is_in(admin_of));
    }
    Some(any)
}

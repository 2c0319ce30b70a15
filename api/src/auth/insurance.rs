//! Who may see and act on insurance data. Plans are a catalogue: super admins write them and
//! every signed-in user reads them (a doctor's accepted plans too, wherever the doctor is
//! seen). A coverage is the patient's own: only they add, list and terminate it, and only
//! they read its member number; anyone else is told it does not exist. Bookings name a
//! coverage only of the patient booked for, checked in `consultations::service::book`.

use super::{Rule, viewer::Viewer};
use crate::error::{AppError, AppResult};
use entity::coverage;
use sea_orm::{ColumnTrait, Condition};

/// Who writes the plan catalogue (`createInsurancePlan`, `updateInsurancePlan`).
pub const PLAN_ADMIN: Rule = Rule::SuperAdmin;

/// Who reads the plan catalogue (`insurancePlans`): any signed-in user.
pub const PLAN_READER: Rule = Rule::SignedIn;

/// The coverages a caller may list: their own. API clients and callers without an account
/// are refused (a super admin sees only their own, like anyone).
pub fn visible_coverages(viewer: &Viewer) -> AppResult<Condition> {
    let me = viewer
        .user_id()
        .ok_or(AppError::Forbidden("only patients see their coverages"))?;
    Ok(Condition::all().add(coverage::Column::PatientId.eq(me)))
}

/// A coverage a caller acts on (`terminateCoverage`) or reads in full (the member number):
/// its patient only; for anyone else it does not exist.
pub fn require_holder(viewer: &Viewer, c: &coverage::Model) -> AppResult<()> {
    if viewer.user_id() == Some(c.patient_id) {
        Ok(())
    } else {
        Err(AppError::NotFound("coverage"))
    }
}

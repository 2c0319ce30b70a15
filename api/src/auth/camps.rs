//! Who sees camps, their registrations and drives, and who acts on them.
//!
//! - Camps and their slots: every signed-in user (donors look for camps near them).
//! - A camp's registrations (who gives where and when: personal data near health data): the
//!   organizing NGO's and the partner bank's approved members, and super admins.
//! - Running a camp (update, start, complete, cancel): the NGO's admins, doctors and staff;
//!   recording attendance: those of the NGO or of the partner bank.
//! - Registering: the donor themself, or the NGO's staff for a donor the NGO manages.
//! - Drives: the members of the hospital and of the NGO; each side acts for itself.

use super::{Actor, Rule, Viewer, authorize, policy::ADMIN_DOCTOR_STAFF};
use crate::error::{AppError, AppResult};
use entity::{OrgKind, OrgStatus, camp, donor, drive};
use sea_orm::{ColumnTrait, Condition};
use uuid::Uuid;

/// Acting for an organization of a kind, as its admins, doctors or staff.
pub fn act_for(org: Uuid, kind: OrgKind) -> Rule {
    Rule::ActFor {
        org,
        roles: ADMIN_DOCTOR_STAFF,
        scope: None,
        kind: Some(kind),
    }
}

/// Whether the caller is an approved member of `org`, in any role.
fn member_of(viewer: &Viewer, org: Uuid) -> bool {
    matches!(viewer, Viewer::User(_))
        && viewer
            .grant(org)
            .is_some_and(|g| g.org_status == OrgStatus::Approved)
}

/// Whether the caller sees a camp's registrations.
pub fn sees_registrations(viewer: &Viewer, c: &camp::Model) -> bool {
    viewer.is_super_admin()
        || member_of(viewer, c.organization_id)
        || member_of(viewer, c.blood_bank_id)
}

/// Who records attendance at a camp: the NGO's or the partner bank's admins, doctors and
/// staff (the NGO first when the caller is in both).
pub fn attendance_recorder(viewer: &Viewer, c: &camp::Model) -> AppResult<Actor> {
    authorize(viewer, act_for(c.organization_id, OrgKind::Ngo))
        .or_else(|_| authorize(viewer, act_for(c.blood_bank_id, OrgKind::BloodBank)))
        .map_err(|_| AppError::Forbidden("only the camp's NGO or partner bank records attendance"))
}

/// Who registers a donor for a camp: the donor themself (`None`), or the camp's NGO acting
/// for a donor it manages (the NGO's actor). Anyone else hears `NOT_FOUND` for the donor, as
/// for an unknown id.
pub fn registrant(viewer: &Viewer, c: &camp::Model, d: &donor::Model) -> AppResult<Option<Actor>> {
    if d.user_id.is_some() && d.user_id == viewer.user_id() {
        return Ok(None);
    }
    if d.ngo_id == Some(c.organization_id)
        && let Ok(actor) = authorize(viewer, act_for(c.organization_id, OrgKind::Ngo))
    {
        return Ok(Some(actor));
    }
    Err(AppError::NotFound("donor"))
}

/// Whether the caller may withdraw a registration: the donor themself, or the camp's NGO.
pub fn may_withdraw(
    viewer: &Viewer,
    c: &camp::Model,
    d: &donor::Model,
) -> AppResult<Option<Actor>> {
    registrant(viewer, c, d).map_err(|_| AppError::NotFound("camp registration"))
}

/// Drives the caller sees: those of the hospitals and NGOs they are an approved member of;
/// super admins all.
pub fn visible_drives(viewer: &Viewer) -> Condition {
    if viewer.is_super_admin() {
        return Condition::all();
    }
    let hospitals = viewer.approved_orgs(OrgKind::Hospital);
    let ngos = viewer.approved_orgs(OrgKind::Ngo);
    if !matches!(viewer, Viewer::User(_)) || (hospitals.is_empty() && ngos.is_empty()) {
        return Condition::all().add(drive::Column::Id.is_null());
    }
    Condition::any()
        .add(drive::Column::HospitalId.is_in(hospitals))
        .add(drive::Column::NgoId.is_in(ngos))
}

/// A side of a drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Hospital,
    Ngo,
}

impl Side {
    /// The organization on this side of a drive.
    pub fn org(self, d: &drive::Model) -> Uuid {
        match self {
            Self::Hospital => d.hospital_id,
            Self::Ngo => d.ngo_id,
        }
    }

    /// This side's organization among a hospital and an NGO.
    pub fn org_of(self, hospital: Uuid, ngo: Uuid) -> Uuid {
        match self {
            Self::Hospital => hospital,
            Self::Ngo => ngo,
        }
    }

    /// The other side.
    pub fn other(self) -> Self {
        match self {
            Self::Hospital => Self::Ngo,
            Self::Ngo => Self::Hospital,
        }
    }

    fn kind(self) -> OrgKind {
        match self {
            Self::Hospital => OrgKind::Hospital,
            Self::Ngo => OrgKind::Ngo,
        }
    }
}

/// The side the caller acts for on a drive between `hospital` and `ngo` (the hospital's,
/// when they belong to both), with the actor the audit row records.
pub fn drive_side(viewer: &Viewer, hospital: Uuid, ngo: Uuid) -> AppResult<(Side, Actor)> {
    for (side, org) in [(Side::Hospital, hospital), (Side::Ngo, ngo)] {
        if let Ok(actor) = authorize(viewer, act_for(org, side.kind())) {
            return Ok((side, actor));
        }
    }
    Err(AppError::Forbidden(
        "only the drive's hospital or NGO acts on it",
    ))
}

/// Whether the caller sees a drive (its hospital's or NGO's members, super admins).
pub fn sees_drive(viewer: &Viewer, d: &drive::Model) -> bool {
    viewer.is_super_admin() || member_of(viewer, d.hospital_id) || member_of(viewer, d.ngo_id)
}

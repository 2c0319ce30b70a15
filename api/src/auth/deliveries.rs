//! Who dispatches, tracks, receives and returns deliveries.
//!
//! - The supplying bank dispatches and reports positions: its admins, doctors and staff, or
//!   its API client with `deliveries:write` (a courier's device or fleet tracker).
//! - The requesting hospital receives and returns units: its admins, doctors and staff, or
//!   its API client with `blood-requests:write`.
//! - Both sides (any member; API clients with `blood-requests:read`, `:write` or
//!   `deliveries:write`) and super admins see a delivery and track it live; nobody else
//!   learns that it exists.

use super::{Rule, Scope, Viewer, authorize, policy::ADMIN_DOCTOR_STAFF, policy::ANY_ROLE};
use crate::error::{AppError, AppResult};
use entity::{OrgKind, delivery};
use sea_orm::{ColumnTrait, Condition};
use uuid::Uuid;

/// Dispatching a delivery and reporting its positions, for the supplying bank.
pub fn for_bank(bank: Uuid) -> Rule {
    Rule::ActFor {
        org: bank,
        roles: ADMIN_DOCTOR_STAFF,
        scope: Some(Scope::DeliveriesWrite),
        kind: Some(OrgKind::BloodBank),
    }
}

/// Confirming receipt and returning units, for the requesting hospital.
pub fn for_hospital(hospital: Uuid) -> Rule {
    Rule::ActFor {
        org: hospital,
        roles: ADMIN_DOCTOR_STAFF,
        scope: Some(Scope::BloodRequestsWrite),
        kind: Some(OrgKind::Hospital),
    }
}

/// The rule of a mutation on a delivery or request located by id: `rule` for the
/// organization found, or credentials only when nothing was found (the caller then hears
/// `NOT_FOUND`, not who may act on it).
pub fn on_located(org: Option<Uuid>, rule: fn(Uuid) -> Rule) -> Rule {
    org.map_or(Rule::Authenticated, rule)
}

fn reads(viewer: &Viewer, org: Uuid) -> bool {
    [
        Scope::BloodRequestsRead,
        Scope::BloodRequestsWrite,
        Scope::DeliveriesWrite,
    ]
    .into_iter()
    .any(|scope| {
        authorize(
            viewer,
            Rule::ReadOrg {
                org,
                roles: ANY_ROLE,
                scope: Some(scope),
            },
        )
        .is_ok()
    })
}

/// Whether a caller sees (and may track) the delivery of a request between `bank` and
/// `hospital`.
pub fn sees(viewer: &Viewer, hospital: Uuid, bank: Option<Uuid>) -> bool {
    viewer.is_super_admin() || reads(viewer, hospital) || bank.is_some_and(|b| reads(viewer, b))
}

/// Which deliveries a caller lists: super admins all; a hospital's and a bank's members
/// (and API clients with a delivery or request scope) their own organization's.
pub fn visible(viewer: &Viewer) -> AppResult<Condition> {
    if viewer.is_super_admin() {
        return Ok(Condition::all());
    }
    let client_reads = !matches!(viewer, Viewer::Client(_))
        || viewer.client_has(Scope::BloodRequestsRead)
        || viewer.client_has(Scope::BloodRequestsWrite)
        || viewer.client_has(Scope::DeliveriesWrite);
    let mut any = Condition::any();
    if client_reads {
        let hospitals = viewer.approved_orgs(OrgKind::Hospital);
        let banks = viewer.approved_orgs(OrgKind::BloodBank);
        if !hospitals.is_empty() {
            any = any.add(delivery::Column::HospitalId.is_in(hospitals));
        }
        if !banks.is_empty() {
            any = any.add(delivery::Column::BloodBankId.is_in(banks));
        }
    }
    if any.is_empty() {
        return Err(AppError::Forbidden(
            "only the hospitals and blood banks concerned see deliveries",
        ));
    }
    Ok(any)
}

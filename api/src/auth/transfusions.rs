//! Who records transfusion outcomes and who reads a unit's trace.
//!
//! - The receiving hospital records a transfusion of a unit issued to one of its requests:
//!   its admins, doctors and staff, or its API client with `blood-requests:write`.
//! - The patient reference is the hospital's own: its members and super admins read it,
//!   never the bank nor an API client.
//! - The supplying bank reads a unit's trace (donor → unit → request → delivery →
//!   transfusion): any member, its API client with `stock:read`, super admins. A caller
//!   who may not hears `NOT_FOUND`.

use super::{Rule, Scope, Viewer, authorize, policy::ADMIN_DOCTOR_STAFF, policy::ANY_ROLE};
use entity::{OrgKind, transfusion};
use uuid::Uuid;

/// Recording a transfusion, for the hospital the unit was issued to.
pub fn record(hospital: Uuid) -> Rule {
    Rule::ActFor {
        org: hospital,
        roles: ADMIN_DOCTOR_STAFF,
        scope: Some(Scope::BloodRequestsWrite),
        kind: Some(OrgKind::Hospital),
    }
}

/// Reading the trace of a unit of `bank`.
pub fn reads_trace(viewer: &Viewer, bank: Uuid) -> bool {
    authorize(
        viewer,
        Rule::ReadOrg {
            org: bank,
            roles: ANY_ROLE,
            scope: Some(Scope::StockRead),
        },
    )
    .is_ok()
}

/// Whether a caller reads a transfusion's patient reference (the hospital's members and
/// super admins). Every read that passes is audited by the caller.
pub fn sees_patient(viewer: &Viewer, t: &transfusion::Model) -> bool {
    authorize(
        viewer,
        Rule::ReadOrg {
            org: t.hospital_id,
            roles: ANY_ROLE,
            scope: None,
        },
    )
    .is_ok()
}

//! Who calls donors out, who sees a call-out, who answers it.
//!
//! - Starting a call-out: the admins, doctors and staff of an approved blood bank or NGO
//!   (the kind is checked by the use case once the organization is read). The escalation
//!   sweep starts one for the requesting hospital.
//! - A call-out, its counts and the donors who answered `COMING` (they consented by
//!   answering): the admins, doctors and staff of its organization, and super admins.
//!   Donors who answered `CANNOT` or nothing are never named.
//! - Answering, and opting in or out: the donor themself only.

use super::{Rule, Viewer, policy::ADMIN_DOCTOR_STAFF};
use entity::{OrgStatus, callout, donor};
use uuid::Uuid;

/// Acting for the organization that calls donors out.
pub fn act_for(org: Uuid) -> Rule {
    Rule::ActFor {
        org,
        roles: ADMIN_DOCTOR_STAFF,
        scope: None,
        kind: None,
    }
}

/// Whether the caller sees a call-out (with its counts and the donors coming).
pub fn sees(viewer: &Viewer, c: &callout::Model) -> bool {
    viewer.is_super_admin()
        || viewer.grant(c.organization_id).is_some_and(|g| {
            g.org_status == OrgStatus::Approved && ADMIN_DOCTOR_STAFF.contains(&g.role)
        })
}

/// Whether the caller is this donor (their own account).
pub fn is_donor(viewer: &Viewer, d: &donor::Model) -> bool {
    d.user_id.is_some() && d.user_id == viewer.user_id()
}

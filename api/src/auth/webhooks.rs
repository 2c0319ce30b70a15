//! Who manages an organization's webhooks: its admins only (an endpoint receives the
//! organization's events, and its secret signs them). Super admins may read the endpoints
//! and the delivery log, never a secret: a secret is returned once, to the admin who created
//! or rotated it.

use super::{Rule, policy::ADMIN};
use uuid::Uuid;

/// Creating, rotating, disabling, redelivering: the organization's admins.
pub fn manage(org: Uuid) -> Rule {
    Rule::ActFor {
        org,
        roles: ADMIN,
        scope: None,
        kind: None,
    }
}

/// Reading endpoints and deliveries: the organization's admins, and super admins.
pub fn read(org: Uuid) -> Rule {
    Rule::SuperAdminOrOrgAdmin { org: Some(org) }
}

//! Who reads network analytics: super admins the whole network; an organization's active
//! members (any role) that organization's figures.

use super::{Rule, policy::ANY_ROLE};
use uuid::Uuid;

/// The rule of `networkStats` for the organization asked about (`None`: the network).
pub fn stats_rule(org: Option<Uuid>) -> Rule {
    match org {
        None => Rule::SuperAdmin,
        Some(org) => Rule::ReadOrg {
            org,
            roles: ANY_ROLE,
            scope: None,
        },
    }
}

//! Who sees which alerts, and who acknowledges or resolves them. Lists, the acknowledgement
//! state of a page, subscriptions and the alert mutations all ask these functions.
//!
//! - A user sees the alerts addressed to the organizations they are an approved member of,
//!   in any role (staff screens exist for this); an API client those of its approved
//!   organization, with `alerts:read`.
//! - A super admin sees every alert, or one organization's when narrowing to it.
//! - An organization acknowledges an alert addressed to it or about it (for itself only);
//!   only the organization an alert is about resolves it (for everyone).

use super::{Rule, Scope, Viewer, authorize, policy::ANY_ROLE};
use crate::{
    error::{AppError, AppResult},
    events::{AlertEvent, session::StreamClass},
};
use entity::{OrgStatus, alert};
use uuid::Uuid;

/// The organizations whose alerts a caller sees: its approved memberships (every role), or
/// an API client's organization.
pub fn alert_orgs(viewer: &Viewer) -> Vec<Uuid> {
    match viewer {
        Viewer::User(u) => u
            .grants
            .iter()
            .filter(|g| g.org_status == OrgStatus::Approved)
            .map(|g| g.organization_id)
            .collect(),
        Viewer::Client(c)
            if c.org_status == OrgStatus::Approved && c.scopes.contains(&Scope::AlertsRead) =>
        {
            vec![c.organization_id]
        }
        _ => Vec::new(),
    }
}

/// What a caller reads of the alerts.
#[derive(Debug, Clone)]
pub struct AlertReader {
    /// Every alert (a super admin who did not narrow to one organization).
    pub all: bool,
    /// The organizations whose alerts (unless `all`) and acknowledgements the caller sees.
    pub orgs: Vec<Uuid>,
}

impl AlertReader {
    /// Whether the caller sees a newly raised alert.
    pub fn sees(&self, a: &AlertEvent) -> bool {
        self.all || (!a.super_admins && a.recipients.iter().any(|r| self.orgs.contains(r)))
    }

    /// The class of an alert stream read this way: [`Self::sees`] reads `all` and the set of
    /// `orgs` and nothing else of the viewer, so two readers with equal classes see the
    /// same alerts.
    pub fn class(&self) -> StreamClass {
        let mut orgs = if self.all {
            Vec::new()
        } else {
            self.orgs.clone()
        };
        orgs.sort_unstable();
        orgs.dedup();
        StreamClass::Orgs {
            all: self.all,
            orgs,
        }
    }
}

/// The alerts a caller reads, narrowed to one organization (`only`) if asked: refused for a
/// caller with no organization to read for, or naming one they do not belong to.
pub fn reader(viewer: &Viewer, only: Option<Uuid>) -> AppResult<AlertReader> {
    authorize(viewer, Rule::Authenticated)?;
    let sa = viewer.is_super_admin();
    let mut orgs = alert_orgs(viewer);
    if let Some(o) = only {
        if !sa && !orgs.contains(&o) {
            return Err(AppError::Forbidden(
                "you are not a member of that organization",
            ));
        }
        orgs = vec![o];
    }
    if !sa && orgs.is_empty() {
        return Err(AppError::Forbidden(
            "alerts are for organization members and super admins",
        ));
    }
    Ok(AlertReader {
        all: sa && only.is_none(),
        orgs,
    })
}

/// Acknowledging or resolving an alert for an organization: its members in any role, or its
/// API client with `alerts:write` (reading is not acting); without an organization
/// (platform alerts), super admins.
pub fn act_rule(org: Option<Uuid>) -> Rule {
    match org {
        Some(org) => Rule::ActFor {
            org,
            roles: ANY_ROLE,
            scope: Some(Scope::AlertsWrite),
            kind: None,
        },
        None => Rule::SuperAdmin,
    }
}

/// Whether `org` may act on an alert: it must be addressed to it or be about it (else
/// `NOT_FOUND`). Resolving hides the alert from every recipient, so only the organization
/// it is about may (a bank that cannot help acknowledges it for itself instead).
pub fn may_act(
    a: Option<&alert::Model>,
    org: Uuid,
    addressed: bool,
    resolve: bool,
) -> AppResult<()> {
    let about = a.is_some_and(|a| a.organization_id == Some(org));
    if !(addressed || about) {
        return Err(AppError::NotFound("alert"));
    }
    if resolve && !about {
        return Err(AppError::Forbidden(
            "only the organization an alert is about can resolve it; acknowledge it instead",
        ));
    }
    Ok(())
}

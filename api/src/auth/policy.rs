//! The one place where permissions are decided.
//!
//! Each resolver declares a [`Rule`]; [`authorize`] turns the caller and the rule into an
//! [`Actor`] (who acts, in which role, for which organization: what the audit row records)
//! or into `UNAUTHENTICATED` / `FORBIDDEN`.

use super::{scope::Scope, viewer::Viewer};
use crate::error::{AppError, AppResult};
use entity::{OrgKind, OrgRole, OrgStatus, PlatformRole};
use uuid::Uuid;

/// Every organization role.
pub const ANY_ROLE: &[OrgRole] = &[
    OrgRole::Admin,
    OrgRole::Doctor,
    OrgRole::Staff,
    OrgRole::Radiologist,
];

/// Only the organization's admins.
pub const ADMIN: &[OrgRole] = &[OrgRole::Admin];

/// Operational roles: admins and staff (stock updates, per the SEBN matrix).
pub const ADMIN_STAFF: &[OrgRole] = &[OrgRole::Admin, OrgRole::Staff];

/// Roles that handle blood requests and donors: admins, doctors and staff.
pub const ADMIN_DOCTOR_STAFF: &[OrgRole] = &[OrgRole::Admin, OrgRole::Doctor, OrgRole::Staff];

/// What a resolver requires of its caller.
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    /// Anyone, signed in or not.
    Public,
    /// Any caller with valid credentials: a user or an API client.
    Authenticated,
    /// A signed-in user (API clients are refused).
    SignedIn,
    SuperAdmin,
    /// Act for an organization: an active member with one of `roles` while the organization
    /// is `APPROVED`, or (when `scope` is given) an API client of that organization holding it.
    ActFor {
        /// The organization named in the input.
        org: Uuid,
        roles: &'static [OrgRole],
        /// The scope an API client needs, if clients may do this at all.
        scope: Option<Scope>,
        /// The kind the organization must be (a blood bank for stock, a hospital for requests).
        kind: Option<OrgKind>,
    },
    /// A super admin, or an admin of this organization (active membership; the organization
    /// approved). With no organization, super admins only.
    SuperAdminOrOrgAdmin {
        org: Option<Uuid>,
    },
    /// Read an organization's operational data: super admins, or its active members with one
    /// of `roles` while it is pending or approved (a pending organization's admin sees it; a
    /// suspended or rejected one grants nothing, see [`super::viewer::UserViewer::dormant`]).
    ReadOrg {
        org: Uuid,
        roles: &'static [OrgRole],
        /// The scope an API client of the organization needs, if clients may read this.
        scope: Option<Scope>,
    },
}

impl Rule {
    /// The rule for the organization an input names, read before the input is parsed. An id
    /// that does not parse names none: the caller must still have credentials, and parsing
    /// then answers `BAD_USER_INPUT` for the id.
    pub fn for_named(id: &async_graphql::ID, rule: impl FnOnce(Uuid) -> Rule) -> Rule {
        Uuid::parse_str(id.as_str()).map_or(Rule::Authenticated, rule)
    }
}

/// Who performs an action, as the audit trail records it.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The user, if a user acts.
    pub user_id: Option<Uuid>,
    /// The API client, if a client acts.
    pub api_client_id: Option<Uuid>,
    /// `ANONYMOUS`, `USER`, `SUPER_ADMIN`, `API_CLIENT` or the organization role used.
    pub role: String,
    /// The organization acted for, if any.
    pub organization_id: Option<Uuid>,
}

impl Actor {
    /// The caller as they are, before any rule picks a role.
    pub fn of(viewer: &Viewer) -> Self {
        match viewer {
            Viewer::Anonymous { .. } => Self {
                user_id: None,
                api_client_id: None,
                role: "ANONYMOUS".into(),
                organization_id: None,
            },
            Viewer::User(u) => Self {
                user_id: Some(u.id),
                api_client_id: None,
                role: match u.platform_role {
                    PlatformRole::SuperAdmin => "SUPER_ADMIN".into(),
                    PlatformRole::User => "USER".into(),
                },
                organization_id: None,
            },
            Viewer::Client(c) => Self {
                user_id: None,
                api_client_id: Some(c.id),
                role: "API_CLIENT".into(),
                organization_id: Some(c.organization_id),
            },
        }
    }

    /// The same actor, for an organization.
    pub fn for_org(mut self, org: Uuid) -> Self {
        self.organization_id = Some(org);
        self
    }
}

/// The `UNAUTHENTICATED` error for a caller without (valid) credentials.
pub(crate) fn unauthenticated(viewer: &Viewer) -> AppError {
    match viewer {
        Viewer::Anonymous { rejected: true } => {
            AppError::Unauthenticated("invalid or expired token")
        }
        _ => AppError::Unauthenticated("sign in first"),
    }
}

/// Checks a rule for a caller.
pub fn authorize(viewer: &Viewer, rule: Rule) -> AppResult<Actor> {
    let actor = Actor::of(viewer);
    match rule {
        Rule::Public => Ok(actor),
        Rule::Authenticated => match viewer {
            Viewer::Anonymous { .. } => Err(unauthenticated(viewer)),
            _ => Ok(actor),
        },
        Rule::SignedIn => match viewer {
            Viewer::User(_) => Ok(actor),
            Viewer::Client(_) => Err(AppError::Forbidden("API clients cannot do this")),
            Viewer::Anonymous { .. } => Err(unauthenticated(viewer)),
        },
        Rule::SuperAdmin => match viewer {
            Viewer::User(_) if viewer.is_super_admin() => Ok(actor),
            Viewer::Anonymous { .. } => Err(unauthenticated(viewer)),
            _ => Err(AppError::Forbidden("super admins only")),
        },
        Rule::ActFor {
            org,
            roles,
            scope,
            kind,
        } => match viewer {
            Viewer::Anonymous { .. } => Err(unauthenticated(viewer)),
            Viewer::User(_) => {
                let grant = viewer
                    .grant(org)
                    .filter(|g| roles.contains(&g.role))
                    .ok_or(AppError::Forbidden(
                        "you have no role here that allows this",
                    ))?;
                if grant.org_status != OrgStatus::Approved {
                    return Err(AppError::Forbidden("the organization is not approved"));
                }
                if kind.is_some_and(|k| k != grant.org_kind) {
                    return Err(AppError::Forbidden(
                        "the organization is not of the kind this needs",
                    ));
                }
                let mut actor = actor.for_org(org);
                actor.role = role_name(grant.role).into();
                Ok(actor)
            }
            Viewer::Client(c) => {
                let Some(scope) = scope else {
                    return Err(AppError::Forbidden("API clients cannot do this"));
                };
                if c.organization_id != org || !c.scopes.contains(&scope) {
                    return Err(AppError::Forbidden("the token lacks the scope for this"));
                }
                if c.org_status != OrgStatus::Approved {
                    return Err(AppError::Forbidden("the organization is not approved"));
                }
                if kind.is_some_and(|k| k != c.org_kind) {
                    return Err(AppError::Forbidden(
                        "the organization is not of the kind this needs",
                    ));
                }
                Ok(actor)
            }
        },
        Rule::SuperAdminOrOrgAdmin { org } => match (viewer, org) {
            (Viewer::User(_), _) if viewer.is_super_admin() => Ok(actor),
            (Viewer::User(_), Some(org)) => authorize(
                viewer,
                Rule::ActFor {
                    org,
                    roles: ADMIN,
                    scope: None,
                    kind: None,
                },
            ),
            (Viewer::Anonymous { .. }, _) => Err(unauthenticated(viewer)),
            _ => Err(AppError::Forbidden("super admins only")),
        },
        Rule::ReadOrg { org, roles, scope } => match viewer {
            Viewer::Anonymous { .. } => Err(unauthenticated(viewer)),
            _ if viewer.is_super_admin() => Ok(actor.for_org(org)),
            Viewer::User(_) => {
                let grant = viewer
                    .grant(org)
                    .filter(|g| roles.contains(&g.role))
                    .ok_or(AppError::Forbidden(
                        "you cannot see this organization's data",
                    ))?;
                let mut actor = actor.for_org(org);
                actor.role = role_name(grant.role).into();
                Ok(actor)
            }
            Viewer::Client(c) => match scope {
                Some(s) if c.organization_id == org && c.scopes.contains(&s) => Ok(actor),
                _ => Err(AppError::Forbidden("API clients cannot do this")),
            },
        },
    }
}

/// The wire name of an organization role.
pub fn role_name(role: OrgRole) -> &'static str {
    match role {
        OrgRole::Admin => "ADMIN",
        OrgRole::Doctor => "DOCTOR",
        OrgRole::Staff => "STAFF",
        OrgRole::Radiologist => "RADIOLOGIST",
    }
}

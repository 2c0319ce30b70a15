//! Who sees and handles medical reports (health data). Part of the one permission layer:
//! resolvers call these and nothing else decides.
//!
//! - A patient sees their own reports (and their reviews).
//! - An organization's `DOCTOR`, `RADIOLOGIST` and `ADMIN` members see its reports; `STAFF`
//!   do not.
//! - An API client sees its organization's reports with `reports:read`, and with
//!   `reports:analysis:write` only those it may analyse (`PENDING` or `ANALYZING`).
//! - An API client with only `reports:analysis:write` sees images and study data, never who the
//!   patient is nor the uploader's clinical notes about them ([`sees_patient`]).
//! - Super admins have no special access: reports are health data, and DESIGN does not list
//!   them among the readers. (A super admin who is also a member or the patient sees what that
//!   grants.)

use super::{Actor, Rule, Viewer, policy::unauthenticated};
use crate::auth::scope::Scope;
use crate::error::{AppError, AppResult};
use entity::{OrgRole, ReportStatus, medical_report};
use sea_orm::{ColumnTrait, Condition};
use uuid::Uuid;

/// Members who see an organization's reports and its review queue.
pub const REPORT_READERS: &[OrgRole] = &[OrgRole::Admin, OrgRole::Doctor, OrgRole::Radiologist];

/// Members who upload reports.
pub const REPORT_UPLOADERS: &[OrgRole] = &[OrgRole::Radiologist, OrgRole::Doctor];

/// Members who review reports.
pub const REPORT_REVIEWERS: &[OrgRole] = &[OrgRole::Doctor];

/// Members who archive reports.
pub const REPORT_ARCHIVERS: &[OrgRole] = &[OrgRole::Admin, OrgRole::Doctor, OrgRole::Radiologist];

/// The scope of a partner's AI service.
pub const ANALYSIS_SCOPE: Scope = Scope::ReportsAnalysisWrite;

/// The scope of a partner reading its organization's reports.
pub const READ_SCOPE: Scope = Scope::ReportsRead;

/// The statuses an analysis-only client may see.
const ANALYSABLE: [ReportStatus; 2] = [ReportStatus::Pending, ReportStatus::Analyzing];

/// The organizations whose reports a user sees as a member.
fn reader_orgs(viewer: &Viewer) -> Vec<Uuid> {
    match viewer {
        Viewer::User(u) => u
            .grants
            .iter()
            .filter(|g| REPORT_READERS.contains(&g.role))
            .map(|g| g.organization_id)
            .collect(),
        _ => Vec::new(),
    }
}

/// The reports a caller may see, as a condition on `medical_reports`.
pub fn visible_reports(viewer: &Viewer) -> AppResult<Condition> {
    match viewer {
        Viewer::Anonymous { .. } => Err(unauthenticated(viewer)),
        Viewer::User(u) => {
            let mut any = Condition::any().add(medical_report::Column::PatientId.eq(u.id));
            let orgs = reader_orgs(viewer);
            if !orgs.is_empty() {
                any = any.add(medical_report::Column::OrganizationId.is_in(orgs));
            }
            Ok(any)
        }
        Viewer::Client(c) => {
            let org = medical_report::Column::OrganizationId.eq(c.organization_id);
            if viewer.client_has(READ_SCOPE) {
                Ok(Condition::all().add(org))
            } else if viewer.client_has(ANALYSIS_SCOPE) {
                Ok(Condition::all()
                    .add(org)
                    .add(medical_report::Column::Status.is_in(ANALYSABLE)))
            } else {
                Err(AppError::Forbidden("the token lacks the scope for reports"))
            }
        }
    }
}

/// Whether a caller may see one report (the row-level form of [`visible_reports`]).
pub fn may_read_report(viewer: &Viewer, r: &medical_report::Model) -> bool {
    match viewer {
        Viewer::Anonymous { .. } => false,
        Viewer::User(u) => u.id == r.patient_id || reader_orgs(viewer).contains(&r.organization_id),
        Viewer::Client(c) => {
            c.organization_id == r.organization_id
                && (viewer.client_has(READ_SCOPE)
                    || (viewer.client_has(ANALYSIS_SCOPE) && ANALYSABLE.contains(&r.status)))
        }
    }
}

/// The patient of a report the caller sees (name, contacts, the identifying attributes of
/// its DICOM metadata) and the clinical notes about them: everyone who sees the report but an
/// API client that only analyses images.
pub fn sees_patient(viewer: &Viewer) -> bool {
    !matches!(viewer, Viewer::Client(_)) || viewer.client_has(READ_SCOPE)
}

/// Reading an organization's report queue: its `DOCTOR`, `RADIOLOGIST` and `ADMIN` members,
/// or its API client with `reports:read`. Super admins are refused like anyone else.
pub fn read_org_reports(viewer: &Viewer, org: Uuid) -> AppResult<()> {
    match viewer {
        Viewer::Anonymous { .. } => Err(unauthenticated(viewer)),
        Viewer::User(_) if reader_orgs(viewer).contains(&org) => Ok(()),
        Viewer::Client(c) if c.organization_id == org && viewer.client_has(READ_SCOPE) => Ok(()),
        _ => Err(AppError::Forbidden(
            "you cannot see this organization's reports",
        )),
    }
}

/// Reading AI model quality (aggregates, no health data): an organization's report readers
/// for it, or a super admin for any organization or (with `None`) the whole platform.
pub fn read_model_performance(viewer: &Viewer, org: Option<Uuid>) -> AppResult<()> {
    if matches!(viewer, Viewer::Anonymous { .. }) {
        return Err(unauthenticated(viewer));
    }
    if viewer.is_super_admin() {
        return Ok(());
    }
    match org {
        Some(org) => read_org_reports(viewer, org),
        None => Err(AppError::bad_input(
            "organizationId",
            "is required unless you are a super admin",
        )),
    }
}

fn act(org: Uuid, roles: &'static [OrgRole], scope: Option<Scope>) -> Rule {
    Rule::ActFor {
        org,
        roles,
        scope,
        kind: None,
    }
}

/// Uploading a report for an organization: its radiologists and doctors.
pub fn upload_rule(org: Uuid) -> Rule {
    act(org, REPORT_UPLOADERS, None)
}

/// Submitting or claiming analyses for an organization: only its API clients holding
/// `reports:analysis:write` (users hold no role that allows it, so they are refused).
pub fn analysis_rule(org: Uuid) -> Rule {
    act(org, &[], Some(ANALYSIS_SCOPE))
}

/// Reviewing a report of an organization: its doctors.
pub fn review_rule(org: Uuid) -> Rule {
    act(org, REPORT_REVIEWERS, None)
}

/// Archiving a report of an organization.
pub fn archive_rule(org: Uuid) -> Rule {
    act(org, REPORT_ARCHIVERS, None)
}

/// The rule of a mutation on one report: `rule` for the report's organization, or, for a
/// report that does not exist (`org` is `None`), credentials only, so the caller then hears
/// `NOT_FOUND` and not who may act on a report.
pub fn on_report(org: Option<Uuid>, rule: fn(Uuid) -> Rule) -> Rule {
    org.map_or(Rule::Authenticated, rule)
}

/// The member who uploads or reviews a report (the rules above admit only users for both,
/// so an API client is refused with `why`).
pub fn acting_member(actor: &Actor, why: &'static str) -> AppResult<Uuid> {
    actor.user_id.ok_or(AppError::Forbidden(why))
}

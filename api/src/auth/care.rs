//! Who may see and act on telehealth data: a consultation's patient, its doctor and (for an
//! organization's consultations) that organization's admins; doctor profiles for everyone
//! once verified. Resolvers and types ask these functions; the consultation use cases call
//! [`require`] inside their transactions, once they hold the row.

use super::{Actor, Rule, authorize, viewer::Viewer};
use crate::error::{AppError, AppResult};
use chrono::Duration;
use entity::{ConsultationStatus, ConsultationType, OrgRole, consultation, doctor, prescription};
use sea_orm::{ColumnTrait, Condition, sea_query::Query};
use uuid::Uuid;

/// How the caller is related to a consultation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// The patient who booked it.
    Patient,
    /// The doctor who holds it.
    Doctor,
    /// An admin of the organization the doctor practises in.
    OrgAdmin,
}

impl Party {
    /// The role the audit row records.
    pub fn role(self) -> &'static str {
        match self {
            Self::Patient => "PATIENT",
            Self::Doctor => "DOCTOR",
            Self::OrgAdmin => "ADMIN",
        }
    }
}

/// What a party does to a consultation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// A move of the state machine to this state.
    Move(ConsultationStatus),
    /// Moving it to another time.
    Reschedule,
    /// Writing a prescription.
    Prescribe,
    /// Flagging a risk.
    FlagRisk,
    /// Recording a payment.
    Pay,
    /// Refunding a payment.
    Refund,
    /// Rating a completed consultation.
    Rate,
}

impl Act {
    /// The parties allowed to do it: the doctor treats; the patient may also cancel or move
    /// a booking (until the cut-off, [`before_cutoff`]) and rates it once completed; payments and refunds are recorded by
    /// the clinic (the doctor and the organization's admin), never by the patient, whose own
    /// word that they paid is not proof of it.
    fn parties(self) -> &'static [Party] {
        match self {
            Self::Move(ConsultationStatus::Cancelled) | Self::Reschedule => {
                &[Party::Patient, Party::Doctor]
            }
            Self::Move(_) | Self::Prescribe | Self::FlagRisk => &[Party::Doctor],
            Self::Pay | Self::Refund => &[Party::Doctor, Party::OrgAdmin],
            Self::Rate => &[Party::Patient],
        }
    }

    /// What an outsider is told does not exist.
    fn hidden(self) -> &'static str {
        match self {
            Self::Refund => "payment",
            _ => "consultation",
        }
    }
}

/// The caller's relation to a consultation, if any. A super admin has none: consultations
/// are health data and platform administration does not need them.
pub fn party(viewer: &Viewer, c: &consultation::Model) -> Option<Party> {
    let me = viewer.user_id()?;
    if me == c.patient_id {
        return Some(Party::Patient);
    }
    if me == c.doctor_user_id {
        return Some(Party::Doctor);
    }
    c.organization_id
        .and_then(|org| viewer.grant(org))
        .filter(|g| g.role == OrgRole::Admin)
        .map(|_| Party::OrgAdmin)
}

/// The caller must be a party allowed to do `act`. Someone with no relation at all is told
/// the consultation (or the payment) does not exist (its existence is private); a party
/// without the right to this act is refused.
pub fn require(viewer: &Viewer, c: &consultation::Model, act: Act) -> AppResult<Party> {
    match party(viewer, c) {
        None => Err(AppError::NotFound(act.hidden())),
        Some(p) if act.parties().contains(&p) => Ok(p),
        Some(_) => Err(AppError::Forbidden(
            "only another party to this consultation may do this",
        )),
    }
}

/// A patient may cancel or move a consultation only until `cutoff` before its start.
pub fn before_cutoff(c: &consultation::Model, party: Party, cutoff: Duration) -> AppResult<()> {
    if party == Party::Patient && crate::db::now() > c.scheduled_at - cutoff {
        return Err(AppError::Forbidden(
            "it is too close to the start: only the doctor can cancel or move it now",
        ));
    }
    Ok(())
}

/// Symptoms, diagnosis, notes, prescriptions and payments of a consultation: its parties.
pub fn sees_health(viewer: &Viewer, c: &consultation::Model) -> bool {
    party(viewer, c).is_some()
}

/// A video consultation's join link: its patient and its doctor (not the organization's
/// admins), while it still takes place, from `early` before the start until the end.
pub fn gets_join_link(
    viewer: &Viewer,
    c: &consultation::Model,
    at: chrono::DateTime<chrono::Utc>,
    early: Duration,
) -> bool {
    c.consultation_type == ConsultationType::Video
        && matches!(
            c.status,
            ConsultationStatus::Requested
                | ConsultationStatus::Confirmed
                | ConsultationStatus::InProgress
        )
        && matches!(party(viewer, c), Some(Party::Patient | Party::Doctor))
        && at >= c.scheduled_at - early
        && at < c.ends_at
}

/// Risk flags: the doctor and the organization's admins, not the patient.
pub fn sees_risk_flags(viewer: &Viewer, c: &consultation::Model) -> bool {
    matches!(party(viewer, c), Some(Party::Doctor | Party::OrgAdmin))
}

fn admin_of(viewer: &Viewer) -> Vec<Uuid> {
    let Viewer::User(u) = viewer else {
        return Vec::new();
    };
    u.grants
        .iter()
        .filter(|g| g.role == OrgRole::Admin)
        .map(|g| g.organization_id)
        .collect()
}

/// The consultations a caller may list: their own as a patient, those they hold as a doctor,
/// and their organizations' if they are an admin there. Anyone else (API clients, super
/// admins without a part in one) is refused.
pub fn visible(viewer: &Viewer) -> AppResult<Condition> {
    let Some(me) = viewer.user_id() else {
        return Err(AppError::Forbidden(
            "only patients, doctors and organization admins see consultations",
        ));
    };
    let admin_of = admin_of(viewer);
    let mut any = Condition::any()
        .add(consultation::Column::PatientId.eq(me))
        .add(consultation::Column::DoctorUserId.eq(me));
    if !admin_of.is_empty() {
        any = any.add(consultation::Column::OrganizationId.is_in(admin_of));
    }
    Ok(any)
}

/// The prescriptions a caller may list: those of the consultations they see.
pub fn visible_prescriptions(viewer: &Viewer) -> AppResult<Condition> {
    let of = Query::select()
        .column(consultation::Column::Id)
        .from(consultation::Entity)
        .cond_where(visible(viewer)?)
        .to_owned();
    Ok(Condition::all().add(prescription::Column::ConsultationId.in_subquery(of)))
}

/// Which doctor profiles a caller sees: verified ones; their own; their organizations' when
/// they are its admin; everything for super admins.
pub fn visible_doctors(viewer: &Viewer) -> Condition {
    if viewer.is_super_admin() {
        return Condition::all();
    }
    let mut any = Condition::any().add(doctor::Column::IsVerified.eq(true));
    if let Some(me) = viewer.user_id() {
        any = any.add(doctor::Column::UserId.eq(me));
    }
    let admin_of = admin_of(viewer);
    if !admin_of.is_empty() {
        any = any.add(doctor::Column::OrganizationId.is_in(admin_of));
    }
    any
}

/// A doctor's account in full (phone, last sign-in): the doctor, super admins and the admins
/// of the doctor's organization. Others see its public fields.
pub fn sees_account(viewer: &Viewer, d: &doctor::Model) -> bool {
    viewer.user_id() == Some(d.user_id) || may_verify(viewer, d).is_ok()
}

/// Who verifies a doctor profile: a super admin, or an admin of the doctor's organization.
/// The actor is what the audit row records.
pub fn may_verify(viewer: &Viewer, d: &doctor::Model) -> AppResult<Actor> {
    authorize(
        viewer,
        Rule::SuperAdminOrOrgAdmin {
            org: d.organization_id,
        },
    )
}

/// How the caller is related to a patient's medical history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryParty {
    /// The patient themself.
    Patient,
    /// A doctor with a consultation (not cancelled) with the patient.
    Doctor,
}

impl HistoryParty {
    /// The role the audit row records.
    pub fn role(self) -> &'static str {
        match self {
            Self::Patient => "PATIENT",
            Self::Doctor => "DOCTOR",
        }
    }
}

const HISTORY: &str = "only the patient and doctors they consult see or write a medical history";

/// Who reads and writes a patient's medical history: the patient, and any doctor the patient
/// has a consultation with that was not cancelled (booked, held or done). Nobody else: not
/// another doctor, not the organization's admins, not super admins, not API clients.
pub async fn history_party<C: sea_orm::ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    patient: Uuid,
) -> AppResult<HistoryParty> {
    use sea_orm::{EntityTrait, QueryFilter, QuerySelect};
    let Some(me) = viewer.user_id() else {
        return Err(AppError::Forbidden(HISTORY));
    };
    if me == patient {
        return Ok(HistoryParty::Patient);
    }
    let consulted = consultation::Entity::find()
        .select_only()
        .column(consultation::Column::Id)
        .filter(consultation::Column::PatientId.eq(patient))
        .filter(consultation::Column::DoctorUserId.eq(me))
        .filter(consultation::Column::Status.ne(ConsultationStatus::Cancelled))
        .into_tuple::<Uuid>()
        .one(db)
        .await?;
    match consulted {
        Some(_) => Ok(HistoryParty::Doctor),
        None => Err(AppError::Forbidden(HISTORY)),
    }
}

/// Who works an organization's risk-flag worklist (lists and resolves its flags): its admins
/// and doctors, while it is approved. Not staff, not API clients, not super admins (the
/// flags are clinical).
pub fn risk_worklist(org: Uuid) -> Rule {
    Rule::ActFor {
        org,
        roles: &[OrgRole::Admin, OrgRole::Doctor],
        scope: None,
        kind: None,
    }
}

/// An organization's care staff, who schedule, record and list its care calls: its admins,
/// doctors and staff, while it is approved (not API clients, not super admins: call notes are
/// health data).
pub fn care_staff(org: Uuid) -> Rule {
    Rule::ActFor {
        org,
        roles: super::policy::ADMIN_DOCTOR_STAFF,
        scope: None,
        kind: None,
    }
}

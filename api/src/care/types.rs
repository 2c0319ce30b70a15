//! GraphQL types of care management. A medical history is health data: only the patient and
//! the doctors they consult see it, and every read is audited.

use crate::{error::AppResult, graphql::ids::to_id, identity::types::User};
use async_graphql::{ComplexObject, Context, ID, InputObject, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use entity::sealed::Sealed;
use entity::{
    CareCallOutcome, CareCallStatus, CareCallType, RiskFlagStatus, RiskSeverity, care_call,
    medical_history,
};
use uuid::Uuid;

/// A patient's medical history (health data; every read audited).
#[derive(SimpleObject, Clone)]
pub struct MedicalHistory {
    /// The patient's user id.
    pub patient_id: ID,
    pub allergies: Vec<String>,
    /// Conditions, chronic or past.
    pub conditions: Vec<String>,
    /// Medications taken now.
    pub medications: Vec<String>,
    /// Past surgeries.
    pub surgeries: Vec<String>,
    /// Who wrote it last (the patient or a doctor); none before the first write.
    pub updated_by_id: Option<ID>,
    /// None before the first write.
    pub updated_at: Option<DateTime<Utc>>,
}

fn list(v: &serde_json::Value) -> Vec<String> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

impl MedicalHistory {
    /// The history of a patient: the row, or an empty history before the first write.
    pub fn of(patient: Uuid, m: Option<medical_history::Model>) -> Self {
        match m {
            Some(m) => m.into(),
            None => Self {
                patient_id: to_id(patient),
                allergies: Vec::new(),
                conditions: Vec::new(),
                medications: Vec::new(),
                surgeries: Vec::new(),
                updated_by_id: None,
                updated_at: None,
            },
        }
    }
}

impl From<medical_history::Model> for MedicalHistory {
    fn from(m: medical_history::Model) -> Self {
        Self {
            patient_id: to_id(m.patient_id),
            allergies: list(&m.allergies.0),
            conditions: list(&m.conditions.0),
            medications: list(&m.medications.0),
            surgeries: list(&m.surgeries.0),
            updated_by_id: m.updated_by.map(to_id),
            updated_at: Some(m.updated_at),
        }
    }
}

/// Input of `updateMedicalHistory`: the lists given replace the stored ones; absent lists
/// are kept.
#[derive(InputObject)]
pub struct UpdateMedicalHistoryInput {
    /// The patient's user id (yours, or a patient you consult).
    pub patient_id: ID,
    /// At most 100 entries of up to 500 characters each, in each list.
    pub allergies: Option<Vec<String>>,
    pub conditions: Option<Vec<String>>,
    pub medications: Option<Vec<String>>,
    pub surgeries: Option<Vec<String>>,
}

/// Result of `updateMedicalHistory`.
#[derive(SimpleObject)]
pub struct MedicalHistoryPayload {
    pub medical_history: MedicalHistory,
}

impl From<medical_history::Model> for MedicalHistoryPayload {
    fn from(m: medical_history::Model) -> Self {
        Self {
            medical_history: m.into(),
        }
    }
}

/// Filter of `riskFlags`: one organization's worklist.
#[derive(InputObject)]
pub struct RiskFlagFilter {
    /// The organization (you must be its admin or doctor).
    pub organization_id: ID,
    /// OPEN for the worklist, RESOLVED for what was done.
    pub status: Option<RiskFlagStatus>,
    pub severity: Option<RiskSeverity>,
}

/// Input of `resolveRiskFlag`.
#[derive(InputObject)]
pub struct ResolveRiskFlagInput {
    pub risk_flag_id: ID,
    /// What was done (required, up to 2000 characters; health data, stored sealed).
    pub note: String,
}

/// An outreach or follow-up call of an organization's care staff to a patient (seen by the
/// organization's care staff; the notes are health data).
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct CareCall {
    pub id: ID,
    pub organization_id: ID,
    pub patient_id: ID,
    pub call_type: CareCallType,
    pub status: CareCallStatus,
    pub scheduled_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// From the start to the end, once completed.
    pub duration_seconds: Option<i32>,
    pub notes: Option<String>,
    pub outcome: Option<CareCallOutcome>,
    /// When to call again, if at all.
    pub follow_up_date: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    pub row: care_call::Model,
}

impl From<care_call::Model> for CareCall {
    fn from(m: care_call::Model) -> Self {
        Self {
            id: to_id(m.id),
            organization_id: to_id(m.organization_id),
            patient_id: to_id(m.patient_id),
            call_type: m.call_type,
            status: m.status,
            scheduled_at: m.scheduled_at,
            started_at: m.started_at,
            ended_at: m.ended_at,
            duration_seconds: m.duration_seconds,
            notes: Sealed::plain(&m.notes),
            outcome: m.outcome,
            follow_up_date: m.follow_up_date,
            created_at: m.created_at,
            updated_at: m.updated_at,
            row: m,
        }
    }
}

async fn user(ctx: &Context<'_>, id: Option<Uuid>) -> AppResult<Option<User>> {
    match id {
        Some(id) => User::load(ctx, id).await,
        None => Ok(None),
    }
}

#[ComplexObject]
impl CareCall {
    /// The patient called.
    async fn patient(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        user(ctx, Some(self.row.patient_id)).await
    }

    /// Who scheduled it.
    async fn scheduled_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        user(ctx, self.row.scheduled_by).await
    }

    /// Who recorded how it went.
    async fn recorded_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        user(ctx, self.row.recorded_by).await
    }
}

/// Filter of `careCalls`: one organization's calls.
#[derive(InputObject)]
pub struct CareCallFilter {
    /// The organization (you must be its admin, doctor or staff).
    pub organization_id: ID,
    /// Calls to this patient.
    pub patient_id: Option<ID>,
    pub status: Option<CareCallStatus>,
    pub call_type: Option<CareCallType>,
}

/// Input of `scheduleCareCall`.
#[derive(InputObject)]
pub struct ScheduleCareCallInput {
    /// The organization calling (you must be its admin, doctor or staff).
    pub organization_id: ID,
    /// The patient's user id.
    pub patient_id: ID,
    pub call_type: CareCallType,
    pub scheduled_at: DateTime<Utc>,
    /// Up to 4000 characters (health data, stored sealed).
    pub notes: Option<String>,
}

/// Input of `recordCareCall`: how a scheduled call went, once.
#[derive(InputObject)]
pub struct RecordCareCallInput {
    pub care_call_id: ID,
    /// COMPLETED (with `startedAt` and `endedAt`), NO_ANSWER or CANCELLED.
    pub status: CareCallStatus,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// Replaces the notes given when scheduling, if given (up to 4000 characters).
    pub notes: Option<String>,
    pub outcome: Option<CareCallOutcome>,
    /// When to call again (today or later).
    pub follow_up_date: Option<NaiveDate>,
}

/// Result of a care-call mutation.
#[derive(SimpleObject)]
pub struct CareCallPayload {
    pub care_call: CareCall,
}

impl From<care_call::Model> for CareCallPayload {
    fn from(m: care_call::Model) -> Self {
        Self {
            care_call: m.into(),
        }
    }
}

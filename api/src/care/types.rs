//! GraphQL types of care management. A medical history is health data: only the patient and
//! the doctors they consult see it, and every read is audited.

use async_graphql::{ID, InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use entity::medical_history;
use entity::{RiskFlagStatus, RiskSeverity};
use uuid::Uuid;

use crate::graphql::ids::to_id;

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

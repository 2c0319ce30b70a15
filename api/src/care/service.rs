//! Care-management use cases: medical history, the risk-flag worklist and care calls. Who
//! may act is asked of `auth::care` on the caller's transaction.

use super::commands::UpdateMedicalHistory;
use crate::{
    audit::Change,
    auth::{Viewer, care},
    db::now,
    error::{AppError, AppResult, unique_violation},
};
use entity::{medical_history, sealed::Sealed};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

// ---------------------------------------------------------------- medical history

/// A patient's history row, if written.
pub async fn history<C: ConnectionTrait>(
    db: &C,
    patient: Uuid,
) -> AppResult<Option<medical_history::Model>> {
    Ok(medical_history::Entity::find()
        .filter(medical_history::Column::PatientId.eq(patient))
        .one(db)
        .await?)
}

fn sealed(list: Vec<String>) -> Sealed<serde_json::Value> {
    Sealed(json!(list))
}

fn count(v: &Sealed<serde_json::Value>) -> usize {
    v.0.as_array().map_or(0, Vec::len)
}

/// The patient or a doctor they consult (`auth::care::history_party`) replaces the lists
/// given. The first write creates the row; two first writes racing meet the unique index
/// and the loser is `CONFLICT`. The audit row records how many entries each list holds,
/// never the entries.
pub async fn update_history<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    cmd: UpdateMedicalHistory,
) -> AppResult<(medical_history::Model, Change)> {
    let party = care::history_party(db, viewer, cmd.patient_id).await?;
    let t = now();
    let old = history(db, cmd.patient_id).await?;
    let counts = |m: &medical_history::Model| {
        json!({"allergies": count(&m.allergies), "conditions": count(&m.conditions),
               "medications": count(&m.medications), "surgeries": count(&m.surgeries)})
    };
    let before = old.as_ref().map(counts);
    let m = match old {
        Some(mut m) => {
            let keep =
                |new: Option<Vec<String>>, old: Sealed<serde_json::Value>| new.map_or(old, sealed);
            m.allergies = keep(cmd.allergies, m.allergies);
            m.conditions = keep(cmd.conditions, m.conditions);
            m.medications = keep(cmd.medications, m.medications);
            m.surgeries = keep(cmd.surgeries, m.surgeries);
            m.updated_by = viewer.user_id();
            m.updated_at = t;
            medical_history::Entity::update(
                medical_history::ActiveModel::from(m.clone()).reset_all(),
            )
            .exec(db)
            .await?;
            m
        }
        None => {
            let m = medical_history::Model {
                id: Uuid::now_v7(),
                patient_id: cmd.patient_id,
                allergies: sealed(cmd.allergies.unwrap_or_default()),
                conditions: sealed(cmd.conditions.unwrap_or_default()),
                medications: sealed(cmd.medications.unwrap_or_default()),
                surgeries: sealed(cmd.surgeries.unwrap_or_default()),
                updated_by: viewer.user_id(),
                created_at: t,
                updated_at: t,
            };
            medical_history::Entity::insert(medical_history::ActiveModel::from(m.clone()))
                .exec(db)
                .await
                .map_err(|e| match unique_violation(e) {
                    AppError::Duplicate { .. } | AppError::Conflict(_) => AppError::Conflict(
                        "the history was just written by someone else: read it and try again"
                            .into(),
                    ),
                    other => other,
                })?;
            m
        }
    };
    let change = Change {
        entity_id: Some(m.patient_id),
        old: before,
        new: Some(counts(&m)),
        actor_role: Some(party.role().into()),
        ..Change::default()
    };
    Ok((m, change))
}

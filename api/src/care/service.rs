//! Care-management use cases: medical history, the risk-flag worklist and care calls. Who
//! may act is asked of `auth::care` on the caller's transaction.

use super::commands::{RecordCareCall, ResolveRiskFlag, ScheduleCareCall, UpdateMedicalHistory};
use crate::{
    audit::Change,
    auth::{
        Viewer,
        care::{self, Act},
    },
    db::{find_locked, now},
    error::{AppError, AppResult, unique_violation},
};
use entity::{
    CareCallStatus, RiskFlagStatus, WireName, care_call, consultation, medical_history, risk_flag,
    sealed::Sealed, user,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
    sea_query::Expr,
};
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

// ---------------------------------------------------------------- risk flags

/// The organization of a flag: `None` when there is no such flag, `Some(None)` for a flag of
/// a doctor in no organization.
pub async fn risk_flag_org<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
) -> AppResult<Option<Option<Uuid>>> {
    Ok(risk_flag::Entity::find_by_id(id)
        .select_only()
        .column(risk_flag::Column::OrganizationId)
        .into_tuple::<Option<Uuid>>()
        .one(db)
        .await?)
}

/// Resolves an open flag with a note, once: the update is conditional on the flag still
/// being OPEN, so of two resolutions racing one wins and the other is
/// `INVALID_TRANSITION`. An organization's flag is resolved by its worklist's roles (the
/// command's rule); a flag of a doctor in no organization by that doctor only. The audit row
/// records the move, not the note.
pub async fn resolve_risk_flag<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    cmd: ResolveRiskFlag,
) -> AppResult<(risk_flag::Model, Change)> {
    let f = find_locked::<risk_flag::Entity, _>(db, cmd.risk_flag_id)
        .await?
        .ok_or(AppError::NotFound("risk flag"))?;
    let mut role = None;
    if f.organization_id.is_none() {
        let c = consultation::Entity::find_by_id(f.consultation_id)
            .one(db)
            .await?
            .ok_or(AppError::NotFound("risk flag"))?;
        role = Some(care::require(viewer, &c, Act::FlagRisk)?.role().to_string());
    }
    let refuse = || AppError::InvalidTransition {
        from: RiskFlagStatus::Resolved.wire_name(),
        to: RiskFlagStatus::Resolved.wire_name(),
    };
    if f.status != RiskFlagStatus::Open {
        return Err(refuse());
    }
    let t = now();
    let res = risk_flag::Entity::update_many()
        .col_expr(
            risk_flag::Column::Status,
            Expr::value(RiskFlagStatus::Resolved),
        )
        .col_expr(risk_flag::Column::ResolvedAt, Expr::value(t))
        .col_expr(risk_flag::Column::ResolvedBy, Expr::value(viewer.user_id()))
        .col_expr(
            risk_flag::Column::ResolutionNote,
            Expr::value(Sealed(cmd.note.clone())),
        )
        .filter(risk_flag::Column::Id.eq(f.id))
        .filter(risk_flag::Column::Status.eq(RiskFlagStatus::Open))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(refuse());
    }
    let f = risk_flag::Model {
        status: RiskFlagStatus::Resolved,
        resolved_at: Some(t),
        resolved_by: viewer.user_id(),
        resolution_note: Some(Sealed(cmd.note)),
        ..f
    };
    let change = Change {
        entity_id: Some(f.id),
        organization_id: f.organization_id,
        old: Some(json!({"status": "OPEN"})),
        new: Some(json!({"status": f.status, "severity": f.severity})),
        actor_role: role,
        ..Change::default()
    };
    Ok((f, change))
}

// ---------------------------------------------------------------- care calls

/// A call's values as the audit trail records them (never its notes).
fn call_json(c: &care_call::Model) -> serde_json::Value {
    json!({"patientId": c.patient_id, "type": c.call_type, "status": c.status,
           "scheduledAt": c.scheduled_at, "startedAt": c.started_at, "endedAt": c.ended_at,
           "durationSeconds": c.duration_seconds, "outcome": c.outcome,
           "followUpDate": c.follow_up_date})
}

/// The organization of a call, if there is one.
pub async fn call_org<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<Option<Uuid>> {
    Ok(care_call::Entity::find_by_id(id)
        .select_only()
        .column(care_call::Column::OrganizationId)
        .into_tuple::<Uuid>()
        .one(db)
        .await?)
}

/// An organization's care staff (the command's rule) schedule a call to a patient.
pub async fn schedule_call<C: ConnectionTrait>(
    db: &C,
    by: Option<Uuid>,
    cmd: ScheduleCareCall,
) -> AppResult<(care_call::Model, Change)> {
    if user::Entity::find_by_id(cmd.patient_id)
        .one(db)
        .await?
        .is_none()
    {
        return Err(AppError::bad_input("input.patientId", "no such patient"));
    }
    let t = now();
    let m = care_call::Model {
        id: Uuid::now_v7(),
        organization_id: cmd.organization_id,
        patient_id: cmd.patient_id,
        call_type: cmd.call_type,
        status: CareCallStatus::Scheduled,
        scheduled_at: cmd.scheduled_at,
        started_at: None,
        ended_at: None,
        duration_seconds: None,
        notes: Sealed::opt(cmd.notes),
        outcome: None,
        follow_up_date: None,
        scheduled_by: by,
        recorded_by: None,
        created_at: t,
        updated_at: t,
    };
    care_call::Entity::insert(care_call::ActiveModel::from(m.clone()))
        .exec(db)
        .await?;
    let change = Change {
        entity_id: Some(m.id),
        new: Some(call_json(&m)),
        ..Change::default()
    };
    Ok((m, change))
}

/// Records how a scheduled call went, once: the update is conditional on the call still being
/// SCHEDULED, so a second record (or two racing) is `INVALID_TRANSITION`.
pub async fn record_call<C: ConnectionTrait>(
    db: &C,
    by: Option<Uuid>,
    cmd: RecordCareCall,
) -> AppResult<(care_call::Model, Change)> {
    let old = find_locked::<care_call::Entity, _>(db, cmd.care_call_id)
        .await?
        .ok_or(AppError::NotFound("care call"))?;
    let refuse = |from: CareCallStatus| AppError::InvalidTransition {
        from: from.wire_name(),
        to: cmd.status.wire_name(),
    };
    if old.status != CareCallStatus::Scheduled {
        return Err(refuse(old.status));
    }
    let mut next = old.clone();
    next.status = cmd.status;
    next.started_at = cmd.started_at;
    next.ended_at = cmd.ended_at;
    next.duration_seconds = cmd.duration_seconds;
    if cmd.notes.is_some() {
        next.notes = Sealed::opt(cmd.notes.clone());
    }
    next.outcome = cmd.outcome;
    next.follow_up_date = cmd.follow_up_date;
    next.recorded_by = by;
    next.updated_at = now();
    let res = care_call::Entity::update_many()
        .set(care_call::ActiveModel::from(next.clone()).reset_all())
        .filter(care_call::Column::Id.eq(old.id))
        .filter(care_call::Column::Status.eq(CareCallStatus::Scheduled))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(refuse(CareCallStatus::Completed));
    }
    let change = Change {
        entity_id: Some(next.id),
        old: Some(call_json(&old)),
        new: Some(call_json(&next)),
        ..Change::default()
    };
    Ok((next, change))
}

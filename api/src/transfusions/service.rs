//! Transfusion outcomes: one per issued unit; a serious reaction alerts the supplying bank.

use super::commands::RecordTransfusion;
use crate::{
    alerts::service::{self as alerts, AlertContent, NewAlert, Target},
    audit::Change,
    auth::Actor,
    db::now,
    error::{AppError, AppResult},
};
use entity::sealed::Sealed;
use entity::{
    AlertKind, Severity, UnitStatus, WireName, blood_request, blood_unit, is_serious, transfusion,
};
use sea_orm::{ConnectionTrait, EntityTrait, QuerySelect};
use serde_json::json;
use uuid::Uuid;

/// The hospital of the request a unit is held for or issued to, if any (for `locate`).
pub async fn unit_hospital<C: ConnectionTrait>(db: &C, unit: Uuid) -> AppResult<Option<Uuid>> {
    let request: Option<Option<Uuid>> = blood_unit::Entity::find_by_id(unit)
        .select_only()
        .column(blood_unit::Column::ReservedForRequestId)
        .into_tuple()
        .one(db)
        .await?;
    match request.flatten() {
        Some(r) => crate::deliveries::service::request_hospital(db, r).await,
        None => Ok(None),
    }
}

/// Records a transfusion of a unit issued to one of the hospital's requests. A serious
/// reaction (severe, life-threatening, haemolytic or TRALI) alerts the supplying bank.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    cmd: RecordTransfusion,
    actor: &Actor,
) -> AppResult<(transfusion::Model, Change)> {
    let unit = crate::db::find_locked::<blood_unit::Entity, _>(db, cmd.unit_id)
        .await?
        .ok_or(AppError::NotFound("blood unit"))?;
    let request = match unit.reserved_for_request_id {
        Some(r) if unit.status == UnitStatus::Issued => r,
        _ => {
            return Err(AppError::InvalidTransition {
                from: unit.status.wire_name(),
                to: "transfuse".into(),
            });
        }
    };
    let req = blood_request::Entity::find_by_id(request)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("blood request"))?;
    if Some(req.hospital_id) != cmd.hospital_id {
        return Err(AppError::NotFound("blood unit"));
    }
    let t = now();
    let row = transfusion::Model {
        id: Uuid::now_v7(),
        unit_id: unit.id,
        request_id: req.id,
        hospital_id: req.hospital_id,
        blood_bank_id: unit.blood_bank_id,
        patient_reference: Sealed(cmd.patient_reference.into_inner()),
        reaction: cmd.reaction,
        severity: cmd.severity,
        recorded_by: actor.user_id,
        recorded_by_api_client_id: actor.api_client_id,
        created_at: t,
    };
    transfusion::Entity::insert(transfusion::ActiveModel::from(row.clone()))
        .exec(db)
        .await
        .map_err(crate::error::unique_violation)?;
    let serious = is_serious(row.reaction, row.severity);
    let events = if serious {
        let content = AlertContent::new(
            AlertKind::TransfusionReaction,
            Severity::Critical,
            "Serious transfusion reaction".into(),
            format!(
                "A hospital reported a {} reaction ({}) to unit {}; review the unit's trace.",
                row.reaction.wire_name(),
                row.severity.wire_name(),
                unit.unit_number
            ),
        )
        .about(unit.blood_group, unit.component);
        alerts::raise(
            db,
            NewAlert {
                content,
                organization_id: Some(unit.blood_bank_id),
                location: None,
                radius_km: None,
                related: Some(("blood_unit", unit.id)),
                target: Target::Orgs(vec![unit.blood_bank_id]),
            },
        )
        .await?
    } else {
        Vec::new()
    };
    let change = Change {
        entity_id: Some(row.id),
        organization_id: Some(row.hospital_id),
        new: Some(json!({"unitId": row.unit_id, "requestId": row.request_id,
                         "reaction": row.reaction, "severity": row.severity,
                         "serious": serious})),
        events,
        ..Change::default()
    };
    Ok((row, change))
}

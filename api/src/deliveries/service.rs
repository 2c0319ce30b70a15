//! Delivery rules: dispatch of a fulfilled request, positions and the cold chain, receipt,
//! failure, and returns to stock inside the window.

use super::commands::{
    ConfirmReceipt, DispatchDelivery, FailDelivery, ReturnUnits, Returned, UpdateDeliveryLocation,
};
use crate::{
    alerts::service::{self as alerts, AlertContent, NewAlert, Target},
    audit::Change,
    auth::Actor,
    db::now,
    error::{AppError, AppResult},
    events::{DeliveryEvent, DeliveryPoint, Event},
    requests::service::load_locked as load_request_locked,
    stock::service as stock,
    validation::Text,
};
use chrono::{DateTime, Utc};
use entity::{
    AlertKind, BloodDeliveryStatus, Component, RequestStatus, ReturnOutcome, Severity, UnitStatus,
    WireName, blood_request, blood_unit, delivery, delivery_position, transfusion, unit_return,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QuerySelect, sea_query::Expr,
};
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

/// The storage range of a component in transport, in °C (inclusive): red cells and whole
/// blood 2–6, platelets 20–24, frozen plasma and cryoprecipitate -18 or colder.
pub fn cold_chain_range(c: Component) -> (f64, f64) {
    match c {
        Component::WholeBlood | Component::RedCells => (2.0, 6.0),
        Component::Platelets => (20.0, 24.0),
        Component::Plasma | Component::Cryoprecipitate => (-80.0, -18.0),
    }
}

/// Whether a reported temperature breaks the cold chain of a component.
pub fn is_excursion(c: Component, celsius: f64) -> bool {
    let (low, high) = cold_chain_range(c);
    !(low..=high).contains(&celsius)
}

/// The bank of a delivery, if it exists (for `locate`).
pub async fn delivery_bank<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<Option<Uuid>> {
    Ok(delivery::Entity::find_by_id(id)
        .select_only()
        .column(delivery::Column::BloodBankId)
        .into_tuple::<Uuid>()
        .one(db)
        .await?)
}

/// The hospital of a request, if it exists (for `locate`).
pub async fn request_hospital<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<Option<Uuid>> {
    Ok(blood_request::Entity::find_by_id(id)
        .select_only()
        .column(blood_request::Column::HospitalId)
        .into_tuple::<Uuid>()
        .one(db)
        .await?)
}

fn invalid(from: BloodDeliveryStatus, to: &str) -> AppError {
    AppError::InvalidTransition {
        from: from.wire_name(),
        to: to.into(),
    }
}

/// The event of a delivery's state, with the position just reported if any.
pub fn delivery_event(d: &delivery::Model, position: Option<DeliveryPoint>) -> Event {
    Event::DeliveryTracked(DeliveryEvent {
        delivery_id: d.id,
        request_id: d.request_id,
        status: d.status,
        position,
        eta: d.eta,
        at: now(),
    })
}

fn delivery_json(d: &delivery::Model) -> serde_json::Value {
    json!({"status": d.status, "requestId": d.request_id, "courierName": d.courier_name,
           "vehicle": d.vehicle, "eta": d.eta, "temperatureOk": d.temperature_ok,
           "excursionAt": d.excursion_at})
}

/// Raises the cold-chain alert of a delivery to both its bank and its hospital.
async fn excursion_alert<C: ConnectionTrait>(
    db: &C,
    d: &delivery::Model,
    what: String,
) -> AppResult<Vec<Event>> {
    let content = AlertContent {
        component: Some(d.component),
        ..AlertContent::new(
            AlertKind::ColdChainExcursion,
            Severity::Critical,
            "Cold chain broken in a delivery".into(),
            what,
        )
    };
    alerts::raise(
        db,
        NewAlert {
            content,
            organization_id: Some(d.blood_bank_id),
            location: None,
            radius_km: None,
            related: Some(("delivery", d.id)),
            target: Target::Orgs(vec![d.blood_bank_id, d.hospital_id]),
        },
    )
    .await
}

/// The supplying bank hands a fulfilled request's units to a courier: a `DISPATCHED`
/// delivery (one per request).
pub async fn dispatch<C: ConnectionTrait>(
    db: &C,
    cmd: DispatchDelivery,
    actor: &Actor,
) -> AppResult<(delivery::Model, Change)> {
    let req = load_request_locked(db, cmd.request_id).await?;
    if req.status != RequestStatus::Fulfilled {
        return Err(AppError::InvalidTransition {
            from: req.status.wire_name(),
            to: "dispatch".into(),
        });
    }
    if req.blood_bank_id != Some(cmd.bank_id) {
        return Err(AppError::Forbidden(
            "another bank issued this request's units",
        ));
    }
    let t = now();
    let d = delivery::ActiveModel {
        id: Set(Uuid::now_v7()),
        request_id: Set(req.id),
        blood_bank_id: Set(cmd.bank_id),
        hospital_id: Set(req.hospital_id),
        component: Set(req.component),
        courier_name: Set(cmd.courier_name.into_inner()),
        vehicle: Set(cmd.vehicle.map(Text::into_inner)),
        status: Set(BloodDeliveryStatus::Dispatched),
        eta: Set(cmd.eta),
        last_latitude: Set(None),
        last_longitude: Set(None),
        last_recorded_at: Set(None),
        excursion_at: Set(None),
        temperature_ok: Set(None),
        dispatched_by: Set(actor.user_id),
        received_by: Set(None),
        dispatched_at: Set(t),
        delivered_at: Set(None),
        failed_at: Set(None),
        failure_reason: Set(None),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(db)
    .await
    .map_err(crate::error::unique_violation)?;
    let change = Change {
        entity_id: Some(d.id),
        organization_id: Some(d.blood_bank_id),
        new: Some(delivery_json(&d)),
        events: vec![delivery_event(&d, None)],
        ..Change::default()
    };
    Ok((d, change))
}

async fn load_locked<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<delivery::Model> {
    crate::db::find_locked::<delivery::Entity, _>(db, id)
        .await?
        .ok_or(AppError::NotFound("delivery"))
}

/// Stores a reported position (the delivery is then `IN_TRANSIT`) and streams it to the
/// trackers; a temperature out of the component's range raises the cold-chain alert once
/// per delivery. A delivered or failed delivery takes no more positions.
pub async fn update_location<C: ConnectionTrait>(
    db: &C,
    cmd: UpdateDeliveryLocation,
) -> AppResult<(delivery::Model, Change)> {
    let mut d = load_locked(db, cmd.delivery.id).await?;
    if d.status.is_final() {
        return Err(invalid(d.status, "update location"));
    }
    let t = now();
    let point = DeliveryPoint {
        latitude: cmd.point.latitude,
        longitude: cmd.point.longitude,
        recorded_at: cmd.recorded_at,
        temperature_c: cmd.temperature_c,
    };
    delivery_position::Entity::insert(delivery_position::ActiveModel {
        id: Set(Uuid::now_v7()),
        delivery_id: Set(d.id),
        latitude: Set(point.latitude),
        longitude: Set(point.longitude),
        recorded_at: Set(point.recorded_at),
        temperature_c: Set(point.temperature_c),
        created_at: Set(t),
    })
    .exec(db)
    .await?;
    let excursion = d.excursion_at.is_none()
        && cmd
            .temperature_c
            .is_some_and(|c| is_excursion(d.component, c));
    // The last position is the latest reading, whatever order readings arrive in.
    let newer = d.last_recorded_at.is_none_or(|r| r <= point.recorded_at);
    let mut u = delivery::Entity::update_many()
        .col_expr(
            delivery::Column::Status,
            Expr::value(BloodDeliveryStatus::InTransit),
        )
        .col_expr(delivery::Column::UpdatedAt, Expr::value(t))
        .filter(delivery::Column::Id.eq(d.id))
        .filter(delivery::Column::Status.is_in([
            BloodDeliveryStatus::Dispatched,
            BloodDeliveryStatus::InTransit,
        ]));
    if newer {
        u = u
            .col_expr(
                delivery::Column::LastLatitude,
                Expr::value(Some(point.latitude)),
            )
            .col_expr(
                delivery::Column::LastLongitude,
                Expr::value(Some(point.longitude)),
            )
            .col_expr(
                delivery::Column::LastRecordedAt,
                Expr::value(Some(point.recorded_at)),
            );
        d.last_latitude = Some(point.latitude);
        d.last_longitude = Some(point.longitude);
        d.last_recorded_at = Some(point.recorded_at);
    }
    if let Some(eta) = cmd.eta {
        u = u.col_expr(delivery::Column::Eta, Expr::value(Some(eta)));
        d.eta = Some(eta);
    }
    if excursion {
        u = u.col_expr(delivery::Column::ExcursionAt, Expr::value(Some(t)));
        d.excursion_at = Some(t);
    }
    if u.exec(db).await?.rows_affected != 1 {
        return Err(AppError::Conflict(
            "the delivery changed state meanwhile; try again".into(),
        ));
    }
    d.status = BloodDeliveryStatus::InTransit;
    d.updated_at = t;
    let mut events = vec![delivery_event(&d, Some(point))];
    if excursion {
        let (low, high) = cold_chain_range(d.component);
        let what = format!(
            "A delivery reported {:.1} °C, outside {low}..{high} °C for {}.",
            cmd.temperature_c.unwrap_or_default(),
            alerts::component_name(d.component)
        );
        events.extend(excursion_alert(db, &d, what).await?);
    }
    let change = Change {
        entity_id: Some(d.id),
        organization_id: Some(d.blood_bank_id),
        new: Some(json!({"lat": point.latitude, "lng": point.longitude,
                         "recordedAt": point.recorded_at, "temperatureC": point.temperature_c,
                         "excursion": excursion})),
        events,
        ..Change::default()
    };
    Ok((d, change))
}

/// Moves a delivery that is still under way to a final state.
async fn finish<C: ConnectionTrait>(
    db: &C,
    d: &delivery::Model,
    to: BloodDeliveryStatus,
    verb: &str,
    sets: Vec<(delivery::Column, sea_orm::sea_query::SimpleExpr)>,
) -> AppResult<delivery::Model> {
    if d.status.is_final() {
        return Err(invalid(d.status, verb));
    }
    let mut u = delivery::Entity::update_many()
        .col_expr(delivery::Column::Status, Expr::value(to))
        .col_expr(delivery::Column::UpdatedAt, Expr::value(now()))
        .filter(delivery::Column::Id.eq(d.id))
        .filter(delivery::Column::Status.is_in([
            BloodDeliveryStatus::Dispatched,
            BloodDeliveryStatus::InTransit,
        ]));
    for (c, v) in sets {
        u = u.col_expr(c, v);
    }
    if u.exec(db).await?.rows_affected != 1 {
        let now_status = delivery::Entity::find_by_id(d.id)
            .one(db)
            .await?
            .map_or(d.status, |r| r.status);
        return Err(invalid(now_status, verb));
    }
    delivery::Entity::find_by_id(d.id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("delivery"))
}

/// The hospital confirms the units arrived: `DELIVERED`, which ends the tracking streams.
/// Units that did not arrive cold raise the cold-chain alert (once per delivery).
pub async fn confirm_receipt<C: ConnectionTrait>(
    db: &C,
    cmd: ConfirmReceipt,
    actor: &Actor,
) -> AppResult<(delivery::Model, Change)> {
    let id = delivery::Entity::find()
        .select_only()
        .column(delivery::Column::Id)
        .filter(delivery::Column::RequestId.eq(cmd.request.id))
        .into_tuple::<Uuid>()
        .one(db)
        .await?
        .ok_or(AppError::NotFound("delivery"))?;
    let d = load_locked(db, id).await?;
    let t = now();
    let excursion = !cmd.temperature_ok && d.excursion_at.is_none();
    let mut sets = vec![
        (delivery::Column::DeliveredAt, Expr::value(Some(t))),
        (
            delivery::Column::TemperatureOk,
            Expr::value(Some(cmd.temperature_ok)),
        ),
        (delivery::Column::ReceivedBy, Expr::value(actor.user_id)),
    ];
    if excursion {
        sets.push((delivery::Column::ExcursionAt, Expr::value(Some(t))));
    }
    let done = finish(db, &d, BloodDeliveryStatus::Delivered, "deliver", sets).await?;
    let mut events = vec![delivery_event(&done, None)];
    if excursion {
        let what = format!(
            "A hospital received {} outside their temperature range.",
            alerts::component_name(d.component)
        );
        events.extend(excursion_alert(db, &done, what).await?);
    }
    let change = Change {
        entity_id: Some(cmd.request.id),
        organization_id: Some(d.hospital_id),
        old: Some(json!({"status": d.status})),
        new: Some(delivery_json(&done)),
        events,
        ..Change::default()
    };
    Ok((done, change))
}

/// The bank records that a delivery will not arrive: `FAILED`, which ends the tracking
/// streams.
pub async fn fail<C: ConnectionTrait>(
    db: &C,
    cmd: FailDelivery,
) -> AppResult<(delivery::Model, Change)> {
    let d = load_locked(db, cmd.delivery.id).await?;
    let reason = cmd.reason.into_inner();
    let sets = vec![
        (delivery::Column::FailedAt, Expr::value(Some(now()))),
        (delivery::Column::FailureReason, Expr::value(Some(reason))),
    ];
    let done = finish(db, &d, BloodDeliveryStatus::Failed, "fail", sets).await?;
    let change = Change {
        entity_id: Some(d.id),
        organization_id: Some(d.blood_bank_id),
        old: Some(json!({"status": d.status})),
        new: Some(delivery_json(&done)),
        events: vec![delivery_event(&done, None)],
        ..Change::default()
    };
    Ok((done, change))
}

/// Whether returned units may go back to stock: inside `window` since issue, the cold
/// chain kept at the hospital and in delivery.
pub fn restockable(
    issued_at: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
    window: Duration,
    cold_chain_kept: bool,
    delivery: Option<&delivery::Model>,
) -> bool {
    let window = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
    let in_time = issued_at.is_some_and(|i| at - i <= window);
    let cold = cold_chain_kept && delivery.is_none_or(|d| d.excursion_at.is_none());
    in_time && cold
}

/// The hospital gives issued units back. Inside the return window
/// (`RETURN_WINDOW_SECS` since issue) with the cold chain kept they are `AVAILABLE` again
/// at the supplying bank (through the stock service, whose counts follow); otherwise they
/// are `DISCARDED`. A unit returned, transfused, or not issued to this request is refused.
pub async fn return_units<C: ConnectionTrait>(
    db: &C,
    window: Duration,
    cmd: ReturnUnits,
    actor: &Actor,
) -> AppResult<(Returned, Change)> {
    let req = load_request_locked(db, cmd.request.id).await?;
    let bank = match (req.status, req.blood_bank_id) {
        (RequestStatus::Fulfilled, Some(bank)) => bank,
        (status, _) => {
            return Err(AppError::InvalidTransition {
                from: status.wire_name(),
                to: "return units".into(),
            });
        }
    };
    let returned: Vec<Uuid> = unit_return::Entity::find()
        .select_only()
        .column(unit_return::Column::UnitId)
        .filter(unit_return::Column::RequestId.eq(req.id))
        .filter(unit_return::Column::UnitId.is_in(cmd.unit_ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    if !returned.is_empty() {
        return Err(AppError::Conflict(format!(
            "{} of these units were already returned",
            returned.len()
        )));
    }
    let units = blood_unit::Entity::find()
        .filter(blood_unit::Column::Id.is_in(cmd.unit_ids.iter().copied()))
        .filter(blood_unit::Column::ReservedForRequestId.eq(req.id))
        .filter(blood_unit::Column::Status.eq(UnitStatus::Issued))
        .all(db)
        .await?;
    if units.len() != cmd.unit_ids.len() {
        return Err(AppError::bad_input(
            "input.unitIds",
            "every unit must have been issued to this request",
        ));
    }
    let transfused = transfusion::Entity::find()
        .filter(transfusion::Column::UnitId.is_in(cmd.unit_ids.iter().copied()))
        .count(db)
        .await?;
    if transfused > 0 {
        return Err(AppError::Conflict(
            "a transfused unit cannot be returned".into(),
        ));
    }
    let d = delivery::Entity::find()
        .filter(delivery::Column::RequestId.eq(req.id))
        .one(db)
        .await?;
    let t = now();
    let keep = restockable(req.fulfilled_at, t, window, cmd.cold_chain_kept, d.as_ref())
        && units.iter().all(|u| u.expires_at > t);
    let (outcome, to, reason) = if keep {
        (
            ReturnOutcome::Restocked,
            UnitStatus::Available,
            "returned by the hospital",
        )
    } else {
        (
            ReturnOutcome::Discarded,
            UnitStatus::Discarded,
            "returned outside the window or the cold chain",
        )
    };
    let mut moved = stock::transition(
        db,
        bank,
        &cmd.unit_ids,
        &[UnitStatus::Issued],
        to,
        Some(reason.into()),
        actor,
    )
    .await?;
    if keep {
        // Back in stock: no longer the request's (the return row keeps the link).
        blood_unit::Entity::update_many()
            .col_expr(
                blood_unit::Column::ReservedForRequestId,
                Expr::value(Option::<Uuid>::None),
            )
            .filter(blood_unit::Column::Id.is_in(cmd.unit_ids.iter().copied()))
            .exec(db)
            .await?;
        for u in &mut moved {
            u.reserved_for_request_id = None;
        }
    }
    let rows: Vec<unit_return::ActiveModel> = moved
        .iter()
        .map(|u| unit_return::ActiveModel {
            id: Set(Uuid::now_v7()),
            unit_id: Set(u.id),
            request_id: Set(req.id),
            hospital_id: Set(req.hospital_id),
            blood_bank_id: Set(bank),
            cold_chain_kept: Set(cmd.cold_chain_kept),
            outcome: Set(outcome),
            returned_by: Set(actor.user_id),
            created_at: Set(t),
        })
        .collect();
    unit_return::Entity::insert_many(rows)
        .exec(db)
        .await
        .map_err(crate::error::unique_violation)?;
    let combos: Vec<_> = moved.iter().map(|u| (u.blood_group, u.component)).collect();
    let events = if keep {
        alerts::check_stock(db, bank, &combos).await?
    } else {
        Vec::new()
    };
    let change = Change {
        entity_id: Some(req.id),
        organization_id: Some(req.hospital_id),
        new: Some(
            json!({"outcome": outcome, "coldChainKept": cmd.cold_chain_kept,
                         "units": cmd.unit_ids}),
        ),
        events,
        ..Change::default()
    };
    Ok((
        Returned {
            outcome,
            units: moved,
        },
        change,
    ))
}

//! Blood request rules: the state machine, atomic reservation, releases and lapses.

use super::commands::{
    AcceptBloodRequest, CancelBloodRequest, CreateBloodRequest, FulfillBloodRequest,
};
use crate::{
    alerts::service as alerts,
    audit::Change,
    auth::Actor,
    blood::{compatibility, geo},
    config::Config,
    db::now,
    error::{AppError, AppResult},
    events::Event,
    stock::service::record_events,
    validation::Text,
};
use chrono::{DateTime, Utc};
use entity::sealed::Sealed;
use entity::{
    AlertKind, OrgKind, OrgStatus, RequestStatus, UnitStatus, WireName, blood_request,
    blood_request_decline, blood_unit, blood_unit_event, organization,
};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, SimpleExpr},
};
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

/// The values an audit row keeps of a request.
fn request_json(r: &blood_request::Model) -> serde_json::Value {
    json!({"status": r.status, "bloodGroup": r.blood_group, "component": r.component, "unitsRequired": r.units_required,
           "urgency": r.urgency, "bloodBankId": r.blood_bank_id, "targetBankId": r.target_bank_id,
           "allowEmergencyOverride": r.allow_emergency_override, "overrideReason": r.override_reason})
}

/// The alerts a request raised that end with it (an emergency whose cause is gone).
const REQUEST_ALERTS: [AlertKind; 2] = [AlertKind::EmergencyRequest, AlertKind::DelayedEmergency];

/// Creates a request as `PENDING`; an emergency alerts the approved banks in its radius.
pub async fn create<C: ConnectionTrait>(
    db: &C,
    config: &Config,
    new: CreateBloodRequest,
    actor: &Actor,
) -> AppResult<(blood_request::Model, Change)> {
    let radius = new.radius_km.unwrap_or(config.default_request_radius_km);
    if !(radius > 0.0 && radius <= config.max_request_radius_km) {
        return Err(AppError::bad_input(
            "input.radiusKm",
            format!(
                "must be above 0 and at most {}",
                config.max_request_radius_km
            ),
        ));
    }
    let hospital = organization::Entity::find_by_id(new.hospital_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("hospital"))?;
    if let Some(bank) = new.target_bank {
        let ok = organization::Entity::find_by_id(bank)
            .filter(organization::Column::Kind.eq(OrgKind::BloodBank))
            .filter(organization::Column::Status.eq(OrgStatus::Approved))
            .one(db)
            .await?
            .is_some();
        if !ok {
            return Err(AppError::bad_input(
                "input.bloodBankId",
                "is not an approved blood bank",
            ));
        }
    }
    let t = now();
    let r = blood_request::ActiveModel {
        id: Set(Uuid::now_v7()),
        hospital_id: Set(hospital.id),
        requested_by_user_id: Set(actor.user_id),
        requested_by_api_client_id: Set(actor.api_client_id),
        patient_reference: Set(new.patient_reference.into_inner()),
        patient_name: Set(Sealed::opt(new.patient_name.map(Text::into_inner))),
        blood_group: Set(new.blood_group),
        component: Set(new.component),
        units_required: Set(new.units_required),
        urgency: Set(new.urgency),
        urgency_rank: Set(new.urgency.rank()),
        needed_by: Set(new.needed_by),
        medical_notes: Set(Sealed::opt(new.medical_notes.map(Text::into_inner))),
        status: Set(RequestStatus::Pending),
        target_bank_id: Set(new.target_bank),
        blood_bank_id: Set(None),
        latitude: Set(hospital.latitude),
        longitude: Set(hospital.longitude),
        radius_km: Set(radius),
        escalation_level: Set(0),
        allow_emergency_override: Set(new.emergency_override.is_some()),
        override_reason: Set(new.emergency_override.map(Text::into_inner)),
        hold_until: Set(None),
        accepted_at: Set(None),
        fulfilled_at: Set(None),
        rejected_at: Set(None),
        cancelled_at: Set(None),
        expired_at: Set(None),
        rejection_reason: Set(None),
        cancellation_reason: Set(None),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(db)
    .await?;
    let mut events = alerts::emergency_alert(db, &r, r.radius_km, OrgKind::BloodBank).await?;
    events.push(alerts::request_event(&r));
    let change = Change {
        entity_id: Some(r.id),
        new: Some(request_json(&r)),
        events,
        ..Change::default()
    };
    Ok((r, change))
}

/// Loads a request; on Postgres the row is locked until the transaction ends, so two banks
/// acting on one request queue instead of racing.
pub async fn load_locked<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<blood_request::Model> {
    crate::db::find_locked::<blood_request::Entity, _>(db, id)
        .await?
        .ok_or(AppError::NotFound("blood request"))
}

/// Whether a bank may act on a request: the addressed bank, or for an open request any bank
/// within its radius.
pub fn bank_may_act(req: &blood_request::Model, bank: &organization::Model) -> AppResult<()> {
    match req.target_bank_id {
        Some(t) if t == bank.id => Ok(()),
        Some(_) => Err(AppError::Forbidden(
            "this request is addressed to another bank",
        )),
        None => {
            let reaches = geo::within_km(
                (req.latitude, req.longitude),
                (bank.latitude, bank.longitude),
                req.radius_km,
            );
            if reaches {
                Ok(())
            } else {
                Err(AppError::Forbidden(
                    "your bank is outside this request's radius",
                ))
            }
        }
    }
}

async fn bank<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<organization::Model> {
    organization::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("blood bank"))
}

fn invalid(from: RequestStatus, to: &str) -> AppError {
    AppError::InvalidTransition {
        from: from.wire_name(),
        to: to.into(),
    }
}

/// Moves a request from `from` to `to` with a conditional update; any other current state is
/// `INVALID_TRANSITION`.
async fn move_request<C: ConnectionTrait>(
    db: &C,
    current: &blood_request::Model,
    from: RequestStatus,
    to: RequestStatus,
    verb: &str,
    sets: Vec<(blood_request::Column, SimpleExpr)>,
) -> AppResult<blood_request::Model> {
    if current.status != from {
        return Err(invalid(current.status, verb));
    }
    let mut u = blood_request::Entity::update_many()
        .col_expr(blood_request::Column::Status, Expr::value(to))
        .col_expr(blood_request::Column::UpdatedAt, Expr::value(now()))
        .filter(blood_request::Column::Id.eq(current.id))
        .filter(blood_request::Column::Status.eq(from));
    for (c, v) in sets {
        u = u.col_expr(c, v);
    }
    if u.exec(db).await?.rows_affected != 1 {
        let now_status = blood_request::Entity::find_by_id(current.id)
            .one(db)
            .await?
            .map(|r| r.status)
            .unwrap_or(from);
        return Err(invalid(now_status, verb));
    }
    blood_request::Entity::find_by_id(current.id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("blood request"))
}

fn unit_event(
    u: &blood_unit::Model,
    from: UnitStatus,
    to: UnitStatus,
    request: Uuid,
    reason: Option<&str>,
    actor: &Actor,
) -> blood_unit_event::ActiveModel {
    blood_unit_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        unit_id: Set(u.id),
        blood_bank_id: Set(u.blood_bank_id),
        from_status: Set(Some(from)),
        to_status: Set(to),
        request_id: Set(Some(request)),
        actor_user_id: Set(actor.user_id),
        actor_api_client_id: Set(actor.api_client_id),
        reason: Set(reason.map(str::to_string)),
        created_at: Set(now()),
    }
}

/// Accepts a request for a bank: reserves `units_required` compatible available units of that
/// bank in order of compatibility preference, then earliest expiry, never an expired one; all
/// or nothing (`INSUFFICIENT_STOCK`).
///
/// On Postgres the candidate units are read `FOR UPDATE SKIP LOCKED`, so concurrent accepts
/// at one bank take disjoint units and never wait on each other; the reserving update is
/// conditional on the units still being available. On SQLite the write transaction
/// (`BEGIN IMMEDIATE`) serializes accepts.
async fn reserve<C: ConnectionTrait>(
    db: &C,
    request_id: Uuid,
    bank_id: Uuid,
    hold: Duration,
    actor: &Actor,
) -> AppResult<(blood_request::Model, Vec<blood_unit::Model>)> {
    let req = load_locked(db, request_id).await?;
    let bank = bank(db, bank_id).await?;
    bank_may_act(&req, &bank)?;
    if req.status != RequestStatus::Pending {
        return Err(invalid(req.status, "accept"));
    }
    let t = now();
    // Past its deadline the request is expired in all but name (the sweep marks it soon).
    if req.needed_by <= t {
        return Err(invalid(RequestStatus::Expired, "accept"));
    }
    let donors =
        compatibility::donors_for(req.blood_group, req.component, req.allow_emergency_override);
    if donors.is_empty() {
        return Err(AppError::InsufficientStock(
            "no compatible group exists for this request".into(),
        ));
    }
    let mut rank = Expr::case(blood_unit::Column::BloodGroup.eq(donors[0]), 0);
    for (i, g) in donors.iter().enumerate().skip(1) {
        rank = rank.case(blood_unit::Column::BloodGroup.eq(*g), i as i32);
    }
    let rank: SimpleExpr = rank.finally(donors.len() as i32).into();
    let q = blood_unit::Entity::find()
        .filter(blood_unit::Column::BloodBankId.eq(bank_id))
        .filter(blood_unit::Column::Component.eq(req.component))
        .filter(blood_unit::Column::Status.eq(UnitStatus::Available))
        .filter(blood_unit::Column::ExpiresAt.gt(t))
        .filter(blood_unit::Column::BloodGroup.is_in(donors.iter().copied()))
        .order_by(rank, Order::Asc)
        .order_by_asc(blood_unit::Column::ExpiresAt)
        .order_by_asc(blood_unit::Column::Id)
        .limit(req.units_required as u64);
    let q = crate::db::skip_locked(db, q);
    let units = q.all(db).await?;
    if units.len() < req.units_required as usize {
        return Err(AppError::InsufficientStock(format!(
            "{} compatible units available at this bank, {} needed",
            units.len(),
            req.units_required
        )));
    }
    let hold_until = t + chrono::Duration::from_std(hold).unwrap_or(chrono::Duration::hours(12));
    let ids: Vec<Uuid> = units.iter().map(|u| u.id).collect();
    let reserved = blood_unit::Entity::update_many()
        .col_expr(
            blood_unit::Column::Status,
            Expr::value(UnitStatus::Reserved),
        )
        .col_expr(
            blood_unit::Column::ReservedForRequestId,
            Expr::value(Some(req.id)),
        )
        .col_expr(
            blood_unit::Column::ReservedUntil,
            Expr::value(Some(hold_until)),
        )
        .col_expr(blood_unit::Column::UpdatedAt, Expr::value(t))
        .filter(blood_unit::Column::Id.is_in(ids.clone()))
        .filter(blood_unit::Column::Status.eq(UnitStatus::Available))
        .exec(db)
        .await?;
    if reserved.rows_affected != ids.len() as u64 {
        return Err(AppError::Conflict(
            "units changed state meanwhile; try again".into(),
        ));
    }
    let accepted = move_request(
        db,
        &req,
        RequestStatus::Pending,
        RequestStatus::Accepted,
        "accept",
        vec![
            (
                blood_request::Column::BloodBankId,
                Expr::value(Some(bank_id)),
            ),
            (blood_request::Column::AcceptedAt, Expr::value(Some(t))),
            (
                blood_request::Column::HoldUntil,
                Expr::value(Some(hold_until)),
            ),
        ],
    )
    .await?;
    let units = record_moves(db, units, UnitStatus::Reserved, req.id, actor, |u| {
        u.reserved_for_request_id = Some(req.id);
        u.reserved_until = Some(hold_until);
    })
    .await?;
    Ok((accepted, units))
}

/// Issues the reserved units of an accepted request (the accepting bank).
async fn issue<C: ConnectionTrait>(
    db: &C,
    request_id: Uuid,
    bank_id: Uuid,
    actor: &Actor,
) -> AppResult<(blood_request::Model, Vec<blood_unit::Model>)> {
    let req = load_locked(db, request_id).await?;
    if req.status == RequestStatus::Accepted && req.blood_bank_id != Some(bank_id) {
        return Err(AppError::Forbidden("another bank accepted this request"));
    }
    let t = now();
    let done = move_request(
        db,
        &req,
        RequestStatus::Accepted,
        RequestStatus::Fulfilled,
        "fulfill",
        vec![
            (blood_request::Column::FulfilledAt, Expr::value(Some(t))),
            (
                blood_request::Column::HoldUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            ),
        ],
    )
    .await?;
    let units = blood_unit::Entity::find()
        .filter(blood_unit::Column::ReservedForRequestId.eq(req.id))
        .filter(blood_unit::Column::Status.eq(UnitStatus::Reserved))
        .all(db)
        .await?;
    // An expired unit is never issued: refuse rather than hand it over.
    if let Some(u) = units.iter().find(|u| u.expires_at <= t) {
        return Err(AppError::Conflict(format!(
            "reserved unit {} expired; cancel and request again",
            u.unit_number
        )));
    }
    blood_unit::Entity::update_many()
        .col_expr(blood_unit::Column::Status, Expr::value(UnitStatus::Issued))
        .col_expr(
            blood_unit::Column::ReservedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(blood_unit::Column::UpdatedAt, Expr::value(t))
        .filter(blood_unit::Column::Id.is_in(units.iter().map(|u| u.id)))
        .exec(db)
        .await?;
    let units = record_moves(db, units, UnitStatus::Issued, req.id, actor, |u| {
        u.reserved_until = None;
    })
    .await?;
    Ok((done, units))
}

/// Records each unit's move to `to` for a request (one statement) and returns the units as
/// they now are, `set` applying the rest of what the update wrote.
async fn record_moves<C: ConnectionTrait>(
    db: &C,
    units: Vec<blood_unit::Model>,
    to: UnitStatus,
    request: Uuid,
    actor: &Actor,
    set: impl Fn(&mut blood_unit::Model),
) -> AppResult<Vec<blood_unit::Model>> {
    let events = units
        .iter()
        .map(|u| unit_event(u, u.status, to, request, None, actor))
        .collect();
    record_events(db, events).await?;
    Ok(units
        .into_iter()
        .map(|mut u| {
            u.status = to;
            set(&mut u);
            u
        })
        .collect())
}

/// Returns a request's reserved units to stock (expired ones become `EXPIRED`).
pub async fn release_units<C: ConnectionTrait>(
    db: &C,
    request_id: Uuid,
    reason: &str,
    actor: &Actor,
) -> AppResult<Vec<blood_unit::Model>> {
    let units = blood_unit::Entity::find()
        .filter(blood_unit::Column::ReservedForRequestId.eq(request_id))
        .filter(blood_unit::Column::Status.eq(UnitStatus::Reserved))
        .all(db)
        .await?;
    if units.is_empty() {
        return Ok(units);
    }
    let t = now();
    let none_uuid: Option<Uuid> = None;
    let none_time: Option<DateTime<Utc>> = None;
    let back_to = Expr::case(
        blood_unit::Column::ExpiresAt.lte(t),
        Expr::value(UnitStatus::Expired),
    )
    .finally(Expr::value(UnitStatus::Available));
    blood_unit::Entity::update_many()
        .col_expr(blood_unit::Column::Status, back_to.into())
        .col_expr(
            blood_unit::Column::ReservedForRequestId,
            Expr::value(none_uuid),
        )
        .col_expr(blood_unit::Column::ReservedUntil, Expr::value(none_time))
        .col_expr(blood_unit::Column::UpdatedAt, Expr::value(t))
        .filter(blood_unit::Column::Id.is_in(units.iter().map(|u| u.id)))
        .filter(blood_unit::Column::Status.eq(UnitStatus::Reserved))
        .exec(db)
        .await?;
    let events = units
        .iter()
        .map(|u| {
            let to = if u.expires_at <= t {
                UnitStatus::Expired
            } else {
                UnitStatus::Available
            };
            unit_event(u, UnitStatus::Reserved, to, request_id, Some(reason), actor)
        })
        .collect();
    record_events(db, events).await?;
    Ok(units
        .into_iter()
        .map(|mut u| {
            u.status = if u.expires_at <= t {
                UnitStatus::Expired
            } else {
                UnitStatus::Available
            };
            u.reserved_for_request_id = None;
            u.reserved_until = None;
            u
        })
        .collect())
}

/// The addressed bank refuses a pending request.
async fn refuse<C: ConnectionTrait>(
    db: &C,
    request_id: Uuid,
    bank_id: Uuid,
    reason: String,
) -> AppResult<blood_request::Model> {
    let req = load_locked(db, request_id).await?;
    if req.target_bank_id != Some(bank_id) {
        return Err(AppError::Forbidden(
            "only the addressed bank can reject; decline an open request instead",
        ));
    }
    move_request(
        db,
        &req,
        RequestStatus::Pending,
        RequestStatus::Rejected,
        "reject",
        vec![
            (blood_request::Column::RejectedAt, Expr::value(Some(now()))),
            (
                blood_request::Column::RejectionReason,
                Expr::value(Some(reason)),
            ),
        ],
    )
    .await
}

/// A bank passes on an open request; it stays `PENDING` for the others.
async fn pass<C: ConnectionTrait>(
    db: &C,
    request_id: Uuid,
    bank_id: Uuid,
    reason: Option<String>,
    actor: &Actor,
) -> AppResult<blood_request::Model> {
    let req = load_locked(db, request_id).await?;
    if req.target_bank_id.is_some() {
        return Err(AppError::bad_input(
            "input.requestId",
            "is addressed to one bank: reject it instead",
        ));
    }
    let bank = bank(db, bank_id).await?;
    bank_may_act(&req, &bank)?;
    if req.status != RequestStatus::Pending {
        return Err(invalid(req.status, "decline"));
    }
    blood_request_decline::ActiveModel {
        id: Set(Uuid::now_v7()),
        request_id: Set(req.id),
        blood_bank_id: Set(bank_id),
        reason: Set(reason),
        declined_by: Set(actor.user_id),
        created_at: Set(now()),
    }
    .insert(db)
    .await
    .map_err(crate::error::unique_violation)?;
    Ok(req)
}

/// The hospital withdraws a pending or accepted request; reserved units go back to stock.
async fn withdraw<C: ConnectionTrait>(
    db: &C,
    request_id: Uuid,
    hospital_id: Uuid,
    reason: String,
    actor: &Actor,
) -> AppResult<(blood_request::Model, Vec<blood_unit::Model>)> {
    let req = load_locked(db, request_id).await?;
    if req.hospital_id != hospital_id {
        return Err(AppError::NotFound("blood request"));
    }
    let from = match req.status {
        RequestStatus::Pending | RequestStatus::Accepted => req.status,
        other => return Err(invalid(other, "cancel")),
    };
    let done = move_request(
        db,
        &req,
        from,
        RequestStatus::Cancelled,
        "cancel",
        vec![
            (blood_request::Column::CancelledAt, Expr::value(Some(now()))),
            (
                blood_request::Column::CancellationReason,
                Expr::value(Some(reason)),
            ),
            (
                blood_request::Column::HoldUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            ),
        ],
    )
    .await?;
    let released = release_units(db, req.id, "request cancelled", actor).await?;
    Ok((done, released))
}

/// Accepts a request for a bank: reserves its units (see [`reserve`]); the request's
/// emergency alerts resolve, and the bank's stock thresholds are checked.
pub async fn accept<C: ConnectionTrait>(
    db: &C,
    hold: Duration,
    cmd: AcceptBloodRequest,
    actor: &Actor,
) -> AppResult<(blood_request::Model, Change)> {
    let (r, units) = reserve(db, cmd.request_id, cmd.bank_id, hold, actor).await?;
    alerts::resolve_related(db, r.id, &REQUEST_ALERTS).await?;
    let combos: Vec<_> = units.iter().map(|u| (u.blood_group, u.component)).collect();
    let mut events = alerts::check_stock(db, cmd.bank_id, &combos).await?;
    events.push(alerts::request_event(&r));
    let change = Change {
        new: Some(
            json!({"status": r.status, "bloodBankId": cmd.bank_id, "holdUntil": r.hold_until,
                         "units": units.iter().map(|u| json!({"id": u.id, "unitNumber": u.unit_number, "bloodGroup": u.blood_group})).collect::<Vec<_>>()}),
        ),
        old: Some(json!({"status": "PENDING"})),
        events,
        ..Change::default()
    };
    Ok((r, change))
}

/// The accepting bank issues the reserved units.
pub async fn fulfill<C: ConnectionTrait>(
    db: &C,
    cmd: FulfillBloodRequest,
    actor: &Actor,
) -> AppResult<(blood_request::Model, Change)> {
    let (r, units) = issue(db, cmd.request_id, cmd.bank_id, actor).await?;
    let change = Change {
        old: Some(json!({"status": "ACCEPTED"})),
        new: Some(
            json!({"status": r.status, "issued": units.iter().map(|u| u.id).collect::<Vec<_>>()}),
        ),
        events: vec![alerts::request_event(&r)],
        ..Change::default()
    };
    Ok((r, change))
}

/// The addressed bank refuses a pending request; its emergency alerts resolve.
pub async fn reject<C: ConnectionTrait>(
    db: &C,
    request_id: Uuid,
    bank_id: Uuid,
    reason: Option<Text>,
) -> AppResult<(blood_request::Model, Change)> {
    let reason = reason.map(Text::into_inner).unwrap_or_default();
    let r = refuse(db, request_id, bank_id, reason).await?;
    alerts::resolve_related(db, r.id, &REQUEST_ALERTS).await?;
    let change = Change {
        old: Some(json!({"status": "PENDING"})),
        new: Some(request_json(&r)),
        events: vec![alerts::request_event(&r)],
        ..Change::default()
    };
    Ok((r, change))
}

/// A bank passes on an open request; it stays open to the others.
pub async fn decline<C: ConnectionTrait>(
    db: &C,
    request_id: Uuid,
    bank_id: Uuid,
    reason: Option<Text>,
    actor: &Actor,
) -> AppResult<(blood_request::Model, Change)> {
    let reason = reason.map(Text::into_inner);
    let r = pass(db, request_id, bank_id, reason.clone(), actor).await?;
    let change = Change {
        new: Some(json!({"declinedBy": bank_id, "reason": reason})),
        ..Change::default()
    };
    Ok((r, change))
}

/// The hospital withdraws a request; reserved units return to stock (and the bank's
/// thresholds are checked again), its emergency alerts resolve.
pub async fn cancel<C: ConnectionTrait>(
    db: &C,
    cmd: CancelBloodRequest,
    actor: &Actor,
) -> AppResult<(blood_request::Model, Change)> {
    let reason = cmd.reason.into_inner();
    let (r, released) = withdraw(db, cmd.request_id, cmd.hospital_id, reason, actor).await?;
    alerts::resolve_related(db, r.id, &REQUEST_ALERTS).await?;
    let mut events = Vec::new();
    if let Some(bank) = released.first().map(|u| u.blood_bank_id) {
        let combos: Vec<_> = released
            .iter()
            .map(|u| (u.blood_group, u.component))
            .collect();
        events = alerts::check_stock(db, bank, &combos).await?;
    }
    events.push(alerts::request_event(&r));
    let change = Change {
        new: Some(
            json!({"status": r.status, "reason": r.cancellation_reason, "released": released.iter().map(|u| u.id).collect::<Vec<_>>()}),
        ),
        events,
        ..Change::default()
    };
    Ok((r, change))
}

/// Returns lapsed holds to `PENDING` and their units to stock. With several instances, each
/// request is taken by one (`FOR UPDATE SKIP LOCKED` on Postgres). Answers the requests and
/// the units returned, so the caller re-checks exactly the stock they changed.
pub async fn release_lapsed_holds<C: ConnectionTrait>(
    db: &C,
    limit: u64,
) -> AppResult<(Vec<Uuid>, Vec<blood_unit::Model>)> {
    let t = now();
    let q = blood_request::Entity::find()
        .filter(blood_request::Column::Status.eq(RequestStatus::Accepted))
        .filter(blood_request::Column::HoldUntil.lte(t))
        .order_by_asc(blood_request::Column::HoldUntil)
        .limit(limit);
    let q = crate::db::skip_locked(db, q);
    let lapsed = q.all(db).await?;
    let system = Actor {
        user_id: None,
        api_client_id: None,
        role: "SYSTEM".into(),
        organization_id: None,
    };
    let (mut done, mut returned) = (Vec::new(), Vec::new());
    for req in lapsed {
        move_request(
            db,
            &req,
            RequestStatus::Accepted,
            RequestStatus::Pending,
            "lapse",
            vec![
                (
                    blood_request::Column::BloodBankId,
                    Expr::value(Option::<Uuid>::None),
                ),
                (
                    blood_request::Column::HoldUntil,
                    Expr::value(Option::<DateTime<Utc>>::None),
                ),
                (
                    blood_request::Column::AcceptedAt,
                    Expr::value(Option::<DateTime<Utc>>::None),
                ),
            ],
        )
        .await?;
        returned.extend(release_units(db, req.id, "reservation hold lapsed", &system).await?);
        done.push(req.id);
    }
    Ok((done, returned))
}

/// Expires pending requests whose `neededBy` has passed, each claimed with a conditional
/// update (and `SKIP LOCKED` on Postgres) so that with several instances a request expires,
/// and is announced, once; its emergency alerts resolve with it (their cause is gone).
pub async fn expire_overdue<C: ConnectionTrait>(db: &C, limit: u64) -> AppResult<Vec<Event>> {
    let t = now();
    let q = blood_request::Entity::find()
        .filter(blood_request::Column::Status.eq(RequestStatus::Pending))
        .filter(blood_request::Column::NeededBy.lte(t))
        // The order of `ix_requests_overdue` (status, needed_by, id), so a pass reads the
        // overdue requests only, never every pending one (ordered by id it walked them all).
        .order_by_asc(blood_request::Column::NeededBy)
        .order_by_asc(blood_request::Column::Id)
        .limit(limit);
    let q = crate::db::skip_locked(db, q);
    let mut events = Vec::new();
    for mut r in q.all(db).await? {
        let claimed = blood_request::Entity::update_many()
            .col_expr(
                blood_request::Column::Status,
                Expr::value(RequestStatus::Expired),
            )
            .col_expr(blood_request::Column::ExpiredAt, Expr::value(Some(t)))
            .col_expr(blood_request::Column::UpdatedAt, Expr::value(t))
            .filter(blood_request::Column::Id.eq(r.id))
            .filter(blood_request::Column::Status.eq(RequestStatus::Pending))
            .exec(db)
            .await?;
        if claimed.rows_affected != 1 {
            continue;
        }
        alerts::resolve_related(db, r.id, &REQUEST_ALERTS).await?;
        r.status = RequestStatus::Expired;
        events.push(alerts::request_event(&r));
    }
    Ok(events)
}

/// Units of `status` whose expiry is at or before `t`, soonest first: one range of
/// `ix_blood_units_status_expiry` (status, expires_at) in its order. Without the order, and
/// with both statuses in one `IN`, Postgres expected a tenth of all units to match (most
/// past-expiry units are issued or expired, which it cannot know) and scanned the table for
/// the first few, every sweep.
pub fn past_expiry(status: UnitStatus, t: DateTime<Utc>) -> sea_orm::Select<blood_unit::Entity> {
    blood_unit::Entity::find()
        .filter(blood_unit::Column::Status.eq(status))
        .filter(blood_unit::Column::ExpiresAt.lte(t))
        .order_by_asc(blood_unit::Column::ExpiresAt)
}

/// Marks available or quarantined units past expiry as `EXPIRED`, recording their events.
pub async fn expire_units<C: ConnectionTrait>(db: &C, limit: u64) -> AppResult<u64> {
    let t = now();
    let mut units = Vec::new();
    for status in [UnitStatus::Available, UnitStatus::Quarantined] {
        let left = limit.saturating_sub(units.len() as u64);
        if left == 0 {
            break;
        }
        units.extend(
            crate::db::skip_locked(db, past_expiry(status, t).limit(left))
                .all(db)
                .await?,
        );
    }
    if units.is_empty() {
        return Ok(0);
    }
    blood_unit::Entity::update_many()
        .col_expr(blood_unit::Column::Status, Expr::value(UnitStatus::Expired))
        .col_expr(blood_unit::Column::UpdatedAt, Expr::value(t))
        .filter(blood_unit::Column::Id.is_in(units.iter().map(|u| u.id)))
        .exec(db)
        .await?;
    let system = Actor {
        user_id: None,
        api_client_id: None,
        role: "SYSTEM".into(),
        organization_id: None,
    };
    let events = units
        .iter()
        .map(|u| blood_unit_event::ActiveModel {
            id: Set(Uuid::now_v7()),
            unit_id: Set(u.id),
            blood_bank_id: Set(u.blood_bank_id),
            from_status: Set(Some(u.status)),
            to_status: Set(UnitStatus::Expired),
            request_id: Set(None),
            actor_user_id: Set(system.user_id),
            actor_api_client_id: Set(None),
            reason: Set(Some(format!("expired ({})", u.status.wire_name()))),
            created_at: Set(t),
        })
        .collect();
    record_events(db, events).await?;
    Ok(units.len() as u64)
}

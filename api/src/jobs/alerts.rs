//! The alerting steps of the sweep: escalation of unanswered emergencies, units about to
//! expire, lapsed holds. Each step claims its rows ([`db::skip_locked`], [`db::claim`]: a
//! conditional update, and `SKIP LOCKED` on Postgres), so with several instances every step
//! happens exactly once.

use crate::{
    alerts::service::{self as alerts, AlertContent, NewAlert, Target},
    blood::compatibility,
    config::Config,
    db::{self, now},
    error::AppResult,
    events::Event,
};
use entity::{
    AlertKind, BloodGroup, Component, OrgKind, RequestStatus, Severity, UnitStatus, Urgency,
    blood_request, blood_unit,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr,
};
use std::collections::HashMap;
use uuid::Uuid;

const BATCH: u64 = 200;

/// Moves unanswered EMERGENCY and CRITICAL requests up one escalation level when their time
/// comes: widen the radius and alert the banks again, then alert NGOs, then super admins.
pub async fn escalate<C: ConnectionTrait>(db: &C, config: &Config) -> AppResult<Vec<Event>> {
    let t = now();
    let steps = [
        (0, config.escalation_widen_after),
        (1, config.escalation_ngo_after),
        (2, config.escalation_delayed_after),
    ];
    let mut events = Vec::new();
    for (level, after) in steps {
        let due = t - chrono::Duration::from_std(after).unwrap_or_default();
        let q = blood_request::Entity::find()
            .filter(blood_request::Column::Status.eq(RequestStatus::Pending))
            .filter(blood_request::Column::Urgency.is_in([Urgency::Emergency, Urgency::Critical]))
            .filter(blood_request::Column::EscalationLevel.eq(level))
            .filter(blood_request::Column::CreatedAt.lte(due))
            .order_by_asc(blood_request::Column::Id)
            .limit(BATCH);
        for r in db::skip_locked(db, q).all(db).await? {
            let radius = if level == 0 {
                r.radius_km.max(config.escalation_radius_km)
            } else {
                r.radius_km
            };
            let claimed = blood_request::Entity::update_many()
                .col_expr(
                    blood_request::Column::EscalationLevel,
                    Expr::value(level + 1),
                )
                .col_expr(blood_request::Column::RadiusKm, Expr::value(radius))
                .col_expr(blood_request::Column::UpdatedAt, Expr::value(t))
                .filter(blood_request::Column::Id.eq(r.id))
                .filter(blood_request::Column::EscalationLevel.eq(level))
                .filter(blood_request::Column::Status.eq(RequestStatus::Pending))
                .exec(db)
                .await?;
            if claimed.rows_affected != 1 {
                continue;
            }
            let mut r = r;
            r.escalation_level = level + 1;
            r.radius_km = radius;
            match level {
                0 => events
                    .extend(alerts::emergency_alert(db, &r, radius, OrgKind::BloodBank).await?),
                1 => {
                    events.extend(alerts::emergency_alert(db, &r, radius, OrgKind::Ngo).await?);
                    // The NGO step also calls the opted-in donors near the patient.
                    events.extend(crate::callouts::service::at_escalation(db, config, &r).await?);
                }
                _ => events.extend(
                    alerts::raise(
                        db,
                        NewAlert {
                            content: AlertContent::new(
                                AlertKind::DelayedEmergency,
                                Severity::Critical,
                                format!(
                                    "Unanswered emergency: {} units of {} {}",
                                    r.units_required,
                                    compatibility::label(r.blood_group),
                                    alerts::component_name(r.component)
                                ),
                                format!(
                                    "Pending since {}; banks within {radius} km and NGOs were alerted.",
                                    r.created_at.format("%H:%M UTC")
                                ),
                            )
                            .about(r.blood_group, r.component),
                            organization_id: Some(r.hospital_id),
                            location: Some((r.latitude, r.longitude)),
                            radius_km: Some(radius),
                            related: Some(("blood_request", r.id)),
                            target: Target::SuperAdmins,
                        },
                    )
                    .await?,
                ),
            }
            events.push(alerts::request_event(&r));
        }
    }
    Ok(events)
}

/// Alerts each bank once about its available units expiring within 3 days.
pub async fn expiry_soon<C: ConnectionTrait>(db: &C) -> AppResult<Vec<Event>> {
    let t = now();
    let q = blood_unit::Entity::find()
        .filter(blood_unit::Column::Status.eq(UnitStatus::Available))
        .filter(blood_unit::Column::ExpiresAt.gt(t))
        .filter(blood_unit::Column::ExpiresAt.lte(t + chrono::Duration::days(3)))
        .filter(blood_unit::Column::ExpiryAlertedAt.is_null())
        .limit(1000);
    let alerted = blood_unit::Entity::update_many()
        .col_expr(blood_unit::Column::ExpiryAlertedAt, Expr::value(Some(t)))
        .filter(blood_unit::Column::ExpiryAlertedAt.is_null());
    let (units, claimed) = db::claim(db, q, blood_unit::Column::Id, |u| u.id, alerted).await?;
    if claimed == 0 {
        return Ok(Vec::new());
    }
    let mut by_bank: HashMap<Uuid, Vec<&blood_unit::Model>> = HashMap::new();
    for u in &units {
        by_bank.entry(u.blood_bank_id).or_default().push(u);
    }
    let mut events = Vec::new();
    for (bank, list) in by_bank {
        let soonest = list.iter().map(|u| u.expires_at).min().unwrap_or(t);
        events.extend(
            alerts::raise(
                db,
                NewAlert {
                    content: AlertContent::new(
                        AlertKind::ExpirySoon,
                        Severity::Warning,
                        format!("{} units expire within 3 days", list.len()),
                        format!(
                            "Units {} expire from {}; issue them first.",
                            list.iter()
                                .take(10)
                                .map(|u| u.unit_number.as_str())
                                .collect::<Vec<_>>()
                                .join(", "),
                            soonest.format("%Y-%m-%d %H:%M UTC")
                        ),
                    ),
                    organization_id: Some(bank),
                    location: None,
                    radius_km: None,
                    related: None,
                    target: Target::Orgs(vec![bank]),
                },
            )
            .await?,
        );
    }
    Ok(events)
}

/// HOLD_LAPSED for each request whose hold lapsed, to its hospital, and the emergency alert
/// again for emergencies (the request is open again).
pub async fn lapsed<C: ConnectionTrait>(db: &C, ids: &[Uuid]) -> AppResult<Vec<Event>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = blood_request::Entity::find()
        .filter(blood_request::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    let mut events = Vec::new();
    for r in rows {
        events.extend(
            alerts::raise(
                db,
                NewAlert {
                    content: AlertContent::new(
                        AlertKind::HoldLapsed,
                        Severity::Warning,
                        format!("Reservation lapsed for {}", r.patient_reference),
                        "The accepting bank did not issue the units in time; the request is pending again.".into(),
                    )
                    .about(r.blood_group, r.component),
                    organization_id: Some(r.hospital_id),
                    location: Some((r.latitude, r.longitude)),
                    radius_km: None,
                    related: Some(("blood_request", r.id)),
                    target: Target::Orgs(vec![r.hospital_id]),
                },
            )
            .await?,
        );
        events.extend(alerts::emergency_alert(db, &r, r.radius_km, OrgKind::BloodBank).await?);
        events.push(alerts::request_event(&r));
    }
    Ok(events)
}

/// The (group, component) pairs, per bank, whose available stock the sweep is about to
/// change: units whose expiry has passed (stock falls with time, not only with mutations) and
/// reserved units whose hold has lapsed (they return to stock). Read before the sweep moves
/// them; [`check_stock_changes`] then re-checks those thresholds (`check_stock` counts only
/// unexpired available units, and its conditional update keeps it to one alert per crossing
/// however many instances sweep).
pub async fn stock_changes<C: ConnectionTrait>(
    db: &C,
) -> AppResult<HashMap<Uuid, Vec<(BloodGroup, Component)>>> {
    let t = now();
    let keys = |q: sea_orm::Select<blood_unit::Entity>| {
        q.select_only()
            .column(blood_unit::Column::BloodBankId)
            .column(blood_unit::Column::BloodGroup)
            .column(blood_unit::Column::Component)
            .limit(BATCH)
            .into_tuple::<(Uuid, BloodGroup, Component)>()
    };
    // Two statements, each one index range (an `OR` of both made Postgres read every unit
    // for the few it wanted, every sweep): the available units the sweep expires (the same
    // soonest-first range `expire_units` takes) and the lapsed holds.
    let mut rows = keys(crate::requests::service::past_expiry(
        UnitStatus::Available,
        t,
    ))
    .all(db)
    .await?;
    rows.extend(
        keys(
            blood_unit::Entity::find()
                .filter(blood_unit::Column::Status.eq(UnitStatus::Reserved))
                .filter(blood_unit::Column::ReservedUntil.lte(t)),
        )
        .all(db)
        .await?,
    );
    let mut by_bank: HashMap<Uuid, Vec<(BloodGroup, Component)>> = HashMap::new();
    for (bank, group, component) in rows {
        let combos = by_bank.entry(bank).or_default();
        if !combos.contains(&(group, component)) {
            combos.push((group, component));
        }
    }
    Ok(by_bank)
}

/// Re-checks the thresholds of the pairs [`stock_changes`] found: STOCK_CRITICAL when expiry
/// took stock below, resolution when released units brought it back.
pub async fn check_stock_changes<C: ConnectionTrait>(
    db: &C,
    pairs: HashMap<Uuid, Vec<(BloodGroup, Component)>>,
) -> AppResult<Vec<Event>> {
    let mut events = Vec::new();
    for (bank, combos) in pairs {
        events.extend(alerts::check_stock(db, bank, &combos).await?);
    }
    Ok(events)
}

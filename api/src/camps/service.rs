//! Camp use cases: creating a camp with its slots, the camp state machine, registrations
//! without overbooking, and attendance (a donation goes through the donors' own use case).
//! Each does the whole workflow on the caller's transaction (notifications, the audit
//! `Change`, the `campChanged` events), so the pipeline, `seed`, the benchmarks and tests
//! share the same rules.
//!
//! What keeps a slot from being overbooked is the database: a place is taken with
//! `UPDATE camp_slots SET booked = booked + 1 WHERE id = ? AND booked < capacity` (on Postgres
//! the row lock makes a concurrent booking wait and re-check the condition), behind a check
//! constraint `booked <= capacity`; a donor's second active registration in a camp breaks a
//! partial unique index.

use crate::{
    alerts::service::{NewNotification, notify},
    audit::Change,
    auth::{Actor, Viewer, camps as rules},
    blood::eligibility::{self, RuleSet},
    consultations::slots,
    db::now,
    donors::service::{self as donors, NewDonation},
    error::{AppError, AppResult, unique_violation},
    events::{CampEvent, Event, SlotPlaces},
    rewards::service as rewards,
    validation::GeoPoint,
};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use entity::{
    BloodGroup, CampStatus, DriveStatus, Eligibility, NotificationKind, OrgKind, OrgStatus,
    RegistrationStatus, Severity, UnitStatus, WireName, blood_unit, camp, camp_registration,
    camp_slot, donation, donor, drive, organization,
};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;
use uuid::Uuid;

/// Most days one camp spans.
pub const MAX_DAYS: i64 = 31;
/// Most slots one camp holds.
pub const MAX_SLOTS: usize = 2000;

/// Blood groups as stored: wire names between commas, so one `LIKE` finds a group.
pub fn groups_text(groups: &[BloodGroup]) -> String {
    if groups.is_empty() {
        return String::new();
    }
    let mut names: Vec<String> = groups.iter().map(WireName::wire_name).collect();
    names.sort();
    names.dedup();
    format!(",{},", names.join(","))
}

/// Blood groups as stored, read back.
pub fn parse_groups(text: &str) -> Vec<BloodGroup> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .filter_map(|s| serde_json::from_value(json!(s)).ok())
        .collect()
}

fn camp_json(c: &camp::Model) -> serde_json::Value {
    json!({"status": c.status, "name": c.name, "venue": c.venue, "city": c.city,
           "startsOn": c.starts_on, "endsOn": c.ends_on, "bloodBankId": c.blood_bank_id,
           "driveId": c.drive_id, "actualDonors": c.actual_donors, "actualUnits": c.actual_units})
}

fn registration_json(r: &camp_registration::Model) -> serde_json::Value {
    json!({"status": r.status, "campId": r.camp_id, "slotId": r.slot_id, "donorId": r.donor_id,
           "unitsCollected": r.units_collected})
}

/// What an act of an organization's member writes to the audit row.
fn acting(actor: Option<&Actor>, org: Uuid) -> Change {
    Change {
        organization_id: actor.and(Some(org)),
        actor_role: actor.map(|a| a.role.clone()),
        ..Change::default()
    }
}

fn camp_event(c: &camp::Model, slot: Option<&camp_slot::Model>) -> Event {
    Event::CampChanged(CampEvent {
        camp_id: c.id,
        status: c.status,
        slot: slot.map(|s| SlotPlaces {
            slot_id: s.id,
            booked: s.booked,
            capacity: s.capacity,
        }),
        at: now(),
    })
}

/// The camp's time zone, as stored (checked when the camp was created).
fn zone(c: &camp::Model) -> AppResult<Tz> {
    c.time_zone
        .parse()
        .map_err(|_| AppError::internal(format!("camp {} has an unknown zone", c.id)))
}

// ---------------------------------------------------------------- camps

/// A camp to create, checked (`TryFrom` of its input).
#[derive(Debug, Clone)]
pub struct NewCamp {
    /// The organizing NGO (the command's rule checked the caller acts for it).
    pub organization_id: Uuid,
    pub blood_bank_id: Uuid,
    pub drive_id: Option<Uuid>,
    pub name: String,
    pub description: Option<String>,
    pub venue: String,
    pub address: Option<String>,
    pub city: String,
    pub location: GeoPoint,
    pub zone: Tz,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub daily_start: NaiveTime,
    pub daily_end: NaiveTime,
    pub slot_minutes: i32,
    pub slot_capacity: i32,
    pub blood_groups: Vec<BloodGroup>,
    pub expected_donors: Option<i32>,
}

/// The slots of a camp, `[start, end)` in UTC: for each day from `starts_on` to `ends_on`,
/// every `slot_minutes` from `daily_start` to `daily_end` in the camp's zone, those not yet
/// started at `now`. Empty input fields are refused by the command before this runs.
pub fn camp_slots(c: &NewCamp, now: DateTime<Utc>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let step = Duration::minutes(i64::from(c.slot_minutes));
    c.starts_on
        .iter_days()
        .take_while(|d| *d <= c.ends_on)
        .flat_map(|d| slots::day_slots(c.zone, d, c.daily_start, c.daily_end, step))
        .filter(|(s, _)| *s > now)
        .collect()
}

/// Creates a camp `SCHEDULED` with its slots. The partner must be an approved blood bank; a
/// drive named must be this NGO's, accepted.
pub async fn create_camp<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    new: NewCamp,
) -> AppResult<(camp::Model, Change)> {
    let t = now();
    let times = camp_slots(&new, t);
    let (Some(first), Some(last)) = (times.first(), times.last()) else {
        return Err(AppError::bad_input(
            "input.startsOn",
            "every slot of the camp would be in the past",
        ));
    };
    if times.len() > MAX_SLOTS {
        return Err(AppError::bad_input(
            "input.slotMinutes",
            format!("the camp would have more than {MAX_SLOTS} slots"),
        ));
    }
    let bank = organization::Entity::find_by_id(new.blood_bank_id)
        .filter(organization::Column::Kind.eq(OrgKind::BloodBank))
        .filter(organization::Column::Status.eq(OrgStatus::Approved))
        .one(db)
        .await?;
    if bank.is_none() {
        return Err(AppError::bad_input(
            "input.bloodBankId",
            "is not an approved blood bank",
        ));
    }
    if let Some(d) = new.drive_id {
        let ok = drive::Entity::find_by_id(d)
            .filter(drive::Column::NgoId.eq(new.organization_id))
            .filter(drive::Column::Status.eq(DriveStatus::Accepted))
            .one(db)
            .await?;
        if ok.is_none() {
            return Err(AppError::bad_input(
                "input.driveId",
                "is not an accepted drive of this NGO",
            ));
        }
    }
    let c = camp::Model {
        id: Uuid::now_v7(),
        organization_id: new.organization_id,
        blood_bank_id: new.blood_bank_id,
        drive_id: new.drive_id,
        name: new.name.clone(),
        description: new.description.clone(),
        venue: new.venue.clone(),
        address: new.address.clone(),
        city: new.city.clone(),
        latitude: new.location.latitude,
        longitude: new.location.longitude,
        time_zone: new.zone.name().to_string(),
        starts_on: new.starts_on,
        ends_on: new.ends_on,
        daily_start: new.daily_start,
        daily_end: new.daily_end,
        slot_minutes: new.slot_minutes,
        slot_capacity: new.slot_capacity,
        starts_at: first.0,
        ends_at: last.1,
        blood_groups_needed: groups_text(&new.blood_groups),
        expected_donors: new.expected_donors,
        actual_donors: None,
        actual_units: None,
        status: CampStatus::Scheduled,
        cancellation_reason: None,
        created_by: actor
            .user_id
            .ok_or(AppError::Forbidden("only users create camps"))?,
        started_at: None,
        completed_at: None,
        cancelled_at: None,
        created_at: t,
        updated_at: t,
    };
    camp::Entity::insert(camp::ActiveModel::from(c.clone()))
        .exec(db)
        .await?;
    let rows: Vec<camp_slot::ActiveModel> = times
        .iter()
        .map(|(s, e)| camp_slot::ActiveModel {
            id: Set(Uuid::now_v7()),
            camp_id: Set(c.id),
            starts_at: Set(*s),
            ends_at: Set(*e),
            capacity: Set(new.slot_capacity),
            booked: Set(0),
            created_at: Set(t),
        })
        .collect();
    for chunk in rows.chunks(500) {
        camp_slot::Entity::insert_many(chunk.to_vec())
            .exec(db)
            .await?;
    }
    let change = Change {
        entity_id: Some(c.id),
        new: Some(json!({"camp": camp_json(&c), "slots": times.len()})),
        ..Change::default()
    };
    Ok((c, change))
}

/// Changes of `updateCamp`, each `None` when left as it is.
#[derive(Debug, Default, Clone)]
pub struct CampChanges {
    pub name: Option<String>,
    /// `Some(None)` clears it.
    pub description: Option<Option<String>>,
    pub venue: Option<String>,
    pub address: Option<Option<String>>,
    pub city: Option<String>,
    pub location: Option<GeoPoint>,
    pub blood_groups: Option<Vec<BloodGroup>>,
    pub expected_donors: Option<i32>,
}

impl CampChanges {
    /// Whether the camp moves (its donors are told).
    fn moves(&self) -> bool {
        self.venue.is_some()
            || self.address.is_some()
            || self.city.is_some()
            || self.location.is_some()
    }
}

/// A camp, or `NOT_FOUND`.
pub async fn find_camp<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<camp::Model> {
    camp::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("camp"))
}

/// A camp's earliest slot, if it has any.
pub async fn first_slot<C: ConnectionTrait>(db: &C, camp: Uuid) -> AppResult<Option<Uuid>> {
    Ok(camp_slot::Entity::find()
        .select_only()
        .column(camp_slot::Column::Id)
        .filter(camp_slot::Column::CampId.eq(camp))
        .order_by_asc(camp_slot::Column::StartsAt)
        .into_tuple()
        .one(db)
        .await?)
}

/// The organizing NGO of a camp, for the rule of the commands that name it (`None` when it
/// does not exist: the use case then answers `NOT_FOUND`).
pub async fn camp_org<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<Option<Uuid>> {
    Ok(camp::Entity::find_by_id(id)
        .select_only()
        .column(camp::Column::OrganizationId)
        .into_tuple()
        .one(db)
        .await?)
}

/// Updates a scheduled or ongoing camp's details; moving it (venue, address, city or place)
/// notifies the donors registered.
pub async fn update_camp<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    changes: CampChanges,
) -> AppResult<(camp::Model, Change)> {
    let before = find_camp(db, id).await?;
    if !before.status.open() {
        return Err(AppError::InvalidTransition {
            from: before.status.wire_name(),
            to: "update".into(),
        });
    }
    let mut c = before.clone();
    let moves = changes.moves();
    if let Some(v) = changes.name {
        c.name = v;
    }
    if let Some(v) = changes.description {
        c.description = v;
    }
    if let Some(v) = changes.venue {
        c.venue = v;
    }
    if let Some(v) = changes.address {
        c.address = v;
    }
    if let Some(v) = changes.city {
        c.city = v;
    }
    if let Some(p) = changes.location {
        c.latitude = p.latitude;
        c.longitude = p.longitude;
    }
    if let Some(g) = changes.blood_groups {
        c.blood_groups_needed = groups_text(&g);
    }
    if let Some(e) = changes.expected_donors {
        c.expected_donors = Some(e);
    }
    c.updated_at = now();
    let res = camp::Entity::update_many()
        .set(camp::ActiveModel::from(c.clone()).reset_all())
        .filter(camp::Column::Id.eq(c.id))
        .filter(camp::Column::Status.eq(before.status))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(AppError::Conflict(
            "the camp changed meanwhile; try again".into(),
        ));
    }
    let mut events = Vec::new();
    if moves {
        let body = format!("{} has moved: now at {}, {}.", c.name, c.venue, c.city);
        events.extend(tell_registered(db, &c, "Camp moved", body).await?);
    }
    let change = Change {
        entity_id: Some(c.id),
        old: Some(camp_json(&before)),
        new: Some(camp_json(&c)),
        events,
        ..Change::default()
    };
    Ok((c, change))
}

/// Notifies the donors (with an account) still registered for a camp.
async fn tell_registered<C: ConnectionTrait>(
    db: &C,
    c: &camp::Model,
    title: &str,
    body: String,
) -> AppResult<Vec<Event>> {
    let donors: Vec<Uuid> = camp_registration::Entity::find()
        .select_only()
        .column(camp_registration::Column::DonorId)
        .filter(camp_registration::Column::CampId.eq(c.id))
        .filter(camp_registration::Column::Status.eq(RegistrationStatus::Registered))
        .into_tuple()
        .all(db)
        .await?;
    if donors.is_empty() {
        return Ok(Vec::new());
    }
    let users: Vec<Option<Uuid>> = donor::Entity::find()
        .select_only()
        .column(donor::Column::UserId)
        .filter(donor::Column::Id.is_in(donors))
        .into_tuple()
        .all(db)
        .await?;
    let notes = users
        .into_iter()
        .flatten()
        .map(|u| NewNotification {
            user_id: u,
            kind: NotificationKind::CampUpdate,
            priority: Severity::Warning,
            title: title.to_string(),
            body: body.clone(),
            related: Some(("camp", c.id)),
        })
        .collect();
    notify(db, notes).await
}

/// The camp state machine: `SCHEDULED → ONGOING → COMPLETED`, `SCHEDULED | ONGOING →
/// CANCELLED`; anything else is `INVALID_TRANSITION`.
pub fn allowed(from: CampStatus, to: CampStatus) -> bool {
    use CampStatus::*;
    matches!(
        (from, to),
        (Scheduled, Ongoing) | (Ongoing, Completed) | (Scheduled | Ongoing, Cancelled)
    )
}

/// Moves a camp to `to` with a conditional update on the state it was read in, so a
/// concurrent move makes this one fail instead of overwriting it. Completing computes actual
/// donors and units from attendance; cancelling withdraws the registrations still held and
/// tells those donors (`reason` says why).
pub async fn move_camp<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    to: CampStatus,
    reason: Option<String>,
) -> AppResult<(camp::Model, Change)> {
    // Locked (Postgres) before the registrations are read or withdrawn: a registration
    // holds a share lock on the camp, so none can slip in between (see `camp_for_booking`).
    let before = crate::db::find_locked::<camp::Entity, _>(db, id)
        .await?
        .ok_or(AppError::NotFound("camp"))?;
    let refuse = |from: CampStatus| AppError::InvalidTransition {
        from: from.wire_name(),
        to: to.wire_name(),
    };
    if !allowed(before.status, to) {
        return Err(refuse(before.status));
    }
    let t = now();
    let mut c = before.clone();
    c.status = to;
    c.updated_at = t;
    let mut events = Vec::new();
    match to {
        CampStatus::Ongoing => c.started_at = Some(t),
        CampStatus::Completed => {
            let attended = camp_registration::Entity::find()
                .filter(camp_registration::Column::CampId.eq(id))
                .filter(camp_registration::Column::Status.eq(RegistrationStatus::Attended))
                .all(db)
                .await?;
            c.completed_at = Some(t);
            c.actual_donors = Some(i32::try_from(attended.len()).unwrap_or(i32::MAX));
            c.actual_units = Some(attended.iter().map(|r| r.units_collected).sum());
        }
        CampStatus::Cancelled => {
            c.cancelled_at = Some(t);
            c.cancellation_reason = reason.clone();
            let body = format!(
                "{} on {} is cancelled: {}",
                c.name,
                c.starts_on,
                reason.as_deref().unwrap_or("no reason given")
            );
            // Told before their registrations are withdrawn, which is how they are found.
            events.extend(tell_registered(db, &c, "Camp cancelled", body).await?);
            camp_registration::Entity::update_many()
                .col_expr(
                    camp_registration::Column::Status,
                    Expr::value(RegistrationStatus::Cancelled),
                )
                .col_expr(camp_registration::Column::UpdatedAt, Expr::value(t))
                .filter(camp_registration::Column::CampId.eq(id))
                .filter(camp_registration::Column::Status.eq(RegistrationStatus::Registered))
                .exec(db)
                .await?;
        }
        CampStatus::Scheduled => {}
    }
    let res = camp::Entity::update_many()
        .set(camp::ActiveModel::from(c.clone()).reset_all())
        .filter(camp::Column::Id.eq(id))
        .filter(camp::Column::Status.eq(before.status))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        let now_status = find_camp(db, id).await?.status;
        return Err(refuse(now_status));
    }
    events.push(camp_event(&c, None));
    let change = Change {
        entity_id: Some(c.id),
        old: Some(camp_json(&before)),
        new: Some(camp_json(&c)),
        events,
        ..Change::default()
    };
    Ok((c, change))
}

// ---------------------------------------------------------------- registrations

/// A camp read for a registration: on Postgres with a share lock, so a concurrent
/// cancellation (which updates the row) waits for the registration or the registration
/// for it, and no registration is left held in a cancelled camp. Registrations do not block
/// each other on it.
async fn camp_for_booking<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<camp::Model> {
    let mut q = camp::Entity::find_by_id(id);
    if db.get_database_backend() == DbBackend::Postgres {
        q = q.lock_shared();
    }
    q.one(db).await?.ok_or(AppError::NotFound("camp"))
}

/// A registration to make.
#[derive(Debug, Clone, Copy)]
pub struct NewRegistration {
    pub slot_id: Uuid,
    pub donor_id: Uuid,
    pub referred_by: Option<Uuid>,
}

/// Registers a donor for a camp slot (the donor themself, or the camp's NGO for a donor it
/// manages): refused for a camp no longer open, a slot already started, a donor not
/// eligible on the slot's day (naming the rule), a full slot or a donor already registered
/// in the camp.
pub async fn register<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    rules_set: &RuleSet,
    new: NewRegistration,
) -> AppResult<(camp_registration::Model, Change)> {
    let slot = camp_slot::Entity::find_by_id(new.slot_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("camp slot"))?;
    let c = camp_for_booking(db, slot.camp_id).await?;
    let d = donor::Entity::find_by_id(new.donor_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("donor"))?;
    let actor = rules::registrant(viewer, &c, &d)?;
    if !c.status.open() {
        return Err(AppError::bad_input(
            "input.slotId",
            format!(
                "the camp is {} and takes no registrations",
                c.status.wire_name().to_lowercase()
            ),
        ));
    }
    let t = now();
    if slot.starts_at <= t {
        return Err(AppError::bad_input(
            "input.slotId",
            "this slot has already started",
        ));
    }
    if let Some(r) = new.referred_by {
        let known = r != d.id && donor::Entity::find_by_id(r).one(db).await?.is_some();
        if !known {
            return Err(AppError::bad_input(
                "input.referredBy",
                "is not another registered donor",
            ));
        }
    }
    eligible_on(
        rules_set,
        &d,
        slot.starts_at.with_timezone(&zone(&c)?).date_naive(),
    )?;
    let taken = camp_slot::Entity::update_many()
        .col_expr(
            camp_slot::Column::Booked,
            Expr::col(camp_slot::Column::Booked).add(1),
        )
        .filter(camp_slot::Column::Id.eq(slot.id))
        .filter(Expr::col(camp_slot::Column::Booked).lt(Expr::col(camp_slot::Column::Capacity)))
        .exec(db)
        .await?;
    if taken.rows_affected == 0 {
        return Err(AppError::Duplicate {
            field: "input.slotId",
            message: "this slot is full",
        });
    }
    let r = camp_registration::Model {
        id: Uuid::now_v7(),
        camp_id: c.id,
        slot_id: slot.id,
        donor_id: d.id,
        status: RegistrationStatus::Registered,
        units_collected: 0,
        referred_by: new.referred_by,
        registered_by: viewer
            .user_id()
            .ok_or(AppError::Forbidden("only users register"))?,
        donation_id: None,
        recorded_by: None,
        outcome_at: None,
        created_at: t,
        updated_at: t,
    };
    camp_registration::ActiveModel::from(r.clone())
        .insert(db)
        .await
        .map_err(unique_violation)?;
    let places = camp_slot::Entity::find_by_id(slot.id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("camp slot"))?;
    let change = Change {
        entity_id: Some(r.id),
        new: Some(registration_json(&r)),
        events: vec![camp_event(&c, Some(&places))],
        ..acting(actor.as_ref(), c.organization_id)
    };
    Ok((r, change))
}

/// Refuses a donor not eligible on `day`, naming the rule (never the donor's details).
fn eligible_on(rules_set: &RuleSet, d: &donor::Model, day: NaiveDate) -> AppResult<()> {
    if d.eligibility_status == Eligibility::UnderObservation {
        return Err(donors::not_eligible(
            "input.donorId",
            eligibility::Criterion::Deferred,
        ));
    }
    match eligibility::assess(rules_set, &donors::facts(d), day)
        .criteria
        .iter()
        .min()
    {
        Some(c) => Err(donors::not_eligible("input.donorId", *c)),
        None => Ok(()),
    }
}

/// A registration, or `NOT_FOUND`.
async fn find_registration<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
) -> AppResult<camp_registration::Model> {
    camp_registration::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("camp registration"))
}

/// Moves a registration out of `REGISTERED`, conditionally on still being there.
async fn settle<C: ConnectionTrait>(
    db: &C,
    r: &camp_registration::Model,
    to: RegistrationStatus,
    recorded_by: Option<Uuid>,
) -> AppResult<camp_registration::Model> {
    let refuse = |from: RegistrationStatus| AppError::InvalidTransition {
        from: from.wire_name(),
        to: to.wire_name(),
    };
    if r.status != RegistrationStatus::Registered {
        return Err(refuse(r.status));
    }
    let t = now();
    let mut next = r.clone();
    next.status = to;
    next.updated_at = t;
    if to != RegistrationStatus::Cancelled {
        next.outcome_at = Some(t);
        next.recorded_by = recorded_by;
    }
    let res = camp_registration::Entity::update_many()
        .set(camp_registration::ActiveModel::from(next.clone()).reset_all())
        .filter(camp_registration::Column::Id.eq(r.id))
        .filter(camp_registration::Column::Status.eq(RegistrationStatus::Registered))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        let now_status = find_registration(db, r.id).await?.status;
        return Err(refuse(now_status));
    }
    Ok(next)
}

/// Withdraws a registration (the donor themself, or the camp's NGO) and gives its place
/// back to the slot.
pub async fn cancel_registration<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    id: Uuid,
) -> AppResult<(camp_registration::Model, Change)> {
    let r = find_registration(db, id).await?;
    let c = find_camp(db, r.camp_id).await?;
    let d = donor::Entity::find_by_id(r.donor_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("camp registration"))?;
    let actor = rules::may_withdraw(viewer, &c, &d)?;
    let next = settle(db, &r, RegistrationStatus::Cancelled, None).await?;
    camp_slot::Entity::update_many()
        .col_expr(
            camp_slot::Column::Booked,
            Expr::col(camp_slot::Column::Booked).sub(1),
        )
        .filter(camp_slot::Column::Id.eq(r.slot_id))
        .filter(camp_slot::Column::Booked.gt(0))
        .exec(db)
        .await?;
    let places = camp_slot::Entity::find_by_id(r.slot_id).one(db).await?;
    let change = Change {
        entity_id: Some(r.id),
        old: Some(registration_json(&r)),
        new: Some(registration_json(&next)),
        events: vec![camp_event(&c, places.as_ref())],
        ..acting(actor.as_ref(), c.organization_id)
    };
    Ok((next, change))
}

/// What came of a registration, as the camp's staff record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Attended,
    NotAttended,
    Deferred,
    Failed,
}

impl Outcome {
    fn status(self) -> RegistrationStatus {
        match self {
            Self::Attended => RegistrationStatus::Attended,
            Self::NotAttended => RegistrationStatus::NotAttended,
            Self::Deferred => RegistrationStatus::Deferred,
            Self::Failed => RegistrationStatus::Failed,
        }
    }
}

/// What `recordCampAttendance` did: the registration, and the donation with the donor and the
/// units it put in the partner bank's quarantine, when one was recorded.
pub type Attendance = (
    camp_registration::Model,
    Option<(donation::Model, donor::Model, Vec<blood_unit::Model>)>,
);

/// Records what came of a registration at an ongoing camp (the NGO's or the partner bank's
/// staff). `ATTENDED` with a donation records it through the donors' use case: eligibility
/// checked with the day's hemoglobin, the camp set on the donation, the units added to the
/// partner bank's stock as `QUARANTINED` whatever the input said.
pub async fn record_attendance<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    rules_set: &RuleSet,
    id: Uuid,
    outcome: Outcome,
    donation: Option<NewDonation>,
) -> AppResult<(Attendance, Change)> {
    let r = find_registration(db, id).await?;
    let c = find_camp(db, r.camp_id).await?;
    let actor = rules::attendance_recorder(viewer, &c)?;
    if donation.is_some() && outcome != Outcome::Attended {
        return Err(AppError::bad_input(
            "input.donation",
            "only an ATTENDED outcome records a donation",
        ));
    }
    if c.status != CampStatus::Ongoing {
        return Err(AppError::InvalidTransition {
            from: c.status.wire_name(),
            to: "record attendance".into(),
        });
    }
    let mut next = settle(db, &r, outcome.status(), actor.user_id).await?;
    if outcome == Outcome::Attended {
        rewards::camp_attended(db, r.donor_id, r.id).await?;
    }
    let mut given = None;
    let mut events = Vec::new();
    if let Some(mut new) = donation {
        new.camp_id = Some(c.id);
        for u in &mut new.units {
            u.status = UnitStatus::Quarantined;
        }
        let admitted =
            donors::admit_registered(db, c.blood_bank_id, r.donor_id, "input.registrationId")
                .await?;
        let (out, donation_change) =
            donors::record_donation(db, rules_set, admitted, new, &actor).await?;
        events.extend(donation_change.events);
        if let Some(referrer) = r.referred_by
            && out.1.total_donations == 1
        {
            rewards::referral_first_donation(db, referrer, r.donor_id).await?;
        }
        next.donation_id = Some(out.0.id);
        next.units_collected = i32::try_from(out.2.len()).unwrap_or(i32::MAX);
        camp_registration::Entity::update_many()
            .col_expr(
                camp_registration::Column::DonationId,
                Expr::value(next.donation_id),
            )
            .col_expr(
                camp_registration::Column::UnitsCollected,
                Expr::value(next.units_collected),
            )
            .filter(camp_registration::Column::Id.eq(r.id))
            .exec(db)
            .await?;
        given = Some(out);
    }
    let change = Change {
        entity_id: Some(r.id),
        old: Some(registration_json(&r)),
        new: Some(json!({"registration": registration_json(&next),
                         "donationId": next.donation_id})),
        events,
        ..acting(
            Some(&actor),
            actor.organization_id.unwrap_or(c.organization_id),
        )
    };
    Ok(((next, given), change))
}

//! Telehealth use cases: doctor profiles, availability, booking without double-booking, the
//! consultation state machine, prescriptions, payments and risk flags. Each use case does the
//! whole workflow (notifications, alerts, the audit `Change`) on the caller's transaction, so
//! the pipeline, `seed`, jobs and tests share the same rules. Who may act on a consultation
//! is asked of `auth::care` once the row is held.

use super::{
    commands::{
        AddAvailabilityException, AddPrescription, BookConsultation, RaiseRiskFlag,
        RateConsultation, RecordPayment, RefundPayment, RescheduleConsultation,
        UpdateDoctorProfile,
    },
    fees::{self, Shares},
    slots::{self, Constraints, Hours, Slot, WeeklyRule},
};
use crate::{
    alerts::service::{AlertContent, NewAlert, NewNotification, Target, notify, raise},
    audit::Change,
    auth::{
        Viewer,
        care::{self, Act, Party},
    },
    config::Config,
    db::now,
    error::{AppError, AppResult, unique_violation},
    events::Event,
    insurance::service::check_booking,
    validation::IanaZone,
};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Timelike, Utc};
use entity::sealed::Sealed;
use entity::{
    AlertKind, AvailabilityExceptionKind, ConsultationStatus, ConsultationType, NotificationKind,
    OrgRole, PaymentStatus, RiskFlagStatus, RiskSeverity, Severity, Weekday, WireName,
    availability_exception, availability_rule, consultation, consultation_rating, coverage, doctor,
    insurance_plan, membership, payment, prescription, risk_flag,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, NotSet, QueryFilter,
    QuerySelect, RuntimeErr,
    sea_query::{Alias, Expr, ExprTrait},
};
use serde_json::json;
use uuid::Uuid;

/// A consultation's values as the audit trail records them.
fn consultation_json(c: &consultation::Model) -> serde_json::Value {
    json!({"status": c.status, "scheduledAt": c.scheduled_at, "endsAt": c.ends_at,
           "doctorId": c.doctor_id, "patientId": c.patient_id, "type": c.consultation_type,
           "rescheduledFromId": c.rescheduled_from_id, "rescheduledToId": c.rescheduled_to_id})
}

/// A profile's fields as the audit trail records them.
fn doctor_json(d: &doctor::Model) -> serde_json::Value {
    json!({"licenseNumber": d.license_number, "specialization": d.specialization,
           "organizationId": d.organization_id, "experienceYears": d.experience_years,
           "fee": d.consultation_fee_minor, "currency": d.currency, "isAvailable": d.is_available,
           "bufferMinutes": d.buffer_minutes, "minNoticeMinutes": d.min_notice_minutes})
}

/// What a party's act on a consultation writes to the audit row.
fn party_change(c: &consultation::Model, party: Party) -> Change {
    Change {
        organization_id: c.organization_id,
        actor_role: Some(party.role().into()),
        ..Change::default()
    }
}

/// True when an insert or update broke the database's no-overlap rule (the Postgres
/// exclusion constraints, or the SQLite triggers): a concurrent booking won.
fn overlap_violation(e: &DbErr) -> bool {
    match e {
        DbErr::Exec(RuntimeErr::SqlxError(x)) | DbErr::Query(RuntimeErr::SqlxError(x)) => {
            x.as_database_error().is_some_and(|d| {
                d.code().as_deref() == Some("23P01")
                    || d.message().contains("ex_consultations_overlap")
            })
        }
        _ => false,
    }
}

// ---------------------------------------------------------------- doctors

/// A validated new doctor profile.
#[derive(Debug, Clone)]
pub struct NewDoctor {
    /// The organization the doctor practises in (membership checked by the command's rule).
    pub organization_id: Option<Uuid>,
    /// Trimmed and upper-cased.
    pub license_number: String,
    pub specialization: String,
    pub experience_years: i32,
    pub qualification: Option<String>,
    pub bio: Option<String>,
    pub fee_minor: i64,
    /// ISO 4217 code.
    pub currency: String,
}

/// Creates a user's profile, unverified; one per user, license numbers unique.
pub async fn create_doctor<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    new: NewDoctor,
) -> AppResult<(doctor::Model, Change)> {
    if doctor::Entity::find()
        .filter(doctor::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .is_some()
    {
        return Err(AppError::Conflict(
            "you already have a doctor profile".into(),
        ));
    }
    if doctor::Entity::find()
        .filter(doctor::Column::LicenseNumber.eq(&new.license_number))
        .one(db)
        .await?
        .is_some()
    {
        return Err(AppError::bad_input(
            "input.licenseNumber",
            "is already registered to another doctor",
        ));
    }
    let t = now();
    let m = doctor::Model {
        id: Uuid::now_v7(),
        user_id,
        organization_id: new.organization_id,
        license_number: new.license_number,
        specialization: new.specialization,
        experience_years: new.experience_years,
        qualification: new.qualification,
        bio: new.bio,
        consultation_fee_minor: new.fee_minor,
        currency: new.currency,
        rating: 0.0,
        rating_count: 0,
        rating_total: 0,
        is_verified: false,
        verified_at: None,
        verified_by: None,
        is_available: true,
        buffer_minutes: 0,
        min_notice_minutes: 0,
        created_at: t,
        updated_at: t,
    };
    doctor::Entity::insert(doctor::ActiveModel::from(m.clone()))
        .exec(db)
        .await
        .map_err(unique_violation)?;
    let change = Change {
        entity_id: Some(m.id),
        organization_id: m.organization_id,
        new: Some(doctor_json(&m)),
        ..Change::default()
    };
    Ok((m, change))
}

/// The caller's own profile.
pub async fn doctor_of_user<C: ConnectionTrait>(db: &C, user: Uuid) -> AppResult<doctor::Model> {
    doctor::Entity::find()
        .filter(doctor::Column::UserId.eq(user))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("doctor profile"))
}

/// A profile by id.
pub async fn doctor_by_id<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<doctor::Model> {
    doctor::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("doctor"))
}

/// Saves a changed profile.
async fn save_doctor<C: ConnectionTrait>(db: &C, mut d: doctor::Model) -> AppResult<doctor::Model> {
    d.updated_at = now();
    // The rating columns move only by `rate`'s atomic update: a profile change racing a
    // rating must not write back the mean it read.
    let mut row = doctor::ActiveModel::from(d.clone()).reset_all();
    row.rating = NotSet;
    row.rating_count = NotSet;
    row.rating_total = NotSet;
    doctor::Entity::update(row).exec(db).await?;
    Ok(d)
}

/// Changes a user's own profile: the fields given.
pub async fn update_profile<C: ConnectionTrait>(
    db: &C,
    user: Uuid,
    u: UpdateDoctorProfile,
) -> AppResult<(doctor::Model, Change)> {
    let mut d = doctor_of_user(db, user).await?;
    let old = doctor_json(&d);
    d.specialization = u.specialization.unwrap_or(d.specialization);
    d.experience_years = u.experience_years.unwrap_or(d.experience_years);
    d.qualification = u.qualification.unwrap_or(d.qualification);
    d.bio = u.bio.unwrap_or(d.bio);
    d.consultation_fee_minor = u.fee_minor.unwrap_or(d.consultation_fee_minor);
    d.currency = u.currency.unwrap_or(d.currency);
    d.is_available = u.is_available.unwrap_or(d.is_available);
    d.buffer_minutes = u.buffer_minutes.unwrap_or(d.buffer_minutes);
    d.min_notice_minutes = u.min_notice_minutes.unwrap_or(d.min_notice_minutes);
    d.organization_id = u.organization_id.or(d.organization_id);
    let d = save_doctor(db, d).await?;
    let change = Change {
        entity_id: Some(d.id),
        organization_id: d.organization_id,
        old: Some(old),
        new: Some(doctor_json(&d)),
        ..Change::default()
    };
    Ok((d, change))
}

/// Verifies a profile, for a super admin or an admin of the doctor's organization.
pub async fn verify<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    doctor_id: Uuid,
) -> AppResult<(doctor::Model, Change)> {
    let d = doctor_by_id(db, doctor_id).await?;
    let verifier = care::may_verify(viewer, &d)?;
    let d = verify_doctor(db, d, verifier.user_id).await?;
    let change = Change {
        organization_id: d.organization_id,
        old: Some(json!({"isVerified": false})),
        new: Some(json!({"isVerified": true})),
        actor_role: Some(verifier.role),
        ..Change::default()
    };
    Ok((d, change))
}

/// Marks a profile verified (idempotent).
pub async fn verify_doctor<C: ConnectionTrait>(
    db: &C,
    d: doctor::Model,
    by: Option<Uuid>,
) -> AppResult<doctor::Model> {
    if d.is_verified {
        return Ok(d);
    }
    let mut d = d;
    d.is_verified = true;
    d.verified_at = Some(now());
    d.verified_by = by;
    save_doctor(db, d).await
}

// ---------------------------------------------------------------- availability

/// A weekly availability rule: wall-clock hours in a zone, valid from a day until another.
#[derive(Debug, Clone)]
pub struct NewRule {
    pub day: Weekday,
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub zone: IanaZone,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
}

impl NewRule {
    fn weekly(&self) -> WeeklyRule {
        WeeklyRule {
            weekday: self.day.to_chrono(),
            start: self.start,
            end: self.end,
            tz: self.zone.0,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
        }
    }
}

/// Checks a set of rules: each ends after it starts and is valid for at least a day, and no
/// two apply at the same time. All rules share one zone, so "the same time" is unambiguous.
fn check_rules(rules: &[NewRule]) -> AppResult<()> {
    if rules.len() > 50 {
        return Err(AppError::bad_input("input.rules", "at most 50 rules"));
    }
    for (i, r) in rules.iter().enumerate() {
        if r.end <= r.start {
            return Err(AppError::bad_input(
                format!("input.rules.{i}.endTime"),
                "must be after the start time (split a rule that crosses midnight)",
            ));
        }
        if r.valid_until.is_some_and(|u| u < r.valid_from) {
            return Err(AppError::bad_input(
                format!("input.rules.{i}.validUntil"),
                "must not be before validFrom",
            ));
        }
        if let Some(first) = rules.first()
            && first.zone != r.zone
        {
            return Err(AppError::bad_input(
                format!("input.rules.{i}.timeZone"),
                "all of a doctor's rules must use one time zone",
            ));
        }
        if let Some(j) = rules[..i]
            .iter()
            .position(|o| slots::overlap(&o.weekly(), &r.weekly()))
        {
            return Err(AppError::bad_input(
                format!("input.rules.{i}"),
                format!("overlaps rule {j}"),
            ));
        }
    }
    Ok(())
}

/// Replaces a doctor's rules.
pub async fn set_availability<C: ConnectionTrait>(
    db: &C,
    doctor_id: Uuid,
    rules: Vec<NewRule>,
) -> AppResult<Vec<availability_rule::Model>> {
    check_rules(&rules)?;
    availability_rule::Entity::delete_many()
        .filter(availability_rule::Column::DoctorId.eq(doctor_id))
        .exec(db)
        .await?;
    let t = now();
    let rows: Vec<availability_rule::Model> = rules
        .into_iter()
        .map(|r| availability_rule::Model {
            id: Uuid::now_v7(),
            doctor_id,
            day_of_week: r.day,
            start_time: r.start,
            end_time: r.end,
            time_zone: r.zone.0.name().to_string(),
            valid_from: r.valid_from,
            valid_until: r.valid_until,
            created_at: t,
        })
        .collect();
    if !rows.is_empty() {
        availability_rule::Entity::insert_many(
            rows.iter()
                .cloned()
                .map(availability_rule::ActiveModel::from)
                .collect::<Vec<_>>(),
        )
        .exec(db)
        .await?;
    }
    Ok(rows)
}

/// Replaces a user's own weekly availability.
pub async fn replace_availability<C: ConnectionTrait>(
    db: &C,
    user: Uuid,
    rules: Vec<NewRule>,
) -> AppResult<(doctor::Model, Change)> {
    let d = doctor_of_user(db, user).await?;
    let saved = set_availability(db, d.id, rules).await?;
    let rules: Vec<_> = saved
        .iter()
        .map(|r| {
            json!({"day": r.day_of_week, "start": r.start_time, "end": r.end_time,
                   "timeZone": r.time_zone, "validFrom": r.valid_from, "validUntil": r.valid_until})
        })
        .collect();
    let change = Change {
        entity_id: Some(d.id),
        organization_id: d.organization_id,
        new: Some(json!({ "rules": rules })),
        ..Change::default()
    };
    Ok((d, change))
}

async fn weekly_rules<C: ConnectionTrait>(db: &C, doctor_id: Uuid) -> AppResult<Vec<WeeklyRule>> {
    let rows = availability_rule::Entity::find()
        .filter(availability_rule::Column::DoctorId.eq(doctor_id))
        .all(db)
        .await?;
    rows.into_iter()
        .map(|r| {
            let tz = r
                .time_zone
                .parse::<chrono_tz::Tz>()
                .map_err(|_| AppError::internal(format!("stored zone {} unknown", r.time_zone)))?;
            Ok(WeeklyRule {
                weekday: r.day_of_week.to_chrono(),
                start: r.start_time,
                end: r.end_time,
                tz,
                valid_from: r.valid_from,
                valid_until: r.valid_until,
            })
        })
        .collect()
}

/// A doctor's time off and extra hours overlapping `[from, to)`.
async fn exceptions<C: ConnectionTrait>(
    db: &C,
    doctor_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Vec<availability_exception::Model>> {
    Ok(availability_exception::Entity::find()
        .filter(availability_exception::Column::DoctorId.eq(doctor_id))
        .filter(availability_exception::Column::EndsAt.gt(from))
        .filter(availability_exception::Column::StartsAt.lt(to))
        .all(db)
        .await?)
}

/// A doctor's hours around `[from, to)`: the weekly rules and the exceptions, read together.
struct DoctorHours {
    rules: Vec<WeeklyRule>,
    extra: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    off: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

impl DoctorHours {
    async fn load<C: ConnectionTrait>(
        db: &C,
        doctor_id: Uuid,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> AppResult<Self> {
        let rules = weekly_rules(db, doctor_id).await?;
        let (mut extra, mut off) = (Vec::new(), Vec::new());
        for x in exceptions(db, doctor_id, from, to).await? {
            match x.kind {
                AvailabilityExceptionKind::ExtraHours => extra.push((x.starts_at, x.ends_at)),
                AvailabilityExceptionKind::TimeOff => off.push((x.starts_at, x.ends_at)),
            }
        }
        Ok(Self { rules, extra, off })
    }

    fn hours(&self) -> Hours<'_> {
        Hours {
            rules: &self.rules,
            extra: &self.extra,
            off: &self.off,
        }
    }
}

/// Which side of a consultation an overlap is about: the doctor's time runs to the end of
/// the booking's buffer (`blocked_until`), the patient's to its end.
#[derive(Clone, Copy)]
enum Side {
    Doctor,
    /// The doctor's consultations themselves, without their buffers.
    DoctorConsultations,
    Patient,
}

/// Active consultations of a doctor (or a patient) whose held time overlaps `[from, to)`.
async fn overlapping<C: ConnectionTrait>(
    db: &C,
    side: Side,
    who: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Vec<consultation::Model>> {
    let (column, end) = match side {
        Side::Doctor => (
            consultation::Column::DoctorId,
            consultation::Column::BlockedUntil,
        ),
        Side::DoctorConsultations => (consultation::Column::DoctorId, consultation::Column::EndsAt),
        Side::Patient => (
            consultation::Column::PatientId,
            consultation::Column::EndsAt,
        ),
    };
    Ok(consultation::Entity::find()
        .filter(column.eq(who))
        .filter(
            consultation::Column::Status
                .is_not_in([ConsultationStatus::Cancelled, ConsultationStatus::NoShow]),
        )
        .filter(consultation::Column::ScheduledAt.lt(to))
        .filter(end.gt(from))
        .all(db)
        .await?)
}

fn minutes(m: i32) -> Duration {
    Duration::minutes(i64::from(m))
}

/// Open slots of a doctor in `[from, to)`: the weekly hours plus extra hours minus time off,
/// none sooner than the doctor's minimum notice, each clear of the bookings' held time with
/// its own buffer after it.
pub async fn open_slots<C: ConnectionTrait>(
    db: &C,
    d: &doctor::Model,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    duration: Duration,
) -> AppResult<Vec<Slot>> {
    let hours = DoctorHours::load(db, d.id, from, to).await?;
    let buffer = minutes(d.buffer_minutes);
    let busy: Vec<_> = overlapping(db, Side::Doctor, d.id, from, to + buffer)
        .await?
        .into_iter()
        .map(|c| (c.scheduled_at, c.blocked_until))
        .collect();
    let c = Constraints {
        now: now(),
        notice: minutes(d.min_notice_minutes),
        buffer,
        busy: &busy,
    };
    Ok(slots::open_slots(hours.hours(), from, to, duration, c))
}

/// The caller's doctor profile, held (`FOR UPDATE` on Postgres) until the transaction ends:
/// a change of the doctor's exceptions and the bookings in flight (`FOR SHARE` in [`book`])
/// run one after the other.
async fn held_doctor_of_user<C: ConnectionTrait>(db: &C, user: Uuid) -> AppResult<doctor::Model> {
    let mut q = doctor::Entity::find().filter(doctor::Column::UserId.eq(user));
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        q = q.lock_exclusive();
    }
    q.one(db).await?.ok_or(AppError::NotFound("doctor profile"))
}

fn exception_json(x: &availability_exception::Model) -> serde_json::Value {
    json!({"kind": x.kind, "startsAt": x.starts_at, "endsAt": x.ends_at})
}

/// A doctor adds time off or extra hours to their own hours. Time off over consultations
/// still held is refused: the doctor cancels or reschedules them first, so no patient is left
/// booked with a doctor who is away.
pub async fn add_exception<C: ConnectionTrait>(
    db: &C,
    user: Uuid,
    cmd: AddAvailabilityException,
) -> AppResult<(availability_exception::Model, Change)> {
    let d = held_doctor_of_user(db, user).await?;
    let t = now();
    if cmd.ends_at <= t {
        return Err(AppError::bad_input("input.endsAt", "must be in the future"));
    }
    if cmd.kind == AvailabilityExceptionKind::TimeOff {
        let booked = overlapping(
            db,
            Side::DoctorConsultations,
            d.id,
            cmd.starts_at,
            cmd.ends_at,
        )
        .await?;
        if !booked.is_empty() {
            return Err(AppError::Conflict(format!(
                "{} consultation(s) are booked in that time: cancel or reschedule them first",
                booked.len()
            )));
        }
    }
    let x = availability_exception::Model {
        id: Uuid::now_v7(),
        doctor_id: d.id,
        kind: cmd.kind,
        starts_at: cmd.starts_at,
        ends_at: cmd.ends_at,
        note: cmd.note,
        created_by: user,
        created_at: t,
    };
    availability_exception::Entity::insert(availability_exception::ActiveModel::from(x.clone()))
        .exec(db)
        .await?;
    let change = Change {
        entity_id: Some(d.id),
        organization_id: d.organization_id,
        new: Some(exception_json(&x)),
        ..Change::default()
    };
    Ok((x, change))
}

/// A doctor removes one of their exceptions. Extra hours that a consultation still held needs
/// (it would fall outside the doctor's hours without them) stay: `CONFLICT`.
pub async fn remove_exception<C: ConnectionTrait>(
    db: &C,
    user: Uuid,
    id: Uuid,
) -> AppResult<(availability_exception::Model, Change)> {
    let d = held_doctor_of_user(db, user).await?;
    let x = availability_exception::Entity::find_by_id(id)
        .filter(availability_exception::Column::DoctorId.eq(d.id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("availability exception"))?;
    availability_exception::Entity::delete_by_id(x.id)
        .exec(db)
        .await?;
    if x.kind == AvailabilityExceptionKind::ExtraHours {
        let booked =
            overlapping(db, Side::DoctorConsultations, d.id, x.starts_at, x.ends_at).await?;
        if let (Some(first), Some(last)) = (
            booked.iter().map(|c| c.scheduled_at).min(),
            booked.iter().map(|c| c.ends_at).max(),
        ) {
            let rest = DoctorHours::load(db, d.id, first, last).await?;
            if booked
                .iter()
                .any(|c| !rest.hours().contain(c.scheduled_at, c.ends_at))
            {
                return Err(AppError::Conflict(
                    "consultations are booked in these extra hours: cancel or reschedule them first"
                        .into(),
                ));
            }
        }
    }
    let change = Change {
        entity_id: Some(d.id),
        organization_id: d.organization_id,
        old: Some(exception_json(&x)),
        ..Change::default()
    };
    Ok((x, change))
}

/// The free slots of a verified doctor in `[from, to)`, a window of at most
/// `OPEN_SLOTS_MAX_DAYS`; none while the doctor takes no bookings.
pub async fn free_slots<C: ConnectionTrait>(
    db: &C,
    config: &Config,
    doctor_id: Uuid,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    duration: Duration,
) -> AppResult<Vec<Slot>> {
    if to <= from {
        return Err(AppError::bad_input("to", "must be after from"));
    }
    let max = config.open_slots_max_days;
    if to - from > Duration::days(max) {
        return Err(AppError::bad_input(
            "to",
            format!("the window may span at most {max} days"),
        ));
    }
    let d = doctor::Entity::find_by_id(doctor_id)
        .filter(doctor::Column::IsVerified.eq(true))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("doctor"))?;
    if !d.is_available {
        return Ok(Vec::new());
    }
    open_slots(db, &d, from, to, duration).await
}

// ---------------------------------------------------------------- booking

/// Booking limits from the settings.
#[derive(Debug, Clone, Copy)]
pub struct BookingLimits {
    /// How many days ahead a slot may be booked.
    pub max_days_ahead: i64,
}

impl From<&Config> for BookingLimits {
    fn from(config: &Config) -> Self {
        Self {
            max_days_ahead: config.consultation_max_days_ahead,
        }
    }
}

/// Checks a length in minutes.
pub fn check_duration(minutes: i32, field: &str) -> AppResult<Duration> {
    if !(10..=240).contains(&minutes) || minutes % 5 != 0 {
        return Err(AppError::bad_input(
            field,
            "must be between 10 and 240 minutes, in steps of 5",
        ));
    }
    Ok(Duration::minutes(i64::from(minutes)))
}

/// A slot a patient asks for.
#[derive(Debug, Clone)]
pub struct Booking {
    pub patient_id: Uuid,
    pub start: DateTime<Utc>,
    pub duration: Duration,
    pub kind: ConsultationType,
    /// What the patient reports.
    pub symptoms: Option<String>,
    /// The booking it replaces.
    pub rescheduled_from: Option<Uuid>,
    /// The patient's coverage it is booked under (checked by
    /// `insurance::service::check_booking`).
    pub coverage_id: Option<Uuid>,
}

/// Books a consultation: the doctor takes bookings, the slot is in the future (by at least
/// the doctor's minimum notice), inside the doctor's hours (weekly plus extra hours, not in
/// time off) and free for both the doctor (with the buffer after each booking) and the
/// patient; a coverage named is the patient's, in force on the day and of a plan the doctor
/// accepts (refused on `input.coverageId`, or on `input.scheduledAt` when a move to another
/// day is what breaks it). The database has the last word (exclusion constraints / triggers
/// over the held time), so two concurrent bookings of one slot cannot both succeed; the
/// loser gets `CONFLICT`.
pub async fn book<C: ConnectionTrait>(
    db: &C,
    doctor_id: Uuid,
    b: Booking,
    limits: BookingLimits,
) -> AppResult<consultation::Model> {
    // Shared with other bookings, exclusive with a change of the doctor's exceptions: time off
    // added while this booking is in flight waits for it (and then sees it), or this booking
    // sees the time off.
    let doctor = crate::db::find_shared::<doctor::Entity, _>(db, doctor_id)
        .await?
        .ok_or(AppError::NotFound("doctor"))?;
    if !doctor.is_verified || !doctor.is_available {
        return Err(AppError::bad_input(
            "input.doctorId",
            "this doctor is not taking bookings",
        ));
    }
    if doctor.user_id == b.patient_id {
        return Err(AppError::bad_input(
            "input.doctorId",
            "you cannot book a consultation with yourself",
        ));
    }
    let t = now();
    if b.start.second() != 0 || b.start.nanosecond() != 0 {
        return Err(AppError::bad_input(
            "input.scheduledAt",
            "must be a whole minute",
        ));
    }
    if b.start <= t {
        return Err(AppError::bad_input(
            "input.scheduledAt",
            "must be in the future",
        ));
    }
    if b.start < t + minutes(doctor.min_notice_minutes) {
        return Err(AppError::bad_input(
            "input.scheduledAt",
            format!(
                "must be at least {} minutes from now (the doctor's minimum notice)",
                doctor.min_notice_minutes
            ),
        ));
    }
    if b.start > t + Duration::days(limits.max_days_ahead) {
        return Err(AppError::bad_input(
            "input.scheduledAt",
            format!("must be within {} days", limits.max_days_ahead),
        ));
    }
    let end = b.start + b.duration;
    if let Some(coverage) = b.coverage_id {
        let field = if b.rescheduled_from.is_some() {
            "input.scheduledAt"
        } else {
            "input.coverageId"
        };
        let day = b.start.date_naive();
        check_booking(db, doctor.id, b.patient_id, coverage, day, field).await?;
    }
    let held = end + minutes(doctor.buffer_minutes);
    let organization_id = booking_org(db, &doctor).await?;
    let hours = DoctorHours::load(db, doctor.id, b.start, end).await?;
    if hours.hours().off_during(b.start, end) {
        return Err(AppError::bad_input(
            "input.scheduledAt",
            "the doctor is away (time off) at that time",
        ));
    }
    if !hours.hours().contain(b.start, end) {
        return Err(AppError::bad_input(
            "input.scheduledAt",
            "is outside the doctor's availability",
        ));
    }
    if !overlapping(db, Side::Doctor, doctor.id, b.start, held)
        .await?
        .is_empty()
    {
        return Err(AppError::Conflict(
            "the doctor is already booked at that time, or in the buffer around a booking".into(),
        ));
    }
    if !overlapping(db, Side::Patient, b.patient_id, b.start, end)
        .await?
        .is_empty()
    {
        return Err(AppError::Conflict(
            "you already have a consultation at that time".into(),
        ));
    }
    let m = consultation::Model {
        id: Uuid::now_v7(),
        patient_id: b.patient_id,
        doctor_id: doctor.id,
        doctor_user_id: doctor.user_id,
        organization_id,
        scheduled_at: b.start,
        ends_at: end,
        blocked_until: held,
        duration_minutes: i32::try_from(b.duration.num_minutes()).unwrap_or(i32::MAX),
        consultation_type: b.kind,
        status: ConsultationStatus::Requested,
        symptoms: Sealed::opt(b.symptoms),
        diagnosis: None,
        notes: None,
        cancellation_reason: None,
        cancelled_by: None,
        rescheduled_from_id: b.rescheduled_from,
        rescheduled_to_id: None,
        confirmed_at: None,
        started_at: None,
        completed_at: None,
        cancelled_at: None,
        no_show_at: None,
        coverage_id: b.coverage_id,
        created_at: t,
        updated_at: t,
    };
    consultation::Entity::insert(consultation::ActiveModel::from(m.clone()))
        .exec(db)
        .await
        .map_err(|e| {
            if overlap_violation(&e) {
                AppError::Conflict("that time was just booked by someone else".into())
            } else {
                e.into()
            }
        })?;
    Ok(m)
}

/// The organization a booking belongs to: the profile's, while the doctor is an active DOCTOR
/// there. Removing the membership detaches the profile ([`detach_doctor`]); a booking racing
/// that removal gets what it would have got after it, the doctor's own practice, never the
/// organization they left.
async fn booking_org<C: ConnectionTrait>(db: &C, d: &doctor::Model) -> AppResult<Option<Uuid>> {
    let Some(org) = d.organization_id else {
        return Ok(None);
    };
    let doctor_there = membership::Entity::find()
        .select_only()
        .column(membership::Column::Id)
        .filter(membership::Column::UserId.eq(d.user_id))
        .filter(membership::Column::OrganizationId.eq(org))
        .filter(membership::Column::Role.eq(OrgRole::Doctor))
        .filter(membership::Column::IsActive.eq(true))
        .into_tuple::<Uuid>()
        .one(db)
        .await?;
    Ok(doctor_there.map(|_| org))
}

/// Detaches a user's doctor profile from an organization where they are no longer a DOCTOR
/// (the membership removed or its role changed): bookings from then on do not go to it, and
/// the doctor re-attaches with `updateDoctorProfile(organizationId)` once a DOCTOR again.
/// Consultations already booked stay with it.
pub async fn detach_doctor<C: ConnectionTrait>(db: &C, user: Uuid, org: Uuid) -> AppResult<()> {
    doctor::Entity::update_many()
        .col_expr(doctor::Column::OrganizationId, Expr::value(None::<Uuid>))
        .col_expr(doctor::Column::UpdatedAt, Expr::value(now()))
        .filter(doctor::Column::UserId.eq(user))
        .filter(doctor::Column::OrganizationId.eq(org))
        .exec(db)
        .await?;
    Ok(())
}

/// A patient books a consultation for themself; the doctor hears of it.
pub async fn book_consultation<C: ConnectionTrait>(
    db: &C,
    patient: Uuid,
    cmd: BookConsultation,
    config: &Config,
) -> AppResult<(consultation::Model, Change)> {
    let booking = Booking {
        patient_id: patient,
        start: cmd.start,
        duration: cmd.duration,
        kind: cmd.kind,
        symptoms: cmd.symptoms,
        rescheduled_from: None,
        coverage_id: cmd.coverage_id,
    };
    let c = book(db, cmd.doctor_id, booking, config.into()).await?;
    let events = notify_other_party(db, &c, Some(patient), "requested").await?;
    let change = Change {
        entity_id: Some(c.id),
        new: Some(consultation_json(&c)),
        events,
        ..party_change(&c, Party::Patient)
    };
    Ok((c, change))
}

/// Loads a consultation for a party allowed to do `act` (`auth::care`); on Postgres the row
/// stays locked until the transaction ends, so two acts on one consultation run one after
/// the other.
async fn load_for<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    id: Uuid,
    act: Act,
) -> AppResult<(consultation::Model, Party)> {
    let c = crate::db::find_locked::<consultation::Entity, _>(db, id)
        .await?
        .ok_or(AppError::NotFound("consultation"))?;
    let party = care::require(viewer, &c, act)?;
    Ok((c, party))
}

/// The states each state may move to: the one table of the state machine.
pub fn allowed(from: ConsultationStatus, to: ConsultationStatus) -> bool {
    use ConsultationStatus::*;
    matches!(
        (from, to),
        (Requested, Confirmed)
            | (Confirmed, InProgress)
            | (InProgress, Completed)
            | (Requested | Confirmed, Cancelled)
            | (Confirmed, NoShow)
    )
}

/// Refuses a move the state machine does not allow from the consultation's state.
fn ensure_allowed(c: &consultation::Model, to: ConsultationStatus) -> AppResult<()> {
    if allowed(c.status, to) {
        Ok(())
    } else {
        Err(AppError::InvalidTransition {
            from: c.status.wire_name(),
            to: to.wire_name(),
        })
    }
}

/// What a transition writes besides the status.
#[derive(Debug, Default, Clone)]
pub struct Stamp {
    pub diagnosis: Option<String>,
    pub notes: Option<String>,
    pub reason: Option<String>,
    /// On cancellation: who cancelled.
    pub cancelled_by: Option<Uuid>,
}

/// Moves a consultation to `to`, if the state machine allows it from the state it is in.
/// The update is conditional on that state, so a concurrent move makes this one fail
/// instead of overwriting it.
async fn transition<C: ConnectionTrait>(
    db: &C,
    c: consultation::Model,
    to: ConsultationStatus,
    stamp: Stamp,
) -> AppResult<consultation::Model> {
    let refuse = |from: ConsultationStatus| AppError::InvalidTransition {
        from: from.wire_name(),
        to: to.wire_name(),
    };
    if !allowed(c.status, to) {
        return Err(refuse(c.status));
    }
    let t = now();
    let mut next = c.clone();
    next.status = to;
    next.updated_at = t;
    match to {
        ConsultationStatus::Confirmed => next.confirmed_at = Some(t),
        ConsultationStatus::InProgress => next.started_at = Some(t),
        ConsultationStatus::Completed => {
            next.completed_at = Some(t);
            next.diagnosis = Sealed::opt(stamp.diagnosis);
            next.notes = Sealed::opt(stamp.notes);
        }
        ConsultationStatus::Cancelled => {
            next.cancelled_at = Some(t);
            next.cancellation_reason = stamp.reason;
            next.cancelled_by = stamp.cancelled_by;
        }
        ConsultationStatus::NoShow => next.no_show_at = Some(t),
        ConsultationStatus::Requested => {}
    }
    let res = consultation::Entity::update_many()
        .set(consultation::ActiveModel::from(next.clone()).reset_all())
        .filter(consultation::Column::Id.eq(c.id))
        .filter(consultation::Column::Status.eq(c.status))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        let now_status = consultation::Entity::find_by_id(c.id)
            .one(db)
            .await?
            .map_or(c.status, |m| m.status);
        return Err(refuse(now_status));
    }
    Ok(next)
}

/// What the other party is told a move did.
fn verb(to: ConsultationStatus) -> &'static str {
    match to {
        ConsultationStatus::Requested => "requested",
        ConsultationStatus::Confirmed => "confirmed",
        ConsultationStatus::InProgress => "started",
        ConsultationStatus::Completed => "completed",
        ConsultationStatus::Cancelled => "cancelled",
        ConsultationStatus::NoShow => "marked as a no-show",
    }
}

/// A party moves a consultation to `to` (`auth::care` says who may make which move); the
/// other party is notified. A patient cancels only until the cut-off; a no-show is marked
/// only once the start has passed.
pub async fn move_to<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    id: Uuid,
    to: ConsultationStatus,
    mut stamp: Stamp,
    config: &Config,
) -> AppResult<(consultation::Model, Change)> {
    let (c, party) = load_for(db, viewer, id, Act::Move(to)).await?;
    ensure_allowed(&c, to)?;
    match to {
        ConsultationStatus::Cancelled => {
            care::before_cutoff(&c, party, config.consultation_cancel_cutoff)?;
            stamp.cancelled_by = viewer.user_id();
        }
        ConsultationStatus::NoShow if now() < c.scheduled_at => {
            return Err(AppError::bad_input(
                "input.consultationId",
                "the consultation has not started yet",
            ));
        }
        _ => {}
    }
    let old = consultation_json(&c);
    let next = transition(db, c, to, stamp).await?;
    let events = notify_other_party(db, &next, viewer.user_id(), verb(to)).await?;
    let change = Change {
        old: Some(old),
        new: Some(consultation_json(&next)),
        events,
        ..party_change(&next, party)
    };
    Ok((next, change))
}

/// Moves a consultation to a new time: the old booking is cancelled and linked to a new one
/// (same doctor, patient, kind and symptoms). The patient (before the cut-off) or the doctor.
pub async fn reschedule<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    cmd: RescheduleConsultation,
    config: &Config,
) -> AppResult<(consultation::Model, Change)> {
    let (old, party) = load_for(db, viewer, cmd.consultation_id, Act::Reschedule).await?;
    ensure_allowed(&old, ConsultationStatus::Cancelled)?;
    care::before_cutoff(&old, party, config.consultation_cancel_cutoff)?;
    let stamp = Stamp {
        reason: Some(cmd.reason),
        cancelled_by: viewer.user_id(),
        ..Stamp::default()
    };
    let cancelled = transition(db, old.clone(), ConsultationStatus::Cancelled, stamp).await?;
    let booking = Booking {
        patient_id: old.patient_id,
        start: cmd.start,
        duration: cmd
            .duration
            .unwrap_or(Duration::minutes(i64::from(old.duration_minutes))),
        kind: old.consultation_type,
        symptoms: Sealed::plain(&old.symptoms),
        rescheduled_from: Some(old.id),
        coverage_id: old.coverage_id,
    };
    let new = book(db, old.doctor_id, booking, config.into()).await?;
    consultation::Entity::update_many()
        .col_expr(consultation::Column::RescheduledToId, Expr::value(new.id))
        .filter(consultation::Column::Id.eq(cancelled.id))
        .exec(db)
        .await?;
    let events = notify_other_party(db, &new, viewer.user_id(), "rescheduled").await?;
    let change = Change {
        old: Some(consultation_json(&old)),
        new: Some(consultation_json(&new)),
        events,
        ..party_change(&new, party)
    };
    Ok((new, change))
}

/// Tells the other party about a change (no health data in the text).
async fn notify_other_party<C: ConnectionTrait>(
    db: &C,
    c: &consultation::Model,
    actor: Option<Uuid>,
    what: &str,
) -> AppResult<Vec<Event>> {
    let mut to = Vec::new();
    if actor != Some(c.patient_id) {
        to.push(c.patient_id);
    }
    if actor != Some(c.doctor_user_id) {
        to.push(c.doctor_user_id);
    }
    let when = c.scheduled_at.format("%Y-%m-%d %H:%M UTC");
    notify(
        db,
        to.into_iter()
            .map(|u| NewNotification {
                user_id: u,
                kind: NotificationKind::ConsultationUpdate,
                priority: Severity::Info,
                title: format!("Consultation {what}"),
                body: format!("The consultation of {when} was {what}."),
                related: Some(("consultation", c.id)),
            })
            .collect(),
    )
    .await
}

// ---------------------------------------------------------------- prescriptions

/// The consultation's doctor writes a prescription, during or after it; the patient is told.
pub async fn prescribe<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    cmd: AddPrescription,
) -> AppResult<(prescription::Model, Change)> {
    let (c, party) = load_for(db, viewer, cmd.consultation_id, Act::Prescribe).await?;
    if !matches!(
        c.status,
        ConsultationStatus::InProgress | ConsultationStatus::Completed
    ) {
        return Err(AppError::InvalidTransition {
            from: c.status.wire_name(),
            to: "PRESCRIBE".into(),
        });
    }
    let p = prescription::Model {
        id: Uuid::now_v7(),
        consultation_id: c.id,
        doctor_id: c.doctor_id,
        patient_id: c.patient_id,
        medications: Sealed(serde_json::to_value(&cmd.medications)?),
        instructions: Sealed::opt(cmd.instructions),
        follow_up_date: cmd.follow_up,
        created_at: now(),
    };
    prescription::Entity::insert(prescription::ActiveModel::from(p.clone()))
        .exec(db)
        .await?;
    let events = notify(
        db,
        vec![NewNotification {
            user_id: c.patient_id,
            kind: NotificationKind::Prescription,
            priority: Severity::Info,
            title: "New prescription".into(),
            body: "Your doctor wrote a prescription for you.".into(),
            related: Some(("prescription", p.id)),
        }],
    )
    .await?;
    let change = Change {
        entity_id: Some(p.id),
        new: Some(json!({"consultationId": c.id, "medications": cmd.medications.len()})),
        events,
        ..party_change(&c, party)
    };
    Ok((p, change))
}

// ---------------------------------------------------------------- payments

const PAID: &str = "this consultation is already paid";

/// Records a successful payment in the doctor's fee currency: one per consultation (a
/// partial unique index decides between concurrent attempts), never for a cancelled one. The
/// amount is split into the insurer's and the patient's shares (`fees::split`) by the
/// coverage the consultation was booked under (its percentage, and its plan's copay when the
/// plan's currency is the payment's), or is the patient's alone without one.
pub async fn pay<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    cmd: RecordPayment,
) -> AppResult<(payment::Model, Change)> {
    let (c, party) = load_for(db, viewer, cmd.consultation_id, Act::Pay).await?;
    let fee_currency = doctor_by_id(db, c.doctor_id).await?.currency;
    if c.status == ConsultationStatus::Cancelled {
        return Err(AppError::InvalidTransition {
            from: c.status.wire_name(),
            to: "PAY".into(),
        });
    }
    if cmd.currency != fee_currency {
        return Err(AppError::bad_input(
            "input.currency",
            format!("must be the doctor's fee currency, {fee_currency}"),
        ));
    }
    let t = now();
    let paid = payment::Entity::find()
        .filter(payment::Column::ConsultationId.eq(c.id))
        .filter(payment::Column::Status.eq(PaymentStatus::Succeeded))
        .one(db)
        .await?;
    if paid.is_some() {
        return Err(AppError::Conflict(PAID.into()));
    }
    let (shares, plan) = fee_shares(db, &c, cmd.amount_minor, &cmd.currency).await?;
    let p = payment::Model {
        id: Uuid::now_v7(),
        consultation_id: c.id,
        patient_id: c.patient_id,
        doctor_id: c.doctor_id,
        amount_minor: cmd.amount_minor,
        currency: cmd.currency,
        method: cmd.method,
        status: PaymentStatus::Succeeded,
        transaction_reference: cmd.reference,
        recorded_by: viewer.user_id(),
        refunded_at: None,
        refund_reason: None,
        insurance_plan_id: plan,
        insurer_share_minor: Some(shares.insurer),
        patient_share_minor: Some(shares.patient),
        created_at: t,
        updated_at: t,
    };
    payment::Entity::insert(payment::ActiveModel::from(p.clone()))
        .exec(db)
        .await
        .map_err(unique_violation)?;
    let change = Change {
        entity_id: Some(p.id),
        new: Some(
            json!({"consultationId": c.id, "amountMinor": p.amount_minor,
                         "currency": p.currency, "method": p.method, "status": p.status,
                         "insurancePlanId": p.insurance_plan_id,
                         "insurerShareMinor": shares.insurer, "patientShareMinor": shares.patient}),
        ),
        ..party_change(&c, party)
    };
    Ok((p, change))
}

/// The shares of a consultation's fee, and the plan they were split under.
async fn fee_shares<C: ConnectionTrait>(
    db: &C,
    c: &consultation::Model,
    amount: i64,
    currency: &str,
) -> AppResult<(Shares, Option<Uuid>)> {
    let Some(coverage_id) = c.coverage_id else {
        return Ok((fees::uncovered(amount), None));
    };
    let cov = coverage::Entity::find_by_id(coverage_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("coverage"))?;
    let plan = insurance_plan::Entity::find_by_id(cov.plan_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("insurance plan"))?;
    let copay = if plan.currency == currency {
        plan.copay_minor
    } else {
        0
    };
    Ok((
        fees::split(amount, cov.coverage_percent, copay),
        Some(plan.id),
    ))
}

/// Refunds a successful payment (conditional on it still being successful): the doctor or
/// the organization's admin.
pub async fn refund<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    cmd: RefundPayment,
) -> AppResult<(payment::Model, Change)> {
    let p = payment::Entity::find_by_id(cmd.payment_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("payment"))?;
    let (c, party) = load_for(db, viewer, p.consultation_id, Act::Refund).await?;
    let refuse = |s: PaymentStatus| AppError::InvalidTransition {
        from: s.wire_name(),
        to: PaymentStatus::Refunded.wire_name(),
    };
    if p.status != PaymentStatus::Succeeded {
        return Err(refuse(p.status));
    }
    let t = now();
    let res = payment::Entity::update_many()
        .col_expr(
            payment::Column::Status,
            Expr::value(PaymentStatus::Refunded),
        )
        .col_expr(payment::Column::RefundedAt, Expr::value(t))
        .col_expr(
            payment::Column::RefundReason,
            Expr::value(cmd.reason.clone()),
        )
        .col_expr(payment::Column::UpdatedAt, Expr::value(t))
        .filter(payment::Column::Id.eq(p.id))
        .filter(payment::Column::Status.eq(PaymentStatus::Succeeded))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(refuse(PaymentStatus::Refunded));
    }
    let p = payment::Model {
        status: PaymentStatus::Refunded,
        refunded_at: Some(t),
        refund_reason: Some(cmd.reason),
        updated_at: t,
        ..p
    };
    let change = Change {
        old: Some(json!({"status": "SUCCEEDED"})),
        new: Some(json!({"status": p.status, "reason": p.refund_reason})),
        ..party_change(&c, party)
    };
    Ok((p, change))
}

// ---------------------------------------------------------------- risk flags

/// The consultation's doctor flags a risk; a critical one raises a `RISK_FLAG` alert to the
/// organization's admins and doctors (to super admins for a doctor in no organization, so a
/// critical safety flag always reaches someone). The alert text carries no health data.
pub async fn flag_risk<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    cmd: RaiseRiskFlag,
) -> AppResult<(risk_flag::Model, Change)> {
    let (c, party) = load_for(db, viewer, cmd.consultation_id, Act::FlagRisk).await?;
    if matches!(
        c.status,
        ConsultationStatus::Requested | ConsultationStatus::Cancelled
    ) {
        return Err(AppError::InvalidTransition {
            from: c.status.wire_name(),
            to: "FLAG_RISK".into(),
        });
    }
    let id = Uuid::now_v7();
    let mut events = Vec::new();
    let mut alert_id = None;
    if cmd.severity == RiskSeverity::Critical {
        const CLINICAL: &[OrgRole] = &[OrgRole::Admin, OrgRole::Doctor];
        events = raise(
            db,
            NewAlert {
                content: AlertContent::new(
                    AlertKind::RiskFlag,
                    Severity::Critical,
                    "Critical risk flagged on a consultation".into(),
                    "A doctor flagged a critical risk; open the consultation for details.".into(),
                ),
                organization_id: c.organization_id,
                location: None,
                radius_km: None,
                related: Some(("risk_flag", id)),
                target: match c.organization_id {
                    Some(org) => Target::OrgRoles(vec![org], CLINICAL),
                    None => Target::SuperAdmins,
                },
            },
        )
        .await?;
        alert_id = events.iter().find_map(|e| match e {
            Event::Alert(a) => Some(a.id),
            _ => None,
        });
    }
    let f = risk_flag::Model {
        id,
        consultation_id: c.id,
        patient_id: c.patient_id,
        doctor_id: c.doctor_id,
        organization_id: c.organization_id,
        risk_type: cmd.risk_type,
        severity: cmd.severity,
        description: cmd.description,
        alert_id,
        created_at: now(),
        status: RiskFlagStatus::Open,
        resolved_at: None,
        resolved_by: None,
        resolution_note: None,
    };
    risk_flag::Entity::insert(risk_flag::ActiveModel::from(f.clone()))
        .exec(db)
        .await?;
    let change = Change {
        entity_id: Some(f.id),
        new: Some(json!({"consultationId": c.id, "riskType": f.risk_type,
                         "severity": f.severity, "alertId": f.alert_id})),
        events,
        ..party_change(&c, party)
    };
    Ok((f, change))
}

// ---------------------------------------------------------------- ratings

/// The patient rates a completed consultation, once (the unique index decides between a
/// retry and a race: the loser is `CONFLICT` and its transaction changes nothing). The
/// doctor's `rating_total` and `rating_count` move by one atomic update in the same
/// transaction, reading the row as it is when the update runs (never a value read earlier),
/// and `rating` becomes their exact quotient: concurrent ratings cannot lose one another.
pub async fn rate<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    cmd: RateConsultation,
) -> AppResult<(consultation_rating::Model, Change)> {
    let (c, party) = load_for(db, viewer, cmd.consultation_id, Act::Rate).await?;
    if c.status != ConsultationStatus::Completed {
        return Err(AppError::InvalidTransition {
            from: c.status.wire_name(),
            to: "RATE".into(),
        });
    }
    let r = consultation_rating::Model {
        id: Uuid::now_v7(),
        consultation_id: c.id,
        doctor_id: c.doctor_id,
        patient_id: c.patient_id,
        rating: cmd.rating,
        comment: Sealed::opt(cmd.comment),
        created_at: now(),
    };
    consultation_rating::Entity::insert(consultation_rating::ActiveModel::from(r.clone()))
        .exec(db)
        .await
        .map_err(unique_violation)?;
    let added = i64::from(cmd.rating);
    doctor::Entity::update_many()
        .col_expr(
            doctor::Column::Rating,
            // total and count as they are in the row the update holds, divided in double
            // precision (IEEE, on both databases, like the client's own mean).
            Expr::col(doctor::Column::RatingTotal)
                .add(added)
                .cast_as(Alias::new("DOUBLE PRECISION"))
                .div(Expr::col(doctor::Column::RatingCount).add(1)),
        )
        .col_expr(
            doctor::Column::RatingTotal,
            Expr::col(doctor::Column::RatingTotal).add(added),
        )
        .col_expr(
            doctor::Column::RatingCount,
            Expr::col(doctor::Column::RatingCount).add(1),
        )
        .filter(doctor::Column::Id.eq(c.doctor_id))
        .exec(db)
        .await?;
    let change = Change {
        entity_id: Some(r.id),
        new: Some(json!({"consultationId": c.id, "doctorId": c.doctor_id, "rating": r.rating})),
        ..party_change(&c, party)
    };
    Ok((r, change))
}

// ---------------------------------------------------------------- video rooms

/// The room token of a consultation: a keyed hash of its id (HMAC-SHA256 under the
/// blind-index key, with its own label), so it is stable, stored nowhere, and cannot be
/// derived from the id without the key.
pub fn video_room(c: &consultation::Model) -> String {
    let mut token = entity::sealed::blind_index(&format!("video-room:{}", c.id));
    token.truncate(32);
    token
}

/// The join link of a video consultation for the caller, when `auth::care` gives it to them
/// now and a provider is configured.
pub fn join_url(config: &Config, viewer: &Viewer, c: &consultation::Model) -> Option<String> {
    let template = config.video_room_url_template.as_deref()?;
    care::gets_join_link(viewer, c, now(), config.video_join_early)
        .then(|| template.replace("{room}", &video_room(c)))
}

//! Telehealth rules: doctor profiles, availability, booking without double-booking, the
//! consultation state machine, prescriptions, payments and risk flags. Every function takes
//! the caller's transaction, so resolvers, jobs and tests share the same rules.

use super::slots::{self, Slot, WeeklyRule};
use crate::{
    alerts::service::{NewAlert, NewNotification, Target, notify, raise},
    db::now,
    error::{AppError, AppResult, unique_violation},
    events::Event,
    validation::IanaZone,
};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Timelike, Utc};
use entity::{
    AlertKind, ConsultationStatus, ConsultationType, NotificationKind, OrgRole, PaymentMethod,
    PaymentStatus, RiskSeverity, RiskType, Severity, Weekday, WireName, availability_rule,
    consultation, doctor, payment, prescription, risk_flag,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, RuntimeErr,
    sea_query::Expr,
};
use uuid::Uuid;

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
    /// The practitioner's account.
    pub user_id: Uuid,
    /// Organization, if any (membership checked by the caller's rule).
    pub organization_id: Option<Uuid>,
    /// License number, trimmed and upper-cased.
    pub license_number: String,
    /// Specialization.
    pub specialization: String,
    /// Years.
    pub experience_years: i32,
    /// Degrees.
    pub qualification: Option<String>,
    /// About.
    pub bio: Option<String>,
    /// Fee in minor units.
    pub fee_minor: i64,
    /// Currency.
    pub currency: String,
}

/// Creates a profile; one per user, license numbers unique.
pub async fn create_doctor<C: ConnectionTrait>(db: &C, new: NewDoctor) -> AppResult<doctor::Model> {
    if doctor::Entity::find()
        .filter(doctor::Column::UserId.eq(new.user_id))
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
        user_id: new.user_id,
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
        is_verified: false,
        verified_at: None,
        verified_by: None,
        is_available: true,
        created_at: t,
        updated_at: t,
    };
    doctor::Entity::insert(doctor::ActiveModel::from(m.clone()))
        .exec(db)
        .await
        .map_err(unique_violation)?;
    Ok(m)
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
pub async fn save_doctor<C: ConnectionTrait>(
    db: &C,
    mut d: doctor::Model,
) -> AppResult<doctor::Model> {
    d.updated_at = now();
    doctor::Entity::update(doctor::ActiveModel::from(d.clone()).reset_all())
        .exec(db)
        .await?;
    Ok(d)
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

/// A validated availability rule.
#[derive(Debug, Clone)]
pub struct NewRule {
    /// Day.
    pub day: Weekday,
    /// Start.
    pub start: NaiveTime,
    /// End.
    pub end: NaiveTime,
    /// Zone.
    pub zone: IanaZone,
    /// First day.
    pub valid_from: NaiveDate,
    /// Last day.
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
pub fn check_rules(rules: &[NewRule]) -> AppResult<()> {
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

/// Active consultations of a doctor (or a patient) overlapping `[from, to)`.
async fn overlapping<C: ConnectionTrait>(
    db: &C,
    column: consultation::Column,
    who: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Vec<consultation::Model>> {
    Ok(consultation::Entity::find()
        .filter(column.eq(who))
        .filter(
            consultation::Column::Status
                .is_not_in([ConsultationStatus::Cancelled, ConsultationStatus::NoShow]),
        )
        .filter(consultation::Column::ScheduledAt.lt(to))
        .filter(consultation::Column::EndsAt.gt(from))
        .all(db)
        .await?)
}

/// Open slots of a doctor in `[from, to)`.
pub async fn open_slots<C: ConnectionTrait>(
    db: &C,
    doctor_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    duration: Duration,
) -> AppResult<Vec<Slot>> {
    let rules = weekly_rules(db, doctor_id).await?;
    let busy: Vec<_> = overlapping(db, consultation::Column::DoctorId, doctor_id, from, to)
        .await?
        .into_iter()
        .map(|c| (c.scheduled_at, c.ends_at))
        .collect();
    Ok(slots::open_slots(&rules, from, to, duration, now(), &busy))
}

// ---------------------------------------------------------------- booking

/// Booking limits from the settings.
#[derive(Debug, Clone, Copy)]
pub struct BookingLimits {
    /// How far ahead.
    pub max_days_ahead: i64,
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
    /// The patient.
    pub patient_id: Uuid,
    /// Start.
    pub start: DateTime<Utc>,
    /// Length.
    pub duration: Duration,
    /// How.
    pub kind: ConsultationType,
    /// What the patient reports.
    pub symptoms: Option<String>,
    /// The booking it replaces.
    pub rescheduled_from: Option<Uuid>,
}

/// Books a consultation: the doctor takes bookings, the slot is in the future, inside the
/// doctor's availability and free for both the doctor and the patient. The database has the
/// last word (exclusion constraints / triggers), so two concurrent bookings of one slot
/// cannot both succeed; the loser gets `CONFLICT`.
pub async fn book<C: ConnectionTrait>(
    db: &C,
    doctor: &doctor::Model,
    b: Booking,
    limits: BookingLimits,
) -> AppResult<consultation::Model> {
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
    if b.start > t + Duration::days(limits.max_days_ahead) {
        return Err(AppError::bad_input(
            "input.scheduledAt",
            format!("must be within {} days", limits.max_days_ahead),
        ));
    }
    let end = b.start + b.duration;
    let rules = weekly_rules(db, doctor.id).await?;
    if !slots::within_availability(&rules, b.start, end) {
        return Err(AppError::bad_input(
            "input.scheduledAt",
            "is outside the doctor's availability",
        ));
    }
    if !overlapping(db, consultation::Column::DoctorId, doctor.id, b.start, end)
        .await?
        .is_empty()
    {
        return Err(AppError::Conflict(
            "the doctor is already booked at that time".into(),
        ));
    }
    if !overlapping(
        db,
        consultation::Column::PatientId,
        b.patient_id,
        b.start,
        end,
    )
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
        organization_id: doctor.organization_id,
        scheduled_at: b.start,
        ends_at: end,
        duration_minutes: i32::try_from(b.duration.num_minutes()).unwrap_or(i32::MAX),
        consultation_type: b.kind,
        status: ConsultationStatus::Requested,
        symptoms: b.symptoms,
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

/// Loads a consultation; on Postgres the row stays locked until the transaction ends, so
/// two transitions of one consultation run one after the other.
pub async fn load_locked<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<consultation::Model> {
    crate::db::find_locked::<consultation::Entity, _>(db, id)
        .await?
        .ok_or(AppError::NotFound("consultation"))
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
pub fn ensure_allowed(c: &consultation::Model, to: ConsultationStatus) -> AppResult<()> {
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
    /// Diagnosis (completion).
    pub diagnosis: Option<String>,
    /// Notes (completion).
    pub notes: Option<String>,
    /// Reason (cancellation).
    pub reason: Option<String>,
    /// Who cancelled.
    pub cancelled_by: Option<Uuid>,
    /// The booking that replaces it.
    pub rescheduled_to: Option<Uuid>,
}

/// Moves a consultation to `to`, if the state machine allows it from the state it is in.
/// The update is conditional on that state, so a concurrent move makes this one fail
/// instead of overwriting it.
pub async fn transition<C: ConnectionTrait>(
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
            next.diagnosis = stamp.diagnosis;
            next.notes = stamp.notes;
        }
        ConsultationStatus::Cancelled => {
            next.cancelled_at = Some(t);
            next.cancellation_reason = stamp.reason;
            next.cancelled_by = stamp.cancelled_by;
            next.rescheduled_to_id = stamp.rescheduled_to;
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

/// Links a new booking to the one it replaced.
pub async fn link_reschedule<C: ConnectionTrait>(db: &C, old: Uuid, new: Uuid) -> AppResult<()> {
    consultation::Entity::update_many()
        .col_expr(consultation::Column::RescheduledToId, Expr::value(new))
        .filter(consultation::Column::Id.eq(old))
        .exec(db)
        .await?;
    Ok(())
}

/// Tells the other party about a change (no health data in the text).
pub async fn notify_other_party<C: ConnectionTrait>(
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

/// Writes a prescription: by the consultation's doctor, during or after it.
pub async fn add_prescription<C: ConnectionTrait>(
    db: &C,
    c: &consultation::Model,
    medications: serde_json::Value,
    instructions: Option<String>,
    follow_up: Option<NaiveDate>,
) -> AppResult<prescription::Model> {
    if !matches!(
        c.status,
        ConsultationStatus::InProgress | ConsultationStatus::Completed
    ) {
        return Err(AppError::InvalidTransition {
            from: c.status.wire_name(),
            to: "PRESCRIBE".into(),
        });
    }
    let m = prescription::Model {
        id: Uuid::now_v7(),
        consultation_id: c.id,
        doctor_id: c.doctor_id,
        patient_id: c.patient_id,
        medications,
        instructions,
        follow_up_date: follow_up,
        created_at: now(),
    };
    prescription::Entity::insert(prescription::ActiveModel::from(m.clone()))
        .exec(db)
        .await?;
    Ok(m)
}

// ---------------------------------------------------------------- payments

/// A validated payment.
#[derive(Debug, Clone)]
pub struct NewPayment {
    /// Minor units.
    pub amount_minor: i64,
    /// Currency (must be the fee's).
    pub currency: String,
    /// How.
    pub method: PaymentMethod,
    /// Reference.
    pub reference: Option<String>,
    /// Who recorded it.
    pub recorded_by: Option<Uuid>,
}

const PAID: &str = "this consultation is already paid";

/// Records a successful payment; one per consultation (a partial unique index decides
/// between concurrent attempts), never for a cancelled one.
pub async fn record_payment<C: ConnectionTrait>(
    db: &C,
    c: &consultation::Model,
    fee_currency: &str,
    p: NewPayment,
) -> AppResult<payment::Model> {
    if c.status == ConsultationStatus::Cancelled {
        return Err(AppError::InvalidTransition {
            from: c.status.wire_name(),
            to: "PAY".into(),
        });
    }
    if p.currency != fee_currency {
        return Err(AppError::bad_input(
            "input.currency",
            format!("must be the doctor's fee currency, {fee_currency}"),
        ));
    }
    let paid = payment::Entity::find()
        .filter(payment::Column::ConsultationId.eq(c.id))
        .filter(payment::Column::Status.eq(PaymentStatus::Succeeded))
        .one(db)
        .await?;
    let conflict = || AppError::Conflict(PAID.into());
    if paid.is_some() {
        return Err(conflict());
    }
    let t = now();
    let m = payment::Model {
        id: Uuid::now_v7(),
        consultation_id: c.id,
        patient_id: c.patient_id,
        doctor_id: c.doctor_id,
        amount_minor: p.amount_minor,
        currency: p.currency,
        method: p.method,
        status: PaymentStatus::Succeeded,
        transaction_reference: p.reference,
        recorded_by: p.recorded_by,
        refunded_at: None,
        refund_reason: None,
        created_at: t,
        updated_at: t,
    };
    payment::Entity::insert(payment::ActiveModel::from(m.clone()))
        .exec(db)
        .await
        .map_err(unique_violation)?;
    Ok(m)
}

/// Refunds a successful payment (conditional on it still being successful).
pub async fn refund_payment<C: ConnectionTrait>(
    db: &C,
    p: payment::Model,
    reason: String,
) -> AppResult<payment::Model> {
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
        .col_expr(payment::Column::RefundReason, Expr::value(reason.clone()))
        .col_expr(payment::Column::UpdatedAt, Expr::value(t))
        .filter(payment::Column::Id.eq(p.id))
        .filter(payment::Column::Status.eq(PaymentStatus::Succeeded))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(refuse(PaymentStatus::Refunded));
    }
    Ok(payment::Model {
        status: PaymentStatus::Refunded,
        refunded_at: Some(t),
        refund_reason: Some(reason),
        updated_at: t,
        ..p
    })
}

// ---------------------------------------------------------------- risk flags

/// Flags a risk on a consultation; a critical one raises a `RISK_FLAG` alert to the
/// organization's admins and doctors (to super admins for a doctor in no organization, so a
/// critical safety flag always reaches someone). The alert text carries no health data.
pub async fn raise_risk_flag<C: ConnectionTrait>(
    db: &C,
    c: &consultation::Model,
    risk_type: RiskType,
    severity: RiskSeverity,
    description: String,
) -> AppResult<(risk_flag::Model, Vec<Event>)> {
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
    if severity == RiskSeverity::Critical {
        const CLINICAL: &[OrgRole] = &[OrgRole::Admin, OrgRole::Doctor];
        events = raise(
            db,
            NewAlert {
                kind: AlertKind::RiskFlag,
                severity: Severity::Critical,
                title: "Critical risk flagged on a consultation".into(),
                message: "A doctor flagged a critical risk; open the consultation for details."
                    .into(),
                blood_group: None,
                component: None,
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
    let m = risk_flag::Model {
        id,
        consultation_id: c.id,
        patient_id: c.patient_id,
        doctor_id: c.doctor_id,
        organization_id: c.organization_id,
        risk_type,
        severity,
        description,
        alert_id,
        created_at: now(),
    };
    risk_flag::Entity::insert(risk_flag::ActiveModel::from(m.clone()))
        .exec(db)
        .await?;
    Ok((m, events))
}

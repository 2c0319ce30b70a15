//! GraphQL types of telehealth. Symptoms, diagnosis, notes and prescriptions are health data:
//! only the consultation's parties see them (see `auth::care`), and every read is audited.

use crate::{
    audit::ReadRecord,
    auth::care,
    consultations::slots::Slot,
    error::AppResult,
    graphql::{
        context::{CtxExt, RequestCtx},
        ids::to_id,
        loaders::{load_children, load_one},
        pagination::SortDirection,
    },
    identity::types::User,
    insurance::types::InsurancePlan,
    organizations::types::Organization,
};
use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, SimpleObject};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use entity::sealed::Sealed;
use entity::{
    AvailabilityExceptionKind, ConsultationStatus, ConsultationType, PaymentMethod, PaymentStatus,
    RiskFlagStatus, RiskSeverity, RiskType, Weekday, availability_exception, availability_rule,
    consultation, consultation_rating, doctor, payment, prescription, risk_flag,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use uuid::Uuid;

/// An amount of money.
#[derive(SimpleObject, Clone, Debug)]
pub struct Money {
    /// Minor units (cents, paise).
    pub amount_minor: i64,
    /// ISO 4217 code.
    pub currency: String,
}

/// A practitioner's telehealth profile.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Doctor {
    pub id: ID,
    /// Registration number with the medical council (unique).
    pub license_number: String,
    pub specialization: String,
    pub experience_years: i32,
    pub qualification: Option<String>,
    /// About the doctor.
    pub bio: Option<String>,
    /// Fee per consultation.
    pub consultation_fee: Money,
    /// Mean rating (0 until rated).
    pub rating: f64,
    /// How many ratings the mean is of.
    pub rating_count: i32,
    /// Checked by a super admin or the organization's admin.
    pub is_verified: bool,
    pub verified_at: Option<DateTime<Utc>>,
    pub is_available: bool,
    /// Minutes kept free after each booking.
    pub buffer_minutes: i32,
    /// How many minutes ahead a consultation must be booked.
    pub min_notice_minutes: i32,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub row: doctor::Model,
}

impl From<doctor::Model> for Doctor {
    fn from(m: doctor::Model) -> Self {
        Self {
            id: to_id(m.id),
            license_number: m.license_number.clone(),
            specialization: m.specialization.clone(),
            experience_years: m.experience_years,
            qualification: m.qualification.clone(),
            bio: m.bio.clone(),
            consultation_fee: Money {
                amount_minor: m.consultation_fee_minor,
                currency: m.currency.clone(),
            },
            rating: m.rating,
            rating_count: m.rating_count,
            is_verified: m.is_verified,
            verified_at: m.verified_at,
            is_available: m.is_available,
            buffer_minutes: m.buffer_minutes,
            min_notice_minutes: m.min_notice_minutes,
            created_at: m.created_at,
            row: m,
        }
    }
}

#[ComplexObject]
impl Doctor {
    /// The doctor's account. Its phone and last sign-in are shown only to the doctor, super
    /// admins and the admins of the doctor's organization.
    async fn user(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        let req = ctx.req()?;
        let u = load_one(&req.loaders.users, self.row.user_id).await?;
        let full = care::sees_account(&req.viewer, &self.row);
        Ok(u.map(if full { User::from } else { User::public }))
    }

    /// The organization the doctor practises in, if any.
    async fn organization(&self, ctx: &Context<'_>) -> AppResult<Option<Arc<Organization>>> {
        let Some(id) = self.row.organization_id else {
            return Ok(None);
        };
        Organization::load(ctx, id).await
    }

    async fn availability(&self, ctx: &Context<'_>) -> AppResult<Vec<AvailabilityRule>> {
        let rows = load_children(&ctx.req()?.loaders.availability_by_doctor, self.row.id).await?;
        Ok(rows.into_iter().map(AvailabilityRule::from).collect())
    }

    /// The insurance plans the doctor accepts, by code.
    #[graphql(complexity = "crate::graphql::limits::list_cost(child_complexity)")]
    async fn accepted_plans(&self, ctx: &Context<'_>) -> AppResult<Vec<InsurancePlan>> {
        let rows = load_children(&ctx.req()?.loaders.accepted_plans_by_doctor, self.row.id).await?;
        Ok(rows.into_iter().map(InsurancePlan::from).collect())
    }

    /// Time off and extra hours not yet over, soonest first: the doctor, super admins and
    /// the admins of the doctor's organization (null for anyone else).
    async fn availability_exceptions(
        &self,
        ctx: &Context<'_>,
    ) -> AppResult<Option<Vec<AvailabilityException>>> {
        let req = ctx.req()?;
        if !care::sees_account(&req.viewer, &self.row) {
            return Ok(None);
        }
        let rows = load_children(&req.loaders.exceptions_by_doctor, self.row.id).await?;
        Ok(Some(
            rows.into_iter().map(AvailabilityException::from).collect(),
        ))
    }
}

/// A one-off change to a doctor's weekly hours, as instants: time off (no bookings, whatever
/// the weekly hours say) or extra hours.
#[derive(SimpleObject, Clone)]
pub struct AvailabilityException {
    pub id: ID,
    pub kind: AvailabilityExceptionKind,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<availability_exception::Model> for AvailabilityException {
    fn from(m: availability_exception::Model) -> Self {
        Self {
            id: to_id(m.id),
            kind: m.kind,
            starts_at: m.starts_at,
            ends_at: m.ends_at,
            note: m.note,
            created_at: m.created_at,
        }
    }
}

/// Input of `addAvailabilityException`, for the caller's own profile.
#[derive(InputObject)]
pub struct AddAvailabilityExceptionInput {
    /// Whole minute.
    pub starts_at: DateTime<Utc>,
    /// Whole minute, after the start and in the future. Extra hours last at most a day, time
    /// off at most a year.
    pub ends_at: DateTime<Utc>,
    pub kind: AvailabilityExceptionKind,
    /// For the doctor and the organization's admins (at most 500 characters).
    pub note: Option<String>,
}

/// Input of `removeAvailabilityException`.
#[derive(InputObject)]
pub struct RemoveAvailabilityExceptionInput {
    pub exception_id: ID,
}

/// Result of an availability-exception mutation.
#[derive(SimpleObject)]
pub struct AvailabilityExceptionPayload {
    pub exception: AvailabilityException,
}

impl From<availability_exception::Model> for AvailabilityExceptionPayload {
    fn from(m: availability_exception::Model) -> Self {
        Self {
            exception: m.into(),
        }
    }
}

/// Weekly hours, wall-clock in an IANA time zone, valid between two dates. A rule does not
/// cross midnight: split it in two.
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(input_name = "AvailabilityRuleInput")]
pub struct AvailabilityRule {
    #[graphql(skip_input)]
    pub id: ID,
    pub day_of_week: Weekday,
    /// Start, wall-clock (`09:00:00`).
    pub start_time: NaiveTime,
    /// End, wall-clock, after the start.
    pub end_time: NaiveTime,
    /// IANA zone, e.g. `Asia/Kolkata`.
    pub time_zone: String,
    /// The first day the rule applies.
    pub valid_from: NaiveDate,
    /// The last day the rule applies; none for a rule without end.
    pub valid_until: Option<NaiveDate>,
}

impl From<Slot> for OpenSlot {
    fn from(s: Slot) -> Self {
        Self {
            starts_at: s.start,
            ends_at: s.end,
            local_starts_at: s.local_start(),
            utc_offset_minutes: s.offset_seconds() / 60,
            time_zone: s.tz.name().to_string(),
        }
    }
}

impl From<availability_rule::Model> for AvailabilityRule {
    fn from(m: availability_rule::Model) -> Self {
        Self {
            id: to_id(m.id),
            day_of_week: m.day_of_week,
            start_time: m.start_time,
            end_time: m.end_time,
            time_zone: m.time_zone,
            valid_from: m.valid_from,
            valid_until: m.valid_until,
        }
    }
}

#[derive(SimpleObject, Clone)]
pub struct OpenSlot {
    /// Start, UTC.
    pub starts_at: DateTime<Utc>,
    /// End, UTC.
    pub ends_at: DateTime<Utc>,
    /// Start in the doctor's zone, RFC 3339 with its offset.
    pub local_starts_at: String,
    /// The doctor's offset from UTC at the start, in minutes.
    pub utc_offset_minutes: i32,
    /// The doctor's zone.
    pub time_zone: String,
}

/// A consultation between a patient and a doctor.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Consultation {
    pub id: ID,
    /// When it starts (UTC).
    pub scheduled_at: DateTime<Utc>,
    /// When it ends (UTC).
    pub ends_at: DateTime<Utc>,
    pub duration_minutes: i32,
    pub consultation_type: ConsultationType,
    pub status: ConsultationStatus,
    pub cancellation_reason: Option<String>,
    /// The booking this one replaced.
    pub rescheduled_from_id: Option<ID>,
    /// The booking that replaced this one.
    pub rescheduled_to_id: Option<ID>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub no_show_at: Option<DateTime<Utc>>,
    /// The patient's coverage it is booked under, if any.
    pub coverage_id: Option<ID>,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub row: consultation::Model,
}

impl From<consultation::Model> for Consultation {
    fn from(m: consultation::Model) -> Self {
        Self {
            id: to_id(m.id),
            scheduled_at: m.scheduled_at,
            ends_at: m.ends_at,
            duration_minutes: m.duration_minutes,
            consultation_type: m.consultation_type,
            status: m.status,
            cancellation_reason: m.cancellation_reason.clone(),
            rescheduled_from_id: m.rescheduled_from_id.map(to_id),
            rescheduled_to_id: m.rescheduled_to_id.map(to_id),
            confirmed_at: m.confirmed_at,
            started_at: m.started_at,
            completed_at: m.completed_at,
            cancelled_at: m.cancelled_at,
            no_show_at: m.no_show_at,
            coverage_id: m.coverage_id.map(to_id),
            created_at: m.created_at,
            row: m,
        }
    }
}

impl Consultation {
    /// A health field: only for the consultation's parties, and the read is audited.
    fn health(
        &self,
        ctx: &Context<'_>,
        value: &Option<Sealed<String>>,
    ) -> AppResult<Option<String>> {
        let req = ctx.req()?;
        if !care::sees_health(&req.viewer, &self.row) {
            return Ok(None);
        }
        req.reads.record(ReadRecord {
            action: "consultation.read_health",
            entity_type: "consultation",
            entity_id: self.row.id,
            organization_id: self.row.organization_id,
        });
        Ok(Sealed::plain(value))
    }
}

#[ComplexObject]
impl Consultation {
    /// What the patient reported (health data; audited).
    async fn symptoms(&self, ctx: &Context<'_>) -> AppResult<Option<String>> {
        self.health(ctx, &self.row.symptoms)
    }

    /// The doctor's diagnosis (health data; audited).
    async fn diagnosis(&self, ctx: &Context<'_>) -> AppResult<Option<String>> {
        self.health(ctx, &self.row.diagnosis)
    }

    /// The doctor's notes (health data; audited).
    async fn notes(&self, ctx: &Context<'_>) -> AppResult<Option<String>> {
        self.health(ctx, &self.row.notes)
    }

    async fn doctor(&self, ctx: &Context<'_>) -> AppResult<Option<Doctor>> {
        let d = load_one(&ctx.req()?.loaders.doctors, self.row.doctor_id).await?;
        Ok(d.map(Doctor::from))
    }

    async fn patient(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        User::load(ctx, self.row.patient_id).await
    }

    /// The video room link of a VIDEO consultation: only for its patient and its doctor, from
    /// `VIDEO_JOIN_EARLY_MINUTES` before the start until the end; null for anyone else, at
    /// any other time, and when no provider is configured.
    async fn join_url(&self, ctx: &Context<'_>) -> AppResult<Option<String>> {
        let req = ctx.req()?;
        Ok(crate::consultations::service::join_url(
            &ctx.app()?.config,
            &req.viewer,
            &self.row,
        ))
    }

    /// Prescriptions written in it (health data; audited).
    async fn prescriptions(&self, ctx: &Context<'_>) -> AppResult<Vec<Prescription>> {
        let req = ctx.req()?;
        if !care::sees_health(&req.viewer, &self.row) {
            return Ok(Vec::new());
        }
        let rows = load_children(&req.loaders.prescriptions_by_consultation, self.row.id).await?;
        for p in &rows {
            Prescription::record_read(req, p, self.row.organization_id);
        }
        Ok(rows.into_iter().map(Prescription::from).collect())
    }

    /// Payments recorded for it.
    async fn payments(&self, ctx: &Context<'_>) -> AppResult<Vec<Payment>> {
        let req = ctx.req()?;
        if !care::sees_health(&req.viewer, &self.row) {
            return Ok(Vec::new());
        }
        let rows = load_children(&req.loaders.payments_by_consultation, self.row.id).await?;
        Ok(rows.into_iter().map(Payment::from).collect())
    }

    /// The patient's rating, once the consultation is completed and rated: its parties.
    async fn rating(&self, ctx: &Context<'_>) -> AppResult<Option<ConsultationRating>> {
        let req = ctx.req()?;
        if !care::sees_health(&req.viewer, &self.row) {
            return Ok(None);
        }
        let r = load_one(&req.loaders.rating_by_consultation, self.row.id).await?;
        Ok(r.map(ConsultationRating::from))
    }

    /// Risks the doctor flagged: the doctor and the organization's admins (not the patient).
    async fn risk_flags(&self, ctx: &Context<'_>) -> AppResult<Vec<RiskFlag>> {
        let req = ctx.req()?;
        if !care::sees_risk_flags(&req.viewer, &self.row) {
            return Ok(Vec::new());
        }
        let rows = load_children(&req.loaders.risk_flags_by_consultation, self.row.id).await?;
        Ok(rows.into_iter().map(RiskFlag::from).collect())
    }
}

/// One medication of a prescription.
#[derive(SimpleObject, InputObject, Clone, Debug, Serialize, Deserialize)]
#[graphql(input_name = "MedicationInput")]
#[serde(rename_all = "camelCase")]
pub struct Medication {
    pub name: String,
    /// Dose, e.g. "500 mg".
    pub dose: String,
    /// How often, e.g. "twice a day".
    pub frequency: String,
    /// For how many days.
    pub duration_days: i32,
}

/// A prescription (health data: seen by the patient, the doctor who wrote it and the
/// organization's admins).
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Prescription {
    pub id: ID,
    pub consultation_id: ID,
    pub medications: Vec<Medication>,
    pub instructions: Option<String>,
    pub follow_up_date: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub row: prescription::Model,
}

impl From<prescription::Model> for Prescription {
    fn from(m: prescription::Model) -> Self {
        Self {
            id: to_id(m.id),
            consultation_id: to_id(m.consultation_id),
            medications: serde_json::from_value(m.medications.0.clone()).unwrap_or_default(),
            instructions: Sealed::plain(&m.instructions),
            follow_up_date: m.follow_up_date,
            created_at: m.created_at,
            row: m,
        }
    }
}

impl Prescription {
    /// Audits the read of a prescription (health data).
    pub fn record_read(req: &RequestCtx, p: &prescription::Model, org: Option<Uuid>) {
        req.reads.record(ReadRecord {
            action: "prescription.read",
            entity_type: "prescription",
            entity_id: p.id,
            organization_id: org,
        });
    }
}

#[ComplexObject]
impl Prescription {
    /// The doctor who wrote it.
    async fn doctor(&self, ctx: &Context<'_>) -> AppResult<Option<Doctor>> {
        let d = load_one(&ctx.req()?.loaders.doctors, self.row.doctor_id).await?;
        Ok(d.map(Doctor::from))
    }

    async fn patient(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        User::load(ctx, self.row.patient_id).await
    }
}

/// A payment for a consultation.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Payment {
    pub id: ID,
    pub consultation_id: ID,
    pub amount: Money,
    /// What the insurer pays of the amount, in minor units (0 for an uncovered
    /// consultation).
    pub insurer_share_minor: i64,
    /// What the patient pays of the amount, in minor units.
    pub patient_share_minor: i64,
    pub method: PaymentMethod,
    pub status: PaymentStatus,
    /// The gateway's or bank's reference.
    pub transaction_reference: Option<String>,
    pub refunded_at: Option<DateTime<Utc>>,
    pub refund_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub insurance_plan_id: Option<Uuid>,
}

impl From<payment::Model> for Payment {
    fn from(m: payment::Model) -> Self {
        Self {
            id: to_id(m.id),
            consultation_id: to_id(m.consultation_id),
            insurer_share_minor: m.insurer_share_minor.unwrap_or(0),
            patient_share_minor: m.patient_share_minor.unwrap_or(m.amount_minor),
            insurance_plan_id: m.insurance_plan_id,
            amount: Money {
                amount_minor: m.amount_minor,
                currency: m.currency,
            },
            method: m.method,
            status: m.status,
            transaction_reference: m.transaction_reference,
            refunded_at: m.refunded_at,
            refund_reason: m.refund_reason,
            created_at: m.created_at,
        }
    }
}

#[ComplexObject]
impl Payment {
    /// The insurance plan the fee was split under (the consultation's coverage's), if any.
    async fn plan(&self, ctx: &Context<'_>) -> AppResult<Option<InsurancePlan>> {
        match self.insurance_plan_id {
            Some(id) => InsurancePlan::load(ctx, id).await,
            None => Ok(None),
        }
    }
}

/// A risk a doctor flagged on a consultation: open on its organization's worklist until
/// resolved with a note.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct RiskFlag {
    pub id: ID,
    pub consultation_id: ID,
    pub risk_type: RiskType,
    pub severity: RiskSeverity,
    /// What the doctor saw.
    pub description: String,
    /// The alert it raised (critical flags).
    pub alert_id: Option<ID>,
    pub created_at: DateTime<Utc>,
    pub status: RiskFlagStatus,
    pub resolved_at: Option<DateTime<Utc>>,
    /// What was done about it.
    pub resolution_note: Option<String>,
    #[graphql(skip)]
    pub row: risk_flag::Model,
}

impl From<risk_flag::Model> for RiskFlag {
    fn from(m: risk_flag::Model) -> Self {
        Self {
            id: to_id(m.id),
            consultation_id: to_id(m.consultation_id),
            risk_type: m.risk_type,
            severity: m.severity,
            description: m.description.clone(),
            alert_id: m.alert_id.map(to_id),
            created_at: m.created_at,
            status: m.status,
            resolved_at: m.resolved_at,
            resolution_note: Sealed::plain(&m.resolution_note),
            row: m,
        }
    }
}

#[ComplexObject]
impl RiskFlag {
    /// The doctor who flagged it.
    async fn doctor(&self, ctx: &Context<'_>) -> AppResult<Option<Doctor>> {
        let d = load_one(&ctx.req()?.loaders.doctors, self.row.doctor_id).await?;
        Ok(d.map(Doctor::from))
    }

    /// The patient it concerns.
    async fn patient(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        User::load(ctx, self.row.patient_id).await
    }

    /// Who resolved it.
    async fn resolved_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        match self.row.resolved_by {
            Some(id) => User::load(ctx, id).await,
            None => Ok(None),
        }
    }
}

/// A patient's rating of a completed consultation (its parties see it; the doctor's profile
/// shows only the mean).
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct ConsultationRating {
    pub id: ID,
    pub consultation_id: ID,
    /// 1 to 5.
    pub rating: i32,
    /// The patient's words, if any.
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub row: consultation_rating::Model,
}

impl From<consultation_rating::Model> for ConsultationRating {
    fn from(m: consultation_rating::Model) -> Self {
        Self {
            id: to_id(m.id),
            consultation_id: to_id(m.consultation_id),
            rating: m.rating,
            comment: Sealed::plain(&m.comment),
            created_at: m.created_at,
            row: m,
        }
    }
}

#[ComplexObject]
impl ConsultationRating {
    /// The doctor rated, with the mean this rating moved.
    async fn doctor(&self, ctx: &Context<'_>) -> AppResult<Option<Doctor>> {
        let d = load_one(&ctx.req()?.loaders.doctors, self.row.doctor_id).await?;
        Ok(d.map(Doctor::from))
    }
}

/// Filter of `doctors`.
#[derive(InputObject, Default)]
pub struct DoctorFilter {
    /// Specialization (case-insensitive, exact).
    pub specialization: Option<String>,
    /// Verified or not.
    pub verified: Option<bool>,
    /// Taking bookings or not.
    pub available: Option<bool>,
    /// Practising in this organization.
    pub organization_id: Option<ID>,
    /// Fee at least (minor units).
    pub min_fee_minor: Option<i64>,
    /// Fee at most (minor units).
    pub max_fee_minor: Option<i64>,
}

/// Sort field of `doctors`.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum DoctorOrderField {
    /// Best rated first with DESC.
    #[default]
    Rating,
    /// Cheapest first with ASC.
    Fee,
    /// Oldest profile first with ASC.
    CreatedAt,
}

/// Order of `doctors` (default: rating, highest first).
#[derive(InputObject)]
pub struct DoctorOrder {
    pub field: DoctorOrderField,
    pub direction: SortDirection,
}

impl Default for DoctorOrder {
    fn default() -> Self {
        Self {
            field: DoctorOrderField::Rating,
            direction: SortDirection::Desc,
        }
    }
}

/// Filter of `consultations`.
#[derive(InputObject, Default)]
pub struct ConsultationFilter {
    /// Only consultations in these states.
    pub statuses: Option<Vec<ConsultationStatus>>,
    /// With this doctor.
    pub doctor_id: Option<ID>,
    /// Of this patient.
    pub patient_id: Option<ID>,
    /// Of this organization.
    pub organization_id: Option<ID>,
    /// Starting at or after.
    pub scheduled_after: Option<DateTime<Utc>>,
    pub scheduled_before: Option<DateTime<Utc>>,
}

/// Sort field of `consultations`.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum ConsultationOrderField {
    #[default]
    ScheduledAt,
    CreatedAt,
}

/// Order of `consultations` (default: soonest first).
#[derive(InputObject, Default)]
pub struct ConsultationOrder {
    pub field: ConsultationOrderField,
    pub direction: SortDirection,
}

/// Filter of `prescriptions`.
#[derive(InputObject, Default)]
pub struct PrescriptionFilter {
    /// Of this consultation.
    pub consultation_id: Option<ID>,
}

/// Input of `createDoctorProfile`.
#[derive(InputObject)]
pub struct CreateDoctorProfileInput {
    /// The organization the doctor practises in (the caller must be its active DOCTOR).
    pub organization_id: Option<ID>,
    /// Registration number (unique).
    pub license_number: String,
    pub specialization: String,
    /// Years of practice (0 to 70).
    pub experience_years: i32,
    pub qualification: Option<String>,
    pub bio: Option<String>,
    /// Fee per consultation in minor units (0 for free).
    pub consultation_fee_minor: i64,
    /// ISO 4217 code.
    pub currency: String,
}

/// Input of `updateDoctorProfile` (the caller's own profile; absent fields are kept).
#[derive(InputObject, Default)]
pub struct UpdateDoctorProfileInput {
    /// Attaches the profile to an organization where the caller is an active DOCTOR (after
    /// leaving one, bookings go to none until re-attached).
    pub organization_id: Option<ID>,
    pub specialization: Option<String>,
    pub experience_years: Option<i32>,
    pub qualification: Option<String>,
    pub bio: Option<String>,
    pub consultation_fee_minor: Option<i64>,
    /// ISO 4217 code.
    pub currency: Option<String>,
    pub is_available: Option<bool>,
    /// Minutes kept free after each booking (0 to 120, in steps of 5); bookings already made
    /// keep the buffer they were made with.
    pub buffer_minutes: Option<i32>,
    /// How many minutes ahead a consultation must be booked (0 to 43,200, 30 days).
    pub min_notice_minutes: Option<i32>,
}

/// Input of `verifyDoctor`.
#[derive(InputObject)]
pub struct VerifyDoctorInput {
    pub doctor_id: ID,
}

/// Input of `setAvailability`: replaces the caller's rules.
#[derive(InputObject)]
pub struct SetAvailabilityInput {
    /// The rules (at most 50; none clears them).
    pub rules: Vec<AvailabilityRule>,
}

/// Input of `bookConsultation`.
#[derive(InputObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BookConsultationInput {
    pub doctor_id: ID,
    /// Start (UTC; whole minutes).
    pub scheduled_at: DateTime<Utc>,
    /// Length in minutes (10 to 240, a multiple of 5).
    pub duration_minutes: i32,
    pub consultation_type: ConsultationType,
    /// What the patient reports.
    pub symptoms: Option<String>,
    /// One of your coverages to book under: in force on the consultation's day, of a plan
    /// the doctor accepts. The payment then splits the fee.
    pub coverage_id: Option<ID>,
    /// Makes a retry safe: the same key returns the first booking.
    pub idempotency_key: Option<String>,
}

/// Input of `confirmConsultation`, `startConsultation` and `markNoShow`.
#[derive(InputObject)]
pub struct ConsultationActionInput {
    pub consultation_id: ID,
}

/// Input of `completeConsultation`.
#[derive(InputObject)]
pub struct CompleteConsultationInput {
    pub consultation_id: ID,
    /// Required, up to 4000 characters (health data).
    pub diagnosis: String,
    /// Up to 8000 characters (health data).
    pub notes: Option<String>,
}

/// Input of `cancelConsultation`.
#[derive(InputObject)]
pub struct CancelConsultationInput {
    pub consultation_id: ID,
    /// Why, shown to both parties as the cancellation reason (up to 500 characters).
    pub reason: String,
}

/// Input of `rescheduleConsultation`.
#[derive(InputObject)]
pub struct RescheduleConsultationInput {
    /// The consultation to move; it is cancelled and linked to the new booking.
    pub consultation_id: ID,
    pub scheduled_at: DateTime<Utc>,
    /// New length (defaults to the old one).
    pub duration_minutes: Option<i32>,
    /// Why it moves (default "rescheduled"), kept as the old booking's cancellation reason.
    pub reason: Option<String>,
}

/// Input of `addPrescription`.
#[derive(InputObject)]
pub struct AddPrescriptionInput {
    pub consultation_id: ID,
    /// Medications (1 to 20).
    pub medications: Vec<Medication>,
    /// Up to 4000 characters.
    pub instructions: Option<String>,
    pub follow_up_date: Option<NaiveDate>,
}

/// Input of `recordPayment`.
#[derive(InputObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordPaymentInput {
    pub consultation_id: ID,
    /// Amount in minor units.
    pub amount_minor: i64,
    /// ISO 4217 code (the doctor's fee currency).
    pub currency: String,
    pub method: PaymentMethod,
    /// The gateway's or bank's reference.
    pub transaction_reference: Option<String>,
    /// Makes a retry safe.
    pub idempotency_key: Option<String>,
}

/// Input of `refundPayment`.
#[derive(InputObject)]
pub struct RefundPaymentInput {
    pub payment_id: ID,
    /// Why, kept on the payment (up to 500 characters).
    pub reason: String,
}

/// Input of `raiseRiskFlag`.
#[derive(InputObject)]
pub struct RaiseRiskFlagInput {
    pub consultation_id: ID,
    pub risk_type: RiskType,
    /// Severity; CRITICAL raises a RISK_FLAG alert.
    pub severity: RiskSeverity,
    /// What the doctor saw.
    pub description: String,
}

/// Input of `rateConsultation`.
#[derive(InputObject)]
pub struct RateConsultationInput {
    /// A completed consultation of the caller's (as its patient).
    pub consultation_id: ID,
    /// 1 (poor) to 5 (excellent).
    pub rating: i32,
    /// Up to 2000 characters.
    pub comment: Option<String>,
}

/// Result of `rateConsultation`.
#[derive(SimpleObject)]
pub struct RatingPayload {
    pub rating: ConsultationRating,
}

impl From<consultation_rating::Model> for RatingPayload {
    fn from(m: consultation_rating::Model) -> Self {
        Self { rating: m.into() }
    }
}

/// Result of a doctor mutation.
#[derive(SimpleObject)]
pub struct DoctorPayload {
    pub doctor: Doctor,
}

/// Result of a consultation mutation.
#[derive(SimpleObject)]
pub struct ConsultationPayload {
    pub consultation: Consultation,
}

/// Result of `addPrescription`.
#[derive(SimpleObject)]
pub struct PrescriptionPayload {
    pub prescription: Prescription,
}

/// Result of a payment mutation.
#[derive(SimpleObject)]
pub struct PaymentPayload {
    pub payment: Payment,
}

/// Result of `raiseRiskFlag`.
#[derive(SimpleObject)]
pub struct RiskFlagPayload {
    pub risk_flag: RiskFlag,
}

impl From<doctor::Model> for DoctorPayload {
    fn from(m: doctor::Model) -> Self {
        Self { doctor: m.into() }
    }
}

impl From<consultation::Model> for ConsultationPayload {
    fn from(m: consultation::Model) -> Self {
        Self {
            consultation: m.into(),
        }
    }
}

impl From<prescription::Model> for PrescriptionPayload {
    fn from(m: prescription::Model) -> Self {
        Self {
            prescription: m.into(),
        }
    }
}

impl From<payment::Model> for PaymentPayload {
    fn from(m: payment::Model) -> Self {
        Self { payment: m.into() }
    }
}

impl From<risk_flag::Model> for RiskFlagPayload {
    fn from(m: risk_flag::Model) -> Self {
        Self {
            risk_flag: m.into(),
        }
    }
}

//! GraphQL types of telehealth. Symptoms, diagnosis, notes and prescriptions are health data:
//! only the consultation's parties see them (see `auth::care`), and every read is audited.

use crate::{
    audit::ReadRecord,
    auth::{Rule, authorize, care},
    error::AppResult,
    graphql::{
        context::CtxExt,
        ids::to_id,
        loaders::{load_children, load_one},
        pagination::SortDirection,
    },
    identity::types::User,
    organizations::types::Organization,
};
use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, SimpleObject};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use entity::{
    ConsultationStatus, ConsultationType, PaymentMethod, PaymentStatus, RiskSeverity, RiskType,
    Weekday, availability_rule, consultation, doctor, payment, prescription, risk_flag,
};
use serde::{Deserialize, Serialize};

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
    /// Identifier.
    pub id: ID,
    /// Registration number with the medical council (unique).
    pub license_number: String,
    /// Specialization.
    pub specialization: String,
    /// Years of practice.
    pub experience_years: i32,
    /// Degrees.
    pub qualification: Option<String>,
    /// About the doctor.
    pub bio: Option<String>,
    /// Fee per consultation.
    pub consultation_fee: Money,
    /// Mean rating (0 until rated).
    pub rating: f64,
    /// Ratings counted.
    pub rating_count: i32,
    /// Checked by a super admin or the organization's admin.
    pub is_verified: bool,
    /// When verified.
    pub verified_at: Option<DateTime<Utc>>,
    /// Taking bookings.
    pub is_available: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    /// The row.
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
        let full = req.viewer.user_id() == Some(self.row.user_id)
            || authorize(
                &req.viewer,
                Rule::SuperAdminOrOrgAdmin {
                    org: self.row.organization_id,
                },
            )
            .is_ok();
        Ok(u.map(if full { User::from } else { User::public }))
    }

    /// The organization the doctor practises in, if any.
    async fn organization(&self, ctx: &Context<'_>) -> AppResult<Option<Organization>> {
        let Some(id) = self.row.organization_id else {
            return Ok(None);
        };
        Organization::load(ctx, id).await
    }

    /// Weekly availability.
    async fn availability(&self, ctx: &Context<'_>) -> AppResult<Vec<AvailabilityRule>> {
        let rows = load_children(&ctx.req()?.loaders.availability_by_doctor, self.row.id).await?;
        Ok(rows.into_iter().map(AvailabilityRule::from).collect())
    }
}

/// Weekly hours, wall-clock in an IANA time zone, valid between two dates.
#[derive(SimpleObject, Clone)]
pub struct AvailabilityRule {
    /// Identifier.
    pub id: ID,
    /// Day.
    pub day_of_week: Weekday,
    /// Start, wall-clock.
    pub start_time: NaiveTime,
    /// End, wall-clock.
    pub end_time: NaiveTime,
    /// IANA zone.
    pub time_zone: String,
    /// First day.
    pub valid_from: NaiveDate,
    /// Last day, if any.
    pub valid_until: Option<NaiveDate>,
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

/// A free slot.
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
    /// Identifier.
    pub id: ID,
    /// Start.
    pub scheduled_at: DateTime<Utc>,
    /// End.
    pub ends_at: DateTime<Utc>,
    /// Length.
    pub duration_minutes: i32,
    /// How.
    pub consultation_type: ConsultationType,
    /// State.
    pub status: ConsultationStatus,
    /// Why it was cancelled.
    pub cancellation_reason: Option<String>,
    /// The booking this one replaced.
    pub rescheduled_from_id: Option<ID>,
    /// The booking that replaced this one.
    pub rescheduled_to_id: Option<ID>,
    /// Confirmed.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// Started.
    pub started_at: Option<DateTime<Utc>>,
    /// Completed.
    pub completed_at: Option<DateTime<Utc>>,
    /// Cancelled.
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Marked as a no-show.
    pub no_show_at: Option<DateTime<Utc>>,
    /// Booked.
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    /// The row.
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
            created_at: m.created_at,
            row: m,
        }
    }
}

impl Consultation {
    /// A health field: only for the consultation's parties, and the read is audited.
    fn health(&self, ctx: &Context<'_>, value: &Option<String>) -> AppResult<Option<String>> {
        let req = ctx.req()?;
        if care::party(&req.viewer, &self.row).is_none() {
            return Ok(None);
        }
        req.reads.record(ReadRecord {
            action: "consultation.read_health",
            entity_type: "consultation",
            entity_id: self.row.id,
            organization_id: self.row.organization_id,
        });
        Ok(value.clone())
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

    /// The doctor.
    async fn doctor(&self, ctx: &Context<'_>) -> AppResult<Option<Doctor>> {
        let d = load_one(&ctx.req()?.loaders.doctors, self.row.doctor_id).await?;
        Ok(d.map(Doctor::from))
    }

    /// The patient.
    async fn patient(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        User::load(ctx, self.row.patient_id).await
    }

    /// Prescriptions written in it (health data; audited).
    async fn prescriptions(&self, ctx: &Context<'_>) -> AppResult<Vec<Prescription>> {
        let req = ctx.req()?;
        if care::party(&req.viewer, &self.row).is_none() {
            return Ok(Vec::new());
        }
        let rows = load_children(&req.loaders.prescriptions_by_consultation, self.row.id).await?;
        for p in &rows {
            req.reads.record(ReadRecord {
                action: "prescription.read",
                entity_type: "prescription",
                entity_id: p.id,
                organization_id: self.row.organization_id,
            });
        }
        Ok(rows.into_iter().map(Prescription::from).collect())
    }

    /// Payments recorded for it.
    async fn payments(&self, ctx: &Context<'_>) -> AppResult<Vec<Payment>> {
        let req = ctx.req()?;
        if care::party(&req.viewer, &self.row).is_none() {
            return Ok(Vec::new());
        }
        let rows = load_children(&req.loaders.payments_by_consultation, self.row.id).await?;
        Ok(rows.into_iter().map(Payment::from).collect())
    }

    /// Risks the doctor flagged: the doctor and the organization's admins (not the patient).
    async fn risk_flags(&self, ctx: &Context<'_>) -> AppResult<Vec<RiskFlag>> {
        let req = ctx.req()?;
        if !matches!(
            care::party(&req.viewer, &self.row),
            Some(care::Party::Doctor | care::Party::OrgAdmin)
        ) {
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
    /// Medicine.
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
    /// Identifier.
    pub id: ID,
    /// The consultation.
    pub consultation_id: ID,
    /// Medications.
    pub medications: Vec<Medication>,
    /// Instructions.
    pub instructions: Option<String>,
    /// When to come back.
    pub follow_up_date: Option<NaiveDate>,
    /// Written.
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    /// The row.
    pub row: prescription::Model,
}

impl From<prescription::Model> for Prescription {
    fn from(m: prescription::Model) -> Self {
        Self {
            id: to_id(m.id),
            consultation_id: to_id(m.consultation_id),
            medications: serde_json::from_value(m.medications.clone()).unwrap_or_default(),
            instructions: m.instructions.clone(),
            follow_up_date: m.follow_up_date,
            created_at: m.created_at,
            row: m,
        }
    }
}

#[ComplexObject]
impl Prescription {
    /// The doctor who wrote it.
    async fn doctor(&self, ctx: &Context<'_>) -> AppResult<Option<Doctor>> {
        let d = load_one(&ctx.req()?.loaders.doctors, self.row.doctor_id).await?;
        Ok(d.map(Doctor::from))
    }

    /// The patient.
    async fn patient(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        User::load(ctx, self.row.patient_id).await
    }
}

/// A payment for a consultation.
#[derive(SimpleObject, Clone)]
pub struct Payment {
    /// Identifier.
    pub id: ID,
    /// The consultation.
    pub consultation_id: ID,
    /// Amount.
    pub amount: Money,
    /// How.
    pub method: PaymentMethod,
    /// State.
    pub status: PaymentStatus,
    /// The gateway's or bank's reference.
    pub transaction_reference: Option<String>,
    /// Refunded.
    pub refunded_at: Option<DateTime<Utc>>,
    /// Why refunded.
    pub refund_reason: Option<String>,
    /// Recorded.
    pub created_at: DateTime<Utc>,
}

impl From<payment::Model> for Payment {
    fn from(m: payment::Model) -> Self {
        Self {
            id: to_id(m.id),
            consultation_id: to_id(m.consultation_id),
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

/// A risk a doctor flagged on a consultation.
#[derive(SimpleObject, Clone)]
pub struct RiskFlag {
    /// Identifier.
    pub id: ID,
    /// The consultation.
    pub consultation_id: ID,
    /// Kind of risk.
    pub risk_type: RiskType,
    /// Severity.
    pub severity: RiskSeverity,
    /// What the doctor saw.
    pub description: String,
    /// The alert it raised (critical flags).
    pub alert_id: Option<ID>,
    /// Raised.
    pub created_at: DateTime<Utc>,
}

impl From<risk_flag::Model> for RiskFlag {
    fn from(m: risk_flag::Model) -> Self {
        Self {
            id: to_id(m.id),
            consultation_id: to_id(m.consultation_id),
            risk_type: m.risk_type,
            severity: m.severity,
            description: m.description,
            alert_id: m.alert_id.map(to_id),
            created_at: m.created_at,
        }
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
    /// Field.
    pub field: DoctorOrderField,
    /// Direction.
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
    /// States.
    pub statuses: Option<Vec<ConsultationStatus>>,
    /// With this doctor.
    pub doctor_id: Option<ID>,
    /// Of this patient.
    pub patient_id: Option<ID>,
    /// Of this organization.
    pub organization_id: Option<ID>,
    /// Starting at or after.
    pub scheduled_after: Option<DateTime<Utc>>,
    /// Starting before.
    pub scheduled_before: Option<DateTime<Utc>>,
}

/// Sort field of `consultations`.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum ConsultationOrderField {
    /// By start.
    #[default]
    ScheduledAt,
    /// By booking.
    CreatedAt,
}

/// Order of `consultations` (default: soonest first).
#[derive(InputObject, Default)]
pub struct ConsultationOrder {
    /// Field.
    pub field: ConsultationOrderField,
    /// Direction.
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
    /// Specialization.
    pub specialization: String,
    /// Years of practice (0 to 70).
    pub experience_years: i32,
    /// Degrees.
    pub qualification: Option<String>,
    /// About.
    pub bio: Option<String>,
    /// Fee per consultation in minor units (0 for free).
    pub consultation_fee_minor: i64,
    /// ISO 4217 code.
    pub currency: String,
}

/// Input of `updateDoctorProfile` (the caller's own profile; absent fields are kept).
#[derive(InputObject, Default)]
pub struct UpdateDoctorProfileInput {
    /// Specialization.
    pub specialization: Option<String>,
    /// Years of practice.
    pub experience_years: Option<i32>,
    /// Degrees.
    pub qualification: Option<String>,
    /// About.
    pub bio: Option<String>,
    /// Fee in minor units.
    pub consultation_fee_minor: Option<i64>,
    /// ISO 4217 code.
    pub currency: Option<String>,
    /// Taking bookings.
    pub is_available: Option<bool>,
}

/// Input of `verifyDoctor`.
#[derive(InputObject)]
pub struct VerifyDoctorInput {
    /// The profile.
    pub doctor_id: ID,
}

/// One weekly rule.
#[derive(InputObject, Clone)]
pub struct AvailabilityRuleInput {
    /// Day.
    pub day_of_week: Weekday,
    /// Start, wall-clock (`09:00:00`).
    pub start_time: NaiveTime,
    /// End, wall-clock, after the start (rules do not cross midnight: split them).
    pub end_time: NaiveTime,
    /// IANA zone, e.g. `Asia/Kolkata`.
    pub time_zone: String,
    /// First day.
    pub valid_from: NaiveDate,
    /// Last day.
    pub valid_until: Option<NaiveDate>,
}

/// Input of `setAvailability`: replaces the caller's rules.
#[derive(InputObject)]
pub struct SetAvailabilityInput {
    /// The rules (at most 50; none clears them).
    pub rules: Vec<AvailabilityRuleInput>,
}

/// Input of `bookConsultation`.
#[derive(InputObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BookConsultationInput {
    /// The doctor.
    pub doctor_id: ID,
    /// Start (UTC; whole minutes).
    pub scheduled_at: DateTime<Utc>,
    /// Length in minutes (10 to 240, a multiple of 5).
    pub duration_minutes: i32,
    /// How.
    pub consultation_type: ConsultationType,
    /// What the patient reports.
    pub symptoms: Option<String>,
    /// Makes a retry safe: the same key returns the first booking.
    pub idempotency_key: Option<String>,
}

/// Input of `confirmConsultation`, `startConsultation` and `markNoShow`.
#[derive(InputObject)]
pub struct ConsultationActionInput {
    /// The consultation.
    pub consultation_id: ID,
}

/// Input of `completeConsultation`.
#[derive(InputObject)]
pub struct CompleteConsultationInput {
    /// The consultation.
    pub consultation_id: ID,
    /// Diagnosis.
    pub diagnosis: String,
    /// Notes.
    pub notes: Option<String>,
}

/// Input of `cancelConsultation`.
#[derive(InputObject)]
pub struct CancelConsultationInput {
    /// The consultation.
    pub consultation_id: ID,
    /// Why.
    pub reason: String,
}

/// Input of `rescheduleConsultation`.
#[derive(InputObject)]
pub struct RescheduleConsultationInput {
    /// The consultation to move.
    pub consultation_id: ID,
    /// New start.
    pub scheduled_at: DateTime<Utc>,
    /// New length (defaults to the old one).
    pub duration_minutes: Option<i32>,
    /// Why.
    pub reason: Option<String>,
}

/// Input of `addPrescription`.
#[derive(InputObject)]
pub struct AddPrescriptionInput {
    /// The consultation.
    pub consultation_id: ID,
    /// Medications (1 to 20).
    pub medications: Vec<Medication>,
    /// Instructions.
    pub instructions: Option<String>,
    /// When to come back.
    pub follow_up_date: Option<NaiveDate>,
}

/// Input of `recordPayment`.
#[derive(InputObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordPaymentInput {
    /// The consultation.
    pub consultation_id: ID,
    /// Amount in minor units.
    pub amount_minor: i64,
    /// ISO 4217 code (the doctor's fee currency).
    pub currency: String,
    /// How.
    pub method: PaymentMethod,
    /// The gateway's or bank's reference.
    pub transaction_reference: Option<String>,
    /// Makes a retry safe.
    pub idempotency_key: Option<String>,
}

/// Input of `refundPayment`.
#[derive(InputObject)]
pub struct RefundPaymentInput {
    /// The payment.
    pub payment_id: ID,
    /// Why.
    pub reason: String,
}

/// Input of `raiseRiskFlag`.
#[derive(InputObject)]
pub struct RaiseRiskFlagInput {
    /// The consultation.
    pub consultation_id: ID,
    /// Kind.
    pub risk_type: RiskType,
    /// Severity; CRITICAL raises a RISK_FLAG alert.
    pub severity: RiskSeverity,
    /// What the doctor saw.
    pub description: String,
}

/// Result of a doctor mutation.
#[derive(SimpleObject)]
pub struct DoctorPayload {
    /// The profile.
    pub doctor: Doctor,
}

/// Result of a consultation mutation.
#[derive(SimpleObject)]
pub struct ConsultationPayload {
    /// The consultation.
    pub consultation: Consultation,
}

/// Result of `addPrescription`.
#[derive(SimpleObject)]
pub struct PrescriptionPayload {
    /// The prescription.
    pub prescription: Prescription,
}

/// Result of a payment mutation.
#[derive(SimpleObject)]
pub struct PaymentPayload {
    /// The payment.
    pub payment: Payment,
}

/// Result of `raiseRiskFlag`.
#[derive(SimpleObject)]
pub struct RiskFlagPayload {
    /// The flag.
    pub risk_flag: RiskFlag,
}

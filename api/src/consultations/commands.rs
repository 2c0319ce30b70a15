//! Telehealth mutations as typed commands: each input parsed once (`TryFrom`), each command
//! run by [`crate::pipeline`] and its use case in [`super::service`]. Except for creating a
//! doctor profile for an organization, any signed-in user may attempt them: the use case
//! decides, once it holds the row, whether this caller may (`auth::care`).

use super::{
    service::{self, NewDoctor, NewRule, Stamp},
    types::*,
};
use crate::{
    audit::Change,
    auth::Rule,
    db::Db,
    error::{AppError, AppResult},
    graphql::ids::parse_id,
    idempotency::RetryKey,
    pipeline::{Command, Exec},
    validation::{Currency, IanaZone, MinorAmount, Notes, Text},
};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use entity::{
    AvailabilityExceptionKind, ConsultationStatus, ConsultationType, OrgRole, PaymentMethod,
    RiskSeverity, RiskType, availability_exception, consultation, consultation_rating, doctor,
    payment, prescription, risk_flag,
};
use sea_orm::EntityTrait;
use std::marker::PhantomData;
use uuid::Uuid;

/// Implements [`Command`] from one line of the table at the end of this file: the output, the
/// audit action and entity, the rule, the id the input names, the idempotency operation of a
/// retried mutation (answered from the row it created), and the use case.
macro_rules! command {
    (
        $cmd:ident$(<$g:ident: $bound:path>)? => $out:ty, from $input:ty, $action:expr, on $entity:literal,
        rule $rule:expr $(, id $id:ident)? $(, retry $op:literal of $row:ident)?,
        run |$c:ident, $x:ident| $run:expr
    ) => {
        impl$(<$g: $bound>)? Command for $cmd$(<$g>)?
        where
            Self: TryFrom<$input, Error = AppError>,
        {
            type Input = $input;
            type Output = $out;
            const ACTION: &'static str = $action;
            const ENTITY: &'static str = $entity;
            const RULE: Rule = Rule::SignedIn;

            fn rule(&self) -> Option<Rule> {
                Some($rule(self))
            }

            fn entity_id(&self) -> Option<Uuid> {
                [$(self.$id)?].first().copied()
            }

            $(
            fn retry_key(&self) -> Option<&RetryKey> {
                self.retry.as_ref()
            }

            fn operation(&self) -> &'static str {
                $op
            }

            fn result_id(output: &Self::Output) -> Option<Uuid> {
                Some(output.id)
            }

            async fn replay(db: &Db, id: Uuid) -> AppResult<Self::Output> {
                $row::Entity::find_by_id(id)
                    .one(db)
                    .await?
                    .ok_or(AppError::NotFound(stringify!($row)))
            }
            )?

            async fn execute(self, $x: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
                let $c = self;
                $run.await
            }
        }
    };
}

/// The rule of every telehealth mutation but one: a signed-in user (never an API client).
fn signed_in<T>(_: &T) -> Rule {
    Rule::SignedIn
}

fn specialization(raw: &str) -> AppResult<String> {
    Ok(Text::parse(raw, "input.specialization", 100)?.into_inner())
}

fn experience(years: i32) -> AppResult<i32> {
    if (0..=70).contains(&years) {
        Ok(years)
    } else {
        Err(AppError::bad_input(
            "input.experienceYears",
            "must be between 0 and 70",
        ))
    }
}

fn qualification(raw: Option<&str>) -> AppResult<Option<String>> {
    Ok(Text::parse_opt(raw, "input.qualification", 200)?.map(Text::into_inner))
}

fn bio(raw: Option<&str>) -> AppResult<Option<String>> {
    Ok(Notes::parse_opt(raw, "input.bio", 2000)?.map(Notes::into_inner))
}

fn fee(minor: i64) -> AppResult<i64> {
    Ok(MinorAmount::parse(minor, "input.consultationFeeMinor", true)?.get())
}

fn currency(raw: &str) -> AppResult<String> {
    Ok(Currency::parse(raw, "input.currency")?.into_inner())
}

fn consultation_id(id: &async_graphql::ID) -> AppResult<Uuid> {
    parse_id(id, "input.consultationId")
}

/// Clinical text that must be given.
fn required_notes(raw: &str, field: &str, max: usize) -> AppResult<String> {
    Notes::parse_opt(Some(raw), field, max)?
        .map(Notes::into_inner)
        .ok_or_else(|| AppError::bad_input(field, "is required"))
}

/// `createDoctorProfile`, parsed: the caller's profile.
pub struct CreateDoctorProfile(pub NewDoctor);

impl TryFrom<CreateDoctorProfileInput> for CreateDoctorProfile {
    type Error = AppError;

    fn try_from(input: CreateDoctorProfileInput) -> AppResult<Self> {
        Ok(Self(NewDoctor {
            organization_id: input
                .organization_id
                .as_ref()
                .map(|o| parse_id(o, "input.organizationId"))
                .transpose()?,
            license_number: Text::parse(&input.license_number, "input.licenseNumber", 64)?
                .into_inner()
                .to_uppercase(),
            specialization: specialization(&input.specialization)?,
            experience_years: experience(input.experience_years)?,
            qualification: qualification(input.qualification.as_deref())?,
            bio: bio(input.bio.as_deref())?,
            fee_minor: fee(input.consultation_fee_minor)?,
            currency: currency(&input.currency)?,
        }))
    }
}

/// A profile names an organization only while its doctor is that approved organization's
/// active DOCTOR.
fn practising_at(org: Option<Uuid>) -> Rule {
    match org {
        Some(org) => Rule::ActFor {
            org,
            roles: &[OrgRole::Doctor],
            scope: None,
            kind: None,
        },
        None => Rule::SignedIn,
    }
}

impl CreateDoctorProfile {
    fn rule(&self) -> Rule {
        practising_at(self.0.organization_id)
    }
}

impl UpdateDoctorProfile {
    fn rule(&self) -> Rule {
        practising_at(self.organization_id)
    }
}

/// `updateDoctorProfile`, parsed: `None` keeps a field; `Some(None)` clears an optional one.
#[derive(Default)]
pub struct UpdateDoctorProfile {
    /// Attach the profile to this organization (the caller must be its active DOCTOR).
    pub organization_id: Option<Uuid>,
    pub specialization: Option<String>,
    pub experience_years: Option<i32>,
    pub qualification: Option<Option<String>>,
    pub bio: Option<Option<String>>,
    pub fee_minor: Option<i64>,
    pub currency: Option<String>,
    pub is_available: Option<bool>,
    pub buffer_minutes: Option<i32>,
    pub min_notice_minutes: Option<i32>,
}

/// Checks a whole number of minutes in `range`, a multiple of `step`.
fn minutes_in(
    value: i32,
    range: std::ops::RangeInclusive<i32>,
    step: i32,
    field: &str,
) -> AppResult<i32> {
    if !range.contains(&value) || value % step != 0 {
        return Err(AppError::bad_input(
            field,
            format!(
                "must be between {} and {} minutes, in steps of {step}",
                range.start(),
                range.end()
            ),
        ));
    }
    Ok(value)
}

impl TryFrom<UpdateDoctorProfileInput> for UpdateDoctorProfile {
    type Error = AppError;

    fn try_from(input: UpdateDoctorProfileInput) -> AppResult<Self> {
        Ok(Self {
            organization_id: input
                .organization_id
                .as_ref()
                .map(|o| parse_id(o, "input.organizationId"))
                .transpose()?,
            specialization: input
                .specialization
                .as_deref()
                .map(specialization)
                .transpose()?,
            experience_years: input.experience_years.map(experience).transpose()?,
            qualification: input
                .qualification
                .as_deref()
                .map(|q| qualification(Some(q)))
                .transpose()?,
            bio: input.bio.as_deref().map(|b| bio(Some(b))).transpose()?,
            fee_minor: input.consultation_fee_minor.map(fee).transpose()?,
            currency: input.currency.as_deref().map(currency).transpose()?,
            is_available: input.is_available,
            buffer_minutes: input
                .buffer_minutes
                .map(|m| minutes_in(m, 0..=120, 5, "input.bufferMinutes"))
                .transpose()?,
            min_notice_minutes: input
                .min_notice_minutes
                .map(|m| minutes_in(m, 0..=43_200, 1, "input.minNoticeMinutes"))
                .transpose()?,
        })
    }
}

/// `verifyDoctor`, parsed.
pub struct VerifyDoctor {
    pub doctor_id: Uuid,
}

impl TryFrom<VerifyDoctorInput> for VerifyDoctor {
    type Error = AppError;

    fn try_from(input: VerifyDoctorInput) -> AppResult<Self> {
        Ok(Self {
            doctor_id: parse_id(&input.doctor_id, "input.doctorId")?,
        })
    }
}

/// `setAvailability`, parsed: the caller's new weekly rules (checked together by the use
/// case).
pub struct SetAvailability(pub Vec<NewRule>);

impl TryFrom<SetAvailabilityInput> for SetAvailability {
    type Error = AppError;

    fn try_from(input: SetAvailabilityInput) -> AppResult<Self> {
        let rules = input.rules.into_iter().enumerate().map(|(i, r)| {
            Ok(NewRule {
                day: r.day_of_week,
                start: r.start_time,
                end: r.end_time,
                zone: IanaZone::parse(&r.time_zone, &format!("input.rules.{i}.timeZone"))?,
                valid_from: r.valid_from,
                valid_until: r.valid_until,
            })
        });
        Ok(Self(rules.collect::<AppResult<_>>()?))
    }
}

/// `addAvailabilityException`, parsed: a positive interval of whole minutes, no longer than
/// its kind allows.
pub struct AddAvailabilityException {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub kind: AvailabilityExceptionKind,
    pub note: Option<String>,
}

impl TryFrom<AddAvailabilityExceptionInput> for AddAvailabilityException {
    type Error = AppError;

    fn try_from(input: AddAvailabilityExceptionInput) -> AppResult<Self> {
        for (t, field) in [
            (input.starts_at, "input.startsAt"),
            (input.ends_at, "input.endsAt"),
        ] {
            if t.timestamp_subsec_nanos() != 0 || t.timestamp() % 60 != 0 {
                return Err(AppError::bad_input(field, "must be a whole minute"));
            }
        }
        if input.ends_at <= input.starts_at {
            return Err(AppError::bad_input(
                "input.endsAt",
                "must be after startsAt",
            ));
        }
        let (longest, what) = match input.kind {
            AvailabilityExceptionKind::ExtraHours => (Duration::days(1), "a day"),
            AvailabilityExceptionKind::TimeOff => (Duration::days(366), "a year"),
        };
        if input.ends_at - input.starts_at > longest {
            return Err(AppError::bad_input(
                "input.endsAt",
                format!("this kind of exception lasts at most {what}"),
            ));
        }
        Ok(Self {
            starts_at: input.starts_at,
            ends_at: input.ends_at,
            kind: input.kind,
            note: Notes::parse_opt(input.note.as_deref(), "input.note", 500)?
                .map(Notes::into_inner),
        })
    }
}

/// `removeAvailabilityException`, parsed.
pub struct RemoveAvailabilityException {
    pub exception_id: Uuid,
}

impl TryFrom<RemoveAvailabilityExceptionInput> for RemoveAvailabilityException {
    type Error = AppError;

    fn try_from(input: RemoveAvailabilityExceptionInput) -> AppResult<Self> {
        Ok(Self {
            exception_id: parse_id(&input.exception_id, "input.exceptionId")?,
        })
    }
}

/// `bookConsultation`, parsed: the caller books for themself.
pub struct BookConsultation {
    pub doctor_id: Uuid,
    pub start: DateTime<Utc>,
    pub duration: Duration,
    pub kind: ConsultationType,
    pub symptoms: Option<String>,
    /// The patient's coverage to book under.
    pub coverage_id: Option<Uuid>,
    pub retry: Option<RetryKey>,
}

impl TryFrom<BookConsultationInput> for BookConsultation {
    type Error = AppError;

    fn try_from(input: BookConsultationInput) -> AppResult<Self> {
        Ok(Self {
            retry: RetryKey::parse(input.idempotency_key.as_deref(), &input)?,
            doctor_id: parse_id(&input.doctor_id, "input.doctorId")?,
            start: input.scheduled_at,
            duration: service::check_duration(input.duration_minutes, "input.durationMinutes")?,
            kind: input.consultation_type,
            symptoms: Notes::parse_opt(input.symptoms.as_deref(), "input.symptoms", 4000)?
                .map(Notes::into_inner),
            coverage_id: input
                .coverage_id
                .as_ref()
                .map(|id| parse_id(id, "input.coverageId"))
                .transpose()?,
        })
    }
}

/// A move of the consultation state machine: its audit action and the state it moves to.
pub trait Step: Send {
    /// The GraphQL input of the move.
    type Input: Send;
    const ACTION: &'static str;
    /// The state the consultation moves to.
    const TO: ConsultationStatus;
}

/// A move that takes nothing but the consultation.
pub trait BareStep: Step {}

macro_rules! steps {
    ($($(#[$doc:meta])* $name:ident $(+ $bare:ident)? => $action:literal, $to:ident, $input:ty;)*) => {$(
        $(#[$doc])*
        pub struct $name;
        impl Step for $name {
            type Input = $input;
            const ACTION: &'static str = $action;
            const TO: ConsultationStatus = ConsultationStatus::$to;
        }
        $(impl $bare for $name {})?
    )*};
}

steps! {
    /// `confirmConsultation`: the doctor confirms a requested consultation.
    Confirm + BareStep => "consultation.confirm", Confirmed, ConsultationActionInput;
    /// `startConsultation`: the doctor starts a confirmed one.
    Start + BareStep => "consultation.start", InProgress, ConsultationActionInput;
    /// `completeConsultation`: the doctor completes it with a diagnosis.
    Complete => "consultation.complete", Completed, CompleteConsultationInput;
    /// `cancelConsultation`: either party cancels, with a reason.
    Cancel => "consultation.cancel", Cancelled, CancelConsultationInput;
    /// `markNoShow`: the doctor records that the patient did not come.
    NoShow + BareStep => "consultation.no_show", NoShow, ConsultationActionInput;
}

/// A move of one consultation, parsed, with what it writes besides the state.
pub struct Move<S> {
    pub consultation_id: Uuid,
    pub stamp: Stamp,
    step: PhantomData<S>,
}

impl<S> Move<S> {
    fn new(id: &async_graphql::ID, stamp: Stamp) -> AppResult<Self> {
        Ok(Self {
            consultation_id: consultation_id(id)?,
            stamp,
            step: PhantomData,
        })
    }
}

impl<S: BareStep> TryFrom<ConsultationActionInput> for Move<S> {
    type Error = AppError;

    fn try_from(input: ConsultationActionInput) -> AppResult<Self> {
        Self::new(&input.consultation_id, Stamp::default())
    }
}

impl TryFrom<CompleteConsultationInput> for Move<Complete> {
    type Error = AppError;

    fn try_from(input: CompleteConsultationInput) -> AppResult<Self> {
        let stamp = Stamp {
            diagnosis: Some(required_notes(&input.diagnosis, "input.diagnosis", 4000)?),
            notes: Notes::parse_opt(input.notes.as_deref(), "input.notes", 8000)?
                .map(Notes::into_inner),
            ..Stamp::default()
        };
        Self::new(&input.consultation_id, stamp)
    }
}

impl TryFrom<CancelConsultationInput> for Move<Cancel> {
    type Error = AppError;

    fn try_from(input: CancelConsultationInput) -> AppResult<Self> {
        let reason = Text::parse(&input.reason, "input.reason", 500)?.into_inner();
        let stamp = Stamp {
            reason: Some(reason),
            ..Stamp::default()
        };
        Self::new(&input.consultation_id, stamp)
    }
}

/// `rescheduleConsultation`, parsed.
pub struct RescheduleConsultation {
    pub consultation_id: Uuid,
    pub start: DateTime<Utc>,
    /// `None` keeps the old length.
    pub duration: Option<Duration>,
    pub reason: String,
}

impl TryFrom<RescheduleConsultationInput> for RescheduleConsultation {
    type Error = AppError;

    fn try_from(input: RescheduleConsultationInput) -> AppResult<Self> {
        Ok(Self {
            consultation_id: consultation_id(&input.consultation_id)?,
            start: input.scheduled_at,
            reason: Text::parse_opt(input.reason.as_deref(), "input.reason", 500)?
                .map_or_else(|| "rescheduled".to_string(), Text::into_inner),
            duration: input
                .duration_minutes
                .map(|m| service::check_duration(m, "input.durationMinutes"))
                .transpose()?,
        })
    }
}

/// `addPrescription`, parsed.
pub struct AddPrescription {
    pub consultation_id: Uuid,
    pub medications: Vec<Medication>,
    pub instructions: Option<String>,
    pub follow_up: Option<NaiveDate>,
}

impl TryFrom<AddPrescriptionInput> for AddPrescription {
    type Error = AppError;

    fn try_from(input: AddPrescriptionInput) -> AppResult<Self> {
        let consultation_id = consultation_id(&input.consultation_id)?;
        let medications = parse_medications(&input.medications)?;
        let instructions =
            Notes::parse_opt(input.instructions.as_deref(), "input.instructions", 4000)?;
        if input
            .follow_up_date
            .is_some_and(|d| d < crate::db::now().date_naive())
        {
            return Err(AppError::bad_input(
                "input.followUpDate",
                "must not be in the past",
            ));
        }
        Ok(Self {
            consultation_id,
            medications,
            instructions: instructions.map(Notes::into_inner),
            follow_up: input.follow_up_date,
        })
    }
}

fn parse_medications(meds: &[Medication]) -> AppResult<Vec<Medication>> {
    if meds.is_empty() || meds.len() > 20 {
        return Err(AppError::bad_input(
            "input.medications",
            "give between 1 and 20 medications",
        ));
    }
    meds.iter()
        .enumerate()
        .map(|(i, m)| {
            let f = |name: &str| format!("input.medications.{i}.{name}");
            if !(1..=365).contains(&m.duration_days) {
                return Err(AppError::bad_input(
                    f("durationDays"),
                    "must be between 1 and 365",
                ));
            }
            Ok(Medication {
                name: Text::parse(&m.name, &f("name"), 200)?.into_inner(),
                dose: Text::parse(&m.dose, &f("dose"), 100)?.into_inner(),
                frequency: Text::parse(&m.frequency, &f("frequency"), 100)?.into_inner(),
                duration_days: m.duration_days,
            })
        })
        .collect()
}

/// `recordPayment`, parsed.
pub struct RecordPayment {
    pub consultation_id: Uuid,
    pub amount_minor: i64,
    pub currency: String,
    pub method: PaymentMethod,
    pub reference: Option<String>,
    pub retry: Option<RetryKey>,
}

impl TryFrom<RecordPaymentInput> for RecordPayment {
    type Error = AppError;

    fn try_from(input: RecordPaymentInput) -> AppResult<Self> {
        Ok(Self {
            retry: RetryKey::parse(input.idempotency_key.as_deref(), &input)?,
            consultation_id: consultation_id(&input.consultation_id)?,
            amount_minor: MinorAmount::parse(input.amount_minor, "input.amountMinor", false)?.get(),
            currency: currency(&input.currency)?,
            method: input.method,
            reference: Text::parse_opt(
                input.transaction_reference.as_deref(),
                "input.transactionReference",
                128,
            )?
            .map(Text::into_inner),
        })
    }
}

/// `refundPayment`, parsed.
pub struct RefundPayment {
    pub payment_id: Uuid,
    pub reason: String,
}

impl TryFrom<RefundPaymentInput> for RefundPayment {
    type Error = AppError;

    fn try_from(input: RefundPaymentInput) -> AppResult<Self> {
        Ok(Self {
            payment_id: parse_id(&input.payment_id, "input.paymentId")?,
            reason: Text::parse(&input.reason, "input.reason", 500)?.into_inner(),
        })
    }
}

/// `raiseRiskFlag`, parsed.
pub struct RaiseRiskFlag {
    pub consultation_id: Uuid,
    pub risk_type: RiskType,
    pub severity: RiskSeverity,
    pub description: String,
}

impl TryFrom<RaiseRiskFlagInput> for RaiseRiskFlag {
    type Error = AppError;

    fn try_from(input: RaiseRiskFlagInput) -> AppResult<Self> {
        Ok(Self {
            consultation_id: consultation_id(&input.consultation_id)?,
            risk_type: input.risk_type,
            severity: input.severity,
            description: required_notes(&input.description, "input.description", 2000)?,
        })
    }
}

/// `rateConsultation`, parsed: a rating of 1 to 5 and an optional comment.
pub struct RateConsultation {
    pub consultation_id: Uuid,
    pub rating: i32,
    pub comment: Option<String>,
}

impl TryFrom<RateConsultationInput> for RateConsultation {
    type Error = AppError;

    fn try_from(input: RateConsultationInput) -> AppResult<Self> {
        let consultation_id = consultation_id(&input.consultation_id)?;
        if !(1..=5).contains(&input.rating) {
            return Err(AppError::bad_input(
                "input.rating",
                "must be between 1 and 5",
            ));
        }
        Ok(Self {
            consultation_id,
            rating: input.rating,
            comment: Notes::parse_opt(input.comment.as_deref(), "input.comment", 2000)?
                .map(Notes::into_inner),
        })
    }
}

command!(CreateDoctorProfile => doctor::Model, from CreateDoctorProfileInput, "doctor.create", on "doctor",
    rule CreateDoctorProfile::rule,
    run |c, x| service::create_doctor(x.txn, x.user()?, c.0));
command!(UpdateDoctorProfile => doctor::Model, from UpdateDoctorProfileInput, "doctor.update", on "doctor",
    rule UpdateDoctorProfile::rule,
    run |c, x| service::update_profile(x.txn, x.user()?, c));
command!(VerifyDoctor => doctor::Model, from VerifyDoctorInput, "doctor.verify", on "doctor", rule signed_in,
    id doctor_id,
    run |c, x| service::verify(x.txn, x.viewer, c.doctor_id));
command!(SetAvailability => doctor::Model, from SetAvailabilityInput, "doctor.set_availability", on "doctor",
    rule signed_in,
    run |c, x| service::replace_availability(x.txn, x.user()?, c.0));
command!(AddAvailabilityException => availability_exception::Model, from AddAvailabilityExceptionInput,
    "doctor.add_availability_exception", on "doctor", rule signed_in,
    run |c, x| service::add_exception(x.txn, x.user()?, c));
command!(RemoveAvailabilityException => availability_exception::Model, from RemoveAvailabilityExceptionInput,
    "doctor.remove_availability_exception", on "doctor", rule signed_in,
    run |c, x| service::remove_exception(x.txn, x.user()?, c.exception_id));
command!(BookConsultation => consultation::Model, from BookConsultationInput, "consultation.book", on "consultation",
    rule signed_in, retry "bookConsultation" of consultation,
    run |c, x| service::book_consultation(x.txn, x.user()?, c, &x.app.config));
command!(Move<S: Step> => consultation::Model, from S::Input, S::ACTION, on "consultation",
    rule signed_in, id consultation_id,
    run |c, x| service::move_to(x.txn, x.viewer, c.consultation_id, S::TO, c.stamp, &x.app.config));
command!(RescheduleConsultation => consultation::Model, from RescheduleConsultationInput, "consultation.reschedule",
    on "consultation", rule signed_in, id consultation_id,
    run |c, x| service::reschedule(x.txn, x.viewer, c, &x.app.config));
command!(AddPrescription => prescription::Model, from AddPrescriptionInput, "prescription.add", on "consultation",
    rule signed_in, id consultation_id,
    run |c, x| service::prescribe(x.txn, x.viewer, c));
command!(RecordPayment => payment::Model, from RecordPaymentInput, "payment.record", on "consultation",
    rule signed_in, id consultation_id, retry "recordPayment" of payment,
    run |c, x| service::pay(x.txn, x.viewer, c));
command!(RefundPayment => payment::Model, from RefundPaymentInput, "payment.refund", on "payment", rule signed_in,
    id payment_id,
    run |c, x| service::refund(x.txn, x.viewer, c));
command!(RaiseRiskFlag => risk_flag::Model, from RaiseRiskFlagInput, "risk_flag.raise", on "consultation",
    rule signed_in, id consultation_id,
    run |c, x| service::flag_risk(x.txn, x.viewer, c));
command!(RateConsultation => consultation_rating::Model, from RateConsultationInput, "consultation.rate",
    on "consultation", rule signed_in, id consultation_id,
    run |c, x| service::rate(x.txn, x.viewer, c));

//! Telehealth resolvers: queries filtered by `auth::care`, mutations run as commands.

use super::{commands::*, service, types::*};
use crate::{
    auth::{Rule, care},
    graphql::prelude::*,
    pipeline,
    validation::Text,
};
use chrono::{DateTime, Utc};
use entity::{consultation, doctor, prescription};
use sea_orm::{
    ColumnTrait, EntityTrait, QueryFilter, QueryTrait, Select,
    sea_query::{Expr, ExprTrait, Func},
};
use uuid::Uuid;

/// One page of a list, as `first`/`after`/`last`/`before` ask.
async fn page<E>(
    ctx: &Context<'_>,
    q: Select<E>,
    keyset: Keyset<E>,
    (first, after): (Option<i32>, Option<String>),
    (last, before): (Option<i32>, Option<String>),
) -> AppResult<Page<E::Model>>
where
    E: EntityTrait,
    E::Model: Send + Sync,
{
    let args = PageArgs::new(first, after, last, before);
    fetch_selected(ctx, q, &keyset, &args).await
}

fn parse_opt(id: Option<&ID>, field: &str) -> AppResult<Option<Uuid>> {
    id.map(|i| parse_id(i, field)).transpose()
}

/// Loads a page's users, organizations, doctors, prescriptions and payments in one query
/// each and primes the loaders: `doctor` is the path to the doctors' fields in a node.
async fn prime_page(
    ctx: &Context<'_>,
    req: &RequestCtx,
    doctors: impl Iterator<Item = &doctor::Model>,
    doctor: &[&str],
    mut users: Vec<Uuid>,
) -> AppResult<()> {
    let (user, org) = (
        [doctor, &["user"]].concat(),
        [doctor, &["organization"]].concat(),
    );
    let doctors: Vec<&doctor::Model> = doctors.collect();
    if node_selects(ctx, &user) {
        users.extend(doctors.iter().map(|d| d.user_id));
    }
    prime_users(req, users).await?;
    if node_selects(ctx, &org) {
        prime_orgs(
            req,
            doctors.iter().filter_map(|d| d.organization_id).collect(),
        )
        .await?;
    }
    if node_selects(ctx, &[doctor, &["acceptedPlans"]].concat()) {
        prime(
            &req.loaders.accepted_plans_by_doctor,
            doctors.iter().map(|d| d.id),
        )
        .await?;
    }
    Ok(())
}

#[derive(Default)]
pub struct ConsultationQuery;

#[Object]
impl ConsultationQuery {
    /// Doctors: verified ones for everyone (plus your own profile and, for an organization's
    /// admins, its doctors). Best rated first by default.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, last, child_complexity)")]
    async fn doctors(
        &self,
        ctx: &Context<'_>,
        filter: Option<DoctorFilter>,
        order_by: Option<DoctorOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<Conn<Doctor>> {
        let req = ctx.authorized(Rule::SignedIn)?;
        let f = filter.unwrap_or_default();
        let mut q = doctor::Entity::find().filter(care::visible_doctors(&req.viewer));
        if let Some(s) = &f.specialization {
            let s = Text::parse(s, "filter.specialization", 100)?.into_inner();
            let lower = Expr::expr(Func::lower(Expr::col(doctor::Column::Specialization)));
            q = q.filter(lower.eq(s.to_lowercase()));
        }
        if let Some(o) = parse_opt(f.organization_id.as_ref(), "filter.organizationId")? {
            q = q.filter(doctor::Column::OrganizationId.eq(o));
        }
        let q = q
            .apply_if(f.verified, |q, v| {
                q.filter(doctor::Column::IsVerified.eq(v))
            })
            .apply_if(f.available, |q, v| {
                q.filter(doctor::Column::IsAvailable.eq(v))
            })
            .apply_if(f.min_fee_minor, |q, m| {
                q.filter(doctor::Column::ConsultationFeeMinor.gte(m))
            })
            .apply_if(f.max_fee_minor, |q, m| {
                q.filter(doctor::Column::ConsultationFeeMinor.lte(m))
            });
        let order = order_by.unwrap_or_default();
        let keyset = Keyset::<doctor::Entity> {
            key: match order.field {
                DoctorOrderField::Rating => Some((doctor::Column::Rating, |m: &doctor::Model| {
                    SortValue::Float(m.rating)
                })),
                DoctorOrderField::Fee => {
                    Some((doctor::Column::ConsultationFeeMinor, |m: &doctor::Model| {
                        SortValue::Int(m.consultation_fee_minor)
                    }))
                }
                DoctorOrderField::CreatedAt => None,
            },
            id: doctor::Column::Id,
            id_of: |m| m.id,
            direction: order.direction,
        };
        let page = page(ctx, q, keyset, (first, after), (last, before)).await?;
        prime_page(ctx, req, page.rows.iter().map(|(_, d)| d), &[], Vec::new()).await?;
        Ok(page.into_connection(Doctor::from))
    }

    /// One doctor, if visible to the caller.
    async fn doctor(&self, ctx: &Context<'_>, id: ID) -> AppResult<Doctor> {
        let req = ctx.authorized(Rule::SignedIn)?;
        doctor::Entity::find_by_id(parse_id(&id, "id")?)
            .filter(care::visible_doctors(&req.viewer))
            .one(&req.db)
            .await?
            .map(Doctor::from)
            .ok_or(AppError::NotFound("doctor"))
    }

    /// The caller's own doctor profile, if they have one.
    async fn my_doctor_profile(&self, ctx: &Context<'_>) -> AppResult<Option<Doctor>> {
        let req = ctx.authorized(Rule::SignedIn)?;
        let Some(me) = req.viewer.user_id() else {
            return Ok(None);
        };
        Ok(doctor::Entity::find()
            .filter(doctor::Column::UserId.eq(me))
            .one(&req.db)
            .await?
            .map(Doctor::from))
    }

    /// Free slots of a verified doctor between `from` and `to`, in UTC with the doctor's
    /// offset, computed from the weekly rules minus bookings.
    #[graphql(
        complexity = "crate::graphql::limits::slots_cost(from, to, duration_minutes, child_complexity)"
    )]
    async fn open_slots(
        &self,
        ctx: &Context<'_>,
        doctor_id: ID,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        #[graphql(default = 30)] duration_minutes: i32,
    ) -> AppResult<Vec<OpenSlot>> {
        let req = ctx.authorized(Rule::SignedIn)?;
        let id = parse_id(&doctor_id, "doctorId")?;
        let duration = service::check_duration(duration_minutes, "durationMinutes")?;
        let config = &ctx.app()?.config;
        let slots = service::free_slots(&req.db, config, id, (from, to), duration).await?;
        Ok(slots.into_iter().map(OpenSlot::from).collect())
    }

    /// Consultations: a patient's own, a doctor's, and an organization's for its admins.
    /// Soonest first by default.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, last, child_complexity)")]
    async fn consultations(
        &self,
        ctx: &Context<'_>,
        filter: Option<ConsultationFilter>,
        order_by: Option<ConsultationOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<Conn<Consultation>> {
        let req = ctx.authorized(Rule::SignedIn)?;
        let f = filter.unwrap_or_default();
        let mut q = consultation::Entity::find().filter(care::visible(&req.viewer)?);
        if let Some(s) = f.statuses {
            q = q.filter(consultation::Column::Status.is_in(s));
        }
        for (id, column, field) in [
            (
                &f.doctor_id,
                consultation::Column::DoctorId,
                "filter.doctorId",
            ),
            (
                &f.patient_id,
                consultation::Column::PatientId,
                "filter.patientId",
            ),
            (
                &f.organization_id,
                consultation::Column::OrganizationId,
                "filter.organizationId",
            ),
        ] {
            if let Some(id) = parse_opt(id.as_ref(), field)? {
                q = q.filter(column.eq(id));
            }
        }
        let q = q
            .apply_if(f.scheduled_after, |q, t| {
                q.filter(consultation::Column::ScheduledAt.gte(t))
            })
            .apply_if(f.scheduled_before, |q, t| {
                q.filter(consultation::Column::ScheduledAt.lt(t))
            });
        let order = order_by.unwrap_or_default();
        let keyset = Keyset::<consultation::Entity> {
            key: match order.field {
                ConsultationOrderField::ScheduledAt => Some((
                    consultation::Column::ScheduledAt,
                    |m: &consultation::Model| SortValue::Time(m.scheduled_at),
                )),
                ConsultationOrderField::CreatedAt => None,
            },
            id: consultation::Column::Id,
            id_of: |m| m.id,
            direction: order.direction,
        };
        let page = page(ctx, q, keyset, (first, after), (last, before)).await?;
        let rows: Vec<&consultation::Model> = page.rows.iter().map(|(_, m)| m).collect();
        let mut doctors = Default::default();
        if node_selects(ctx, &["doctor"]) {
            doctors = prime(&req.loaders.doctors, rows.iter().map(|c| c.doctor_id)).await?;
        }
        let patients = match node_selects(ctx, &["patient"]) {
            true => rows.iter().map(|c| c.patient_id).collect(),
            false => Vec::new(),
        };
        prime_page(ctx, req, doctors.values(), &["doctor"], patients).await?;
        let ids = || rows.iter().map(|c| c.id);
        if node_selects(ctx, &["prescriptions"]) {
            prime(&req.loaders.prescriptions_by_consultation, ids()).await?;
        }
        if node_selects(ctx, &["payments"]) {
            prime(&req.loaders.payments_by_consultation, ids()).await?;
        }
        if node_selects(ctx, &["rating"]) {
            prime(&req.loaders.rating_by_consultation, ids()).await?;
        }
        Ok(page.into_connection(Consultation::from))
    }

    /// One consultation, if the caller is a party to it.
    async fn consultation(&self, ctx: &Context<'_>, id: ID) -> AppResult<Consultation> {
        let req = ctx.authorized(Rule::SignedIn)?;
        let id = parse_id(&id, "id")?;
        let cond = care::visible(&req.viewer).map_err(|_| AppError::NotFound("consultation"))?;
        consultation::Entity::find_by_id(id)
            .filter(cond)
            .one(&req.db)
            .await?
            .map(Consultation::from)
            .ok_or(AppError::NotFound("consultation"))
    }

    /// Prescriptions: a patient's own, those a doctor wrote, and an organization's for its
    /// admins. Newest first. Every prescription returned is an audited read.
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, last, child_complexity)")]
    async fn prescriptions(
        &self,
        ctx: &Context<'_>,
        filter: Option<PrescriptionFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<Conn<Prescription>> {
        let req = ctx.authorized(Rule::SignedIn)?;
        let mut q = prescription::Entity::find().filter(care::visible_prescriptions(&req.viewer)?);
        let of = filter.and_then(|f| f.consultation_id);
        if let Some(c) = parse_opt(of.as_ref(), "filter.consultationId")? {
            q = q.filter(prescription::Column::ConsultationId.eq(c));
        }
        let keyset = Keyset::<prescription::Entity> {
            key: None,
            id: prescription::Column::Id,
            id_of: |m| m.id,
            direction: SortDirection::Desc,
        };
        let page = page(ctx, q, keyset, (first, after), (last, before)).await?;
        for (_, p) in &page.rows {
            Prescription::record_read(req, p, None);
        }
        Ok(page.into_connection(Prescription::from))
    }
}

pipeline::command_mutations! {
    ConsultationMutation {
        /// Creates the caller's doctor profile (unverified until a super admin or the
        /// organization's admin verifies it). With `organizationId` the caller must be an active
        /// DOCTOR member of that approved organization.
        create_doctor_profile(CreateDoctorProfileInput) -> DoctorPayload = CreateDoctorProfile;
        /// Updates the caller's own profile. With `organizationId` the caller must be an active
        /// DOCTOR member of that approved organization.
        update_doctor_profile(UpdateDoctorProfileInput) -> DoctorPayload = UpdateDoctorProfile;
        /// Verifies a profile: a super admin, or an admin of the doctor's organization.
        verify_doctor(VerifyDoctorInput) -> DoctorPayload = VerifyDoctor;
        /// Replaces the caller's weekly availability.
        set_availability(SetAvailabilityInput) -> DoctorPayload = SetAvailability;
        /// Adds time off or extra hours to the caller's own hours. Time off over booked
        /// consultations is `CONFLICT`: cancel or reschedule them first.
        add_availability_exception(AddAvailabilityExceptionInput) -> AvailabilityExceptionPayload = AddAvailabilityException;
        /// Removes one of the caller's exceptions. Extra hours that a booked consultation
        /// needs are `CONFLICT`.
        remove_availability_exception(RemoveAvailabilityExceptionInput) -> AvailabilityExceptionPayload = RemoveAvailabilityException;
        /// Books a consultation for the caller (the patient). Safe to retry with an
        /// `idempotencyKey`. A taken slot is `CONFLICT`.
        book_consultation(BookConsultationInput) -> ConsultationPayload = BookConsultation;
        /// The doctor confirms a requested consultation.
        confirm_consultation(ConsultationActionInput) -> ConsultationPayload = Move<Confirm>;
        /// The doctor starts a confirmed consultation.
        start_consultation(ConsultationActionInput) -> ConsultationPayload = Move<Start>;
        /// The doctor completes a consultation in progress, with the diagnosis and notes.
        complete_consultation(CompleteConsultationInput) -> ConsultationPayload = Move<Complete>;
        /// The patient or the doctor cancels, with a reason. Within the cut-off before the
        /// start (`CONSULTATION_CANCEL_CUTOFF_MINUTES`) only the doctor may.
        cancel_consultation(CancelConsultationInput) -> ConsultationPayload = Move<Cancel>;
        /// The doctor records that the patient did not come (once the start has passed).
        mark_no_show(ConsultationActionInput) -> ConsultationPayload = Move<NoShow>;
        /// Moves a consultation to a new time: a new booking linked to the old one, which is
        /// cancelled. The patient (before the cut-off) or the doctor.
        reschedule_consultation(RescheduleConsultationInput) -> ConsultationPayload = RescheduleConsultation;
        /// The consultation's doctor writes a prescription, during or after it.
        add_prescription(AddPrescriptionInput) -> PrescriptionPayload = AddPrescription;
        /// Records a payment received by the clinic (the doctor or the organization's admin; a
        /// patient is refused); one successful payment per consultation. Safe to retry with an `idempotencyKey`.
        record_payment(RecordPaymentInput) -> PaymentPayload = RecordPayment;
        /// Refunds a successful payment: the doctor or the organization's admin.
        refund_payment(RefundPaymentInput) -> PaymentPayload = RefundPayment;
        /// The consultation's doctor flags a risk; a CRITICAL one raises a RISK_FLAG alert to
        /// the organization's admins and doctors.
        raise_risk_flag(RaiseRiskFlagInput) -> RiskFlagPayload = RaiseRiskFlag;
        /// The patient rates a completed consultation, once (1 to 5); the doctor's `rating`
        /// (the mean) and `ratingCount` follow in the same transaction.
        rate_consultation(RateConsultationInput) -> RatingPayload = RateConsultation;
    }
}

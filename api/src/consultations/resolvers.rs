//! Telehealth resolvers: check the caller, call the service, map the result. Who may act on
//! a consultation is decided by `auth::care` once the row is held.

use super::{
    service::{self, Booking, BookingLimits, NewDoctor, NewPayment, NewRule, Stamp},
    types::*,
};
use crate::{
    alerts::service::{NewNotification, notify},
    audit::{AuditAction, Change},
    auth::{
        Rule, Viewer, authorize,
        care::{self, Party},
    },
    db::CountedTxn,
    error::{AppError, AppResult},
    graphql::{
        context::{CtxExt, RequestCtx},
        ids::parse_id,
        loaders::{prime, prime_orgs, prime_users},
        pagination::{Conn, Keyset, PageArgs, SortValue, fetch_selected, node_selects},
    },
    idempotency::{IdemKey, remembered},
    pipeline::{Work, mutate},
    validation::{Currency, IanaZone, MinorAmount, Notes, Text},
};
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::{
    ConsultationStatus, NotificationKind, OrgRole, Severity, consultation, doctor, payment,
    prescription,
};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait, Func, Query},
};
use serde_json::json;
use uuid::Uuid;

const PARTIES: &[Party] = &[Party::Patient, Party::Doctor];
const DOCTOR: &[Party] = &[Party::Doctor];

/// Which doctor profiles a caller sees: verified ones; their own; their organizations' when
/// they are its admin; everything for super admins.
fn visible_doctors(v: &Viewer) -> Condition {
    if v.is_super_admin() {
        return Condition::all();
    }
    let mut any = Condition::any().add(doctor::Column::IsVerified.eq(true));
    if let Viewer::User(u) = v {
        any = any.add(doctor::Column::UserId.eq(u.id));
        let admin_of: Vec<Uuid> = u
            .grants
            .iter()
            .filter(|g| g.role == OrgRole::Admin)
            .map(|g| g.organization_id)
            .collect();
        if !admin_of.is_empty() {
            any = any.add(doctor::Column::OrganizationId.is_in(admin_of));
        }
    }
    any
}

fn consultations_of(req: &RequestCtx) -> AppResult<Condition> {
    care::visible(&req.viewer).ok_or(AppError::Forbidden(
        "only patients, doctors and organization admins see consultations",
    ))
}

/// Loads a page's doctors, users and prescriptions in one query each and primes the loaders.
async fn prime_consultations(
    ctx: &Context<'_>,
    req: &RequestCtx,
    rows: &[&consultation::Model],
) -> AppResult<()> {
    let mut users: Vec<Uuid> = Vec::new();
    if node_selects(ctx, &["doctor"]) {
        let docs = prime(&req.loaders.doctors, rows.iter().map(|c| c.doctor_id)).await?;
        if node_selects(ctx, &["doctor", "user"]) {
            users.extend(docs.values().map(|d| d.user_id));
        }
        if node_selects(ctx, &["doctor", "organization"]) {
            prime_orgs(
                req,
                docs.values().filter_map(|d| d.organization_id).collect(),
            )
            .await?;
        }
    }
    if node_selects(ctx, &["patient"]) {
        users.extend(rows.iter().map(|c| c.patient_id));
    }
    prime_users(req, users).await?;
    let ids: Vec<Uuid> = rows.iter().map(|c| c.id).collect();
    if node_selects(ctx, &["prescriptions"]) {
        prime(&req.loaders.prescriptions_by_consultation, ids.clone()).await?;
    }
    if node_selects(ctx, &["payments"]) {
        prime(&req.loaders.payments_by_consultation, ids).await?;
    }
    Ok(())
}

/// Telehealth queries.
#[derive(Default)]
pub struct ConsultationQuery;

#[Object]
impl ConsultationQuery {
    /// Doctors: verified ones for everyone (plus your own profile and, for an organization's
    /// admins, its doctors). Best rated first by default.
    #[allow(clippy::too_many_arguments)]
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
        let req = ctx.req()?;
        authorize(&req.viewer, Rule::SignedIn)?;
        let f = filter.unwrap_or_default();
        let mut q = doctor::Entity::find().filter(visible_doctors(&req.viewer));
        if let Some(s) = &f.specialization {
            let s = Text::parse(s, "filter.specialization", 100)?.into_inner();
            q = q.filter(
                Expr::expr(Func::lower(Expr::col(doctor::Column::Specialization)))
                    .eq(s.to_lowercase()),
            );
        }
        if let Some(v) = f.verified {
            q = q.filter(doctor::Column::IsVerified.eq(v));
        }
        if let Some(v) = f.available {
            q = q.filter(doctor::Column::IsAvailable.eq(v));
        }
        if let Some(o) = &f.organization_id {
            q = q.filter(doctor::Column::OrganizationId.eq(parse_id(o, "filter.organizationId")?));
        }
        if let Some(min) = f.min_fee_minor {
            q = q.filter(doctor::Column::ConsultationFeeMinor.gte(min));
        }
        if let Some(max) = f.max_fee_minor {
            q = q.filter(doctor::Column::ConsultationFeeMinor.lte(max));
        }
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
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let page = fetch_selected(ctx, q, &keyset, &args).await?;
        if node_selects(ctx, &["user"]) {
            prime_users(req, page.rows.iter().map(|(_, d)| d.user_id)).await?;
        }
        if node_selects(ctx, &["organization"]) {
            prime_orgs(
                req,
                page.rows
                    .iter()
                    .filter_map(|(_, d)| d.organization_id)
                    .collect(),
            )
            .await?;
        }
        Ok(page.into_connection(Doctor::from))
    }

    /// One doctor, if visible to the caller.
    async fn doctor(&self, ctx: &Context<'_>, id: ID) -> AppResult<Doctor> {
        let req = ctx.req()?;
        authorize(&req.viewer, Rule::SignedIn)?;
        let id = parse_id(&id, "id")?;
        doctor::Entity::find_by_id(id)
            .filter(visible_doctors(&req.viewer))
            .one(&req.db)
            .await?
            .map(Doctor::from)
            .ok_or(AppError::NotFound("doctor"))
    }

    /// The caller's own doctor profile, if they have one.
    async fn my_doctor_profile(&self, ctx: &Context<'_>) -> AppResult<Option<Doctor>> {
        let req = ctx.req()?;
        let actor = authorize(&req.viewer, Rule::SignedIn)?;
        let Some(me) = actor.user_id else {
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
    async fn open_slots(
        &self,
        ctx: &Context<'_>,
        doctor_id: ID,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        #[graphql(default = 30)] duration_minutes: i32,
    ) -> AppResult<Vec<OpenSlot>> {
        let req = ctx.req()?;
        let app = ctx.app()?;
        authorize(&req.viewer, Rule::SignedIn)?;
        let id = parse_id(&doctor_id, "doctorId")?;
        let duration = service::check_duration(duration_minutes, "durationMinutes")?;
        if to <= from {
            return Err(AppError::bad_input("to", "must be after from"));
        }
        let max = app.config.open_slots_max_days;
        if to - from > chrono::Duration::days(max) {
            return Err(AppError::bad_input(
                "to",
                format!("the window may span at most {max} days"),
            ));
        }
        let d = doctor::Entity::find_by_id(id)
            .filter(doctor::Column::IsVerified.eq(true))
            .one(&req.db)
            .await?
            .ok_or(AppError::NotFound("doctor"))?;
        if !d.is_available {
            return Ok(Vec::new());
        }
        let slots = service::open_slots(&req.db, d.id, from, to, duration).await?;
        Ok(slots
            .into_iter()
            .map(|s| OpenSlot {
                starts_at: s.start,
                ends_at: s.end,
                local_starts_at: s.local_start(),
                utc_offset_minutes: s.offset_seconds() / 60,
                time_zone: s.tz.name().to_string(),
            })
            .collect())
    }

    /// Consultations: a patient's own, a doctor's, and an organization's for its admins.
    /// Soonest first by default.
    #[allow(clippy::too_many_arguments)]
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
        let req = ctx.req()?;
        authorize(&req.viewer, Rule::SignedIn)?;
        let f = filter.unwrap_or_default();
        let mut q = consultation::Entity::find().filter(consultations_of(req)?);
        if let Some(s) = f.statuses {
            q = q.filter(consultation::Column::Status.is_in(s));
        }
        if let Some(d) = &f.doctor_id {
            q = q.filter(consultation::Column::DoctorId.eq(parse_id(d, "filter.doctorId")?));
        }
        if let Some(p) = &f.patient_id {
            q = q.filter(consultation::Column::PatientId.eq(parse_id(p, "filter.patientId")?));
        }
        if let Some(o) = &f.organization_id {
            q = q.filter(
                consultation::Column::OrganizationId.eq(parse_id(o, "filter.organizationId")?),
            );
        }
        if let Some(t) = f.scheduled_after {
            q = q.filter(consultation::Column::ScheduledAt.gte(t));
        }
        if let Some(t) = f.scheduled_before {
            q = q.filter(consultation::Column::ScheduledAt.lt(t));
        }
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
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let page = fetch_selected(ctx, q, &keyset, &args).await?;
        let rows: Vec<&consultation::Model> = page.rows.iter().map(|(_, m)| m).collect();
        prime_consultations(ctx, req, &rows).await?;
        Ok(page.into_connection(Consultation::from))
    }

    /// One consultation, if the caller is a party to it.
    async fn consultation(&self, ctx: &Context<'_>, id: ID) -> AppResult<Consultation> {
        let req = ctx.req()?;
        authorize(&req.viewer, Rule::SignedIn)?;
        let id = parse_id(&id, "id")?;
        let cond = consultations_of(req).map_err(|_| AppError::NotFound("consultation"))?;
        consultation::Entity::find_by_id(id)
            .filter(cond)
            .one(&req.db)
            .await?
            .map(Consultation::from)
            .ok_or(AppError::NotFound("consultation"))
    }

    /// Prescriptions: a patient's own, those a doctor wrote, and an organization's for its
    /// admins. Newest first. Every prescription returned is an audited read.
    async fn prescriptions(
        &self,
        ctx: &Context<'_>,
        filter: Option<PrescriptionFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<Conn<Prescription>> {
        let req = ctx.req()?;
        authorize(&req.viewer, Rule::SignedIn)?;
        let visible = consultations_of(req)?;
        let mut q = prescription::Entity::find().filter(
            prescription::Column::ConsultationId.in_subquery(
                Query::select()
                    .column(consultation::Column::Id)
                    .from(consultation::Entity)
                    .cond_where(visible)
                    .to_owned(),
            ),
        );
        if let Some(c) = filter.and_then(|f| f.consultation_id) {
            q = q.filter(
                prescription::Column::ConsultationId.eq(parse_id(&c, "filter.consultationId")?),
            );
        }
        let keyset = Keyset::<prescription::Entity> {
            key: None,
            id: prescription::Column::Id,
            id_of: |m| m.id,
            direction: crate::graphql::pagination::SortDirection::Desc,
        };
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let page = fetch_selected(ctx, q, &keyset, &args).await?;
        for (_, p) in &page.rows {
            req.reads.record(crate::audit::ReadRecord {
                action: "prescription.read",
                entity_type: "prescription",
                entity_id: p.id,
                organization_id: None,
            });
        }
        Ok(page.into_connection(Prescription::from))
    }
}

/// Telehealth mutations.
#[derive(Default)]
pub struct ConsultationMutation;

fn consultation_json(c: &consultation::Model) -> serde_json::Value {
    json!({"status": c.status, "scheduledAt": c.scheduled_at, "endsAt": c.ends_at,
           "doctorId": c.doctor_id, "patientId": c.patient_id, "type": c.consultation_type,
           "rescheduledFromId": c.rescheduled_from_id, "rescheduledToId": c.rescheduled_to_id})
}

fn viewer_of(ctx: &Context<'_>) -> AppResult<Viewer> {
    Ok(ctx.req()?.viewer.clone())
}

/// Runs one move of the state machine for a party allowed to make it; `check` may refuse
/// it (a cut-off) or say what to write with it. The other party is notified.
async fn move_consultation(
    ctx: &Context<'_>,
    action: &'static str,
    id: &ID,
    allowed: &'static [Party],
    to: ConsultationStatus,
    verb: &'static str,
    check: impl FnOnce(&consultation::Model, Party) -> AppResult<Stamp> + Send + 'static,
) -> AppResult<ConsultationPayload> {
    let id = parse_id(id, "input.consultationId");
    let viewer = viewer_of(ctx)?;
    let c = mutate(
        ctx,
        AuditAction::new(action, "consultation").on_parsed(&id),
        Rule::SignedIn,
        move |txn, actor| {
            Box::pin(async move {
                let c = service::load_locked(txn, id?).await?;
                let party = care::require(&viewer, &c, allowed)?;
                service::ensure_allowed(&c, to)?;
                let stamp = check(&c, party)?;
                let old = consultation_json(&c);
                let next = service::transition(txn, c, to, stamp).await?;
                let events = service::notify_other_party(txn, &next, actor.user_id, verb).await?;
                let change = Change {
                    organization_id: next.organization_id,
                    old: Some(old),
                    new: Some(consultation_json(&next)),
                    actor_role: Some(party.role().into()),
                    events,
                    ..Change::default()
                };
                Ok((next, change))
            })
        },
    )
    .await?;
    Ok(ConsultationPayload {
        consultation: c.into(),
    })
}

/// A patient may cancel or move a consultation only until the cut-off before its start.
fn before_cutoff(c: &consultation::Model, party: Party, cutoff: chrono::Duration) -> AppResult<()> {
    if party == Party::Patient && crate::db::now() > c.scheduled_at - cutoff {
        return Err(AppError::Forbidden(
            "it is too close to the start: only the doctor can cancel or move it now",
        ));
    }
    Ok(())
}

async fn consultation_payload(req: &RequestCtx, id: Uuid) -> AppResult<ConsultationPayload> {
    consultation::Entity::find_by_id(id)
        .one(&req.db)
        .await?
        .map(|c| ConsultationPayload {
            consultation: c.into(),
        })
        .ok_or(AppError::NotFound("consultation"))
}

async fn payment_payload(req: &RequestCtx, id: Uuid) -> AppResult<PaymentPayload> {
    payment::Entity::find_by_id(id)
        .one(&req.db)
        .await?
        .map(|p| PaymentPayload { payment: p.into() })
        .ok_or(AppError::NotFound("payment"))
}

#[Object]
impl ConsultationMutation {
    /// Creates the caller's doctor profile (unverified until a super admin or the
    /// organization's admin verifies it). With `organizationId` the caller must be an active
    /// DOCTOR member of that approved organization.
    async fn create_doctor_profile(
        &self,
        ctx: &Context<'_>,
        input: CreateDoctorProfileInput,
    ) -> AppResult<DoctorPayload> {
        let org = input
            .organization_id
            .as_ref()
            .map(|o| parse_id(o, "input.organizationId"));
        let rule = match &org {
            Some(o) => Rule::act_for(o, &[OrgRole::Doctor], None, None),
            None => Rule::SignedIn,
        };
        let d = mutate(
            ctx,
            AuditAction::new("doctor.create", "doctor"),
            rule,
            move |txn, actor| {
                Box::pin(async move {
                    let user_id = actor
                        .user_id
                        .ok_or(AppError::Forbidden("only users have doctor profiles"))?;
                    let new = NewDoctor {
                        user_id,
                        organization_id: org.transpose()?,
                        license_number: Text::parse(
                            &input.license_number,
                            "input.licenseNumber",
                            64,
                        )?
                        .into_inner()
                        .to_uppercase(),
                        specialization: specialization(&input.specialization)?,
                        experience_years: experience(input.experience_years)?,
                        qualification: qualification(input.qualification.as_deref())?,
                        bio: bio(input.bio.as_deref())?,
                        fee_minor: fee(input.consultation_fee_minor)?,
                        currency: Currency::parse(&input.currency, "input.currency")?.into_inner(),
                    };
                    let d = service::create_doctor(txn, new).await?;
                    let change = Change {
                        entity_id: Some(d.id),
                        organization_id: d.organization_id,
                        new: Some(doctor_json(&d)),
                        ..Change::default()
                    };
                    Ok((d, change))
                })
            },
        )
        .await?;
        Ok(DoctorPayload { doctor: d.into() })
    }

    /// Updates the caller's own profile.
    async fn update_doctor_profile(
        &self,
        ctx: &Context<'_>,
        input: UpdateDoctorProfileInput,
    ) -> AppResult<DoctorPayload> {
        own_profile(ctx, "doctor.update", move |txn, mut d| {
            Box::pin(async move {
                let old = doctor_json(&d);
                if let Some(s) = &input.specialization {
                    d.specialization = specialization(s)?;
                }
                if let Some(y) = input.experience_years {
                    d.experience_years = experience(y)?;
                }
                if input.qualification.is_some() {
                    d.qualification = qualification(input.qualification.as_deref())?;
                }
                if input.bio.is_some() {
                    d.bio = bio(input.bio.as_deref())?;
                }
                if let Some(f) = input.consultation_fee_minor {
                    d.consultation_fee_minor = fee(f)?;
                }
                if let Some(c) = &input.currency {
                    d.currency = Currency::parse(c, "input.currency")?.into_inner();
                }
                if let Some(a) = input.is_available {
                    d.is_available = a;
                }
                let d = service::save_doctor(txn, d).await?;
                let change = Change {
                    entity_id: Some(d.id),
                    organization_id: d.organization_id,
                    old: Some(old),
                    new: Some(doctor_json(&d)),
                    ..Change::default()
                };
                Ok((d, change))
            })
        })
        .await
    }

    /// Verifies a profile: a super admin, or an admin of the doctor's organization.
    async fn verify_doctor(
        &self,
        ctx: &Context<'_>,
        input: VerifyDoctorInput,
    ) -> AppResult<DoctorPayload> {
        let req = ctx.req()?;
        let id = parse_id(&input.doctor_id, "input.doctorId");
        let found = match &id {
            Ok(id) => doctor::Entity::find_by_id(*id).one(&req.db).await?,
            Err(_) => None,
        };
        let rule = match &found {
            Some(d) => Rule::SuperAdminOrOrgAdmin {
                org: d.organization_id,
            },
            None => Rule::SignedIn,
        };
        let d = mutate(
            ctx,
            AuditAction::new("doctor.verify", "doctor").on_parsed(&id),
            rule,
            move |txn, actor| {
                Box::pin(async move {
                    id?;
                    let d = found.ok_or(AppError::NotFound("doctor"))?;
                    let d = service::verify_doctor(txn, d, actor.user_id).await?;
                    let change = Change {
                        organization_id: d.organization_id,
                        old: Some(json!({"isVerified": false})),
                        new: Some(json!({"isVerified": true})),
                        ..Change::default()
                    };
                    Ok((d, change))
                })
            },
        )
        .await?;
        Ok(DoctorPayload { doctor: d.into() })
    }

    /// Replaces the caller's weekly availability.
    async fn set_availability(
        &self,
        ctx: &Context<'_>,
        input: SetAvailabilityInput,
    ) -> AppResult<DoctorPayload> {
        own_profile(ctx, "doctor.set_availability", move |txn, d| {
            Box::pin(async move {
                let rules = input
                    .rules
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        Ok(NewRule {
                            day: r.day_of_week,
                            start: r.start_time,
                            end: r.end_time,
                            zone: IanaZone::parse(
                                &r.time_zone,
                                &format!("input.rules.{i}.timeZone"),
                            )?,
                            valid_from: r.valid_from,
                            valid_until: r.valid_until,
                        })
                    })
                    .collect::<AppResult<Vec<_>>>()?;
                let saved = service::set_availability(txn, d.id, rules).await?;
                let change = Change {
                    entity_id: Some(d.id),
                    organization_id: d.organization_id,
                    new: Some(json!({"rules": saved.iter().map(|r| json!({
                        "day": r.day_of_week, "start": r.start_time, "end": r.end_time,
                        "timeZone": r.time_zone, "validFrom": r.valid_from, "validUntil": r.valid_until}))
                        .collect::<Vec<_>>()})),
                    ..Change::default()
                };
                Ok((d, change))
            })
        })
        .await
    }

    /// Books a consultation for the caller (the patient). Safe to retry with an
    /// `idempotencyKey`. A taken slot is `CONFLICT`.
    async fn book_consultation(
        &self,
        ctx: &Context<'_>,
        input: BookConsultationInput,
    ) -> AppResult<ConsultationPayload> {
        let req = ctx.req()?;
        let app = ctx.app()?;
        let key = IdemKey::new(
            &req.viewer,
            "bookConsultation",
            input.idempotency_key.as_deref(),
            &input,
        )?;
        if authorize(&req.viewer, Rule::SignedIn).is_ok()
            && let Some(p) = remembered(&key, &req.db, |id| consultation_payload(req, id)).await?
        {
            return Ok(p);
        }
        let limits = BookingLimits {
            max_days_ahead: app.config.consultation_max_days_ahead,
        };
        let ttl = app.config.idempotency_ttl;
        let doctor_id = parse_id(&input.doctor_id, "input.doctorId");
        let key2 = key.clone();
        let result = mutate(
            ctx,
            AuditAction::new("consultation.book", "consultation"),
            Rule::SignedIn,
            move |txn, actor| {
                Box::pin(async move {
                    let patient = actor
                        .user_id
                        .ok_or(AppError::Forbidden("only users book consultations"))?;
                    let d = service::doctor_by_id(txn, doctor_id?).await?;
                    let booking = Booking {
                        patient_id: patient,
                        start: input.scheduled_at,
                        duration: service::check_duration(
                            input.duration_minutes,
                            "input.durationMinutes",
                        )?,
                        kind: input.consultation_type,
                        symptoms: Notes::parse_opt(
                            input.symptoms.as_deref(),
                            "input.symptoms",
                            4000,
                        )?
                        .map(Notes::into_inner),
                        rescheduled_from: None,
                    };
                    let c = service::book(txn, &d, booking, limits).await?;
                    if let Some(k) = &key2 {
                        k.remember(txn, c.id, ttl).await?;
                    }
                    let events =
                        service::notify_other_party(txn, &c, Some(patient), "requested").await?;
                    let change = Change {
                        entity_id: Some(c.id),
                        organization_id: c.organization_id,
                        new: Some(consultation_json(&c)),
                        actor_role: Some(Party::Patient.role().into()),
                        events,
                        ..Change::default()
                    };
                    Ok((c, change))
                })
            },
        )
        .await;
        match result {
            Ok(c) => Ok(ConsultationPayload {
                consultation: c.into(),
            }),
            // An identical attempt with the same key that won the race leaves this one with
            // a conflict (the slot, or the key): answer with the winner's booking.
            Err(AppError::Conflict(m)) if key.is_some() => {
                match remembered(&key, &req.db, |id| consultation_payload(req, id)).await? {
                    Some(p) => Ok(p),
                    None => Err(AppError::Conflict(m)),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// The doctor confirms a requested consultation.
    async fn confirm_consultation(
        &self,
        ctx: &Context<'_>,
        input: ConsultationActionInput,
    ) -> AppResult<ConsultationPayload> {
        move_consultation(
            ctx,
            "consultation.confirm",
            &input.consultation_id,
            DOCTOR,
            ConsultationStatus::Confirmed,
            "confirmed",
            |_, _| Ok(Stamp::default()),
        )
        .await
    }

    /// The doctor starts a confirmed consultation.
    async fn start_consultation(
        &self,
        ctx: &Context<'_>,
        input: ConsultationActionInput,
    ) -> AppResult<ConsultationPayload> {
        move_consultation(
            ctx,
            "consultation.start",
            &input.consultation_id,
            DOCTOR,
            ConsultationStatus::InProgress,
            "started",
            |_, _| Ok(Stamp::default()),
        )
        .await
    }

    /// The doctor completes a consultation in progress, with the diagnosis and notes.
    async fn complete_consultation(
        &self,
        ctx: &Context<'_>,
        input: CompleteConsultationInput,
    ) -> AppResult<ConsultationPayload> {
        let diagnosis = Notes::parse_opt(Some(&input.diagnosis), "input.diagnosis", 4000)
            .and_then(|d| d.ok_or_else(|| AppError::bad_input("input.diagnosis", "is required")));
        let notes = Notes::parse_opt(input.notes.as_deref(), "input.notes", 8000);
        move_consultation(
            ctx,
            "consultation.complete",
            &input.consultation_id,
            DOCTOR,
            ConsultationStatus::Completed,
            "completed",
            move |_, _| {
                Ok(Stamp {
                    diagnosis: Some(diagnosis?.into_inner()),
                    notes: notes?.map(Notes::into_inner),
                    ..Stamp::default()
                })
            },
        )
        .await
    }

    /// The patient or the doctor cancels, with a reason. Within the cut-off before the
    /// start (`CONSULTATION_CANCEL_CUTOFF_MINUTES`) only the doctor may.
    async fn cancel_consultation(
        &self,
        ctx: &Context<'_>,
        input: CancelConsultationInput,
    ) -> AppResult<ConsultationPayload> {
        let cutoff = ctx.app()?.config.consultation_cancel_cutoff;
        let reason = Text::parse(&input.reason, "input.reason", 500).map(Text::into_inner);
        let by = ctx.req()?.viewer.user_id();
        move_consultation(
            ctx,
            "consultation.cancel",
            &input.consultation_id,
            PARTIES,
            ConsultationStatus::Cancelled,
            "cancelled",
            move |c, party| {
                let reason = reason?;
                before_cutoff(c, party, cutoff)?;
                Ok(Stamp {
                    reason: Some(reason),
                    cancelled_by: by,
                    ..Stamp::default()
                })
            },
        )
        .await
    }

    /// The doctor records that the patient did not come (once the start has passed).
    async fn mark_no_show(
        &self,
        ctx: &Context<'_>,
        input: ConsultationActionInput,
    ) -> AppResult<ConsultationPayload> {
        move_consultation(
            ctx,
            "consultation.no_show",
            &input.consultation_id,
            DOCTOR,
            ConsultationStatus::NoShow,
            "marked as a no-show",
            |c, _| {
                if crate::db::now() < c.scheduled_at {
                    return Err(AppError::bad_input(
                        "input.consultationId",
                        "the consultation has not started yet",
                    ));
                }
                Ok(Stamp::default())
            },
        )
        .await
    }

    /// Moves a consultation to a new time: a new booking linked to the old one, which is
    /// cancelled. The patient (before the cut-off) or the doctor.
    async fn reschedule_consultation(
        &self,
        ctx: &Context<'_>,
        input: RescheduleConsultationInput,
    ) -> AppResult<ConsultationPayload> {
        let app = ctx.app()?;
        let cutoff = app.config.consultation_cancel_cutoff;
        let limits = BookingLimits {
            max_days_ahead: app.config.consultation_max_days_ahead,
        };
        let id = parse_id(&input.consultation_id, "input.consultationId");
        let viewer = viewer_of(ctx)?;
        let c = mutate(
            ctx,
            AuditAction::new("consultation.reschedule", "consultation").on_parsed(&id),
            Rule::SignedIn,
            move |txn, actor| {
                Box::pin(async move {
                    let old = service::load_locked(txn, id?).await?;
                    let party = care::require(&viewer, &old, PARTIES)?;
                    service::ensure_allowed(&old, ConsultationStatus::Cancelled)?;
                    before_cutoff(&old, party, cutoff)?;
                    let reason = Text::parse_opt(input.reason.as_deref(), "input.reason", 500)?
                        .map_or_else(|| "rescheduled".to_string(), Text::into_inner);
                    let duration = service::check_duration(
                        input.duration_minutes.unwrap_or(old.duration_minutes),
                        "input.durationMinutes",
                    )?;
                    let cancelled = service::transition(
                        txn,
                        old.clone(),
                        ConsultationStatus::Cancelled,
                        Stamp {
                            reason: Some(reason),
                            cancelled_by: actor.user_id,
                            ..Stamp::default()
                        },
                    )
                    .await?;
                    let d = service::doctor_by_id(txn, old.doctor_id).await?;
                    let new = service::book(
                        txn,
                        &d,
                        Booking {
                            patient_id: old.patient_id,
                            start: input.scheduled_at,
                            duration,
                            kind: old.consultation_type,
                            symptoms: old.symptoms.clone(),
                            rescheduled_from: Some(old.id),
                        },
                        limits,
                    )
                    .await?;
                    service::link_reschedule(txn, cancelled.id, new.id).await?;
                    let events =
                        service::notify_other_party(txn, &new, actor.user_id, "rescheduled")
                            .await?;
                    let change = Change {
                        organization_id: new.organization_id,
                        old: Some(consultation_json(&old)),
                        new: Some(consultation_json(&new)),
                        actor_role: Some(party.role().into()),
                        events,
                        ..Change::default()
                    };
                    Ok((new, change))
                })
            },
        )
        .await?;
        Ok(ConsultationPayload {
            consultation: c.into(),
        })
    }

    /// The consultation's doctor writes a prescription, during or after it.
    async fn add_prescription(
        &self,
        ctx: &Context<'_>,
        input: AddPrescriptionInput,
    ) -> AppResult<PrescriptionPayload> {
        let id = parse_id(&input.consultation_id, "input.consultationId");
        let viewer = viewer_of(ctx)?;
        let p = mutate(
            ctx,
            AuditAction::new("prescription.add", "consultation").on_parsed(&id),
            Rule::SignedIn,
            move |txn, _| {
                Box::pin(async move {
                    let c = service::load_locked(txn, id?).await?;
                    care::require(&viewer, &c, DOCTOR)?;
                    let meds = parse_medications(&input.medications)?;
                    let instructions = Notes::parse_opt(
                        input.instructions.as_deref(),
                        "input.instructions",
                        4000,
                    )?
                    .map(Notes::into_inner);
                    if input
                        .follow_up_date
                        .is_some_and(|d| d < crate::db::now().date_naive())
                    {
                        return Err(AppError::bad_input(
                            "input.followUpDate",
                            "must not be in the past",
                        ));
                    }
                    let p = service::add_prescription(
                        txn,
                        &c,
                        serde_json::to_value(&meds)?,
                        instructions,
                        input.follow_up_date,
                    )
                    .await?;
                    let events = notify(
                        txn,
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
                        organization_id: c.organization_id,
                        new: Some(json!({"consultationId": c.id, "medications": meds.len()})),
                        actor_role: Some(Party::Doctor.role().into()),
                        events,
                        ..Change::default()
                    };
                    Ok((p, change))
                })
            },
        )
        .await?;
        Ok(PrescriptionPayload {
            prescription: p.into(),
        })
    }

    /// Records a payment (the patient, the doctor or the organization's admin); one
    /// successful payment per consultation. Safe to retry with an `idempotencyKey`.
    async fn record_payment(
        &self,
        ctx: &Context<'_>,
        input: RecordPaymentInput,
    ) -> AppResult<PaymentPayload> {
        let req = ctx.req()?;
        let ttl = ctx.app()?.config.idempotency_ttl;
        let key = IdemKey::new(
            &req.viewer,
            "recordPayment",
            input.idempotency_key.as_deref(),
            &input,
        )?;
        if authorize(&req.viewer, Rule::SignedIn).is_ok()
            && let Some(p) = remembered(&key, &req.db, |id| payment_payload(req, id)).await?
        {
            return Ok(p);
        }
        let id = parse_id(&input.consultation_id, "input.consultationId");
        let viewer = viewer_of(ctx)?;
        let key2 = key.clone();
        let result = mutate(
            ctx,
            AuditAction::new("payment.record", "consultation").on_parsed(&id),
            Rule::SignedIn,
            move |txn, actor| {
                Box::pin(async move {
                    let c = service::load_locked(txn, id?).await?;
                    let party =
                        care::require(&viewer, &c, &[Party::Patient, Party::Doctor, Party::OrgAdmin])?;
                    let d = service::doctor_by_id(txn, c.doctor_id).await?;
                    let new = NewPayment {
                        amount_minor: MinorAmount::parse(
                            input.amount_minor,
                            "input.amountMinor",
                            false,
                        )?
                        .get(),
                        currency: Currency::parse(&input.currency, "input.currency")?.into_inner(),
                        method: input.method,
                        reference: Text::parse_opt(
                            input.transaction_reference.as_deref(),
                            "input.transactionReference",
                            128,
                        )?
                        .map(Text::into_inner),
                        recorded_by: actor.user_id,
                    };
                    let p = service::record_payment(txn, &c, &d.currency, new).await?;
                    if let Some(k) = &key2 {
                        k.remember(txn, p.id, ttl).await?;
                    }
                    let change = Change {
                        entity_id: Some(p.id),
                        organization_id: c.organization_id,
                        new: Some(json!({"consultationId": c.id, "amountMinor": p.amount_minor,
                                         "currency": p.currency, "method": p.method, "status": p.status})),
                        actor_role: Some(party.role().into()),
                        ..Change::default()
                    };
                    Ok((p, change))
                })
            },
        )
        .await;
        match result {
            Ok(p) => Ok(PaymentPayload { payment: p.into() }),
            Err(AppError::Conflict(m)) if key.is_some() => {
                match remembered(&key, &req.db, |id| payment_payload(req, id)).await? {
                    Some(p) => Ok(p),
                    None => Err(AppError::Conflict(m)),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Refunds a successful payment: the doctor or the organization's admin.
    async fn refund_payment(
        &self,
        ctx: &Context<'_>,
        input: RefundPaymentInput,
    ) -> AppResult<PaymentPayload> {
        let id = parse_id(&input.payment_id, "input.paymentId");
        let viewer = viewer_of(ctx)?;
        let p = mutate(
            ctx,
            AuditAction::new("payment.refund", "payment").on_parsed(&id),
            Rule::SignedIn,
            move |txn, _| {
                Box::pin(async move {
                    let reason = Text::parse(&input.reason, "input.reason", 500)?.into_inner();
                    let p = payment::Entity::find_by_id(id?)
                        .one(txn)
                        .await?
                        .ok_or(AppError::NotFound("payment"))?;
                    let c = service::load_locked(txn, p.consultation_id).await?;
                    let party = care::require(&viewer, &c, &[Party::Doctor, Party::OrgAdmin])
                        .map_err(|e| match e {
                            AppError::NotFound(_) => AppError::NotFound("payment"),
                            e => e,
                        })?;
                    let p = service::refund_payment(txn, p, reason).await?;
                    let change = Change {
                        organization_id: c.organization_id,
                        old: Some(json!({"status": "SUCCEEDED"})),
                        new: Some(json!({"status": p.status, "reason": p.refund_reason})),
                        actor_role: Some(party.role().into()),
                        ..Change::default()
                    };
                    Ok((p, change))
                })
            },
        )
        .await?;
        Ok(PaymentPayload { payment: p.into() })
    }

    /// The consultation's doctor flags a risk; a CRITICAL one raises a RISK_FLAG alert to
    /// the organization's admins and doctors.
    async fn raise_risk_flag(
        &self,
        ctx: &Context<'_>,
        input: RaiseRiskFlagInput,
    ) -> AppResult<RiskFlagPayload> {
        let id = parse_id(&input.consultation_id, "input.consultationId");
        let viewer = viewer_of(ctx)?;
        let f = mutate(
            ctx,
            AuditAction::new("risk_flag.raise", "consultation").on_parsed(&id),
            Rule::SignedIn,
            move |txn, _| {
                Box::pin(async move {
                    let c = service::load_locked(txn, id?).await?;
                    care::require(&viewer, &c, DOCTOR)?;
                    let description =
                        Notes::parse_opt(Some(&input.description), "input.description", 2000)?
                            .ok_or_else(|| AppError::bad_input("input.description", "is required"))?
                            .into_inner();
                    let (f, events) = service::raise_risk_flag(
                        txn,
                        &c,
                        input.risk_type,
                        input.severity,
                        description,
                    )
                    .await?;
                    let change = Change {
                        entity_id: Some(f.id),
                        organization_id: c.organization_id,
                        new: Some(json!({"consultationId": c.id, "riskType": f.risk_type,
                                         "severity": f.severity, "alertId": f.alert_id})),
                        actor_role: Some(Party::Doctor.role().into()),
                        events,
                        ..Change::default()
                    };
                    Ok((f, change))
                })
            },
        )
        .await?;
        Ok(RiskFlagPayload {
            risk_flag: f.into(),
        })
    }
}

/// Runs a mutation on the caller's own doctor profile.
async fn own_profile<F>(
    ctx: &Context<'_>,
    action: &'static str,
    work: F,
) -> AppResult<DoctorPayload>
where
    F: for<'c> FnOnce(&'c CountedTxn, doctor::Model) -> Work<'c, doctor::Model> + Send + 'static,
{
    let d = mutate(
        ctx,
        AuditAction::new(action, "doctor"),
        Rule::SignedIn,
        move |txn, actor| {
            Box::pin(async move {
                let me = actor.user_id.ok_or(AppError::NotFound("doctor profile"))?;
                let d = service::doctor_of_user(txn, me).await?;
                work(txn, d).await
            })
        },
    )
    .await?;
    Ok(DoctorPayload { doctor: d.into() })
}

/// A profile's fields as the audit trail records them.
fn doctor_json(d: &doctor::Model) -> serde_json::Value {
    json!({"licenseNumber": d.license_number, "specialization": d.specialization,
           "organizationId": d.organization_id, "experienceYears": d.experience_years,
           "fee": d.consultation_fee_minor, "currency": d.currency, "isAvailable": d.is_available})
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

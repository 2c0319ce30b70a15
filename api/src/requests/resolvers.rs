//! Blood request resolvers: check the caller, call the service, map the result.

use super::{service, types::*};
use crate::{
    audit::{AuditAction, Change, mutate},
    auth::{Rule, Viewer, authorize, policy::ADMIN_DOCTOR_STAFF},
    error::{AppError, AppResult},
    graphql::{
        context::{CtxExt, RequestCtx},
        ids::parse_id,
        loaders::{prime, prime_orgs, prime_users},
        pagination::{Conn, Keyset, PageArgs, SortValue, fetch_selected, node_selects},
    },
    idempotency::{IdemKey, RACED, remembered},
    stock::service::within_km,
    validation::Text,
};
use async_graphql::{Context, ID, Object};
use entity::{OrgKind, RequestStatus, blood_request, organization};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::json;
use uuid::Uuid;

/// Which requests a caller sees: super admins all; a hospital its own; a bank those
/// addressed to it, those it accepted, and open pending ones within their radius of it.
async fn visible(req: &RequestCtx) -> AppResult<Condition> {
    let v = &req.viewer;
    if v.is_super_admin() {
        return Ok(Condition::all());
    }
    let client_reads = |v: &Viewer| {
        !matches!(v, Viewer::Client(_))
            || v.client_has("blood-requests:read")
            || v.client_has("blood-requests:write")
    };
    let mut any = Condition::any();
    let hospitals = if client_reads(v) {
        v.approved_orgs(OrgKind::Hospital)
    } else {
        Vec::new()
    };
    if !hospitals.is_empty() {
        any = any.add(blood_request::Column::HospitalId.is_in(hospitals));
    }
    let banks = if client_reads(v) {
        v.approved_orgs(OrgKind::BloodBank)
    } else {
        Vec::new()
    };
    if !banks.is_empty() {
        any = any
            .add(blood_request::Column::TargetBankId.is_in(banks.clone()))
            .add(blood_request::Column::BloodBankId.is_in(banks.clone()));
        let rows = organization::Entity::find()
            .filter(organization::Column::Id.is_in(banks))
            .all(&req.db)
            .await?;
        for b in rows {
            any = any.add(
                Condition::all()
                    .add(blood_request::Column::Status.eq(RequestStatus::Pending))
                    .add(blood_request::Column::TargetBankId.is_null())
                    .add(within_km(
                        blood_request::Column::Latitude,
                        blood_request::Column::Longitude,
                        b.latitude,
                        b.longitude,
                        Expr::col(blood_request::Column::RadiusKm),
                    )),
            );
        }
    }
    if any.is_empty() {
        return Err(AppError::Forbidden(
            "only hospitals, blood banks and super admins see blood requests",
        ));
    }
    Ok(any)
}

/// Blood request queries.
#[derive(Default)]
pub struct RequestQuery;

#[Object]
impl RequestQuery {
    /// Blood requests the caller may see, most urgent then oldest first by default.
    #[allow(clippy::too_many_arguments)]
    async fn blood_requests(
        &self,
        ctx: &Context<'_>,
        filter: Option<BloodRequestFilter>,
        order_by: Option<BloodRequestOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<Conn<BloodRequest>> {
        let req = ctx.req()?;
        authorize(&req.viewer, Rule::Authenticated)?;
        let f = filter.unwrap_or_default();
        let mut q = blood_request::Entity::find().filter(visible(req).await?);
        if let Some(s) = f.statuses {
            q = q.filter(blood_request::Column::Status.is_in(s));
        }
        if let Some(u) = f.urgencies {
            q = q.filter(blood_request::Column::Urgency.is_in(u));
        }
        if let Some(h) = &f.hospital_id {
            q = q.filter(blood_request::Column::HospitalId.eq(parse_id(h, "filter.hospitalId")?));
        }
        if let Some(b) = &f.blood_bank_id {
            let b = parse_id(b, "filter.bloodBankId")?;
            q = q.filter(
                Condition::any()
                    .add(blood_request::Column::BloodBankId.eq(b))
                    .add(blood_request::Column::TargetBankId.eq(b)),
            );
        }
        if let Some(t) = f.created_after {
            q = q.filter(blood_request::Column::CreatedAt.gte(t));
        }
        if let Some(t) = f.created_before {
            q = q.filter(blood_request::Column::CreatedAt.lt(t));
        }
        let order = order_by.unwrap_or_default();
        let keyset = Keyset::<blood_request::Entity> {
            key: match order.field {
                BloodRequestOrderField::Urgency => Some((
                    blood_request::Column::UrgencyRank,
                    |m: &blood_request::Model| SortValue::Int(i64::from(m.urgency_rank)),
                )),
                BloodRequestOrderField::CreatedAt => None,
            },
            id: blood_request::Column::Id,
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
        prime_relations(ctx, req, page.rows.iter().map(|(_, m)| m)).await?;
        Ok(page.into_connection(BloodRequest::from))
    }

    /// One request, if the caller may see it.
    async fn blood_request(&self, ctx: &Context<'_>, id: ID) -> AppResult<BloodRequest> {
        let req = ctx.req()?;
        authorize(&req.viewer, Rule::Authenticated)?;
        let id = parse_id(&id, "id")?;
        let cond = visible(req)
            .await
            .map_err(|_| AppError::NotFound("blood request"))?;
        blood_request::Entity::find_by_id(id)
            .filter(cond)
            .one(&req.db)
            .await?
            .map(BloodRequest::from)
            .ok_or(AppError::NotFound("blood request"))
    }
}

/// Loads a page's organizations and requesting users in one query each and primes the
/// loaders, so the page costs the same statements whatever its length.
async fn prime_relations<'a>(
    ctx: &Context<'_>,
    req: &RequestCtx,
    rows: impl Iterator<Item = &'a blood_request::Model> + Clone,
) -> AppResult<()> {
    let orgs = ["hospital", "bloodBank", "targetBank"]
        .iter()
        .any(|f| node_selects(ctx, &[f]));
    if orgs {
        let ids = rows
            .clone()
            .flat_map(|m| [Some(m.hospital_id), m.blood_bank_id, m.target_bank_id])
            .flatten()
            .collect();
        prime_orgs(req, ids).await?;
    }
    if node_selects(ctx, &["requestedBy"]) {
        prime_users(req, rows.clone().filter_map(|m| m.requested_by_user_id)).await?;
    }
    if node_selects(ctx, &["units"]) {
        prime(&req.loaders.units_by_request, rows.map(|m| m.id)).await?;
    }
    Ok(())
}

/// Blood request mutations.
#[derive(Default)]
pub struct RequestMutation;

fn request_json(r: &blood_request::Model) -> serde_json::Value {
    json!({"status": r.status, "bloodGroup": r.blood_group, "component": r.component, "unitsRequired": r.units_required,
           "urgency": r.urgency, "bloodBankId": r.blood_bank_id, "targetBankId": r.target_bank_id,
           "allowEmergencyOverride": r.allow_emergency_override, "overrideReason": r.override_reason})
}

async fn load_visible_after_retry(req: &RequestCtx, id: Uuid) -> AppResult<BloodRequestPayload> {
    let row = blood_request::Entity::find_by_id(id)
        .one(&req.db)
        .await?
        .ok_or(AppError::NotFound("blood request"))?;
    Ok(BloodRequestPayload {
        blood_request: row.into(),
    })
}

#[Object]
impl RequestMutation {
    /// Creates a request for a hospital (its admins, doctors and staff, or its API client
    /// with `blood-requests:write`). Safe to retry with an `idempotencyKey`.
    async fn create_blood_request(
        &self,
        ctx: &Context<'_>,
        input: CreateBloodRequestInput,
    ) -> AppResult<BloodRequestPayload> {
        let req = ctx.req()?;
        let app = ctx.app()?;
        let hospital = parse_id(&input.hospital_id, "input.hospitalId");
        let rule = Rule::act_for(
            &hospital,
            ADMIN_DOCTOR_STAFF,
            Some("blood-requests:write"),
            Some(OrgKind::Hospital),
        );
        let key = IdemKey::new(
            &req.viewer,
            "createBloodRequest",
            input.idempotency_key.as_deref(),
            &input,
        )?;
        if authorize(&req.viewer, rule).is_ok()
            && let Some(p) =
                remembered(&key, &req.db, |id| load_visible_after_retry(req, id)).await?
        {
            return Ok(p);
        }
        let (default_radius, max_radius, ttl) = (
            app.config.default_request_radius_km,
            app.config.max_request_radius_km,
            app.config.idempotency_ttl,
        );
        let key2 = key.clone();
        let result = mutate(
            ctx,
            AuditAction::new("blood_request.create", "blood_request"),
            rule,
            move |txn, actor| {
                Box::pin(async move {
                    let hospital = hospital?;
                    let org = organization::Entity::find_by_id(hospital)
                        .one(txn)
                        .await?
                        .ok_or(AppError::NotFound("hospital"))?;
                    if !(1..=20).contains(&input.units_required) {
                        return Err(AppError::bad_input(
                            "input.unitsRequired",
                            "must be between 1 and 20",
                        ));
                    }
                    if input.needed_by <= chrono::Utc::now() {
                        return Err(AppError::bad_input(
                            "input.neededBy",
                            "must be in the future",
                        ));
                    }
                    let radius = input.radius_km.unwrap_or(default_radius);
                    if !(radius > 0.0 && radius <= max_radius) {
                        return Err(AppError::bad_input(
                            "input.radiusKm",
                            format!("must be above 0 and at most {max_radius}"),
                        ));
                    }
                    let override_reason = Text::parse_opt(
                        input.override_reason.as_deref(),
                        "input.overrideReason",
                        500,
                    )?;
                    if input.allow_emergency_override && override_reason.is_none() {
                        return Err(AppError::bad_input(
                            "input.overrideReason",
                            "is required with an emergency override",
                        ));
                    }
                    let new = service::NewRequest {
                        hospital: org,
                        patient_reference: Text::parse(
                            &input.patient_reference,
                            "input.patientReference",
                            64,
                        )?,
                        patient_name: Text::parse_opt(
                            input.patient_name.as_deref(),
                            "input.patientName",
                            200,
                        )?,
                        blood_group: input.blood_group,
                        component: input.component,
                        units_required: input.units_required,
                        urgency: input.urgency,
                        needed_by: input.needed_by,
                        medical_notes: Text::parse_opt(
                            input.medical_notes.as_deref(),
                            "input.medicalNotes",
                            2000,
                        )?,
                        target_bank: input
                            .blood_bank_id
                            .as_ref()
                            .map(|b| parse_id(b, "input.bloodBankId"))
                            .transpose()?,
                        radius_km: radius,
                        allow_override: input.allow_emergency_override,
                        override_reason,
                    };
                    let r = service::create(txn, new, actor).await?;
                    let mut events = crate::alerts::service::emergency_alert(
                        txn,
                        &r,
                        r.radius_km,
                        OrgKind::BloodBank,
                    )
                    .await?;
                    events.push(crate::alerts::service::request_event(&r));
                    if let Some(k) = &key2 {
                        k.remember(txn, r.id, ttl).await?;
                    }
                    let change = Change {
                        entity_id: Some(r.id),
                        new: Some(request_json(&r)),
                        events,
                        ..Change::default()
                    };
                    Ok((r, change))
                })
            },
        )
        .await;
        match result {
            Ok(r) => Ok(BloodRequestPayload {
                blood_request: r.into(),
            }),
            Err(AppError::Conflict(m)) if m == RACED => retry_answer(req, key).await,
            Err(e) => Err(e),
        }
    }

    /// A bank accepts a request, reserving its units atomically (all or `INSUFFICIENT_STOCK`).
    async fn accept_blood_request(
        &self,
        ctx: &Context<'_>,
        input: AcceptBloodRequestInput,
    ) -> AppResult<BloodRequestPayload> {
        let req = ctx.req()?;
        let app = ctx.app()?;
        let bank = parse_id(&input.blood_bank_id, "input.bloodBankId");
        let rule = Rule::act_for(
            &bank,
            ADMIN_DOCTOR_STAFF,
            Some("blood-requests:write"),
            Some(OrgKind::BloodBank),
        );
        let key = IdemKey::new(
            &req.viewer,
            "acceptBloodRequest",
            input.idempotency_key.as_deref(),
            &input,
        )?;
        if authorize(&req.viewer, rule).is_ok()
            && let Some(p) =
                remembered(&key, &req.db, |id| load_visible_after_retry(req, id)).await?
        {
            return Ok(p);
        }
        let request_id = parse_id(&input.request_id, "input.requestId");
        let what = AuditAction::new("blood_request.accept", "blood_request").on_parsed(&request_id);
        let (hold, ttl) = (app.config.reservation_hold, app.config.idempotency_ttl);
        let key2 = key.clone();
        let result = mutate(ctx, what, rule, move |txn, actor| {
            Box::pin(async move {
                let (id, bank) = (request_id?, bank?);
                let (r, units) = service::accept(txn, id, bank, hold, actor).await?;
                crate::alerts::service::resolve_related(
                    txn,
                    r.id,
                    &[entity::AlertKind::EmergencyRequest, entity::AlertKind::DelayedEmergency],
                )
                .await?;
                let combos: Vec<_> = units.iter().map(|u| (u.blood_group, u.component)).collect();
                let mut events = crate::alerts::service::check_stock(txn, bank, &combos).await?;
                events.push(crate::alerts::service::request_event(&r));
                if let Some(k) = &key2 {
                    k.remember(txn, r.id, ttl).await?;
                }
                let change = Change {
                    new: Some(json!({"status": r.status, "bloodBankId": bank, "holdUntil": r.hold_until,
                                     "units": units.iter().map(|u| json!({"id": u.id, "unitNumber": u.unit_number, "bloodGroup": u.blood_group})).collect::<Vec<_>>()})),
                    old: Some(json!({"status": "PENDING"})),
                    events,
                    ..Change::default()
                };
                Ok((r, change))
            })
        })
        .await;
        match result {
            Ok(r) => Ok(BloodRequestPayload {
                blood_request: r.into(),
            }),
            // An identical attempt that won the race leaves this one finding the request
            // already accepted (INVALID_TRANSITION) or its key taken: answer with its result.
            Err(e) if key.is_some() && authorize(&req.viewer, rule).is_ok() => {
                retry_answer(req, key).await.map_err(|_| e)
            }
            Err(e) => Err(e),
        }
    }

    /// The accepting bank issues the reserved units.
    async fn fulfill_blood_request(
        &self,
        ctx: &Context<'_>,
        input: FulfillBloodRequestInput,
    ) -> AppResult<BloodRequestPayload> {
        let bank = parse_id(&input.blood_bank_id, "input.bloodBankId");
        let rule = Rule::act_for(
            &bank,
            ADMIN_DOCTOR_STAFF,
            Some("blood-requests:write"),
            Some(OrgKind::BloodBank),
        );
        let id = parse_id(&input.request_id, "input.requestId");
        let r = mutate(ctx, AuditAction::new("blood_request.fulfill", "blood_request").on_parsed(&id), rule, move |txn, actor| {
            Box::pin(async move {
                let (r, units) = service::fulfill(txn, id?, bank?, actor).await?;
                let events = vec![crate::alerts::service::request_event(&r)];
                let change = Change {
                    old: Some(json!({"status": "ACCEPTED"})),
                    new: Some(json!({"status": r.status, "issued": units.iter().map(|u| u.id).collect::<Vec<_>>()})),
                    events,
                    ..Change::default()
                };
                Ok((r, change))
            })
        })
        .await?;
        Ok(BloodRequestPayload {
            blood_request: r.into(),
        })
    }

    /// The addressed bank refuses a pending request, with a reason.
    async fn reject_blood_request(
        &self,
        ctx: &Context<'_>,
        input: BankResponseInput,
    ) -> AppResult<BloodRequestPayload> {
        let bank = parse_id(&input.blood_bank_id, "input.bloodBankId");
        let rule = Rule::act_for(
            &bank,
            ADMIN_DOCTOR_STAFF,
            Some("blood-requests:write"),
            Some(OrgKind::BloodBank),
        );
        let id = parse_id(&input.request_id, "input.requestId");
        let r = mutate(
            ctx,
            AuditAction::new("blood_request.reject", "blood_request").on_parsed(&id),
            rule,
            move |txn, _| {
                Box::pin(async move {
                    let reason = Text::parse_opt(input.reason.as_deref(), "input.reason", 500)?
                        .ok_or_else(|| AppError::bad_input("input.reason", "is required"))?
                        .into_inner();
                    let r = service::reject(txn, id?, bank?, reason).await?;
                    crate::alerts::service::resolve_related(
                        txn,
                        r.id,
                        &[
                            entity::AlertKind::EmergencyRequest,
                            entity::AlertKind::DelayedEmergency,
                        ],
                    )
                    .await?;
                    let events = vec![crate::alerts::service::request_event(&r)];
                    let change = Change {
                        old: Some(json!({"status": "PENDING"})),
                        new: Some(request_json(&r)),
                        events,
                        ..Change::default()
                    };
                    Ok((r, change))
                })
            },
        )
        .await?;
        Ok(BloodRequestPayload {
            blood_request: r.into(),
        })
    }

    /// A bank passes on an open request; it stays open to the others.
    async fn decline_blood_request(
        &self,
        ctx: &Context<'_>,
        input: BankResponseInput,
    ) -> AppResult<BloodRequestPayload> {
        let bank = parse_id(&input.blood_bank_id, "input.bloodBankId");
        let rule = Rule::act_for(
            &bank,
            ADMIN_DOCTOR_STAFF,
            Some("blood-requests:write"),
            Some(OrgKind::BloodBank),
        );
        let id = parse_id(&input.request_id, "input.requestId");
        let r = mutate(
            ctx,
            AuditAction::new("blood_request.decline", "blood_request").on_parsed(&id),
            rule,
            move |txn, actor| {
                Box::pin(async move {
                    let reason = Text::parse_opt(input.reason.as_deref(), "input.reason", 500)?
                        .map(Text::into_inner);
                    let bank = bank?;
                    let r = service::decline(txn, id?, bank, reason.clone(), actor).await?;
                    let change = Change {
                        new: Some(json!({"declinedBy": bank, "reason": reason})),
                        ..Change::default()
                    };
                    Ok((r, change))
                })
            },
        )
        .await?;
        Ok(BloodRequestPayload {
            blood_request: r.into(),
        })
    }

    /// The hospital withdraws a request, with a reason; reserved units return to stock.
    async fn cancel_blood_request(
        &self,
        ctx: &Context<'_>,
        input: CancelBloodRequestInput,
    ) -> AppResult<BloodRequestPayload> {
        let hospital = parse_id(&input.hospital_id, "input.hospitalId");
        let rule = Rule::act_for(
            &hospital,
            ADMIN_DOCTOR_STAFF,
            Some("blood-requests:write"),
            Some(OrgKind::Hospital),
        );
        let id = parse_id(&input.request_id, "input.requestId");
        let r = mutate(ctx, AuditAction::new("blood_request.cancel", "blood_request").on_parsed(&id), rule, move |txn, actor| {
            Box::pin(async move {
                let reason = Text::parse(&input.reason, "input.reason", 500)?.into_inner();
                let (r, released) = service::cancel(txn, id?, hospital?, reason, actor).await?;
                crate::alerts::service::resolve_related(
                    txn,
                    r.id,
                    &[entity::AlertKind::EmergencyRequest, entity::AlertKind::DelayedEmergency],
                )
                .await?;
                let mut events = Vec::new();
                if let Some(bank) = released.first().map(|u| u.blood_bank_id) {
                    let combos: Vec<_> = released.iter().map(|u| (u.blood_group, u.component)).collect();
                    events = crate::alerts::service::check_stock(txn, bank, &combos).await?;
                }
                events.push(crate::alerts::service::request_event(&r));
                let change = Change {
                    new: Some(json!({"status": r.status, "reason": r.cancellation_reason, "released": released.iter().map(|u| u.id).collect::<Vec<_>>()})),
                    events,
                    ..Change::default()
                };
                Ok((r, change))
            })
        })
        .await?;
        Ok(BloodRequestPayload {
            blood_request: r.into(),
        })
    }
}

/// Answers the loser of a race between two identical first attempts with the winner's result.
async fn retry_answer(req: &RequestCtx, key: Option<IdemKey>) -> AppResult<BloodRequestPayload> {
    remembered(&key, &req.db, |id| load_visible_after_retry(req, id))
        .await?
        .ok_or_else(|| AppError::Conflict(RACED.into()))
}

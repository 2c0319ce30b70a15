//! Insurance use cases: the plan catalogue, coverages, doctors' accepted plans, and the
//! check a booking under a coverage passes.

use super::commands::{
    AddCoverage, CreateInsurancePlan, SetAcceptedPlans, TerminateCoverage, UpdateInsurancePlan,
};
use crate::{
    audit::Change,
    auth::{Viewer, insurance},
    consultations::service::doctor_of_user,
    db::{find_locked, now},
    error::{AppError, AppResult, unique_violation},
};
use chrono::NaiveDate;
use entity::{coverage, doctor, doctor_accepted_plan, insurance_plan, sealed::Sealed};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

// ---------------------------------------------------------------- plans

fn plan_json(p: &insurance_plan::Model) -> serde_json::Value {
    json!({"planCode": p.plan_code, "name": p.name, "planType": p.plan_type,
           "premiumMinor": p.premium_minor, "deductibleMinor": p.deductible_minor,
           "copayMinor": p.copay_minor, "currency": p.currency,
           "activeFrom": p.active_from, "activeUntil": p.active_until})
}

/// A super admin (the command's rule) adds a plan to the catalogue; a code taken is
/// `CONFLICT` on `input.planCode` (the unique index decides).
pub async fn create_plan<C: ConnectionTrait>(
    db: &C,
    by: Option<Uuid>,
    cmd: CreateInsurancePlan,
) -> AppResult<(insurance_plan::Model, Change)> {
    let t = now();
    let p = insurance_plan::Model {
        id: Uuid::now_v7(),
        plan_code: cmd.plan_code,
        name: cmd.name,
        plan_type: cmd.plan_type,
        coverage_details: cmd.coverage_details,
        premium_minor: cmd.premium_minor,
        deductible_minor: cmd.deductible_minor,
        copay_minor: cmd.copay_minor,
        currency: cmd.currency,
        active_from: cmd.active_from,
        active_until: cmd.active_until,
        created_by: by,
        created_at: t,
        updated_at: t,
    };
    insurance_plan::Entity::insert(insurance_plan::ActiveModel::from(p.clone()))
        .exec(db)
        .await
        .map_err(unique_violation)?;
    let change = Change {
        entity_id: Some(p.id),
        new: Some(plan_json(&p)),
        ..Change::default()
    };
    Ok((p, change))
}

/// A super admin changes the fields given of a plan (its code and currency stay).
pub async fn update_plan<C: ConnectionTrait>(
    db: &C,
    cmd: UpdateInsurancePlan,
) -> AppResult<(insurance_plan::Model, Change)> {
    let old = find_locked::<insurance_plan::Entity, _>(db, cmd.plan_id)
        .await?
        .ok_or(AppError::NotFound("insurance plan"))?;
    let mut p = old.clone();
    if let Some(v) = cmd.name {
        p.name = v;
    }
    if let Some(v) = cmd.plan_type {
        p.plan_type = v;
    }
    if cmd.coverage_details.is_some() {
        p.coverage_details = cmd.coverage_details;
    }
    p.premium_minor = cmd.premium_minor.unwrap_or(p.premium_minor);
    p.deductible_minor = cmd.deductible_minor.unwrap_or(p.deductible_minor);
    p.copay_minor = cmd.copay_minor.unwrap_or(p.copay_minor);
    p.active_from = cmd.active_from.unwrap_or(p.active_from);
    if cmd.active_until.is_some() {
        p.active_until = cmd.active_until;
    }
    if p.active_until.is_some_and(|u| u < p.active_from) {
        return Err(AppError::bad_input(
            "input.activeUntil",
            "must not be before activeFrom",
        ));
    }
    p.updated_at = now();
    insurance_plan::Entity::update(insurance_plan::ActiveModel::from(p.clone()).reset_all())
        .exec(db)
        .await?;
    let change = Change {
        entity_id: Some(p.id),
        old: Some(plan_json(&old)),
        new: Some(plan_json(&p)),
        ..Change::default()
    };
    Ok((p, change))
}

// ---------------------------------------------------------------- coverages

/// A coverage as the audit trail records it (never the member number).
fn coverage_json(c: &coverage::Model) -> serde_json::Value {
    json!({"planId": c.plan_id, "primary": c.is_primary, "coveragePercent": c.coverage_percent,
           "enrolledOn": c.enrolled_on, "terminatedOn": c.terminated_on})
}

/// The caller enrols in a plan. The plan must exist and not have ended before the
/// enrolment; a second primary coverage in force is refused (`BAD_USER_INPUT` on
/// `input.primary`), by the partial unique index when two race.
pub async fn add_coverage<C: ConnectionTrait>(
    db: &C,
    patient: Uuid,
    cmd: AddCoverage,
) -> AppResult<(coverage::Model, Change)> {
    let plan = insurance_plan::Entity::find_by_id(cmd.plan_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::bad_input("input.planId", "no such plan"))?;
    if plan.active_until.is_some_and(|u| u < cmd.enrolled_on) {
        return Err(AppError::bad_input(
            "input.enrolledOn",
            "the plan has ended by then",
        ));
    }
    let t = now();
    let c = coverage::Model {
        id: Uuid::now_v7(),
        patient_id: patient,
        plan_id: plan.id,
        is_primary: cmd.primary,
        coverage_percent: cmd.coverage_percent,
        member_number: Sealed(cmd.member_number),
        enrolled_on: cmd.enrolled_on,
        terminated_on: None,
        created_at: t,
        updated_at: t,
    };
    coverage::Entity::insert(coverage::ActiveModel::from(c.clone()))
        .exec(db)
        .await
        .map_err(unique_violation)?;
    let change = Change {
        entity_id: Some(c.id),
        new: Some(coverage_json(&c)),
        actor_role: Some("PATIENT".into()),
        ..Change::default()
    };
    Ok((c, change))
}

/// The patient ends a coverage as of today (UTC), once: the update is conditional on it not
/// being terminated, so a second (or a racing) termination is `INVALID_TRANSITION`. Anyone
/// else is told it does not exist (`auth::insurance::require_holder`). Bookings already made
/// under it keep it; a payment recorded later still splits the fee by it.
pub async fn terminate_coverage<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    cmd: TerminateCoverage,
) -> AppResult<(coverage::Model, Change)> {
    let old = find_locked::<coverage::Entity, _>(db, cmd.coverage_id)
        .await?
        .ok_or(AppError::NotFound("coverage"))?;
    insurance::require_holder(viewer, &old)?;
    let refuse = || AppError::InvalidTransition {
        from: "TERMINATED".into(),
        to: "TERMINATED".into(),
    };
    if old.terminated_on.is_some() {
        return Err(refuse());
    }
    let t = now();
    let today = t.date_naive().max(old.enrolled_on);
    let res = coverage::Entity::update_many()
        .col_expr(coverage::Column::TerminatedOn, Expr::value(today))
        .col_expr(coverage::Column::UpdatedAt, Expr::value(t))
        .filter(coverage::Column::Id.eq(old.id))
        .filter(coverage::Column::TerminatedOn.is_null())
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(refuse());
    }
    let c = coverage::Model {
        terminated_on: Some(today),
        updated_at: t,
        ..old.clone()
    };
    let change = Change {
        entity_id: Some(c.id),
        old: Some(coverage_json(&old)),
        new: Some(coverage_json(&c)),
        actor_role: Some("PATIENT".into()),
        ..Change::default()
    };
    Ok((c, change))
}

// ---------------------------------------------------------------- accepted plans

/// The caller's doctor profile now accepts exactly these plans (the set is replaced); each
/// must exist (`BAD_USER_INPUT` on `input.planIds`). A caller without a profile is refused.
pub async fn set_accepted_plans<C: ConnectionTrait>(
    db: &C,
    user: Uuid,
    cmd: SetAcceptedPlans,
) -> AppResult<(doctor::Model, Change)> {
    let d = doctor_of_user(db, user).await?;
    if !cmd.plan_ids.is_empty() {
        let found = insurance_plan::Entity::find()
            .filter(insurance_plan::Column::Id.is_in(cmd.plan_ids.iter().copied()))
            .count(db)
            .await?;
        if found != cmd.plan_ids.len() as u64 {
            return Err(AppError::bad_input("input.planIds", "no such plan"));
        }
    }
    let before: Vec<Uuid> = doctor_accepted_plan::Entity::find()
        .select_only()
        .column(doctor_accepted_plan::Column::PlanId)
        .filter(doctor_accepted_plan::Column::DoctorId.eq(d.id))
        .into_tuple()
        .all(db)
        .await?;
    doctor_accepted_plan::Entity::delete_many()
        .filter(doctor_accepted_plan::Column::DoctorId.eq(d.id))
        .exec(db)
        .await?;
    let t = now();
    if !cmd.plan_ids.is_empty() {
        doctor_accepted_plan::Entity::insert_many(cmd.plan_ids.iter().map(|p| {
            doctor_accepted_plan::ActiveModel::from(doctor_accepted_plan::Model {
                doctor_id: d.id,
                plan_id: *p,
                created_at: t,
            })
        }))
        .exec(db)
        .await?;
    }
    let change = Change {
        entity_id: Some(d.id),
        organization_id: d.organization_id,
        old: Some(json!({"planIds": before})),
        new: Some(json!({"planIds": cmd.plan_ids})),
        actor_role: Some("DOCTOR".into()),
        ..Change::default()
    };
    Ok((d, change))
}

// ---------------------------------------------------------------- booking

/// What a booking under a coverage must satisfy, checked by `consultations::service::book`
/// (for a new booking and again when one is moved): the coverage is the patient's, in force
/// on the consultation's day (UTC), its plan too, and the doctor accepts the plan. Every
/// refusal is `BAD_USER_INPUT` on `field`; a coverage of someone else reads as one that does
/// not exist.
pub async fn check_booking<C: ConnectionTrait>(
    db: &C,
    doctor_id: Uuid,
    patient: Uuid,
    coverage_id: Uuid,
    day: NaiveDate,
    field: &str,
) -> AppResult<coverage::Model> {
    let c = coverage::Entity::find_by_id(coverage_id)
        .one(db)
        .await?
        .filter(|c| c.patient_id == patient)
        .ok_or_else(|| AppError::bad_input(field, "no such coverage of yours"))?;
    if !c.active_on(day) {
        return Err(AppError::bad_input(
            field,
            "the coverage is not in force on the consultation's day",
        ));
    }
    let plan = insurance_plan::Entity::find_by_id(c.plan_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::bad_input(field, "no such plan"))?;
    if !plan.active_on(day) {
        return Err(AppError::bad_input(
            field,
            "the plan is not in force on the consultation's day",
        ));
    }
    let accepted = doctor_accepted_plan::Entity::find_by_id((doctor_id, plan.id))
        .one(db)
        .await?;
    if accepted.is_none() {
        return Err(AppError::bad_input(
            field,
            "the doctor does not accept this plan",
        ));
    }
    Ok(c)
}

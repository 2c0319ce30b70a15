//! GraphQL types of insurance. A coverage (with its member number) is the patient's own.

use crate::{
    auth::insurance,
    consultations::types::Money,
    error::AppResult,
    graphql::{context::CtxExt, ids::to_id, loaders::load_one},
};
use async_graphql::{ComplexObject, Context, ID, InputObject, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{InsurancePlanType, coverage, insurance_plan};

/// A health insurance plan of the catalogue (any signed-in user reads it).
#[derive(SimpleObject, Clone)]
pub struct InsurancePlan {
    pub id: ID,
    /// Unique code, upper-case letters, digits and dashes.
    pub plan_code: String,
    pub name: String,
    pub plan_type: InsurancePlanType,
    /// What the plan covers, in words.
    pub coverage_details: Option<String>,
    /// Monthly premium.
    pub premium: Money,
    /// Stored, not applied to fee splits yet (no claims ledger).
    pub deductible: Money,
    /// What the patient pays at least per consultation.
    pub copay: Money,
    /// The first day the plan is in force.
    pub active_from: NaiveDate,
    /// The last day the plan is in force, if it ends.
    pub active_until: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<insurance_plan::Model> for InsurancePlan {
    fn from(m: insurance_plan::Model) -> Self {
        let money = |amount_minor| Money {
            amount_minor,
            currency: m.currency.clone(),
        };
        Self {
            id: to_id(m.id),
            premium: money(m.premium_minor),
            deductible: money(m.deductible_minor),
            copay: money(m.copay_minor),
            plan_code: m.plan_code,
            name: m.name,
            plan_type: m.plan_type,
            coverage_details: m.coverage_details,
            active_from: m.active_from,
            active_until: m.active_until,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

impl InsurancePlan {
    /// A plan through the request's loader.
    pub async fn load(ctx: &Context<'_>, id: uuid::Uuid) -> AppResult<Option<Self>> {
        Ok(load_one(&ctx.req()?.loaders.insurance_plans, id)
            .await?
            .map(Self::from))
    }
}

/// A patient's enrolment in a plan (only the patient sees it; every read is audited).
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Coverage {
    pub id: ID,
    /// The plan the patient pays the first share of a fee under, if several cover them.
    pub is_primary: bool,
    /// What share of a fee the insurer pays, 0 to 100.
    pub coverage_percent: i32,
    pub enrolled_on: NaiveDate,
    /// The day it stopped (it covers the days before).
    pub terminated_on: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub row: coverage::Model,
}

impl From<coverage::Model> for Coverage {
    fn from(m: coverage::Model) -> Self {
        Self {
            id: to_id(m.id),
            is_primary: m.is_primary,
            coverage_percent: m.coverage_percent,
            enrolled_on: m.enrolled_on,
            terminated_on: m.terminated_on,
            created_at: m.created_at,
            row: m,
        }
    }
}

#[ComplexObject]
impl Coverage {
    /// The plan.
    async fn plan(&self, ctx: &Context<'_>) -> AppResult<Option<InsurancePlan>> {
        InsurancePlan::load(ctx, self.row.plan_id).await
    }

    /// The patient's member number with the insurer (personal data: the patient only).
    async fn member_number(&self, ctx: &Context<'_>) -> AppResult<Option<String>> {
        let req = ctx.req()?;
        Ok(insurance::require_holder(&req.viewer, &self.row)
            .ok()
            .map(|()| self.row.member_number.0.clone()))
    }

    /// Whether it is in force today (UTC).
    async fn active(&self) -> bool {
        self.row.active_on(crate::db::now().date_naive())
    }
}

/// Filter of `insurancePlans`.
#[derive(InputObject, Default)]
pub struct InsurancePlanFilter {
    pub plan_type: Option<InsurancePlanType>,
    /// Plans in force on this day.
    pub active_on: Option<NaiveDate>,
}

/// Input of `createInsurancePlan`.
#[derive(InputObject)]
pub struct CreateInsurancePlanInput {
    /// 2 to 32 letters, digits or dashes; unique.
    pub plan_code: String,
    /// Up to 200 characters.
    pub name: String,
    pub plan_type: InsurancePlanType,
    /// Up to 4000 characters.
    pub coverage_details: Option<String>,
    pub premium_minor: i64,
    pub deductible_minor: i64,
    pub copay_minor: i64,
    /// ISO 4217 code of the three amounts.
    pub currency: String,
    pub active_from: NaiveDate,
    /// Not before `activeFrom`.
    pub active_until: Option<NaiveDate>,
}

/// Input of `updateInsurancePlan`: the fields given replace the stored ones (the code and
/// the currency stay).
#[derive(InputObject)]
pub struct UpdateInsurancePlanInput {
    pub plan_id: ID,
    pub name: Option<String>,
    pub plan_type: Option<InsurancePlanType>,
    pub coverage_details: Option<String>,
    pub premium_minor: Option<i64>,
    pub deductible_minor: Option<i64>,
    pub copay_minor: Option<i64>,
    pub active_from: Option<NaiveDate>,
    pub active_until: Option<NaiveDate>,
}

/// Result of a plan mutation.
#[derive(SimpleObject)]
pub struct InsurancePlanPayload {
    pub plan: InsurancePlan,
}

impl From<insurance_plan::Model> for InsurancePlanPayload {
    fn from(m: insurance_plan::Model) -> Self {
        Self { plan: m.into() }
    }
}

/// Input of `addCoverage`: the caller enrols in a plan.
#[derive(InputObject)]
pub struct AddCoverageInput {
    pub plan_id: ID,
    /// At most one primary coverage in force per patient.
    pub primary: bool,
    /// 0 to 100.
    pub coverage_percent: i32,
    /// Up to 64 characters (stored sealed).
    pub member_number: String,
    pub enrolled_on: NaiveDate,
}

/// Input of `terminateCoverage`: it stops today.
#[derive(InputObject)]
pub struct TerminateCoverageInput {
    pub coverage_id: ID,
}

/// Result of a coverage mutation.
#[derive(SimpleObject)]
pub struct CoveragePayload {
    pub coverage: Coverage,
}

impl From<coverage::Model> for CoveragePayload {
    fn from(m: coverage::Model) -> Self {
        Self { coverage: m.into() }
    }
}

/// Input of `setAcceptedPlans`: the plans the caller (a doctor) accepts, replacing the set.
#[derive(InputObject)]
pub struct SetAcceptedPlansInput {
    /// At most 100; none clears the set.
    pub plan_ids: Vec<ID>,
}

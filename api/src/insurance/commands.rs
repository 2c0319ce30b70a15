//! Insurance mutations as typed commands: each input parsed once (`TryFrom`), run by
//! [`crate::pipeline`], its use case in [`super::service`].

use super::{service, types::*};
use crate::{
    audit::Change,
    auth::{Rule, insurance},
    error::{AppError, AppResult},
    graphql::ids::parse_id,
    pipeline::{Command, Exec},
    validation::{Currency, MinorAmount, Notes, PlanCode, Text},
};
use chrono::NaiveDate;
use entity::{InsurancePlanType, coverage, doctor, insurance_plan};
use uuid::Uuid;

fn amount(raw: i64, field: &str) -> AppResult<i64> {
    Ok(MinorAmount::parse(raw, field, true)?.get())
}

fn amount_opt(raw: Option<i64>, field: &str) -> AppResult<Option<i64>> {
    raw.map(|r| amount(r, field)).transpose()
}

fn details(raw: Option<&str>) -> AppResult<Option<String>> {
    Ok(Notes::parse_opt(raw, "input.coverageDetails", 4000)?.map(Notes::into_inner))
}

fn dates(from: NaiveDate, until: Option<NaiveDate>) -> AppResult<()> {
    if until.is_some_and(|u| u < from) {
        return Err(AppError::bad_input(
            "input.activeUntil",
            "must not be before activeFrom",
        ));
    }
    Ok(())
}

/// `createInsurancePlan`, parsed.
pub struct CreateInsurancePlan {
    pub plan_code: String,
    pub name: String,
    pub plan_type: InsurancePlanType,
    pub coverage_details: Option<String>,
    pub premium_minor: i64,
    pub deductible_minor: i64,
    pub copay_minor: i64,
    pub currency: String,
    pub active_from: NaiveDate,
    pub active_until: Option<NaiveDate>,
}

impl TryFrom<CreateInsurancePlanInput> for CreateInsurancePlan {
    type Error = AppError;

    fn try_from(input: CreateInsurancePlanInput) -> AppResult<Self> {
        dates(input.active_from, input.active_until)?;
        Ok(Self {
            plan_code: PlanCode::parse(&input.plan_code, "input.planCode")?.into_inner(),
            name: Text::parse(&input.name, "input.name", 200)?.into_inner(),
            plan_type: input.plan_type,
            coverage_details: details(input.coverage_details.as_deref())?,
            premium_minor: amount(input.premium_minor, "input.premiumMinor")?,
            deductible_minor: amount(input.deductible_minor, "input.deductibleMinor")?,
            copay_minor: amount(input.copay_minor, "input.copayMinor")?,
            currency: Currency::parse(&input.currency, "input.currency")?.into_inner(),
            active_from: input.active_from,
            active_until: input.active_until,
        })
    }
}

impl Command for CreateInsurancePlan {
    type Input = CreateInsurancePlanInput;
    type Output = insurance_plan::Model;
    const ACTION: &'static str = "insurance_plan.create";
    const ENTITY: &'static str = "insurance_plan";
    const RULE: Rule = insurance::PLAN_ADMIN;

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::create_plan(exec.txn, exec.actor.user_id, self).await
    }
}

/// `updateInsurancePlan`, parsed: `None` keeps a field.
pub struct UpdateInsurancePlan {
    pub plan_id: Uuid,
    pub name: Option<String>,
    pub plan_type: Option<InsurancePlanType>,
    pub coverage_details: Option<String>,
    pub premium_minor: Option<i64>,
    pub deductible_minor: Option<i64>,
    pub copay_minor: Option<i64>,
    pub active_from: Option<NaiveDate>,
    pub active_until: Option<NaiveDate>,
}

impl TryFrom<UpdateInsurancePlanInput> for UpdateInsurancePlan {
    type Error = AppError;

    fn try_from(input: UpdateInsurancePlanInput) -> AppResult<Self> {
        Ok(Self {
            plan_id: parse_id(&input.plan_id, "input.planId")?,
            name: Text::parse_opt(input.name.as_deref(), "input.name", 200)?.map(Text::into_inner),
            plan_type: input.plan_type,
            coverage_details: details(input.coverage_details.as_deref())?,
            premium_minor: amount_opt(input.premium_minor, "input.premiumMinor")?,
            deductible_minor: amount_opt(input.deductible_minor, "input.deductibleMinor")?,
            copay_minor: amount_opt(input.copay_minor, "input.copayMinor")?,
            active_from: input.active_from,
            active_until: input.active_until,
        })
    }
}

impl Command for UpdateInsurancePlan {
    type Input = UpdateInsurancePlanInput;
    type Output = insurance_plan::Model;
    const ACTION: &'static str = "insurance_plan.update";
    const ENTITY: &'static str = "insurance_plan";
    const RULE: Rule = insurance::PLAN_ADMIN;

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.plan_id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::update_plan(exec.txn, self).await
    }
}

/// `addCoverage`, parsed.
pub struct AddCoverage {
    pub plan_id: Uuid,
    pub primary: bool,
    pub coverage_percent: i32,
    pub member_number: String,
    pub enrolled_on: NaiveDate,
}

impl TryFrom<AddCoverageInput> for AddCoverage {
    type Error = AppError;

    fn try_from(input: AddCoverageInput) -> AppResult<Self> {
        if !(0..=100).contains(&input.coverage_percent) {
            return Err(AppError::bad_input(
                "input.coveragePercent",
                "must be between 0 and 100",
            ));
        }
        Ok(Self {
            plan_id: parse_id(&input.plan_id, "input.planId")?,
            primary: input.primary,
            coverage_percent: input.coverage_percent,
            member_number: Text::parse(&input.member_number, "input.memberNumber", 64)?
                .into_inner(),
            enrolled_on: input.enrolled_on,
        })
    }
}

impl Command for AddCoverage {
    type Input = AddCoverageInput;
    type Output = coverage::Model;
    const ACTION: &'static str = "coverage.add";
    const ENTITY: &'static str = "coverage";
    const RULE: Rule = Rule::SignedIn;

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::add_coverage(exec.txn, exec.user()?, self).await
    }
}

/// `terminateCoverage`, parsed.
pub struct TerminateCoverage {
    pub coverage_id: Uuid,
}

impl TryFrom<TerminateCoverageInput> for TerminateCoverage {
    type Error = AppError;

    fn try_from(input: TerminateCoverageInput) -> AppResult<Self> {
        Ok(Self {
            coverage_id: parse_id(&input.coverage_id, "input.coverageId")?,
        })
    }
}

impl Command for TerminateCoverage {
    type Input = TerminateCoverageInput;
    type Output = coverage::Model;
    const ACTION: &'static str = "coverage.terminate";
    const ENTITY: &'static str = "coverage";
    const RULE: Rule = Rule::SignedIn;

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.coverage_id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::terminate_coverage(exec.txn, exec.viewer, self).await
    }
}

/// `setAcceptedPlans`, parsed: the set, without repeats.
pub struct SetAcceptedPlans {
    pub plan_ids: Vec<Uuid>,
}

impl TryFrom<SetAcceptedPlansInput> for SetAcceptedPlans {
    type Error = AppError;

    fn try_from(input: SetAcceptedPlansInput) -> AppResult<Self> {
        if input.plan_ids.len() > 100 {
            return Err(AppError::bad_input("input.planIds", "at most 100 plans"));
        }
        let mut plan_ids = input
            .plan_ids
            .iter()
            .enumerate()
            .map(|(i, id)| parse_id(id, &format!("input.planIds.{i}")))
            .collect::<AppResult<Vec<_>>>()?;
        plan_ids.sort();
        plan_ids.dedup();
        Ok(Self { plan_ids })
    }
}

impl Command for SetAcceptedPlans {
    type Input = SetAcceptedPlansInput;
    type Output = doctor::Model;
    const ACTION: &'static str = "doctor.set_accepted_plans";
    const ENTITY: &'static str = "doctor";
    const RULE: Rule = Rule::SignedIn;

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::set_accepted_plans(exec.txn, exec.user()?, self).await
    }
}

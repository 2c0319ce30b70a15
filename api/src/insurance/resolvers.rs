//! Insurance resolvers: the plan catalogue and the caller's coverages; mutations run as
//! commands.

use super::{commands::*, types::*};
use crate::{
    audit::ReadRecord,
    auth::{Rule, insurance},
    consultations::types::DoctorPayload,
    graphql::prelude::*,
    pipeline,
};
use entity::{coverage, insurance_plan};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QueryTrait};

/// Insurance queries.
#[derive(Default)]
pub struct InsuranceQuery;

#[Object]
impl InsuranceQuery {
    /// The plan catalogue (any signed-in user), by code.
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, last, child_complexity)")]
    async fn insurance_plans(
        &self,
        ctx: &Context<'_>,
        filter: Option<InsurancePlanFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<Conn<InsurancePlan>> {
        ctx.authorized(insurance::PLAN_READER)?;
        let f = filter.unwrap_or_default();
        let q = insurance_plan::Entity::find()
            .apply_if(f.plan_type, |q, t| {
                q.filter(insurance_plan::Column::PlanType.eq(t))
            })
            .apply_if(f.active_on, |q, d| {
                q.filter(insurance_plan::Column::ActiveFrom.lte(d)).filter(
                    Condition::any()
                        .add(insurance_plan::Column::ActiveUntil.is_null())
                        .add(insurance_plan::Column::ActiveUntil.gte(d)),
                )
            });
        let keyset = Keyset::<insurance_plan::Entity> {
            key: Some((
                insurance_plan::Column::PlanCode,
                |m: &insurance_plan::Model| SortValue::Text(m.plan_code.clone()),
            )),
            id: insurance_plan::Column::Id,
            id_of: |m| m.id,
            direction: SortDirection::Asc,
        };
        let args = PageArgs::new(first, after, last, before);
        let page = fetch_selected(ctx, q, &keyset, &args).await?;
        Ok(page.into_connection(InsurancePlan::from))
    }

    /// The caller's coverages, newest enrolment first (insurance data: every read is
    /// audited).
    #[graphql(complexity = "crate::graphql::limits::list_cost(child_complexity)")]
    async fn my_coverages(&self, ctx: &Context<'_>) -> AppResult<Vec<Coverage>> {
        let req = ctx.authorized(Rule::SignedIn)?;
        let rows = coverage::Entity::find()
            .filter(insurance::visible_coverages(&req.viewer)?)
            .order_by_desc(coverage::Column::EnrolledOn)
            .order_by_desc(coverage::Column::Id)
            .all(&req.db)
            .await?;
        if node_selects_list(ctx, "plan") {
            prime(&req.loaders.insurance_plans, rows.iter().map(|c| c.plan_id)).await?;
        }
        for c in &rows {
            req.reads.record(ReadRecord {
                action: "coverage.read",
                entity_type: "coverage",
                entity_id: c.id,
                organization_id: None,
            });
        }
        Ok(rows.into_iter().map(Coverage::from).collect())
    }
}

/// Whether a list field's items select `field`.
fn node_selects_list(ctx: &Context<'_>, field: &str) -> bool {
    ctx.look_ahead().field(field).exists()
}

pipeline::command_mutations! {
    /// Insurance mutations.
    InsuranceMutation {
        /// Adds a plan to the catalogue: super admins.
        create_insurance_plan(CreateInsurancePlanInput) -> InsurancePlanPayload = CreateInsurancePlan;
        /// Changes a plan's fields given (not its code or currency): super admins.
        update_insurance_plan(UpdateInsurancePlanInput) -> InsurancePlanPayload = UpdateInsurancePlan;
        /// Enrols the caller in a plan (at most one primary coverage in force).
        add_coverage(AddCoverageInput) -> CoveragePayload = AddCoverage;
        /// Ends one of the caller's coverages as of today, once.
        terminate_coverage(TerminateCoverageInput) -> CoveragePayload = TerminateCoverage;
        /// Replaces the set of plans the caller's doctor profile accepts.
        set_accepted_plans(SetAcceptedPlansInput) -> DoctorPayload = SetAcceptedPlans;
    }
}

//! `insurance_plans`: a health insurance plan patients enrol in and doctors accept.

use crate::InsurancePlanType;
use sea_orm::entity::prelude::*;

/// A health insurance plan.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "insurance_plans")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub plan_code: String,
    pub name: String,
    pub plan_type: InsurancePlanType,
    #[sea_orm(column_type = "Text")]
    pub coverage_details: Option<String>,
    pub premium_minor: i64,
    pub deductible_minor: i64,
    pub copay_minor: i64,
    pub currency: String,
    pub active_from: Date,
    pub active_until: Option<Date>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl Model {
    /// Whether the plan is in force on `day` (from `active_from` through `active_until`).
    pub fn active_on(&self, day: Date) -> bool {
        self.active_from <= day && self.active_until.is_none_or(|u| day <= u)
    }
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

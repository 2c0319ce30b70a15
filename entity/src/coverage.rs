//! `coverages`: a patient's enrolment in an insurance plan.

use crate::sealed::Sealed;
use sea_orm::entity::prelude::*;

/// A patient's enrolment in an insurance plan. The member number is personal data, stored
/// sealed.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "coverages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub patient_id: Uuid,
    pub plan_id: Uuid,
    pub is_primary: bool,
    pub coverage_percent: i32,
    #[sea_orm(column_type = "Text")]
    pub member_number: Sealed<String>,
    pub enrolled_on: Date,
    pub terminated_on: Option<Date>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl Model {
    /// Whether the coverage is in force on `day`: enrolled on or before it, and not
    /// terminated on or before it.
    pub fn active_on(&self, day: Date) -> bool {
        self.enrolled_on <= day && self.terminated_on.is_none_or(|t| day < t)
    }
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

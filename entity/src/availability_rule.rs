//! `availability_rules`: a doctor's weekly hours in their time zone.

use crate::Weekday;
use sea_orm::entity::prelude::*;

/// A doctor's weekly hours in their time zone.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "availability_rules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub doctor_id: Uuid,
    pub day_of_week: Weekday,
    pub start_time: Time,
    pub end_time: Time,
    pub time_zone: String,
    pub valid_from: Date,
    pub valid_until: Option<Date>,
    pub created_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

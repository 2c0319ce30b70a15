//! `callout_answers`: a donor a call-out reached, and their answer. One row per
//! (call-out, donor): a unique index.

use crate::CalloutResponse;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "callout_answers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub callout_id: Uuid,
    pub donor_id: Uuid,
    pub response: Option<CalloutResponse>,
    pub eta_minutes: Option<i32>,
    pub notified_at: DateTimeUtc,
    pub responded_at: Option<DateTimeUtc>,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! `reward_points`: the donor points ledger. One row per (source kind, source event, donor),
//! its primary key, so a cause grants its points once however often it is retried.

use crate::RewardSource;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "reward_points")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub source_kind: RewardSource,
    /// The donation, registration, referred donor or call-out response.
    #[sea_orm(primary_key, auto_increment = false)]
    pub source_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub donor_id: Uuid,
    pub points: i32,
    pub earned_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

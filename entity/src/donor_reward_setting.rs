//! `donor_reward_settings`: what a donor chose about rewards: whether they appear on
//! leaderboards (off until they opt in) and under which display name.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "donor_reward_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub donor_id: Uuid,
    pub show_on_leaderboard: bool,
    pub display_name: Option<String>,
    pub updated_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

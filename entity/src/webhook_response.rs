//! `webhook_responses`: what a webhook target answered to a delivery's last attempt.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_responses")]
pub struct Model {
    /// The outbox delivery.
    #[sea_orm(primary_key, auto_increment = false)]
    pub delivery_id: Uuid,
    /// The HTTP status, or none when the target did not answer.
    pub status_code: Option<i32>,
    pub answered_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

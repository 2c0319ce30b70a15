//! `webhook_endpoints`: where an organization receives signed event deliveries.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub url: String,
    /// Subscribed events, as wire names between commas (`,ALERT_RAISED,DRIVE_CHANGED,`).
    pub events: String,
    /// The signing secret, as returned once to the organization (the HMAC key is its text).
    pub secret: String,
    pub created_by: Uuid,
    pub disabled_at: Option<DateTimeUtc>,
    pub secret_rotated_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! `notification_preferences`: how a user wants to be reached, per notification kind.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "notification_preferences")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// A `NotificationKind` wire name; `None`: every kind without a preference of its own.
    pub kind: Option<String>,
    /// `DeliveryChannel` wire names between commas: `,EMAIL,SMS,` (`,` for none).
    pub channels: String,
    pub quiet_hours_start: Option<Time>,
    pub quiet_hours_end: Option<Time>,
    /// An IANA zone (`Africa/Kigali`), set with the quiet hours.
    pub time_zone: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

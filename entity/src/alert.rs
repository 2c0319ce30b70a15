//! `alerts`: one row per event that needs someone's attention.

use crate::{AlertKind, AlertStatus, Audience, BloodGroup, Component, Severity};
use sea_orm::entity::prelude::*;

/// An alert. Recipients (organizations) are in `alert_recipients`, each with its own
/// acknowledgement; super-admin alerts have none.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "alerts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: AlertKind,
    pub severity: Severity,
    pub title: String,
    pub message: String,
    pub blood_group: Option<BloodGroup>,
    pub component: Option<Component>,
    pub organization_id: Option<Uuid>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub radius_km: Option<f64>,
    pub audience: Audience,
    pub related_entity_type: Option<String>,
    pub related_entity_id: Option<Uuid>,
    pub status: AlertStatus,
    pub acknowledged_by: Option<Uuid>,
    pub acknowledged_at: Option<DateTimeUtc>,
    pub resolved_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

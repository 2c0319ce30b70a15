//! `callouts`: an organization calling opted-in donors near a need.

use crate::Component;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "callouts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub blood_request_id: Option<Uuid>,
    /// The recipients' groups, as wire names between commas.
    pub blood_groups: String,
    /// The donor groups called (those that may give to `blood_groups`), between commas.
    pub donor_groups: String,
    pub component: Component,
    pub latitude: f64,
    pub longitude: f64,
    pub radius_km: f64,
    pub message: String,
    /// Who started it; none when the escalation sweep did.
    pub started_by: Option<Uuid>,
    /// Donors notified.
    pub notified: i32,
    pub created_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

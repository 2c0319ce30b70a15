//! `camps`: a blood donation camp an NGO runs with a partner blood bank.

use crate::CampStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "camps")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The organizing NGO.
    pub organization_id: Uuid,
    /// The partner bank that takes the units.
    pub blood_bank_id: Uuid,
    /// The drive the camp answers, if any.
    pub drive_id: Option<Uuid>,
    pub name: String,
    pub description: Option<String>,
    pub venue: String,
    pub address: Option<String>,
    pub city: String,
    pub latitude: f64,
    pub longitude: f64,
    /// IANA zone of the daily hours.
    pub time_zone: String,
    pub starts_on: Date,
    pub ends_on: Date,
    pub daily_start: Time,
    pub daily_end: Time,
    pub slot_minutes: i32,
    pub slot_capacity: i32,
    /// The first slot's start (UTC), for sorting and date filters.
    pub starts_at: DateTimeUtc,
    /// The last slot's end (UTC).
    pub ends_at: DateTimeUtc,
    /// Blood groups wanted, as wire names between commas (`,A_POS,O_NEG,`; empty: any).
    pub blood_groups_needed: String,
    pub expected_donors: Option<i32>,
    pub actual_donors: Option<i32>,
    pub actual_units: Option<i32>,
    pub status: CampStatus,
    pub cancellation_reason: Option<String>,
    pub created_by: Uuid,
    pub started_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    pub cancelled_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

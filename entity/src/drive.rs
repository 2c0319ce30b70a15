//! `drives`: a donation drive between a hospital and an NGO, proposed by one and answered by
//! the other.

use crate::{Component, DriveStatus, DriveType};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "drives")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub hospital_id: Uuid,
    pub ngo_id: Uuid,
    /// The side that proposed it (the hospital or the NGO).
    pub proposed_by_org_id: Uuid,
    pub proposed_by: Uuid,
    pub drive_type: DriveType,
    /// Blood groups needed, as wire names between commas (`,A_POS,O_NEG,`).
    pub blood_groups: String,
    pub component: Option<Component>,
    pub target_units: i32,
    pub drive_date: Date,
    /// The blood request the drive answers, if any.
    pub blood_request_id: Option<Uuid>,
    pub notes: Option<String>,
    pub status: DriveStatus,
    pub reason: Option<String>,
    pub units_collected: Option<i32>,
    pub responded_by: Option<Uuid>,
    pub accepted_at: Option<DateTimeUtc>,
    pub rejected_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    pub cancelled_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

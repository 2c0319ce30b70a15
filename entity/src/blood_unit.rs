//! `blood_units`: one row per physical unit.

use crate::{BloodGroup, Component, UnitStatus};
use sea_orm::entity::prelude::*;

/// A unit of blood or a blood component. `unit_number` is the ISBT 128 DIN (13 characters,
/// shared by the components of one donation) or a local barcode.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "blood_units")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub unit_number: String,
    pub is_local_barcode: bool,
    pub component: Component,
    pub blood_group: BloodGroup,
    pub blood_bank_id: Uuid,
    pub volume_ml: i32,
    pub collected_on: Date,
    pub expires_at: DateTimeUtc,
    pub status: UnitStatus,
    pub reserved_for_request_id: Option<Uuid>,
    pub reserved_until: Option<DateTimeUtc>,
    pub donation_id: Option<Uuid>,
    pub expiry_alerted_at: Option<DateTimeUtc>,
    /// The whole-blood unit this component was separated from.
    pub parent_unit_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// A unit has its history of events.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::blood_unit_event::Entity")]
    Events,
}

impl Related<super::blood_unit_event::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Events.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

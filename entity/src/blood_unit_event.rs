//! `blood_unit_events`: every status change of every unit, never updated.

use crate::UnitStatus;
use sea_orm::entity::prelude::*;

/// One status change of a unit.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "blood_unit_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub unit_id: Uuid,
    pub blood_bank_id: Uuid,
    pub from_status: Option<UnitStatus>,
    pub to_status: UnitStatus,
    pub request_id: Option<Uuid>,
    pub actor_user_id: Option<Uuid>,
    pub actor_api_client_id: Option<Uuid>,
    pub reason: Option<String>,
    pub created_at: DateTimeUtc,
}

/// An event belongs to a unit.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::blood_unit::Entity",
        from = "Column::UnitId",
        to = "super::blood_unit::Column::Id"
    )]
    Unit,
}

impl Related<super::blood_unit::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Unit.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

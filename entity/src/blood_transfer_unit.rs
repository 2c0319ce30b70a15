//! `blood_transfer_units`: which units a transfer moves.

use sea_orm::entity::prelude::*;

/// One unit of a transfer.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "blood_transfer_units")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub transfer_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub unit_id: Uuid,
}

/// A link names a unit.
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

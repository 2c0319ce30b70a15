//! `unit_returns`: an issued unit given back by the hospital, and what became of it. A unit
//! is returned at most once per request (a unique index).

use crate::ReturnOutcome;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "unit_returns")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub unit_id: Uuid,
    pub request_id: Uuid,
    pub hospital_id: Uuid,
    pub blood_bank_id: Uuid,
    pub cold_chain_kept: bool,
    pub outcome: ReturnOutcome,
    pub returned_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

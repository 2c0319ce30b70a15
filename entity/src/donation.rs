//! `donations`: one collection from a donor at a blood bank.

use crate::DonationType;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "donations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub donor_id: Uuid,
    pub blood_bank_id: Uuid,
    pub camp_id: Option<Uuid>,
    pub collected_at: DateTimeUtc,
    pub donation_type: DonationType,
    pub volume_ml: i32,
    pub hemoglobin: f64,
    pub blood_pressure: Option<String>,
    pub notes: Option<String>,
    pub recorded_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

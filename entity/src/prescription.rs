//! `prescriptions`: medications a doctor prescribed in a consultation.

use sea_orm::entity::prelude::*;

/// Medications a doctor prescribed in a consultation.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "prescriptions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub doctor_id: Uuid,
    pub patient_id: Uuid,
    pub medications: Json,
    pub instructions: Option<String>,
    pub follow_up_date: Option<Date>,
    pub created_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

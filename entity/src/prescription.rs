//! `prescriptions`: medications a doctor prescribed in a consultation.

use crate::sealed::Sealed;
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
    #[sea_orm(column_type = "Text")]
    pub medications: Sealed<Json>,
    #[sea_orm(column_type = "Text")]
    pub instructions: Option<Sealed<String>>,
    pub follow_up_date: Option<Date>,
    pub created_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! `consultation_ratings`: a patient's rating of a completed consultation (once each).

use crate::sealed::Sealed;
use sea_orm::entity::prelude::*;

/// A patient's rating of a completed consultation.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "consultation_ratings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub doctor_id: Uuid,
    pub patient_id: Uuid,
    /// 1 to 5.
    pub rating: i32,
    #[sea_orm(column_type = "Text")]
    pub comment: Option<Sealed<String>>,
    pub created_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

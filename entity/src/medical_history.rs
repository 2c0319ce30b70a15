//! `medical_histories`: a patient's allergies, conditions, medications and surgeries.

use crate::sealed::Sealed;
use sea_orm::entity::prelude::*;

/// A patient's medical history: four lists of entries, each stored sealed (a JSON array of
/// strings).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "medical_histories")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub patient_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub allergies: Sealed<Json>,
    #[sea_orm(column_type = "Text")]
    pub conditions: Sealed<Json>,
    #[sea_orm(column_type = "Text")]
    pub medications: Sealed<Json>,
    #[sea_orm(column_type = "Text")]
    pub surgeries: Sealed<Json>,
    pub updated_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! `transfusions`: a unit given to a patient and the reaction seen. One per unit (a unique
//! index); the patient reference is sealed.

use crate::sealed::Sealed;
use crate::{ReactionSeverity, TransfusionReaction};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "transfusions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub unit_id: Uuid,
    pub request_id: Uuid,
    /// The receiving hospital.
    pub hospital_id: Uuid,
    /// The supplying bank.
    pub blood_bank_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub patient_reference: Sealed<String>,
    pub reaction: TransfusionReaction,
    pub severity: ReactionSeverity,
    pub recorded_by: Option<Uuid>,
    pub recorded_by_api_client_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

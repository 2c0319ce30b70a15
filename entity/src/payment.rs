//! `payments`: a payment for a consultation (no gateway: the record and its rules).

use crate::{PaymentMethod, PaymentStatus};
use sea_orm::entity::prelude::*;

/// A payment for a consultation (no gateway: the record and its rules).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub patient_id: Uuid,
    pub doctor_id: Uuid,
    pub amount_minor: i64,
    pub currency: String,
    pub method: PaymentMethod,
    pub status: PaymentStatus,
    pub transaction_reference: Option<String>,
    pub recorded_by: Option<Uuid>,
    pub refunded_at: Option<DateTimeUtc>,
    pub refund_reason: Option<String>,
    /// The plan the fee was split under (the consultation's coverage's), if any.
    pub insurance_plan_id: Option<Uuid>,
    /// What the insurer pays, in minor units (0 without a coverage).
    pub insurer_share_minor: Option<i64>,
    /// What the patient pays, in minor units (the amount without a coverage).
    pub patient_share_minor: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

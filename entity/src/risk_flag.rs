//! `risk_flags`: a risk a doctor flagged on a consultation, open until resolved with a note.

use crate::sealed::Sealed;
use crate::{RiskFlagStatus, RiskSeverity, RiskType};
use sea_orm::entity::prelude::*;

/// A risk a doctor flagged on a consultation.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "risk_flags")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub patient_id: Uuid,
    pub doctor_id: Uuid,
    pub organization_id: Option<Uuid>,
    pub risk_type: RiskType,
    pub severity: RiskSeverity,
    pub description: String,
    pub alert_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub status: RiskFlagStatus,
    pub resolved_at: Option<DateTimeUtc>,
    pub resolved_by: Option<Uuid>,
    #[sea_orm(column_type = "Text")]
    pub resolution_note: Option<Sealed<String>>,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

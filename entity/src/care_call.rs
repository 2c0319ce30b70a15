//! `care_calls`: an outreach or follow-up call an organization's care staff make to a
//! patient.

use crate::sealed::Sealed;
use crate::{CareCallOutcome, CareCallStatus, CareCallType};
use sea_orm::entity::prelude::*;

/// An outreach or follow-up call to a patient.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "care_calls")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub patient_id: Uuid,
    pub call_type: CareCallType,
    pub status: CareCallStatus,
    pub scheduled_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub ended_at: Option<DateTimeUtc>,
    pub duration_seconds: Option<i32>,
    #[sea_orm(column_type = "Text")]
    pub notes: Option<Sealed<String>>,
    pub outcome: Option<CareCallOutcome>,
    pub follow_up_date: Option<Date>,
    pub scheduled_by: Option<Uuid>,
    pub recorded_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! `medical_reports`: an imaging study of a patient, uploaded by an organization's member.

use crate::sealed::Sealed;
use crate::{ReportStatus, RiskLevel};
use sea_orm::entity::prelude::*;

/// An imaging study of a patient.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "medical_reports")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub patient_id: Uuid,
    pub uploaded_by_user_id: Uuid,
    pub study_type: String,
    #[sea_orm(column_type = "Text")]
    pub clinical_notes: Option<Sealed<String>>,
    pub status: ReportStatus,
    pub risk_level: Option<RiskLevel>,
    pub confidence: Option<f64>,
    /// The reviewing doctor's clinical findings, once reviewed.
    #[sea_orm(column_type = "Text")]
    pub findings: Option<Sealed<String>>,
    /// Review-queue order: risk rank digit, `|`, fixed-width UTC time of the analysis
    /// (`9|` and the upload time before analysis), so one indexed text column sorts the queue.
    pub queue_key: String,
    pub claimed_at: Option<DateTimeUtc>,
    pub claimed_by_api_client_id: Option<Uuid>,
    pub analyzed_at: Option<DateTimeUtc>,
    pub reviewed_at: Option<DateTimeUtc>,
    pub archived_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

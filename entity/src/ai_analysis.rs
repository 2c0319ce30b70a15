//! `ai_analyses`: the one AI analysis of a report, submitted by a partner's API client.

use crate::RiskLevel;
use sea_orm::entity::prelude::*;

/// The AI analysis of a report (one per report: unique index on `report_id`).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "ai_analyses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub report_id: Uuid,
    pub organization_id: Uuid,
    pub api_client_id: Option<Uuid>,
    pub model_name: String,
    pub model_version: String,
    pub risk_level: RiskLevel,
    pub low_probability: f64,
    pub medium_probability: f64,
    pub high_probability: f64,
    pub findings: Json,
    pub processing_time_ms: i32,
    pub image_quality_score: f64,
    pub created_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

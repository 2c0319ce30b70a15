//! `report_reviews`: a doctor's review of an analysed report.

use crate::sealed::Sealed;
use crate::{ReviewUrgency, RiskLevel};
use sea_orm::entity::prelude::*;

/// A doctor's review. The AI's model name and risk level are copied from the analysis (which
/// never changes) so model quality is one `GROUP BY` over this table.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "report_reviews")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub report_id: Uuid,
    pub organization_id: Uuid,
    pub doctor_user_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub notes: Sealed<String>,
    #[sea_orm(column_type = "Text")]
    pub clinical_findings: Option<Sealed<String>>,
    pub confirms_ai: bool,
    pub ai_accuracy_rating: i32,
    pub doctor_risk_level: RiskLevel,
    pub urgency: ReviewUrgency,
    pub recommended_action: Option<String>,
    pub follow_up_date: Option<Date>,
    pub ai_model_name: String,
    pub ai_risk_level: RiskLevel,
    pub created_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

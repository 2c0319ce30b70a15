//! `blood_requests`: a hospital's request for units.

use crate::sealed::Sealed;
use crate::{BloodGroup, Component, RequestStatus, Urgency};
use sea_orm::entity::prelude::*;

/// A request, addressed to one bank (`target_bank_id`) or open to every approved bank within
/// `radius_km` of the hospital. `blood_bank_id` is the bank that accepted it.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "blood_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub hospital_id: Uuid,
    pub requested_by_user_id: Option<Uuid>,
    pub requested_by_api_client_id: Option<Uuid>,
    pub patient_reference: String,
    #[sea_orm(column_type = "Text")]
    pub patient_name: Option<Sealed<String>>,
    pub blood_group: BloodGroup,
    pub component: Component,
    pub units_required: i32,
    pub urgency: Urgency,
    pub urgency_rank: i32,
    pub needed_by: DateTimeUtc,
    #[sea_orm(column_type = "Text")]
    pub medical_notes: Option<Sealed<String>>,
    pub status: RequestStatus,
    pub target_bank_id: Option<Uuid>,
    pub blood_bank_id: Option<Uuid>,
    pub latitude: f64,
    pub longitude: f64,
    pub radius_km: f64,
    pub escalation_level: i32,
    pub allow_emergency_override: bool,
    pub override_reason: Option<String>,
    pub hold_until: Option<DateTimeUtc>,
    pub accepted_at: Option<DateTimeUtc>,
    pub fulfilled_at: Option<DateTimeUtc>,
    pub rejected_at: Option<DateTimeUtc>,
    pub cancelled_at: Option<DateTimeUtc>,
    pub expired_at: Option<DateTimeUtc>,
    pub rejection_reason: Option<String>,
    pub cancellation_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! `consultations`: a booked consultation between a patient and a doctor.

use crate::sealed::Sealed;
use crate::{ConsultationStatus, ConsultationType};
use sea_orm::entity::prelude::*;

/// A booked consultation between a patient and a doctor.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "consultations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub patient_id: Uuid,
    pub doctor_id: Uuid,
    pub doctor_user_id: Uuid,
    pub organization_id: Option<Uuid>,
    pub scheduled_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub duration_minutes: i32,
    /// `ends_at` plus the doctor's buffer at booking time: the end of the time the doctor's
    /// no-overlap rule holds.
    pub blocked_until: DateTimeUtc,
    pub consultation_type: ConsultationType,
    pub status: ConsultationStatus,
    #[sea_orm(column_type = "Text")]
    pub symptoms: Option<Sealed<String>>,
    #[sea_orm(column_type = "Text")]
    pub diagnosis: Option<Sealed<String>>,
    #[sea_orm(column_type = "Text")]
    pub notes: Option<Sealed<String>>,
    pub cancellation_reason: Option<String>,
    pub cancelled_by: Option<Uuid>,
    pub rescheduled_from_id: Option<Uuid>,
    pub rescheduled_to_id: Option<Uuid>,
    pub confirmed_at: Option<DateTimeUtc>,
    pub started_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    pub cancelled_at: Option<DateTimeUtc>,
    pub no_show_at: Option<DateTimeUtc>,
    /// The patient's coverage the consultation is booked under, if any.
    pub coverage_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! `blood_requests`: a hospital's request for units.

use crate::by_position::{self, Columns};
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

/// A row of `Entity::find()` decoded by position on Postgres (`by_position`: the list of
/// requests is the API's busiest page); elsewhere, and for any other select, what the derive
/// decodes.
pub fn decode(res: &sea_orm::QueryResult) -> Result<Model, DbErr> {
    decode_opening(res, true)
}

/// [`decode`] leaving the sealed columns (the patient's name, the medical notes) unread:
/// `None`, whatever is stored. For a read that shows neither, so that a page of requests
/// decrypts no patient data it does not return (and spends no time on it).
pub fn decode_without_sealed(res: &sea_orm::QueryResult) -> Result<Model, DbErr> {
    decode_opening(res, false)
}

fn decode_opening(res: &sea_orm::QueryResult, open: bool) -> Result<Model, DbErr> {
    let mut m = by_position::decode(res, |c| read(c, open))?;
    // Elsewhere than Postgres the derive opened them.
    if !open {
        m.patient_name = None;
        m.medical_notes = None;
    }
    Ok(m)
}

fn read(c: &mut Columns<'_>, open: bool) -> Result<Model, DbErr> {
    let sealed = |c: &mut Columns<'_>, col| -> Result<Option<Sealed<String>>, DbErr> {
        if !open {
            c.skip();
            return Ok(None);
        }
        let v: Option<String> = c.get(col)?;
        v.as_deref().map(Sealed::open_stored).transpose()
    };
    Ok(Model {
        id: c.get(Column::Id)?,
        hospital_id: c.get(Column::HospitalId)?,
        requested_by_user_id: c.get(Column::RequestedByUserId)?,
        requested_by_api_client_id: c.get(Column::RequestedByApiClientId)?,
        patient_reference: c.get(Column::PatientReference)?,
        patient_name: sealed(c, Column::PatientName)?,
        blood_group: BloodGroup::try_from_value(&c.get(Column::BloodGroup)?)?,
        component: Component::try_from_value(&c.get(Column::Component)?)?,
        units_required: c.get(Column::UnitsRequired)?,
        urgency: Urgency::try_from_value(&c.get(Column::Urgency)?)?,
        urgency_rank: c.get(Column::UrgencyRank)?,
        needed_by: c.get(Column::NeededBy)?,
        medical_notes: sealed(c, Column::MedicalNotes)?,
        status: RequestStatus::try_from_value(&c.get(Column::Status)?)?,
        target_bank_id: c.get(Column::TargetBankId)?,
        blood_bank_id: c.get(Column::BloodBankId)?,
        latitude: c.get(Column::Latitude)?,
        longitude: c.get(Column::Longitude)?,
        radius_km: c.get(Column::RadiusKm)?,
        escalation_level: c.get(Column::EscalationLevel)?,
        allow_emergency_override: c.get(Column::AllowEmergencyOverride)?,
        override_reason: c.get(Column::OverrideReason)?,
        hold_until: c.get(Column::HoldUntil)?,
        accepted_at: c.get(Column::AcceptedAt)?,
        fulfilled_at: c.get(Column::FulfilledAt)?,
        rejected_at: c.get(Column::RejectedAt)?,
        cancelled_at: c.get(Column::CancelledAt)?,
        expired_at: c.get(Column::ExpiredAt)?,
        rejection_reason: c.get(Column::RejectionReason)?,
        cancellation_reason: c.get(Column::CancellationReason)?,
        created_at: c.get(Column::CreatedAt)?,
        updated_at: c.get(Column::UpdatedAt)?,
    })
}

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

/// A row of `Entity::find()` decoded by position on Postgres, each column's name checked
/// (by name where it differs); elsewhere, and for any other select, what the derive decodes.
///
/// Why not the derive: it looks every column up by name (a hash per column) and turns every
/// NULL into an error carrying the column's name formatted into a new string before mapping
/// it to `None`; a page of 51 requests has some 1,700 columns, 500 of them NULL.
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
    match res.try_as_pg_row() {
        Some(row) => decode_pg(row, open),
        None => {
            let mut m = <Model as sea_orm::FromQueryResult>::from_query_result(res, "")?;
            if !open {
                m.patient_name = None;
                m.medical_notes = None;
            }
            Ok(m)
        }
    }
}

fn decode_pg(row: &sea_orm::sqlx::postgres::PgRow, open: bool) -> Result<Model, DbErr> {
    let mut c = Columns { row, next: 0 };
    let sealed = |c: &mut Columns<'_>, col| -> Result<Option<Sealed<String>>, DbErr> {
        if !open {
            c.next += 1;
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
        patient_name: sealed(&mut c, Column::PatientName)?,
        blood_group: BloodGroup::try_from_value(&c.get(Column::BloodGroup)?)?,
        component: Component::try_from_value(&c.get(Column::Component)?)?,
        units_required: c.get(Column::UnitsRequired)?,
        urgency: Urgency::try_from_value(&c.get(Column::Urgency)?)?,
        urgency_rank: c.get(Column::UrgencyRank)?,
        needed_by: c.get(Column::NeededBy)?,
        medical_notes: sealed(&mut c, Column::MedicalNotes)?,
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

/// The columns of a row in the order the model declares them.
struct Columns<'r> {
    row: &'r sea_orm::sqlx::postgres::PgRow,
    next: usize,
}

impl<'r> Columns<'r> {
    fn get<T>(&mut self, col: Column) -> Result<T, DbErr>
    where
        T: sea_orm::sqlx::Decode<'r, sea_orm::sqlx::Postgres>
            + sea_orm::sqlx::Type<sea_orm::sqlx::Postgres>,
    {
        use sea_orm::sqlx::{Column as _, Row as _};
        let i = self.next;
        self.next += 1;
        let name = col.as_str();
        let got = if self.row.columns().get(i).is_some_and(|c| c.name() == name) {
            self.row.try_get(i)
        } else {
            self.row.try_get(name)
        };
        got.map_err(|e| DbErr::Type(format!("{name}: {e}")))
    }
}

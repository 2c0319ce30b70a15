//! `donors`: people who give blood.

use crate::{BloodGroup, DonationType, Eligibility};
use sea_orm::entity::prelude::*;

/// A donor. `deferrals` is a JSON array of `{reason, until}` (until null = permanent).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "donors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Option<Uuid>,
    pub ngo_id: Option<Uuid>,
    pub registered_by_org_id: Option<Uuid>,
    pub full_name: String,
    pub date_of_birth: Date,
    pub gender: Option<String>,
    pub blood_group: BloodGroup,
    pub weight_kg: f64,
    #[sea_orm(unique)]
    pub phone: String,
    /// The code on the donor's card (12 characters, no dashes); shown at a bank, it admits
    /// the bank to the donor.
    #[sea_orm(unique)]
    pub donor_code: String,
    pub email: Option<String>,
    pub address: Option<String>,
    pub city: String,
    pub state: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub last_donation_date: Option<Date>,
    pub last_donation_type: Option<DonationType>,
    pub last_hemoglobin: Option<f64>,
    pub total_donations: i32,
    pub eligibility_status: Eligibility,
    pub next_eligible_date: Option<Date>,
    pub deferrals: Json,
    /// Whether the donor agreed to be called when blood is needed near them.
    pub accepts_callouts: bool,
    /// When a call-out last reached the donor.
    pub last_called_at: Option<DateTimeUtc>,
    /// The eligibility date the donor was last reminded of.
    pub reminded_for: Option<Date>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

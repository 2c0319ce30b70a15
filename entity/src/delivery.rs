//! `deliveries`: the journey of a fulfilled request's units from the bank to the hospital.
//! One per request (a unique index).

use crate::{BloodDeliveryStatus, Component};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub request_id: Uuid,
    /// The supplying bank.
    pub blood_bank_id: Uuid,
    /// The receiving hospital.
    pub hospital_id: Uuid,
    /// The component carried (the request's), for the cold-chain range.
    pub component: Component,
    pub courier_name: String,
    pub vehicle: Option<String>,
    pub status: BloodDeliveryStatus,
    pub eta: Option<DateTimeUtc>,
    pub last_latitude: Option<f64>,
    pub last_longitude: Option<f64>,
    pub last_recorded_at: Option<DateTimeUtc>,
    /// When a cold-chain excursion was first seen (reported temperature or receipt).
    pub excursion_at: Option<DateTimeUtc>,
    /// The hospital's answer at receipt.
    pub temperature_ok: Option<bool>,
    pub dispatched_by: Option<Uuid>,
    pub received_by: Option<Uuid>,
    pub dispatched_at: DateTimeUtc,
    pub delivered_at: Option<DateTimeUtc>,
    pub failed_at: Option<DateTimeUtc>,
    pub failure_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! `doctors`: a practitioner's profile for telehealth.

use sea_orm::entity::prelude::*;

/// A practitioner's profile for telehealth.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "doctors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub organization_id: Option<Uuid>,
    pub license_number: String,
    pub specialization: String,
    pub experience_years: i32,
    pub qualification: Option<String>,
    pub bio: Option<String>,
    pub consultation_fee_minor: i64,
    pub currency: String,
    pub rating: f64,
    pub rating_count: i32,
    /// The sum of the doctor's ratings: `rating` is `rating_total / rating_count`.
    pub rating_total: i64,
    pub is_verified: bool,
    pub verified_at: Option<DateTimeUtc>,
    pub verified_by: Option<Uuid>,
    pub is_available: bool,
    /// Minutes kept free after each booking; copied onto the booking (`blocked_until`).
    pub buffer_minutes: i32,
    /// How long before its start a consultation may still be booked.
    pub min_notice_minutes: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

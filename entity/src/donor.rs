//! `donors`: people who give blood.

use crate::{BloodGroup, DonationType, Eligibility, sealed::Sealed};
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
    #[sea_orm(column_type = "Text")]
    pub date_of_birth: Sealed<Date>,
    pub gender: Option<String>,
    pub blood_group: BloodGroup,
    pub weight_kg: f64,
    #[sea_orm(column_type = "Text")]
    pub phone: Sealed<String>,
    /// The phone's blind index (`sealed::blind_index`), set on every save: what uniqueness
    /// and equality lookups use (NULL on rows from before encryption until `rotate-keys`).
    #[sea_orm(unique)]
    pub phone_index: Option<String>,
    /// The code on the donor's card (12 characters, no dashes); shown at a bank, it admits
    /// the bank to the donor.
    #[sea_orm(unique)]
    pub donor_code: String,
    pub email: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub address: Option<Sealed<String>>,
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
    /// When the donor was erased: the row is then an anonymous record that keeps their
    /// donations and units traceable.
    pub erased_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

#[async_trait::async_trait]
impl ActiveModelBehavior for ActiveModel {
    async fn before_save<C>(mut self, _db: &C, _insert: bool) -> Result<Self, DbErr>
    where
        C: ConnectionTrait,
    {
        if let Some(phone) = self.phone.try_as_ref() {
            self.phone_index = sea_orm::ActiveValue::Set(Some(crate::sealed::blind_index(phone)));
        }
        Ok(self)
    }
}

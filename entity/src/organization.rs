//! `organizations`: hospitals, blood banks and NGOs.

use crate::by_position;
use crate::{OrgKind, OrgStatus};
use sea_orm::entity::prelude::*;

/// An organization of the network.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "organizations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub code: String,
    pub name: String,
    pub kind: OrgKind,
    pub address: Option<String>,
    pub city: String,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: String,
    pub latitude: f64,
    pub longitude: f64,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub license_number: Option<String>,
    pub registration_number: Option<String>,
    pub status: OrgStatus,
    pub approved_at: Option<DateTimeUtc>,
    pub suspended_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// A row of `Entity::find()`, decoded by position on Postgres (`by_position`: organizations
/// are the relations of most pages); elsewhere what the derive decodes.
pub fn decode(res: &sea_orm::QueryResult) -> Result<Model, DbErr> {
    by_position::decode(res, |c| {
        Ok(Model {
            id: c.get(Column::Id)?,
            code: c.get(Column::Code)?,
            name: c.get(Column::Name)?,
            kind: OrgKind::try_from_value(&c.get(Column::Kind)?)?,
            address: c.get(Column::Address)?,
            city: c.get(Column::City)?,
            state: c.get(Column::State)?,
            postal_code: c.get(Column::PostalCode)?,
            country: c.get(Column::Country)?,
            latitude: c.get(Column::Latitude)?,
            longitude: c.get(Column::Longitude)?,
            phone: c.get(Column::Phone)?,
            email: c.get(Column::Email)?,
            license_number: c.get(Column::LicenseNumber)?,
            registration_number: c.get(Column::RegistrationNumber)?,
            status: OrgStatus::try_from_value(&c.get(Column::Status)?)?,
            approved_at: c.get(Column::ApprovedAt)?,
            suspended_at: c.get(Column::SuspendedAt)?,
            created_at: c.get(Column::CreatedAt)?,
            updated_at: c.get(Column::UpdatedAt)?,
        })
    })
}

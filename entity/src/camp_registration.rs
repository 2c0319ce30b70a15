//! `camp_registrations`: a donor's place in a camp slot and what came of it. A donor holds at
//! most one active (`REGISTERED` or `ATTENDED`) registration per camp: a partial unique
//! index.

use crate::RegistrationStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "camp_registrations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub camp_id: Uuid,
    pub slot_id: Uuid,
    pub donor_id: Uuid,
    pub status: RegistrationStatus,
    pub units_collected: i32,
    /// The donor who referred this one, if any.
    pub referred_by: Option<Uuid>,
    /// The user who registered (the donor, or the NGO's staff).
    pub registered_by: Uuid,
    /// The donation recorded at attendance.
    pub donation_id: Option<Uuid>,
    pub recorded_by: Option<Uuid>,
    pub outcome_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! `blood_transfers`: units sent from one bank to another.

use crate::TransferStatus;
use sea_orm::entity::prelude::*;

/// A transfer: sent by one bank, received by the other.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "blood_transfers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub from_bank_id: Uuid,
    pub to_bank_id: Uuid,
    pub status: TransferStatus,
    pub unit_count: i32,
    pub sent_by_user_id: Option<Uuid>,
    pub sent_by_api_client_id: Option<Uuid>,
    pub received_by_user_id: Option<Uuid>,
    pub received_by_api_client_id: Option<Uuid>,
    pub sent_at: DateTimeUtc,
    pub received_at: Option<DateTimeUtc>,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

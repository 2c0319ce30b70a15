//! `idempotency_keys`: the first successful result of a retried mutation, for 24 hours.

use sea_orm::entity::prelude::*;

/// A remembered key, scoped to the caller and the operation.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub scope: String,
    pub operation: String,
    pub key: String,
    pub request_hash: String,
    pub result_id: Uuid,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! `invitations`: an organization's invitation of an email address to a role.

use crate::OrgRole;
use sea_orm::entity::prelude::*;

/// An invitation, mailed with a token (only its SHA-256 is stored), accepted once.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "invitations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    /// Lower-cased, like `users.email`.
    pub email: String,
    pub role: OrgRole,
    #[sea_orm(unique)]
    pub token_hash: String,
    pub invited_by: Uuid,
    pub expires_at: DateTimeUtc,
    pub accepted_at: Option<DateTimeUtc>,
    pub accepted_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

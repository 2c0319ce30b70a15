//! `sessions`: refresh tokens, one row per issued token, grouped in rotation families.

use sea_orm::entity::prelude::*;

/// One refresh token. Only its SHA-256 is stored. Rotating it marks this row `rotated_at` and
/// issues a new row in the same family; presenting a rotated token again revokes the family.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub family_id: Uuid,
    #[sea_orm(unique)]
    pub token_hash: String,
    pub expires_at: DateTimeUtc,
    pub rotated_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTimeUtc,
    /// When the session (its family) began, carried through rotation.
    pub started_at: Option<DateTimeUtc>,
    /// When the session was last refreshed (or began).
    pub last_used_at: Option<DateTimeUtc>,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

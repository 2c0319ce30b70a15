//! `account_tokens`: single-use tokens mailed to a user (email verification, password reset).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

db_enum! {
    /// What a mailed token lets its holder do.
    pub enum TokenPurpose {
        /// Confirm that the account's email reaches its owner.
        EmailVerification = "EMAIL_VERIFICATION",
        /// Set a new password without the old one.
        PasswordReset = "PASSWORD_RESET",
    }
}

/// A token as stored: only its SHA-256; used once (`used_at`), refused after `expires_at`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "account_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub purpose: TokenPurpose,
    #[sea_orm(unique)]
    pub token_hash: String,
    pub expires_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

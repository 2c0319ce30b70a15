//! `users`: people who sign in.

use crate::{PlatformRole, sealed::Sealed};
use sea_orm::entity::prelude::*;

/// A person with a login. `email` is stored lower-cased, which makes it unique case-insensitively.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub email: String,
    pub password_hash: String,
    pub full_name: String,
    pub phone: Option<String>,
    pub platform_role: PlatformRole,
    pub is_active: bool,
    pub last_login_at: Option<DateTimeUtc>,
    /// When the owner proved the email reaches them (a verification link, an invitation).
    pub email_verified_at: Option<DateTimeUtc>,
    /// Access tokens issued before this are refused (set by a password reset).
    pub credentials_changed_at: Option<DateTimeUtc>,
    /// The TOTP secret (base32), sealed; set by `enableMfa`, in force once `mfa_enabled_at`.
    pub mfa_secret: Option<Sealed<String>>,
    /// When MFA was confirmed; `None`: off (or enrolment pending).
    pub mfa_enabled_at: Option<DateTimeUtc>,
    /// The last TOTP time step accepted: a code of this step or an earlier one is refused.
    pub mfa_last_step: Option<i64>,
    /// BCP-47 language tag (`en`, `fr-RW`).
    pub locale: Option<String>,
    /// IANA time zone (`Africa/Kigali`).
    pub time_zone: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders, not through sea-orm joins.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

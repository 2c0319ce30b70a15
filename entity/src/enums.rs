//! Enums shared by the database and the GraphQL API.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A user's role on the whole platform.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    async_graphql::Enum,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum PlatformRole {
    /// Operates the platform: approves organizations, sees everything.
    #[sea_orm(string_value = "SUPER_ADMIN")]
    SuperAdmin,
    /// Everyone else; what they may do comes from their memberships.
    #[sea_orm(string_value = "USER")]
    User,
}

/// What an organization is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    async_graphql::Enum,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum OrgKind {
    /// Requests blood for its patients.
    #[sea_orm(string_value = "HOSPITAL")]
    Hospital,
    /// Holds stock and supplies requests.
    #[sea_orm(string_value = "BLOOD_BANK")]
    BloodBank,
    /// Mobilizes donors and runs camps.
    #[sea_orm(string_value = "NGO")]
    Ngo,
}

/// Where an organization stands with the platform.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    async_graphql::Enum,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum OrgStatus {
    /// Registered, waiting for a super admin.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// May act on the network.
    #[sea_orm(string_value = "APPROVED")]
    Approved,
    /// Was approved, now stopped; may be reinstated.
    #[sea_orm(string_value = "SUSPENDED")]
    Suspended,
    /// Refused at registration.
    #[sea_orm(string_value = "REJECTED")]
    Rejected,
}

/// A member's role inside one organization.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    async_graphql::Enum,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum OrgRole {
    /// Manages the organization, its members and API clients.
    #[sea_orm(string_value = "ADMIN")]
    Admin,
    /// Clinical work: reviews, risk flags, consultations.
    #[sea_orm(string_value = "DOCTOR")]
    Doctor,
    /// Operational work: stock, requests, alerts.
    #[sea_orm(string_value = "STAFF")]
    Staff,
    /// Uploads and reads imaging reports.
    #[sea_orm(string_value = "RADIOLOGIST")]
    Radiologist,
}

/// Whether an audited action went through.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    async_graphql::Enum,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum AuditOutcome {
    /// Committed.
    #[sea_orm(string_value = "SUCCESS")]
    Success,
    /// Refused or failed; nothing else was written.
    #[sea_orm(string_value = "FAILURE")]
    Failure,
}

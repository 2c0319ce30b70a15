//! Enums shared by the database and the GraphQL API.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// The name an enum value has in the database and on the wire (`IN_PROGRESS`), for error
/// messages and audit rows.
pub trait WireName {
    fn wire_name(&self) -> String;
}

impl<E: ActiveEnum<Value = String>> WireName for E {
    fn wire_name(&self) -> String {
        self.to_value()
    }
}

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
    #[sea_orm(string_value = "SUCCESS")]
    Success,
    /// Refused or failed; nothing else was written.
    #[sea_orm(string_value = "FAILURE")]
    Failure,
}

/// ABO/Rh blood groups.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    EnumIter,
    DeriveActiveEnum,
    async_graphql::Enum,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
pub enum BloodGroup {
    /// A Rh+.
    #[sea_orm(string_value = "A_POS")]
    APos,
    /// A Rh−.
    #[sea_orm(string_value = "A_NEG")]
    ANeg,
    /// B Rh+.
    #[sea_orm(string_value = "B_POS")]
    BPos,
    /// B Rh−.
    #[sea_orm(string_value = "B_NEG")]
    BNeg,
    /// AB Rh+.
    #[sea_orm(string_value = "AB_POS")]
    AbPos,
    /// AB Rh−.
    #[sea_orm(string_value = "AB_NEG")]
    AbNeg,
    /// O Rh+.
    #[sea_orm(string_value = "O_POS")]
    OPos,
    /// O Rh−.
    #[sea_orm(string_value = "O_NEG")]
    ONeg,
}

/// Blood components held and requested.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    EnumIter,
    DeriveActiveEnum,
    async_graphql::Enum,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
pub enum Component {
    /// Whole blood (35 days).
    #[sea_orm(string_value = "WHOLE_BLOOD")]
    WholeBlood,
    /// Red cell concentrate (42 days).
    #[sea_orm(string_value = "RED_CELLS")]
    RedCells,
    /// Plasma (365 days frozen).
    #[sea_orm(string_value = "PLASMA")]
    Plasma,
    /// Platelets (5 days).
    #[sea_orm(string_value = "PLATELETS")]
    Platelets,
    /// Cryoprecipitate (365 days frozen).
    #[sea_orm(string_value = "CRYOPRECIPITATE")]
    Cryoprecipitate,
}

/// Where a physical unit stands.
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
pub enum UnitStatus {
    /// Collected, awaiting test results.
    #[sea_orm(string_value = "QUARANTINED")]
    Quarantined,
    /// Released for use.
    #[sea_orm(string_value = "AVAILABLE")]
    Available,
    /// Held for an accepted request.
    #[sea_orm(string_value = "RESERVED")]
    Reserved,
    /// Given out for a patient.
    #[sea_orm(string_value = "ISSUED")]
    Issued,
    /// Past its expiry.
    #[sea_orm(string_value = "EXPIRED")]
    Expired,
    /// Destroyed, with a reason.
    #[sea_orm(string_value = "DISCARDED")]
    Discarded,
    /// A whole-blood unit separated into components (its children); no longer stock.
    #[sea_orm(string_value = "PROCESSED")]
    Processed,
    /// On its way to another bank: in neither bank's stock, never reserved.
    #[sea_orm(string_value = "IN_TRANSIT")]
    InTransit,
}

/// The result of one screening test of a unit.
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
pub enum TestResult {
    /// Not reactive.
    #[sea_orm(string_value = "NEGATIVE")]
    Negative,
    /// Reactive: the donation is discarded and the donor deferred.
    #[sea_orm(string_value = "POSITIVE")]
    Positive,
    /// To be repeated; the unit stays in quarantine.
    #[sea_orm(string_value = "INCONCLUSIVE")]
    Inconclusive,
}

/// Where a transfer of units between banks stands.
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
pub enum TransferStatus {
    /// Sent; the units are on their way.
    #[sea_orm(string_value = "IN_TRANSIT")]
    InTransit,
    /// Received: the units are in the receiving bank's stock.
    #[sea_orm(string_value = "RECEIVED")]
    Received,
}

/// How a donation was collected; decides the interval before the next one.
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
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
pub enum DonationType {
    #[sea_orm(string_value = "WHOLE_BLOOD")]
    WholeBlood,
    /// Plasma apheresis.
    #[sea_orm(string_value = "PLASMA")]
    Plasma,
    /// Platelet apheresis.
    #[sea_orm(string_value = "PLATELETS")]
    Platelets,
}

/// A donor's eligibility.
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
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
pub enum Eligibility {
    /// May donate now.
    #[sea_orm(string_value = "ELIGIBLE")]
    Eligible,
    /// Temporarily not (interval, deferral, low hemoglobin).
    #[sea_orm(string_value = "DEFERRED")]
    Deferred,
    /// Permanently not (age, permanent deferral).
    #[sea_orm(string_value = "INELIGIBLE")]
    Ineligible,
    /// Being followed up.
    #[sea_orm(string_value = "UNDER_OBSERVATION")]
    UnderObservation,
}

/// How urgent a blood request is.
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
pub enum Urgency {
    #[sea_orm(string_value = "ROUTINE")]
    Routine,
    /// Within hours.
    #[sea_orm(string_value = "URGENT")]
    Urgent,
    /// Now; escalates.
    #[sea_orm(string_value = "EMERGENCY")]
    Emergency,
    /// Life-threatening now; escalates.
    #[sea_orm(string_value = "CRITICAL")]
    Critical,
}

impl Urgency {
    /// Sort rank: most urgent first.
    pub fn rank(self) -> i32 {
        match self {
            Self::Critical => 0,
            Self::Emergency => 1,
            Self::Urgent => 2,
            Self::Routine => 3,
        }
    }
}

/// Where a blood request stands.
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
pub enum RequestStatus {
    /// Waiting for a bank.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// A bank reserved the units.
    #[sea_orm(string_value = "ACCEPTED")]
    Accepted,
    /// The units were issued.
    #[sea_orm(string_value = "FULFILLED")]
    Fulfilled,
    /// The addressed bank refused it.
    #[sea_orm(string_value = "REJECTED")]
    Rejected,
    /// The hospital withdrew it.
    #[sea_orm(string_value = "CANCELLED")]
    Cancelled,
    /// Its `neededBy` passed while pending.
    #[sea_orm(string_value = "EXPIRED")]
    Expired,
}

/// Stock status against the bank's critical threshold.
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
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
pub enum StockStatus {
    /// At least twice the threshold.
    #[sea_orm(string_value = "GREEN")]
    Green,
    /// Below twice the threshold.
    #[sea_orm(string_value = "AMBER")]
    Amber,
    /// Below the threshold.
    #[sea_orm(string_value = "RED")]
    Red,
}

/// What an alert is about.
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
pub enum AlertKind {
    /// An emergency or critical request needs blood.
    #[sea_orm(string_value = "EMERGENCY_REQUEST")]
    EmergencyRequest,
    /// An emergency is still unanswered after the last escalation step.
    #[sea_orm(string_value = "DELAYED_EMERGENCY")]
    DelayedEmergency,
    /// A bank's stock fell below its critical threshold.
    #[sea_orm(string_value = "STOCK_CRITICAL")]
    StockCritical,
    /// Units expire within 3 days.
    #[sea_orm(string_value = "EXPIRY_SOON")]
    ExpirySoon,
    /// A reservation hold lapsed; the request is pending again.
    #[sea_orm(string_value = "HOLD_LAPSED")]
    HoldLapsed,
    /// An organization waits for approval.
    #[sea_orm(string_value = "ORG_PENDING")]
    OrgPending,
    /// A doctor flagged a critical risk on a consultation.
    #[sea_orm(string_value = "RISK_FLAG")]
    RiskFlag,
    /// A review found a critical finding.
    #[sea_orm(string_value = "CRITICAL_FINDING")]
    CriticalFinding,
    /// A hospital asks an NGO for an emergency donation drive.
    #[sea_orm(string_value = "EMERGENCY_DRIVE")]
    EmergencyDrive,
    /// A positive screening test: the donation's units are discarded (lookback).
    #[sea_orm(string_value = "LOOKBACK")]
    Lookback,
    /// Units in delivery left their storage temperature range, or arrived not cold.
    #[sea_orm(string_value = "COLD_CHAIN_EXCURSION")]
    ColdChainExcursion,
    /// A serious transfusion reaction to a unit the bank supplied (haemovigilance).
    #[sea_orm(string_value = "TRANSFUSION_REACTION")]
    TransfusionReaction,
}

/// How serious an alert is; ordered.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    EnumIter,
    DeriveActiveEnum,
    async_graphql::Enum,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Severity {
    /// For information.
    #[sea_orm(string_value = "INFO")]
    Info,
    /// Needs attention.
    #[sea_orm(string_value = "WARNING")]
    Warning,
    /// Needs action now.
    #[sea_orm(string_value = "CRITICAL")]
    Critical,
}

/// Where an alert stands (acknowledgement is per organization).
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
pub enum AlertStatus {
    /// Not yet handled.
    #[sea_orm(string_value = "OPEN")]
    Open,
    /// Seen and being handled.
    #[sea_orm(string_value = "ACKNOWLEDGED")]
    Acknowledged,
    /// Its cause is gone.
    #[sea_orm(string_value = "RESOLVED")]
    Resolved,
}

/// Who an alert is for.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
pub enum Audience {
    /// The organizations listed as recipients.
    #[sea_orm(string_value = "ORGANIZATIONS")]
    Organizations,
    #[sea_orm(string_value = "SUPER_ADMINS")]
    SuperAdmins,
}

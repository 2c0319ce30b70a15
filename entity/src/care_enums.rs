//! Enums of the care domains (consultations, medical reports) and of notifications.
//!
//! Stored as `SCREAMING_SNAKE_CASE` strings like every other enum, so SQLite and Postgres
//! hold the same values and the GraphQL names are the stored ones.

use crate::AlertKind;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

db_enum! {
    /// A day of the week, for weekly availability.
    pub enum Weekday {
        Monday = "MONDAY",
        Tuesday = "TUESDAY",
        Wednesday = "WEDNESDAY",
        Thursday = "THURSDAY",
        Friday = "FRIDAY",
        Saturday = "SATURDAY",
        Sunday = "SUNDAY",
    }
}

impl Weekday {
    pub fn to_chrono(self) -> chrono::Weekday {
        match self {
            Self::Monday => chrono::Weekday::Mon,
            Self::Tuesday => chrono::Weekday::Tue,
            Self::Wednesday => chrono::Weekday::Wed,
            Self::Thursday => chrono::Weekday::Thu,
            Self::Friday => chrono::Weekday::Fri,
            Self::Saturday => chrono::Weekday::Sat,
            Self::Sunday => chrono::Weekday::Sun,
        }
    }
}

db_enum! {
    /// A one-off change to a doctor's weekly hours.
    pub enum AvailabilityExceptionKind {
        /// Not available, whatever the weekly hours say.
        TimeOff = "TIME_OFF",
        /// Available outside the weekly hours.
        ExtraHours = "EXTRA_HOURS",
    }
}

db_enum! {
    /// How a consultation takes place.
    pub enum ConsultationType {
        Video = "VIDEO",
        Audio = "AUDIO",
        Chat = "CHAT",
        /// At the clinic.
        InPerson = "IN_PERSON",
    }
}

db_enum! {
    /// Where a consultation stands.
    pub enum ConsultationStatus {
        /// Booked by the patient, not yet confirmed by the doctor.
        Requested = "REQUESTED",
        /// Confirmed by the doctor.
        Confirmed = "CONFIRMED",
        InProgress = "IN_PROGRESS",
        Completed = "COMPLETED",
        /// Called off (or replaced by a rescheduled booking).
        Cancelled = "CANCELLED",
        /// The patient did not come.
        NoShow = "NO_SHOW",
    }
}

impl ConsultationStatus {
    /// Whether the consultation holds its time slot (for the doctor and the patient).
    pub fn holds_slot(self) -> bool {
        !matches!(self, Self::Cancelled | Self::NoShow)
    }
}

db_enum! {
    /// Where a payment stands.
    pub enum PaymentStatus {
        Succeeded = "SUCCEEDED",
        /// Paid back.
        Refunded = "REFUNDED",
    }
}

db_enum! {
    /// How a payment was made.
    pub enum PaymentMethod {
        Card = "CARD",
        /// Cash at the clinic.
        Cash = "CASH",
        /// Unified Payments Interface.
        Upi = "UPI",
        BankTransfer = "BANK_TRANSFER",
        Insurance = "INSURANCE",
        Wallet = "WALLET",
    }
}

db_enum! {
    /// How an insurance plan is organized.
    pub enum InsurancePlanType {
        /// Health maintenance organization: a network, with referrals.
        Hmo = "HMO",
        /// Preferred provider organization.
        Ppo = "PPO",
        /// Exclusive provider organization.
        Epo = "EPO",
        Other = "OTHER",
    }
}

db_enum! {
    /// What a risk flag is about (seed 002).
    pub enum RiskType {
        Medical = "MEDICAL",
        Financial = "FINANCIAL",
        Compliance = "COMPLIANCE",
        /// Safety of the patient or others.
        Safety = "SAFETY",
        Other = "OTHER",
    }
}

db_enum! {
    /// How severe a risk flag is.
    pub enum RiskSeverity {
        Low = "LOW",
        Medium = "MEDIUM",
        High = "HIGH",
        /// Critical: raises a `RISK_FLAG` alert.
        Critical = "CRITICAL",
    }
}

db_enum! {
    /// Where a risk flag stands on its organization's worklist.
    pub enum RiskFlagStatus {
        /// Waiting for someone to act on it.
        Open = "OPEN",
        /// Resolved, with a note, once.
        Resolved = "RESOLVED",
    }
}

db_enum! {
    /// Why a care call is made (seed 002 `call_records.call_type`).
    pub enum CareCallType {
        /// Reaching out to a patient (a check-in, a reminder, a campaign).
        Outreach = "OUTREACH",
        /// Following up after a consultation or an earlier call.
        FollowUp = "FOLLOW_UP",
    }
}

db_enum! {
    /// Where a care call stands.
    pub enum CareCallStatus {
        /// Planned, not yet made.
        Scheduled = "SCHEDULED",
        /// Made and finished.
        Completed = "COMPLETED",
        /// Called off.
        Cancelled = "CANCELLED",
        /// Made, but the patient did not answer.
        NoAnswer = "NO_ANSWER",
    }
}

db_enum! {
    /// What a care call achieved.
    pub enum CareCallOutcome {
        Successful = "SUCCESSFUL",
        /// The patient asked for another time.
        Rescheduled = "RESCHEDULED",
        /// The patient declined.
        Declined = "DECLINED",
        /// Passed on to a doctor.
        Escalated = "ESCALATED",
        Other = "OTHER",
    }
}

db_enum! {
    /// Where a medical report stands.
    pub enum ReportStatus {
        /// Uploaded, waiting for analysis.
        Pending = "PENDING",
        /// Claimed by the AI service.
        Analyzing = "ANALYZING",
        /// Analysed, waiting for a doctor's review.
        Analyzed = "ANALYZED",
        /// Reviewed by a doctor.
        Reviewed = "REVIEWED",
        Archived = "ARCHIVED",
    }
}

db_enum! {
    /// Risk level of a report (from the AI or a doctor).
    pub enum RiskLevel {
        Low = "LOW",
        Medium = "MEDIUM",
        High = "HIGH",
    }
}

impl RiskLevel {
    /// Queue rank: highest risk first.
    pub fn rank(self) -> i32 {
        match self {
            Self::High => 0,
            Self::Medium => 1,
            Self::Low => 2,
        }
    }
}

db_enum! {
    pub enum ImageType {
        Xray = "XRAY",
        /// Computed tomography.
        Ct = "CT",
        /// Magnetic resonance.
        Mri = "MRI",
        Ultrasound = "ULTRASOUND",
    }
}

db_enum! {
    /// Image file format.
    pub enum ImageFormat {
        Jpeg = "JPEG",
        Png = "PNG",
        Dicom = "DICOM",
    }
}

db_enum! {
    /// How soon a reviewed finding needs action.
    pub enum ReviewUrgency {
        Routine = "ROUTINE",
        /// Needs a follow-up.
        FollowUp = "FOLLOW_UP",
        Urgent = "URGENT",
        /// Critical: raises a `CRITICAL_FINDING` alert.
        Critical = "CRITICAL",
    }
}

db_enum! {
    /// What a notification is about: every alert kind, and changes to a user's own care.
    pub enum NotificationKind {
        /// See `AlertKind::EmergencyRequest`.
        EmergencyRequest = "EMERGENCY_REQUEST",
        /// See `AlertKind::DelayedEmergency`.
        DelayedEmergency = "DELAYED_EMERGENCY",
        /// See `AlertKind::StockCritical`.
        StockCritical = "STOCK_CRITICAL",
        /// See `AlertKind::ExpirySoon`.
        ExpirySoon = "EXPIRY_SOON",
        /// See `AlertKind::HoldLapsed`.
        HoldLapsed = "HOLD_LAPSED",
        /// See `AlertKind::OrgPending`.
        OrgPending = "ORG_PENDING",
        /// See `AlertKind::RiskFlag`.
        RiskFlag = "RISK_FLAG",
        /// See `AlertKind::CriticalFinding`.
        CriticalFinding = "CRITICAL_FINDING",
        /// A consultation was booked, confirmed, started, completed, cancelled or moved.
        ConsultationUpdate = "CONSULTATION_UPDATE",
        /// A prescription was written for the user.
        Prescription = "PRESCRIPTION",
        /// A medical report of the user changed (reviewed).
        ReportUpdate = "REPORT_UPDATE",
        /// See `AlertKind::EmergencyDrive`.
        EmergencyDrive = "EMERGENCY_DRIVE",
        /// A drive of the user's organization was proposed, answered, cancelled or completed.
        DriveUpdate = "DRIVE_UPDATE",
        /// A camp the user registered for was cancelled or moved.
        CampUpdate = "CAMP_UPDATE",
        /// An organization calls the donor to give blood near them.
        DonorCallout = "DONOR_CALLOUT",
        /// The donor may give blood again.
        EligibilityReminder = "ELIGIBILITY_REMINDER",
        /// See `AlertKind::Lookback`.
        Lookback = "LOOKBACK",
        /// See `AlertKind::ColdChainExcursion`.
        ColdChainExcursion = "COLD_CHAIN_EXCURSION",
        /// See `AlertKind::TransfusionReaction`.
        TransfusionReaction = "TRANSFUSION_REACTION",
    }
}

impl From<AlertKind> for NotificationKind {
    fn from(k: AlertKind) -> Self {
        match k {
            AlertKind::EmergencyRequest => Self::EmergencyRequest,
            AlertKind::DelayedEmergency => Self::DelayedEmergency,
            AlertKind::StockCritical => Self::StockCritical,
            AlertKind::ExpirySoon => Self::ExpirySoon,
            AlertKind::HoldLapsed => Self::HoldLapsed,
            AlertKind::OrgPending => Self::OrgPending,
            AlertKind::RiskFlag => Self::RiskFlag,
            AlertKind::CriticalFinding => Self::CriticalFinding,
            AlertKind::EmergencyDrive => Self::EmergencyDrive,
            AlertKind::Lookback => Self::Lookback,
            AlertKind::ColdChainExcursion => Self::ColdChainExcursion,
            AlertKind::TransfusionReaction => Self::TransfusionReaction,
        }
    }
}

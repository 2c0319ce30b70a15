//! Enums of camps and drives (DESIGN §5 "Camps and drives", §7.3).
//!
//! Stored as `SCREAMING_SNAKE_CASE` strings like every other enum.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

db_enum! {
    /// Where a donation camp stands: `SCHEDULED → ONGOING → COMPLETED`, and
    /// `SCHEDULED | ONGOING → CANCELLED`.
    pub enum CampStatus {
        Scheduled = "SCHEDULED",
        /// Running: attendance is being recorded.
        Ongoing = "ONGOING",
        /// Over; actual donors and units are computed from attendance.
        Completed = "COMPLETED",
        /// Called off; registered donors were told.
        Cancelled = "CANCELLED",
    }
}

impl CampStatus {
    /// Whether donors may still register (and hold their slots).
    pub fn open(self) -> bool {
        matches!(self, Self::Scheduled | Self::Ongoing)
    }
}

db_enum! {
    /// Where a donor's registration for a camp slot stands: `REGISTERED`, then one outcome.
    pub enum RegistrationStatus {
        /// Holds a place in its slot.
        Registered = "REGISTERED",
        /// Came and gave.
        Attended = "ATTENDED",
        /// Did not come.
        NotAttended = "NOT_ATTENDED",
        /// Came and was deferred on the day.
        Deferred = "DEFERRED",
        /// Came; the donation failed.
        Failed = "FAILED",
        /// Withdrawn by the donor or their NGO, or by the camp's cancellation.
        Cancelled = "CANCELLED",
    }
}

db_enum! {
    /// Why a drive is asked for.
    pub enum DriveType {
        /// Blood is needed now: raises an alert to the NGO.
        Emergency = "EMERGENCY",
        /// Planned ahead.
        Scheduled = "SCHEDULED",
    }
}

db_enum! {
    /// Where a drive between a hospital and an NGO stands: `PENDING → ACCEPTED | REJECTED |
    /// CANCELLED`, `ACCEPTED → COMPLETED | CANCELLED`.
    pub enum DriveStatus {
        /// Proposed, waiting for the other side.
        Pending = "PENDING",
        Accepted = "ACCEPTED",
        Rejected = "REJECTED",
        /// Done, with the units collected.
        Completed = "COMPLETED",
        Cancelled = "CANCELLED",
    }
}

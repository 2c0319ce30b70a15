//! Enums of donor rewards (DESIGN §7.6).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

db_enum! {
    /// What earned a donor points: each source event grants its points once.
    pub enum RewardSource {
        /// A donation recorded (100 points).
        Donation = "DONATION",
        /// Attendance at a camp the donor registered for (50 points).
        CampAttendance = "CAMP_ATTENDANCE",
        /// A donor this one referred to a camp gave for the first time (50 points).
        Referral = "REFERRAL",
        /// Answered a donor call-out and came (150 points).
        CalloutResponse = "CALLOUT_RESPONSE",
    }
}

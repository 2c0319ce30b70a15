//! Enums of webhooks and donor call-outs (DESIGN §7.4).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

db_enum! {
    /// What a webhook endpoint can subscribe to.
    pub enum WebhookEvent {
        /// A blood request of the organization changed state.
        BloodRequestChanged = "BLOOD_REQUEST_CHANGED",
        /// An alert about or to the organization was raised.
        AlertRaised = "ALERT_RAISED",
        /// A drive of the organization changed.
        DriveChanged = "DRIVE_CHANGED",
        /// A medical report of the organization was reviewed.
        ReportReviewed = "REPORT_REVIEWED",
        /// A consultation with the organization's doctors changed.
        ConsultationChanged = "CONSULTATION_CHANGED",
    }
}

db_enum! {
    /// A donor's answer to a call-out.
    pub enum CalloutResponse {
        /// On their way (the organization then sees who they are).
        Coming = "COMING",
        /// Cannot come this time.
        Cannot = "CANNOT",
    }
}

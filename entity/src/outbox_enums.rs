//! Enums of the notification outbox (DESIGN §7.4).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

db_enum! {
    /// How a message leaves LifeFlow.
    pub enum DeliveryChannel {
        Email = "EMAIL",
        Sms = "SMS",
        /// A signed POST to a partner organization's endpoint.
        Webhook = "WEBHOOK",
    }
}

db_enum! {
    /// Where a delivery stands: `PENDING`, then `SENT`; `FAILED` while it is being retried,
    /// `DEAD` once the attempts ran out or the provider refused it for good.
    pub enum DeliveryStatus {
        Pending = "PENDING",
        Sent = "SENT",
        /// The last attempt failed; another is scheduled.
        Failed = "FAILED",
        /// No further attempt will be made.
        Dead = "DEAD",
    }
}

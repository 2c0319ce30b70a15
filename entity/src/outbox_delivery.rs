//! `outbox_deliveries`: one message to send through one channel (DESIGN §7.4).

use crate::{DeliveryChannel, DeliveryStatus};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox_deliveries")]
pub struct Model {
    /// Stable: the receiver dedupes on it (email `Message-ID`, SMS `id`, webhook event id).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub channel: DeliveryChannel,
    /// What the message is about: a notification kind's wire name, an account email's kind,
    /// a webhook event's name.
    pub kind: String,
    pub locale: String,
    /// Where it goes: an email address, a phone number; `None` where the transport finds
    /// the target itself (a webhook endpoint's URL, read at send time).
    pub recipient: Option<String>,
    /// The user it is for, when it is for one.
    pub user_id: Option<Uuid>,
    pub notification_id: Option<Uuid>,
    pub webhook_endpoint_id: Option<Uuid>,
    /// The email subject (or nothing).
    pub subject: Option<String>,
    /// The rendered message: plain text for email and SMS, the JSON body for a webhook.
    pub body: String,
    /// A path under `PUBLIC_APP_URL`; `{link}` in the subject or body becomes the full URL
    /// at send time.
    pub link: Option<String>,
    pub status: DeliveryStatus,
    /// Attempts started (a claim counts one).
    pub attempts: i32,
    pub last_error: Option<String>,
    /// Not sent before this (a retry's backoff, the end of quiet hours).
    pub next_attempt_at: DateTimeUtc,
    /// A claim's lease: another worker may take the row once it has passed.
    pub locked_until: Option<DateTimeUtc>,
    /// The instance holding the claim.
    pub claimed_by: Option<Uuid>,
    pub sent_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

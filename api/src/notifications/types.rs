//! GraphQL types of deliveries and notification preferences.

use super::fanout::parse_channels;
use async_graphql::{ID, InputObject, SimpleObject};
use chrono::{DateTime, NaiveTime, Utc};
use entity::{
    DeliveryChannel, DeliveryStatus, NotificationKind, notification_preference, outbox_delivery,
};

/// One channel's attempt to bring a notification to its recipient.
#[derive(SimpleObject, Clone)]
pub struct NotificationDelivery {
    pub id: ID,
    pub channel: DeliveryChannel,
    pub status: DeliveryStatus,
    pub attempts: i32,
    /// What the provider answered last time it failed.
    pub last_error: Option<String>,
    /// Not sent before this (a retry, or the end of quiet hours).
    pub next_attempt_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<outbox_delivery::Model> for NotificationDelivery {
    fn from(m: outbox_delivery::Model) -> Self {
        Self {
            id: crate::graphql::ids::to_id(m.id),
            channel: m.channel,
            status: m.status,
            attempts: m.attempts,
            last_error: m.last_error,
            next_attempt_at: m.next_attempt_at,
            sent_at: m.sent_at,
            created_at: m.created_at,
        }
    }
}

/// How the caller wants one kind of notification (or, without a kind, every kind without a
/// preference of its own) to reach them besides the app.
#[derive(SimpleObject, Clone)]
pub struct NotificationPreference {
    /// The kind; null for the default of every kind without its own.
    pub kind: Option<NotificationKind>,
    /// Channels to use; empty: in the app only.
    pub channels: Vec<DeliveryChannel>,
    /// Start of quiet hours (local time in `timeZone`); CRITICAL notifications ignore them.
    pub quiet_hours_start: Option<NaiveTime>,
    pub quiet_hours_end: Option<NaiveTime>,
    /// IANA zone of the quiet hours.
    pub time_zone: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl From<notification_preference::Model> for NotificationPreference {
    fn from(m: notification_preference::Model) -> Self {
        use sea_orm::ActiveEnum;
        Self {
            kind: m
                .kind
                .as_ref()
                .and_then(|k| NotificationKind::try_from_value(k).ok()),
            channels: parse_channels(&m.channels),
            quiet_hours_start: m.quiet_hours_start,
            quiet_hours_end: m.quiet_hours_end,
            time_zone: m.time_zone,
            updated_at: m.updated_at,
        }
    }
}

/// Input of `updateNotificationPreferences`: replaces the preference of one kind (or the
/// default) as a whole.
#[derive(InputObject, Clone)]
pub struct UpdateNotificationPreferencesInput {
    /// The kind; leave out to set the default of every kind without its own.
    pub kind: Option<NotificationKind>,
    /// EMAIL and/or SMS (SMS needs a phone number on the account); empty: in the app only.
    pub channels: Vec<DeliveryChannel>,
    /// Quiet hours hold non-CRITICAL messages until they end; give start, end and timeZone
    /// together, or none of them.
    pub quiet_hours_start: Option<NaiveTime>,
    pub quiet_hours_end: Option<NaiveTime>,
    /// IANA zone, such as Africa/Kigali.
    pub time_zone: Option<String>,
}

/// Result of `updateNotificationPreferences`.
#[derive(SimpleObject)]
pub struct NotificationPreferencePayload {
    pub preference: NotificationPreference,
}

impl From<notification_preference::Model> for NotificationPreferencePayload {
    fn from(m: notification_preference::Model) -> Self {
        Self {
            preference: m.into(),
        }
    }
}

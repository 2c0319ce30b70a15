//! How a delivery leaves: one [`Transport`] per channel. [`Transports::from_config`] builds
//! the ones whose settings are present; a channel without one is off, says so at start, and
//! its rows wait in the outbox (no worker claims them).
//!
//! Adding a channel: a variant of `entity::DeliveryChannel`, a type implementing
//! [`Transport`], and one line in [`Transports::from_config`].

use crate::config::Config;
use entity::{DeliveryChannel, outbox_delivery};
use std::{collections::HashMap, sync::Arc};

/// Why a send failed. Its text is stored as the delivery's `last_error`, which the
/// recipient may read: say what the provider answered, never a secret.
#[derive(Debug, Clone)]
pub struct SendError {
    pub reason: String,
    /// `true`: retrying cannot help (an address the server refuses for good); the delivery
    /// is `DEAD` at once.
    pub permanent: bool,
}

impl SendError {
    /// A failure worth retrying (the server is down, busy, or answered 5xx).
    pub fn retry(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            permanent: false,
        }
    }

    /// A failure that retrying cannot fix.
    pub fn permanent(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            permanent: true,
        }
    }
}

/// Sends deliveries of one channel. The worker calls it outside any transaction, with a
/// claimed row (`attempts` already counts this attempt), under `OUTBOX_SEND_TIMEOUT_MS`.
/// `delivery.id` is stable across retries: pass it on for the receiver to dedupe on.
#[async_trait::async_trait]
pub trait Transport: Send + Sync {
    async fn send(&self, delivery: &outbox_delivery::Model) -> Result<(), SendError>;
}

/// The transports of the channels that are on.
#[derive(Clone, Default)]
pub struct Transports(HashMap<DeliveryChannel, Arc<dyn Transport>>);

impl Transports {
    /// No channel on.
    pub fn none() -> Self {
        Self::default()
    }

    /// Turns `channel` on with `transport` (replacing any earlier one).
    pub fn with(mut self, channel: DeliveryChannel, transport: Arc<dyn Transport>) -> Self {
        self.0.insert(channel, transport);
        self
    }

    /// The transport of `channel`, if it is on.
    pub fn get(&self, channel: DeliveryChannel) -> Option<&Arc<dyn Transport>> {
        self.0.get(&channel)
    }

    /// The channels that are on.
    pub fn channels(&self) -> Vec<DeliveryChannel> {
        self.0.keys().copied().collect()
    }

    /// Whether `channel` is on.
    pub fn is_on(&self, channel: DeliveryChannel) -> bool {
        self.0.contains_key(&channel)
    }

    /// The transports the settings turn on; logs each channel that is off. `db` is for
    /// transports that read their target at send time (webhook endpoints).
    pub fn from_config(
        config: &Config,
        db: &sea_orm::DatabaseConnection,
    ) -> Result<Self, crate::app::StartError> {
        let _ = db;
        let mut t = Self::none();
        match &config.smtp_url {
            Some(url) => {
                t = t.with(
                    DeliveryChannel::Email,
                    Arc::new(super::email::SmtpSender::new(url, &config.mail_from)?),
                );
            }
            None => tracing::info!(
                "SMTP_URL is not set: email is off; email deliveries wait in the outbox"
            ),
        }
        match &config.sms_webhook_url {
            Some(url) => {
                t = t.with(
                    DeliveryChannel::Sms,
                    Arc::new(super::sms::SmsWebhookSender::new(
                        url,
                        config.sms_webhook_token.clone(),
                    )?),
                );
            }
            None => tracing::info!(
                "SMS_WEBHOOK_URL is not set: SMS is off; SMS deliveries wait in the outbox"
            ),
        }
        Ok(t)
    }
}

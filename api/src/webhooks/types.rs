//! GraphQL types of webhooks: endpoints (never their secret, but once), deliveries, inputs
//! and payloads.

use super::service;
use crate::graphql::ids::to_id;
use async_graphql::{ID, InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{DeliveryStatus, WebhookEvent, outbox_delivery, webhook_endpoint};

/// Where an organization receives signed events.
#[derive(SimpleObject, Clone)]
pub struct WebhookEndpoint {
    pub id: ID,
    pub organization_id: ID,
    pub url: String,
    pub events: Vec<WebhookEvent>,
    /// False once disabled: nothing more is sent to it.
    pub enabled: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    pub secret_rotated_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl From<webhook_endpoint::Model> for WebhookEndpoint {
    fn from(m: webhook_endpoint::Model) -> Self {
        Self {
            id: to_id(m.id),
            organization_id: to_id(m.organization_id),
            url: m.url,
            events: service::parse_events(&m.events),
            enabled: m.disabled_at.is_none(),
            disabled_at: m.disabled_at,
            secret_rotated_at: m.secret_rotated_at,
            created_at: m.created_at,
        }
    }
}

/// Input of `createWebhookEndpoint`.
#[derive(InputObject)]
pub struct CreateWebhookEndpointInput {
    pub organization_id: ID,
    /// An https URL on a public address.
    pub url: String,
    pub events: Vec<WebhookEvent>,
}

/// Input of `rotateWebhookSecret` and `disableWebhookEndpoint`.
#[derive(InputObject)]
pub struct WebhookEndpointActionInput {
    pub endpoint_id: ID,
}

/// Input of `redeliverWebhook`.
#[derive(InputObject)]
pub struct RedeliverWebhookInput {
    /// The delivery to send again (with the same `LifeFlow-Event-Id`).
    pub delivery_id: ID,
}

/// An endpoint with its signing secret, shown this once.
#[derive(SimpleObject)]
pub struct WebhookSecretPayload {
    pub endpoint: WebhookEndpoint,
    /// The HMAC-SHA256 key of `LifeFlow-Signature`; it is never shown again.
    pub secret: String,
}

impl From<(webhook_endpoint::Model, String)> for WebhookSecretPayload {
    fn from((m, secret): (webhook_endpoint::Model, String)) -> Self {
        Self {
            endpoint: m.into(),
            secret,
        }
    }
}

/// Result of `disableWebhookEndpoint`.
#[derive(SimpleObject)]
pub struct WebhookEndpointPayload {
    pub endpoint: WebhookEndpoint,
}

impl From<webhook_endpoint::Model> for WebhookEndpointPayload {
    fn from(m: webhook_endpoint::Model) -> Self {
        Self { endpoint: m.into() }
    }
}

/// One event sent (or to be sent) to an endpoint: the delivery log.
#[derive(SimpleObject, Clone)]
pub struct WebhookDelivery {
    /// Also the `LifeFlow-Event-Id` header and the body's `id`: the same on every attempt.
    pub id: ID,
    pub event: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    /// The HTTP status the target answered to the last attempt, if it answered.
    pub response_code: Option<i32>,
    pub created_at: DateTime<Utc>,
    /// When the next attempt is due, while one is.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl WebhookDelivery {
    /// The log entry of an outbox row and the target's last answer.
    pub fn new(m: outbox_delivery::Model, response_code: Option<i32>) -> Self {
        let due = matches!(m.status, DeliveryStatus::Pending | DeliveryStatus::Failed);
        Self {
            id: to_id(m.id),
            event: m.kind,
            status: m.status,
            attempts: m.attempts,
            last_error: m.last_error,
            response_code,
            created_at: m.created_at,
            next_attempt_at: due.then_some(m.next_attempt_at),
            sent_at: m.sent_at,
            updated_at: m.updated_at,
        }
    }
}

/// Result of `redeliverWebhook`.
#[derive(SimpleObject)]
pub struct WebhookDeliveryPayload {
    pub delivery: WebhookDelivery,
}

impl From<outbox_delivery::Model> for WebhookDeliveryPayload {
    fn from(m: outbox_delivery::Model) -> Self {
        Self {
            delivery: WebhookDelivery::new(m, None),
        }
    }
}

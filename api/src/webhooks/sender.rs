//! The outbox's transport for the `WEBHOOK` channel: reads the delivery's endpoint at send
//! time (a disabled endpoint is not sent to; a rotated secret signs at once), sends through
//! [`super::transport::deliver`] and keeps what the target answered in `webhook_responses`.

use super::{
    target::{Resolver, SystemResolver},
    transport,
};
use crate::{
    config::Config,
    db::now,
    notifications::transport::{SendError, Transport},
};
use entity::{outbox_delivery, webhook_endpoint, webhook_response};
use sea_orm::{DatabaseConnection, EntityTrait, sea_query::OnConflict};
use std::{sync::Arc, time::Duration};

/// Sends webhook deliveries.
pub struct WebhookSender {
    db: DatabaseConnection,
    resolver: Arc<dyn Resolver>,
    allow_private: bool,
    timeout: Duration,
}

impl WebhookSender {
    /// A sender with the system resolver and the settings' checks.
    pub fn new(config: &Config, db: DatabaseConnection) -> Self {
        Self::with_resolver(config, db, Arc::new(SystemResolver))
    }

    /// A sender with another resolver (tests).
    pub fn with_resolver(
        config: &Config,
        db: DatabaseConnection,
        resolver: Arc<dyn Resolver>,
    ) -> Self {
        Self {
            db,
            resolver,
            allow_private: config.webhook_allow_private,
            timeout: config.webhook_timeout,
        }
    }

    async fn remember(&self, delivery: &outbox_delivery::Model, status: Option<u16>) {
        let row = webhook_response::ActiveModel::from(webhook_response::Model {
            delivery_id: delivery.id,
            status_code: status.map(i32::from),
            answered_at: now(),
        });
        let upsert = webhook_response::Entity::insert(row)
            .on_conflict(
                OnConflict::column(webhook_response::Column::DeliveryId)
                    .update_columns([
                        webhook_response::Column::StatusCode,
                        webhook_response::Column::AnsweredAt,
                    ])
                    .to_owned(),
            )
            .exec(&self.db)
            .await;
        if let Err(e) = upsert {
            tracing::warn!(error = %e, delivery = %delivery.id, "webhook answer not recorded");
        }
    }
}

#[async_trait::async_trait]
impl Transport for WebhookSender {
    async fn send(&self, delivery: &outbox_delivery::Model) -> Result<(), SendError> {
        let Some(endpoint_id) = delivery.webhook_endpoint_id else {
            return Err(SendError::permanent("no endpoint"));
        };
        let endpoint = webhook_endpoint::Entity::find_by_id(endpoint_id)
            .one(&self.db)
            .await
            .map_err(|_| SendError::retry("the endpoint could not be read"))?
            .ok_or_else(|| SendError::permanent("the endpoint no longer exists"))?;
        if endpoint.disabled_at.is_some() {
            return Err(SendError::permanent("the endpoint was disabled"));
        }
        let attempt = transport::deliver(
            &endpoint.url,
            &endpoint.secret,
            delivery.id,
            &delivery.body,
            self.resolver.as_ref(),
            self.allow_private,
            self.timeout,
        )
        .await;
        self.remember(delivery, attempt.status).await;
        match attempt.error {
            None => Ok(()),
            // A refused target is not retried: resolving it again would be the rebinding.
            Some(e) if attempt.refused => Err(SendError::permanent(e)),
            Some(e) => Err(SendError::retry(e)),
        }
    }
}

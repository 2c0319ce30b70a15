//! Webhook mutations as typed commands: all for the organization's admins, its id read from
//! the input or from the endpoint the input names (`auth::webhooks`).

use super::{
    service::{self, NewEndpoint},
    target,
    types::*,
};
use crate::{
    audit::Change,
    auth::{Rule, webhooks::manage},
    db::Db,
    error::{AppError, AppResult},
    graphql::ids::parse_id,
    pipeline::{Command, Exec},
};
use entity::webhook_endpoint;
use uuid::Uuid;

/// The endpoint's organization's admins, once it is known; an endpoint that does not exist
/// leaves only the signed-in check, and its use case answers `NOT_FOUND`.
fn for_endpoint_org(org: Option<Uuid>) -> Rule {
    org.map_or(Rule::SignedIn, manage)
}

/// `createWebhookEndpoint`, parsed. The URL's scheme and target are checked against
/// `WEBHOOK_ALLOW_PRIVATE` in [`Command::prepare`], which has the settings.
pub struct CreateWebhookEndpoint {
    pub organization_id: Uuid,
    pub url: String,
    pub events: Vec<entity::WebhookEvent>,
    parsed: Option<url::Url>,
}

impl TryFrom<CreateWebhookEndpointInput> for CreateWebhookEndpoint {
    type Error = AppError;

    fn try_from(i: CreateWebhookEndpointInput) -> AppResult<Self> {
        if i.events.is_empty() {
            return Err(AppError::bad_input(
                "input.events",
                "name at least one event",
            ));
        }
        // The form only; whether private targets are allowed is a setting, read in `prepare`.
        target::parse_url(&i.url, "input.url", true)?;
        Ok(Self {
            organization_id: parse_id(&i.organization_id, "input.organizationId")?,
            parsed: None,
            url: i.url,
            events: i.events,
        })
    }
}

impl Command for CreateWebhookEndpoint {
    type Input = CreateWebhookEndpointInput;
    type Output = (webhook_endpoint::Model, String);
    const ACTION: &'static str = "webhook_endpoint.create";
    const ENTITY: &'static str = "webhook_endpoint";

    fn authority(input: &Self::Input) -> Rule {
        Rule::for_named(&input.organization_id, manage)
    }

    async fn prepare(mut self, app: &crate::state::AppState) -> AppResult<Self> {
        self.parsed = Some(target::parse_url(
            &self.url,
            "input.url",
            app.config.webhook_allow_private,
        )?);
        Ok(self)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        let url = self
            .parsed
            .ok_or_else(|| AppError::internal("webhook URL not prepared"))?;
        service::create(
            exec.txn,
            exec.actor,
            NewEndpoint {
                organization_id: self.organization_id,
                url,
                events: self.events,
            },
        )
        .await
    }
}

/// A command on one endpoint: its id and, once located, its organization.
pub struct OnEndpoint<K> {
    pub endpoint_id: Uuid,
    pub organization_id: Option<Uuid>,
    kind: std::marker::PhantomData<K>,
}

impl<K> TryFrom<WebhookEndpointActionInput> for OnEndpoint<K> {
    type Error = AppError;

    fn try_from(i: WebhookEndpointActionInput) -> AppResult<Self> {
        Ok(Self {
            endpoint_id: parse_id(&i.endpoint_id, "input.endpointId")?,
            organization_id: None,
            kind: std::marker::PhantomData,
        })
    }
}

/// `rotateWebhookSecret`.
pub struct Rotate;
/// `disableWebhookEndpoint`.
pub struct Disable;

impl Command for OnEndpoint<Rotate> {
    type Input = WebhookEndpointActionInput;
    type Output = (webhook_endpoint::Model, String);
    const ACTION: &'static str = "webhook_endpoint.rotate_secret";
    const ENTITY: &'static str = "webhook_endpoint";
    const RULE: Rule = Rule::SignedIn;

    fn rule(&self) -> Option<Rule> {
        Some(for_endpoint_org(self.organization_id))
    }

    async fn locate(mut self, db: &Db) -> AppResult<Self> {
        self.organization_id = service::endpoint_org(db, self.endpoint_id).await?;
        Ok(self)
    }

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.endpoint_id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::rotate(exec.txn, self.endpoint_id).await
    }
}

impl Command for OnEndpoint<Disable> {
    type Input = WebhookEndpointActionInput;
    type Output = webhook_endpoint::Model;
    const ACTION: &'static str = "webhook_endpoint.disable";
    const ENTITY: &'static str = "webhook_endpoint";
    const RULE: Rule = Rule::SignedIn;

    fn rule(&self) -> Option<Rule> {
        Some(for_endpoint_org(self.organization_id))
    }

    async fn locate(mut self, db: &Db) -> AppResult<Self> {
        self.organization_id = service::endpoint_org(db, self.endpoint_id).await?;
        Ok(self)
    }

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.endpoint_id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::disable(exec.txn, self.endpoint_id).await
    }
}

/// `redeliverWebhook`, parsed.
pub struct RedeliverWebhook {
    pub delivery_id: Uuid,
    /// The endpoint's organization, found by [`Command::locate`].
    pub organization_id: Option<Uuid>,
}

impl TryFrom<RedeliverWebhookInput> for RedeliverWebhook {
    type Error = AppError;

    fn try_from(i: RedeliverWebhookInput) -> AppResult<Self> {
        Ok(Self {
            delivery_id: parse_id(&i.delivery_id, "input.deliveryId")?,
            organization_id: None,
        })
    }
}

impl Command for RedeliverWebhook {
    type Input = RedeliverWebhookInput;
    type Output = entity::outbox_delivery::Model;
    const ACTION: &'static str = "webhook_delivery.redeliver";
    const ENTITY: &'static str = "outbox_delivery";
    const RULE: Rule = Rule::SignedIn;

    fn rule(&self) -> Option<Rule> {
        Some(for_endpoint_org(self.organization_id))
    }

    async fn locate(mut self, db: &Db) -> AppResult<Self> {
        self.organization_id = service::delivery_org(db, self.delivery_id).await?;
        Ok(self)
    }

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.delivery_id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::redeliver(exec.txn, self.delivery_id).await
    }
}

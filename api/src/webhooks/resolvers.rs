//! Webhook resolvers: an organization's endpoints and each endpoint's delivery log for its
//! admins; mutations run as commands.

use super::{commands::*, service, types::*};
use crate::{auth::webhooks as rules, graphql::prelude::*, pipeline};
use entity::{outbox_delivery, webhook_endpoint};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// An organization's webhook endpoints, oldest first (its admins).
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, last, child_complexity)")]
    async fn webhook_endpoints(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<Conn<WebhookEndpoint>> {
        let org = parse_id(&organization_id, "organizationId")?;
        ctx.authorized(rules::read(org))?;
        let q = webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::OrganizationId.eq(org));
        let keyset = Keyset::<webhook_endpoint::Entity>::new(
            None,
            webhook_endpoint::Column::Id,
            |m| m.id,
            SortDirection::Asc,
        );
        let page =
            fetch_selected(ctx, q, &keyset, &PageArgs::new(first, after, last, before)).await?;
        Ok(page.into_connection(WebhookEndpoint::from))
    }

    /// An endpoint's delivery log, newest first (its organization's admins).
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, last, child_complexity)")]
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        endpoint_id: ID,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<Conn<WebhookDelivery>> {
        let id = parse_id(&endpoint_id, "endpointId")?;
        let req = ctx.authorized(crate::auth::Rule::SignedIn)?;
        let org = service::endpoint_org(&req.db, id)
            .await?
            .ok_or(AppError::NotFound("webhook endpoint"))?;
        ctx.authorized(rules::read(org))?;
        let q = outbox_delivery::Entity::find()
            .filter(outbox_delivery::Column::WebhookEndpointId.eq(id));
        let keyset = Keyset::<outbox_delivery::Entity>::new(
            None,
            outbox_delivery::Column::Id,
            |m| m.id,
            SortDirection::Desc,
        );
        let page =
            fetch_selected(ctx, q, &keyset, &PageArgs::new(first, after, last, before)).await?;
        let codes = if node_selects(ctx, &["responseCode"]) {
            service::responses(&req.db, page.rows.iter().map(|(_, d)| d.id).collect()).await?
        } else {
            Default::default()
        };
        Ok(page.into_connection(|d| {
            let code = codes.get(&d.id).copied().flatten();
            WebhookDelivery::new(d, code)
        }))
    }
}

pipeline::command_mutations! {
    WebhookMutation {
        /// Registers an https endpoint for the organization's events (its admins); the signing
        /// secret is in this answer only.
        create_webhook_endpoint(CreateWebhookEndpointInput) -> WebhookSecretPayload = CreateWebhookEndpoint;
        /// Replaces an endpoint's signing secret (its organization's admins); the new one is in this answer only.
        rotate_webhook_secret(WebhookEndpointActionInput) -> WebhookSecretPayload = OnEndpoint<Rotate>;
        /// Stops an endpoint: nothing more is queued or sent to it (its organization's admins).
        disable_webhook_endpoint(WebhookEndpointActionInput) -> WebhookEndpointPayload = OnEndpoint<Disable>;
        /// Sends a delivery again now, with the same event id (its endpoint's organization's admins).
        redeliver_webhook(RedeliverWebhookInput) -> WebhookDeliveryPayload = RedeliverWebhook;
    }
}

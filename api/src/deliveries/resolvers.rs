//! Delivery resolvers: lists filtered by `auth::deliveries`, mutations run as commands.

use super::{commands::*, types::*};
use crate::{
    auth::{self, Rule},
    graphql::prelude::*,
    pipeline,
};
use entity::delivery;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

/// Delivery queries.
#[derive(Default)]
pub struct DeliveryQuery;

#[Object]
impl DeliveryQuery {
    /// Deliveries of the caller's hospitals and banks, newest first.
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, last, child_complexity)")]
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        statuses: Option<Vec<entity::BloodDeliveryStatus>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<Conn<Delivery>> {
        let req = ctx.authorized(Rule::Authenticated)?;
        let mut q = delivery::Entity::find().filter(auth::deliveries::visible(&req.viewer)?);
        if let Some(s) = statuses {
            q = q.filter(delivery::Column::Status.is_in(s));
        }
        let keyset = Keyset::<delivery::Entity> {
            key: None,
            id: delivery::Column::Id,
            id_of: |m| m.id,
            direction: SortDirection::Desc,
        };
        let args = PageArgs::new(first, after, last, before);
        let page = fetch_selected(ctx, q, &keyset, &args).await?;
        let rows = page.rows.iter().map(|(_, m)| m);
        if ["hospital", "bloodBank"]
            .iter()
            .any(|f| node_selects(ctx, &[f]))
        {
            let ids = rows
                .clone()
                .flat_map(|m| [m.hospital_id, m.blood_bank_id])
                .collect();
            prime_orgs(req, ids).await?;
        }
        if node_selects(ctx, &["request"]) {
            prime(&req.loaders.requests, rows.clone().map(|m| m.request_id)).await?;
        }
        if node_selects(ctx, &["positions"]) {
            prime(&req.loaders.positions_by_delivery, rows.map(|m| m.id)).await?;
        }
        Ok(page.into_connection(Delivery::from))
    }

    /// The delivery of a request, if it was dispatched and the caller is its hospital or
    /// its bank.
    async fn delivery(&self, ctx: &Context<'_>, request_id: ID) -> AppResult<Option<Delivery>> {
        let req = ctx.authorized(Rule::Authenticated)?;
        let id = parse_id(&request_id, "requestId")?;
        let cond =
            auth::deliveries::visible(&req.viewer).map_err(|_| AppError::NotFound("delivery"))?;
        Ok(delivery::Entity::find()
            .filter(delivery::Column::RequestId.eq(id))
            .filter(cond)
            .one(&req.db)
            .await?
            .map(Delivery::from))
    }
}

pipeline::command_mutations! {
    /// Delivery mutations.
    DeliveryMutation {
        /// The bank that issued a fulfilled request's units hands them to a courier (its
        /// admins, doctors and staff, or its API client with `deliveries:write`). One delivery
        /// per request.
        dispatch_delivery(DispatchDeliveryInput) -> DeliveryPayload = DispatchDelivery;
        /// Reports where a delivery is (the bank's staff, or its API client with
        /// `deliveries:write`); streamed to `deliveryTracked`. A temperature out of range
        /// raises a cold-chain alert to the bank and the hospital.
        update_delivery_location(UpdateDeliveryLocationInput) -> DeliveryPayload = UpdateDeliveryLocation;
        /// The bank records that a delivery will not arrive; tracking ends.
        fail_delivery(FailDeliveryInput) -> DeliveryPayload = FailDelivery;
        /// The hospital confirms the units arrived (its admins, doctors and staff, or its API
        /// client with `blood-requests:write`); tracking ends. `temperatureOk: false` raises a
        /// cold-chain alert to both sides.
        confirm_receipt(ConfirmReceiptInput) -> DeliveryPayload = ConfirmReceipt;
        /// The hospital gives issued units back: available again at the supplying bank inside
        /// the return window with the cold chain kept, discarded otherwise.
        return_units(ReturnUnitsInput) -> ReturnUnitsPayload = ReturnUnits;
    }
}

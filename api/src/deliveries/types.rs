//! GraphQL types of deliveries and returns.

use crate::{
    error::AppResult,
    events::{DeliveryEvent, DeliveryPoint},
    graphql::{
        context::CtxExt,
        ids::to_id,
        loaders::{load_children, load_one},
    },
    organizations::types::Organization,
    requests::types::BloodRequest,
    stock::types::BloodUnit,
};
use async_graphql::{ComplexObject, Context, ID, InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{BloodDeliveryStatus, ReturnOutcome, delivery, delivery_position, unit_return};
use serde::Serialize;
use std::sync::Arc;

/// The journey of a fulfilled request's units from the supplying bank to the hospital.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Delivery {
    pub id: ID,
    pub request_id: ID,
    pub status: BloodDeliveryStatus,
    pub courier_name: String,
    pub vehicle: Option<String>,
    /// Expected arrival, as the bank last gave it.
    pub eta: Option<DateTime<Utc>>,
    /// The last reported position, if any.
    pub last_position: Option<DeliveryPosition>,
    /// When the cold chain was first seen broken (a reading out of range, or receipt
    /// without the units cold); null while it holds.
    pub excursion_at: Option<DateTime<Utc>>,
    /// The hospital's answer at receipt.
    pub temperature_ok: Option<bool>,
    pub dispatched_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    pub failure_reason: Option<String>,
    #[graphql(skip)]
    pub row: delivery::Model,
}

impl From<delivery::Model> for Delivery {
    fn from(m: delivery::Model) -> Self {
        let last_position = match (m.last_latitude, m.last_longitude, m.last_recorded_at) {
            (Some(latitude), Some(longitude), Some(recorded_at)) => Some(DeliveryPosition {
                latitude,
                longitude,
                recorded_at,
                temperature_c: None,
            }),
            _ => None,
        };
        Self {
            id: to_id(m.id),
            request_id: to_id(m.request_id),
            status: m.status,
            courier_name: m.courier_name.clone(),
            vehicle: m.vehicle.clone(),
            eta: m.eta,
            last_position,
            excursion_at: m.excursion_at,
            temperature_ok: m.temperature_ok,
            dispatched_at: m.dispatched_at,
            delivered_at: m.delivered_at,
            failed_at: m.failed_at,
            failure_reason: m.failure_reason.clone(),
            row: m,
        }
    }
}

#[ComplexObject]
impl Delivery {
    /// The request whose units travel.
    async fn request(&self, ctx: &Context<'_>) -> AppResult<Option<BloodRequest>> {
        Ok(load_one(&ctx.req()?.loaders.requests, self.row.request_id)
            .await?
            .map(BloodRequest::from))
    }

    /// The supplying bank.
    async fn blood_bank(&self, ctx: &Context<'_>) -> AppResult<Option<Arc<Organization>>> {
        Organization::load(ctx, self.row.blood_bank_id).await
    }

    /// The receiving hospital.
    async fn hospital(&self, ctx: &Context<'_>) -> AppResult<Option<Arc<Organization>>> {
        Organization::load(ctx, self.row.hospital_id).await
    }

    /// The reported positions, oldest reading first; `last` keeps the most recent ones
    /// (default 100, at most 1000).
    #[graphql(complexity = "crate::graphql::limits::list_cost(child_complexity)")]
    async fn positions(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 100)] last: i32,
    ) -> AppResult<Vec<DeliveryPosition>> {
        let all = load_children(&ctx.req()?.loaders.positions_by_delivery, self.row.id).await?;
        let keep = last.clamp(0, 1000) as usize;
        let skip = all.len().saturating_sub(keep);
        Ok(all.into_iter().skip(skip).map(Into::into).collect())
    }
}

/// A position a delivery reported.
#[derive(SimpleObject, Clone, Copy, Debug)]
pub struct DeliveryPosition {
    pub latitude: f64,
    pub longitude: f64,
    /// When the device took the reading.
    pub recorded_at: DateTime<Utc>,
    /// The temperature of the units' box, if reported.
    pub temperature_c: Option<f64>,
}

impl From<delivery_position::Model> for DeliveryPosition {
    fn from(p: delivery_position::Model) -> Self {
        Self {
            latitude: p.latitude,
            longitude: p.longitude,
            recorded_at: p.recorded_at,
            temperature_c: p.temperature_c,
        }
    }
}

impl From<DeliveryPoint> for DeliveryPosition {
    fn from(p: DeliveryPoint) -> Self {
        Self {
            latitude: p.latitude,
            longitude: p.longitude,
            recorded_at: p.recorded_at,
            temperature_c: p.temperature_c,
        }
    }
}

/// One step of a tracked delivery: a position reported, or its state changed.
#[derive(SimpleObject, Clone, Debug)]
pub struct DeliveryUpdate {
    pub delivery_id: ID,
    pub request_id: ID,
    pub status: BloodDeliveryStatus,
    /// The position reported, when this update is one.
    pub position: Option<DeliveryPosition>,
    pub eta: Option<DateTime<Utc>>,
    pub at: DateTime<Utc>,
}

impl From<&DeliveryEvent> for DeliveryUpdate {
    fn from(e: &DeliveryEvent) -> Self {
        Self {
            delivery_id: to_id(e.delivery_id),
            request_id: to_id(e.request_id),
            status: e.status,
            position: e.position.map(Into::into),
            eta: e.eta,
            at: e.at,
        }
    }
}

/// A unit given back to the supplying bank.
#[derive(SimpleObject, Clone)]
pub struct UnitReturn {
    pub id: ID,
    pub unit_id: ID,
    pub request_id: ID,
    pub cold_chain_kept: bool,
    pub outcome: ReturnOutcome,
    pub created_at: DateTime<Utc>,
}

impl From<unit_return::Model> for UnitReturn {
    fn from(r: unit_return::Model) -> Self {
        Self {
            id: to_id(r.id),
            unit_id: to_id(r.unit_id),
            request_id: to_id(r.request_id),
            cold_chain_kept: r.cold_chain_kept,
            outcome: r.outcome,
            created_at: r.created_at,
        }
    }
}

/// `dispatchDelivery`'s input.
#[derive(InputObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DispatchDeliveryInput {
    /// A fulfilled request.
    pub request_id: ID,
    /// The bank that issued the units.
    pub blood_bank_id: ID,
    pub courier_name: String,
    pub vehicle: Option<String>,
    /// Expected arrival, in the future.
    pub eta: Option<DateTime<Utc>>,
}

/// `updateDeliveryLocation`'s input.
#[derive(InputObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateDeliveryLocationInput {
    pub delivery_id: ID,
    pub lat: f64,
    pub lng: f64,
    /// When the device took the reading (not in the future).
    pub recorded_at: DateTime<Utc>,
    /// The temperature of the units' box: out of the component's storage range (2–6 °C for
    /// red cells and whole blood, 20–24 °C for platelets, -18 °C or colder for plasma and
    /// cryoprecipitate) it raises a cold-chain alert to both sides.
    pub temperature_c: Option<f64>,
    /// A new expected arrival, if it changed.
    pub eta: Option<DateTime<Utc>>,
}

/// `confirmReceipt`'s input.
#[derive(InputObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmReceiptInput {
    pub request_id: ID,
    /// Whether the units arrived within their temperature range; false raises a cold-chain
    /// alert to both sides, and such units cannot go back to stock.
    pub temperature_ok: bool,
}

/// `failDelivery`'s input.
#[derive(InputObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailDeliveryInput {
    pub delivery_id: ID,
    pub reason: String,
}

/// `returnUnits`'s input.
#[derive(InputObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReturnUnitsInput {
    pub request_id: ID,
    /// Units issued to the request, not transfused.
    pub unit_ids: Vec<ID>,
    /// Whether the units were kept in their storage conditions while at the hospital.
    pub cold_chain_kept: bool,
}

/// What a delivery mutation answers.
#[derive(SimpleObject)]
pub struct DeliveryPayload {
    pub delivery: Delivery,
}

impl From<delivery::Model> for DeliveryPayload {
    fn from(m: delivery::Model) -> Self {
        Self { delivery: m.into() }
    }
}

/// What `returnUnits` answers: where the units went.
#[derive(SimpleObject)]
pub struct ReturnUnitsPayload {
    /// `RESTOCKED` (available again at the supplying bank) or `DISCARDED`.
    pub outcome: ReturnOutcome,
    pub units: Vec<BloodUnit>,
}

//! GraphQL types of transfusions and unit traces. The patient reference is shown only to
//! the hospital's members and super admins, and every such read is audited.

use crate::{
    audit::ReadRecord,
    auth,
    deliveries::types::{Delivery, UnitReturn},
    donors::types::Donation,
    error::AppResult,
    graphql::{
        context::CtxExt,
        ids::to_id,
        loaders::{load_children, load_one},
    },
    requests::types::BloodRequest,
    stock::types::BloodUnit,
};
use async_graphql::{ComplexObject, Context, ID, InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{ReactionSeverity, TransfusionReaction, blood_unit, transfusion};
use serde::Serialize;

/// A unit given to a patient, and the reaction seen.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Transfusion {
    pub id: ID,
    pub unit_id: ID,
    pub request_id: ID,
    pub reaction: TransfusionReaction,
    pub severity: ReactionSeverity,
    /// Whether the supplying bank was alerted (a serious reaction).
    pub serious: bool,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub row: transfusion::Model,
}

impl From<transfusion::Model> for Transfusion {
    fn from(m: transfusion::Model) -> Self {
        Self {
            id: to_id(m.id),
            unit_id: to_id(m.unit_id),
            request_id: to_id(m.request_id),
            reaction: m.reaction,
            severity: m.severity,
            serious: entity::is_serious(m.reaction, m.severity),
            created_at: m.created_at,
            row: m,
        }
    }
}

#[ComplexObject]
impl Transfusion {
    /// The hospital's patient reference: its members and super admins only (null for the
    /// bank and API clients). Reading it is audited.
    async fn patient_reference(&self, ctx: &Context<'_>) -> AppResult<Option<String>> {
        let req = ctx.req()?;
        if !auth::transfusions::sees_patient(&req.viewer, &self.row) {
            return Ok(None);
        }
        req.reads.record(ReadRecord {
            action: "transfusion.read_patient",
            entity_type: "transfusion",
            entity_id: self.row.id,
            organization_id: Some(self.row.hospital_id),
        });
        Ok(Some(self.row.patient_reference.clone().into_inner()))
    }
}

/// Where a unit came from and where it went: donation (and donor), the request it was
/// issued to, its delivery, returns and transfusion.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct UnitTrace {
    pub unit: BloodUnit,
    #[graphql(skip)]
    pub row: blood_unit::Model,
}

impl From<blood_unit::Model> for UnitTrace {
    fn from(m: blood_unit::Model) -> Self {
        Self {
            unit: m.clone().into(),
            row: m,
        }
    }
}

impl UnitTrace {
    /// The request the unit was last issued to: the one it is held for, else the one it was
    /// transfused or returned under.
    async fn request_id(&self, ctx: &Context<'_>) -> AppResult<Option<uuid::Uuid>> {
        if let Some(r) = self.row.reserved_for_request_id {
            return Ok(Some(r));
        }
        let loaders = &ctx.req()?.loaders;
        if let Some(t) = load_one(&loaders.transfusion_by_unit, self.row.id).await? {
            return Ok(Some(t.request_id));
        }
        let returns = load_children(&loaders.returns_by_unit, self.row.id).await?;
        Ok(returns.last().map(|r| r.request_id))
    }
}

#[ComplexObject]
impl UnitTrace {
    /// The donation the unit was collected from (with its donor's id), if recorded.
    async fn donation(&self, ctx: &Context<'_>) -> AppResult<Option<Donation>> {
        let Some(id) = self.row.donation_id else {
            return Ok(None);
        };
        Ok(load_one(&ctx.req()?.loaders.donations, id)
            .await?
            .map(Donation::from))
    }

    /// The request the unit was issued to.
    async fn request(&self, ctx: &Context<'_>) -> AppResult<Option<BloodRequest>> {
        let Some(id) = self.request_id(ctx).await? else {
            return Ok(None);
        };
        Ok(load_one(&ctx.req()?.loaders.requests, id)
            .await?
            .map(BloodRequest::from))
    }

    /// That request's delivery.
    async fn delivery(&self, ctx: &Context<'_>) -> AppResult<Option<Delivery>> {
        let Some(id) = self.request_id(ctx).await? else {
            return Ok(None);
        };
        Ok(load_one(&ctx.req()?.loaders.delivery_by_request, id)
            .await?
            .map(Delivery::from))
    }

    /// Times the unit was given back, oldest first.
    async fn returns(&self, ctx: &Context<'_>) -> AppResult<Vec<UnitReturn>> {
        let rows = load_children(&ctx.req()?.loaders.returns_by_unit, self.row.id).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// The transfusion of the unit, if recorded.
    async fn transfusion(&self, ctx: &Context<'_>) -> AppResult<Option<Transfusion>> {
        Ok(
            load_one(&ctx.req()?.loaders.transfusion_by_unit, self.row.id)
                .await?
                .map(Transfusion::from),
        )
    }
}

/// `recordTransfusion`'s input.
#[derive(InputObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordTransfusionInput {
    /// A unit issued to one of the hospital's requests.
    pub unit_id: ID,
    /// The hospital's patient reference (MRN); stored encrypted.
    pub patient_reference: String,
    pub reaction: TransfusionReaction,
    pub severity: ReactionSeverity,
}

/// What `recordTransfusion` answers.
#[derive(SimpleObject)]
pub struct TransfusionPayload {
    pub transfusion: Transfusion,
}

impl From<transfusion::Model> for TransfusionPayload {
    fn from(m: transfusion::Model) -> Self {
        Self {
            transfusion: m.into(),
        }
    }
}

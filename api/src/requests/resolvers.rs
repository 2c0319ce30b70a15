//! Blood request resolvers: queries filtered by `auth::requests`, mutations run as commands.

use super::{commands::*, types::*};
use crate::{
    auth::{self, Rule},
    error::{AppError, AppResult},
    graphql::{
        context::{CtxExt, RequestCtx},
        ids::parse_id,
        loaders::{prime, prime_orgs, prime_users},
        pagination::{Conn, Keyset, PageArgs, SortValue, fetch_selected_decoded, node_selects},
    },
    pipeline,
};
use async_graphql::{Context, ID, Object};
use entity::blood_request;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};

/// Blood request queries.
#[derive(Default)]
pub struct RequestQuery;

#[Object]
impl RequestQuery {
    /// Blood requests the caller may see, most urgent then oldest first by default.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, last, child_complexity)")]
    async fn blood_requests(
        &self,
        ctx: &Context<'_>,
        filter: Option<BloodRequestFilter>,
        order_by: Option<BloodRequestOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<Conn<BloodRequest>> {
        let req = ctx.authorized(Rule::Authenticated)?;
        let f = filter.unwrap_or_default();
        let mut q = blood_request::Entity::find()
            .filter(auth::requests::visible(&req.viewer, &req.db).await?);
        if let Some(s) = f.statuses {
            q = q.filter(blood_request::Column::Status.is_in(s));
        }
        if let Some(u) = f.urgencies {
            q = q.filter(blood_request::Column::Urgency.is_in(u));
        }
        if let Some(h) = &f.hospital_id {
            q = q.filter(blood_request::Column::HospitalId.eq(parse_id(h, "filter.hospitalId")?));
        }
        if let Some(b) = &f.blood_bank_id {
            let b = parse_id(b, "filter.bloodBankId")?;
            q = q.filter(
                Condition::any()
                    .add(blood_request::Column::BloodBankId.eq(b))
                    .add(blood_request::Column::TargetBankId.eq(b)),
            );
        }
        if let Some(t) = f.created_after {
            q = q.filter(blood_request::Column::CreatedAt.gte(t));
        }
        if let Some(t) = f.created_before {
            q = q.filter(blood_request::Column::CreatedAt.lt(t));
        }
        let order = order_by.unwrap_or_default();
        let keyset = Keyset::<blood_request::Entity> {
            key: match order.field {
                BloodRequestOrderField::Urgency => Some((
                    blood_request::Column::UrgencyRank,
                    |m: &blood_request::Model| SortValue::Int(i64::from(m.urgency_rank)),
                )),
                BloodRequestOrderField::CreatedAt => None,
            },
            id: blood_request::Column::Id,
            id_of: |m| m.id,
            direction: order.direction,
        };
        let args = PageArgs::new(first, after, last, before);
        // Patient data is decrypted only for a page that shows it (and reading it is audited
        // where it is shown, `types.rs`).
        let decode = if node_selects(ctx, &["patientName"]) || node_selects(ctx, &["medicalNotes"])
        {
            blood_request::decode
        } else {
            blood_request::decode_without_sealed
        };
        let page = fetch_selected_decoded(ctx, q, &keyset, &args, decode).await?;
        prime_relations(ctx, req, page.rows.iter().map(|(_, m)| m)).await?;
        Ok(page.into_connection(BloodRequest::from))
    }

    /// One request, if the caller may see it.
    async fn blood_request(&self, ctx: &Context<'_>, id: ID) -> AppResult<BloodRequest> {
        let req = ctx.authorized(Rule::Authenticated)?;
        let id = parse_id(&id, "id")?;
        let cond = auth::requests::visible(&req.viewer, &req.db)
            .await
            .map_err(|_| AppError::NotFound("blood request"))?;
        blood_request::Entity::find_by_id(id)
            .filter(cond)
            .one(&req.db)
            .await?
            .map(BloodRequest::from)
            .ok_or(AppError::NotFound("blood request"))
    }
}

/// Loads a page's organizations and requesting users in one query each and primes the
/// loaders, so the page costs the same statements whatever its length.
async fn prime_relations<'a>(
    ctx: &Context<'_>,
    req: &RequestCtx,
    rows: impl Iterator<Item = &'a blood_request::Model> + Clone,
) -> AppResult<()> {
    let orgs = ["hospital", "bloodBank", "targetBank"]
        .iter()
        .any(|f| node_selects(ctx, &[f]));
    if orgs {
        let ids = rows
            .clone()
            .flat_map(|m| [Some(m.hospital_id), m.blood_bank_id, m.target_bank_id])
            .flatten()
            .collect();
        prime_orgs(req, ids).await?;
    }
    if node_selects(ctx, &["requestedBy"]) {
        prime_users(req, rows.clone().filter_map(|m| m.requested_by_user_id)).await?;
    }
    if node_selects(ctx, &["units"]) {
        prime(&req.loaders.units_by_request, rows.map(|m| m.id)).await?;
    }
    Ok(())
}

/// Blood request mutations.
#[derive(Default)]
pub struct RequestMutation;

#[Object]
impl RequestMutation {
    /// Creates a request for a hospital (its admins, doctors and staff, or its API client
    /// with `blood-requests:write`). Safe to retry with an `idempotencyKey`.
    async fn create_blood_request(
        &self,
        ctx: &Context<'_>,
        input: CreateBloodRequestInput,
    ) -> AppResult<BloodRequestPayload> {
        pipeline::respond::<CreateBloodRequest, _>(ctx, input).await
    }

    /// A bank accepts a request, reserving its units atomically (all or `INSUFFICIENT_STOCK`).
    async fn accept_blood_request(
        &self,
        ctx: &Context<'_>,
        input: AcceptBloodRequestInput,
    ) -> AppResult<BloodRequestPayload> {
        pipeline::respond::<AcceptBloodRequest, _>(ctx, input).await
    }

    /// The accepting bank issues the reserved units.
    async fn fulfill_blood_request(
        &self,
        ctx: &Context<'_>,
        input: FulfillBloodRequestInput,
    ) -> AppResult<BloodRequestPayload> {
        pipeline::respond::<FulfillBloodRequest, _>(ctx, input).await
    }

    /// The addressed bank refuses a pending request, with a reason.
    async fn reject_blood_request(
        &self,
        ctx: &Context<'_>,
        input: BankResponseInput,
    ) -> AppResult<BloodRequestPayload> {
        pipeline::respond::<RejectBloodRequest, _>(ctx, input).await
    }

    /// A bank passes on an open request; it stays open to the others.
    async fn decline_blood_request(
        &self,
        ctx: &Context<'_>,
        input: BankResponseInput,
    ) -> AppResult<BloodRequestPayload> {
        pipeline::respond::<DeclineBloodRequest, _>(ctx, input).await
    }

    /// The hospital withdraws a request, with a reason; reserved units return to stock.
    async fn cancel_blood_request(
        &self,
        ctx: &Context<'_>,
        input: CancelBloodRequestInput,
    ) -> AppResult<BloodRequestPayload> {
        pipeline::respond::<CancelBloodRequest, _>(ctx, input).await
    }
}

//! Stock resolvers: queries filtered by `auth::stock`, mutations run as commands.

use super::{commands::*, service, types::*};
use crate::{
    auth::{self, Rule},
    blood::isbt::UnitNumber,
    error::{AppError, AppResult},
    graphql::{
        context::CtxExt,
        ids::parse_id,
        loaders::{prime, prime_orgs},
        pagination::{
            Conn, Keyset, PageArgs, SortDirection, SortKey, SortValue, fetch_selected, node_selects,
        },
    },
    pipeline,
    validation::GeoPoint,
};
use async_graphql::{Context, ID, Object};
use entity::{blood_transfer, blood_unit};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

#[derive(Default)]
pub struct StockQuery;

#[Object]
impl StockQuery {
    /// A bank's units (its members; super admins for any bank).
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, last, child_complexity)")]
    async fn blood_units(
        &self,
        ctx: &Context<'_>,
        filter: Option<BloodUnitFilter>,
        order_by: Option<BloodUnitOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<Conn<BloodUnit>> {
        let req = ctx.req()?;
        let f = filter.unwrap_or_default();
        let bank = f
            .blood_bank_id
            .as_ref()
            .map(|id| parse_id(id, "filter.bloodBankId"))
            .transpose()?;
        let mut q =
            blood_unit::Entity::find().filter(auth::stock::visible_units(&req.viewer, bank)?);
        if let Some(g) = f.blood_groups {
            q = q.filter(blood_unit::Column::BloodGroup.is_in(g));
        }
        if let Some(c) = f.components {
            q = q.filter(blood_unit::Column::Component.is_in(c));
        }
        if let Some(s) = f.statuses {
            q = q.filter(blood_unit::Column::Status.is_in(s));
        }
        if let Some(t) = f.expiring_before {
            q = q.filter(blood_unit::Column::ExpiresAt.lt(t));
        }
        let order = order_by.unwrap_or_default();
        let key: Option<SortKey<blood_unit::Entity>> = match order.field {
            BloodUnitOrderField::ExpiresAt => Some((blood_unit::Column::ExpiresAt, |m| {
                SortValue::Time(m.expires_at)
            })),
            BloodUnitOrderField::CreatedAt => None,
        };
        let keyset = Keyset::<blood_unit::Entity>::new(
            key,
            blood_unit::Column::Id,
            |m| m.id,
            order.direction,
        );
        let args = PageArgs::new(first, after, last, before);
        let page = fetch_selected(ctx, q, &keyset, &args).await?;
        if node_selects(ctx, &["bloodBank"]) {
            prime_orgs(
                req,
                page.rows.iter().map(|(_, m)| m.blood_bank_id).collect(),
            )
            .await?;
        }
        Ok(page.into_connection(BloodUnit::from))
    }

    /// A unit's whole history by its unit number (every component of the donation), for
    /// the members of the bank holding it and super admins.
    #[graphql(complexity = "crate::graphql::limits::list_cost(child_complexity)")]
    async fn blood_unit_history(
        &self,
        ctx: &Context<'_>,
        unit_number: String,
    ) -> AppResult<Vec<BloodUnitHistory>> {
        let req = ctx.authorized(Rule::Authenticated)?;
        let number = unit_number
            .trim()
            .trim_start_matches('=')
            .replace(' ', "")
            .to_uppercase();
        // A DIN is stored without its flags and check character.
        let din = if number.len() >= 14 && UnitNumber::parse(&number, false, "unitNumber").is_ok() {
            number[..13].to_string()
        } else {
            number
        };
        let found = service::history(&req.db, &din).await?;
        let visible: Vec<BloodUnitHistory> = found
            .into_iter()
            .filter(|(u, _)| auth::stock::sees_unit(&req.viewer, u))
            .map(|(u, ev)| BloodUnitHistory {
                unit: u.into(),
                events: ev.into_iter().map(Into::into).collect(),
            })
            .collect();
        if visible.is_empty() {
            return Err(AppError::NotFound("blood unit"));
        }
        Ok(visible)
    }

    /// A bank's transfers, sent and received, newest first (its members; super admins).
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, last, child_complexity)")]
    async fn transfers(
        &self,
        ctx: &Context<'_>,
        bank_id: ID,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<Conn<BloodTransfer>> {
        let req = ctx.req()?;
        let bank = parse_id(&bank_id, "bankId")?;
        let q = blood_transfer::Entity::find()
            .filter(auth::stock::visible_transfers(&req.viewer, bank)?);
        let keyset = Keyset::<blood_transfer::Entity>::new(
            None,
            blood_transfer::Column::Id,
            |m| m.id,
            SortDirection::Desc,
        );
        let args = PageArgs::new(first, after, last, before);
        let page = fetch_selected(ctx, q, &keyset, &args).await?;
        if node_selects(ctx, &["fromBank"]) || node_selects(ctx, &["toBank"]) {
            let banks = page
                .rows
                .iter()
                .flat_map(|(_, m)| [m.from_bank_id, m.to_bank_id])
                .collect();
            prime_orgs(req, banks).await?;
        }
        if node_selects(ctx, &["units"]) {
            let ids = page.rows.iter().map(|(_, m)| m.id);
            prime(&req.loaders.units_by_transfer, ids).await?;
        }
        Ok(page.into_connection(BloodTransfer::from))
    }

    /// Stock levels per bank, group and component (counts only). Hospitals and super admins
    /// see every approved bank; bank members their own banks.
    #[graphql(complexity = "crate::graphql::limits::list_cost(child_complexity)")]
    async fn stock_levels(
        &self,
        ctx: &Context<'_>,
        filter: Option<StockLevelFilter>,
    ) -> AppResult<Vec<StockLevel>> {
        let req = ctx.authorized(Rule::Authenticated)?;
        let f = filter.unwrap_or_default();
        let mut banks = auth::stock::visible_banks(&req.viewer, &req.db).await?;
        if let Some(ids) = &f.blood_bank_ids {
            let wanted = ids
                .iter()
                .map(|i| parse_id(i, "filter.bloodBankIds"))
                .collect::<AppResult<Vec<_>>>()?;
            banks.retain(|b| wanted.contains(b));
        }
        let levels = service::levels(
            &req.db,
            &banks,
            f.blood_groups.as_deref(),
            f.components.as_deref(),
        )
        .await?;
        if ctx.look_ahead().field("bloodBank").exists() {
            prime_orgs(req, levels.iter().map(|l| l.bank_id).collect()).await?;
        }
        Ok(levels)
    }

    /// Approved banks within the radius holding compatible, available, unexpired units,
    /// nearest first. For hospitals, blood banks and super admins.
    #[graphql(complexity = "crate::graphql::limits::list_cost(child_complexity)")]
    async fn find_compatible_stock(
        &self,
        ctx: &Context<'_>,
        input: FindCompatibleStockInput,
    ) -> AppResult<Vec<CompatibleBank>> {
        let req = ctx.authorized(Rule::Authenticated)?;
        auth::stock::searches_stock(&req.viewer)?;
        let point = GeoPoint::parse(input.near.latitude, input.near.longitude, "input.near.")?;
        let max = ctx.app()?.config.max_request_radius_km;
        let radius = input
            .radius_km
            .unwrap_or(ctx.app()?.config.default_request_radius_km);
        if !(radius > 0.0 && radius <= max) {
            return Err(AppError::bad_input(
                "input.radiusKm",
                format!("must be above 0 and at most {max}"),
            ));
        }
        if !(1..=100).contains(&input.units) {
            return Err(AppError::bad_input(
                "input.units",
                "must be between 1 and 100",
            ));
        }
        let matches = service::find_compatible(
            &req.db,
            input.blood_group,
            input.component,
            (point.latitude, point.longitude),
            radius,
            input.allow_emergency_override,
        )
        .await?;
        req.loaders
            .orgs
            .feed_many(
                matches
                    .iter()
                    .map(|m| (m.bank.id, std::sync::Arc::new(m.bank.clone().into()))),
            )
            .await;
        Ok(matches
            .into_iter()
            .map(|m| CompatibleBank::from_match(m, i64::from(input.units)))
            .collect())
    }
}

#[derive(Default)]
pub struct StockMutation;

#[Object]
impl StockMutation {
    /// Adds a batch of units to a bank's stock (its admins and staff, or its API client with
    /// `stock:write`): all or none.
    async fn add_blood_units(
        &self,
        ctx: &Context<'_>,
        input: AddBloodUnitsInput,
    ) -> AppResult<BloodUnitsPayload> {
        pipeline::respond::<AddBloodUnits, _>(ctx, input).await
    }

    /// Releases quarantined units for use.
    async fn release_blood_units(
        &self,
        ctx: &Context<'_>,
        input: ReleaseBloodUnitsInput,
    ) -> AppResult<BloodUnitsPayload> {
        pipeline::respond::<ReleaseBloodUnits, _>(ctx, input).await
    }

    /// Discards a unit, with a reason. Reserved and issued units cannot be discarded.
    async fn discard_blood_unit(
        &self,
        ctx: &Context<'_>,
        input: DiscardBloodUnitInput,
    ) -> AppResult<BloodUnitsPayload> {
        pipeline::respond::<DiscardBloodUnit, _>(ctx, input).await
    }

    /// Records the screening panel of quarantined units (the bank's admins and staff). A
    /// POSITIVE result discards every unit of the donation, defers the donor and alerts the
    /// banks holding its units (lookback).
    async fn record_unit_tests(
        &self,
        ctx: &Context<'_>,
        input: RecordUnitTestsInput,
    ) -> AppResult<BloodUnitsPayload> {
        pipeline::respond::<RecordUnitTests, _>(ctx, input).await
    }

    /// Separates a whole-blood unit into components sharing its DIN, each with its own
    /// expiry; the unit becomes PROCESSED. Returns the components.
    async fn separate_unit(
        &self,
        ctx: &Context<'_>,
        input: SeparateUnitInput,
    ) -> AppResult<BloodUnitsPayload> {
        pipeline::respond::<SeparateUnit, _>(ctx, input).await
    }

    /// Sends available units to another bank: they are IN_TRANSIT until it receives them.
    async fn transfer_units(
        &self,
        ctx: &Context<'_>,
        input: TransferUnitsInput,
    ) -> AppResult<BloodTransferPayload> {
        pipeline::respond::<TransferUnits, _>(ctx, input).await
    }

    /// The receiving bank takes a transfer: its units become AVAILABLE there.
    async fn receive_transfer(
        &self,
        ctx: &Context<'_>,
        transfer_id: ID,
    ) -> AppResult<BloodTransferPayload> {
        pipeline::respond::<ReceiveTransfer, _>(ctx, transfer_id).await
    }

    /// Sets the bank's critical threshold for a group and component (its admins).
    async fn set_stock_threshold(
        &self,
        ctx: &Context<'_>,
        input: SetStockThresholdInput,
    ) -> AppResult<StockThresholdPayload> {
        pipeline::respond::<SetStockThreshold, _>(ctx, input).await
    }
}

//! Stock resolvers: check the caller, call the service, map the result.

use super::{service, types::*};
use crate::auth::scope::Scope;
use crate::{
    audit::{AuditAction, Change},
    auth::{
        Rule, Viewer, authorize,
        policy::{ADMIN, ADMIN_STAFF, ANY_ROLE},
    },
    blood::isbt::UnitNumber,
    error::{AppError, AppResult},
    graphql::{
        context::{CtxExt, RequestCtx},
        ids::parse_id,
        loaders::prime_orgs,
        pagination::{Conn, Keyset, PageArgs, SortValue, fetch_selected, node_selects},
    },
    pipeline::mutate,
    validation::{GeoPoint, Text},
};
use async_graphql::{Context, Object};
use entity::{OrgKind, OrgStatus, UnitStatus, blood_unit, organization};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

/// Stock queries.
#[derive(Default)]
pub struct StockQuery;

/// Banks whose counts the caller may see: every approved bank for super admins and for
/// hospitals (the network shares counts with them), else the caller's own banks.
async fn visible_banks(req: &RequestCtx) -> AppResult<Vec<Uuid>> {
    let v = &req.viewer;
    let hospital = !v.approved_orgs(OrgKind::Hospital).is_empty()
        && (matches!(v, Viewer::User(_)) || v.client_has(Scope::StockRead));
    if v.is_super_admin() || hospital {
        let ids: Vec<Uuid> = organization::Entity::find()
            .select_only_id()
            .filter(organization::Column::Kind.eq(OrgKind::BloodBank))
            .filter(organization::Column::Status.eq(OrgStatus::Approved))
            .into_tuple()
            .all(&req.db)
            .await?;
        return Ok(ids);
    }
    let own = v.approved_orgs(OrgKind::BloodBank);
    if matches!(v, Viewer::Client(_)) && !v.client_has(Scope::StockRead) {
        return Ok(Vec::new());
    }
    Ok(own)
}

trait SelectId {
    fn select_only_id(self) -> Self;
}

impl SelectId for sea_orm::Select<organization::Entity> {
    fn select_only_id(self) -> Self {
        use sea_orm::QuerySelect;
        self.select_only().column(organization::Column::Id)
    }
}

#[Object]
impl StockQuery {
    /// A bank's units (its members; super admins for any bank).
    #[allow(clippy::too_many_arguments)]
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
        let mut q = blood_unit::Entity::find();
        match &f.blood_bank_id {
            Some(id) => {
                let bank = parse_id(id, "filter.bloodBankId")?;
                authorize(
                    &req.viewer,
                    Rule::ReadOrg {
                        org: bank,
                        roles: ANY_ROLE,
                        scope: Some(Scope::StockRead),
                    },
                )?;
                q = q.filter(blood_unit::Column::BloodBankId.eq(bank));
            }
            None => {
                authorize(&req.viewer, Rule::SuperAdmin).map_err(|e| match e {
                    AppError::Forbidden(_) => AppError::bad_input(
                        "filter.bloodBankId",
                        "name the bank whose units you want",
                    ),
                    other => other,
                })?;
            }
        }
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
        let keyset = Keyset::<blood_unit::Entity> {
            key: match order.field {
                BloodUnitOrderField::ExpiresAt => {
                    Some((blood_unit::Column::ExpiresAt, |m: &blood_unit::Model| {
                        SortValue::Time(m.expires_at)
                    }))
                }
                BloodUnitOrderField::CreatedAt => None,
            },
            id: blood_unit::Column::Id,
            id_of: |m| m.id,
            direction: order.direction,
        };
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let page = fetch_selected(ctx, q, &keyset, &args).await?;
        if node_selects(ctx, &["bloodBank"]) {
            let ids: Vec<Uuid> = page.rows.iter().map(|(_, m)| m.blood_bank_id).collect();
            prime_orgs(req, ids).await?;
        }
        Ok(page.into_connection(BloodUnit::from))
    }

    /// A unit's whole history by its unit number (every component of the donation), for
    /// the members of the bank holding it and super admins.
    async fn blood_unit_history(
        &self,
        ctx: &Context<'_>,
        unit_number: String,
    ) -> AppResult<Vec<BloodUnitHistory>> {
        let req = ctx.req()?;
        authorize(&req.viewer, Rule::Authenticated)?;
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
            .filter(|(u, _)| {
                authorize(
                    &req.viewer,
                    Rule::ReadOrg {
                        org: u.blood_bank_id,
                        roles: ANY_ROLE,
                        scope: Some(Scope::StockRead),
                    },
                )
                .is_ok()
            })
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

    /// Stock levels per bank, group and component (counts only). Hospitals and super admins
    /// see every approved bank; bank members their own banks.
    async fn stock_levels(
        &self,
        ctx: &Context<'_>,
        filter: Option<StockLevelFilter>,
    ) -> AppResult<Vec<StockLevel>> {
        let req = ctx.req()?;
        authorize(&req.viewer, Rule::Authenticated)?;
        let f = filter.unwrap_or_default();
        let mut banks = visible_banks(req).await?;
        if banks.is_empty() {
            return Err(AppError::Forbidden(
                "only hospitals, blood banks and super admins see stock levels",
            ));
        }
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
        Ok(levels.into_iter().map(StockLevel::from).collect())
    }

    /// Approved banks within the radius holding compatible, available, unexpired units,
    /// nearest first. For hospitals, blood banks and super admins.
    async fn find_compatible_stock(
        &self,
        ctx: &Context<'_>,
        input: FindCompatibleStockInput,
    ) -> AppResult<Vec<CompatibleBank>> {
        let req = ctx.req()?;
        authorize(&req.viewer, Rule::Authenticated)?;
        let v = &req.viewer;
        let member = !v.approved_orgs(OrgKind::Hospital).is_empty()
            || !v.approved_orgs(OrgKind::BloodBank).is_empty();
        let allowed = v.is_super_admin()
            || (member && (matches!(v, Viewer::User(_)) || v.client_has(Scope::StockRead)));
        if !allowed {
            return Err(AppError::Forbidden(
                "only hospitals, blood banks and super admins search stock",
            ));
        }
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
            .feed_many(matches.iter().map(|m| (m.bank.id, m.bank.clone())))
            .await;
        Ok(matches
            .into_iter()
            .map(|m| CompatibleBank::from_match(m, i64::from(input.units)))
            .collect())
    }
}

/// Stock mutations.
#[derive(Default)]
pub struct StockMutation;

fn bank_rule(bank: &AppResult<Uuid>, roles: &'static [entity::OrgRole]) -> Rule {
    Rule::act_for(
        bank,
        roles,
        Some(Scope::StockWrite),
        Some(OrgKind::BloodBank),
    )
}

#[Object]
impl StockMutation {
    /// Adds a batch of units to a bank's stock (its admins and staff, or its API client with
    /// `stock:write`): all or none.
    async fn add_blood_units(
        &self,
        ctx: &Context<'_>,
        input: AddBloodUnitsInput,
    ) -> AppResult<BloodUnitsPayload> {
        let bank = parse_id(&input.blood_bank_id, "input.bloodBankId");
        let rule = bank_rule(&bank, ADMIN_STAFF);
        let units = mutate(ctx, AuditAction::new("blood_unit.add", "blood_unit"), rule, move |txn, actor| {
            Box::pin(async move {
                let bank = bank?;
                let mut new = Vec::with_capacity(input.units.len());
                for (i, u) in input.units.into_iter().enumerate() {
                    new.push(service::NewUnit {
                        unit_number: UnitNumber::parse(&u.unit_number, u.is_local_barcode, &format!("input.units[{i}].unitNumber"))?,
                        component: u.component,
                        blood_group: u.blood_group,
                        volume_ml: u.volume_ml,
                        collected_on: u.collected_on,
                        expires_at: u.expires_at,
                        status: u.status,
                        donation_id: None,
                    });
                }
                let units = service::add_units(txn, bank, new, actor).await?;
                let combos: Vec<_> = units.iter().map(|u| (u.blood_group, u.component)).collect();
                let events = crate::alerts::service::check_stock(txn, bank, &combos).await?;
                let change = Change {
                    organization_id: Some(bank),
                    new: Some(json!({"units": units.iter().map(|u| json!({"id": u.id, "unitNumber": u.unit_number, "component": u.component})).collect::<Vec<_>>()})),
                    events,
                    ..Change::default()
                };
                Ok((units, change))
            })
        })
        .await?;
        Ok(BloodUnitsPayload {
            units: units.into_iter().map(Into::into).collect(),
        })
    }

    /// Releases quarantined units for use.
    async fn release_blood_units(
        &self,
        ctx: &Context<'_>,
        input: ReleaseBloodUnitsInput,
    ) -> AppResult<BloodUnitsPayload> {
        let bank = parse_id(&input.blood_bank_id, "input.bloodBankId");
        let rule = bank_rule(&bank, ADMIN_STAFF);
        let units = mutate(
            ctx,
            AuditAction::new("blood_unit.release", "blood_unit"),
            rule,
            move |txn, actor| {
                Box::pin(async move {
                    let bank = bank?;
                    let ids = input
                        .unit_ids
                        .iter()
                        .map(|i| parse_id(i, "input.unitIds"))
                        .collect::<AppResult<Vec<_>>>()?;
                    if ids.is_empty() {
                        return Err(AppError::bad_input(
                            "input.unitIds",
                            "give at least one unit",
                        ));
                    }
                    let units = service::transition(
                        txn,
                        bank,
                        &ids,
                        &[UnitStatus::Quarantined],
                        UnitStatus::Available,
                        None,
                        actor,
                    )
                    .await?;
                    let combos: Vec<_> =
                        units.iter().map(|u| (u.blood_group, u.component)).collect();
                    let events = crate::alerts::service::check_stock(txn, bank, &combos).await?;
                    let change = Change {
                        new: Some(json!({"released": ids})),
                        events,
                        ..Change::default()
                    };
                    Ok((units, change))
                })
            },
        )
        .await?;
        Ok(BloodUnitsPayload {
            units: units.into_iter().map(Into::into).collect(),
        })
    }

    /// Discards a unit, with a reason. Reserved and issued units cannot be discarded.
    async fn discard_blood_unit(
        &self,
        ctx: &Context<'_>,
        input: DiscardBloodUnitInput,
    ) -> AppResult<BloodUnitsPayload> {
        let bank = parse_id(&input.blood_bank_id, "input.bloodBankId");
        let rule = bank_rule(&bank, ADMIN_STAFF);
        let unit = parse_id(&input.unit_id, "input.unitId");
        let units = mutate(
            ctx,
            AuditAction::new("blood_unit.discard", "blood_unit"),
            rule,
            move |txn, actor| {
                Box::pin(async move {
                    let (bank, unit) = (bank?, unit?);
                    let reason = Text::parse(&input.reason, "input.reason", 500)?.into_inner();
                    let from = [
                        UnitStatus::Quarantined,
                        UnitStatus::Available,
                        UnitStatus::Expired,
                    ];
                    let units = service::transition(
                        txn,
                        bank,
                        &[unit],
                        &from,
                        UnitStatus::Discarded,
                        Some(reason.clone()),
                        actor,
                    )
                    .await?;
                    let combos: Vec<_> =
                        units.iter().map(|u| (u.blood_group, u.component)).collect();
                    let events = crate::alerts::service::check_stock(txn, bank, &combos).await?;
                    let change = Change {
                        entity_id: Some(unit),
                        new: Some(json!({"status": "DISCARDED", "reason": reason})),
                        events,
                        ..Change::default()
                    };
                    Ok((units, change))
                })
            },
        )
        .await?;
        Ok(BloodUnitsPayload {
            units: units.into_iter().map(Into::into).collect(),
        })
    }

    /// Sets the bank's critical threshold for a group and component (its admins).
    async fn set_stock_threshold(
        &self,
        ctx: &Context<'_>,
        input: SetStockThresholdInput,
    ) -> AppResult<StockThresholdPayload> {
        let bank = parse_id(&input.blood_bank_id, "input.bloodBankId");
        let rule = bank_rule(&bank, ADMIN);
        let t = mutate(ctx, AuditAction::new("stock_threshold.set", "stock_threshold"), rule, move |txn, _| {
            Box::pin(async move {
                let t = service::set_threshold(txn, bank?, input.blood_group, input.component, input.critical_threshold).await?;
                                let change = Change {
                    entity_id: Some(t.id),
                    new: Some(json!({"bloodGroup": t.blood_group, "component": t.component, "criticalThreshold": t.critical_threshold})),
                    ..Change::default()
                };
                Ok((t, change))
            })
        })
        .await?;
        Ok(StockThresholdPayload {
            threshold: StockThreshold {
                blood_group: t.blood_group,
                component: t.component,
                critical_threshold: t.critical_threshold,
            },
        })
    }
}

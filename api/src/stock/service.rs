//! Stock rules: adding units, moving them through their states (every change kept as an
//! event), thresholds, derived levels and the compatible-stock search.

use crate::{
    alerts::service::{AlertContent, NewAlert, Target, check_stock, raise},
    audit::Change,
    auth::Actor,
    blood::{
        compatibility, default_expires_at, eligibility::RuleSet, geo, isbt::UnitNumber, screening,
        shelf_life,
    },
    db::now,
    donors::service as donors,
    error::{AppError, AppResult},
    events::Event,
};
use async_graphql::SimpleObject;
use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    AlertKind, BloodGroup, Component, OrgKind, OrgStatus, Severity, StockStatus, TestResult,
    TransferStatus, UnitStatus, WireName, blood_transfer, blood_transfer_unit, blood_unit,
    blood_unit_event, blood_unit_test, donation, organization, stock_threshold,
};
use sea_orm::{
    ActiveEnum,
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement, Value,
    sea_query::{Expr, ExprTrait, OnConflict, SimpleExpr},
};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// A unit to add to stock.
pub struct NewUnit {
    /// ISBT 128 DIN or a local barcode.
    pub unit_number: UnitNumber,
    pub component: Component,
    /// The donor's group.
    pub blood_group: BloodGroup,
    /// In millilitres, 1 to 1,000.
    pub volume_ml: i32,
    /// Not in the future.
    pub collected_on: NaiveDate,
    /// Defaults to the collection date plus the component's shelf life.
    pub expires_at: Option<DateTime<Utc>>,
    /// `QUARANTINED` or `AVAILABLE`.
    pub status: UnitStatus,
    /// The donation it came from.
    pub donation_id: Option<Uuid>,
    /// Its screening panel, recorded with it: required for an `AVAILABLE` unit, and then
    /// clearing release (see [`add_units`]).
    pub panel: Option<Panel>,
}

/// A status change to record.
fn event(
    unit: &blood_unit::Model,
    from: Option<UnitStatus>,
    to: UnitStatus,
    request: Option<Uuid>,
    reason: Option<String>,
    actor: &Actor,
) -> blood_unit_event::ActiveModel {
    blood_unit_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        unit_id: Set(unit.id),
        blood_bank_id: Set(unit.blood_bank_id),
        from_status: Set(from),
        to_status: Set(to),
        request_id: Set(request),
        actor_user_id: Set(actor.user_id),
        actor_api_client_id: Set(actor.api_client_id),
        reason: Set(reason),
        created_at: Set(now()),
    }
}

/// Inserts events in one statement.
pub async fn record_events<C: ConnectionTrait>(
    db: &C,
    events: Vec<blood_unit_event::ActiveModel>,
) -> AppResult<()> {
    for chunk in events.chunks(500) {
        blood_unit_event::Entity::insert_many(chunk.to_vec())
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Adds a batch of units to a bank: all or none. A unit number and component already in
/// stock (anywhere) is a `CONFLICT`; inside the batch, a `BAD_USER_INPUT` naming the unit.
/// An `AVAILABLE` unit needs its panel, clearing release, which is recorded with it as
/// `recordUnitTests` records one ([`store_panels`]); without it, or with another result,
/// `BAD_USER_INPUT` on `input.units[i].tests` and nothing is written.
pub async fn add_units<C: ConnectionTrait>(
    db: &C,
    bank_id: Uuid,
    units: Vec<NewUnit>,
    actor: &Actor,
) -> AppResult<Vec<blood_unit::Model>> {
    if units.is_empty() {
        return Err(AppError::bad_input("input.units", "give at least one unit"));
    }
    let mut seen = HashSet::new();
    for (i, u) in units.iter().enumerate() {
        if !seen.insert((u.unit_number.as_str().to_string(), u.component)) {
            return Err(AppError::bad_input(
                format!("input.units[{i}].unitNumber"),
                "appears twice in this batch",
            ));
        }
        if !matches!(u.status, UnitStatus::Quarantined | UnitStatus::Available) {
            return Err(AppError::bad_input(
                format!("input.units[{i}].status"),
                "new units are QUARANTINED or AVAILABLE",
            ));
        }
        // No untested unit is available: an AVAILABLE unit comes with the panel release
        // asks for. A panel with another result (positive, inconclusive, a group not
        // confirmed) is recorded on a quarantined unit by `recordUnitTests`, whose lookback
        // it may start.
        match (u.status, u.panel) {
            (UnitStatus::Available, None) => {
                return Err(AppError::bad_input(
                    format!("input.units[{i}].tests"),
                    "an AVAILABLE unit needs its screening panel (tests); add it QUARANTINED \
                     until the tests come back",
                ));
            }
            (_, Some(p)) if !p.clears_release() => {
                return Err(AppError::bad_input(
                    format!("input.units[{i}].tests"),
                    "a panel given with a new unit has every test NEGATIVE and the ABO and Rh \
                     groups confirmed; record other results with recordUnitTests on the \
                     quarantined unit",
                ));
            }
            _ => {}
        }
    }
    let numbers: Vec<String> = seen.iter().map(|(n, _)| n.clone()).collect();
    let existing: Vec<(String, Component)> = blood_unit::Entity::find()
        .select_only()
        .column(blood_unit::Column::UnitNumber)
        .column(blood_unit::Column::Component)
        .filter(blood_unit::Column::UnitNumber.is_in(numbers))
        .into_tuple()
        .all(db)
        .await?;
    if let Some((n, c)) = existing.into_iter().find(|k| seen.contains(k)) {
        return Err(AppError::Conflict(format!(
            "unit {n} ({c:?}) is already in stock"
        )));
    }
    let t = now();
    let mut models = Vec::with_capacity(units.len());
    let mut panels = Vec::new();
    for (i, u) in units.into_iter().enumerate() {
        let collected = u
            .collected_on
            .and_hms_opt(0, 0, 0)
            .map(|d| d.and_utc())
            .unwrap_or(t);
        let expires_at = u.expires_at.unwrap_or(collected + shelf_life(u.component));
        if u.collected_on > t.date_naive() {
            return Err(AppError::bad_input(
                format!("input.units[{i}].collectedOn"),
                "cannot be in the future",
            ));
        }
        if expires_at <= collected {
            return Err(AppError::bad_input(
                format!("input.units[{i}].expiresAt"),
                "must be after the collection date",
            ));
        }
        if !(1..=1000).contains(&u.volume_ml) {
            return Err(AppError::bad_input(
                format!("input.units[{i}].volumeMl"),
                "must be between 1 and 1000",
            ));
        }
        let id = Uuid::now_v7();
        if let Some(p) = u.panel {
            panels.push((id, p));
        }
        models.push(blood_unit::Model {
            id,
            unit_number: u.unit_number.as_str().to_string(),
            is_local_barcode: u.unit_number.is_local(),
            component: u.component,
            blood_group: u.blood_group,
            blood_bank_id: bank_id,
            volume_ml: u.volume_ml,
            collected_on: u.collected_on,
            expires_at,
            status: u.status,
            reserved_for_request_id: None,
            reserved_until: None,
            donation_id: u.donation_id,
            expiry_alerted_at: None,
            parent_unit_id: None,
            created_at: t,
            updated_at: t,
        });
    }
    insert_units(db, &models).await?;
    store_panels(db, bank_id, &panels, actor, t).await?;
    let events = models
        .iter()
        .map(|m| event(m, None, m.status, None, None, actor))
        .collect();
    record_events(db, events).await?;
    Ok(models)
}

/// Inserts unit rows in chunks (bulk path, shared with the seeder).
pub async fn insert_units<C: ConnectionTrait>(
    db: &C,
    models: &[blood_unit::Model],
) -> AppResult<()> {
    for chunk in models.chunks(500) {
        let rows: Vec<blood_unit::ActiveModel> = chunk.iter().cloned().map(Into::into).collect();
        // A concurrent batch may have stored the same number and component since we looked.
        blood_unit::Entity::insert_many(rows)
            .exec(db)
            .await
            .map_err(crate::error::unique_violation)?;
    }
    Ok(())
}

/// Moves units of a bank from one of `from` to `to` with a conditional update, recording an
/// event per unit; when any unit is not in an allowed state nothing changes.
pub async fn transition<C: ConnectionTrait>(
    db: &C,
    bank_id: Uuid,
    unit_ids: &[Uuid],
    from: &[UnitStatus],
    to: UnitStatus,
    reason: Option<String>,
    actor: &Actor,
) -> AppResult<Vec<blood_unit::Model>> {
    let units = blood_unit::Entity::find()
        .filter(blood_unit::Column::Id.is_in(unit_ids.iter().copied()))
        .filter(blood_unit::Column::BloodBankId.eq(bank_id))
        .all(db)
        .await?;
    if units.len() != unit_ids.len() {
        return Err(AppError::NotFound("blood unit"));
    }
    if let Some(u) = units.iter().find(|u| !from.contains(&u.status)) {
        return Err(AppError::InvalidTransition {
            from: u.status.wire_name(),
            to: to.wire_name(),
        });
    }
    let t = now();
    let r = blood_unit::Entity::update_many()
        .col_expr(blood_unit::Column::Status, Expr::value(to))
        .col_expr(blood_unit::Column::UpdatedAt, Expr::value(t))
        .filter(blood_unit::Column::Id.is_in(unit_ids.iter().copied()))
        .filter(blood_unit::Column::Status.is_in(from.iter().copied()))
        .exec(db)
        .await?;
    if r.rows_affected != unit_ids.len() as u64 {
        // Someone moved a unit between our read and our write; the caller's transaction
        // rolls back and nothing changed.
        return Err(AppError::Conflict(
            "a unit changed state meanwhile; try again".into(),
        ));
    }
    let events = units
        .iter()
        .map(|u| event(u, Some(u.status), to, None, reason.clone(), actor))
        .collect();
    record_events(db, events).await?;
    Ok(units
        .into_iter()
        .map(|mut u| {
            u.status = to;
            u.updated_at = t;
            u
        })
        .collect())
}

/// The (group, component) pairs of units, whose thresholds a change may cross.
fn combos(units: &[blood_unit::Model]) -> Vec<(BloodGroup, Component)> {
    units.iter().map(|u| (u.blood_group, u.component)).collect()
}

/// Adds a batch of units to a bank's stock (see [`add_units`]) and checks the bank's
/// thresholds for them.
pub async fn add<C: ConnectionTrait>(
    db: &C,
    bank_id: Uuid,
    units: Vec<NewUnit>,
    actor: &Actor,
) -> AppResult<(Vec<blood_unit::Model>, Change)> {
    let units = add_units(db, bank_id, units, actor).await?;
    let change = Change {
        organization_id: Some(bank_id),
        new: Some(
            json!({"units": units.iter().map(|u| json!({"id": u.id, "unitNumber": u.unit_number, "component": u.component})).collect::<Vec<_>>()}),
        ),
        events: check_stock(db, bank_id, &combos(&units)).await?,
        ..Change::default()
    };
    Ok((units, change))
}

/// Releases quarantined units for use and checks the bank's thresholds (they count
/// available units). Each unit needs a recorded panel, every test negative and its group
/// confirmed ([`record_tests`]).
pub async fn release<C: ConnectionTrait>(
    db: &C,
    bank_id: Uuid,
    unit_ids: &[Uuid],
    actor: &Actor,
) -> AppResult<(Vec<blood_unit::Model>, Change)> {
    check_cleared(db, unit_ids).await?;
    let from = [UnitStatus::Quarantined];
    let to = UnitStatus::Available;
    let units = transition(db, bank_id, unit_ids, &from, to, None, actor).await?;
    let change = Change {
        new: Some(json!({"released": unit_ids})),
        events: check_stock(db, bank_id, &combos(&units)).await?,
        ..Change::default()
    };
    Ok((units, change))
}

/// Discards a quarantined, available or expired unit with a reason (reserved and issued
/// units cannot be) and checks the bank's thresholds.
pub async fn discard<C: ConnectionTrait>(
    db: &C,
    bank_id: Uuid,
    unit_id: Uuid,
    reason: String,
    actor: &Actor,
) -> AppResult<(Vec<blood_unit::Model>, Change)> {
    let from = [
        UnitStatus::Quarantined,
        UnitStatus::Available,
        UnitStatus::Expired,
    ];
    let to = UnitStatus::Discarded;
    let units = transition(
        db,
        bank_id,
        &[unit_id],
        &from,
        to,
        Some(reason.clone()),
        actor,
    )
    .await?;
    let change = Change {
        entity_id: Some(unit_id),
        new: Some(json!({"status": "DISCARDED", "reason": reason})),
        events: check_stock(db, bank_id, &combos(&units)).await?,
        ..Change::default()
    };
    Ok((units, change))
}

/// Sets (or replaces) a bank's critical threshold for a group and component. The alert
/// state is not re-checked: the next stock change does that.
pub async fn set_threshold<C: ConnectionTrait>(
    db: &C,
    bank_id: Uuid,
    group: BloodGroup,
    component: Component,
    threshold: i32,
) -> AppResult<(stock_threshold::Model, Change)> {
    let row = stock_threshold::ActiveModel {
        id: Set(Uuid::now_v7()),
        blood_bank_id: Set(bank_id),
        blood_group: Set(group),
        component: Set(component),
        critical_threshold: Set(threshold),
        in_alert: Set(false),
        updated_at: Set(now()),
    };
    stock_threshold::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                stock_threshold::Column::BloodBankId,
                stock_threshold::Column::BloodGroup,
                stock_threshold::Column::Component,
            ])
            .update_columns([
                stock_threshold::Column::CriticalThreshold,
                stock_threshold::Column::UpdatedAt,
            ])
            .to_owned(),
        )
        .exec(db)
        .await?;
    let t = stock_threshold::Entity::find()
        .filter(stock_threshold::Column::BloodBankId.eq(bank_id))
        .filter(stock_threshold::Column::BloodGroup.eq(group))
        .filter(stock_threshold::Column::Component.eq(component))
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal("threshold vanished after upsert"))?;
    let change = Change {
        entity_id: Some(t.id),
        new: Some(
            json!({"bloodGroup": t.blood_group, "component": t.component, "criticalThreshold": t.critical_threshold}),
        ),
        ..Change::default()
    };
    Ok((t, change))
}

/// Derived stock of one bank, group and component (counts, never unit rows).
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct StockLevel {
    pub blood_group: BloodGroup,
    pub component: Component,
    /// Available, unexpired units.
    pub available: i64,
    /// Units reserved for accepted requests.
    pub reserved: i64,
    /// Available units expiring within 3 days.
    pub expiring_soon: i64,
    /// Available ÷ average daily issues over the last 30 days; null when nothing was issued.
    pub days_of_stock: Option<f64>,
    /// The bank's threshold (0 when unset).
    pub critical_threshold: i32,
    /// RED below the threshold, AMBER below twice it, GREEN otherwise.
    pub status: StockStatus,
    #[graphql(skip)]
    pub bank_id: Uuid,
}

/// Stock status of `available` units against a critical threshold.
pub fn stock_status(available: i64, threshold: i32) -> StockStatus {
    let t = i64::from(threshold);
    if available < t {
        StockStatus::Red
    } else if available < 2 * t {
        StockStatus::Amber
    } else {
        StockStatus::Green
    }
}

/// Derives stock levels for the given banks: three statements whatever their number (counts
/// by state, issues over 30 days, thresholds).
pub async fn levels<C: ConnectionTrait>(
    db: &C,
    bank_ids: &[Uuid],
    groups: Option<&[BloodGroup]>,
    components: Option<&[Component]>,
) -> AppResult<Vec<StockLevel>> {
    if bank_ids.is_empty() {
        return Ok(Vec::new());
    }
    let t = now();
    let soon = t + chrono::Duration::days(3);
    let mut scope =
        Condition::all().add(blood_unit::Column::BloodBankId.is_in(bank_ids.iter().copied()));
    if let Some(g) = groups {
        scope = scope.add(blood_unit::Column::BloodGroup.is_in(g.iter().copied()));
    }
    if let Some(c) = components {
        scope = scope.add(blood_unit::Column::Component.is_in(c.iter().copied()));
    }
    let live = Condition::any()
        .add(
            Condition::all()
                .add(blood_unit::Column::Status.eq(UnitStatus::Available))
                .add(blood_unit::Column::ExpiresAt.gt(t)),
        )
        .add(blood_unit::Column::Status.eq(UnitStatus::Reserved));
    let soon_case: SimpleExpr = Expr::case(blood_unit::Column::ExpiresAt.lt(soon), 1)
        .finally(0)
        .into();
    let counts: Vec<(Uuid, BloodGroup, Component, UnitStatus, i64, i64)> =
        blood_unit::Entity::find()
            .select_only()
            .column(blood_unit::Column::BloodBankId)
            .column(blood_unit::Column::BloodGroup)
            .column(blood_unit::Column::Component)
            .column(blood_unit::Column::Status)
            .column_as(Expr::cust("COUNT(*)"), "n")
            // Counted in the same pass; a CASE in the select list needs no grouping, unlike a
            // bound comparison (Postgres sees two different parameters in SELECT and GROUP BY).
            .column_as(soon_case.sum(), "soon")
            .filter(scope.clone())
            .filter(live)
            .group_by(blood_unit::Column::BloodBankId)
            .group_by(blood_unit::Column::BloodGroup)
            .group_by(blood_unit::Column::Component)
            .group_by(blood_unit::Column::Status)
            .into_tuple()
            .all(db)
            .await?;
    let since = t - chrono::Duration::days(30);
    let issued: Vec<(Uuid, BloodGroup, Component, i64)> = blood_unit::Entity::find()
        .select_only()
        .column(blood_unit::Column::BloodBankId)
        .column(blood_unit::Column::BloodGroup)
        .column(blood_unit::Column::Component)
        .column_as(blood_unit::Column::Id.count(), "n")
        .inner_join(blood_unit_event::Entity)
        .filter(scope)
        .filter(blood_unit_event::Column::ToStatus.eq(UnitStatus::Issued))
        .filter(blood_unit_event::Column::CreatedAt.gt(since))
        .group_by(blood_unit::Column::BloodBankId)
        .group_by(blood_unit::Column::BloodGroup)
        .group_by(blood_unit::Column::Component)
        .into_tuple()
        .all(db)
        .await?;
    let thresholds = stock_threshold::Entity::find()
        .filter(stock_threshold::Column::BloodBankId.is_in(bank_ids.iter().copied()))
        .all(db)
        .await?;
    type Key = (Uuid, BloodGroup, Component);
    let mut acc: HashMap<Key, (i64, i64, i64)> = HashMap::new();
    for (bank, g, c, status, n, soon) in counts {
        let e = acc.entry((bank, g, c)).or_default();
        match status {
            UnitStatus::Available => {
                e.0 += n;
                e.2 += soon;
            }
            _ => e.1 += n,
        }
    }
    let mut limits: HashMap<Key, i32> = HashMap::new();
    for th in thresholds {
        if groups.is_some_and(|g| !g.contains(&th.blood_group))
            || components.is_some_and(|c| !c.contains(&th.component))
        {
            continue;
        }
        acc.entry((th.blood_bank_id, th.blood_group, th.component))
            .or_default();
        limits.insert(
            (th.blood_bank_id, th.blood_group, th.component),
            th.critical_threshold,
        );
    }
    let issues: HashMap<Key, i64> = issued
        .into_iter()
        .map(|(b, g, c, n)| ((b, g, c), n))
        .collect();
    let mut out: Vec<StockLevel> = acc
        .into_iter()
        .map(|((bank, g, c), (available, reserved, expiring_soon))| {
            let threshold = limits.get(&(bank, g, c)).copied().unwrap_or(0);
            let per_day = issues.get(&(bank, g, c)).map(|n| *n as f64 / 30.0);
            StockLevel {
                bank_id: bank,
                blood_group: g,
                component: c,
                available,
                reserved,
                expiring_soon,
                days_of_stock: per_day.filter(|d| *d > 0.0).map(|d| available as f64 / d),
                critical_threshold: threshold,
                status: stock_status(available, threshold),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        (a.bank_id, a.component, a.blood_group).cmp(&(b.bank_id, b.component, b.blood_group))
    });
    Ok(out)
}

/// A bank that holds compatible stock.
#[derive(Debug, Clone)]
pub struct BankMatch {
    pub bank: organization::Model,
    /// Great-circle distance from the search point.
    pub distance_km: f64,
    /// Compatible available units by group, in order of preference.
    pub units_by_group: Vec<(BloodGroup, i64)>,
    /// Total compatible units.
    pub total_units: i64,
    /// Soonest expiry among them.
    pub soonest_expiry: Option<DateTime<Utc>>,
}

/// Approved banks within `radius_km` of a point holding compatible, available, unexpired
/// units, nearest first. Two statements: banks in the bounding box, then one read of the
/// kept counts (see [`compatible_stock`]).
pub async fn find_compatible<C: ConnectionTrait>(
    db: &C,
    recipient: BloodGroup,
    component: Component,
    centre: (f64, f64),
    radius_km: f64,
    allow_override: bool,
) -> AppResult<Vec<BankMatch>> {
    let donors = compatibility::donors_for(recipient, component, allow_override);
    let bbox = geo::BoundingBox::around(centre.0, centre.1, radius_km);
    let banks = organization::Entity::find()
        .filter(organization::Column::Kind.eq(OrgKind::BloodBank))
        .filter(organization::Column::Status.eq(OrgStatus::Approved))
        .filter(organization::Column::Latitude.between(bbox.min_lat, bbox.max_lat))
        .filter(organization::Column::Longitude.between(bbox.min_lon, bbox.max_lon))
        .all(db)
        .await?;
    let mut near: HashMap<Uuid, (organization::Model, f64)> = HashMap::new();
    for b in banks {
        let d = geo::haversine_km(centre.0, centre.1, b.latitude, b.longitude);
        if d <= radius_km {
            near.insert(b.id, (b, d));
        }
    }
    if near.is_empty() || donors.is_empty() {
        return Ok(Vec::new());
    }
    let bank_ids: Vec<Uuid> = near.keys().copied().collect();
    let rows = compatible_stock(db, &bank_ids, component, &donors).await?;
    let mut per_bank: HashMap<Uuid, Vec<(BloodGroup, i64, DateTime<Utc>)>> = HashMap::new();
    for (bank, g, n, soonest) in rows {
        per_bank.entry(bank).or_default().push((g, n, soonest));
    }
    let mut out: Vec<BankMatch> = per_bank
        .into_iter()
        .filter_map(|(bank_id, mut groups)| {
            let (bank, d) = near.remove(&bank_id)?;
            groups
                .sort_by_key(|(g, _, _)| donors.iter().position(|x| x == g).unwrap_or(usize::MAX));
            Some(BankMatch {
                bank,
                distance_km: d,
                total_units: groups.iter().map(|(_, n, _)| n).sum(),
                soonest_expiry: groups.iter().map(|(_, _, s)| *s).min(),
                units_by_group: groups.into_iter().map(|(g, n, _)| (g, n)).collect(),
            })
        })
        .collect();
    out.sort_by(|a, b| {
        a.distance_km
            .total_cmp(&b.distance_km)
            .then(a.bank.id.cmp(&b.bank.id))
    });
    Ok(out)
}

/// Available, unexpired units of `component` per bank and group (of `groups`), with the
/// soonest expiry of each: `(bank, group, units, soonest)`, only where units > 0. One
/// statement whose cost follows the answer (banks × groups), not the stock.
///
/// It reads the kept count of each (bank, component, group) from `blood_stock_counts`
/// (triggers keep it in the transaction of every unit change: migration
/// `m20261202_000001_stock_counts`), and reads units only where the counts cannot answer:
///
/// - the count covers every `AVAILABLE` unit, but a unit past `expires_at` stays
///   `AVAILABLE` until the sweep marks it, so the available units with `expires_at <= now`
///   are counted by one range of `ix_blood_units_status_expiry` (status, expires_at) and
///   subtracted from their keys. The difference is
///   exactly the available, unexpired units: both sides are read by one statement, so from
///   one snapshot, in which the kept count equals the units' count (it changes in the
///   transaction that changes them). That range holds only the expired units the sweep has
///   not reached yet (it marks them every `SWEEP_INTERVAL_MS`), so it stays short; it grows
///   with a sweep backlog, never with the stock;
/// - the soonest expiry is kept in the count row too (`soonest_expiry`, the earliest
///   `expires_at` of the key's `AVAILABLE` units, by the same triggers: migration
///   `m20261204_000201_stock_soonest`). When it is after `now` it is the answer; when it is
///   not, an expired unit the sweep has not marked holds it, and for that row only the
///   statement seeks the first entry after `now` in `ix_blood_units_match` (bank,
///   component, status, group, expires_at). So the units are read only for keys in the
///   sweep's backlog: with none, the statement reads count rows and nothing else, and its
///   cost no longer depends on the size of the units' indexes (issue 14, second pass).
///
/// On Postgres the banks and groups are one array parameter each, so the statement text and
/// its parameters are the same whatever the number of banks, and the plan Postgres caches
/// after five executions (a generic plan) is the same index seeks as a custom plan: every
/// condition is an equality on a leading index column or the range on `expires_at`. Nothing
/// in the plan depends on how many banks or units there are, so this statement needs no
/// per-query plan setting (BENCHMARKS.md, "Issue 14: kept stock counts").
async fn compatible_stock<C: ConnectionTrait>(
    db: &C,
    bank_ids: &[Uuid],
    component: Component,
    groups: &[BloodGroup],
) -> AppResult<Vec<(Uuid, BloodGroup, i64, DateTime<Utc>)>> {
    let backend = db.get_database_backend();
    let postgres = backend == DbBackend::Postgres;
    let mut values: Vec<Value> = Vec::new();
    let param = |v: Value, values: &mut Vec<Value>| {
        values.push(v);
        if postgres {
            format!("${}", values.len())
        } else {
            "?".to_string()
        }
    };
    // SQLite binds in order of appearance, Postgres by number: build the text in the order
    // the placeholders appear in it.
    let t = now();
    let expired_t = param(t.into(), &mut values);
    let kept_t = param(t.into(), &mut values);
    let soonest_t = param(t.into(), &mut values);
    let (banks, groups_in) = if postgres {
        let ids = bank_ids
            .iter()
            .map(Uuid::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let gs = groups
            .iter()
            .map(WireName::wire_name)
            .collect::<Vec<_>>()
            .join(",");
        (
            format!(
                "= ANY({}::uuid[])",
                param(format!("{{{ids}}}").into(), &mut values)
            ),
            format!(
                "= ANY({}::text[])",
                param(format!("{{{gs}}}").into(), &mut values)
            ),
        )
    } else {
        let banks: Vec<String> = bank_ids
            .iter()
            .map(|b| param((*b).into(), &mut values))
            .collect();
        let gs: Vec<String> = groups
            .iter()
            .map(|g| param(g.wire_name().into(), &mut values))
            .collect();
        (
            format!("IN ({})", banks.join(", ")),
            format!("IN ({})", gs.join(", ")),
        )
    };
    let component_p = param(component.wire_name().into(), &mut values);
    let same_key = "u.blood_bank_id = c.blood_bank_id AND u.component = c.component \
         AND u.status = 'AVAILABLE' AND u.blood_group = c.blood_group";
    // The expired-but-available units are read once, by one index-only range of
    // `ix_blood_units_available_expiry` over the whole network (the sweep's backlog), rather
    // than by a seek per count row. The kept soonest expiry answers unless an expired unit
    // holds it; only then (CASE evaluates its branch lazily on both databases) one seek.
    let sql = format!(
        "WITH expired AS (SELECT blood_bank_id, component, blood_group, COUNT(*) AS n \
           FROM blood_units WHERE status = 'AVAILABLE' AND expires_at <= {expired_t} \
           GROUP BY blood_bank_id, component, blood_group) \
         SELECT c.blood_bank_id, c.blood_group, c.available - COALESCE(e.n, 0) AS n, \
         CASE WHEN c.soonest_expiry > {kept_t} THEN c.soonest_expiry \
         ELSE (SELECT MIN(u.expires_at) FROM blood_units u \
           WHERE {same_key} AND u.expires_at > {soonest_t}) END AS soonest \
         FROM blood_stock_counts c LEFT JOIN expired e \
           ON e.blood_bank_id = c.blood_bank_id AND e.component = c.component \
           AND e.blood_group = c.blood_group \
         WHERE c.blood_bank_id {banks} AND c.blood_group {groups_in} \
         AND c.component = {component_p} AND c.available > 0"
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let n: i64 = r.try_get("", "n")?;
        let soonest: Option<DateTime<Utc>> = r.try_get("", "soonest")?;
        // Every unit of the key has expired: nothing to offer.
        let Some(soonest) = soonest.filter(|_| n > 0) else {
            continue;
        };
        let group: String = r.try_get("", "blood_group")?;
        let group = BloodGroup::try_from_value(&group)
            .map_err(|_| AppError::internal("unknown blood group in blood_stock_counts"))?;
        out.push((r.try_get("", "blood_bank_id")?, group, n, soonest));
    }
    Ok(out)
}

/// A unit and its history, found by unit number.
pub async fn history<C: ConnectionTrait>(
    db: &C,
    unit_number: &str,
) -> AppResult<Vec<(blood_unit::Model, Vec<blood_unit_event::Model>)>> {
    let units = blood_unit::Entity::find()
        .filter(blood_unit::Column::UnitNumber.eq(unit_number))
        .order_by_asc(blood_unit::Column::Component)
        .all(db)
        .await?;
    if units.is_empty() {
        return Ok(Vec::new());
    }
    let events = blood_unit_event::Entity::find()
        .filter(blood_unit_event::Column::UnitId.is_in(units.iter().map(|u| u.id)))
        .order_by_asc(blood_unit_event::Column::Id)
        .all(db)
        .await?;
    let mut by_unit: HashMap<Uuid, Vec<blood_unit_event::Model>> = HashMap::new();
    for e in events {
        by_unit.entry(e.unit_id).or_default().push(e);
    }
    Ok(units
        .into_iter()
        .map(|u| {
            let ev = by_unit.remove(&u.id).unwrap_or_default();
            (u, ev)
        })
        .collect())
}

/// A screening panel as recorded for units.
#[derive(Debug, Clone, Copy)]
pub struct Panel {
    /// HIV, HBV, HCV, syphilis, malaria, in [`screening::MARKERS`] order.
    pub results: [TestResult; 5],
    pub abo_confirmed: bool,
    pub rh_confirmed: bool,
}

impl Panel {
    /// Every test negative, the group confirmed (the seeders' screened stock).
    pub const CLEARED: Panel = Panel {
        results: [TestResult::Negative; 5],
        abo_confirmed: true,
        rh_confirmed: true,
    };

    /// Every test negative and the group confirmed: what release asks for (the same rule
    /// as a recorded panel's, `blood_unit_test::clears_release`).
    pub fn clears_release(&self) -> bool {
        blood_unit_test::clears_release(self.results, self.abo_confirmed, self.rh_confirmed)
    }
}

/// The bank holding a unit, if the unit exists (what a command's rule depends on).
pub async fn unit_bank<C: ConnectionTrait>(db: &C, unit_id: Uuid) -> AppResult<Option<Uuid>> {
    Ok(blood_unit::Entity::find_by_id(unit_id)
        .select_only()
        .column(blood_unit::Column::BloodBankId)
        .into_tuple()
        .one(db)
        .await?)
}

/// A bank's units by id, in the order asked; `NOT_FOUND` when one is not held by the bank.
async fn bank_units<C: ConnectionTrait>(
    db: &C,
    bank_id: Uuid,
    unit_ids: &[Uuid],
) -> AppResult<Vec<blood_unit::Model>> {
    let mut found: HashMap<Uuid, blood_unit::Model> = blood_unit::Entity::find()
        .filter(blood_unit::Column::Id.is_in(unit_ids.iter().copied()))
        .filter(blood_unit::Column::BloodBankId.eq(bank_id))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    unit_ids
        .iter()
        .map(|id| found.remove(id).ok_or(AppError::NotFound("blood unit")))
        .collect()
}

/// Writes units' screening panels, replacing earlier ones: what `recordUnitTests` and a
/// unit added `AVAILABLE` with its panel both record.
async fn store_panels<C: ConnectionTrait>(
    db: &C,
    bank_id: Uuid,
    panels: &[(Uuid, Panel)],
    actor: &Actor,
    at: DateTime<Utc>,
) -> AppResult<()> {
    for chunk in panels.chunks(500) {
        let rows: Vec<blood_unit_test::ActiveModel> = chunk
            .iter()
            .map(|(unit, panel)| blood_unit_test::ActiveModel {
                unit_id: Set(*unit),
                blood_bank_id: Set(bank_id),
                hiv: Set(panel.results[0]),
                hbv: Set(panel.results[1]),
                hcv: Set(panel.results[2]),
                syphilis: Set(panel.results[3]),
                malaria: Set(panel.results[4]),
                abo_confirmed: Set(panel.abo_confirmed),
                rh_confirmed: Set(panel.rh_confirmed),
                recorded_by_user_id: Set(actor.user_id),
                recorded_by_api_client_id: Set(actor.api_client_id),
                recorded_at: Set(at),
            })
            .collect();
        blood_unit_test::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::column(blood_unit_test::Column::UnitId)
                    .update_columns([
                        blood_unit_test::Column::BloodBankId,
                        blood_unit_test::Column::Hiv,
                        blood_unit_test::Column::Hbv,
                        blood_unit_test::Column::Hcv,
                        blood_unit_test::Column::Syphilis,
                        blood_unit_test::Column::Malaria,
                        blood_unit_test::Column::AboConfirmed,
                        blood_unit_test::Column::RhConfirmed,
                        blood_unit_test::Column::RecordedByUserId,
                        blood_unit_test::Column::RecordedByApiClientId,
                        blood_unit_test::Column::RecordedAt,
                    ])
                    .to_owned(),
            )
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Records a screening panel for quarantined units of a bank (replacing an earlier one).
/// A positive result starts the lookback ([`lookback`]): every unit of the donation is
/// discarded wherever it is, the donor is deferred and the banks concerned are alerted.
pub async fn record_tests<C: ConnectionTrait>(
    db: &C,
    rules: &RuleSet,
    bank_id: Uuid,
    unit_ids: &[Uuid],
    panel: Panel,
    actor: &Actor,
) -> AppResult<(Vec<blood_unit::Model>, Change)> {
    let units = bank_units(db, bank_id, unit_ids).await?;
    if let Some((i, u)) = units
        .iter()
        .enumerate()
        .find(|(_, u)| u.status != UnitStatus::Quarantined)
    {
        return Err(AppError::bad_input(
            format!("input.unitIds[{i}]"),
            format!(
                "unit {} is {}: tests are recorded for quarantined units",
                u.unit_number,
                u.status.wire_name()
            ),
        ));
    }
    let rows: Vec<(Uuid, Panel)> = units.iter().map(|u| (u.id, panel)).collect();
    store_panels(db, bank_id, &rows, actor, now()).await?;
    let positive = panel.results.contains(&TestResult::Positive);
    let mut change = Change {
        organization_id: Some(bank_id),
        // Which units were tested and whether the lookback ran; never the results.
        new: Some(json!({"units": unit_ids, "lookback": positive})),
        ..Change::default()
    };
    if !positive {
        return Ok((units, change));
    }
    let (after, events) = lookback(db, rules, &units, panel, actor).await?;
    change.events = events;
    let by_id: HashMap<Uuid, blood_unit::Model> = after.into_iter().map(|u| (u.id, u)).collect();
    let units = units
        .into_iter()
        .map(|u| by_id.get(&u.id).cloned().unwrap_or(u))
        .collect();
    Ok((units, change))
}

/// After a positive panel on `tested`: discards every unit of the same donations (the same
/// donation, the same DIN, or separated from one of them) that is still the service's to
/// stop (quarantined, available, expired, in transit or reserved: a reserved unit is
/// withdrawn from its request and never issued), defers each donor by
/// [`screening::deferral_after`], and alerts every bank holding one of those units, naming
/// the reserved units withdrawn and the issued units to recall (an issued unit has left the
/// bank: only people can get it back). Returns the units it changed and the events.
async fn lookback<C: ConnectionTrait>(
    db: &C,
    rules: &RuleSet,
    tested: &[blood_unit::Model],
    panel: Panel,
    actor: &Actor,
) -> AppResult<(Vec<blood_unit::Model>, Vec<Event>)> {
    let donations: HashSet<Uuid> = tested.iter().filter_map(|u| u.donation_id).collect();
    let numbers: HashSet<String> = tested
        .iter()
        .filter(|u| !u.is_local_barcode)
        .map(|u| u.unit_number.clone())
        .collect();
    let ids: HashSet<Uuid> = tested.iter().map(|u| u.id).collect();
    let mut same = Condition::any().add(blood_unit::Column::Id.is_in(ids.iter().copied()));
    if !donations.is_empty() {
        same = same.add(blood_unit::Column::DonationId.is_in(donations.iter().copied()));
    }
    if !numbers.is_empty() {
        same = same.add(blood_unit::Column::UnitNumber.is_in(numbers.iter().cloned()));
    }
    let mut related = blood_unit::Entity::find().filter(same).all(db).await?;
    // Components separated from a unit of the donation (a local barcode shares no DIN).
    let parents: Vec<Uuid> = related.iter().map(|u| u.id).collect();
    let known: HashSet<Uuid> = parents.iter().copied().collect();
    let children = blood_unit::Entity::find()
        .filter(blood_unit::Column::ParentUnitId.is_in(parents))
        .all(db)
        .await?;
    related.extend(children.into_iter().filter(|c| !known.contains(&c.id)));

    let stoppable = [
        UnitStatus::Quarantined,
        UnitStatus::Available,
        UnitStatus::Expired,
        UnitStatus::InTransit,
        UnitStatus::Reserved,
    ];
    let (to_discard, rest): (Vec<_>, Vec<_>) = related
        .into_iter()
        .partition(|u| stoppable.contains(&u.status));
    let t = now();
    let reason = "lookback: positive screening test of the donation".to_string();
    if !to_discard.is_empty() {
        blood_unit::Entity::update_many()
            .col_expr(
                blood_unit::Column::Status,
                Expr::value(UnitStatus::Discarded),
            )
            .col_expr(
                blood_unit::Column::ReservedForRequestId,
                Expr::value(Option::<Uuid>::None),
            )
            .col_expr(
                blood_unit::Column::ReservedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(blood_unit::Column::UpdatedAt, Expr::value(t))
            .filter(blood_unit::Column::Id.is_in(to_discard.iter().map(|u| u.id)))
            .filter(blood_unit::Column::Status.is_in(stoppable))
            .exec(db)
            .await?;
        let events = to_discard
            .iter()
            .map(|u| {
                event(
                    u,
                    Some(u.status),
                    UnitStatus::Discarded,
                    u.reserved_for_request_id,
                    Some(reason.clone()),
                    actor,
                )
            })
            .collect();
        record_events(db, events).await?;
    }

    // Defer each donor of the donations.
    let mut all_donations: HashSet<Uuid> = donations;
    all_donations.extend(to_discard.iter().chain(&rest).filter_map(|u| u.donation_id));
    if let Some(deferral) = screening::deferral_after(panel.results, t.date_naive()) {
        let donors: Vec<Uuid> = donation::Entity::find()
            .select_only()
            .column(donation::Column::DonorId)
            .filter(donation::Column::Id.is_in(all_donations))
            .distinct()
            .into_tuple()
            .all(db)
            .await?;
        for d in donors {
            donors::defer(db, rules, d, deferral.clone()).await?;
        }
    }

    // One alert per bank holding a unit of the donation.
    let mut per_bank: HashMap<Uuid, (Vec<&blood_unit::Model>, Vec<&blood_unit::Model>)> =
        HashMap::new();
    for u in &to_discard {
        per_bank.entry(u.blood_bank_id).or_default().0.push(u);
    }
    for u in rest.iter().filter(|u| u.status == UnitStatus::Issued) {
        per_bank.entry(u.blood_bank_id).or_default().1.push(u);
    }
    let din = tested
        .first()
        .map(|u| u.unit_number.clone())
        .unwrap_or_default();
    let mut events = Vec::new();
    let mut banks: Vec<Uuid> = per_bank.keys().copied().collect();
    banks.sort();
    for bank in banks {
        let (discarded, issued) = &per_bank[&bank];
        let withdrawn: Vec<String> = discarded
            .iter()
            .filter_map(|u| u.reserved_for_request_id)
            .map(|r| r.to_string())
            .collect();
        let mut message = format!(
            "Donation {din}: {} unit(s) discarded at this bank.",
            discarded.len()
        );
        if !withdrawn.is_empty() {
            message.push_str(&format!(
                " Reserved units withdrawn from request(s) {}: supply them again.",
                withdrawn.join(", ")
            ));
        }
        if !issued.is_empty() {
            let numbers: Vec<String> = issued
                .iter()
                .map(|u| format!("{} {}", u.unit_number, u.component.wire_name()))
                .collect();
            message.push_str(&format!(
                " Issued unit(s) to recall: {}.",
                numbers.join(", ")
            ));
        }
        events.extend(
            raise(
                db,
                NewAlert {
                    content: AlertContent::new(
                        AlertKind::Lookback,
                        Severity::Critical,
                        format!("Lookback: donation {din} discarded"),
                        message,
                    ),
                    organization_id: Some(bank),
                    location: None,
                    radius_km: None,
                    related: tested.first().map(|u| ("blood_unit", u.id)),
                    target: Target::Orgs(vec![bank]),
                },
            )
            .await?,
        );
        let owned: Vec<blood_unit::Model> = discarded.iter().map(|u| (*u).clone()).collect();
        events.extend(check_stock(db, bank, &combos(&owned)).await?);
    }
    let changed = to_discard
        .into_iter()
        .map(|mut u| {
            u.status = UnitStatus::Discarded;
            u.reserved_for_request_id = None;
            u.reserved_until = None;
            u.updated_at = t;
            u
        })
        .collect();
    Ok((changed, events))
}

/// Refuses to release a unit whose panel is missing, not all negative, or without a
/// confirmed group: `BAD_USER_INPUT` on `input.unitIds[i]` with `extensions.reason`
/// `UNTESTED` or `NOT_CLEARED`.
async fn check_cleared<C: ConnectionTrait>(db: &C, unit_ids: &[Uuid]) -> AppResult<()> {
    let panels: HashMap<Uuid, blood_unit_test::Model> = blood_unit_test::Entity::find()
        .filter(blood_unit_test::Column::UnitId.is_in(unit_ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.unit_id, p))
        .collect();
    for (i, id) in unit_ids.iter().enumerate() {
        let refusal = match panels.get(id) {
            None => Some((
                "UNTESTED",
                "no screening panel is recorded for this unit (recordUnitTests)",
            )),
            Some(p) if !p.clears_release() => Some((
                "NOT_CLEARED",
                "release needs every screening test NEGATIVE and the ABO and Rh groups confirmed",
            )),
            Some(_) => None,
        };
        if let Some((reason, message)) = refusal {
            tracing::debug!(unit = %id, index = i, reason, "release refused");
            return Err(AppError::NotEligible {
                field: "input.unitIds",
                reason,
                message,
            });
        }
    }
    Ok(())
}

/// Separates a whole-blood unit into components sharing its DIN, each with its own expiry
/// (from the collection date and its shelf life) and volume; the parent becomes `PROCESSED`.
/// The components keep the parent's state (quarantined or available) and its panel.
pub async fn separate<C: ConnectionTrait>(
    db: &C,
    bank_id: Uuid,
    unit_id: Uuid,
    into: &[Component],
    actor: &Actor,
) -> AppResult<(Vec<blood_unit::Model>, Change)> {
    let parent = bank_units(db, bank_id, &[unit_id])
        .await?
        .pop()
        .ok_or(AppError::NotFound("blood unit"))?;
    if parent.component != Component::WholeBlood {
        return Err(AppError::bad_input(
            "input.unitId",
            "only a whole-blood unit is separated; this unit is already a component",
        ));
    }
    let t = now();
    let separable = [UnitStatus::Quarantined, UnitStatus::Available];
    if !separable.contains(&parent.status) {
        return Err(AppError::InvalidTransition {
            from: parent.status.wire_name(),
            to: UnitStatus::Processed.wire_name(),
        });
    }
    if parent.expires_at <= t {
        return Err(AppError::InvalidTransition {
            from: UnitStatus::Expired.wire_name(),
            to: UnitStatus::Processed.wire_name(),
        });
    }
    let collected = parent
        .collected_on
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc())
        .unwrap_or(t);
    let children: Vec<blood_unit::Model> = into
        .iter()
        .map(|c| blood_unit::Model {
            id: Uuid::now_v7(),
            unit_number: parent.unit_number.clone(),
            is_local_barcode: parent.is_local_barcode,
            component: *c,
            blood_group: parent.blood_group,
            blood_bank_id: bank_id,
            volume_ml: screening::separated_volume_ml(*c, parent.volume_ml),
            collected_on: parent.collected_on,
            // Never past the parent's own expiry when that was set shorter.
            expires_at: default_expires_at(*c, collected),
            status: parent.status,
            reserved_for_request_id: None,
            reserved_until: None,
            donation_id: parent.donation_id,
            expiry_alerted_at: None,
            parent_unit_id: Some(parent.id),
            created_at: t,
            updated_at: t,
        })
        .collect();
    // The parent first: the conditional update refuses a unit another writer moved.
    let processed = transition(
        db,
        bank_id,
        &[parent.id],
        &separable,
        UnitStatus::Processed,
        Some("separated into components".into()),
        actor,
    )
    .await?;
    // A component of this DIN already in stock is a CONFLICT (one per DIN and component).
    insert_units(db, &children).await?;
    let events = children
        .iter()
        .map(|m| {
            event(
                m,
                None,
                m.status,
                None,
                Some(format!("separated from {}", parent.id)),
                actor,
            )
        })
        .collect();
    record_events(db, events).await?;
    if let Some(p) = blood_unit_test::Entity::find_by_id(parent.id)
        .one(db)
        .await?
    {
        let copies: Vec<blood_unit_test::ActiveModel> = children
            .iter()
            .map(|c| {
                let mut row = p.clone();
                row.unit_id = c.id;
                row.into()
            })
            .collect();
        blood_unit_test::Entity::insert_many(copies)
            .exec(db)
            .await?;
    }
    let mut touched = children.clone();
    touched.extend(processed);
    let change = Change {
        organization_id: Some(bank_id),
        entity_id: Some(parent.id),
        new: Some(json!({
            "status": "PROCESSED",
            "components": children.iter().map(|c| json!({"id": c.id, "component": c.component})).collect::<Vec<_>>(),
        })),
        events: check_stock(db, bank_id, &combos(&touched)).await?,
        ..Change::default()
    };
    Ok((children, change))
}

/// Sends available, unexpired units of one bank to another: the units go `IN_TRANSIT`
/// (out of the sender's stock, not yet in the receiver's, never reserved) until the
/// receiving bank takes them ([`receive_transfer`]). Reserved, issued, quarantined or
/// expired units are refused (`INVALID_TRANSITION`); a unit an accept reserved meanwhile
/// fails the conditional update (`CONFLICT`) and nothing moves.
pub async fn transfer<C: ConnectionTrait>(
    db: &C,
    from_bank: Uuid,
    to_bank: Uuid,
    unit_ids: &[Uuid],
    actor: &Actor,
) -> AppResult<(blood_transfer::Model, Change)> {
    if from_bank == to_bank {
        return Err(AppError::bad_input(
            "input.toBankId",
            "a bank does not transfer units to itself",
        ));
    }
    let receiver = organization::Entity::find_by_id(to_bank)
        .filter(organization::Column::Kind.eq(OrgKind::BloodBank))
        .filter(organization::Column::Status.eq(OrgStatus::Approved))
        .one(db)
        .await?;
    if receiver.is_none() {
        return Err(AppError::NotFound("blood bank"));
    }
    let units = bank_units(db, from_bank, unit_ids).await?;
    let t = now();
    if let Some(u) = units.iter().find(|u| u.status != UnitStatus::Available) {
        return Err(AppError::InvalidTransition {
            from: u.status.wire_name(),
            to: UnitStatus::InTransit.wire_name(),
        });
    }
    if units.iter().any(|u| u.expires_at <= t) {
        return Err(AppError::InvalidTransition {
            from: UnitStatus::Expired.wire_name(),
            to: UnitStatus::InTransit.wire_name(),
        });
    }
    let row = blood_transfer::Model {
        id: Uuid::now_v7(),
        from_bank_id: from_bank,
        to_bank_id: to_bank,
        status: TransferStatus::InTransit,
        unit_count: i32::try_from(unit_ids.len()).unwrap_or(i32::MAX),
        sent_by_user_id: actor.user_id,
        sent_by_api_client_id: actor.api_client_id,
        received_by_user_id: None,
        received_by_api_client_id: None,
        sent_at: t,
        received_at: None,
    };
    blood_transfer::Entity::insert(blood_transfer::ActiveModel::from(row.clone()))
        .exec_without_returning(db)
        .await?;
    let links: Vec<blood_transfer_unit::ActiveModel> = unit_ids
        .iter()
        .map(|u| blood_transfer_unit::ActiveModel {
            transfer_id: Set(row.id),
            unit_id: Set(*u),
        })
        .collect();
    blood_transfer_unit::Entity::insert_many(links)
        .exec_without_returning(db)
        .await?;
    let moved = transition(
        db,
        from_bank,
        unit_ids,
        &[UnitStatus::Available],
        UnitStatus::InTransit,
        Some(format!("transfer {} to bank {to_bank}", row.id)),
        actor,
    )
    .await?;
    let change = Change {
        organization_id: Some(from_bank),
        entity_id: Some(row.id),
        new: Some(json!({"toBankId": to_bank, "units": unit_ids})),
        events: check_stock(db, from_bank, &combos(&moved)).await?,
        ..Change::default()
    };
    Ok((row, change))
}

/// The receiving bank of a transfer, if it exists.
pub async fn transfer_receiver<C: ConnectionTrait>(
    db: &C,
    transfer_id: Uuid,
) -> AppResult<Option<Uuid>> {
    Ok(blood_transfer::Entity::find_by_id(transfer_id)
        .select_only()
        .column(blood_transfer::Column::ToBankId)
        .into_tuple()
        .one(db)
        .await?)
}

/// The receiving bank takes a transfer: its units still in transit become `AVAILABLE` in
/// the receiving bank (a unit the lookback discarded on the way stays discarded). Receiving
/// twice is `INVALID_TRANSITION` (a conditional update, so two receipts at once get one).
pub async fn receive_transfer<C: ConnectionTrait>(
    db: &C,
    transfer_id: Uuid,
    actor: &Actor,
) -> AppResult<(blood_transfer::Model, Change)> {
    let t = now();
    let flipped = blood_transfer::Entity::update_many()
        .col_expr(
            blood_transfer::Column::Status,
            Expr::value(TransferStatus::Received),
        )
        .col_expr(blood_transfer::Column::ReceivedAt, Expr::value(Some(t)))
        .col_expr(
            blood_transfer::Column::ReceivedByUserId,
            Expr::value(actor.user_id),
        )
        .col_expr(
            blood_transfer::Column::ReceivedByApiClientId,
            Expr::value(actor.api_client_id),
        )
        .filter(blood_transfer::Column::Id.eq(transfer_id))
        .filter(blood_transfer::Column::Status.eq(TransferStatus::InTransit))
        .exec(db)
        .await?;
    let transfer = blood_transfer::Entity::find_by_id(transfer_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("transfer"))?;
    if flipped.rows_affected == 0 {
        return Err(AppError::InvalidTransition {
            from: transfer.status.wire_name(),
            to: TransferStatus::Received.wire_name(),
        });
    }
    let unit_ids: Vec<Uuid> = blood_transfer_unit::Entity::find()
        .select_only()
        .column(blood_transfer_unit::Column::UnitId)
        .filter(blood_transfer_unit::Column::TransferId.eq(transfer_id))
        .into_tuple()
        .all(db)
        .await?;
    let arriving = blood_unit::Entity::find()
        .filter(blood_unit::Column::Id.is_in(unit_ids.iter().copied()))
        .filter(blood_unit::Column::Status.eq(UnitStatus::InTransit))
        .all(db)
        .await?;
    let to = transfer.to_bank_id;
    blood_unit::Entity::update_many()
        .col_expr(
            blood_unit::Column::Status,
            Expr::value(UnitStatus::Available),
        )
        .col_expr(blood_unit::Column::BloodBankId, Expr::value(to))
        .col_expr(blood_unit::Column::UpdatedAt, Expr::value(t))
        .filter(blood_unit::Column::Id.is_in(arriving.iter().map(|u| u.id)))
        .filter(blood_unit::Column::Status.eq(UnitStatus::InTransit))
        .exec(db)
        .await?;
    let arrived: Vec<blood_unit::Model> = arriving
        .into_iter()
        .map(|mut u| {
            u.blood_bank_id = to;
            u
        })
        .collect();
    let events = arrived
        .iter()
        .map(|u| {
            event(
                u,
                Some(UnitStatus::InTransit),
                UnitStatus::Available,
                None,
                Some(format!("received from bank {}", transfer.from_bank_id)),
                actor,
            )
        })
        .collect();
    record_events(db, events).await?;
    let change = Change {
        organization_id: Some(to),
        entity_id: Some(transfer_id),
        new: Some(
            json!({"status": "RECEIVED", "units": arrived.iter().map(|u| u.id).collect::<Vec<_>>()}),
        ),
        events: check_stock(db, to, &combos(&arrived)).await?,
        ..Change::default()
    };
    Ok((transfer, change))
}

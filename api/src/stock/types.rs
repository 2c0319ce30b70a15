//! GraphQL types of the stock domain.

use super::service::BankMatch;
pub use super::service::StockLevel;
use crate::{
    auth,
    blood::screening,
    error::AppResult,
    graphql::{
        context::CtxExt,
        ids::to_id,
        loaders::{load_children, load_one},
        pagination::SortDirection,
    },
    organizations::types::Organization,
};
use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    BloodGroup, Component, TestResult, TransferStatus, UnitStatus, blood_transfer, blood_unit,
    blood_unit_event, blood_unit_test, stock_threshold,
};
use std::sync::Arc;
use uuid::Uuid;

/// One physical unit.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct BloodUnit {
    pub id: ID,
    /// ISBT 128 DIN (13 characters) or a local barcode.
    pub unit_number: String,
    /// True for a local barcode.
    pub is_local_barcode: bool,
    pub component: Component,
    /// ABO/Rh group.
    pub blood_group: BloodGroup,
    /// In millilitres.
    pub volume_ml: i32,
    pub collected_on: NaiveDate,
    /// Expires (platelets expire by the hour).
    pub expires_at: DateTime<Utc>,
    /// QUARANTINED until its screening panel clears it, then AVAILABLE; RESERVED for a
    /// request, ISSUED, EXPIRED or DISCARDED; PROCESSED once separated into components;
    /// IN_TRANSIT between banks.
    pub status: UnitStatus,
    /// The request it is reserved for.
    pub reserved_for_request_id: Option<ID>,
    /// Until when the reservation holds.
    pub reserved_until: Option<DateTime<Utc>>,
    /// The donation it came from.
    pub donation_id: Option<ID>,
    /// When the unit was added to stock.
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub bank_id: Uuid,
    #[graphql(skip)]
    pub uuid: Uuid,
    #[graphql(skip)]
    pub parent_id: Option<Uuid>,
}

impl From<blood_unit::Model> for BloodUnit {
    fn from(m: blood_unit::Model) -> Self {
        Self {
            id: to_id(m.id),
            unit_number: m.unit_number,
            is_local_barcode: m.is_local_barcode,
            component: m.component,
            blood_group: m.blood_group,
            volume_ml: m.volume_ml,
            collected_on: m.collected_on,
            expires_at: m.expires_at,
            status: m.status,
            reserved_for_request_id: m.reserved_for_request_id.map(to_id),
            reserved_until: m.reserved_until,
            donation_id: m.donation_id.map(to_id),
            created_at: m.created_at,
            bank_id: m.blood_bank_id,
            uuid: m.id,
            parent_id: m.parent_unit_id,
        }
    }
}

#[ComplexObject]
impl BloodUnit {
    /// The bank holding it.
    async fn blood_bank(&self, ctx: &Context<'_>) -> AppResult<Option<Arc<Organization>>> {
        Organization::load(ctx, self.bank_id).await
    }

    /// The ISBT 128 product description code of its component.
    async fn product_code(&self) -> &'static str {
        screening::product_code(self.component)
    }

    /// The whole-blood unit it was separated from (when the caller sees that unit).
    async fn parent(&self, ctx: &Context<'_>) -> AppResult<Option<BloodUnit>> {
        let Some(id) = self.parent_id else {
            return Ok(None);
        };
        let req = ctx.req()?;
        let unit = load_one(&req.loaders.units, id).await?;
        Ok(unit
            .filter(|u| auth::stock::sees_unit(&req.viewer, u))
            .map(Into::into))
    }

    /// The components separated from it (those the caller sees).
    async fn children(&self, ctx: &Context<'_>) -> AppResult<Vec<BloodUnit>> {
        let req = ctx.req()?;
        let units = load_children(&req.loaders.units_by_parent, self.uuid).await?;
        Ok(units
            .into_iter()
            .filter(|u| auth::stock::sees_unit(&req.viewer, u))
            .map(Into::into)
            .collect())
    }

    /// Its screening panel, once recorded.
    async fn test_panel(&self, ctx: &Context<'_>) -> AppResult<Option<TestPanel>> {
        let req = ctx.req()?;
        Ok(load_one(&req.loaders.unit_tests, self.uuid)
            .await?
            .map(Into::into))
    }
}

/// A unit's screening panel.
#[derive(SimpleObject)]
pub struct TestPanel {
    pub hiv: TestResult,
    pub hbv: TestResult,
    pub hcv: TestResult,
    pub syphilis: TestResult,
    pub malaria: TestResult,
    pub abo_confirmed: bool,
    pub rh_confirmed: bool,
    /// Every test negative and the group confirmed: the unit may be released.
    pub cleared: bool,
    pub recorded_at: DateTime<Utc>,
}

impl From<blood_unit_test::Model> for TestPanel {
    fn from(p: blood_unit_test::Model) -> Self {
        Self {
            cleared: p.clears_release(),
            hiv: p.hiv,
            hbv: p.hbv,
            hcv: p.hcv,
            syphilis: p.syphilis,
            malaria: p.malaria,
            abo_confirmed: p.abo_confirmed,
            rh_confirmed: p.rh_confirmed,
            recorded_at: p.recorded_at,
        }
    }
}

/// One status change of a unit.
#[derive(SimpleObject, Clone)]
pub struct BloodUnitEvent {
    /// The state before (null when the unit was added).
    pub from_status: Option<UnitStatus>,
    pub to_status: UnitStatus,
    pub request_id: Option<ID>,
    /// The user who made the change, if a user did.
    pub actor_user_id: Option<ID>,
    /// The API client that made the change, if one did.
    pub actor_api_client_id: Option<ID>,
    /// The reason given (discards, releases of reserved units).
    pub reason: Option<String>,
    /// When the change happened.
    pub at: DateTime<Utc>,
}

impl From<blood_unit_event::Model> for BloodUnitEvent {
    fn from(e: blood_unit_event::Model) -> Self {
        Self {
            from_status: e.from_status,
            to_status: e.to_status,
            request_id: e.request_id.map(to_id),
            actor_user_id: e.actor_user_id.map(to_id),
            actor_api_client_id: e.actor_api_client_id.map(to_id),
            reason: e.reason,
            at: e.created_at,
        }
    }
}

/// A unit with its whole history.
#[derive(SimpleObject)]
pub struct BloodUnitHistory {
    pub unit: BloodUnit,
    /// Its status changes, oldest first.
    pub events: Vec<BloodUnitEvent>,
}

#[derive(InputObject)]
pub struct NewBloodUnitInput {
    /// ISBT 128 DIN with its check character (e.g. `W1234 26 123456 K`), or a local barcode.
    pub unit_number: String,
    /// Mark a local barcode (no ISBT 128 check).
    #[graphql(default)]
    pub is_local_barcode: bool,
    pub component: Component,
    pub blood_group: BloodGroup,
    /// Volume in millilitres.
    pub volume_ml: i32,
    /// The collection date; not in the future.
    pub collected_on: NaiveDate,
    /// Expiry; defaults to the collection date plus the component's shelf life.
    pub expires_at: Option<DateTime<Utc>>,
    /// `QUARANTINED` (default) or `AVAILABLE`.
    #[graphql(default_with = "UnitStatus::Quarantined")]
    pub status: UnitStatus,
    /// Its screening panel, recorded with it: required for an `AVAILABLE` unit (every test
    /// NEGATIVE, ABO and Rh confirmed; other results go through `recordUnitTests` on a
    /// quarantined unit).
    pub tests: Option<UnitTestsInput>,
}

/// Input of `addBloodUnits`.
#[derive(InputObject)]
pub struct AddBloodUnitsInput {
    /// The bank acted for.
    pub blood_bank_id: ID,
    /// The units (a batch: all or none).
    pub units: Vec<NewBloodUnitInput>,
}

/// Result of unit mutations.
#[derive(SimpleObject)]
pub struct BloodUnitsPayload {
    /// The units after the change.
    pub units: Vec<BloodUnit>,
}

impl From<Vec<blood_unit::Model>> for BloodUnitsPayload {
    fn from(units: Vec<blood_unit::Model>) -> Self {
        Self {
            units: units.into_iter().map(Into::into).collect(),
        }
    }
}

/// Input of `releaseBloodUnits`: quarantine to available.
#[derive(InputObject)]
pub struct ReleaseBloodUnitsInput {
    /// The bank acted for.
    pub blood_bank_id: ID,
    /// Units to release.
    pub unit_ids: Vec<ID>,
}

/// Input of `discardBloodUnit`.
#[derive(InputObject)]
pub struct DiscardBloodUnitInput {
    /// The bank acted for.
    pub blood_bank_id: ID,
    pub unit_id: ID,
    /// Why the unit is discarded (kept in its history).
    pub reason: String,
}

/// Input of `setStockThreshold`.
#[derive(InputObject)]
pub struct SetStockThresholdInput {
    /// The bank acted for.
    pub blood_bank_id: ID,
    pub blood_group: BloodGroup,
    pub component: Component,
    /// Below this many available units the level is RED (AMBER below twice it).
    pub critical_threshold: i32,
}

/// A bank's critical threshold.
#[derive(SimpleObject)]
pub struct StockThreshold {
    pub blood_group: BloodGroup,
    pub component: Component,
    /// Below this many available units the level is RED.
    pub critical_threshold: i32,
}

/// Result of `setStockThreshold`.
#[derive(SimpleObject)]
pub struct StockThresholdPayload {
    pub threshold: StockThreshold,
}

impl From<stock_threshold::Model> for StockThresholdPayload {
    fn from(t: stock_threshold::Model) -> Self {
        Self {
            threshold: StockThreshold {
                blood_group: t.blood_group,
                component: t.component,
                critical_threshold: t.critical_threshold,
            },
        }
    }
}

/// Filter of `bloodUnits`.
#[derive(InputObject, Default)]
pub struct BloodUnitFilter {
    /// The bank (required except for super admins).
    pub blood_bank_id: Option<ID>,
    pub blood_groups: Option<Vec<BloodGroup>>,
    pub components: Option<Vec<Component>>,
    pub statuses: Option<Vec<UnitStatus>>,
    /// Expiring before this instant.
    pub expiring_before: Option<DateTime<Utc>>,
}

/// Sort keys of `bloodUnits`.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum BloodUnitOrderField {
    /// Soonest expiry first (first-expiry-first-out).
    #[default]
    ExpiresAt,
    CreatedAt,
}

/// Order of `bloodUnits`.
#[derive(InputObject, Default)]
pub struct BloodUnitOrder {
    #[graphql(default)]
    pub field: BloodUnitOrderField,
    #[graphql(default)]
    pub direction: SortDirection,
}

/// Filter of `stockLevels`.
#[derive(InputObject, Default)]
pub struct StockLevelFilter {
    /// Banks (default: all visible to the caller).
    pub blood_bank_ids: Option<Vec<ID>>,
    pub blood_groups: Option<Vec<BloodGroup>>,
    pub components: Option<Vec<Component>>,
}

#[ComplexObject]
impl StockLevel {
    /// The bank these counts are of.
    async fn blood_bank(&self, ctx: &Context<'_>) -> AppResult<Option<Arc<Organization>>> {
        Organization::load(ctx, self.bank_id).await
    }
}

/// A point in WGS 84 degrees.
#[derive(InputObject, Clone, Copy)]
pub struct GeoPointInput {
    /// -90 to 90.
    pub latitude: f64,
    /// -180 to 180.
    pub longitude: f64,
}

/// Input of `findCompatibleStock`.
#[derive(InputObject)]
pub struct FindCompatibleStockInput {
    /// The recipient's group.
    pub blood_group: BloodGroup,
    pub component: Component,
    /// Units needed, 1 to 100 (see `canSupplyAll`).
    pub units: i32,
    /// Where the patient is.
    pub near: GeoPointInput,
    /// Search radius in km (the default and the ceiling are server settings).
    pub radius_km: Option<f64>,
    /// Include emergency-only matches (Rh+ to Rh−, group O whole blood to non-O).
    #[graphql(default)]
    pub allow_emergency_override: bool,
}

/// Compatible units of one group at a bank.
#[derive(SimpleObject)]
pub struct GroupCount {
    /// A donor group compatible with the recipient's.
    pub blood_group: BloodGroup,
    /// Available, unexpired units of it.
    pub units: i64,
}

/// A bank holding compatible stock.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct CompatibleBank {
    /// Great-circle distance in km.
    pub distance_km: f64,
    /// Compatible units by group, in order of preference.
    pub units_by_group: Vec<GroupCount>,
    /// All compatible units.
    pub total_units: i64,
    /// Whether it alone can supply the request.
    pub can_supply_all: bool,
    /// Soonest expiry among them.
    pub soonest_expiry: Option<DateTime<Utc>>,
    #[graphql(skip)]
    pub bank_id: Uuid,
}

impl CompatibleBank {
    /// Maps a match, given the units asked for.
    pub fn from_match(m: BankMatch, wanted: i64) -> Self {
        Self {
            distance_km: (m.distance_km * 100.0).round() / 100.0,
            can_supply_all: m.total_units >= wanted,
            total_units: m.total_units,
            soonest_expiry: m.soonest_expiry,
            units_by_group: m
                .units_by_group
                .into_iter()
                .map(|(g, n)| GroupCount {
                    blood_group: g,
                    units: n,
                })
                .collect(),
            bank_id: m.bank.id,
        }
    }
}

#[ComplexObject]
impl CompatibleBank {
    /// The bank with its contact details.
    async fn blood_bank(&self, ctx: &Context<'_>) -> AppResult<Option<Arc<Organization>>> {
        Organization::load(ctx, self.bank_id).await
    }
}

/// Input of `recordUnitTests`: one screening panel for units of one bank (usually the
/// components of one donation). A POSITIVE result discards every unit of the donation and
/// defers the donor.
#[derive(InputObject)]
pub struct RecordUnitTestsInput {
    /// Quarantined units of one bank, 1 to 500.
    pub unit_ids: Vec<ID>,
    #[graphql(flatten)]
    pub tests: UnitTestsInput,
}

/// A screening panel: the five markers and the group confirmation (`recordUnitTests`, and a
/// unit added `AVAILABLE`).
#[derive(InputObject, Clone, Copy, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UnitTestsInput {
    pub hiv: TestResult,
    pub hbv: TestResult,
    pub hcv: TestResult,
    pub syphilis: TestResult,
    pub malaria: TestResult,
    /// The ABO group on the unit was confirmed by a second test.
    pub abo_confirmed: bool,
    /// The Rh group on the unit was confirmed by a second test.
    pub rh_confirmed: bool,
}

impl From<UnitTestsInput> for super::service::Panel {
    fn from(i: UnitTestsInput) -> Self {
        Self {
            results: [i.hiv, i.hbv, i.hcv, i.syphilis, i.malaria],
            abo_confirmed: i.abo_confirmed,
            rh_confirmed: i.rh_confirmed,
        }
    }
}

/// Input of `separateUnit`.
#[derive(InputObject)]
pub struct SeparateUnitInput {
    /// A quarantined or available, unexpired whole-blood unit.
    pub unit_id: ID,
    /// The components to make, each once (not WHOLE_BLOOD).
    pub into: Vec<Component>,
}

/// Input of `transferUnits`.
#[derive(InputObject)]
pub struct TransferUnitsInput {
    /// The sending bank, acted for.
    pub from_bank_id: ID,
    /// The receiving bank (approved).
    pub to_bank_id: ID,
    /// Available, unexpired units of the sending bank, 1 to 500.
    pub unit_ids: Vec<ID>,
}

/// Units sent from one bank to another.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct BloodTransfer {
    pub id: ID,
    /// IN_TRANSIT until the receiving bank takes the units, then RECEIVED.
    pub status: TransferStatus,
    /// How many units were sent.
    pub unit_count: i32,
    pub sent_at: DateTime<Utc>,
    pub received_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    pub from_bank_id: Uuid,
    #[graphql(skip)]
    pub to_bank_id: Uuid,
    #[graphql(skip)]
    pub uuid: Uuid,
}

impl From<blood_transfer::Model> for BloodTransfer {
    fn from(m: blood_transfer::Model) -> Self {
        Self {
            id: to_id(m.id),
            status: m.status,
            unit_count: m.unit_count,
            sent_at: m.sent_at,
            received_at: m.received_at,
            from_bank_id: m.from_bank_id,
            to_bank_id: m.to_bank_id,
            uuid: m.id,
        }
    }
}

#[ComplexObject]
impl BloodTransfer {
    /// The sending bank.
    async fn from_bank(&self, ctx: &Context<'_>) -> AppResult<Option<Arc<Organization>>> {
        Organization::load(ctx, self.from_bank_id).await
    }

    /// The receiving bank.
    async fn to_bank(&self, ctx: &Context<'_>) -> AppResult<Option<Arc<Organization>>> {
        Organization::load(ctx, self.to_bank_id).await
    }

    /// The units sent, as they are now.
    async fn units(&self, ctx: &Context<'_>) -> AppResult<Vec<BloodUnit>> {
        let req = ctx.req()?;
        let units = load_children(&req.loaders.units_by_transfer, self.uuid).await?;
        Ok(units.into_iter().map(Into::into).collect())
    }
}

/// Result of `transferUnits` and `receiveTransfer`.
#[derive(SimpleObject)]
pub struct BloodTransferPayload {
    pub transfer: BloodTransfer,
}

impl From<blood_transfer::Model> for BloodTransferPayload {
    fn from(m: blood_transfer::Model) -> Self {
        Self { transfer: m.into() }
    }
}

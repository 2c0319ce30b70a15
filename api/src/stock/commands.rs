//! Stock mutations as typed commands: each input parsed once (`TryFrom`), each command run by
//! [`crate::pipeline`] and its use case in [`super::service`]. A caller who may not act for
//! the bank the input names hears `FORBIDDEN` whatever else is wrong (`authority`).

use super::{
    service::{self, NewUnit, Panel},
    types::*,
};
use crate::{
    audit::Change,
    auth::{
        Rule, Scope,
        policy::{ADMIN, ADMIN_STAFF},
    },
    blood::isbt::UnitNumber,
    db::Db,
    error::{AppError, AppResult},
    graphql::ids::parse_id,
    pipeline::{Command, Exec},
    validation::Text,
};
use async_graphql::ID;
use entity::{
    BloodGroup, Component, OrgKind, OrgRole, blood_transfer, blood_unit, stock_threshold,
};
use uuid::Uuid;

/// What a bank does to its stock: its members in `roles`, or its API client with
/// `stock:write`.
fn act_for(bank: Uuid, roles: &'static [OrgRole]) -> Rule {
    Rule::ActFor {
        org: bank,
        roles,
        scope: Some(Scope::StockWrite),
        kind: Some(OrgKind::BloodBank),
    }
}

/// Before parsing: acting for the bank an input names.
fn bank_named(bank: &ID, roles: &'static [OrgRole]) -> Rule {
    Rule::for_named(bank, |b| act_for(b, roles))
}

/// The units of an input, parsed; a bad unit number is named by its index.
pub fn parse_units(units: impl IntoIterator<Item = NewBloodUnitInput>) -> AppResult<Vec<NewUnit>> {
    units
        .into_iter()
        .enumerate()
        .map(|(i, u)| {
            let field = format!("input.units[{i}].unitNumber");
            Ok(NewUnit {
                unit_number: UnitNumber::parse(&u.unit_number, u.is_local_barcode, &field)?,
                component: u.component,
                blood_group: u.blood_group,
                volume_ml: u.volume_ml,
                collected_on: u.collected_on,
                expires_at: u.expires_at,
                status: u.status,
                donation_id: None,
                panel: u.tests.map(Panel::from),
            })
        })
        .collect()
}

/// `addBloodUnits`, parsed.
pub struct AddBloodUnits {
    /// The bank acted for.
    pub bank_id: Uuid,
    /// All or none.
    pub units: Vec<NewUnit>,
}

impl TryFrom<AddBloodUnitsInput> for AddBloodUnits {
    type Error = AppError;

    fn try_from(input: AddBloodUnitsInput) -> AppResult<Self> {
        let bank_id = parse_id(&input.blood_bank_id, "input.bloodBankId")?;
        let units = parse_units(input.units)?;
        Ok(Self { bank_id, units })
    }
}

impl Command for AddBloodUnits {
    type Input = AddBloodUnitsInput;
    type Output = Vec<blood_unit::Model>;
    const ACTION: &'static str = "blood_unit.add";
    const ENTITY: &'static str = "blood_unit";

    fn authority(input: &Self::Input) -> Rule {
        bank_named(&input.blood_bank_id, ADMIN_STAFF)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::add(exec.txn, self.bank_id, self.units, exec.actor).await
    }
}

/// `releaseBloodUnits` (from quarantine), parsed.
pub struct ReleaseBloodUnits {
    /// The bank acted for.
    pub bank_id: Uuid,
    /// At least one.
    pub unit_ids: Vec<Uuid>,
}

impl TryFrom<ReleaseBloodUnitsInput> for ReleaseBloodUnits {
    type Error = AppError;

    fn try_from(input: ReleaseBloodUnitsInput) -> AppResult<Self> {
        let bank_id = parse_id(&input.blood_bank_id, "input.bloodBankId")?;
        let unit_ids = input
            .unit_ids
            .iter()
            .map(|i| parse_id(i, "input.unitIds"))
            .collect::<AppResult<Vec<_>>>()?;
        if unit_ids.is_empty() {
            return Err(AppError::bad_input(
                "input.unitIds",
                "give at least one unit",
            ));
        }
        Ok(Self { bank_id, unit_ids })
    }
}

impl Command for ReleaseBloodUnits {
    type Input = ReleaseBloodUnitsInput;
    type Output = Vec<blood_unit::Model>;
    const ACTION: &'static str = "blood_unit.release";
    const ENTITY: &'static str = "blood_unit";

    fn authority(input: &Self::Input) -> Rule {
        bank_named(&input.blood_bank_id, ADMIN_STAFF)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::release(exec.txn, self.bank_id, &self.unit_ids, exec.actor).await
    }
}

/// `discardBloodUnit`, parsed.
pub struct DiscardBloodUnit {
    /// The bank acted for.
    pub bank_id: Uuid,
    /// The unit, held by that bank.
    pub unit_id: Uuid,
    /// Kept on the unit's history.
    pub reason: Text,
}

impl TryFrom<DiscardBloodUnitInput> for DiscardBloodUnit {
    type Error = AppError;

    fn try_from(input: DiscardBloodUnitInput) -> AppResult<Self> {
        Ok(Self {
            bank_id: parse_id(&input.blood_bank_id, "input.bloodBankId")?,
            unit_id: parse_id(&input.unit_id, "input.unitId")?,
            reason: Text::parse(&input.reason, "input.reason", 500)?,
        })
    }
}

impl Command for DiscardBloodUnit {
    type Input = DiscardBloodUnitInput;
    type Output = Vec<blood_unit::Model>;
    const ACTION: &'static str = "blood_unit.discard";
    const ENTITY: &'static str = "blood_unit";

    fn authority(input: &Self::Input) -> Rule {
        bank_named(&input.blood_bank_id, ADMIN_STAFF)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        let (unit, reason) = (self.unit_id, self.reason.into_inner());
        service::discard(exec.txn, self.bank_id, unit, reason, exec.actor).await
    }
}

/// `setStockThreshold`, parsed.
pub struct SetStockThreshold {
    /// The bank acted for.
    pub bank_id: Uuid,
    pub blood_group: BloodGroup,
    pub component: Component,
    /// 0 to 100,000 available units.
    pub critical_threshold: i32,
}

impl TryFrom<SetStockThresholdInput> for SetStockThreshold {
    type Error = AppError;

    fn try_from(input: SetStockThresholdInput) -> AppResult<Self> {
        let t = input.critical_threshold;
        if !(0..=100_000).contains(&t) {
            return Err(AppError::bad_input(
                "input.criticalThreshold",
                "must be between 0 and 100000",
            ));
        }
        Ok(Self {
            bank_id: parse_id(&input.blood_bank_id, "input.bloodBankId")?,
            blood_group: input.blood_group,
            component: input.component,
            critical_threshold: t,
        })
    }
}

impl Command for SetStockThreshold {
    type Input = SetStockThresholdInput;
    type Output = stock_threshold::Model;
    const ACTION: &'static str = "stock_threshold.set";
    const ENTITY: &'static str = "stock_threshold";

    fn authority(input: &Self::Input) -> Rule {
        bank_named(&input.blood_bank_id, ADMIN)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        let (group, component) = (self.blood_group, self.component);
        service::set_threshold(
            exec.txn,
            self.bank_id,
            group,
            component,
            self.critical_threshold,
        )
        .await
    }
}

/// Acting for the bank a command located (the bank holding its unit, the receiver of its
/// transfer); a row that does not exist asks only for a signed-in caller, and the use case
/// answers `NOT_FOUND`.
fn located(bank: Option<Uuid>) -> Rule {
    bank.map_or(Rule::SignedIn, |b| act_for(b, ADMIN_STAFF))
}

/// Unit ids of an input: at least one, at most 500, each once.
fn parse_unit_ids(ids: &[ID], field: &str) -> AppResult<Vec<Uuid>> {
    let unit_ids = ids
        .iter()
        .map(|i| parse_id(i, field))
        .collect::<AppResult<Vec<_>>>()?;
    if unit_ids.is_empty() || unit_ids.len() > 500 {
        return Err(AppError::bad_input(field, "give 1 to 500 units"));
    }
    let distinct: std::collections::HashSet<_> = unit_ids.iter().collect();
    if distinct.len() != unit_ids.len() {
        return Err(AppError::bad_input(field, "a unit appears twice"));
    }
    Ok(unit_ids)
}

/// `recordUnitTests`, parsed.
pub struct RecordUnitTests {
    /// The bank holding the first unit (every unit must be there).
    pub bank_id: Option<Uuid>,
    pub unit_ids: Vec<Uuid>,
    pub panel: Panel,
}

impl TryFrom<RecordUnitTestsInput> for RecordUnitTests {
    type Error = AppError;

    fn try_from(i: RecordUnitTestsInput) -> AppResult<Self> {
        Ok(Self {
            bank_id: None,
            unit_ids: parse_unit_ids(&i.unit_ids, "input.unitIds")?,
            panel: i.tests.into(),
        })
    }
}

impl Command for RecordUnitTests {
    type Input = RecordUnitTestsInput;
    type Output = Vec<blood_unit::Model>;
    const ACTION: &'static str = "blood_unit.test";
    const ENTITY: &'static str = "blood_unit";
    const RULE: Rule = Rule::SignedIn;

    fn rule(&self) -> Option<Rule> {
        Some(located(self.bank_id))
    }

    async fn locate(mut self, db: &Db) -> AppResult<Self> {
        if let Some(first) = self.unit_ids.first() {
            self.bank_id = service::unit_bank(db, *first).await?;
        }
        Ok(self)
    }

    fn entity_id(&self) -> Option<Uuid> {
        self.unit_ids.first().copied()
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        let bank = self.bank_id.ok_or(AppError::NotFound("blood unit"))?;
        let rules = crate::donors::service::rule_set(&exec.app.config)?;
        service::record_tests(
            exec.txn,
            &rules,
            bank,
            &self.unit_ids,
            self.panel,
            exec.actor,
        )
        .await
    }
}

/// `separateUnit`, parsed.
pub struct SeparateUnit {
    /// The bank holding the unit, once located.
    pub bank_id: Option<Uuid>,
    pub unit_id: Uuid,
    /// Distinct components, whole blood excluded.
    pub into: Vec<Component>,
}

impl TryFrom<SeparateUnitInput> for SeparateUnit {
    type Error = AppError;

    fn try_from(i: SeparateUnitInput) -> AppResult<Self> {
        if i.into.is_empty() {
            return Err(AppError::bad_input(
                "input.into",
                "name at least one component",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (n, c) in i.into.iter().enumerate() {
            if *c == Component::WholeBlood {
                return Err(AppError::bad_input(
                    format!("input.into[{n}]"),
                    "whole blood is not a component of itself",
                ));
            }
            if !seen.insert(*c) {
                return Err(AppError::bad_input(
                    format!("input.into[{n}]"),
                    "a component appears twice",
                ));
            }
        }
        Ok(Self {
            bank_id: None,
            unit_id: parse_id(&i.unit_id, "input.unitId")?,
            into: i.into,
        })
    }
}

impl Command for SeparateUnit {
    type Input = SeparateUnitInput;
    type Output = Vec<blood_unit::Model>;
    const ACTION: &'static str = "blood_unit.separate";
    const ENTITY: &'static str = "blood_unit";
    const RULE: Rule = Rule::SignedIn;

    fn rule(&self) -> Option<Rule> {
        Some(located(self.bank_id))
    }

    async fn locate(mut self, db: &Db) -> AppResult<Self> {
        self.bank_id = service::unit_bank(db, self.unit_id).await?;
        Ok(self)
    }

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.unit_id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        let bank = self.bank_id.ok_or(AppError::NotFound("blood unit"))?;
        service::separate(exec.txn, bank, self.unit_id, &self.into, exec.actor).await
    }
}

/// `transferUnits`, parsed.
pub struct TransferUnits {
    /// The sending bank, acted for.
    pub from_bank: Uuid,
    /// An approved blood bank.
    pub to_bank: Uuid,
    pub unit_ids: Vec<Uuid>,
}

impl TryFrom<TransferUnitsInput> for TransferUnits {
    type Error = AppError;

    fn try_from(i: TransferUnitsInput) -> AppResult<Self> {
        Ok(Self {
            from_bank: parse_id(&i.from_bank_id, "input.fromBankId")?,
            to_bank: parse_id(&i.to_bank_id, "input.toBankId")?,
            unit_ids: parse_unit_ids(&i.unit_ids, "input.unitIds")?,
        })
    }
}

impl Command for TransferUnits {
    type Input = TransferUnitsInput;
    type Output = blood_transfer::Model;
    const ACTION: &'static str = "blood_transfer.send";
    const ENTITY: &'static str = "blood_transfer";

    fn authority(input: &Self::Input) -> Rule {
        bank_named(&input.from_bank_id, ADMIN_STAFF)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        let (from, to) = (self.from_bank, self.to_bank);
        service::transfer(exec.txn, from, to, &self.unit_ids, exec.actor).await
    }
}

/// `receiveTransfer`, parsed.
pub struct ReceiveTransfer {
    pub transfer_id: Uuid,
    /// The receiving bank, once located.
    pub bank_id: Option<Uuid>,
}

impl TryFrom<ID> for ReceiveTransfer {
    type Error = AppError;

    fn try_from(id: ID) -> AppResult<Self> {
        Ok(Self {
            transfer_id: parse_id(&id, "transferId")?,
            bank_id: None,
        })
    }
}

impl Command for ReceiveTransfer {
    type Input = ID;
    type Output = blood_transfer::Model;
    const ACTION: &'static str = "blood_transfer.receive";
    const ENTITY: &'static str = "blood_transfer";
    const RULE: Rule = Rule::SignedIn;

    fn rule(&self) -> Option<Rule> {
        Some(located(self.bank_id))
    }

    async fn locate(mut self, db: &Db) -> AppResult<Self> {
        self.bank_id = service::transfer_receiver(db, self.transfer_id).await?;
        Ok(self)
    }

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.transfer_id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        if self.bank_id.is_none() {
            return Err(AppError::NotFound("transfer"));
        }
        service::receive_transfer(exec.txn, self.transfer_id, exec.actor).await
    }
}

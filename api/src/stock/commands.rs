//! Stock mutations as typed commands: each input parsed once (`TryFrom`), each command run by
//! [`crate::pipeline`] and its use case in [`super::service`]. A caller who may not act for
//! the bank the input names hears `FORBIDDEN` whatever else is wrong (`authority`).

use super::{
    service::{self, NewUnit},
    types::*,
};
use crate::{
    audit::Change,
    auth::{
        Rule, Scope,
        policy::{ADMIN, ADMIN_STAFF},
    },
    blood::isbt::UnitNumber,
    error::{AppError, AppResult},
    graphql::ids::parse_id,
    pipeline::{Command, Exec},
    validation::Text,
};
use async_graphql::ID;
use entity::{BloodGroup, Component, OrgKind, OrgRole, blood_unit, stock_threshold};
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

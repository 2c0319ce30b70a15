//! Stock mutations as typed commands: each input parsed once (`TryFrom`), each command run by
//! [`crate::pipeline`] and its use case in [`super::service`].

use super::{service, types::*};
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
use chrono::{DateTime, NaiveDate, Utc};
use entity::{BloodGroup, Component, OrgKind, OrgRole, UnitStatus, blood_unit, stock_threshold};
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

/// A unit to add to stock, parsed.
pub struct NewUnit {
    /// ISBT 128 DIN or a local barcode.
    pub unit_number: UnitNumber,
    /// The component.
    pub component: Component,
    /// The donor's group.
    pub blood_group: BloodGroup,
    /// In millilitres.
    pub volume_ml: i32,
    /// The collection date.
    pub collected_on: NaiveDate,
    /// Defaults to the collection date plus the component's shelf life.
    pub expires_at: Option<DateTime<Utc>>,
    /// `QUARANTINED` or `AVAILABLE`.
    pub status: UnitStatus,
    /// The donation it came from.
    pub donation_id: Option<Uuid>,
}

impl NewUnit {
    /// The unit number of the `i`th unit of an input, checked.
    pub fn number(i: usize, raw: &str, is_local_barcode: bool) -> AppResult<UnitNumber> {
        UnitNumber::parse(
            raw,
            is_local_barcode,
            &format!("input.units[{i}].unitNumber"),
        )
    }
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
        let units = input
            .units
            .into_iter()
            .enumerate()
            .map(|(i, u)| {
                Ok(NewUnit {
                    unit_number: NewUnit::number(i, &u.unit_number, u.is_local_barcode)?,
                    component: u.component,
                    blood_group: u.blood_group,
                    volume_ml: u.volume_ml,
                    collected_on: u.collected_on,
                    expires_at: u.expires_at,
                    status: u.status,
                    donation_id: None,
                })
            })
            .collect::<AppResult<_>>()?;
        Ok(Self { bank_id, units })
    }
}

impl Command for AddBloodUnits {
    type Output = Vec<blood_unit::Model>;
    const ACTION: &'static str = "blood_unit.add";
    const ENTITY: &'static str = "blood_unit";

    fn rule(&self) -> Rule {
        act_for(self.bank_id, ADMIN_STAFF)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::add(exec.txn, self, exec.actor).await
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
    type Output = Vec<blood_unit::Model>;
    const ACTION: &'static str = "blood_unit.release";
    const ENTITY: &'static str = "blood_unit";

    fn rule(&self) -> Rule {
        act_for(self.bank_id, ADMIN_STAFF)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::release(exec.txn, self, exec.actor).await
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
    type Output = Vec<blood_unit::Model>;
    const ACTION: &'static str = "blood_unit.discard";
    const ENTITY: &'static str = "blood_unit";

    fn rule(&self) -> Rule {
        act_for(self.bank_id, ADMIN_STAFF)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::discard(exec.txn, self, exec.actor).await
    }
}

/// `setStockThreshold`, parsed.
pub struct SetStockThreshold {
    /// The bank acted for.
    pub bank_id: Uuid,
    /// The group.
    pub blood_group: BloodGroup,
    /// The component.
    pub component: Component,
    /// 0 to 100,000 available units.
    pub critical_threshold: i32,
}

impl TryFrom<SetStockThresholdInput> for SetStockThreshold {
    type Error = AppError;

    fn try_from(input: SetStockThresholdInput) -> AppResult<Self> {
        let bank_id = parse_id(&input.blood_bank_id, "input.bloodBankId")?;
        if !(0..=100_000).contains(&input.critical_threshold) {
            return Err(AppError::bad_input(
                "input.criticalThreshold",
                "must be between 0 and 100000",
            ));
        }
        Ok(Self {
            bank_id,
            blood_group: input.blood_group,
            component: input.component,
            critical_threshold: input.critical_threshold,
        })
    }
}

impl Command for SetStockThreshold {
    type Output = stock_threshold::Model;
    const ACTION: &'static str = "stock_threshold.set";
    const ENTITY: &'static str = "stock_threshold";

    fn rule(&self) -> Rule {
        act_for(self.bank_id, ADMIN)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::set_threshold(exec.txn, self).await
    }
}

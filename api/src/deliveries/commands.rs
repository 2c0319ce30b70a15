//! Delivery mutations as typed commands: each input parsed once (`TryFrom`), each command
//! run by [`crate::pipeline`], its use case in [`super::service`]. Who may act is
//! `auth::deliveries`; a mutation naming a delivery or request by id finds its organization
//! first (`locate`).

use super::{service, types::*};
use crate::{
    audit::Change,
    auth::{Rule, deliveries as rules},
    db::Db,
    error::{AppError, AppResult},
    graphql::ids::parse_id,
    pipeline::{Command, Exec},
    validation::{GeoPoint, Text},
};
use chrono::{DateTime, Duration, Utc};
use entity::{ReturnOutcome, blood_unit, delivery};
use uuid::Uuid;

/// `dispatchDelivery`, parsed.
pub struct DispatchDelivery {
    pub request_id: Uuid,
    /// The issuing bank, acted for.
    pub bank_id: Uuid,
    pub courier_name: Text,
    pub vehicle: Option<Text>,
    pub eta: Option<DateTime<Utc>>,
}

impl TryFrom<DispatchDeliveryInput> for DispatchDelivery {
    type Error = AppError;

    fn try_from(input: DispatchDeliveryInput) -> AppResult<Self> {
        if input.eta.is_some_and(|t| t <= Utc::now()) {
            return Err(AppError::bad_input("input.eta", "must be in the future"));
        }
        Ok(Self {
            request_id: parse_id(&input.request_id, "input.requestId")?,
            bank_id: parse_id(&input.blood_bank_id, "input.bloodBankId")?,
            courier_name: Text::parse(&input.courier_name, "input.courierName", 200)?,
            vehicle: Text::parse_opt(input.vehicle.as_deref(), "input.vehicle", 100)?,
            eta: input.eta,
        })
    }
}

impl Command for DispatchDelivery {
    type Input = DispatchDeliveryInput;
    type Output = delivery::Model;
    const ACTION: &'static str = "delivery.dispatch";
    const ENTITY: &'static str = "delivery";

    fn authority(input: &Self::Input) -> Rule {
        Rule::for_named(&input.blood_bank_id, rules::for_bank)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::dispatch(exec.txn, self, exec.actor).await
    }
}

/// `updateDeliveryLocation`, parsed.
pub struct UpdateDeliveryLocation {
    pub delivery_id: Uuid,
    /// The delivery's bank, found by `locate`.
    pub bank_id: Option<Uuid>,
    pub point: GeoPoint,
    pub recorded_at: DateTime<Utc>,
    pub temperature_c: Option<f64>,
    pub eta: Option<DateTime<Utc>>,
}

impl TryFrom<UpdateDeliveryLocationInput> for UpdateDeliveryLocation {
    type Error = AppError;

    fn try_from(input: UpdateDeliveryLocationInput) -> AppResult<Self> {
        let point = GeoPoint::parse(input.lat, input.lng, "input.").map_err(|_| {
            AppError::bad_input("input.lat", "lat must be -90 to 90, lng -180 to 180")
        })?;
        // A device's clock may run a little ahead; a reading from the future is refused.
        if input.recorded_at > Utc::now() + Duration::minutes(2) {
            return Err(AppError::bad_input(
                "input.recordedAt",
                "cannot be in the future",
            ));
        }
        if input
            .temperature_c
            .is_some_and(|t| !t.is_finite() || !(-80.0..=60.0).contains(&t))
        {
            return Err(AppError::bad_input(
                "input.temperatureC",
                "must be between -80 and 60",
            ));
        }
        Ok(Self {
            delivery_id: parse_id(&input.delivery_id, "input.deliveryId")?,
            bank_id: None,
            point,
            recorded_at: input.recorded_at,
            temperature_c: input.temperature_c,
            eta: input.eta,
        })
    }
}

impl Command for UpdateDeliveryLocation {
    type Input = UpdateDeliveryLocationInput;
    type Output = delivery::Model;
    const ACTION: &'static str = "delivery.update_location";
    const ENTITY: &'static str = "delivery";

    fn rule(&self) -> Option<Rule> {
        Some(rules::on_located(self.bank_id, rules::for_bank))
    }

    async fn locate(mut self, db: &Db) -> AppResult<Self> {
        self.bank_id = service::delivery_orgs(db, self.delivery_id)
            .await?
            .map(|(bank, _)| bank);
        Ok(self)
    }

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.delivery_id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        if self.bank_id.is_none() {
            return Err(AppError::NotFound("delivery"));
        }
        service::update_location(exec.txn, self).await
    }
}

/// `failDelivery`, parsed.
pub struct FailDelivery {
    pub delivery_id: Uuid,
    /// The delivery's bank, found by `locate`.
    pub bank_id: Option<Uuid>,
    pub reason: Text,
}

impl TryFrom<FailDeliveryInput> for FailDelivery {
    type Error = AppError;

    fn try_from(input: FailDeliveryInput) -> AppResult<Self> {
        Ok(Self {
            delivery_id: parse_id(&input.delivery_id, "input.deliveryId")?,
            bank_id: None,
            reason: Text::parse(&input.reason, "input.reason", 500)?,
        })
    }
}

impl Command for FailDelivery {
    type Input = FailDeliveryInput;
    type Output = delivery::Model;
    const ACTION: &'static str = "delivery.fail";
    const ENTITY: &'static str = "delivery";

    fn rule(&self) -> Option<Rule> {
        Some(rules::on_located(self.bank_id, rules::for_bank))
    }

    async fn locate(mut self, db: &Db) -> AppResult<Self> {
        self.bank_id = service::delivery_orgs(db, self.delivery_id)
            .await?
            .map(|(bank, _)| bank);
        Ok(self)
    }

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.delivery_id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        if self.bank_id.is_none() {
            return Err(AppError::NotFound("delivery"));
        }
        service::fail(exec.txn, self).await
    }
}

/// `confirmReceipt`, parsed.
pub struct ConfirmReceipt {
    pub request_id: Uuid,
    /// The request's hospital, found by `locate`.
    pub hospital_id: Option<Uuid>,
    pub temperature_ok: bool,
}

impl TryFrom<ConfirmReceiptInput> for ConfirmReceipt {
    type Error = AppError;

    fn try_from(input: ConfirmReceiptInput) -> AppResult<Self> {
        Ok(Self {
            request_id: parse_id(&input.request_id, "input.requestId")?,
            hospital_id: None,
            temperature_ok: input.temperature_ok,
        })
    }
}

impl Command for ConfirmReceipt {
    type Input = ConfirmReceiptInput;
    type Output = delivery::Model;
    const ACTION: &'static str = "delivery.confirm_receipt";
    const ENTITY: &'static str = "blood_request";

    fn rule(&self) -> Option<Rule> {
        Some(rules::on_located(self.hospital_id, rules::for_hospital))
    }

    async fn locate(mut self, db: &Db) -> AppResult<Self> {
        self.hospital_id = service::request_hospital(db, self.request_id).await?;
        Ok(self)
    }

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.request_id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        if self.hospital_id.is_none() {
            return Err(AppError::NotFound("blood request"));
        }
        service::confirm_receipt(exec.txn, self, exec.actor).await
    }
}

/// `returnUnits`, parsed.
pub struct ReturnUnits {
    pub request_id: Uuid,
    /// The request's hospital, found by `locate`.
    pub hospital_id: Option<Uuid>,
    pub unit_ids: Vec<Uuid>,
    pub cold_chain_kept: bool,
}

impl TryFrom<ReturnUnitsInput> for ReturnUnits {
    type Error = AppError;

    fn try_from(input: ReturnUnitsInput) -> AppResult<Self> {
        if input.unit_ids.is_empty() || input.unit_ids.len() > 20 {
            return Err(AppError::bad_input(
                "input.unitIds",
                "give between 1 and 20 units",
            ));
        }
        let mut unit_ids = Vec::with_capacity(input.unit_ids.len());
        for (i, id) in input.unit_ids.iter().enumerate() {
            let id = parse_id(id, &format!("input.unitIds[{i}]"))?;
            if unit_ids.contains(&id) {
                return Err(AppError::bad_input(
                    format!("input.unitIds[{i}]"),
                    "appears twice",
                ));
            }
            unit_ids.push(id);
        }
        Ok(Self {
            request_id: parse_id(&input.request_id, "input.requestId")?,
            hospital_id: None,
            unit_ids,
            cold_chain_kept: input.cold_chain_kept,
        })
    }
}

/// Where returned units went.
pub struct Returned {
    pub outcome: ReturnOutcome,
    pub units: Vec<blood_unit::Model>,
}

impl From<Returned> for ReturnUnitsPayload {
    fn from(r: Returned) -> Self {
        Self {
            outcome: r.outcome,
            units: r.units.into_iter().map(Into::into).collect(),
        }
    }
}

impl Command for ReturnUnits {
    type Input = ReturnUnitsInput;
    type Output = Returned;
    const ACTION: &'static str = "delivery.return_units";
    const ENTITY: &'static str = "blood_request";

    fn rule(&self) -> Option<Rule> {
        Some(rules::on_located(self.hospital_id, rules::for_hospital))
    }

    async fn locate(mut self, db: &Db) -> AppResult<Self> {
        self.hospital_id = service::request_hospital(db, self.request_id).await?;
        Ok(self)
    }

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.request_id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        if self.hospital_id.is_none() {
            return Err(AppError::NotFound("blood request"));
        }
        service::return_units(exec.txn, exec.app.config.return_window, self, exec.actor).await
    }
}

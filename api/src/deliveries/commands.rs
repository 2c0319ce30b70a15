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

/// The organization a delivery mutation acts for, which its input does not name: the bank of
/// the delivery it names (`updateDeliveryLocation`, `failDelivery`) or the hospital of the
/// request it names (`confirmReceipt`, `returnUnits`). Found by `locate`; a row that does
/// not exist leaves it unknown, the rule then asks only for credentials and `execute`
/// answers `NOT_FOUND`, so a caller never learns who may act on a row they cannot see.
#[derive(Clone, Copy, Debug)]
pub struct Acting {
    /// The delivery's id or the request's id.
    pub id: Uuid,
    side: Side,
    /// The organization, once located.
    org: Option<Uuid>,
}

#[derive(Clone, Copy, Debug)]
enum Side {
    /// The bank of the delivery `id`.
    Bank,
    /// The hospital of the request `id`.
    Hospital,
}

impl Acting {
    /// For the bank of the delivery `id`.
    pub fn bank_of_delivery(id: Uuid) -> Self {
        Self {
            id,
            side: Side::Bank,
            org: None,
        }
    }

    /// For the hospital of the request `id`.
    pub fn hospital_of_request(id: Uuid) -> Self {
        Self {
            id,
            side: Side::Hospital,
            org: None,
        }
    }

    /// Finds the organization (one statement).
    async fn locate(mut self, db: &Db) -> AppResult<Self> {
        self.org = match self.side {
            Side::Bank => service::delivery_bank(db, self.id).await?,
            Side::Hospital => service::request_hospital(db, self.id).await?,
        };
        Ok(self)
    }

    /// Who may act: the located organization's side of the delivery.
    fn rule(&self) -> Rule {
        let rule = match self.side {
            Side::Bank => rules::for_bank,
            Side::Hospital => rules::for_hospital,
        };
        rules::on_located(self.org, rule)
    }

    /// `NOT_FOUND` when `locate` found nothing.
    fn found(&self) -> AppResult<Uuid> {
        self.org.ok_or(AppError::NotFound(match self.side {
            Side::Bank => "delivery",
            Side::Hospital => "blood request",
        }))
    }
}

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
    /// The delivery, and its bank once located.
    pub delivery: Acting,
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
            delivery: Acting::bank_of_delivery(parse_id(&input.delivery_id, "input.deliveryId")?),
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
        Some(self.delivery.rule())
    }

    async fn locate(mut self, db: &Db) -> AppResult<Self> {
        self.delivery = self.delivery.locate(db).await?;
        Ok(self)
    }

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.delivery.id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        self.delivery.found()?;
        service::update_location(exec.txn, self).await
    }
}

/// `failDelivery`, parsed.
pub struct FailDelivery {
    /// The delivery, and its bank once located.
    pub delivery: Acting,
    pub reason: Text,
}

impl TryFrom<FailDeliveryInput> for FailDelivery {
    type Error = AppError;

    fn try_from(input: FailDeliveryInput) -> AppResult<Self> {
        Ok(Self {
            delivery: Acting::bank_of_delivery(parse_id(&input.delivery_id, "input.deliveryId")?),
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
        Some(self.delivery.rule())
    }

    async fn locate(mut self, db: &Db) -> AppResult<Self> {
        self.delivery = self.delivery.locate(db).await?;
        Ok(self)
    }

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.delivery.id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        self.delivery.found()?;
        service::fail(exec.txn, self).await
    }
}

/// `confirmReceipt`, parsed.
pub struct ConfirmReceipt {
    /// The request, and its hospital once located.
    pub request: Acting,
    pub temperature_ok: bool,
}

impl TryFrom<ConfirmReceiptInput> for ConfirmReceipt {
    type Error = AppError;

    fn try_from(input: ConfirmReceiptInput) -> AppResult<Self> {
        Ok(Self {
            request: Acting::hospital_of_request(parse_id(&input.request_id, "input.requestId")?),
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
        Some(self.request.rule())
    }

    async fn locate(mut self, db: &Db) -> AppResult<Self> {
        self.request = self.request.locate(db).await?;
        Ok(self)
    }

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.request.id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        self.request.found()?;
        service::confirm_receipt(exec.txn, self, exec.actor).await
    }
}

/// `returnUnits`, parsed.
pub struct ReturnUnits {
    /// The request, and its hospital once located.
    pub request: Acting,
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
            request: Acting::hospital_of_request(parse_id(&input.request_id, "input.requestId")?),
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
        Some(self.request.rule())
    }

    async fn locate(mut self, db: &Db) -> AppResult<Self> {
        self.request = self.request.locate(db).await?;
        Ok(self)
    }

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.request.id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        self.request.found()?;
        service::return_units(exec.txn, exec.app.config.return_window, self, exec.actor).await
    }
}

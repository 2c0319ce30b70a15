//! Blood request mutations as typed commands: each input parsed once (`TryFrom`), each
//! command run by [`crate::pipeline`] and its use case in [`super::service`].

use super::{service, types::*};
use crate::{
    auth::{Rule, Scope, policy::ADMIN_DOCTOR_STAFF},
    db::Db,
    error::{AppError, AppResult},
    graphql::ids::parse_id,
    idempotency::RetryKey,
    pipeline::{Command, Exec},
    validation::Text,
};
use async_graphql::ID;
use chrono::{DateTime, Utc};
use entity::{BloodGroup, Component, OrgKind, Urgency, blood_request};
use sea_orm::EntityTrait;
use uuid::Uuid;

/// What a hospital or a bank does to blood requests: its members who handle requests, or
/// its API client with `blood-requests:write`.
fn act_for(org: Uuid, kind: OrgKind) -> Rule {
    Rule::ActFor {
        org,
        roles: ADMIN_DOCTOR_STAFF,
        scope: Some(Scope::BloodRequestsWrite),
        kind: Some(kind),
    }
}

/// Before parsing: acting for the organization an input names.
fn act_for_named(org: &ID, kind: OrgKind) -> Rule {
    Rule::for_named(org, |org| act_for(org, kind))
}

/// A retried create or accept is answered with the request as it is now.
async fn replay(db: &Db, id: Uuid) -> AppResult<blood_request::Model> {
    blood_request::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("blood request"))
}

/// `createBloodRequest`, parsed.
pub struct CreateBloodRequest {
    /// The hospital acted for.
    pub hospital_id: Uuid,
    /// The hospital's patient reference (MRN).
    pub patient_reference: Text,
    /// Seen only by the hospital.
    pub patient_name: Option<Text>,
    /// The recipient's group.
    pub blood_group: BloodGroup,
    pub component: Component,
    /// 1 to 20.
    pub units_required: i32,
    pub urgency: Urgency,
    /// In the future.
    pub needed_by: DateTime<Utc>,
    /// Seen only by the hospital.
    pub medical_notes: Option<Text>,
    /// The addressed bank, or `None` for a request open to the radius.
    pub target_bank: Option<Uuid>,
    /// The radius asked for; the default and the ceiling are settings.
    pub radius_km: Option<f64>,
    /// Emergency-only matches allowed, with this reason.
    pub emergency_override: Option<Text>,
    /// The caller's retry key.
    pub retry: Option<RetryKey>,
}

impl TryFrom<CreateBloodRequestInput> for CreateBloodRequest {
    type Error = AppError;

    fn try_from(input: CreateBloodRequestInput) -> AppResult<Self> {
        let retry = RetryKey::parse(input.idempotency_key.as_deref(), &input)?;
        if !(1..=20).contains(&input.units_required) {
            return Err(AppError::bad_input(
                "input.unitsRequired",
                "must be between 1 and 20",
            ));
        }
        if input.needed_by <= Utc::now() {
            return Err(AppError::bad_input(
                "input.neededBy",
                "must be in the future",
            ));
        }
        let reason = Text::parse_opt(
            input.override_reason.as_deref(),
            "input.overrideReason",
            500,
        )?;
        let emergency_override = match (input.allow_emergency_override, reason) {
            (true, None) => {
                return Err(AppError::bad_input(
                    "input.overrideReason",
                    "is required with an emergency override",
                ));
            }
            (true, reason) => reason,
            (false, _) => None,
        };
        Ok(Self {
            hospital_id: parse_id(&input.hospital_id, "input.hospitalId")?,
            patient_reference: Text::parse(&input.patient_reference, "input.patientReference", 64)?,
            patient_name: Text::parse_opt(input.patient_name.as_deref(), "input.patientName", 200)?,
            blood_group: input.blood_group,
            component: input.component,
            units_required: input.units_required,
            urgency: input.urgency,
            needed_by: input.needed_by,
            medical_notes: Text::parse_opt(
                input.medical_notes.as_deref(),
                "input.medicalNotes",
                2000,
            )?,
            target_bank: input
                .blood_bank_id
                .as_ref()
                .map(|b| parse_id(b, "input.bloodBankId"))
                .transpose()?,
            radius_km: input.radius_km,
            emergency_override,
            retry,
        })
    }
}

impl Command for CreateBloodRequest {
    type Input = CreateBloodRequestInput;
    type Output = blood_request::Model;
    const ACTION: &'static str = "blood_request.create";
    const ENTITY: &'static str = "blood_request";

    fn authority(input: &Self::Input) -> Rule {
        act_for_named(&input.hospital_id, OrgKind::Hospital)
    }

    fn retry_key(&self) -> Option<&RetryKey> {
        self.retry.as_ref()
    }

    fn operation(&self) -> &'static str {
        "createBloodRequest"
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, crate::audit::Change)> {
        service::create(exec.txn, &exec.app.config, self, exec.actor).await
    }

    fn result_id(output: &Self::Output) -> Option<Uuid> {
        Some(output.id)
    }

    async fn replay(db: &Db, id: Uuid) -> AppResult<Self::Output> {
        replay(db, id).await
    }
}

/// `acceptBloodRequest`, parsed.
pub struct AcceptBloodRequest {
    pub request_id: Uuid,
    /// The bank acted for.
    pub bank_id: Uuid,
    /// The caller's retry key.
    pub retry: Option<RetryKey>,
}

impl TryFrom<AcceptBloodRequestInput> for AcceptBloodRequest {
    type Error = AppError;

    fn try_from(input: AcceptBloodRequestInput) -> AppResult<Self> {
        Ok(Self {
            retry: RetryKey::parse(input.idempotency_key.as_deref(), &input)?,
            request_id: parse_id(&input.request_id, "input.requestId")?,
            bank_id: parse_id(&input.blood_bank_id, "input.bloodBankId")?,
        })
    }
}

impl Command for AcceptBloodRequest {
    type Input = AcceptBloodRequestInput;
    type Output = blood_request::Model;
    const ACTION: &'static str = "blood_request.accept";
    const ENTITY: &'static str = "blood_request";

    fn authority(input: &Self::Input) -> Rule {
        act_for_named(&input.blood_bank_id, OrgKind::BloodBank)
    }

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.request_id)
    }

    fn retry_key(&self) -> Option<&RetryKey> {
        self.retry.as_ref()
    }

    fn operation(&self) -> &'static str {
        "acceptBloodRequest"
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, crate::audit::Change)> {
        service::accept(exec.txn, exec.app.config.reservation_hold, self, exec.actor).await
    }

    fn result_id(output: &Self::Output) -> Option<Uuid> {
        Some(output.id)
    }

    async fn replay(db: &Db, id: Uuid) -> AppResult<Self::Output> {
        replay(db, id).await
    }
}

/// `fulfillBloodRequest`, parsed.
pub struct FulfillBloodRequest {
    pub request_id: Uuid,
    /// The accepting bank, acted for.
    pub bank_id: Uuid,
}

impl TryFrom<FulfillBloodRequestInput> for FulfillBloodRequest {
    type Error = AppError;

    fn try_from(input: FulfillBloodRequestInput) -> AppResult<Self> {
        Ok(Self {
            request_id: parse_id(&input.request_id, "input.requestId")?,
            bank_id: parse_id(&input.blood_bank_id, "input.bloodBankId")?,
        })
    }
}

impl Command for FulfillBloodRequest {
    type Input = FulfillBloodRequestInput;
    type Output = blood_request::Model;
    const ACTION: &'static str = "blood_request.fulfill";
    const ENTITY: &'static str = "blood_request";

    fn authority(input: &Self::Input) -> Rule {
        act_for_named(&input.blood_bank_id, OrgKind::BloodBank)
    }

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.request_id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, crate::audit::Change)> {
        service::fulfill(exec.txn, self, exec.actor).await
    }
}

/// A bank's answer to a request it will not serve: `rejectBloodRequest` (the addressed bank
/// refuses; a reason is required) or `declineBloodRequest` (a bank passes on an open request,
/// which stays open to the others).
pub struct BankResponse<const REJECT: bool> {
    pub request_id: Uuid,
    /// The bank acted for.
    pub bank_id: Uuid,
    pub reason: Option<Text>,
}

/// `rejectBloodRequest`, parsed.
pub type RejectBloodRequest = BankResponse<true>;
/// `declineBloodRequest`, parsed.
pub type DeclineBloodRequest = BankResponse<false>;

impl<const REJECT: bool> TryFrom<BankResponseInput> for BankResponse<REJECT> {
    type Error = AppError;

    fn try_from(input: BankResponseInput) -> AppResult<Self> {
        let reason = Text::parse_opt(input.reason.as_deref(), "input.reason", 500)?;
        if REJECT && reason.is_none() {
            return Err(AppError::bad_input("input.reason", "is required"));
        }
        Ok(Self {
            request_id: parse_id(&input.request_id, "input.requestId")?,
            bank_id: parse_id(&input.blood_bank_id, "input.bloodBankId")?,
            reason,
        })
    }
}

impl<const REJECT: bool> Command for BankResponse<REJECT> {
    type Input = BankResponseInput;
    type Output = blood_request::Model;
    const ACTION: &'static str = if REJECT {
        "blood_request.reject"
    } else {
        "blood_request.decline"
    };
    const ENTITY: &'static str = "blood_request";

    fn authority(input: &Self::Input) -> Rule {
        act_for_named(&input.blood_bank_id, OrgKind::BloodBank)
    }

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.request_id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, crate::audit::Change)> {
        let (request, bank) = (self.request_id, self.bank_id);
        if REJECT {
            service::reject(exec.txn, request, bank, self.reason).await
        } else {
            service::decline(exec.txn, request, bank, self.reason, exec.actor).await
        }
    }
}

/// `cancelBloodRequest`, parsed.
pub struct CancelBloodRequest {
    pub request_id: Uuid,
    /// The requesting hospital, acted for.
    pub hospital_id: Uuid,
    pub reason: Text,
}

impl TryFrom<CancelBloodRequestInput> for CancelBloodRequest {
    type Error = AppError;

    fn try_from(input: CancelBloodRequestInput) -> AppResult<Self> {
        Ok(Self {
            request_id: parse_id(&input.request_id, "input.requestId")?,
            hospital_id: parse_id(&input.hospital_id, "input.hospitalId")?,
            reason: Text::parse(&input.reason, "input.reason", 500)?,
        })
    }
}

impl Command for CancelBloodRequest {
    type Input = CancelBloodRequestInput;
    type Output = blood_request::Model;
    const ACTION: &'static str = "blood_request.cancel";
    const ENTITY: &'static str = "blood_request";

    fn authority(input: &Self::Input) -> Rule {
        act_for_named(&input.hospital_id, OrgKind::Hospital)
    }

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.request_id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, crate::audit::Change)> {
        service::cancel(exec.txn, self, exec.actor).await
    }
}

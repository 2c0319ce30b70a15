//! GraphQL types of blood requests. `patientName` and `medicalNotes` are shown only to the
//! requesting hospital's members and super admins, and every such read is audited.

use crate::{
    audit::ReadRecord,
    auth,
    error::AppResult,
    graphql::{context::CtxExt, ids::to_id, loaders::load_children, pagination::SortDirection},
    identity::types::User,
    organizations::types::Organization,
    stock::types::BloodUnit,
};
use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use entity::sealed::Sealed;
use entity::{BloodGroup, Component, RequestStatus, Urgency, blood_request};
use serde::Serialize;
use std::sync::Arc;

/// A hospital's request for blood.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct BloodRequest {
    pub id: ID,
    /// The hospital's patient reference (not a name).
    pub patient_reference: String,
    pub blood_group: BloodGroup,
    pub component: Component,
    pub units_required: i32,
    pub urgency: Urgency,
    pub needed_by: DateTime<Utc>,
    pub status: RequestStatus,
    /// Radius of an open request, from the hospital.
    pub radius_km: f64,
    /// Escalation steps taken.
    pub escalation_level: i32,
    /// Whether emergency-only matches are allowed.
    pub allow_emergency_override: bool,
    pub override_reason: Option<String>,
    /// Until when the accepted units are held.
    pub hold_until: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub fulfilled_at: Option<DateTime<Utc>>,
    pub rejected_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub expired_at: Option<DateTime<Utc>>,
    pub rejection_reason: Option<String>,
    pub cancellation_reason: Option<String>,
    /// The API client that created it, if one did.
    pub requested_by_api_client_id: Option<ID>,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub row: blood_request::Model,
}

impl From<blood_request::Model> for BloodRequest {
    fn from(m: blood_request::Model) -> Self {
        Self {
            id: to_id(m.id),
            patient_reference: m.patient_reference.clone(),
            blood_group: m.blood_group,
            component: m.component,
            units_required: m.units_required,
            urgency: m.urgency,
            needed_by: m.needed_by,
            status: m.status,
            radius_km: m.radius_km,
            escalation_level: m.escalation_level,
            allow_emergency_override: m.allow_emergency_override,
            override_reason: m.override_reason.clone(),
            hold_until: m.hold_until,
            accepted_at: m.accepted_at,
            fulfilled_at: m.fulfilled_at,
            rejected_at: m.rejected_at,
            cancelled_at: m.cancelled_at,
            expired_at: m.expired_at,
            rejection_reason: m.rejection_reason.clone(),
            cancellation_reason: m.cancellation_reason.clone(),
            requested_by_api_client_id: m.requested_by_api_client_id.map(to_id),
            created_at: m.created_at,
            row: m,
        }
    }
}

impl BloodRequest {
    /// The patient fields, if the caller may see them; the read is audited.
    fn patient_field(
        &self,
        ctx: &Context<'_>,
        value: &Option<Sealed<String>>,
    ) -> AppResult<Option<String>> {
        let req = ctx.req()?;
        if !auth::requests::sees_patient(&req.viewer, &self.row) {
            return Ok(None);
        }
        req.reads.record(ReadRecord {
            action: "blood_request.read_patient",
            entity_type: "blood_request",
            entity_id: self.row.id,
            organization_id: Some(self.row.hospital_id),
        });
        Ok(Sealed::plain(value))
    }
}

#[ComplexObject]
impl BloodRequest {
    /// Patient name: the requesting hospital's members and super admins only (null for
    /// everyone else). Reading it is audited.
    async fn patient_name(&self, ctx: &Context<'_>) -> AppResult<Option<String>> {
        self.patient_field(ctx, &self.row.patient_name)
    }

    /// Medical notes: as `patientName`.
    async fn medical_notes(&self, ctx: &Context<'_>) -> AppResult<Option<String>> {
        self.patient_field(ctx, &self.row.medical_notes)
    }

    async fn hospital(&self, ctx: &Context<'_>) -> AppResult<Option<Arc<Organization>>> {
        Organization::load(ctx, self.row.hospital_id).await
    }

    /// The bank it is addressed to (null for an open request).
    async fn target_bank(&self, ctx: &Context<'_>) -> AppResult<Option<Arc<Organization>>> {
        let Some(id) = self.row.target_bank_id else {
            return Ok(None);
        };
        Organization::load(ctx, id).await
    }

    /// The bank that accepted it.
    async fn blood_bank(&self, ctx: &Context<'_>) -> AppResult<Option<Arc<Organization>>> {
        let Some(id) = self.row.blood_bank_id else {
            return Ok(None);
        };
        Organization::load(ctx, id).await
    }

    /// The user who created it (null when an API client did); their email and phone only for
    /// the hospital's own members.
    async fn requested_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        let Some(id) = self.row.requested_by_user_id else {
            return Ok(None);
        };
        User::load_member(ctx, id, self.row.hospital_id).await
    }

    /// Units reserved for or issued to it: the hospital, the accepting bank and super admins.
    async fn units(&self, ctx: &Context<'_>) -> AppResult<Vec<BloodUnit>> {
        let req = ctx.req()?;
        if !auth::requests::sees_units(&req.viewer, &self.row) {
            return Ok(Vec::new());
        }
        let rows = load_children(&req.loaders.units_by_request, self.row.id).await?;
        Ok(rows.into_iter().map(BloodUnit::from).collect())
    }
}

/// Input of `createBloodRequest`.
#[derive(InputObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateBloodRequestInput {
    /// The hospital acted for.
    pub hospital_id: ID,
    /// The hospital's patient reference (MRN).
    pub patient_reference: String,
    /// Patient name (seen only by the hospital).
    pub patient_name: Option<String>,
    pub blood_group: BloodGroup,
    pub component: Component,
    /// Units (1 to 20).
    pub units_required: i32,
    pub urgency: Urgency,
    /// Deadline (in the future).
    pub needed_by: DateTime<Utc>,
    /// Notes (seen only by the hospital).
    pub medical_notes: Option<String>,
    /// Address one bank; leave out to open the request to every approved bank in the radius.
    pub blood_bank_id: Option<ID>,
    /// Radius of an open request in km (default 10).
    pub radius_km: Option<f64>,
    /// Allow emergency-only matches (Rh+ to Rh−, group O whole blood to non-O). Needs a reason.
    #[graphql(default)]
    pub allow_emergency_override: bool,
    /// Why the override (required with it).
    pub override_reason: Option<String>,
    /// Makes retries safe: a repeat returns the first result.
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

/// Input of `acceptBloodRequest`.
#[derive(InputObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AcceptBloodRequestInput {
    pub request_id: ID,
    /// The bank acted for.
    pub blood_bank_id: ID,
    /// Makes retries safe.
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

/// Input of `fulfillBloodRequest`.
#[derive(InputObject)]
pub struct FulfillBloodRequestInput {
    pub request_id: ID,
    /// The accepting bank, acted for.
    pub blood_bank_id: ID,
}

/// Input of `rejectBloodRequest` and `declineBloodRequest`.
#[derive(InputObject)]
pub struct BankResponseInput {
    pub request_id: ID,
    /// The bank acted for.
    pub blood_bank_id: ID,
    /// Why (required to reject).
    pub reason: Option<String>,
}

/// Input of `cancelBloodRequest`.
#[derive(InputObject)]
pub struct CancelBloodRequestInput {
    pub request_id: ID,
    /// The hospital acted for.
    pub hospital_id: ID,
    /// Why (required).
    pub reason: String,
}

/// Result of request mutations.
#[derive(SimpleObject)]
pub struct BloodRequestPayload {
    /// The request after the change.
    pub blood_request: BloodRequest,
}

impl From<blood_request::Model> for BloodRequestPayload {
    fn from(m: blood_request::Model) -> Self {
        Self {
            blood_request: m.into(),
        }
    }
}

/// Filter of `bloodRequests`.
#[derive(InputObject, Default)]
pub struct BloodRequestFilter {
    pub statuses: Option<Vec<RequestStatus>>,
    pub urgencies: Option<Vec<Urgency>>,
    pub hospital_id: Option<ID>,
    /// Accepting or addressed bank.
    pub blood_bank_id: Option<ID>,
    /// Created at or after.
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
}

/// Sort keys of `bloodRequests`.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum BloodRequestOrderField {
    /// Most urgent first, then oldest first (the default).
    #[default]
    Urgency,
    CreatedAt,
}

/// Order of `bloodRequests`.
#[derive(InputObject, Default)]
pub struct BloodRequestOrder {
    #[graphql(default)]
    pub field: BloodRequestOrderField,
    #[graphql(default)]
    pub direction: SortDirection,
}

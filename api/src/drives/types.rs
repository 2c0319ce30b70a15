//! GraphQL types of drives.

use crate::{
    camps::{service::parse_groups, types::Camp},
    error::AppResult,
    graphql::{context::CtxExt, ids::to_id, loaders::load_children},
    organizations::types::Organization,
};
use async_graphql::{ComplexObject, Context, ID, InputObject, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{BloodGroup, Component, DriveStatus, DriveType, drive};
use std::sync::Arc;

/// A donation drive between a hospital and an NGO.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Drive {
    pub id: ID,
    pub drive_type: DriveType,
    /// Blood groups needed (empty: any).
    pub blood_groups: Vec<BloodGroup>,
    pub component: Option<Component>,
    pub target_units: i32,
    pub date: NaiveDate,
    /// The blood request the drive answers, if any.
    pub blood_request_id: Option<ID>,
    pub notes: Option<String>,
    pub status: DriveStatus,
    /// Why it was rejected or cancelled.
    pub reason: Option<String>,
    pub units_collected: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub rejected_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    pub row: drive::Model,
}

impl From<drive::Model> for Drive {
    fn from(m: drive::Model) -> Self {
        Self {
            id: to_id(m.id),
            drive_type: m.drive_type,
            blood_groups: parse_groups(&m.blood_groups),
            component: m.component,
            target_units: m.target_units,
            date: m.drive_date,
            blood_request_id: m.blood_request_id.map(to_id),
            notes: m.notes.clone(),
            status: m.status,
            reason: m.reason.clone(),
            units_collected: m.units_collected,
            created_at: m.created_at,
            accepted_at: m.accepted_at,
            rejected_at: m.rejected_at,
            completed_at: m.completed_at,
            cancelled_at: m.cancelled_at,
            row: m,
        }
    }
}

#[ComplexObject]
impl Drive {
    async fn hospital(&self, ctx: &Context<'_>) -> AppResult<Option<Arc<Organization>>> {
        Organization::load(ctx, self.row.hospital_id).await
    }

    async fn ngo(&self, ctx: &Context<'_>) -> AppResult<Option<Arc<Organization>>> {
        Organization::load(ctx, self.row.ngo_id).await
    }

    /// The side that proposed it.
    async fn proposed_by(&self, ctx: &Context<'_>) -> AppResult<Option<Arc<Organization>>> {
        Organization::load(ctx, self.row.proposed_by_org_id).await
    }

    /// The camps that answer it.
    async fn camps(&self, ctx: &Context<'_>) -> AppResult<Vec<Camp>> {
        let camps = load_children(&ctx.req()?.loaders.camps_by_drive, self.row.id).await?;
        Ok(camps.into_iter().map(Camp::from).collect())
    }
}

/// Input of `proposeDrive`: by the hospital's or the NGO's admins, doctors or staff.
#[derive(InputObject, Clone)]
pub struct ProposeDriveInput {
    pub hospital_id: ID,
    pub ngo_id: ID,
    #[graphql(name = "type")]
    pub drive_type: DriveType,
    /// Blood groups needed (empty: any).
    #[graphql(default)]
    pub blood_groups: Vec<BloodGroup>,
    pub component: Option<Component>,
    /// Units wanted, 1 to 10000.
    pub target_units: i32,
    /// The day, not in the past.
    pub date: NaiveDate,
    /// The hospital's blood request the drive answers.
    pub blood_request_id: Option<ID>,
    pub notes: Option<String>,
}

/// Input of `acceptDrive`.
#[derive(InputObject, Clone)]
pub struct DriveActionInput {
    pub drive_id: ID,
}

/// Input of `rejectDrive`.
#[derive(InputObject, Clone)]
pub struct RejectDriveInput {
    pub drive_id: ID,
    pub reason: String,
}

/// Input of `cancelDrive`.
#[derive(InputObject, Clone)]
pub struct CancelDriveInput {
    pub drive_id: ID,
    pub reason: Option<String>,
}

/// Input of `completeDrive`.
#[derive(InputObject, Clone)]
pub struct CompleteDriveInput {
    pub drive_id: ID,
    /// Units collected, 0 or more.
    pub units_collected: i32,
}

/// Result of the drive mutations.
#[derive(SimpleObject)]
pub struct DrivePayload {
    pub drive: Drive,
}

impl From<drive::Model> for DrivePayload {
    fn from(m: drive::Model) -> Self {
        Self { drive: m.into() }
    }
}

/// Filter of `drives`.
#[derive(InputObject, Default)]
pub struct DriveFilter {
    pub status: Option<Vec<DriveStatus>>,
    /// The drives of one hospital or NGO.
    pub organization_id: Option<ID>,
    pub drive_type: Option<DriveType>,
}

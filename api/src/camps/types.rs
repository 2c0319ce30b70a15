//! GraphQL types of camps: the camp, its slots and registrations, inputs and payloads.

use super::service;
use crate::{
    audit::ReadRecord,
    auth::camps as rules,
    donors::types::{Donation, DonationInput, Donor},
    drives::types::Drive,
    error::{AppError, AppResult},
    graphql::{
        context::CtxExt,
        ids::to_id,
        loaders::{load_children, load_one},
    },
    organizations::types::Organization,
    stock::types::{BloodUnit, GeoPointInput},
};
use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, SimpleObject};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use entity::{BloodGroup, CampStatus, RegistrationStatus, camp, camp_registration, camp_slot};
use std::sync::Arc;

/// A blood donation camp an NGO runs with a partner blood bank.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Camp {
    pub id: ID,
    pub name: String,
    pub description: Option<String>,
    pub venue: String,
    pub address: Option<String>,
    pub city: String,
    pub latitude: f64,
    pub longitude: f64,
    /// IANA zone of the daily hours.
    pub time_zone: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    /// Daily opening, wall-clock time in the camp's zone.
    pub daily_start: NaiveTime,
    /// Daily closing, wall-clock time in the camp's zone.
    pub daily_end: NaiveTime,
    pub slot_minutes: i32,
    /// Places per slot.
    pub slot_capacity: i32,
    /// The first slot's start.
    pub starts_at: DateTime<Utc>,
    /// The last slot's end.
    pub ends_at: DateTime<Utc>,
    /// Blood groups the camp asks for (empty: any).
    pub blood_groups_needed: Vec<BloodGroup>,
    pub expected_donors: Option<i32>,
    /// Donors who attended, computed when the camp completes.
    pub actual_donors: Option<i32>,
    /// Units collected, computed when the camp completes.
    pub actual_units: Option<i32>,
    pub status: CampStatus,
    pub cancellation_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    pub row: camp::Model,
}

impl From<camp::Model> for Camp {
    fn from(m: camp::Model) -> Self {
        Self {
            id: to_id(m.id),
            name: m.name.clone(),
            description: m.description.clone(),
            venue: m.venue.clone(),
            address: m.address.clone(),
            city: m.city.clone(),
            latitude: m.latitude,
            longitude: m.longitude,
            time_zone: m.time_zone.clone(),
            starts_on: m.starts_on,
            ends_on: m.ends_on,
            daily_start: m.daily_start,
            daily_end: m.daily_end,
            slot_minutes: m.slot_minutes,
            slot_capacity: m.slot_capacity,
            starts_at: m.starts_at,
            ends_at: m.ends_at,
            blood_groups_needed: service::parse_groups(&m.blood_groups_needed),
            expected_donors: m.expected_donors,
            actual_donors: m.actual_donors,
            actual_units: m.actual_units,
            status: m.status,
            cancellation_reason: m.cancellation_reason.clone(),
            created_at: m.created_at,
            started_at: m.started_at,
            completed_at: m.completed_at,
            cancelled_at: m.cancelled_at,
            row: m,
        }
    }
}

#[ComplexObject]
impl Camp {
    /// The organizing NGO.
    async fn organization(&self, ctx: &Context<'_>) -> AppResult<Option<Arc<Organization>>> {
        Organization::load(ctx, self.row.organization_id).await
    }

    /// The partner bank that takes the units.
    async fn blood_bank(&self, ctx: &Context<'_>) -> AppResult<Option<Arc<Organization>>> {
        Organization::load(ctx, self.row.blood_bank_id).await
    }

    /// The drive the camp answers, for the drive's hospital and NGO members.
    async fn drive(&self, ctx: &Context<'_>) -> AppResult<Option<Drive>> {
        let Some(id) = self.row.drive_id else {
            return Ok(None);
        };
        let req = ctx.req()?;
        let d = load_one(&req.loaders.drives, id).await?;
        Ok(d.filter(|d| rules::sees_drive(&req.viewer, d))
            .map(Drive::from))
    }

    /// The camp's slots starting in `[from, to)` (all of them by default), earliest first.
    async fn slots(
        &self,
        ctx: &Context<'_>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> AppResult<Vec<CampSlot>> {
        let slots = load_children(&ctx.req()?.loaders.slots_by_camp, self.row.id).await?;
        Ok(slots
            .into_iter()
            .filter(|s| from.is_none_or(|f| s.starts_at >= f) && to.is_none_or(|t| s.starts_at < t))
            .map(CampSlot::from)
            .collect())
    }

    /// Who registered, for the NGO's and the partner bank's members (personal data: each
    /// read is audited). Anyone else is refused.
    async fn registrations(&self, ctx: &Context<'_>) -> AppResult<Vec<CampRegistration>> {
        let req = ctx.req()?;
        if !rules::sees_registrations(&req.viewer, &self.row) {
            return Err(AppError::Forbidden(
                "only the camp's NGO and partner bank see its registrations",
            ));
        }
        let rows = load_children(&req.loaders.registrations_by_camp, self.row.id).await?;
        for r in &rows {
            req.reads.record(ReadRecord {
                action: "camp_registration.read",
                entity_type: "camp_registration",
                entity_id: r.id,
                organization_id: Some(self.row.organization_id),
            });
        }
        Ok(rows.into_iter().map(CampRegistration::from).collect())
    }
}

/// One time slot of a camp.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct CampSlot {
    pub id: ID,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Places in the slot.
    pub capacity: i32,
    /// Places taken.
    pub booked: i32,
    #[graphql(skip)]
    pub camp_id: uuid::Uuid,
}

impl From<camp_slot::Model> for CampSlot {
    fn from(m: camp_slot::Model) -> Self {
        Self {
            id: to_id(m.id),
            starts_at: m.starts_at,
            ends_at: m.ends_at,
            capacity: m.capacity,
            booked: m.booked,
            camp_id: m.camp_id,
        }
    }
}

#[ComplexObject]
impl CampSlot {
    /// Places left.
    async fn remaining(&self) -> i32 {
        (self.capacity - self.booked).max(0)
    }
}

/// A donor's place in a camp slot and what came of it.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct CampRegistration {
    pub id: ID,
    pub status: RegistrationStatus,
    /// Units collected at attendance.
    pub units_collected: i32,
    /// The donor who referred this one, if any.
    pub referred_by: Option<ID>,
    /// When the outcome was recorded.
    pub outcome_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub row: camp_registration::Model,
}

impl From<camp_registration::Model> for CampRegistration {
    fn from(m: camp_registration::Model) -> Self {
        Self {
            id: to_id(m.id),
            status: m.status,
            units_collected: m.units_collected,
            referred_by: m.referred_by.map(to_id),
            outcome_at: m.outcome_at,
            created_at: m.created_at,
            row: m,
        }
    }
}

#[ComplexObject]
impl CampRegistration {
    async fn camp(&self, ctx: &Context<'_>) -> AppResult<Option<Camp>> {
        let c = load_one(&ctx.req()?.loaders.camps, self.row.camp_id).await?;
        Ok(c.map(Camp::from))
    }

    async fn slot(&self, ctx: &Context<'_>) -> AppResult<Option<CampSlot>> {
        let s = load_one(&ctx.req()?.loaders.camp_slots, self.row.slot_id).await?;
        Ok(s.map(CampSlot::from))
    }

    /// The donor (the registration is only shown to those who may contact them).
    async fn donor(&self, ctx: &Context<'_>) -> AppResult<Option<Donor>> {
        let d = load_one(&ctx.req()?.loaders.donors, self.row.donor_id).await?;
        Ok(d.map(Donor::from))
    }
}

/// Input of `createCamp`.
#[derive(InputObject, Clone)]
pub struct CreateCampInput {
    /// The organizing NGO, acted for.
    pub organization_id: ID,
    /// The approved blood bank that takes the units.
    pub blood_bank_id: ID,
    /// At most 200 characters.
    pub name: String,
    pub description: Option<String>,
    /// Where, in words (at most 200 characters).
    pub venue: String,
    pub address: Option<String>,
    pub city: String,
    pub latitude: f64,
    pub longitude: f64,
    /// IANA zone of the daily hours, e.g. `Asia/Kolkata`.
    pub time_zone: String,
    /// First day, not in the past.
    pub starts_on: NaiveDate,
    /// Last day (at most 31 days after the first).
    pub ends_on: NaiveDate,
    /// Daily opening, wall-clock time.
    pub daily_start: NaiveTime,
    /// Daily closing, after the opening.
    pub daily_end: NaiveTime,
    /// Length of a slot, 5 to 480 minutes.
    pub slot_minutes: i32,
    /// Places per slot, 1 to 500.
    pub slot_capacity: i32,
    /// Blood groups asked for (empty: any).
    #[graphql(default)]
    pub blood_groups_needed: Vec<BloodGroup>,
    pub expected_donors: Option<i32>,
    /// An accepted drive of this NGO the camp answers.
    pub drive_id: Option<ID>,
}

/// Input of `updateCamp`: fields left out stay as they are. Moving the camp (venue,
/// address, city, location) tells its registered donors.
#[derive(InputObject, Clone)]
pub struct UpdateCampInput {
    pub camp_id: ID,
    pub name: Option<String>,
    pub description: Option<String>,
    pub venue: Option<String>,
    pub address: Option<String>,
    pub city: Option<String>,
    pub location: Option<GeoPointInput>,
    pub blood_groups_needed: Option<Vec<BloodGroup>>,
    pub expected_donors: Option<i32>,
}

/// Input of `startCamp` and `completeCamp`.
#[derive(InputObject, Clone)]
pub struct CampActionInput {
    pub camp_id: ID,
}

/// Input of `cancelCamp`.
#[derive(InputObject, Clone)]
pub struct CancelCampInput {
    pub camp_id: ID,
    /// Told to the registered donors (at most 500 characters).
    pub reason: String,
}

/// Result of the camp mutations.
#[derive(SimpleObject)]
pub struct CampPayload {
    pub camp: Camp,
}

impl From<camp::Model> for CampPayload {
    fn from(m: camp::Model) -> Self {
        Self { camp: m.into() }
    }
}

/// Input of `registerForCamp`.
#[derive(InputObject, Clone)]
pub struct RegisterForCampInput {
    pub slot_id: ID,
    /// Your own donor record, or one your NGO manages.
    pub donor_id: ID,
    /// The donor who referred this one.
    pub referred_by: Option<ID>,
}

/// Input of `cancelCampRegistration`.
#[derive(InputObject, Clone)]
pub struct CampRegistrationActionInput {
    pub registration_id: ID,
}

/// Result of `registerForCamp` and `cancelCampRegistration`.
#[derive(SimpleObject)]
pub struct CampRegistrationPayload {
    pub registration: CampRegistration,
}

impl From<camp_registration::Model> for CampRegistrationPayload {
    fn from(m: camp_registration::Model) -> Self {
        Self {
            registration: m.into(),
        }
    }
}

/// What came of a registration.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum AttendanceOutcome {
    /// Came (with a donation, it is recorded).
    Attended,
    NotAttended,
    /// Deferred on the day.
    Deferred,
    /// The donation failed.
    Failed,
}

/// Input of `recordCampAttendance`.
#[derive(InputObject)]
pub struct RecordCampAttendanceInput {
    pub registration_id: ID,
    pub outcome: AttendanceOutcome,
    /// The donation, with `ATTENDED` only.
    pub donation: Option<DonationInput>,
}

/// Result of `recordCampAttendance`.
#[derive(SimpleObject)]
pub struct CampAttendancePayload {
    pub registration: CampRegistration,
    /// The donation recorded, if any.
    pub donation: Option<Donation>,
    /// Units added to the partner bank's quarantine.
    pub units: Vec<BloodUnit>,
}

impl From<service::Attendance> for CampAttendancePayload {
    fn from((r, given): service::Attendance) -> Self {
        let (donation, units) = match given {
            Some((d, _, units)) => (Some(d.into()), units.into_iter().map(Into::into).collect()),
            None => (None, Vec::new()),
        };
        Self {
            registration: r.into(),
            donation,
            units,
        }
    }
}

/// Filter of `camps`.
#[derive(InputObject, Default)]
pub struct CampFilter {
    /// Centre of a distance filter.
    pub near: Option<GeoPointInput>,
    /// Radius around `near` in km (up to 500).
    pub radius_km: Option<f64>,
    /// Camps still running at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Camps starting before this instant.
    pub to: Option<DateTime<Utc>>,
    pub status: Option<Vec<CampStatus>>,
    /// One NGO's camps.
    pub organization_id: Option<ID>,
    /// Camps asking for any of these groups (or for any group).
    pub blood_groups: Option<Vec<BloodGroup>>,
}

/// A camp's slot availability changed, or the camp moved state.
#[derive(SimpleObject)]
pub struct CampChange {
    pub camp_id: ID,
    pub status: CampStatus,
    /// The slot whose places changed, if one did.
    pub slot_id: Option<ID>,
    pub booked: Option<i32>,
    pub capacity: Option<i32>,
    pub remaining: Option<i32>,
    pub at: DateTime<Utc>,
}

//! GraphQL types of the donors domain.

use super::service;
use crate::{
    auth::donors::{DonationsShown, donations_shown, may_read_code},
    blood::eligibility::{Deferral, RuleSet},
    error::AppResult,
    graphql::{context::CtxExt, ids::to_id, loaders::load_children, pagination::SortDirection},
    organizations::types::Organization,
    stock::types::GeoPointInput,
    validation::DonorCode,
};
use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use entity::sealed::Sealed;
use entity::{BloodGroup, Component, DonationType, Eligibility, UnitStatus, donation, donor};
use serde::Serialize;
use std::sync::Arc;

/// Who a donor is and how to reach them: the same fields on the `Donor` read and in
/// `registerDonor`'s input (checked and normalised when registered).
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(input_name = "DonorDetailsInput")]
pub struct DonorDetails {
    /// At most 200 characters.
    pub full_name: String,
    /// Before today and at most 120 years ago.
    pub date_of_birth: NaiveDate,
    /// Gender as given (e.g. FEMALE, MALE), stored upper-case.
    pub gender: Option<String>,
    pub blood_group: BloodGroup,
    /// Weight in kg, 20 to 300.
    pub weight_kg: f64,
    /// Phone, unique among donors.
    pub phone: String,
    /// Stored lower-cased.
    pub email: Option<String>,
    /// At most 300 characters.
    pub address: Option<String>,
    /// At most 100 characters.
    pub city: String,
    /// State or province.
    pub state: Option<String>,
}

#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Donor {
    pub id: ID,
    #[graphql(flatten)]
    pub details: DonorDetails,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// The day of their last donation.
    pub last_donation_date: Option<NaiveDate>,
    /// Donations so far.
    pub total_donations: i32,
    /// Eligibility as last computed; a deferral whose date has come reads `ELIGIBLE`.
    pub eligibility_status: Eligibility,
    /// When they may donate again.
    pub next_eligible_date: Option<NaiveDate>,
    /// Whether they agreed to be called out when blood is needed near them (they set it).
    pub accepts_callouts: bool,
    #[graphql(skip)]
    pub row: donor::Model,
}

impl From<donor::Model> for Donor {
    fn from(m: donor::Model) -> Self {
        let (eligibility_status, next_eligible_date) =
            service::status_on(&m, chrono::Utc::now().date_naive());
        Self {
            id: to_id(m.id),
            details: DonorDetails {
                full_name: m.full_name.clone(),
                date_of_birth: *m.date_of_birth,
                gender: m.gender.clone(),
                blood_group: m.blood_group,
                weight_kg: m.weight_kg,
                phone: m.phone.0.clone(),
                email: m.email.clone(),
                address: Sealed::plain(&m.address),
                city: m.city.clone(),
                state: m.state.clone(),
            },
            latitude: m.latitude,
            longitude: m.longitude,
            last_donation_date: m.last_donation_date,
            total_donations: m.total_donations,
            eligibility_status,
            next_eligible_date,
            accepts_callouts: m.accepts_callouts,
            row: m,
        }
    }
}

#[derive(SimpleObject, Clone)]
pub struct DonorDeferral {
    /// The reason, in plain words.
    pub reason: String,
    /// Until (null: permanent).
    pub until: Option<NaiveDate>,
}

/// Eligibility with its reasons, computed now from the configured rule set.
#[derive(SimpleObject)]
pub struct EligibilityAssessment {
    pub status: Eligibility,
    /// Every reason that applies.
    pub reasons: Vec<String>,
    /// When they may donate again, if that can be said.
    pub next_eligible_date: Option<NaiveDate>,
    /// The rule set used.
    pub rule_set: String,
}

#[ComplexObject]
impl Donor {
    /// Deferrals on record.
    async fn deferrals(&self) -> Vec<DonorDeferral> {
        service::facts(&self.row)
            .deferrals
            .into_iter()
            .map(|d: Deferral| DonorDeferral {
                reason: d.reason,
                until: d.until,
            })
            .collect()
    }

    /// Eligibility today, with its reasons.
    async fn eligibility(&self, ctx: &Context<'_>) -> AppResult<EligibilityAssessment> {
        let name = ctx.app()?.config.eligibility_rules.clone();
        let rules = RuleSet::by_name(&name).unwrap_or_default();
        let a = service::assess(&rules, &self.row);
        Ok(EligibilityAssessment {
            status: a.status,
            reasons: a.reasons,
            next_eligible_date: a.next_eligible_date,
            rule_set: rules.name.to_string(),
        })
    }

    /// The managing NGO.
    async fn ngo(&self, ctx: &Context<'_>) -> AppResult<Option<Arc<Organization>>> {
        let Some(id) = self.row.ngo_id else {
            return Ok(None);
        };
        Organization::load(ctx, id).await
    }

    /// Donations, newest first: all of them for the donor and their NGO, a bank's own for a
    /// bank.
    async fn donations(&self, ctx: &Context<'_>) -> AppResult<Vec<Donation>> {
        let req = ctx.req()?;
        let rows = load_children(&req.loaders.donations_by_donor, self.row.id).await?;
        let shown = donations_shown(&req.viewer, &self.row);
        Ok(rows
            .into_iter()
            .filter(|d| match &shown {
                DonationsShown::All => true,
                DonationsShown::AtBanks(banks) => banks.contains(&d.blood_bank_id),
            })
            .map(Donation::from)
            .collect())
    }

    /// The code on the donor's card (`XXXX-XXXX-XXXX`): shown at any blood bank, it lets
    /// the bank record a donation. Only the donor and the organization that registered or
    /// manages them read it; null for everyone else.
    async fn donor_code(&self, ctx: &Context<'_>) -> AppResult<Option<String>> {
        let viewer = &ctx.req()?.viewer;
        Ok(may_read_code(viewer, &self.row).then(|| DonorCode::display(&self.row.donor_code)))
    }
}

#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Donation {
    pub id: ID,
    #[graphql(flatten)]
    pub record: DonationRecord,
    #[graphql(skip)]
    pub bank_id: uuid::Uuid,
}

/// What is recorded of a donation: read on `Donation`, written, once checked, by
/// `recordDonation`.
#[derive(SimpleObject, Clone)]
pub struct DonationRecord {
    pub collected_at: DateTime<Utc>,
    pub donation_type: DonationType,
    /// In millilitres.
    pub volume_ml: i32,
    /// Hemoglobin (g/dL).
    pub hemoglobin: f64,
    /// As measured, e.g. `120/80`.
    pub blood_pressure: Option<String>,
    pub notes: Option<String>,
}

impl From<donation::Model> for Donation {
    fn from(m: donation::Model) -> Self {
        Self {
            id: to_id(m.id),
            record: DonationRecord {
                collected_at: m.collected_at,
                donation_type: m.donation_type,
                volume_ml: m.volume_ml,
                hemoglobin: m.hemoglobin,
                blood_pressure: m.blood_pressure,
                notes: m.notes,
            },
            bank_id: m.blood_bank_id,
        }
    }
}

#[ComplexObject]
impl Donation {
    async fn blood_bank(&self, ctx: &Context<'_>) -> AppResult<Option<Arc<Organization>>> {
        Organization::load(ctx, self.bank_id).await
    }
}

/// Input of `registerDonor`.
#[derive(InputObject)]
pub struct RegisterDonorInput {
    /// The NGO or blood bank registering them; leave out to register yourself.
    pub organization_id: Option<ID>,
    #[graphql(flatten)]
    pub details: DonorDetails,
    /// Where they live (for outreach within a radius).
    pub location: Option<GeoPointInput>,
}

/// A deferral to add.
#[derive(InputObject)]
pub struct DeferralInput {
    /// The reason, in plain words.
    pub reason: String,
    /// Until (leave out for permanent).
    pub until: Option<NaiveDate>,
}

/// Input of `updateDonor`: the fields left out stay as they are.
#[derive(InputObject)]
pub struct UpdateDonorInput {
    pub donor_id: ID,
    /// The organization acted for (leave out when updating your own record).
    pub organization_id: Option<ID>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub city: Option<String>,
    /// Weight in kg, 20 to 300.
    pub weight_kg: Option<f64>,
    pub location: Option<GeoPointInput>,
    /// A deferral to add (organizations only).
    pub add_deferral: Option<DeferralInput>,
    /// Put under, or take off, observation (organizations only).
    pub under_observation: Option<bool>,
}

/// Result of donor mutations.
#[derive(SimpleObject)]
pub struct DonorPayload {
    /// The donor after the change.
    pub donor: Donor,
}

impl From<donor::Model> for DonorPayload {
    fn from(m: donor::Model) -> Self {
        Self { donor: m.into() }
    }
}

/// A unit collected in a donation (its group is the donor's).
#[derive(InputObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DonationUnitInput {
    /// ISBT 128 DIN with check character, or a local barcode.
    pub unit_number: String,
    /// Mark a local barcode.
    #[graphql(default)]
    pub is_local_barcode: bool,
    pub component: Component,
    /// In millilitres.
    pub volume_ml: i32,
    /// Expiry (default: shelf life).
    pub expires_at: Option<DateTime<Utc>>,
    /// `QUARANTINED` (default) until tests come back.
    #[graphql(default_with = "UnitStatus::Quarantined")]
    pub status: UnitStatus,
    /// Its screening panel: required for an `AVAILABLE` unit (every test NEGATIVE, ABO and
    /// Rh confirmed).
    pub tests: Option<crate::stock::types::UnitTestsInput>,
}

/// Input of `recordDonation`.
#[derive(InputObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordDonationInput {
    /// The collecting bank, acted for.
    pub blood_bank_id: ID,
    /// A donor the bank registered or collected from before.
    pub donor_id: Option<ID>,
    /// The code on the card the donor shows (any donor); give this or `donorId`.
    pub donor_code: Option<String>,
    #[graphql(flatten)]
    #[serde(flatten)]
    pub donation: DonationInput,
    /// Makes retries safe: a repeat returns the first result.
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

/// A donation as given: directly at a bank (`recordDonation`) or at a camp, recorded at its
/// partner bank (`recordCampAttendance`).
#[derive(InputObject, Serialize)]
#[graphql(name = "CampDonationInput")]
#[serde(rename_all = "camelCase")]
pub struct DonationInput {
    /// When (default now).
    pub collected_at: Option<DateTime<Utc>>,
    pub donation_type: DonationType,
    /// In millilitres, 50 to 700.
    pub volume_ml: i32,
    /// Hemoglobin in g/dL.
    pub hemoglobin: f64,
    /// e.g. `120/80`.
    pub blood_pressure: Option<String>,
    pub notes: Option<String>,
    /// Units collected, added to the bank's stock (`QUARANTINED` by default; always at a
    /// camp).
    #[graphql(default)]
    pub units: Vec<DonationUnitInput>,
}

/// Result of `recordDonation`.
#[derive(SimpleObject)]
pub struct RecordDonationPayload {
    pub donation: Donation,
    /// The donor with updated counters and eligibility.
    pub donor: Donor,
    /// Units added to stock.
    pub units: Vec<crate::stock::types::BloodUnit>,
}

/// Filter of `donors`.
#[derive(InputObject, Default)]
pub struct DonorFilter {
    pub blood_groups: Option<Vec<BloodGroup>>,
    pub city: Option<String>,
    pub eligibility: Option<Vec<Eligibility>>,
    /// Centre of a distance filter.
    pub near: Option<GeoPointInput>,
    /// Radius around `near` in km.
    pub radius_km: Option<f64>,
}

/// Sort keys of `donors`.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum DonorOrderField {
    /// By full name.
    #[default]
    FullName,
    CreatedAt,
}

/// Order of `donors`.
#[derive(InputObject, Default)]
pub struct DonorOrder {
    #[graphql(default)]
    pub field: DonorOrderField,
    #[graphql(default)]
    pub direction: SortDirection,
}

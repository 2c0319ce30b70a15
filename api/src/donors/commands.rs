//! Donor mutations as typed commands: each input parsed once (`TryFrom`), each command run by
//! [`crate::pipeline`] and its use case in [`super::service`]. Only the ids the rule needs
//! make a parse fail; an error in another field is kept (`AppResult` fields) and answered
//! once the caller is authorized and the row-level rules of `auth::donors` passed, so a
//! caller who may not touch the donor hears that first, whatever else is wrong.

use super::{
    service::{self, DonorRef, NewDonation, NewDonor},
    types::*,
};
use crate::{
    audit::Change,
    auth::{self, Rule, Scope, policy::ADMIN_DOCTOR_STAFF},
    blood::eligibility::{Deferral, age_on},
    db::Db,
    error::{AppError, AppResult},
    graphql::ids::parse_id,
    idempotency::RetryKey,
    pipeline::{Command, Exec},
    stock::{
        commands::parse_units,
        types::{GeoPointInput, NewBloodUnitInput},
    },
    validation::{DonorCode, Email, GeoPoint, Phone, Text},
};
use async_graphql::ID;
use chrono::Utc;
use entity::{BloodGroup, OrgKind, blood_unit, donation, donor};
use uuid::Uuid;

/// Acting for an organization's donors (its admins, doctors and staff; no API client), or
/// with no organization, for oneself.
fn act_for(org: Option<Uuid>) -> Rule {
    match org {
        None => Rule::SignedIn,
        Some(org) => Rule::ActFor {
            org,
            roles: ADMIN_DOCTOR_STAFF,
            scope: None,
            kind: None,
        },
    }
}

fn org_id(org: Option<&ID>) -> AppResult<Option<Uuid>> {
    org.map(|o| parse_id(o, "input.organizationId")).transpose()
}

fn weight(kg: f64) -> AppResult<f64> {
    if kg.is_finite() && (20.0..=300.0).contains(&kg) {
        Ok(kg)
    } else {
        Err(AppError::bad_input(
            "input.weightKg",
            "must be between 20 and 300",
        ))
    }
}

fn location(p: Option<GeoPointInput>) -> AppResult<Option<GeoPoint>> {
    p.map(|p| GeoPoint::parse(p.latitude, p.longitude, "input.location."))
        .transpose()
}

fn inner(t: Option<Text>) -> Option<String> {
    t.map(Text::into_inner)
}

/// `registerDonor`, parsed. Whom the donor belongs to is decided when it runs
/// ([`auth::donors::registrant`]).
pub struct RegisterDonor {
    /// The NGO or bank acted for; `None` to register oneself.
    pub organization_id: Option<Uuid>,
    /// The donor, without owner yet.
    pub donor: AppResult<NewDonor>,
}

impl TryFrom<RegisterDonorInput> for RegisterDonor {
    type Error = AppError;

    fn try_from(input: RegisterDonorInput) -> AppResult<Self> {
        let org = org_id(input.organization_id.as_ref())?;
        Ok(Self {
            organization_id: org,
            donor: new_donor(input, org),
        })
    }
}

fn new_donor(input: RegisterDonorInput, org: Option<Uuid>) -> AppResult<NewDonor> {
    let location = location(input.location)?;
    Ok(NewDonor {
        user_id: None,
        ngo_id: None,
        registered_by: org,
        details: details(input.details)?,
        location: location.map(|p| (p.latitude, p.longitude)),
    })
}

/// The donor's details as given, checked and normalised.
fn details(d: DonorDetails) -> AppResult<DonorDetails> {
    let weight_kg = weight(d.weight_kg)?;
    let today = Utc::now().date_naive();
    if d.date_of_birth >= today || age_on(d.date_of_birth, today) > 120 {
        return Err(AppError::bad_input(
            "input.dateOfBirth",
            "is not a plausible birth date",
        ));
    }
    Ok(DonorDetails {
        full_name: Text::parse(&d.full_name, "input.fullName", 200)?.into_inner(),
        date_of_birth: d.date_of_birth,
        gender: inner(Text::parse_opt(d.gender.as_deref(), "input.gender", 16)?)
            .map(|g| g.to_uppercase()),
        blood_group: d.blood_group,
        weight_kg,
        phone: Phone::parse(&d.phone, "input.phone")?.into_inner(),
        email: d
            .email
            .as_deref()
            .map(|e| Email::parse(e, "input.email"))
            .transpose()?
            .map(|e| e.as_str().to_string()),
        address: inner(Text::parse_opt(d.address.as_deref(), "input.address", 300)?),
        city: Text::parse(&d.city, "input.city", 100)?.into_inner(),
        state: inner(Text::parse_opt(d.state.as_deref(), "input.state", 100)?),
    })
}

impl Command for RegisterDonor {
    type Input = RegisterDonorInput;
    type Output = donor::Model;
    const ACTION: &'static str = "donor.register";
    const ENTITY: &'static str = "donor";

    fn rule(&self) -> Option<Rule> {
        Some(act_for(self.organization_id))
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        let rules = service::rule_set(&exec.app.config)?;
        let (user_id, ngo_id) =
            auth::donors::registrant(exec.viewer, exec.actor, self.organization_id)?;
        let donor = NewDonor {
            user_id,
            ngo_id,
            ..self.donor?
        };
        service::register(exec.txn, &rules, donor).await
    }
}

/// `updateDonor`, parsed.
pub struct UpdateDonor {
    pub donor_id: AppResult<Uuid>,
    /// The organization acted for; `None` for the donor themself.
    pub organization_id: Option<Uuid>,
    /// Whether it sets what only the donor's organization may: a deferral or observation.
    pub clinical: bool,
    pub changes: AppResult<DonorChanges>,
}

/// The changes of `updateDonor`, each `None` when left as it is.
pub struct DonorChanges {
    /// A new phone number.
    pub phone: Option<Phone>,
    /// A new email address.
    pub email: Option<Email>,
    /// A new address; `Some(None)` clears it.
    pub address: Option<Option<Text>>,
    pub city: Option<Text>,
    /// A new weight in kg.
    pub weight_kg: Option<f64>,
    pub location: Option<GeoPoint>,
    /// A deferral to add (organizations only).
    pub add_deferral: Option<Deferral>,
    /// Put under, or take off, observation (organizations only).
    pub under_observation: Option<bool>,
}

impl TryFrom<UpdateDonorInput> for UpdateDonor {
    type Error = AppError;

    fn try_from(input: UpdateDonorInput) -> AppResult<Self> {
        Ok(Self {
            donor_id: parse_id(&input.donor_id, "input.donorId"),
            organization_id: org_id(input.organization_id.as_ref())?,
            clinical: input.add_deferral.is_some() || input.under_observation.is_some(),
            changes: changes(input),
        })
    }
}

fn changes(input: UpdateDonorInput) -> AppResult<DonorChanges> {
    Ok(DonorChanges {
        phone: input
            .phone
            .as_deref()
            .map(|p| Phone::parse(p, "input.phone"))
            .transpose()?,
        email: input
            .email
            .as_deref()
            .map(|e| Email::parse(e, "input.email"))
            .transpose()?,
        address: input
            .address
            .as_deref()
            .map(|a| Text::parse_opt(Some(a), "input.address", 300))
            .transpose()?,
        city: input
            .city
            .as_deref()
            .map(|c| Text::parse(c, "input.city", 100))
            .transpose()?,
        weight_kg: input.weight_kg.map(weight).transpose()?,
        location: location(input.location)?,
        add_deferral: input
            .add_deferral
            .map(|d| {
                let reason = Text::parse(&d.reason, "input.addDeferral.reason", 300)?;
                Ok::<_, AppError>(Deferral {
                    reason: reason.into_inner(),
                    until: d.until,
                })
            })
            .transpose()?,
        under_observation: input.under_observation,
    })
}

impl Command for UpdateDonor {
    type Input = UpdateDonorInput;
    type Output = donor::Model;
    const ACTION: &'static str = "donor.update";
    const ENTITY: &'static str = "donor";

    fn rule(&self) -> Option<Rule> {
        Some(act_for(self.organization_id))
    }

    fn entity_id(&self) -> Option<Uuid> {
        self.donor_id.as_ref().ok().copied()
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        let rules = service::rule_set(&exec.app.config)?;
        service::update(exec.txn, &rules, self, exec.actor).await
    }
}

/// `recordDonation`, parsed.
pub struct RecordDonation {
    /// The collecting bank, acted for.
    pub bank_id: Uuid,
    /// The donor, by id or by card code; admitted before the rest of the input is read.
    pub donor: AppResult<DonorRef>,
    pub donation: AppResult<NewDonation>,
    /// The caller's retry key.
    pub retry: Option<RetryKey>,
}

impl TryFrom<RecordDonationInput> for RecordDonation {
    type Error = AppError;

    fn try_from(input: RecordDonationInput) -> AppResult<Self> {
        let bank_id = parse_id(&input.blood_bank_id, "input.bloodBankId")?;
        let retry = RetryKey::parse(input.idempotency_key.as_deref(), &input)?;
        Ok(Self {
            bank_id,
            retry,
            donor: donor_ref(input.donor_id.as_ref(), input.donor_code.as_deref()),
            donation: new_donation(input.donation),
        })
    }
}

fn donor_ref(id: Option<&ID>, code: Option<&str>) -> AppResult<DonorRef> {
    match (id, code) {
        (Some(id), None) => parse_id(id, "input.donorId").map(DonorRef::Id),
        (None, Some(code)) => DonorCode::parse(code, "input.donorCode").map(DonorRef::Code),
        _ => Err(AppError::bad_input(
            "input.donorId",
            "give either donorId or donorCode",
        )),
    }
}

pub(crate) fn new_donation(input: DonationInput) -> AppResult<NewDonation> {
    if !(50..=700).contains(&input.volume_ml) {
        return Err(AppError::bad_input(
            "input.volumeMl",
            "must be between 50 and 700",
        ));
    }
    if !(input.hemoglobin.is_finite() && (3.0..=25.0).contains(&input.hemoglobin)) {
        return Err(AppError::bad_input(
            "input.hemoglobin",
            "must be a plausible value in g/dL",
        ));
    }
    let collected_at = input.collected_at.unwrap_or_else(Utc::now);
    if collected_at > Utc::now() + chrono::Duration::minutes(5) {
        return Err(AppError::bad_input(
            "input.collectedAt",
            "cannot be in the future",
        ));
    }
    let units = parse_units(input.units.into_iter().map(|u| NewBloodUnitInput {
        unit_number: u.unit_number,
        is_local_barcode: u.is_local_barcode,
        component: u.component,
        // Replaced by the donor's group in the use case.
        blood_group: BloodGroup::ONeg,
        volume_ml: u.volume_ml,
        collected_on: collected_at.date_naive(),
        expires_at: u.expires_at,
        status: u.status,
        tests: u.tests,
    }))?;
    Ok(NewDonation {
        record: DonationRecord {
            collected_at,
            donation_type: input.donation_type,
            volume_ml: input.volume_ml,
            hemoglobin: input.hemoglobin,
            blood_pressure: inner(Text::parse_opt(
                input.blood_pressure.as_deref(),
                "input.bloodPressure",
                16,
            )?),
            notes: inner(Text::parse_opt(
                input.notes.as_deref(),
                "input.notes",
                1000,
            )?),
        },
        units,
        camp_id: None,
    })
}

impl Command for RecordDonation {
    type Input = RecordDonationInput;
    type Output = (donation::Model, donor::Model, Vec<blood_unit::Model>);
    const ACTION: &'static str = "donation.record";
    const ENTITY: &'static str = "donation";

    fn rule(&self) -> Option<Rule> {
        Some(Rule::ActFor {
            org: self.bank_id,
            roles: ADMIN_DOCTOR_STAFF,
            scope: Some(Scope::StockWrite),
            kind: Some(OrgKind::BloodBank),
        })
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        let rules = service::rule_set(&exec.app.config)?;
        let donor = service::admit(exec.txn, self.bank_id, &self.donor?).await?;
        service::record_donation(exec.txn, &rules, donor, self.donation?, exec.actor).await
    }

    fn retry_key(&self) -> Option<&RetryKey> {
        self.retry.as_ref()
    }

    fn operation(&self) -> &'static str {
        "recordDonation"
    }

    fn result_id(output: &Self::Output) -> Option<Uuid> {
        Some(output.0.id)
    }

    async fn replay(db: &Db, id: Uuid) -> AppResult<Self::Output> {
        service::recorded_donation(db, id).await
    }
}

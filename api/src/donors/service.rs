//! Donor rules: registration, updates, donations and eligibility.

use super::{
    commands::UpdateDonor,
    types::{DonationRecord, DonorDetails},
};
use crate::{
    audit::Change,
    auth::{self, Actor},
    blood::eligibility::{self, Assessment, Criterion, Deferral, DonorFacts, RuleSet},
    config::Config,
    db::now,
    error::{AppError, AppResult, unique_violation},
    stock::service::{self as stock, NewUnit},
    validation::{DonorCode, Text},
};
use chrono::{NaiveDate, Utc};
use entity::sealed::Sealed;
use entity::{Eligibility, blood_unit, donation, donor};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::json;
use uuid::Uuid;

/// The eligibility rule set the configuration names.
pub fn rule_set(config: &Config) -> AppResult<RuleSet> {
    let name = &config.eligibility_rules;
    RuleSet::by_name(name).ok_or_else(|| AppError::internal(format!("unknown rule set {name}")))
}

/// The values an audit row keeps of a donor.
fn donor_json(d: &donor::Model) -> serde_json::Value {
    json!({"bloodGroup": d.blood_group, "city": d.city, "weightKg": d.weight_kg, "eligibilityStatus": d.eligibility_status,
           "totalDonations": d.total_donations, "deferrals": d.deferrals})
}

/// The facts eligibility is computed from, as stored on a donor.
pub fn facts(d: &donor::Model) -> DonorFacts {
    DonorFacts {
        date_of_birth: *d.date_of_birth,
        weight_kg: d.weight_kg,
        gender: d.gender.clone(),
        last_donation: d.last_donation_date.zip(d.last_donation_type),
        hemoglobin_g_dl: d.last_hemoglobin,
        deferrals: serde_json::from_value(d.deferrals.clone()).unwrap_or_default(),
    }
}

/// The stored status and next eligible date as they stand on `today`: the row is recomputed
/// only when the donor changes, so a deferral whose date has come reads `ELIGIBLE` (a dated
/// deferral has a next eligible date only when nothing undated or permanent applies).
pub fn status_on(d: &donor::Model, today: NaiveDate) -> (Eligibility, Option<NaiveDate>) {
    match (d.eligibility_status, d.next_eligible_date) {
        (Eligibility::Deferred, Some(next)) if next <= today => (Eligibility::Eligible, None),
        (status, next) => (status, next),
    }
}

/// Eligibility of a donor today.
pub fn assess(rules: &RuleSet, d: &donor::Model) -> Assessment {
    eligibility::assess(rules, &facts(d), Utc::now().date_naive())
}

pub struct NewDonor {
    /// The donor's own account, when they register themself.
    pub user_id: Option<Uuid>,
    /// The managing NGO.
    pub ngo_id: Option<Uuid>,
    /// The organization that registered them.
    pub registered_by: Option<Uuid>,
    /// Checked and normalised.
    pub details: DonorDetails,
    /// Where they live, as (latitude, longitude).
    pub location: Option<(f64, f64)>,
}

/// Registers a donor with their eligibility computed; a phone or account already registered
/// is a `CONFLICT`.
pub async fn register<C: ConnectionTrait>(
    db: &C,
    rules: &RuleSet,
    new: NewDonor,
) -> AppResult<(donor::Model, Change)> {
    let org = new.registered_by;
    let d = new.details;
    let t = now();
    let mut m = donor::Model {
        id: Uuid::now_v7(),
        user_id: new.user_id,
        ngo_id: new.ngo_id,
        registered_by_org_id: new.registered_by,
        full_name: d.full_name,
        date_of_birth: Sealed(d.date_of_birth),
        gender: d.gender,
        blood_group: d.blood_group,
        weight_kg: d.weight_kg,
        phone_index: Some(entity::sealed::blind_index(&d.phone)),
        phone: Sealed(d.phone),
        donor_code: DonorCode::generate().as_str().to_string(),
        email: d.email,
        address: Sealed::opt(d.address),
        city: d.city,
        state: d.state,
        latitude: new.location.map(|l| l.0),
        longitude: new.location.map(|l| l.1),
        last_donation_date: None,
        last_donation_type: None,
        last_hemoglobin: None,
        total_donations: 0,
        eligibility_status: Eligibility::Eligible,
        next_eligible_date: None,
        deferrals: serde_json::json!([]),
        accepts_callouts: false,
        last_called_at: None,
        reminded_for: None,
        erased_at: None,
        created_at: t,
        updated_at: t,
    };
    let a = assess(rules, &m);
    m.eligibility_status = a.status;
    m.next_eligible_date = a.next_eligible_date;
    let am: donor::ActiveModel = m.into();
    let row = am.insert(db).await.map_err(unique_violation)?;
    let change = Change {
        entity_id: Some(row.id),
        organization_id: org,
        new: Some(donor_json(&row)),
        ..Change::default()
    };
    Ok((row, change))
}

/// Updates a donor for the organization that manages them or for the donor themself
/// ([`auth::donors::may_update`]), recomputing eligibility.
pub async fn update<C: ConnectionTrait>(
    db: &C,
    rules: &RuleSet,
    cmd: UpdateDonor,
    actor: &Actor,
) -> AppResult<(donor::Model, Change)> {
    let before = donor::Entity::find_by_id(cmd.donor_id?)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("donor"))?;
    auth::donors::may_update(actor, cmd.organization_id, &before, cmd.clinical)?;
    let changes = cmd.changes?;
    let mut d = before.clone();
    if let Some(p) = changes.phone {
        d.phone = Sealed(p.into_inner());
    }
    if let Some(e) = changes.email {
        d.email = Some(e.as_str().to_string());
    }
    if let Some(a) = changes.address {
        d.address = Sealed::opt(a.map(Text::into_inner));
    }
    if let Some(c) = changes.city {
        d.city = c.into_inner();
    }
    if let Some(w) = changes.weight_kg {
        d.weight_kg = w;
    }
    if let Some(p) = changes.location {
        d.latitude = Some(p.latitude);
        d.longitude = Some(p.longitude);
    }
    if let Some(deferral) = changes.add_deferral {
        add_deferral(&mut d, deferral)?;
    }
    if let Some(observed) = changes.under_observation {
        d.eligibility_status = if observed {
            Eligibility::UnderObservation
        } else {
            Eligibility::Eligible
        };
    }
    let after = save(db, rules, d).await?;
    let change = Change {
        old: Some(donor_json(&before)),
        new: Some(donor_json(&after)),
        organization_id: cmd.organization_id,
        ..Change::default()
    };
    Ok((after, change))
}

/// Saves a donor after a change, recomputing eligibility.
async fn save<C: ConnectionTrait>(
    db: &C,
    rules: &RuleSet,
    mut d: donor::Model,
) -> AppResult<donor::Model> {
    let a = assess(rules, &d);
    // UNDER_OBSERVATION is set by people, not computed: keep it unless the rules defer.
    if !(d.eligibility_status == Eligibility::UnderObservation && a.status == Eligibility::Eligible)
    {
        d.eligibility_status = a.status;
    }
    d.next_eligible_date = a.next_eligible_date;
    d.updated_at = now();
    let mut am: donor::ActiveModel = d.into();
    am = am.reset_all();
    am.update(db).await.map_err(unique_violation)
}

/// Defers a donor (a lookback after a positive screening test): adds the deferral and
/// recomputes eligibility. Returns the donor as saved.
pub async fn defer<C: ConnectionTrait>(
    db: &C,
    rules: &RuleSet,
    donor_id: Uuid,
    deferral: Deferral,
) -> AppResult<donor::Model> {
    let mut d = donor::Entity::find_by_id(donor_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("donor"))?;
    add_deferral(&mut d, deferral)?;
    save(db, rules, d).await
}

/// Adds a deferral to a donor's list.
fn add_deferral(d: &mut donor::Model, deferral: Deferral) -> AppResult<()> {
    let mut list: Vec<Deferral> = serde_json::from_value(d.deferrals.clone()).unwrap_or_default();
    list.push(deferral);
    d.deferrals = serde_json::to_value(list)?;
    Ok(())
}

/// How a bank names the donor in front of it.
pub enum DonorRef {
    /// A donor the bank registered or collected from ([`auth::donors::known_to_bank`]).
    Id(Uuid),
    /// The code on the card the donor shows: any donor.
    Code(DonorCode),
}

impl DonorRef {
    /// The input field that named the donor, for errors about them.
    fn field(&self) -> &'static str {
        match self {
            Self::Id(_) => "input.donorId",
            Self::Code(_) => "input.donorCode",
        }
    }
}

/// A donor a bank may record a donation for, locked until the transaction ends (Postgres;
/// SQLite's write transaction serializes), so two banks recording the same donor at once
/// cannot both find them eligible.
pub struct Admitted {
    donor: donor::Model,
    /// The bank admitted.
    bank: Uuid,
    /// The input field that named them.
    field: &'static str,
}

/// Admits `bank` to the donor `who` names. Any other donor is `NOT_FOUND`, the same answer
/// as an unknown id or code, so a bank learns nothing of donors it does not know.
pub async fn admit<C: ConnectionTrait>(db: &C, bank: Uuid, who: &DonorRef) -> AppResult<Admitted> {
    let q = match who {
        DonorRef::Id(id) => {
            donor::Entity::find_by_id(*id).filter(auth::donors::known_to_bank(bank))
        }
        DonorRef::Code(code) => {
            donor::Entity::find().filter(donor::Column::DonorCode.eq(code.as_str()))
        }
    };
    let id: Uuid = q
        .select_only()
        .column(donor::Column::Id)
        .into_tuple()
        .one(db)
        .await?
        .ok_or(AppError::NotFound("donor"))?;
    let donor = crate::db::find_locked::<donor::Entity, _>(db, id)
        .await?
        .ok_or(AppError::NotFound("donor"))?;
    Ok(Admitted {
        donor,
        bank,
        field: who.field(),
    })
}

/// Admits `bank` to a donor who registered for one of its partner camps (the camp's use
/// case checked the registration), locked as in [`admit`]; errors about them name `field`.
pub async fn admit_registered<C: ConnectionTrait>(
    db: &C,
    bank: Uuid,
    donor_id: Uuid,
    field: &'static str,
) -> AppResult<Admitted> {
    let donor = crate::db::find_locked::<donor::Entity, _>(db, donor_id)
        .await?
        .ok_or(AppError::NotFound("donor"))?;
    Ok(Admitted { donor, bank, field })
}

/// A donation to record.
pub struct NewDonation {
    /// Checked: collected not in the future (the day eligibility is assessed on), 50 to
    /// 700 ml, a plausible hemoglobin (below the rule set's minimum the donor cannot give).
    pub record: DonationRecord,
    /// Units collected, to add to stock (their group becomes the donor's).
    pub units: Vec<NewUnit>,
    /// The camp it was collected at, if any.
    pub camp_id: Option<Uuid>,
}

/// Why a donor cannot give, naming the rule and not the donor's details.
pub fn not_eligible(field: &'static str, c: Criterion) -> AppError {
    AppError::NotEligible {
        field: if c == Criterion::Hemoglobin {
            "input.hemoglobin"
        } else {
            field
        },
        reason: c.code(),
        message: c.summary(),
    }
}

/// Records a donation: refused when the donor is not eligible that day with today's
/// hemoglobin; updates the donor's counters and eligibility, and adds the collected units to
/// the bank's stock, in one transaction.
pub async fn record_donation<C: ConnectionTrait>(
    db: &C,
    rules: &RuleSet,
    admitted: Admitted,
    new: NewDonation,
    actor: &Actor,
) -> AppResult<(
    (donation::Model, donor::Model, Vec<blood_unit::Model>),
    Change,
)> {
    let Admitted {
        donor: d,
        bank,
        field,
    } = admitted;
    // Staff set UNDER_OBSERVATION for clinical follow-up; the rules never compute it, so it
    // must be checked here: such a donor does not give until taken off it.
    if d.eligibility_status == Eligibility::UnderObservation {
        return Err(not_eligible(field, Criterion::Deferred));
    }
    let r = &new.record;
    let day = r.collected_at.date_naive();
    let today = DonorFacts {
        hemoglobin_g_dl: Some(r.hemoglobin),
        ..facts(&d)
    };
    if let Some(c) = eligibility::assess(rules, &today, day)
        .criteria
        .iter()
        .min()
    {
        return Err(not_eligible(field, *c));
    }
    let t = now();
    let donation = donation::ActiveModel {
        id: Set(Uuid::now_v7()),
        donor_id: Set(d.id),
        blood_bank_id: Set(bank),
        camp_id: Set(new.camp_id),
        collected_at: Set(r.collected_at),
        donation_type: Set(r.donation_type),
        volume_ml: Set(r.volume_ml),
        hemoglobin: Set(r.hemoglobin),
        blood_pressure: Set(r.blood_pressure.clone()),
        notes: Set(r.notes.clone()),
        recorded_by: Set(actor.user_id),
        created_at: Set(t),
    }
    .insert(db)
    .await?;
    let mut updated = d.clone();
    updated.total_donations += 1;
    updated.last_donation_date = Some(day);
    updated.last_donation_type = Some(r.donation_type);
    updated.last_hemoglobin = Some(r.hemoglobin);
    let updated = save(db, rules, updated).await?;
    let units: Vec<NewUnit> = new
        .units
        .into_iter()
        .map(|mut u| {
            u.blood_group = d.blood_group;
            u.donation_id = Some(donation.id);
            u
        })
        .collect();
    let units = if units.is_empty() {
        Vec::new()
    } else {
        stock::add_units(db, bank, units, actor).await?
    };
    crate::rewards::service::donation_recorded(db, updated.id, donation.id).await?;
    let change = Change {
        entity_id: Some(donation.id),
        new: Some(
            json!({"donorId": updated.id, "donationType": donation.donation_type, "units": units.len()}),
        ),
        ..Change::default()
    };
    Ok(((donation, updated, units), change))
}

/// A donation as `recordDonation` answered it: the donation, its donor and the units it put
/// in stock (a retry with a known idempotency key is answered from here).
pub async fn recorded_donation<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
) -> AppResult<(donation::Model, donor::Model, Vec<blood_unit::Model>)> {
    let d = donation::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("donation"))?;
    let who = donor::Entity::find_by_id(d.donor_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("donor"))?;
    let units = blood_unit::Entity::find()
        .filter(blood_unit::Column::DonationId.eq(d.id))
        .order_by_asc(blood_unit::Column::Id)
        .all(db)
        .await?;
    Ok((d, who, units))
}

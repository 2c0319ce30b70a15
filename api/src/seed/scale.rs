//! `seed --scale N`: the benchmark's data set, at any size, deterministically (a fixed seed),
//! through the bulk insert paths. N blood banks with 500 units each, N/4 hospitals, and 250
//! requests per bank: `--scale 200` gives 200 banks, 100,000 units and 50,000 requests. And
//! N/10 NGOs running 10 camps per bank (2,000 camps at `--scale 200`) over the next 30 days
//! around the city, each with 4 hourly slots of 25 places, partnered with the banks in turn.

use crate::{blood::shelf_life, db, error::AppResult, stock::service::insert_units};
use chrono::{DateTime, Duration, Utc};
use entity::{
    BloodGroup, CampStatus, Component, OrgKind, OrgRole, OrgStatus, PlatformRole, RequestStatus,
    TestResult, UnitStatus, Urgency, blood_request, blood_unit, blood_unit_test, camp, camp_slot,
    membership, organization, user,
};
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};
use std::time::Instant;
use uuid::Uuid;

/// What was generated.
#[derive(Debug, Clone)]
pub struct ScaleReport {
    pub banks: usize,
    pub hospitals: usize,
    pub units: usize,
    pub requests: usize,
    pub seconds: f64,
    /// The ids of the generated banks, hospitals and their admin users.
    pub bank_ids: Vec<Uuid>,
    pub hospital_ids: Vec<Uuid>,
    /// The NGOs, in code order (`SCALE-NGO-00000`, …), and their camps.
    pub ngo_ids: Vec<Uuid>,
    /// Each NGO's admin user, in the order of `ngo_ids`.
    pub ngo_admins: Vec<Uuid>,
    pub camps: usize,
    /// Each camp's organizing NGO, in the order generated.
    pub camp_ngos: Vec<(Uuid, Uuid)>,
}

/// SplitMix64: tiny, fast, and the same sequence on every platform and crate version.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub(super) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub(super) fn pick<T: Copy>(&mut self, weighted: &[(T, u32)]) -> T {
        let total: u32 = weighted.iter().map(|w| w.1).sum();
        let mut x = self.below(u64::from(total)) as u32;
        for (v, w) in weighted {
            if x < *w {
                return *v;
            }
            x -= w;
        }
        weighted[0].0
    }
    /// A v7-shaped UUID from the sequence, so ids stay time-ordered per run and repeatable.
    pub(super) fn uuid(&mut self, ms: u64) -> Uuid {
        let rand = ((self.next() as u128) << 64) | self.next() as u128;
        let bits = (u128::from(ms) << 80) | (rand & ((1u128 << 80) - 1));
        uuid::Builder::from_u128(bits)
            .with_version(uuid::Version::SortRand)
            .with_variant(uuid::Variant::RFC4122)
            .into_uuid()
    }
}

// Roughly the ABO/Rh mix of donors in India.
pub(super) const GROUPS: &[(BloodGroup, u32)] = &[
    (BloodGroup::BPos, 32),
    (BloodGroup::OPos, 29),
    (BloodGroup::APos, 22),
    (BloodGroup::AbPos, 8),
    (BloodGroup::BNeg, 3),
    (BloodGroup::ONeg, 3),
    (BloodGroup::ANeg, 2),
    (BloodGroup::AbNeg, 1),
];
const COMPONENTS: &[(Component, u32)] = &[
    (Component::RedCells, 50),
    (Component::Plasma, 20),
    (Component::Platelets, 12),
    (Component::WholeBlood, 10),
    (Component::Cryoprecipitate, 8),
];

/// Generates the data set. Organizations sit within ~40 km of central Bengaluru.
pub async fn run(pool: &DatabaseConnection, n: u32, password_hash: &str) -> AppResult<ScaleReport> {
    run_sized(pool, n, 500, password_hash).await
}

/// [`run`] with `units_per_bank` units in each bank instead of 500 (the benchmark's
/// `--units-per-bank`); everything else is the same.
pub async fn run_sized(
    pool: &DatabaseConnection,
    n: u32,
    units_per_bank: u32,
    password_hash: &str,
) -> AppResult<ScaleReport> {
    let started = Instant::now();
    let mut rng = Rng(0x5EED_2026);
    let n = n.max(1) as usize;
    let hospitals = (n / 4).max(1);
    let ngos = (n / 10).max(1);
    let now = Utc::now();
    let base_ms = (now.timestamp_millis() as u64).saturating_sub(60 * 24 * 3600 * 1000);
    let t = db::now();
    let txn = db::begin_write(pool).await?;

    let mut orgs = Vec::new();
    let mut users = Vec::new();
    let mut members = Vec::new();
    let mut bank_ids = Vec::new();
    let mut hospital_ids = Vec::new();
    let mut ngo_ids = Vec::new();
    let mut ngo_admins = Vec::new();
    for i in 0..(n + hospitals + ngos) {
        let bank = i < n;
        let ngo = i >= n + hospitals;
        let id = rng.uuid(base_ms + i as u64);
        let lat = 12.97 + (rng.unit() - 0.5) * 0.7;
        let lon = 77.59 + (rng.unit() - 0.5) * 0.7;
        let code = if bank {
            format!("SCALE-BB-{i:05}")
        } else if ngo {
            format!("SCALE-NGO-{:05}", i - n - hospitals)
        } else {
            format!("SCALE-H-{:05}", i - n)
        };
        orgs.push(organization::ActiveModel {
            id: Set(id),
            code: Set(code.clone()),
            name: Set(if bank {
                format!("Blood Bank {i}")
            } else if ngo {
                format!("NGO {}", i - n - hospitals)
            } else {
                format!("Hospital {}", i - n)
            }),
            kind: Set(if bank {
                OrgKind::BloodBank
            } else if ngo {
                OrgKind::Ngo
            } else {
                OrgKind::Hospital
            }),
            address: Set(None),
            city: Set("Bengaluru".into()),
            state: Set(Some("Karnataka".into())),
            postal_code: Set(None),
            country: Set("IN".into()),
            latitude: Set(lat),
            longitude: Set(lon),
            phone: Set(Some(format!("+91804{:07}", i))),
            email: Set(None),
            license_number: Set(None),
            registration_number: Set(None),
            status: Set(OrgStatus::Approved),
            approved_at: Set(Some(t)),
            suspended_at: Set(None),
            created_at: Set(t),
            updated_at: Set(t),
        });
        let uid = rng.uuid(base_ms + i as u64);
        users.push(user::ActiveModel {
            id: Set(uid),
            email: Set(format!("{}@scale.example", code.to_lowercase())),
            password_hash: Set(password_hash.to_string()),
            full_name: Set(format!("Admin of {code}")),
            phone: Set(None),
            platform_role: Set(PlatformRole::User),
            is_active: Set(true),
            last_login_at: Set(None),
            email_verified_at: Set(Some(t)),
            credentials_changed_at: Set(None),
            created_at: Set(t),
            updated_at: Set(t),
            ..Default::default()
        });
        members.push(membership::ActiveModel {
            id: Set(rng.uuid(base_ms + i as u64)),
            user_id: Set(uid),
            organization_id: Set(id),
            role: Set(OrgRole::Admin),
            is_active: Set(true),
            created_at: Set(t),
            updated_at: Set(t),
        });
        if bank {
            bank_ids.push(id);
        } else if ngo {
            ngo_ids.push(id);
            ngo_admins.push(uid);
        } else {
            hospital_ids.push(id);
        }
    }
    for chunk in orgs.chunks(500) {
        organization::Entity::insert_many(chunk.to_vec())
            .exec(&txn)
            .await?;
    }
    for chunk in users.chunks(500) {
        user::Entity::insert_many(chunk.to_vec()).exec(&txn).await?;
    }
    for chunk in members.chunks(500) {
        membership::Entity::insert_many(chunk.to_vec())
            .exec(&txn)
            .await?;
    }

    let mut units = Vec::with_capacity(n * units_per_bank as usize);
    for (b, bank) in bank_ids.iter().enumerate() {
        for seq in 0..units_per_bank {
            let group = rng.pick(GROUPS);
            let component = rng.pick(COMPONENTS);
            let collected = (now - Duration::days(rng.below(40) as i64)).date_naive();
            let collected_at = collected
                .and_hms_opt(0, 0, 0)
                .map(|d| d.and_utc())
                .unwrap_or(now);
            let expires_at = collected_at + shelf_life(component);
            let mut status = rng.pick(&[
                (UnitStatus::Available, 70),
                (UnitStatus::Quarantined, 10),
                (UnitStatus::Issued, 10),
                (UnitStatus::Expired, 5),
                (UnitStatus::Discarded, 5),
            ]);
            if expires_at <= now
                && matches!(status, UnitStatus::Available | UnitStatus::Quarantined)
            {
                status = UnitStatus::Expired;
            }
            units.push(blood_unit::Model {
                id: rng.uuid(base_ms + u64::from(seq)),
                unit_number: format!("S{b:04}26{seq:06}"),
                is_local_barcode: false,
                component,
                blood_group: group,
                blood_bank_id: *bank,
                volume_ml: 300,
                collected_on: collected,
                expires_at,
                status,
                reserved_for_request_id: None,
                reserved_until: None,
                donation_id: None,
                expiry_alerted_at: None,
                parent_unit_id: None,
                created_at: t,
                updated_at: t,
            });
        }
    }
    insert_units(&txn, &units).await?;
    // Every unit that left quarantine was screened: its panel clears release.
    let panels: Vec<blood_unit_test::ActiveModel> = units
        .iter()
        .filter(|u| matches!(u.status, UnitStatus::Available | UnitStatus::Issued))
        .map(|u| blood_unit_test::ActiveModel {
            unit_id: Set(u.id),
            blood_bank_id: Set(u.blood_bank_id),
            hiv: Set(TestResult::Negative),
            hbv: Set(TestResult::Negative),
            hcv: Set(TestResult::Negative),
            syphilis: Set(TestResult::Negative),
            malaria: Set(TestResult::Negative),
            abo_confirmed: Set(true),
            rh_confirmed: Set(true),
            recorded_by_user_id: Set(None),
            recorded_by_api_client_id: Set(None),
            recorded_at: Set(t),
        })
        .collect();
    for chunk in panels.chunks(500) {
        blood_unit_test::Entity::insert_many(chunk.to_vec())
            .exec(&txn)
            .await?;
    }

    let total_requests = n * 250;
    let mut reqs = Vec::with_capacity(500);
    for i in 0..total_requests {
        let h = hospital_ids[rng.below(hospital_ids.len() as u64) as usize];
        let urgency = rng.pick(&[
            (Urgency::Routine, 50),
            (Urgency::Urgent, 30),
            (Urgency::Emergency, 15),
            (Urgency::Critical, 5),
        ]);
        let status = rng.pick(&[
            (RequestStatus::Pending, 20),
            (RequestStatus::Fulfilled, 50),
            (RequestStatus::Cancelled, 15),
            (RequestStatus::Expired, 15),
        ]);
        let created_ms = base_ms + (i as u64 * 60 * 24 * 3600 * 1000) / total_requests as u64;
        let (lat, lon) = (
            12.97 + (rng.unit() - 0.5) * 0.5,
            77.59 + (rng.unit() - 0.5) * 0.5,
        );
        let needed_by = if status == RequestStatus::Pending {
            now + Duration::hours(6 + rng.below(48) as i64)
        } else {
            now - Duration::days(1)
        };
        let bank = (status == RequestStatus::Fulfilled)
            .then(|| bank_ids[rng.below(bank_ids.len() as u64) as usize]);
        // A settled request was created when its id says, over the last 60 days, and moved on
        // minutes or hours later; only the pending ones are today's. (All 50,000 "now" made
        // one day hold two hundred days' worth of a network's requests.) The delays come from
        // `i`, not the generator, so every other value stays what it was.
        let (created, accepted, settled) = if status == RequestStatus::Pending {
            (t, t, t)
        } else {
            let created = DateTime::<Utc>::from_timestamp_millis(created_ms as i64).unwrap_or(t);
            let (least, span) = match urgency {
                Urgency::Critical => (2, 20),
                Urgency::Emergency => (5, 40),
                Urgency::Urgent => (15, 120),
                Urgency::Routine => (30, 480),
            };
            let accepted = created + Duration::minutes(least + (i as i64 * 7919) % span);
            (
                created,
                accepted,
                accepted + Duration::minutes(30 + (i as i64 * 104_729) % 210),
            )
        };
        reqs.push(blood_request::ActiveModel {
            id: Set(rng.uuid(created_ms)),
            hospital_id: Set(h),
            requested_by_user_id: Set(None),
            requested_by_api_client_id: Set(None),
            patient_reference: Set(format!("MRN-{i:07}")),
            patient_name: Set(Some(format!("Patient {i}").into())),
            blood_group: Set(rng.pick(GROUPS)),
            component: Set(rng.pick(COMPONENTS)),
            units_required: Set(1 + rng.below(4) as i32),
            urgency: Set(urgency),
            urgency_rank: Set(urgency.rank()),
            needed_by: Set(needed_by),
            medical_notes: Set(None),
            status: Set(status),
            target_bank_id: Set(None),
            blood_bank_id: Set(bank),
            latitude: Set(lat),
            longitude: Set(lon),
            radius_km: Set(if urgency.rank() <= 1 { 30.0 } else { 10.0 }),
            escalation_level: Set(0),
            allow_emergency_override: Set(false),
            override_reason: Set(None),
            hold_until: Set(None),
            accepted_at: Set(bank.map(|_| accepted)),
            fulfilled_at: Set(bank.map(|_| settled)),
            rejected_at: Set(None),
            cancelled_at: Set((status == RequestStatus::Cancelled).then_some(settled)),
            expired_at: Set((status == RequestStatus::Expired).then_some(settled)),
            rejection_reason: Set(None),
            cancellation_reason: Set(
                (status == RequestStatus::Cancelled).then(|| "no longer needed".to_string())
            ),
            created_at: Set(created),
            updated_at: Set(settled),
        });
        if reqs.len() == 500 {
            blood_request::Entity::insert_many(std::mem::take(&mut reqs))
                .exec(&txn)
                .await?;
        }
    }
    if !reqs.is_empty() {
        blood_request::Entity::insert_many(reqs).exec(&txn).await?;
    }
    let camp_ngos = camps(&txn, &mut rng, &bank_ids, &ngo_ids, &ngo_admins, base_ms).await?;
    txn.commit().await?;
    Ok(ScaleReport {
        banks: n,
        hospitals,
        units: units.len(),
        requests: total_requests,
        seconds: started.elapsed().as_secs_f64(),
        bank_ids,
        hospital_ids,
        ngo_ids,
        ngo_admins,
        camps: camp_ngos.len(),
        camp_ngos,
    })
}

/// Ten camps per bank, each by an NGO in turn with that bank as partner, on a day within the
/// next 30 days from 09:00 to 13:00 (India, UTC+05:30), 4 hourly slots of 25 places; returns
/// `(camp, NGO)` pairs.
async fn camps<C: sea_orm::ConnectionTrait>(
    db: &C,
    rng: &mut Rng,
    banks: &[Uuid],
    ngos: &[Uuid],
    admins: &[Uuid],
    base_ms: u64,
) -> AppResult<Vec<(Uuid, Uuid)>> {
    let t = db::now();
    let today = Utc::now().date_naive();
    let mut out = Vec::new();
    let mut rows = Vec::new();
    let mut slots = Vec::new();
    for i in 0..banks.len() * 10 {
        let (ngo, admin, bank) = (ngos[i % ngos.len()], admins[i % ngos.len()], banks[i / 10]);
        let id = rng.uuid(base_ms + i as u64);
        let day = today + Duration::days(1 + rng.below(30) as i64);
        let open = day.and_hms_opt(3, 30, 0).map_or(t, |d| d.and_utc());
        let (lat, lon) = (
            12.97 + (rng.unit() - 0.5) * 0.7,
            77.59 + (rng.unit() - 0.5) * 0.7,
        );
        rows.push(camp::ActiveModel {
            id: Set(id),
            organization_id: Set(ngo),
            blood_bank_id: Set(bank),
            drive_id: Set(None),
            name: Set(format!("Camp {i}")),
            description: Set(None),
            venue: Set(format!("Hall {i}")),
            address: Set(None),
            city: Set("Bengaluru".into()),
            latitude: Set(lat),
            longitude: Set(lon),
            time_zone: Set("Asia/Kolkata".into()),
            starts_on: Set(day),
            ends_on: Set(day),
            daily_start: Set(chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default()),
            daily_end: Set(chrono::NaiveTime::from_hms_opt(13, 0, 0).unwrap_or_default()),
            slot_minutes: Set(60),
            slot_capacity: Set(25),
            starts_at: Set(open),
            ends_at: Set(open + Duration::hours(4)),
            blood_groups_needed: Set(if i % 3 == 0 {
                String::new()
            } else {
                format!(",{},", entity::WireName::wire_name(&rng.pick(GROUPS)))
            }),
            expected_donors: Set(Some(100)),
            actual_donors: Set(None),
            actual_units: Set(None),
            status: Set(CampStatus::Scheduled),
            cancellation_reason: Set(None),
            created_by: Set(admin),
            started_at: Set(None),
            completed_at: Set(None),
            cancelled_at: Set(None),
            created_at: Set(t),
            updated_at: Set(t),
        });
        for h in 0..4 {
            slots.push(camp_slot::ActiveModel {
                id: Set(rng.uuid(base_ms + i as u64)),
                camp_id: Set(id),
                starts_at: Set(open + Duration::hours(h)),
                ends_at: Set(open + Duration::hours(h + 1)),
                capacity: Set(25),
                booked: Set(0),
                created_at: Set(t),
            });
        }
        out.push((id, ngo));
        if rows.len() == 500 {
            camp::Entity::insert_many(std::mem::take(&mut rows))
                .exec(db)
                .await?;
            camp_slot::Entity::insert_many(std::mem::take(&mut slots))
                .exec(db)
                .await?;
        }
    }
    if !rows.is_empty() {
        camp::Entity::insert_many(rows).exec(db).await?;
        camp_slot::Entity::insert_many(slots).exec(db).await?;
    }
    Ok(out)
}

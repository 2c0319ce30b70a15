//! `seed --scale N --history-days D`: D days of past activity on top of the scale data set, for
//! `networkStats` to aggregate (the `network-stats` benchmark). Deterministic, in multi-row
//! batches, into the tables the API writes:
//!
//! - N requests a day from the hospitals, mostly fulfilled, with accept and fulfil delays
//!   that shrink with urgency, some escalated, some cancelled or expired;
//! - 20 donors per bank registered by the NGOs, 2 donations a day at each bank, and every
//!   NGO's weekly camp (4 slots, 60 registrations, about two thirds attending, each attendance
//!   a donation at the camp);
//! - each donation's units (red cells and plasma, sometimes platelets) with their events:
//!   collected, then issued, expired at the end of their shelf life, or discarded (a bag
//!   damaged in storage); each with the cleared screening panel that released it.

use super::scale::{GROUPS, Rng, ScaleReport};
use crate::{blood::shelf_life, db, error::AppResult};
use chrono::{DateTime, Duration, NaiveTime, Utc};
use entity::{
    CampStatus, Component, DonationType, Eligibility, RegistrationStatus, RequestStatus,
    TestResult, UnitStatus, Urgency, blood_request, blood_unit, blood_unit_event, blood_unit_test,
    camp, camp_registration, camp_slot, donation, donor,
};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait};
use std::time::Instant;
use uuid::Uuid;

/// Rows per multi-row insert (the widest table has ~35 columns: under SQLite's and
/// Postgres's limits on bound values).
const BATCH: usize = 500;

/// What was generated.
#[derive(Debug, Clone, Default)]
pub struct HistoryReport {
    pub days: u32,
    pub requests: usize,
    pub donors: usize,
    pub donations: usize,
    pub units: usize,
    pub unit_events: usize,
    pub camps: usize,
    pub registrations: usize,
    pub seconds: f64,
}

/// Rows waiting for their multi-row insert.
#[derive(Default)]
struct Batches {
    requests: Vec<blood_request::ActiveModel>,
    donations: Vec<donation::ActiveModel>,
    units: Vec<blood_unit::ActiveModel>,
    events: Vec<blood_unit_event::ActiveModel>,
    panels: Vec<blood_unit_test::ActiveModel>,
    report: HistoryReport,
}

macro_rules! flush {
    ($db:expr, $entity:path, $rows:expr, $all:expr) => {
        if !$rows.is_empty() && ($all || $rows.len() >= BATCH) {
            <$entity>::insert_many(std::mem::take(&mut $rows))
                .exec($db)
                .await?;
        }
    };
}

impl Batches {
    /// Inserts the full batches, or everything with `all`; donations before their units and
    /// units before their events, as the references require.
    async fn flush<C: ConnectionTrait>(&mut self, db: &C, all: bool) -> AppResult<()> {
        flush!(db, blood_request::Entity, self.requests, all);
        let units = all || self.units.len() >= BATCH || self.events.len() >= BATCH;
        flush!(db, donation::Entity, self.donations, units);
        flush!(db, blood_unit::Entity, self.units, units);
        flush!(db, blood_unit_event::Entity, self.events, units);
        flush!(db, blood_unit_test::Entity, self.panels, units);
        Ok(())
    }
}

/// The instant `minutes` after `t`.
fn after(t: DateTime<Utc>, minutes: u64) -> DateTime<Utc> {
    t + Duration::minutes(minutes as i64)
}

/// Generates `days` days of history ending now over the scale data set `scale`.
pub async fn run(
    pool: &DatabaseConnection,
    scale: &ScaleReport,
    days: u32,
) -> AppResult<HistoryReport> {
    let started = Instant::now();
    let mut rng = Rng(0x4157_0125 ^ u64::from(days));
    let now = Utc::now();
    let start = now - Duration::days(i64::from(days));
    let start_ms = start.timestamp_millis().max(0) as u64;
    let (banks, hospitals, ngos) = (&scale.bank_ids, &scale.hospital_ids, &scale.ngo_ids);
    let txn = db::begin_write(pool).await?;
    let mut b = Batches::default();
    b.report.days = days;

    // Donors, registered by the NGOs in turn.
    let donors: Vec<Uuid> = (0..banks.len() * 20)
        .map(|i| rng.uuid(start_ms + i as u64))
        .collect();
    let mut rows = Vec::with_capacity(BATCH);
    for (i, id) in donors.iter().enumerate() {
        let ngo = ngos[i % ngos.len()];
        let phone = format!("+9179{i:08}");
        rows.push(donor::ActiveModel {
            id: Set(*id),
            user_id: Set(None),
            ngo_id: Set(Some(ngo)),
            registered_by_org_id: Set(Some(ngo)),
            full_name: Set(format!("Donor {i}")),
            date_of_birth: Set(chrono::NaiveDate::from_ymd_opt(
                1970 + (i % 35) as i32,
                1 + (i % 12) as u32,
                1 + (i % 28) as u32,
            )
            .unwrap_or_default()
            .into()),
            gender: Set(None),
            blood_group: Set(rng.pick(GROUPS)),
            weight_kg: Set(55.0 + rng.below(40) as f64),
            phone: Set(phone.clone().into()),
            phone_index: Set(Some(entity::sealed::blind_index(&phone))),
            donor_code: Set(format!("HIST{i:08}")),
            email: Set(None),
            address: Set(None),
            city: Set("Bengaluru".into()),
            state: Set(Some("Karnataka".into())),
            latitude: Set(Some(12.97 + (rng.unit() - 0.5) * 0.5)),
            longitude: Set(Some(77.59 + (rng.unit() - 0.5) * 0.5)),
            last_donation_date: Set(None),
            last_donation_type: Set(None),
            last_hemoglobin: Set(None),
            total_donations: Set(0),
            eligibility_status: Set(Eligibility::Eligible),
            next_eligible_date: Set(None),
            deferrals: Set(serde_json::json!([])),
            accepts_callouts: Set(true),
            last_called_at: Set(None),
            reminded_for: Set(None),
            erased_at: Set(None),
            created_at: Set(start),
            updated_at: Set(start),
        });
        if rows.len() == BATCH {
            donor::Entity::insert_many(std::mem::take(&mut rows))
                .exec(&txn)
                .await?;
        }
    }
    if !rows.is_empty() {
        donor::Entity::insert_many(rows).exec(&txn).await?;
    }
    b.report.donors = donors.len();

    let mut unit_seq = 0u64;
    for day in 0..days {
        let day_start = start + Duration::days(i64::from(day));
        // Requests: one a day per bank, from the hospitals.
        for _ in 0..banks.len() {
            let created = after(day_start, rng.below(24 * 60));
            request(&mut b, &mut rng, created, now, hospitals, banks);
        }
        // Donations at the banks: two a day each.
        for (bi, bank) in banks.iter().enumerate() {
            for _ in 0..2 {
                let at = after(day_start, 8 * 60 + rng.below(9 * 60));
                let who = donors[rng.below(donors.len() as u64) as usize];
                give(
                    &mut b,
                    &mut rng,
                    &mut unit_seq,
                    bi,
                    *bank,
                    None,
                    who,
                    at,
                    now,
                );
            }
        }
        b.flush(&txn, false).await?;
    }

    // Each NGO's weekly camp, partnered with a bank in turn.
    let weeks = days / 7;
    let mut camps = Vec::new();
    let mut slots = Vec::new();
    let mut regs = Vec::new();
    for week in 0..weeks {
        for (ni, ngo) in ngos.iter().enumerate() {
            let ci = (week as usize) * ngos.len() + ni;
            let bi = (ni * 7 + week as usize) % banks.len();
            let bank = banks[bi];
            let admin = scale.ngo_admins[ni];
            let day = start + Duration::days(i64::from(week * 7 + 1 + (ni as u32 % 5)));
            let open = day
                .date_naive()
                .and_time(NaiveTime::from_hms_opt(3, 30, 0).unwrap_or_default())
                .and_utc();
            let id = rng.uuid(open.timestamp_millis().max(0) as u64);
            let slot_ids: Vec<Uuid> = (0..4)
                .map(|_| rng.uuid(open.timestamp_millis().max(0) as u64))
                .collect();
            let mut booked = [0i32; 4];
            let first = (ci * 37) % donors.len();
            let mut attended = 0;
            for r in 0..60 {
                let who = donors[(first + r) % donors.len()];
                let s = r % 4;
                let status = rng.pick(&[
                    (RegistrationStatus::Attended, 65),
                    (RegistrationStatus::NotAttended, 17),
                    (RegistrationStatus::Deferred, 5),
                    (RegistrationStatus::Failed, 3),
                    (RegistrationStatus::Cancelled, 10),
                ]);
                if status != RegistrationStatus::Cancelled {
                    booked[s] += 1;
                }
                let slot_start = open + Duration::hours(s as i64);
                let donation = if status == RegistrationStatus::Attended {
                    attended += 1;
                    let at = after(slot_start, rng.below(60));
                    Some(give(
                        &mut b,
                        &mut rng,
                        &mut unit_seq,
                        bi,
                        bank,
                        Some(id),
                        who,
                        at,
                        now,
                    ))
                } else {
                    None
                };
                let registered = open - Duration::days(1 + rng.below(10) as i64);
                let outcome = (status != RegistrationStatus::Cancelled)
                    .then(|| slot_start + Duration::minutes(30));
                regs.push(camp_registration::ActiveModel {
                    id: Set(rng.uuid(registered.timestamp_millis().max(0) as u64)),
                    camp_id: Set(id),
                    slot_id: Set(slot_ids[s]),
                    donor_id: Set(who),
                    status: Set(status),
                    units_collected: Set(i32::from(donation.is_some())),
                    referred_by: Set(None),
                    registered_by: Set(admin),
                    donation_id: Set(donation),
                    recorded_by: Set(outcome.map(|_| admin)),
                    outcome_at: Set(outcome),
                    created_at: Set(registered),
                    updated_at: Set(outcome.unwrap_or(registered)),
                });
            }
            let created = open - Duration::days(14);
            camps.push(camp::ActiveModel {
                id: Set(id),
                organization_id: Set(*ngo),
                blood_bank_id: Set(bank),
                drive_id: Set(None),
                name: Set(format!("Past camp {ci}")),
                description: Set(None),
                venue: Set(format!("Community hall {ci}")),
                address: Set(None),
                city: Set("Bengaluru".into()),
                latitude: Set(12.97 + (rng.unit() - 0.5) * 0.7),
                longitude: Set(77.59 + (rng.unit() - 0.5) * 0.7),
                time_zone: Set("Asia/Kolkata".into()),
                starts_on: Set(day.date_naive()),
                ends_on: Set(day.date_naive()),
                daily_start: Set(NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default()),
                daily_end: Set(NaiveTime::from_hms_opt(13, 0, 0).unwrap_or_default()),
                slot_minutes: Set(60),
                slot_capacity: Set(25),
                starts_at: Set(open),
                ends_at: Set(open + Duration::hours(4)),
                blood_groups_needed: Set(String::new()),
                expected_donors: Set(Some(60)),
                actual_donors: Set(Some(attended)),
                actual_units: Set(Some(attended)),
                status: Set(CampStatus::Completed),
                cancellation_reason: Set(None),
                created_by: Set(admin),
                started_at: Set(Some(open)),
                completed_at: Set(Some(open + Duration::hours(4))),
                cancelled_at: Set(None),
                created_at: Set(created),
                updated_at: Set(open + Duration::hours(4)),
            });
            for (s, sid) in slot_ids.iter().enumerate() {
                slots.push(camp_slot::ActiveModel {
                    id: Set(*sid),
                    camp_id: Set(id),
                    starts_at: Set(open + Duration::hours(s as i64)),
                    ends_at: Set(open + Duration::hours(s as i64 + 1)),
                    capacity: Set(25),
                    booked: Set(booked[s]),
                    created_at: Set(created),
                });
            }
        }
        // Camps before their slots, slots before registrations, donations before those.
        camp::Entity::insert_many(std::mem::take(&mut camps))
            .exec(&txn)
            .await?;
        for chunk in std::mem::take(&mut slots).chunks(BATCH) {
            camp_slot::Entity::insert_many(chunk.to_vec())
                .exec(&txn)
                .await?;
        }
        b.flush(&txn, true).await?;
        for chunk in std::mem::take(&mut regs).chunks(BATCH) {
            b.report.registrations += chunk.len();
            camp_registration::Entity::insert_many(chunk.to_vec())
                .exec(&txn)
                .await?;
        }
        b.report.camps += ngos.len();
    }
    b.flush(&txn, true).await?;
    txn.commit().await?;
    // The rollups of the past days, as the rollup job keeps them in production.
    crate::analytics::rollups::backfill(pool, Utc::now()).await?;
    b.report.seconds = started.elapsed().as_secs_f64();
    Ok(b.report)
}

/// One past request created at `created`, settled by now.
fn request(
    b: &mut Batches,
    rng: &mut Rng,
    created: DateTime<Utc>,
    now: DateTime<Utc>,
    hospitals: &[Uuid],
    banks: &[Uuid],
) {
    let h = hospitals[rng.below(hospitals.len() as u64) as usize];
    let urgency = rng.pick(&[
        (Urgency::Routine, 50),
        (Urgency::Urgent, 30),
        (Urgency::Emergency, 15),
        (Urgency::Critical, 5),
    ]);
    // Minutes to acceptance: minutes for the critical, hours for the routine.
    let accept_span: u64 = match urgency {
        Urgency::Critical => 30,
        Urgency::Emergency => 90,
        Urgency::Urgent => 360,
        Urgency::Routine => 1440,
    };
    let mut status = rng.pick(&[
        (RequestStatus::Fulfilled, 72),
        (RequestStatus::Cancelled, 10),
        (RequestStatus::Expired, 10),
        (RequestStatus::Rejected, 3),
        (RequestStatus::Accepted, 5),
    ]);
    let accepted = matches!(status, RequestStatus::Fulfilled | RequestStatus::Accepted)
        .then(|| after(created, 2 + rng.below(accept_span)));
    let mut fulfilled = (status == RequestStatus::Fulfilled)
        .then(|| accepted.map(|a| after(a, 20 + rng.below(accept_span * 2))))
        .flatten();
    if fulfilled.is_some_and(|f| f > now) {
        (status, fulfilled) = (RequestStatus::Accepted, None);
    }
    let settled = after(created, 60 + rng.below(2 * 1440)).min(now);
    let bank = accepted.map(|_| banks[rng.below(banks.len() as u64) as usize]);
    let escalation = if rng.below(100) < 15 {
        1 + rng.below(3) as i32
    } else {
        0
    };
    let i = b.report.requests;
    b.report.requests += 1;
    b.requests.push(blood_request::ActiveModel {
        id: Set(rng.uuid(created.timestamp_millis().max(0) as u64)),
        hospital_id: Set(h),
        requested_by_user_id: Set(None),
        requested_by_api_client_id: Set(None),
        patient_reference: Set(format!("HMRN-{i:07}")),
        patient_name: Set(Some(format!("Past patient {i}").into())),
        blood_group: Set(rng.pick(GROUPS)),
        component: Set(rng.pick(&[
            (Component::RedCells, 60),
            (Component::Plasma, 20),
            (Component::Platelets, 15),
            (Component::WholeBlood, 5),
        ])),
        units_required: Set(1 + rng.below(4) as i32),
        urgency: Set(urgency),
        urgency_rank: Set(urgency.rank()),
        needed_by: Set(after(created, accept_span * 3)),
        medical_notes: Set(None),
        status: Set(status),
        target_bank_id: Set(None),
        blood_bank_id: Set(bank),
        latitude: Set(12.97 + (rng.unit() - 0.5) * 0.5),
        longitude: Set(77.59 + (rng.unit() - 0.5) * 0.5),
        radius_km: Set(if urgency.rank() <= 1 { 30.0 } else { 10.0 }),
        escalation_level: Set(escalation),
        allow_emergency_override: Set(false),
        override_reason: Set(None),
        hold_until: Set(None),
        accepted_at: Set(accepted),
        fulfilled_at: Set(fulfilled),
        rejected_at: Set((status == RequestStatus::Rejected).then_some(settled)),
        cancelled_at: Set((status == RequestStatus::Cancelled).then_some(settled)),
        expired_at: Set((status == RequestStatus::Expired).then_some(settled)),
        rejection_reason: Set(
            (status == RequestStatus::Rejected).then(|| "no matching stock".to_string())
        ),
        cancellation_reason: Set(
            (status == RequestStatus::Cancelled).then(|| "no longer needed".to_string())
        ),
        created_at: Set(created),
        updated_at: Set(fulfilled.or(accepted).unwrap_or(settled)),
    });
}

/// One donation by `donor` at bank number `bi` (at `camp`, if any) at `at`, with its units
/// and their events; returns the donation's id.
#[allow(clippy::too_many_arguments)]
fn give(
    b: &mut Batches,
    rng: &mut Rng,
    seq: &mut u64,
    bi: usize,
    bank: Uuid,
    camp: Option<Uuid>,
    donor: Uuid,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Uuid {
    let ms = at.timestamp_millis().max(0) as u64;
    let id = rng.uuid(ms);
    b.donations.push(donation::ActiveModel {
        id: Set(id),
        donor_id: Set(donor),
        blood_bank_id: Set(bank),
        camp_id: Set(camp),
        collected_at: Set(at),
        donation_type: Set(DonationType::WholeBlood),
        volume_ml: Set(450),
        hemoglobin: Set(12.5 + rng.below(40) as f64 / 10.0),
        blood_pressure: Set(None),
        notes: Set(None),
        recorded_by: Set(None),
        created_at: Set(at),
    });
    b.report.donations += 1;
    let group = rng.pick(GROUPS);
    let collected = at.date_naive();
    let mut components = vec![Component::RedCells, Component::Plasma];
    if rng.below(100) < 30 {
        components.push(Component::Platelets);
    }
    for component in components {
        *seq += 1;
        let unit = rng.uuid(ms);
        let expires_at = collected.and_time(NaiveTime::MIN).and_utc() + shelf_life(component);
        let life = (expires_at - at).num_minutes().max(1) as u64;
        // Most units are issued within their shelf life; some expire, a few are discarded.
        let (to, when) = match rng.below(100) {
            0..=77 => (UnitStatus::Issued, after(at, 60 + rng.below(life))),
            78..=94 => (UnitStatus::Expired, expires_at),
            _ => (UnitStatus::Discarded, after(at, 60 + rng.below(2 * 1440))),
        };
        let (status, end) = if when <= now {
            (to, Some(when))
        } else {
            (UnitStatus::Available, None)
        };
        b.units.push(blood_unit::ActiveModel {
            id: Set(unit),
            unit_number: Set(format!("H{bi:04}{:08}", *seq)),
            is_local_barcode: Set(false),
            component: Set(component),
            blood_group: Set(group),
            blood_bank_id: Set(bank),
            volume_ml: Set(if component == Component::Platelets {
                50
            } else {
                200
            }),
            collected_on: Set(collected),
            expires_at: Set(expires_at),
            status: Set(status),
            reserved_for_request_id: Set(None),
            reserved_until: Set(None),
            donation_id: Set(Some(id)),
            expiry_alerted_at: Set(None),
            parent_unit_id: Set(None),
            created_at: Set(at),
            updated_at: Set(end.unwrap_or(at)),
        });
        // Every unit left quarantine screened, with a panel that clears release.
        b.panels.push(blood_unit_test::ActiveModel {
            unit_id: Set(unit),
            blood_bank_id: Set(bank),
            hiv: Set(TestResult::Negative),
            hbv: Set(TestResult::Negative),
            hcv: Set(TestResult::Negative),
            syphilis: Set(TestResult::Negative),
            malaria: Set(TestResult::Negative),
            abo_confirmed: Set(true),
            rh_confirmed: Set(true),
            recorded_by_user_id: Set(None),
            recorded_by_api_client_id: Set(None),
            recorded_at: Set(at),
        });
        b.report.units += 1;
        b.events
            .push(event(rng, unit, bank, None, UnitStatus::Available, at));
        if let Some(end) = end {
            b.events
                .push(event(rng, unit, bank, Some(UnitStatus::Available), to, end));
        }
        b.report.unit_events = b.report.unit_events + 1 + usize::from(end.is_some());
    }
    id
}

fn event(
    rng: &mut Rng,
    unit: Uuid,
    bank: Uuid,
    from: Option<UnitStatus>,
    to: UnitStatus,
    at: DateTime<Utc>,
) -> blood_unit_event::ActiveModel {
    blood_unit_event::ActiveModel {
        id: Set(rng.uuid(at.timestamp_millis().max(0) as u64)),
        unit_id: Set(unit),
        blood_bank_id: Set(bank),
        from_status: Set(from),
        to_status: Set(to),
        request_id: Set(None),
        actor_user_id: Set(None),
        actor_api_client_id: Set(None),
        reason: Set((to == UnitStatus::Discarded).then(|| "bag damaged in storage".to_string())),
        created_at: Set(at),
    }
}

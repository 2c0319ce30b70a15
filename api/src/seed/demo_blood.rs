//! The demo network's blood data: donors, donations, units of every group and component
//! (some close to expiry, some quarantined), thresholds, and requests in every state. It goes
//! through the same services as the API, so it obeys the same rules.

use crate::{
    auth::Actor,
    blood::{eligibility::RuleSet, isbt},
    config::Config,
    donors::{
        service as donors,
        types::{DonationRecord, DonorDetails},
    },
    error::{AppError, AppResult},
    requests::{
        commands::{
            AcceptBloodRequest, CancelBloodRequest, CreateBloodRequest, FulfillBloodRequest,
        },
        service as requests,
    },
    stock::service::{self as stock, NewUnit, Panel},
    validation::{DonorCode, Text},
};
use chrono::{Duration, Utc};
use entity::{
    BloodGroup, Component, DonationType, RequestStatus, UnitStatus, Urgency, blood_request,
};
use sea_orm::prelude::Uuid;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Expr};

const GROUPS: [BloodGroup; 8] = [
    BloodGroup::ONeg,
    BloodGroup::OPos,
    BloodGroup::ANeg,
    BloodGroup::APos,
    BloodGroup::BNeg,
    BloodGroup::BPos,
    BloodGroup::AbNeg,
    BloodGroup::AbPos,
];
const COMPONENTS: [Component; 5] = [
    Component::WholeBlood,
    Component::RedCells,
    Component::Plasma,
    Component::Platelets,
    Component::Cryoprecipitate,
];

/// A DIN with its check character, from a facility code and a sequence number.
pub fn din(facility: &str, seq: u32) -> AppResult<isbt::UnitNumber> {
    let base = format!("{facility}26{seq:06}");
    let check = isbt::check_character(&base).ok_or_else(|| AppError::internal("bad DIN"))?;
    isbt::UnitNumber::parse(&format!("{base}{check}"), false, "unitNumber")
}

fn actor(user: Uuid, org: Uuid, role: &str) -> Actor {
    Actor {
        user_id: Some(user),
        api_client_id: None,
        role: role.into(),
        organization_id: Some(org),
    }
}

/// Loads the blood data for the orgs just created: `(code, id, admin user id)`.
pub async fn load<C: ConnectionTrait>(
    config: &Config,
    db: &C,
    orgs: &[(&str, Uuid, Uuid)],
) -> AppResult<()> {
    let find = |code: &str| {
        orgs.iter()
            .find(|o| o.0 == code)
            .copied()
            .ok_or(AppError::NotFound("demo organization"))
    };
    let (_, hospital, hospital_admin) = find("HOSP-STMARTHA")?;
    let (_, bank, bank_admin) = find("BB-RASHTROTTHANA")?;
    let (_, bank2, bank2_admin) = find("BB-LIONS")?;
    let (_, ngo, _) = find("NGO-SANKALP")?;
    let rules = RuleSet::by_name(&config.eligibility_rules).unwrap_or_default();
    let today = Utc::now().date_naive();

    // Donors registered by the NGO, some of whom give blood at the bank today.
    let names = [
        "Asha Kulkarni",
        "Vikram Reddy",
        "Lakshmi Iyer",
        "Imran Sheikh",
        "Neha Joshi",
        "Rahul Menon",
        "Priya Das",
        "Karthik Rao",
    ];
    let mut donor_codes = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let d = donors::register(
            db,
            &rules,
            donors::NewDonor {
                user_id: None,
                ngo_id: Some(ngo),
                registered_by: Some(ngo),
                details: DonorDetails {
                    full_name: (*name).to_string(),
                    date_of_birth: today - Duration::days(365 * (22 + i as i64 * 4)),
                    gender: Some(if i % 2 == 0 { "FEMALE" } else { "MALE" }.into()),
                    blood_group: GROUPS[i],
                    weight_kg: 55.0 + i as f64 * 3.0,
                    phone: format!("+9198450{:05}", 10_000 + i),
                    email: None,
                    address: None,
                    city: "Bengaluru".into(),
                    state: Some("Karnataka".into()),
                },
                location: Some((12.95 + i as f64 * 0.01, 77.58 + i as f64 * 0.01)),
            },
        )
        .await?
        .0;
        donor_codes.push(d.donor_code);
    }
    let bank_actor = actor(bank_admin, bank, "ADMIN");
    let mut seq = 1;
    for code in donor_codes.iter().take(4) {
        let units = vec![
            NewUnit {
                unit_number: din("G1234", seq)?,
                component: Component::RedCells,
                blood_group: BloodGroup::ONeg,
                volume_ml: 280,
                collected_on: today,
                expires_at: None,
                status: UnitStatus::Quarantined,
                donation_id: None,
                panel: None,
            },
            NewUnit {
                unit_number: din("G1234", seq)?,
                component: Component::Plasma,
                blood_group: BloodGroup::ONeg,
                volume_ml: 220,
                collected_on: today,
                expires_at: None,
                status: UnitStatus::Quarantined,
                donation_id: None,
                panel: None,
            },
        ];
        seq += 1;
        // The NGO's donors are new to the bank: they show their cards.
        let code = DonorCode::parse(code, "donorCode")?;
        let donor = donors::admit(db, bank, &donors::DonorRef::Code(code)).await?;
        donors::record_donation(
            db,
            &rules,
            donor,
            donors::NewDonation {
                record: DonationRecord {
                    collected_at: Utc::now() - Duration::hours(2),
                    donation_type: DonationType::WholeBlood,
                    volume_ml: 450,
                    hemoglobin: 13.8,
                    blood_pressure: Some("120/80".into()),
                    notes: None,
                },
                units,
                camp_id: None,
            },
            &bank_actor,
        )
        .await?;
    }

    // Stock at both banks: every group and component, some close to expiry.
    for (b, admin, facility) in [(bank, bank_admin, "G1234"), (bank2, bank2_admin, "G5678")] {
        let a = actor(admin, b, "ADMIN");
        let mut units = Vec::new();
        for (gi, g) in GROUPS.iter().enumerate() {
            for (ci, c) in COMPONENTS.iter().enumerate() {
                let n = 2 + (gi + ci) % 3;
                for k in 0..n {
                    let quarantined = k == n - 1 && gi % 3 == 0;
                    let collected = today - Duration::days(1 + k as i64);
                    let expires = if k == 0 && (gi + ci) % 4 == 0 {
                        Some(Utc::now() + Duration::days(2))
                    } else {
                        None
                    };
                    units.push(NewUnit {
                        unit_number: din(facility, 100 + seq)?,
                        component: *c,
                        blood_group: *g,
                        volume_ml: if *c == Component::Platelets { 250 } else { 300 },
                        collected_on: collected,
                        expires_at: expires,
                        status: if quarantined {
                            UnitStatus::Quarantined
                        } else {
                            UnitStatus::Available
                        },
                        donation_id: None,
                        // Released stock was screened; the quarantined units wait for it.
                        panel: (!quarantined).then_some(Panel::CLEARED),
                    });
                    seq += 1;
                }
            }
        }
        stock::add(db, b, units, &a).await?;
        stock::set_threshold(db, b, BloodGroup::ONeg, Component::RedCells, 10).await?;
        stock::set_threshold(db, b, BloodGroup::OPos, Component::RedCells, 3).await?;
    }

    // Requests in every state.
    let ha = actor(hospital_admin, hospital, "ADMIN");
    let new = |group,
               component,
               units,
               urgency,
               target: Option<Uuid>,
               patient: &str|
     -> AppResult<CreateBloodRequest> {
        Ok(CreateBloodRequest {
            hospital_id: hospital,
            patient_reference: Text::parse(&format!("MRN-{patient}"), "patientReference", 64)?,
            patient_name: Some(Text::parse(patient, "patientName", 200)?),
            blood_group: group,
            component,
            units_required: units,
            urgency,
            needed_by: Utc::now() + Duration::hours(6),
            medical_notes: Some(Text::parse(
                "Post-partum haemorrhage; Hb 6.1 g/dL",
                "medicalNotes",
                2000,
            )?),
            target_bank: target,
            radius_km: None,
            emergency_override: None,
            retry: None,
        })
    };
    requests::create(
        db,
        config,
        new(
            BloodGroup::OPos,
            Component::RedCells,
            2,
            Urgency::Emergency,
            None,
            "Sunita Rao",
        )?,
        &ha,
    )
    .await?;
    let accepted = requests::create(
        db,
        config,
        new(
            BloodGroup::APos,
            Component::RedCells,
            2,
            Urgency::Urgent,
            None,
            "Mohan Lal",
        )?,
        &ha,
    )
    .await?
    .0;
    let accept = |request_id| AcceptBloodRequest {
        request_id,
        bank_id: bank,
        retry: None,
    };
    requests::accept(
        db,
        config.reservation_hold,
        accept(accepted.id),
        &bank_actor,
    )
    .await?;
    let fulfilled = requests::create(
        db,
        config,
        new(
            BloodGroup::BPos,
            Component::Plasma,
            1,
            Urgency::Routine,
            Some(bank),
            "Fatima Begum",
        )?,
        &ha,
    )
    .await?
    .0;
    requests::accept(
        db,
        config.reservation_hold,
        accept(fulfilled.id),
        &bank_actor,
    )
    .await?;
    let fulfil = FulfillBloodRequest {
        request_id: fulfilled.id,
        bank_id: bank,
    };
    requests::fulfill(db, fulfil, &bank_actor).await?;
    let rejected = requests::create(
        db,
        config,
        new(
            BloodGroup::ONeg,
            Component::Platelets,
            4,
            Urgency::Critical,
            Some(bank2),
            "Ravi Shankar",
        )?,
        &ha,
    )
    .await?
    .0;
    requests::reject(
        db,
        rejected.id,
        bank2,
        Some(Text::parse(
            "No O− platelets on hand tonight",
            "reason",
            500,
        )?),
    )
    .await?;
    let cancelled = requests::create(
        db,
        config,
        new(
            BloodGroup::AbPos,
            Component::Plasma,
            2,
            Urgency::Routine,
            None,
            "Geeta Nair",
        )?,
        &ha,
    )
    .await?
    .0;
    let cancel = CancelBloodRequest {
        request_id: cancelled.id,
        hospital_id: hospital,
        reason: Text::parse("Surgery postponed", "reason", 500)?,
    };
    requests::cancel(db, cancel, &ha).await?;
    let expired = requests::create(
        db,
        config,
        new(
            BloodGroup::ANeg,
            Component::WholeBlood,
            1,
            Urgency::Urgent,
            None,
            "Arun Pillai",
        )?,
        &ha,
    )
    .await?
    .0;
    blood_request::Entity::update_many()
        .col_expr(
            blood_request::Column::NeededBy,
            Expr::value(Utc::now() - Duration::minutes(1)),
        )
        .filter(blood_request::Column::Id.eq(expired.id))
        .filter(blood_request::Column::Status.eq(RequestStatus::Pending))
        .exec(db)
        .await?;
    requests::expire_overdue(db, 100).await?;
    Ok(())
}

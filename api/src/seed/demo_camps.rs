//! The demo network's camps and drives: the hospital's emergency drive, accepted by the NGO,
//! and the NGO's camp with the partner bank answering it (two days of hourly slots), with one
//! of the NGO's donors registered. Through the same use cases as the API.

use crate::{
    auth::{Actor, Viewer},
    camps::service::{self as camps, NewCamp, NewRegistration},
    config::Config,
    drives::service::{self as drives, DriveMove, NewDrive},
    error::{AppError, AppResult},
    validation::GeoPoint,
};
use chrono::{Duration, NaiveTime, Utc};
use entity::{BloodGroup, Component, DriveType, donor};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

/// Loads a drive and a camp: `hospital` and `ngo` with their admins, `bank` the partner.
pub async fn load<C: ConnectionTrait>(
    config: &Config,
    db: &C,
    (hospital, hospital_admin): (Uuid, Uuid),
    (ngo, ngo_admin): (Uuid, Uuid),
    bank: Uuid,
) -> AppResult<()> {
    let hospital_viewer = Viewer::load_user(db, hospital_admin).await?;
    let ngo_viewer = Viewer::load_user(db, ngo_admin).await?;
    let tomorrow = Utc::now().date_naive() + Duration::days(1);
    let (drive, _) = drives::propose(
        db,
        &hospital_viewer,
        NewDrive {
            hospital_id: hospital,
            ngo_id: ngo,
            drive_type: DriveType::Emergency,
            blood_groups: vec![BloodGroup::ONeg, BloodGroup::OPos],
            component: Some(Component::RedCells),
            target_units: 20,
            date: tomorrow,
            blood_request_id: None,
            notes: Some("Trauma season: O group red cells run short.".into()),
        },
    )
    .await?;
    drives::move_drive(db, &ngo_viewer, drive.id, DriveMove::Accept).await?;
    let time = |h| NaiveTime::from_hms_opt(h, 0, 0).ok_or(AppError::internal("bad hour"));
    let actor = Actor {
        user_id: Some(ngo_admin),
        api_client_id: None,
        role: "ADMIN".into(),
        organization_id: Some(ngo),
    };
    let (camp, _) = camps::create_camp(
        db,
        &actor,
        NewCamp {
            organization_id: ngo,
            blood_bank_id: bank,
            drive_id: Some(drive.id),
            name: "Jayanagar community blood camp".into(),
            description: Some("Walk in or book a slot; bring your donor card.".into()),
            venue: "Jayanagar 4th Block community hall".into(),
            address: Some("11th Main Road, Jayanagar".into()),
            city: "Bengaluru".into(),
            location: GeoPoint::parse(12.9299, 77.5826, "")?,
            zone: chrono_tz::Asia::Kolkata,
            starts_on: tomorrow,
            ends_on: tomorrow + Duration::days(1),
            daily_start: time(9)?,
            daily_end: time(16)?,
            slot_minutes: 60,
            slot_capacity: 8,
            blood_groups: vec![BloodGroup::ONeg, BloodGroup::OPos],
            expected_donors: Some(80),
        },
    )
    .await?;
    let rules = crate::donors::service::rule_set(config)?;
    let first_slot = crate::camps::service::first_slot(db, camp.id).await?;
    let donor = donor::Entity::find()
        .filter(donor::Column::NgoId.eq(ngo))
        .one(db)
        .await?;
    if let (Some(slot), Some(d)) = (first_slot, donor) {
        // A donor who gave recently is refused, as through the API; the camp stands anyway.
        let registered = camps::register(
            db,
            &ngo_viewer,
            &rules,
            NewRegistration {
                slot_id: slot,
                donor_id: d.id,
                referred_by: None,
            },
        )
        .await;
        match registered {
            Ok(_) | Err(AppError::NotEligible { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

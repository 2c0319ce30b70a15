//! The telehealth and imaging part of the demo data set: St. Martha's doctor gets a verified
//! profile with weekday hours in Bengaluru, a patient has a booking with him, and the
//! hospital's radiologist has uploaded a chest X-ray that waits for the AI service.

use crate::{
    consultations::service::{self as care, Booking, BookingLimits, NewDoctor, NewRule},
    error::{AppError, AppResult},
    identity::service::{self as identity, NewUser},
    reports::{
        commands::CreateMedicalReport,
        service::{self as reports, NewImage},
    },
    validation::{Email, IanaZone, ImageSources, Text},
};
use chrono::{Datelike, Duration, NaiveTime, TimeZone, Utc, Weekday as ChronoWeekday};
use entity::{ConsultationType, ImageFormat, ImageType, PlatformRole, Weekday};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

/// The patient account the demo creates.
pub const PATIENT: &str = "patient@lifeflow.example";

/// Loads the care data for St. Martha's (`hospital`), its doctor and radiologist; returns
/// the extra logins to print.
pub async fn load<C: ConnectionTrait>(
    db: &C,
    password_hash: &str,
    hospital: Uuid,
    doctor_user: Uuid,
    radiologist: Uuid,
) -> AppResult<Vec<(String, String)>> {
    let zone = IanaZone::parse("Asia/Kolkata", "timeZone")?;
    let patient = identity::create_user(
        db,
        NewUser {
            email: Email::parse(PATIENT, "email")?,
            password_hash: password_hash.to_string(),
            full_name: "Sunita Bhat".into(),
            phone: None,
            platform_role: PlatformRole::User,
        },
    )
    .await?;
    let (doctor, _) = care::create_doctor(
        db,
        doctor_user,
        NewDoctor {
            organization_id: Some(hospital),
            license_number: "KMC-104233".into(),
            specialization: "Internal Medicine".into(),
            experience_years: 12,
            qualification: Some("MBBS, MD (Internal Medicine)".into()),
            bio: Some("Consultant physician at St. Martha's.".into()),
            fee_minor: 60_000,
            currency: "INR".into(),
        },
    )
    .await?;
    let doctor = care::verify_doctor(db, doctor, None).await?;
    let today = Utc::now().date_naive();
    let days = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
    ];
    let hours = |h: u32| NaiveTime::from_hms_opt(h, 0, 0).ok_or(AppError::internal("time"));
    let rules = days
        .iter()
        .map(|d| {
            Ok(NewRule {
                day: *d,
                start: hours(9)?,
                end: hours(13)?,
                zone,
                valid_from: today,
                valid_until: None,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    care::set_availability(db, doctor.id, rules).await?;
    // The next weekday at 10:00 in Bengaluru, at least a day ahead.
    let mut day = today + Duration::days(2);
    while matches!(day.weekday(), ChronoWeekday::Sat | ChronoWeekday::Sun) {
        day += Duration::days(1);
    }
    let start = zone
        .0
        .from_local_datetime(&day.and_time(hours(10)?))
        .single()
        .ok_or(AppError::internal("demo slot"))?
        .with_timezone(&Utc);
    care::book(
        db,
        doctor.id,
        Booking {
            patient_id: patient.id,
            start,
            duration: Duration::minutes(30),
            kind: ConsultationType::Video,
            symptoms: Some("Dry cough for three weeks, mild fever in the evenings.".into()),
            rescheduled_from: None,
            coverage_id: None,
        },
        BookingLimits { max_days_ahead: 90 },
    )
    .await?;
    reports::create(
        db,
        CreateMedicalReport {
            organization_id: hospital,
            patient_id: patient.id,
            study_type: Text::parse("Chest X-ray, PA view", "studyType", 100)?,
            clinical_notes: None,
            images: vec![NewImage {
                url: "https://imaging.stmartha.example/studies/demo-cxr-001.dcm".into(),
                image_type: ImageType::Xray,
                format: ImageFormat::Dicom,
                width: 2048,
                height: 2500,
                size_bytes: 10_485_760,
                display_order: 0,
                dicom_metadata: None,
            }],
        },
        radiologist,
        // The demo's own URL, not a caller's: any https host will do.
        &ImageSources {
            hosts: None,
            prefixes: Vec::new(),
        },
    )
    .await?;
    Ok(vec![(
        patient.email,
        "patient (a consultation and a chest X-ray)".into(),
    )])
}

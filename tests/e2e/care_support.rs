//! Arranging telehealth scenarios: a clinic with an admin, a verified doctor available all
//! week, and a patient.

use chrono::{DateTime, Duration, Timelike, Utc};
use lifeflow_tests::*;
use serde_json::{Value, json};

/// A clinic (an approved hospital) with its admin, a verified doctor and a patient.
pub struct Clinic {
    pub root: Session,
    pub admin: Session,
    pub org: String,
    pub doctor: Session,
    pub doctor_id: String,
    pub patient: Session,
}

pub const CONSULTATION: &str = "id status scheduledAt endsAt durationMinutes symptoms diagnosis notes \
     cancellationReason rescheduledFromId rescheduledToId";

impl Clinic {
    pub async fn new(app: &TestApp) -> Self {
        let root = app.super_admin().await;
        let admin = app.signed_in("admin@clinic.example").await;
        let org = app
            .approved_org(&root, &admin, "CLINIC-1", "HOSPITAL")
            .await;
        let doctor = app.signed_in("doctor@clinic.example").await;
        app.add_member(&admin, &org, &doctor.email, "DOCTOR").await;
        let doctor_id = create_profile(app, &doctor, Some(&org), "KMC-1001").await;
        verify(app, &admin, &doctor_id).await.data();
        all_week(app, &doctor, "UTC").await;
        let patient = app.signed_in("patient@example.com").await;
        Self {
            root,
            admin,
            org,
            doctor,
            doctor_id,
            patient,
        }
    }

    /// Books as `who` at `at` for 30 minutes; panics on failure.
    pub async fn book(&self, app: &TestApp, who: &Session, at: &str) -> String {
        let r = book(app, who, &self.doctor_id, at, None).await;
        r.data()["bookConsultation"]["consultation"]["id"]
            .as_str()
            .expect("consultation id")
            .to_string()
    }
}

/// Creates a doctor profile for `who` and returns its id.
pub async fn create_profile(
    app: &TestApp,
    who: &Session,
    org: Option<&str>,
    license: &str,
) -> String {
    let r = app
        .gql(
            Some(&who.access),
            "mutation($i: CreateDoctorProfileInput!) { createDoctorProfile(input: $i) { doctor { id isVerified } } }",
            json!({"i": {"organizationId": org, "licenseNumber": license, "specialization": "General Medicine",
                         "experienceYears": 8, "consultationFeeMinor": 50000, "currency": "INR"}}),
        )
        .await;
    r.data()["createDoctorProfile"]["doctor"]["id"]
        .as_str()
        .expect("doctor id")
        .to_string()
}

/// Verifies a doctor as `who`.
pub async fn verify(app: &TestApp, who: &Session, doctor: &str) -> Gql {
    app.gql(
        Some(&who.access),
        "mutation($i: VerifyDoctorInput!) { verifyDoctor(input: $i) { doctor { id isVerified } } }",
        json!({"i": {"doctorId": doctor}}),
    )
    .await
}

/// Sets rules for every day, 00:00 to 23:30 in `zone`.
pub async fn all_week(app: &TestApp, doctor: &Session, zone: &str) {
    let days = [
        "MONDAY",
        "TUESDAY",
        "WEDNESDAY",
        "THURSDAY",
        "FRIDAY",
        "SATURDAY",
        "SUNDAY",
    ];
    let rules: Vec<Value> = days
        .iter()
        .map(|d| json!({"dayOfWeek": d, "startTime": "00:00:00", "endTime": "23:30:00", "timeZone": zone, "validFrom": "2026-01-01"}))
        .collect();
    set_rules(app, doctor, json!(rules)).await.data();
}

/// Replaces a doctor's rules.
pub async fn set_rules(app: &TestApp, doctor: &Session, rules: Value) -> Gql {
    app.gql(
        Some(&doctor.access),
        "mutation($i: SetAvailabilityInput!) { setAvailability(input: $i) { doctor { id availability { dayOfWeek startTime endTime timeZone } } } }",
        json!({"i": {"rules": rules}}),
    )
    .await
}

/// `days` days from today (UTC) at `hour`:`minute`, RFC 3339.
pub fn at(days: i64, hour: u32, minute: u32) -> String {
    let d: DateTime<Utc> = Utc::now() + Duration::days(days);
    d.with_hour(hour)
        .and_then(|d| d.with_minute(minute))
        .and_then(|d| d.with_second(0))
        .and_then(|d| d.with_nanosecond(0))
        .expect("time")
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Books a 30-minute video consultation.
pub async fn book(app: &TestApp, who: &Session, doctor: &str, at: &str, key: Option<&str>) -> Gql {
    book_with(
        app,
        who,
        json!({"doctorId": doctor, "scheduledAt": at, "durationMinutes": 30, "consultationType": "VIDEO",
               "symptoms": "fever for three days\nand a cough", "idempotencyKey": key}),
    )
    .await
}

/// Books with a raw input.
pub async fn book_with(app: &TestApp, who: &Session, input: Value) -> Gql {
    app.gql(
        Some(&who.access),
        &format!("mutation($i: BookConsultationInput!) {{ bookConsultation(input: $i) {{ consultation {{ {CONSULTATION} }} }} }}"),
        json!({"i": input}),
    )
    .await
}

/// Runs a consultation mutation that takes `{consultationId}` plus `extra`.
pub async fn act(app: &TestApp, who: &Session, op: &str, id: &str, extra: Value) -> Gql {
    let input_type = match op {
        "confirmConsultation" | "startConsultation" | "markNoShow" => "ConsultationActionInput",
        "completeConsultation" => "CompleteConsultationInput",
        "cancelConsultation" => "CancelConsultationInput",
        "rescheduleConsultation" => "RescheduleConsultationInput",
        other => panic!("unknown operation {other}"),
    };
    let mut input = extra;
    input["consultationId"] = json!(id);
    app.gql(
        Some(&who.access),
        &format!("mutation($i: {input_type}!) {{ {op}(input: $i) {{ consultation {{ {CONSULTATION} }} }} }}"),
        json!({"i": input}),
    )
    .await
}

/// The consultation a mutation returned.
pub fn consultation_of<'a>(r: &'a Gql, op: &str) -> &'a Value {
    &r.data()[op]["consultation"]
}

/// Writes a prescription.
pub async fn prescribe(app: &TestApp, who: &Session, id: &str) -> Gql {
    app.gql(
        Some(&who.access),
        "mutation($i: AddPrescriptionInput!) { addPrescription(input: $i) { prescription { id medications { name dose frequency durationDays } instructions } } }",
        json!({"i": {"consultationId": id, "instructions": "Rest and fluids",
                     "medications": [{"name": "Paracetamol", "dose": "500 mg", "frequency": "three times a day", "durationDays": 5}]}}),
    )
    .await
}

/// Records a payment of the doctor's fee.
pub async fn pay(app: &TestApp, who: &Session, id: &str, key: Option<&str>) -> Gql {
    app.gql(
        Some(&who.access),
        "mutation($i: RecordPaymentInput!) { recordPayment(input: $i) { payment { id status amount { amountMinor currency } } } }",
        json!({"i": {"consultationId": id, "amountMinor": 50000, "currency": "INR", "method": "UPI",
                     "transactionReference": "UPI-REF-1", "idempotencyKey": key}}),
    )
    .await
}

/// Reads one consultation with its health data.
pub async fn read(app: &TestApp, who: &Session, id: &str) -> Gql {
    app.gql(
        Some(&who.access),
        &format!("query($id: ID!) {{ consultation(id: $id) {{ {CONSULTATION} prescriptions {{ id medications {{ name }} }} payments {{ id status }} }} }}"),
        json!({"id": id}),
    )
    .await
}

/// Confirms and starts a consultation as its doctor.
pub async fn confirm_and_start(app: &TestApp, doctor: &Session, id: &str) {
    act(app, doctor, "confirmConsultation", id, json!({}))
        .await
        .data();
    act(app, doctor, "startConsultation", id, json!({}))
        .await
        .data();
}

/// The titles of a user's notifications.
pub async fn notification_kinds(app: &TestApp, who: &Session) -> Vec<String> {
    let r = app
        .gql(
            Some(&who.access),
            "{ notifications(first: 100) { edges { node { kind title } } } }",
            json!({}),
        )
        .await;
    r.data()["notifications"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["kind"].as_str().expect("kind").to_string())
        .collect()
}

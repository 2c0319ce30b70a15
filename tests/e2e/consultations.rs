//! Telehealth end to end: profiles, availability, open slots, booking, the consultation
//! state machine, prescriptions, payments, risk flags and who may do what.

use lifeflow_tests::{
    fixtures::care::*,
    matrix::{Matrix, Outcome::*, Row, mutation},
    *,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

#[tokio::test]
async fn a_consultation_goes_from_profile_to_payment_end_to_end() {
    // Arrange: a verified doctor available all week.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let slot = at(3, 10, 0);
    let slots = async |who: &Session| {
        app.gql(
            Some(&who.access),
            "query($d: ID!, $f: DateTime!, $t: DateTime!) { openSlots(doctorId: $d, from: $f, to: $t, durationMinutes: 30) { startsAt utcOffsetMinutes timeZone } }",
            json!({"d": c.doctor_id, "f": at(3, 9, 0), "t": at(3, 12, 0)}),
        )
        .await
    };
    let before = slots(&c.patient).await;
    let starts: Vec<&str> = before.data()["openSlots"]
        .as_array()
        .expect("slots")
        .iter()
        .map(|s| s["startsAt"].as_str().expect("start"))
        .collect();
    assert_eq!(starts.len(), 6, "09:00 to 12:00 in half hours: {starts:?}");

    // Act: book, confirm, start, complete, prescribe, and the clinic records the payment.
    let booked = book(&app, &c.patient, &c.doctor_id, &slot, Some("book-1")).await;
    let id = consultation_of(&booked, "bookConsultation")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let retry = book(&app, &c.patient, &c.doctor_id, &slot, Some("book-1")).await;
    let confirmed = act(&app, &c.doctor, "confirmConsultation", &id, json!({})).await;
    let started = act(&app, &c.doctor, "startConsultation", &id, json!({})).await;
    let completed = act(
        &app,
        &c.doctor,
        "completeConsultation",
        &id,
        json!({"diagnosis": "Viral upper respiratory infection", "notes": "Review if fever persists"}),
    )
    .await;
    let prescription = prescribe(&app, &c.doctor, &id).await;
    let paid = pay(&app, &c.admin, &id, Some("pay-1")).await;
    let paid_again = pay(&app, &c.admin, &id, Some("pay-1")).await;

    // Assert
    assert_eq!(
        consultation_of(&booked, "bookConsultation")["status"],
        "REQUESTED"
    );
    assert_eq!(consultation_of(&retry, "bookConsultation")["id"], json!(id));
    assert_eq!(
        consultation_of(&confirmed, "confirmConsultation")["status"],
        "CONFIRMED"
    );
    assert_eq!(
        consultation_of(&started, "startConsultation")["status"],
        "IN_PROGRESS"
    );
    let done = consultation_of(&completed, "completeConsultation");
    assert_eq!(done["status"], "COMPLETED");
    assert_eq!(done["diagnosis"], "Viral upper respiratory infection");
    assert_eq!(
        prescription.data()["addPrescription"]["prescription"]["medications"][0]["name"],
        "Paracetamol"
    );
    let payment = &paid.data()["recordPayment"]["payment"];
    assert_eq!(payment["status"], "SUCCEEDED");
    assert_eq!(payment["amount"]["currency"], "INR");
    assert_eq!(
        paid_again.data()["recordPayment"]["payment"]["id"],
        payment["id"],
        "a retried payment is the same payment"
    );
    let after = slots(&c.patient).await;
    let still_open: Vec<&str> = after.data()["openSlots"]
        .as_array()
        .expect("slots")
        .iter()
        .map(|s| s["startsAt"].as_str().expect("start"))
        .collect();
    assert_eq!(still_open.len(), 5, "the booked slot is no longer open");
    let seen = read(&app, &c.patient, &id).await;
    let seen = &seen.data()["consultation"];
    assert_eq!(seen["symptoms"], "fever for three days\nand a cough");
    assert_eq!(seen["prescriptions"].as_array().expect("list").len(), 1);
    assert_eq!(seen["payments"][0]["status"], "SUCCEEDED");
    assert!(
        notification_kinds(&app, &c.doctor)
            .await
            .contains(&"CONSULTATION_UPDATE".to_string())
    );
    let patient_notes = notification_kinds(&app, &c.patient).await;
    assert!(patient_notes.contains(&"CONSULTATION_UPDATE".to_string()));
    assert!(patient_notes.contains(&"PRESCRIPTION".to_string()));
    assert!(
        !lifeflow_tests::fixtures::audit_rows(&app, "consultation.read_health", Some(&id))
            .await
            .is_empty(),
        "reading health data is audited"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'consultation.book' AND outcome = 'SUCCESS'")
            .await,
        1,
        "the retry did not book again"
    );
}

#[tokio::test]
async fn open_slots_follow_the_doctors_wall_clock_across_a_daylight_saving_change() {
    // Arrange: Mondays 09:00-10:00 in New York; clocks go forward on 14 March 2027.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    set_rules(
        &app,
        &c.doctor,
        json!([{"dayOfWeek": "MONDAY", "startTime": "09:00:00", "endTime": "10:00:00",
                "timeZone": "America/New_York", "validFrom": "2026-01-01"}]),
    )
    .await
    .data();

    // Act
    let r = app
        .gql(
            Some(&c.patient.access),
            "query($d: ID!) { openSlots(doctorId: $d, from: \"2027-03-01T00:00:00Z\", to: \"2027-03-16T00:00:00Z\", durationMinutes: 30) { startsAt localStartsAt utcOffsetMinutes timeZone } }",
            json!({"d": c.doctor_id}),
        )
        .await;

    // Assert
    let slots = r.data()["openSlots"].as_array().expect("slots").clone();
    let starts: Vec<&str> = slots
        .iter()
        .map(|s| s["startsAt"].as_str().expect("start"))
        .collect();
    assert_eq!(
        starts,
        vec![
            "2027-03-01T14:00:00+00:00",
            "2027-03-01T14:30:00+00:00",
            "2027-03-08T14:00:00+00:00",
            "2027-03-08T14:30:00+00:00",
            "2027-03-15T13:00:00+00:00",
            "2027-03-15T13:30:00+00:00",
        ]
    );
    assert_eq!(slots[0]["utcOffsetMinutes"], -300);
    assert_eq!(slots[4]["utcOffsetMinutes"], -240);
    assert_eq!(slots[4]["localStartsAt"], "2027-03-15T09:00:00-04:00");
    assert_eq!(slots[4]["timeZone"], "America/New_York");
}

#[tokio::test]
async fn availability_rules_must_end_after_they_start_and_must_not_overlap() {
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let rule = |day: &str, s: &str, e: &str| json!({"dayOfWeek": day, "startTime": s, "endTime": e, "timeZone": "Asia/Kolkata", "validFrom": "2026-01-01"});

    let backwards = set_rules(
        &app,
        &c.doctor,
        json!([rule("MONDAY", "12:00:00", "09:00:00")]),
    )
    .await;
    let overlapping = set_rules(
        &app,
        &c.doctor,
        json!([
            rule("MONDAY", "09:00:00", "12:00:00"),
            rule("MONDAY", "11:00:00", "13:00:00")
        ]),
    )
    .await;
    let bad_zone = set_rules(
        &app,
        &c.doctor,
        json!([{"dayOfWeek": "MONDAY", "startTime": "09:00:00", "endTime": "10:00:00", "timeZone": "Mars/Olympus", "validFrom": "2026-01-01"}]),
    )
    .await;
    let fine = set_rules(
        &app,
        &c.doctor,
        json!([
            rule("MONDAY", "09:00:00", "12:00:00"),
            rule("MONDAY", "12:00:00", "13:00:00")
        ]),
    )
    .await;

    assert_eq!(backwards.code(), Some("BAD_USER_INPUT"));
    assert_eq!(backwards.field(), Some("input.rules.0.endTime"));
    assert_eq!(overlapping.code(), Some("BAD_USER_INPUT"));
    assert_eq!(overlapping.field(), Some("input.rules.1"));
    assert_eq!(bad_zone.field(), Some("input.rules.0.timeZone"));
    assert_eq!(
        fine.data()["setAvailability"]["doctor"]["availability"]
            .as_array()
            .expect("rules")
            .len(),
        2
    );
}

#[tokio::test]
async fn bookings_in_the_past_outside_availability_or_over_another_are_refused() {
    // Arrange
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let other = app.signed_in("other.patient@example.com").await;
    let second_doctor = app.signed_in("second.doctor@clinic.example").await;
    app.add_member(&c.admin, &c.org, &second_doctor.email, "DOCTOR")
        .await;
    let second = create_profile(&app, &second_doctor, Some(&c.org), "KMC-2002").await;
    let unverified_user = app.signed_in("new.doctor@example.com").await;
    let unverified = create_profile(&app, &unverified_user, None, "KMC-3003").await;
    verify(&app, &c.admin, &second).await.data();
    all_week(&app, &second_doctor, "UTC").await;
    let slot = at(2, 10, 0);
    c.book(&app, &c.patient, &slot).await;

    // Act
    let past = book(&app, &c.patient, &c.doctor_id, &at(-1, 10, 0), None).await;
    let outside = book(&app, &c.patient, &c.doctor_id, &at(2, 23, 45), None).await;
    let taken = book(&app, &other, &c.doctor_id, &slot, None).await;
    let overlapping_for_patient = book(&app, &c.patient, &second, &at(2, 10, 15), None).await;
    let not_verified = book(&app, &c.patient, &unverified, &at(2, 11, 0), None).await;
    let odd_length = book_with(
        &app,
        &c.patient,
        json!({"doctorId": c.doctor_id, "scheduledAt": at(2, 12, 0), "durationMinutes": 7, "consultationType": "CHAT"}),
    )
    .await;
    let self_booking = book(&app, &c.doctor, &c.doctor_id, &at(2, 14, 0), None).await;
    let reused_key = book(&app, &other, &c.doctor_id, &at(2, 15, 0), Some("k")).await;
    let reused_other = book(&app, &other, &c.doctor_id, &at(2, 16, 0), Some("k")).await;

    // Assert
    assert_eq!(past.field(), Some("input.scheduledAt"));
    assert_eq!(outside.code(), Some("BAD_USER_INPUT"));
    assert_eq!(outside.field(), Some("input.scheduledAt"));
    assert_eq!(taken.code(), Some("CONFLICT"));
    assert_eq!(overlapping_for_patient.code(), Some("CONFLICT"));
    assert_eq!(not_verified.field(), Some("input.doctorId"));
    assert_eq!(odd_length.field(), Some("input.durationMinutes"));
    assert_eq!(self_booking.field(), Some("input.doctorId"));
    reused_key.data();
    assert_eq!(
        reused_other.code(),
        Some("CONFLICT"),
        "same key, other input"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM consultations").await,
        2,
        "nothing refused was written"
    );
}

#[tokio::test]
async fn a_patient_may_cancel_before_the_cut_off_and_only_the_doctor_after_it() {
    // Arrange: a two-day cut-off; one booking beyond it, one within it.
    let app = spawn_app_with(&[("CONSULTATION_CANCEL_CUTOFF_MINUTES", "2880")]).await;
    let c = Clinic::new(&app).await;
    let far = c.book(&app, &c.patient, &at(4, 10, 0)).await;
    let near = c.book(&app, &c.patient, &at(1, 10, 0)).await;
    let reason = json!({"reason": "Feeling better"});

    // Act
    let patient_far = act(&app, &c.patient, "cancelConsultation", &far, reason.clone()).await;
    let patient_near = act(
        &app,
        &c.patient,
        "cancelConsultation",
        &near,
        reason.clone(),
    )
    .await;
    let doctor_near = act(&app, &c.doctor, "cancelConsultation", &near, reason.clone()).await;
    let again = act(&app, &c.doctor, "cancelConsultation", &near, reason).await;

    // Assert
    let cancelled = consultation_of(&patient_far, "cancelConsultation");
    assert_eq!(cancelled["status"], "CANCELLED");
    assert_eq!(cancelled["cancellationReason"], "Feeling better");
    assert_eq!(patient_near.code(), Some("FORBIDDEN"));
    assert_eq!(
        consultation_of(&doctor_near, "cancelConsultation")["status"],
        "CANCELLED"
    );
    assert_eq!(again.code(), Some("INVALID_TRANSITION"));
    assert!(notification_kinds(&app, &c.doctor).await.len() >= 3);
}

#[tokio::test]
async fn rescheduling_books_a_new_slot_linked_to_the_old_one_and_frees_the_old_slot() {
    // Arrange
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let old_slot = at(3, 10, 0);
    let old = c.book(&app, &c.patient, &old_slot).await;
    act(&app, &c.doctor, "confirmConsultation", &old, json!({}))
        .await
        .data();

    // Act
    let moved = act(
        &app,
        &c.patient,
        "rescheduleConsultation",
        &old,
        json!({"scheduledAt": at(3, 11, 0), "reason": "Clashes with work"}),
    )
    .await;
    let someone_else = app.signed_in("someone@example.com").await;
    let old_slot_again = book(&app, &someone_else, &c.doctor_id, &old_slot, None).await;

    // Assert
    let new = consultation_of(&moved, "rescheduleConsultation");
    assert_eq!(new["status"], "REQUESTED");
    assert_eq!(new["rescheduledFromId"], json!(old));
    let old_now = read(&app, &c.patient, &old).await;
    assert_eq!(old_now.data()["consultation"]["status"], "CANCELLED");
    assert_eq!(old_now.data()["consultation"]["rescheduledToId"], new["id"]);
    assert_eq!(
        consultation_of(&old_slot_again, "bookConsultation")["status"],
        "REQUESTED",
        "the old slot is free again"
    );
}

#[tokio::test]
async fn every_move_outside_the_state_machine_is_refused() {
    // Arrange
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let id = c.book(&app, &c.patient, &at(2, 10, 0)).await;
    let diagnosis = json!({"diagnosis": "x"});

    // Act and assert: from REQUESTED.
    let start_early = act(&app, &c.doctor, "startConsultation", &id, json!({})).await;
    let complete_early = act(
        &app,
        &c.doctor,
        "completeConsultation",
        &id,
        diagnosis.clone(),
    )
    .await;
    let no_show_early = act(&app, &c.doctor, "markNoShow", &id, json!({})).await;
    let prescribe_early = prescribe(&app, &c.doctor, &id).await;
    assert_eq!(start_early.code(), Some("INVALID_TRANSITION"));
    assert_eq!(complete_early.code(), Some("INVALID_TRANSITION"));
    assert_eq!(no_show_early.code(), Some("INVALID_TRANSITION"));
    assert_eq!(prescribe_early.code(), Some("INVALID_TRANSITION"));

    // CONFIRMED: confirming again is refused; a no-show only once the start has passed.
    act(&app, &c.doctor, "confirmConsultation", &id, json!({}))
        .await
        .data();
    let confirm_twice = act(&app, &c.doctor, "confirmConsultation", &id, json!({})).await;
    assert_eq!(confirm_twice.code(), Some("INVALID_TRANSITION"));
    let not_yet = act(&app, &c.doctor, "markNoShow", &id, json!({})).await;
    assert_eq!(not_yet.code(), Some("BAD_USER_INPUT"));
    let past = chrono::Utc::now() - chrono::Duration::hours(1);
    entity::consultation::Entity::update_many()
        .col_expr(
            entity::consultation::Column::ScheduledAt,
            sea_orm::sea_query::Expr::value(past),
        )
        .col_expr(
            entity::consultation::Column::EndsAt,
            sea_orm::sea_query::Expr::value(past + chrono::Duration::minutes(30)),
        )
        .col_expr(
            entity::consultation::Column::BlockedUntil,
            sea_orm::sea_query::Expr::value(past + chrono::Duration::minutes(30)),
        )
        .filter(entity::consultation::Column::Id.eq(uuid::Uuid::parse_str(&id).expect("uuid")))
        .exec(&app.db)
        .await
        .expect("move into the past");
    let no_show = act(&app, &c.doctor, "markNoShow", &id, json!({})).await;
    assert_eq!(consultation_of(&no_show, "markNoShow")["status"], "NO_SHOW");

    // NO_SHOW is final.
    let start_after = act(&app, &c.doctor, "startConsultation", &id, json!({})).await;
    let cancel_after = act(
        &app,
        &c.doctor,
        "cancelConsultation",
        &id,
        json!({"reason": "x"}),
    )
    .await;
    assert_eq!(start_after.code(), Some("INVALID_TRANSITION"));
    assert_eq!(cancel_after.code(), Some("INVALID_TRANSITION"));

    // A completed consultation cannot be cancelled; it is paid once; a refund happens once.
    let done = c.book(&app, &c.patient, &at(2, 12, 0)).await;
    confirm_and_start(&app, &c.doctor, &done).await;
    act(&app, &c.doctor, "completeConsultation", &done, diagnosis)
        .await
        .data();
    let cancel_done = act(
        &app,
        &c.doctor,
        "cancelConsultation",
        &done,
        json!({"reason": "x"}),
    )
    .await;
    assert_eq!(cancel_done.code(), Some("INVALID_TRANSITION"));
    let payment = pay(&app, &c.doctor, &done, None).await;
    let payment_id = payment.data()["recordPayment"]["payment"]["id"].clone();
    let second_payment = pay(&app, &c.admin, &done, None).await;
    assert_eq!(second_payment.code(), Some("CONFLICT"));
    let refund = async |who: &Session| {
        app.gql(
            Some(&who.access),
            "mutation($i: RefundPaymentInput!) { refundPayment(input: $i) { payment { status refundReason } } }",
            json!({"i": {"paymentId": payment_id, "reason": "Charged twice at the desk"}}),
        )
        .await
    };
    let by_patient = refund(&c.patient).await;
    let by_admin = refund(&c.admin).await;
    let twice = refund(&c.doctor).await;
    assert_eq!(by_patient.code(), Some("FORBIDDEN"));
    assert_eq!(
        by_admin.data()["refundPayment"]["payment"]["status"],
        "REFUNDED"
    );
    assert_eq!(twice.code(), Some("INVALID_TRANSITION"));
}

#[tokio::test]
async fn only_the_parties_to_a_consultation_may_see_or_touch_it() {
    // Arrange: another patient, another doctor of the same clinic, the admin of another
    // organization, and a staff member of the clinic.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let stranger = app.signed_in("stranger@example.com").await;
    let other_doctor = app.signed_in("other.doctor@clinic.example").await;
    app.add_member(&c.admin, &c.org, &other_doctor.email, "DOCTOR")
        .await;
    create_profile(&app, &other_doctor, Some(&c.org), "KMC-7007").await;
    let other_admin = app.signed_in("admin@elsewhere.example").await;
    app.approved_org(&c.root, &other_admin, "ELSEWHERE", "HOSPITAL")
        .await;
    let staff = c.add_staff(&app).await;
    let id = c.book(&app, &c.patient, &at(2, 10, 0)).await;
    let flag = async |who: &Session| {
        app.gql(
            Some(&who.access),
            "mutation($i: RaiseRiskFlagInput!) { raiseRiskFlag(input: $i) { riskFlag { id } } }",
            json!({"i": {"consultationId": id, "riskType": "SAFETY", "severity": "LOW", "description": "x"}}),
        )
        .await
    };

    // Act and assert: outsiders are told it does not exist, for every operation.
    for who in [&stranger, &other_doctor, &other_admin, &staff, &c.root] {
        assert_eq!(
            read(&app, who, &id).await.code(),
            Some("NOT_FOUND"),
            "{}",
            who.email
        );
        for op in ["confirmConsultation", "startConsultation"] {
            assert_eq!(
                act(&app, who, op, &id, json!({})).await.code(),
                Some("NOT_FOUND")
            );
        }
        let cancel = act(&app, who, "cancelConsultation", &id, json!({"reason": "x"})).await;
        assert_eq!(cancel.code(), Some("NOT_FOUND"));
        assert_eq!(prescribe(&app, who, &id).await.code(), Some("NOT_FOUND"));
        assert_eq!(pay(&app, who, &id, None).await.code(), Some("NOT_FOUND"));
        assert_eq!(flag(who).await.code(), Some("NOT_FOUND"));
        let listed = app
            .gql(
                Some(&who.access),
                "{ consultations { totalCount } }",
                json!({}),
            )
            .await;
        assert!(
            listed.code() == Some("FORBIDDEN") || listed.data()["consultations"]["totalCount"] == 0,
            "{} lists nothing",
            who.email
        );
    }
    // The clinic's API client (a hospital information system) has no part in consultations.
    let client = app
        .gql(
            Some(&c.admin.access),
            "mutation($i: CreateApiClientInput!) { createApiClient(input: $i) { token } }",
            json!({"i": {"organizationId": c.org, "name": "HIS", "scopes": ["blood-requests:read", "reports:read"]}}),
        )
        .await;
    let token = client.data()["createApiClient"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    let by_client = app
        .gql(Some(&token), "{ consultations { totalCount } }", json!({}))
        .await;
    assert_eq!(by_client.code(), Some("FORBIDDEN"));
    let booked_by_client = app
        .gql(
            Some(&token),
            "mutation($i: BookConsultationInput!) { bookConsultation(input: $i) { consultation { id } } }",
            json!({"i": {"doctorId": c.doctor_id, "scheduledAt": at(2, 12, 0), "durationMinutes": 30, "consultationType": "VIDEO"}}),
        )
        .await;
    assert_eq!(booked_by_client.code(), Some("FORBIDDEN"));
    // The patient cannot act as the doctor; the clinic's admin reads but does not treat.
    let by_patient = act(&app, &c.patient, "confirmConsultation", &id, json!({})).await;
    assert_eq!(by_patient.code(), Some("FORBIDDEN"));
    assert_eq!(flag(&c.patient).await.code(), Some("FORBIDDEN"));
    let admin_reads = read(&app, &c.admin, &id).await;
    assert_eq!(
        admin_reads.data()["consultation"]["symptoms"],
        "fever for three days\nand a cough"
    );
    let admin_confirms = act(&app, &c.admin, "confirmConsultation", &id, json!({})).await;
    assert_eq!(admin_confirms.code(), Some("FORBIDDEN"));
    // Verifying doctors: super admins and the doctor's organization's admin only.
    let newcomer = app.signed_in("newcomer@clinic.example").await;
    app.add_member(&c.admin, &c.org, &newcomer.email, "DOCTOR")
        .await;
    let profile = create_profile(&app, &newcomer, Some(&c.org), "KMC-8008").await;
    assert_eq!(
        verify(&app, &other_admin, &profile).await.code(),
        Some("FORBIDDEN")
    );
    assert_eq!(
        verify(&app, &c.patient, &profile).await.code(),
        Some("FORBIDDEN")
    );
    assert_eq!(
        verify(&app, &newcomer, &profile).await.code(),
        Some("FORBIDDEN")
    );
    verify(&app, &c.root, &profile).await.data();
    // Refusals are audited as failures.
    assert!(
        app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'consultation.confirm' AND outcome = 'FAILURE'")
            .await
            >= 5
    );
}

#[tokio::test]
async fn a_critical_risk_flag_alerts_the_organizations_admins_and_doctors() {
    // Arrange
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let staff = c.add_staff(&app).await;
    let id = c.book(&app, &c.patient, &at(2, 10, 0)).await;
    confirm_and_start(&app, &c.doctor, &id).await;
    let flag = |severity: &str| {
        app.gql(
            Some(&c.doctor.access),
            "mutation($i: RaiseRiskFlagInput!) { raiseRiskFlag(input: $i) { riskFlag { id severity alertId } } }",
            json!({"i": {"consultationId": id, "riskType": "MEDICAL", "severity": severity,
                         "description": "Chest pain radiating to the left arm"}}),
        )
    };

    // Act
    let low = flag("LOW").await;
    let critical = flag("CRITICAL").await;

    // Assert
    assert!(low.data()["raiseRiskFlag"]["riskFlag"]["alertId"].is_null());
    let alert = critical.data()["raiseRiskFlag"]["riskFlag"]["alertId"].clone();
    assert!(alert.is_string());
    let admin_alerts = app
        .gql(
            Some(&c.admin.access),
            "{ alerts(filter: {kinds: [RISK_FLAG]}) { edges { node { id kind severity message } } } }",
            json!({}),
        )
        .await;
    let edges = admin_alerts.data()["alerts"]["edges"]
        .as_array()
        .expect("edges")
        .clone();
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0]["node"]["id"], alert);
    assert!(
        !edges[0]["node"]["message"]
            .as_str()
            .expect("message")
            .contains("Chest"),
        "no health data in the alert"
    );
    assert!(
        notification_kinds(&app, &c.admin)
            .await
            .contains(&"RISK_FLAG".to_string())
    );
    assert!(
        notification_kinds(&app, &c.doctor)
            .await
            .contains(&"RISK_FLAG".to_string())
    );
    assert!(
        !notification_kinds(&app, &staff)
            .await
            .contains(&"RISK_FLAG".to_string())
    );
    assert!(
        !notification_kinds(&app, &c.patient)
            .await
            .contains(&"RISK_FLAG".to_string())
    );
    let seen_by_doctor = app
        .gql(
            Some(&c.doctor.access),
            "query($id: ID!) { consultation(id: $id) { riskFlags { severity } } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        seen_by_doctor.data()["consultation"]["riskFlags"]
            .as_array()
            .expect("flags")
            .len(),
        2
    );
    let seen_by_patient = app
        .gql(
            Some(&c.patient.access),
            "query($id: ID!) { consultation(id: $id) { riskFlags { severity } } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        seen_by_patient.data()["consultation"]["riskFlags"],
        json!([])
    );
}

#[tokio::test]
async fn doctors_are_listed_by_filter_and_order_and_unverified_ones_stay_hidden() {
    // Arrange: two verified doctors with different fees, one unverified.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let cheap = app.signed_in("cheap@clinic.example").await;
    app.add_member(&c.admin, &c.org, &cheap.email, "DOCTOR")
        .await;
    let r = app
        .gql(
            Some(&cheap.access),
            "mutation($i: CreateDoctorProfileInput!) { createDoctorProfile(input: $i) { doctor { id } } }",
            json!({"i": {"organizationId": c.org, "licenseNumber": "KMC-4004", "specialization": "Dermatology",
                         "experienceYears": 3, "consultationFeeMinor": 20000, "currency": "INR"}}),
        )
        .await;
    let cheap_id = r.data()["createDoctorProfile"]["doctor"]["id"].clone();
    verify(&app, &c.admin, cheap_id.as_str().expect("id"))
        .await
        .data();
    let hidden = app.signed_in("hidden@example.com").await;
    create_profile(&app, &hidden, None, "KMC-5005").await;
    let duplicate = app.signed_in("dup@example.com").await;

    // Act
    let by_fee = app
        .gql(
            Some(&c.patient.access),
            "{ doctors(orderBy: {field: FEE, direction: ASC}) { totalCount edges { node { id specialization consultationFee { amountMinor } user { fullName lastLoginAt } } } } }",
            json!({}),
        )
        .await;
    let dermatology = app
        .gql(
            Some(&c.patient.access),
            "{ doctors(filter: {specialization: \"dermatology\", maxFeeMinor: 30000}) { totalCount } }",
            json!({}),
        )
        .await;
    let for_root = app
        .gql(
            Some(&c.root.access),
            "{ doctors { totalCount } }",
            json!({}),
        )
        .await;
    let same_license = app
        .gql(
            Some(&duplicate.access),
            "mutation($i: CreateDoctorProfileInput!) { createDoctorProfile(input: $i) { doctor { id } } }",
            json!({"i": {"licenseNumber": "kmc-4004", "specialization": "X", "experienceYears": 1,
                         "consultationFeeMinor": 1, "currency": "INR"}}),
        )
        .await;
    let not_a_member = app
        .gql(
            Some(&duplicate.access),
            "mutation($i: CreateDoctorProfileInput!) { createDoctorProfile(input: $i) { doctor { id } } }",
            json!({"i": {"organizationId": c.org, "licenseNumber": "KMC-6006", "specialization": "X",
                         "experienceYears": 1, "consultationFeeMinor": 1, "currency": "INR"}}),
        )
        .await;

    // Assert
    let list = &by_fee.data()["doctors"];
    assert_eq!(
        list["totalCount"], 2,
        "the unverified doctor is hidden from patients"
    );
    assert_eq!(list["edges"][0]["node"]["id"], cheap_id);
    assert!(
        list["edges"][0]["node"]["user"]["lastLoginAt"].is_null(),
        "a patient does not see when a doctor last signed in"
    );
    let own = app
        .gql(
            Some(&cheap.access),
            "{ myDoctorProfile { user { lastLoginAt } } }",
            json!({}),
        )
        .await;
    assert!(own.data()["myDoctorProfile"]["user"]["lastLoginAt"].is_string());
    assert_eq!(dermatology.data()["doctors"]["totalCount"], 1);
    assert_eq!(for_root.data()["doctors"]["totalCount"], 3);
    assert_eq!(same_license.field(), Some("input.licenseNumber"));
    assert_eq!(not_a_member.code(), Some("FORBIDDEN"));
}

#[tokio::test]
async fn a_doctor_updates_their_own_profile_and_stops_taking_bookings() {
    // Arrange
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let update = async |who: &Session, input: serde_json::Value| {
        app.gql(
            Some(&who.access),
            "mutation($i: UpdateDoctorProfileInput!) { updateDoctorProfile(input: $i) { doctor { id isAvailable consultationFee { amountMinor currency } experienceYears } } }",
            json!({"i": input}),
        )
        .await
    };

    // Act
    let updated = update(
        &c.doctor,
        json!({"consultationFeeMinor": 75000, "experienceYears": 9}),
    )
    .await;
    let bad = update(&c.doctor, json!({"experienceYears": 99})).await;
    let not_a_doctor = update(&c.patient, json!({"isAvailable": false})).await;
    let away = update(&c.doctor, json!({"isAvailable": false})).await;
    let slots = app
        .gql(
            Some(&c.patient.access),
            "query($d: ID!, $f: DateTime!, $t: DateTime!) { openSlots(doctorId: $d, from: $f, to: $t) { startsAt } }",
            json!({"d": c.doctor_id, "f": at(3, 9, 0), "t": at(3, 12, 0)}),
        )
        .await;
    let booking = book(&app, &c.patient, &c.doctor_id, &at(3, 10, 0), None).await;

    // Assert
    let d = &updated.data()["updateDoctorProfile"]["doctor"];
    assert_eq!(d["consultationFee"]["amountMinor"], 75000);
    assert_eq!(d["experienceYears"], 9);
    assert_eq!(bad.field(), Some("input.experienceYears"));
    assert_eq!(not_a_doctor.code(), Some("NOT_FOUND"));
    assert_eq!(
        away.data()["updateDoctorProfile"]["doctor"]["isAvailable"],
        false
    );
    assert_eq!(slots.data()["openSlots"], json!([]));
    assert_eq!(booking.field(), Some("input.doctorId"));
}

#[tokio::test]
async fn the_other_party_hears_of_each_change_over_the_websocket_at_once() {
    // Arrange: both parties subscribe to their notifications.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let stream = "subscription { notificationReceived { kind title body relatedEntityType relatedEntityId } }";
    let mut doctor_ws = lifeflow_tests::ws::connect_as(&app.base, &c.doctor.access).await;
    doctor_ws.subscribe("n", stream, json!({})).await;
    let mut patient_ws = lifeflow_tests::ws::connect_as(&app.base, &c.patient.access).await;
    patient_ws.subscribe("n", stream, json!({})).await;
    let arrives = lifeflow_tests::ws::ARRIVES;

    // Act and assert: the booking reaches the doctor, the confirmation the patient.
    let id = c.book(&app, &c.patient, &at(3, 10, 0)).await;
    let to_doctor = doctor_ws.next_data("n", arrives).await["notificationReceived"].clone();
    assert_eq!(to_doctor["kind"], "CONSULTATION_UPDATE");
    assert_eq!(to_doctor["relatedEntityType"], "consultation");
    assert_eq!(to_doctor["relatedEntityId"], json!(id));
    assert!(
        !to_doctor["body"].as_str().expect("body").contains("fever"),
        "no symptoms in a notification"
    );
    act(&app, &c.doctor, "confirmConsultation", &id, json!({}))
        .await
        .data();
    let to_patient = patient_ws.next_data("n", arrives).await["notificationReceived"].clone();
    assert_eq!(to_patient["kind"], "CONSULTATION_UPDATE");
    assert_eq!(to_patient["title"], "Consultation confirmed");
}

#[tokio::test]
async fn a_patient_cannot_record_their_own_consultation_as_paid_and_the_clinic_can() {
    // Arrange: a completed consultation.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let id = c.book(&app, &c.patient, &at(2, 10, 0)).await;
    confirm_and_start(&app, &c.doctor, &id).await;
    act(
        &app,
        &c.doctor,
        "completeConsultation",
        &id,
        json!({"diagnosis": "Seasonal allergy"}),
    )
    .await
    .data();
    let pay_as = async |who: &Session, amount: i64| {
        app.gql(
            Some(&who.access),
            "mutation($i: RecordPaymentInput!) { recordPayment(input: $i) { payment { id status amount { amountMinor } } } }",
            json!({"i": {"consultationId": id, "amountMinor": amount, "currency": "INR", "method": "CASH"}}),
        )
        .await
    };

    // Act
    let by_patient = pay_as(&c.patient, 1).await;
    let by_patient_in_full = pay_as(&c.patient, 50_000).await;
    let payments_after_patient = app.count("SELECT COUNT(*) FROM payments").await;
    let by_clinic = pay_as(&c.admin, 50_000).await;

    // Assert
    for r in [&by_patient, &by_patient_in_full] {
        assert_eq!(r.code(), Some("FORBIDDEN"), "{}", r.body);
    }
    assert_eq!(payments_after_patient, 0, "the refusals wrote nothing");
    let payment = &by_clinic.data()["recordPayment"]["payment"];
    assert_eq!(payment["status"], "SUCCEEDED");
    assert_eq!(payment["amount"]["amountMinor"], 50_000);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'payment.record' AND outcome = 'FAILURE'")
            .await,
        2
    );
}

#[tokio::test]
async fn after_a_doctor_leaves_the_organization_their_bookings_no_longer_go_to_it() {
    // Arrange: a booking made while the doctor practises at the clinic.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let before = c.book(&app, &c.patient, &at(2, 10, 0)).await;
    let member_op = async |op: &str, input_type: &str, extra: serde_json::Value| {
        let mut input = json!({"organizationId": c.org, "userId": c.doctor.user_id});
        if let Some(role) = extra.get("role") {
            input["role"] = role.clone();
        }
        app.gql(
            Some(&c.admin.access),
            &format!("mutation($i: {input_type}!) {{ {op}(input: $i) {{ membership {{ id }} }} }}"),
            json!({"i": input}),
        )
        .await
        .data()
        .clone()
    };
    let profile_org = async || {
        let r = app
            .gql(
                Some(&c.doctor.access),
                "query($id: ID!) { doctor(id: $id) { organization { id } } }",
                json!({"id": c.doctor_id}),
            )
            .await;
        r.data()["doctor"]["organization"]["id"].clone()
    };
    let attach = async || {
        app.gql(
            Some(&c.doctor.access),
            "mutation($i: UpdateDoctorProfileInput!) { updateDoctorProfile(input: $i) { doctor { organization { id } } } }",
            json!({"i": {"organizationId": c.org}}),
        )
        .await
    };
    let clinic_count = async || {
        let r = app
            .gql(
                Some(&c.admin.access),
                "{ consultations { totalCount } }",
                json!({}),
            )
            .await;
        r.data()["consultations"]["totalCount"].clone()
    };

    // Act: the clinic removes the doctor, and the patient books them again.
    member_op("removeMember", "RemoveMemberInput", json!({})).await;
    let detached = profile_org().await;
    let after = c.book(&app, &c.patient, &at(3, 10, 0)).await;
    let attach_as_outsider = attach().await;

    // Assert: the new booking is not the clinic's; the earlier one still is.
    assert!(detached.is_null(), "{detached}");
    assert_eq!(clinic_count().await, 1);
    assert_eq!(
        read(&app, &c.admin, &before).await.data()["consultation"]["id"],
        before.as_str()
    );
    assert_eq!(read(&app, &c.admin, &after).await.code(), Some("NOT_FOUND"));
    assert_eq!(
        read(&app, &c.patient, &after).await.data()["consultation"]["id"],
        after.as_str()
    );
    assert_eq!(attach_as_outsider.code(), Some("FORBIDDEN"));

    // Act and assert: re-added as a DOCTOR and re-attached, bookings are the clinic's again;
    // moved to another role, the profile is detached once more.
    app.add_member(&c.admin, &c.org, &c.doctor.email, "DOCTOR")
        .await;
    assert!(
        profile_org().await.is_null(),
        "re-adding does not attach by itself"
    );
    let attached = attach().await;
    assert_eq!(
        attached.data()["updateDoctorProfile"]["doctor"]["organization"]["id"],
        c.org.as_str()
    );
    c.book(&app, &c.patient, &at(4, 10, 0)).await;
    assert_eq!(clinic_count().await, 2);
    member_op(
        "changeMemberRole",
        "ChangeMemberRoleInput",
        json!({"role": "STAFF"}),
    )
    .await;
    assert!(profile_org().await.is_null());
    c.book(&app, &c.patient, &at(5, 10, 0)).await;
    assert_eq!(clinic_count().await, 2);
}

#[tokio::test]
async fn every_caller_against_payments_and_attaching_a_doctor_profile() {
    // Arrange: a cancelled consultation (a payment for it fails on the business rule once
    // allowed), a refunded payment (a second refund likewise), and a doctor attached to the
    // clinic (attaching again changes nothing).
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let staff = c.add_staff(&app).await;
    let other_admin = app.signed_in("admin@elsewhere.example").await;
    let elsewhere = app
        .approved_org(&c.root, &other_admin, "ELSEWHERE", "HOSPITAL")
        .await;
    let stranger = app.signed_in("stranger@example.com").await;
    let cancelled = c.book(&app, &c.patient, &at(2, 10, 0)).await;
    act(
        &app,
        &c.doctor,
        "cancelConsultation",
        &cancelled,
        json!({"reason": "ill"}),
    )
    .await
    .data();
    let done = c.book(&app, &c.patient, &at(2, 12, 0)).await;
    confirm_and_start(&app, &c.doctor, &done).await;
    act(
        &app,
        &c.doctor,
        "completeConsultation",
        &done,
        json!({"diagnosis": "d"}),
    )
    .await
    .data();
    let payment =
        pay(&app, &c.admin, &done, None).await.data()["recordPayment"]["payment"]["id"].clone();
    let refund = json!({"i": {"paymentId": payment, "reason": "desk error"}});
    app.gql(
        Some(&c.admin.access),
        &mutation("refundPayment", "RefundPaymentInput", "payment { id }"),
        refund.clone(),
    )
    .await
    .data();
    let tokens = [
        None,
        Some(stranger.access.clone()),
        Some(c.patient.access.clone()),
        Some(c.doctor.access.clone()),
        Some(c.admin.access.clone()),
        Some(staff.access.clone()),
        Some(other_admin.access.clone()),
        Some(c.root.access.clone()),
    ];
    let names = [
        "anonymous",
        "stranger",
        "patient",
        "doctor",
        "clinic admin",
        "clinic staff",
        "other admin",
        "super admin",
    ];

    // Act and assert
    //                                                   anon stranger pat doc adm staff other SA
    let rows: Vec<Row<8>> = vec![
        (
            "recordPayment",
            mutation("recordPayment", "RecordPaymentInput", "payment { id }"),
            json!({"i": {"consultationId": cancelled, "amountMinor": 50000, "currency": "INR", "method": "UPI"}}),
            [U, N, F, A, A, N, N, N],
        ),
        (
            "refundPayment",
            mutation("refundPayment", "RefundPaymentInput", "payment { id }"),
            refund,
            [U, N, F, A, A, N, N, N],
        ),
        (
            "updateDoctorProfile with the clinic",
            mutation(
                "updateDoctorProfile",
                "UpdateDoctorProfileInput",
                "doctor { id }",
            ),
            json!({"i": {"organizationId": c.org}}),
            [U, F, F, A, F, F, F, F],
        ),
        (
            "updateDoctorProfile with another organization",
            mutation(
                "updateDoctorProfile",
                "UpdateDoctorProfileInput",
                "doctor { id }",
            ),
            json!({"i": {"organizationId": elsewhere}}),
            [U, F, F, F, F, F, F, F],
        ),
    ];
    Matrix::new(names, tokens.to_vec())
        .telling_not_found_apart()
        .assert(&app, &rows)
        .await;
    assert_eq!(app.count("SELECT COUNT(*) FROM payments").await, 1);
}

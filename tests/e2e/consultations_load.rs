//! Consultations under concurrency and at length: no double-booking, and a page of
//! consultations costs the same statements whatever its length.

use futures_util::future::join_all;
use lifeflow_tests::{fixtures::care::*, *};
use serde_json::json;

#[tokio::test]
async fn fifty_patients_booking_the_same_slot_at_once_get_exactly_one_booking() {
    // Arrange: fifty patients.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let patients = join_all((0..50).map(|i| {
        let app = &app;
        async move { app.signed_in(&format!("patient{i}@example.com")).await }
    }))
    .await;
    let slot = at(5, 10, 0);

    // Act
    let results = join_all(
        patients
            .iter()
            .map(|p| book(&app, p, &c.doctor_id, &slot, None)),
    )
    .await;

    // Assert
    let booked = results.iter().filter(|r| r.code().is_none()).count();
    let conflicts = results
        .iter()
        .filter(|r| r.code() == Some("CONFLICT"))
        .count();
    let other: Vec<_> = results
        .iter()
        .filter(|r| !matches!(r.code(), None | Some("CONFLICT")))
        .map(|r| r.body.clone())
        .collect();
    assert!(other.is_empty(), "unexpected answers: {other:?}");
    assert_eq!(booked, 1);
    assert_eq!(conflicts, 49);
    assert_eq!(app.count("SELECT COUNT(*) FROM consultations").await, 1);
}

#[tokio::test]
async fn the_same_patient_booking_two_doctors_at_once_gets_one_consultation() {
    // Arrange: two doctors, one patient, one time.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let second_doctor = app.signed_in("second.doctor@clinic.example").await;
    app.add_member(&c.admin, &c.org, &second_doctor.email, "DOCTOR")
        .await;
    let second = create_profile(&app, &second_doctor, Some(&c.org), "KMC-2002").await;
    verify(&app, &c.admin, &second).await.data();
    all_week(&app, &second_doctor, "UTC").await;
    let slot = at(5, 10, 0);

    // Act
    let doctors = [c.doctor_id.clone(), second.clone()];
    let results =
        join_all((0..10).map(|i| book(&app, &c.patient, &doctors[i % 2], &slot, None))).await;

    // Assert
    let booked = results.iter().filter(|r| r.code().is_none()).count();
    assert_eq!(booked, 1);
    assert!(
        results
            .iter()
            .all(|r| matches!(r.code(), None | Some("CONFLICT")))
    );
}

const PAGE: &str = "{ consultations(first: 50) { totalCount edges { node { id status symptoms \
    doctor { id specialization user { fullName } } patient { fullName } \
    prescriptions { id medications { name } } rating { rating } } } } }";

#[tokio::test]
async fn a_page_of_consultations_costs_the_same_statements_for_two_or_twelve() {
    // Arrange: consultations on different days with prescriptions, seen by their doctor.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let second_patient = app.signed_in("second@example.com").await;
    let mut ids = Vec::new();
    for day in 1..=2 {
        ids.push(c.book(&app, &c.patient, &at(day, 10, 0)).await);
    }
    confirm_and_start(&app, &c.doctor, &ids[0]).await;
    prescribe(&app, &c.doctor, &ids[0]).await.data();
    let few = app.gql(Some(&c.doctor.access), PAGE, json!({})).await;

    for day in 3..=12 {
        let who = if day % 2 == 0 {
            &c.patient
        } else {
            &second_patient
        };
        ids.push(c.book(&app, who, &at(day, 11, 0)).await);
    }
    for id in &ids[5..9] {
        confirm_and_start(&app, &c.doctor, id).await;
        prescribe(&app, &c.doctor, id).await.data();
    }

    // Act
    let many = app.gql(Some(&c.doctor.access), PAGE, json!({})).await;

    // Assert
    assert_eq!(few.data()["consultations"]["totalCount"], 2);
    assert_eq!(many.data()["consultations"]["totalCount"], 12);
    let edges = many.data()["consultations"]["edges"]
        .as_array()
        .expect("edges")
        .clone();
    assert!(
        edges
            .iter()
            .all(|e| e["node"]["doctor"]["user"]["fullName"].is_string())
    );
    assert!(
        edges
            .iter()
            .all(|e| e["node"]["patient"]["fullName"].is_string())
    );
    assert_eq!(
        edges
            .iter()
            .filter(|e| !e["node"]["prescriptions"]
                .as_array()
                .expect("list")
                .is_empty())
            .count(),
        5
    );
    assert_eq!(
        few.statements(),
        many.statements(),
        "statements depend on the query's depth, not the page's length"
    );
}

#[tokio::test]
async fn the_database_itself_refuses_an_overlapping_booking_written_around_the_service() {
    // Arrange: one booking made through the API.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let id = c.book(&app, &c.patient, &at(5, 10, 0)).await;
    let other = app.signed_in("other@example.com").await;
    let mut row = consultation_row(&app, &id).await;

    // Act: a second row for the same doctor, overlapping, inserted directly.
    row.patient_id = uuid::Uuid::parse_str(&other.user_id).expect("uuid");
    row.scheduled_at += chrono::Duration::minutes(15);
    row.ends_at += chrono::Duration::minutes(15);
    row.blocked_until += chrono::Duration::minutes(15);
    let overlapping = insert_around_the_service(&app, row.clone()).await;
    row.status = entity::ConsultationStatus::Cancelled;
    let cancelled = insert_around_the_service(&app, row).await;

    // Assert
    assert!(
        overlapping.is_err(),
        "the constraint holds without the service"
    );
    assert!(cancelled.is_ok(), "a cancelled booking holds no time");
}

#[tokio::test]
async fn ten_identical_retries_at_once_book_and_pay_once_and_all_get_that_result() {
    // Arrange
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let slot = at(5, 10, 0);

    // Act: a client that retries aggressively sends the same booking ten times at once, and
    // the clinic's desk the same payment.
    let booked =
        join_all((0..10).map(|_| book(&app, &c.patient, &c.doctor_id, &slot, Some("retry-key"))))
            .await;
    let id = consultation_of(&booked[0], "bookConsultation")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let paid = join_all((0..10).map(|_| pay(&app, &c.admin, &id, Some("pay-key")))).await;

    // Assert
    for r in &booked {
        assert_eq!(
            consultation_of(r, "bookConsultation")["id"],
            json!(id),
            "{:?}",
            r.body
        );
    }
    let payment = paid[0].data()["recordPayment"]["payment"]["id"].clone();
    for r in &paid {
        assert_eq!(
            r.data()["recordPayment"]["payment"]["id"],
            payment,
            "{:?}",
            r.body
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM consultations").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM payments").await, 1);
}

#[tokio::test]
async fn a_bookings_statements_are_counted_inside_its_transaction_and_do_not_vary() {
    // Arrange
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;

    // Act: two bookings of different slots.
    let first = book(&app, &c.patient, &c.doctor_id, &at(5, 10, 0), None).await;
    let second = book(&app, &c.patient, &c.doctor_id, &at(6, 10, 0), None).await;

    // Assert: BEGIN, the doctor, the rules, two overlap checks, the insert, the
    // notification, the audit row and COMMIT are all in the count, and it is the same.
    first.data();
    second.data();
    assert!(first.statements() >= 9, "counted {}", first.statements());
    assert_eq!(first.statements(), second.statements());
}

//! Ratings (DESIGN §7.8): the patient of a completed consultation rates it once, and the
//! doctor's mean and count follow in the same transaction, exactly, under concurrency too.

use futures_util::future::join_all;
use lifeflow_tests::{
    fixtures::care::*,
    matrix::{Matrix, Outcome::*, Row, mutation},
    *,
};
use serde_json::json;
use uuid::Uuid;

async fn doctor_rating(app: &TestApp, who: &Session, doctor: &str) -> (f64, i64) {
    let r = app
        .gql(
            Some(&who.access),
            "query($id: ID!) { doctor(id: $id) { rating ratingCount } }",
            json!({"id": doctor}),
        )
        .await;
    let d = &r.data()["doctor"];
    (
        d["rating"].as_f64().expect("rating"),
        d["ratingCount"].as_i64().expect("count"),
    )
}

#[tokio::test]
async fn a_patient_rates_a_completed_consultation_once_and_the_doctors_mean_follows() {
    // Arrange: two completed consultations of the same doctor.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let first = c.completed(&app, &c.patient, &at(1, 10, 0)).await;
    let second = c.completed(&app, &c.patient, &at(2, 10, 0)).await;
    assert_eq!(
        doctor_rating(&app, &c.patient, &c.doctor_id).await,
        (0.0, 0)
    );

    // Act
    let five = rate(&app, &c.patient, &first, 5, Some("Kind and thorough")).await;
    let four = rate(&app, &c.patient, &second, 4, None).await;
    let again = rate(&app, &c.patient, &first, 1, None).await;

    // Assert
    let rated = &five.data()["rateConsultation"]["rating"];
    assert_eq!(rated["rating"], 5);
    assert_eq!(rated["comment"], "Kind and thorough");
    assert_eq!(rated["doctor"]["ratingCount"], 1);
    assert_eq!(
        four.data()["rateConsultation"]["rating"]["doctor"]["rating"],
        4.5
    );
    assert_eq!(again.code(), Some("CONFLICT"), "{:?}", again.body);
    assert_eq!(
        doctor_rating(&app, &c.patient, &c.doctor_id).await,
        (4.5, 2)
    );
    let seen = app
        .gql(
            Some(&c.doctor.access),
            "query($id: ID!) { consultation(id: $id) { rating { rating comment } } }",
            json!({"id": first}),
        )
        .await;
    assert_eq!(
        seen.data()["consultation"]["rating"],
        json!({"rating": 5, "comment": "Kind and thorough"})
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM consultation_ratings").await,
        2
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM consultation_ratings WHERE comment LIKE '%thorough%'")
            .await,
        0,
        "the comment is stored sealed"
    );
}

#[tokio::test]
async fn rating_someone_elses_an_unfinished_or_an_out_of_range_consultation_is_refused() {
    // Arrange: a completed consultation and a booked one.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let stranger = app.signed_in("stranger@example.com").await;
    let done = c.completed(&app, &c.patient, &at(1, 10, 0)).await;
    let booked = c.book(&app, &c.patient, &at(2, 10, 0)).await;

    // Act
    let by_stranger = rate(&app, &stranger, &done, 5, None).await;
    let by_doctor = rate(&app, &c.doctor, &done, 5, None).await;
    let by_admin = rate(&app, &c.admin, &done, 5, None).await;
    let unfinished = rate(&app, &c.patient, &booked, 5, None).await;
    let zero = rate(&app, &c.patient, &done, 0, None).await;
    let six = rate(&app, &c.patient, &done, 6, None).await;

    // Assert
    assert_eq!(by_stranger.code(), Some("NOT_FOUND"));
    assert_eq!(by_doctor.code(), Some("FORBIDDEN"));
    assert_eq!(by_admin.code(), Some("FORBIDDEN"));
    assert_eq!(unfinished.code(), Some("INVALID_TRANSITION"));
    for r in [&zero, &six] {
        assert_eq!(r.code(), Some("BAD_USER_INPUT"));
        assert_eq!(
            r.body.pointer("/errors/0/extensions/field"),
            Some(&json!("input.rating"))
        );
    }
    assert_eq!(
        doctor_rating(&app, &c.patient, &c.doctor_id).await,
        (0.0, 0)
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM consultation_ratings").await,
        0
    );
    assert!(
        app.count(
            "SELECT COUNT(*) FROM audit_logs WHERE action = 'consultation.rate' AND outcome = 'FAILURE'"
        )
        .await
            >= 6
    );
}

#[tokio::test]
async fn twenty_ratings_at_once_of_one_doctors_consultations_leave_the_exact_mean() {
    // Arrange: twenty completed consultations of one doctor, each of its own patient.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let profile = doctor_profile(
        &app,
        Uuid::parse_str(&c.doctor.user_id).expect("uuid"),
        None,
        "unused",
        "unused",
    )
    .await;
    let patients = join_all((0..20).map(|i| {
        let app = &app;
        async move { app.signed_in(&format!("rater{i}@example.com")).await }
    }))
    .await;
    let mut ids = Vec::new();
    for (i, p) in patients.iter().enumerate() {
        ids.extend(completed_in_db(&app, &profile, p, i, 1).await);
    }
    let ratings: Vec<i64> = (0..20)
        .map(|i| [5, 4, 5, 3, 2, 4, 5, 1, 4, 5][i % 10])
        .collect();

    // Act
    let results = join_all(
        patients
            .iter()
            .zip(&ids)
            .zip(&ratings)
            .map(|((p, id), r)| rate(&app, p, id, *r, None)),
    )
    .await;

    // Assert
    for r in &results {
        assert!(r.code().is_none(), "{:?}", r.body);
    }
    let sum: i64 = ratings.iter().sum();
    assert_eq!(
        doctor_rating(&app, &c.patient, &c.doctor_id).await,
        (sum as f64 / 20.0, 20)
    );
    assert_eq!(
        app.count("SELECT rating_total FROM doctors WHERE rating_count = 20")
            .await,
        sum
    );
}

#[tokio::test]
async fn every_caller_against_rating_a_consultation() {
    // Arrange: a booked consultation (rating it fails on the state machine once allowed).
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let stranger = app.signed_in("stranger@example.com").await;
    let other_admin = app.signed_in("admin@elsewhere.example").await;
    app.approved_org(&c.root, &other_admin, "ELSEWHERE", "HOSPITAL")
        .await;
    let booked = c.book(&app, &c.patient, &at(2, 10, 0)).await;
    let client = app
        .gql(
            Some(&c.admin.access),
            "mutation($i: CreateApiClientInput!) { createApiClient(input: $i) { token } }",
            json!({"i": {"organizationId": c.org, "name": "HIS", "scopes": ["blood-requests:read"]}}),
        )
        .await;
    let client = client.data()["createApiClient"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    let tokens = vec![
        None,
        Some(stranger.access.clone()),
        Some(c.patient.access.clone()),
        Some(c.doctor.access.clone()),
        Some(c.admin.access.clone()),
        Some(other_admin.access.clone()),
        Some(c.root.access.clone()),
        Some(client),
    ];
    let names = [
        "anonymous",
        "stranger",
        "patient",
        "doctor",
        "clinic admin",
        "other admin",
        "super admin",
        "api client",
    ];

    // Act and assert
    //                                  anon stranger pat doc adm other SA client
    let rows: Vec<Row<8>> = vec![(
        "rateConsultation",
        mutation("rateConsultation", "RateConsultationInput", "rating { id }"),
        json!({"i": {"consultationId": booked, "rating": 5}}),
        [U, N, A, F, F, N, N, F],
    )];
    Matrix::new(names, tokens)
        .telling_not_found_apart()
        .assert(&app, &rows)
        .await;
}

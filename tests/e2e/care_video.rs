//! Video join links (DESIGN §7.8): a VIDEO consultation's room link from the configured
//! provider, for its two parties only, from shortly before the start until the end.

use chrono::{Duration, Utc};
use lifeflow_tests::{fixtures::care::*, *};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};
use uuid::Uuid;

const TEMPLATE: &str = "https://meet.example/lifeflow-{room}";

async fn with_provider() -> TestApp {
    spawn_app_with(&[("VIDEO_ROOM_URL_TEMPLATE", TEMPLATE)]).await
}

/// Moves a consultation so that it starts `minutes` from now (negative: in the past) and
/// lasts half an hour, straight in the database.
async fn starting_in(app: &TestApp, id: &str, minutes: i64) {
    use entity::consultation;
    let start = Utc::now() + Duration::minutes(minutes);
    consultation::Entity::update_many()
        .col_expr(consultation::Column::ScheduledAt, Expr::value(start))
        .col_expr(
            consultation::Column::EndsAt,
            Expr::value(start + Duration::minutes(30)),
        )
        .col_expr(
            consultation::Column::BlockedUntil,
            Expr::value(start + Duration::minutes(30)),
        )
        .filter(consultation::Column::Id.eq(Uuid::parse_str(id).expect("uuid")))
        .exec(&app.db)
        .await
        .expect("moved");
}

async fn join_url(app: &TestApp, who: &Session, id: &str) -> Value {
    let r = app
        .gql(
            Some(&who.access),
            "query($id: ID!) { consultation(id: $id) { joinUrl } }",
            json!({"id": id}),
        )
        .await;
    r.data()["consultation"]["joinUrl"].clone()
}

#[tokio::test]
async fn the_patient_and_the_doctor_get_the_same_unguessable_link_shortly_before_the_start() {
    // Arrange: a video consultation starting in ten minutes, and another one.
    let app = with_provider().await;
    let c = Clinic::new(&app).await;
    let id = c.book(&app, &c.patient, &at(2, 10, 0)).await;
    let other = c.book(&app, &c.patient, &at(3, 10, 0)).await;
    act(&app, &c.doctor, "confirmConsultation", &other, json!({}))
        .await
        .data();
    starting_in(&app, &id, 10).await;

    // Act
    let by_patient = join_url(&app, &c.patient, &id).await;
    let by_doctor = join_url(&app, &c.doctor, &id).await;
    let by_admin = join_url(&app, &c.admin, &id).await;
    starting_in(&app, &id, 300).await;
    starting_in(&app, &other, 5).await;
    let other_link = join_url(&app, &c.patient, &other).await;

    // Assert
    let link = by_patient.as_str().expect("the patient has a link");
    assert!(link.starts_with("https://meet.example/lifeflow-"), "{link}");
    let room = link.trim_start_matches("https://meet.example/lifeflow-");
    assert_eq!(room.len(), 32);
    assert!(!link.contains(&id), "the room is not the consultation's id");
    assert!(!link.contains(&id.replace('-', "")));
    assert_eq!(by_doctor, by_patient, "both parties join the same room");
    assert!(
        by_admin.is_null(),
        "the clinic's admin is not a party to the call"
    );
    assert!(other_link.is_string());
    assert_ne!(other_link, by_patient, "each consultation has its own room");
}

#[tokio::test]
async fn there_is_no_link_too_early_after_the_end_when_cancelled_or_for_another_kind() {
    // Arrange
    let app = with_provider().await;
    let c = Clinic::new(&app).await;
    let early = c.book(&app, &c.patient, &at(2, 10, 0)).await;
    let started = c.book(&app, &c.patient, &at(3, 10, 0)).await;
    let ended = c.book(&app, &c.patient, &at(4, 10, 0)).await;
    let cancelled = c.book(&app, &c.patient, &at(5, 10, 0)).await;
    let in_person = book_with(
        &app,
        &c.patient,
        json!({"doctorId": c.doctor_id, "scheduledAt": at(6, 10, 0), "durationMinutes": 30,
               "consultationType": "IN_PERSON"}),
    )
    .await;
    let in_person = consultation_of(&in_person, "bookConsultation")["id"]
        .as_str()
        .expect("id")
        .to_string();
    act(
        &app,
        &c.patient,
        "cancelConsultation",
        &cancelled,
        json!({"reason": "better"}),
    )
    .await
    .data();
    starting_in(&app, &early, 20).await;
    starting_in(&app, &ended, -70).await;
    starting_in(&app, &cancelled, 5).await;
    starting_in(&app, &in_person, -12).await;

    // Act / Assert: 20 minutes before is before the 15-minute window; after the end,
    // cancelled, or not a video consultation, there is no link.
    assert!(join_url(&app, &c.patient, &early).await.is_null());
    assert!(join_url(&app, &c.patient, &ended).await.is_null());
    assert!(join_url(&app, &c.doctor, &ended).await.is_null());
    assert!(join_url(&app, &c.patient, &cancelled).await.is_null());
    assert!(join_url(&app, &c.patient, &in_person).await.is_null());
    // 20 minutes into a half-hour video consultation is inside the window.
    starting_in(&app, &in_person, 300).await;
    starting_in(&app, &started, -20).await;
    assert!(join_url(&app, &c.patient, &started).await.is_string());
    assert!(join_url(&app, &c.doctor, &started).await.is_string());
}

#[tokio::test]
async fn the_window_follows_the_setting_and_no_provider_means_no_link() {
    // Arrange: one server opening rooms an hour early, one with no provider.
    let wide = spawn_app_with(&[
        ("VIDEO_ROOM_URL_TEMPLATE", TEMPLATE),
        ("VIDEO_JOIN_EARLY_MINUTES", "60"),
    ])
    .await;
    let bare = spawn_app().await;
    let mut ids = Vec::new();
    for app in [&wide, &bare] {
        let c = Clinic::new(app).await;
        let id = c.book(app, &c.patient, &at(2, 10, 0)).await;
        starting_in(app, &id, 45).await;
        ids.push((c, id));
    }

    // Act
    let (c, id) = &ids[0];
    let opened_early = join_url(&wide, &c.patient, id).await;
    let (c, id) = &ids[1];
    let unconfigured = join_url(&bare, &c.patient, id).await;

    // Assert
    assert!(opened_early.is_string());
    assert!(unconfigured.is_null());
}

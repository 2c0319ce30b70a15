//! Care calls (DESIGN §7.8, seed 002 `call_records`): an organization's care staff schedule
//! outreach and follow-up calls and record each once made; the list costs the same
//! statements for any length.

use chrono::{Duration, Utc};
use lifeflow_tests::{
    fixtures::care::*,
    matrix::{Outcome::*, Row, mutation},
    *,
};
use serde_json::{Value, json};

const NODE: &str = "id callType status scheduledAt startedAt endedAt durationSeconds notes \
    outcome followUpDate patient { fullName } scheduledBy { id } recordedBy { id }";

fn rfc(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn schedule(app: &TestApp, who: &str, org: &str, patient: &str, minutes: i64) -> Gql {
    app.gql(
        Some(who),
        &format!(
            "mutation($i: ScheduleCareCallInput!) {{ scheduleCareCall(input: $i) {{ careCall {{ {NODE} }} }} }}"
        ),
        json!({"i": {"organizationId": org, "patientId": patient, "callType": "OUTREACH",
                     "scheduledAt": rfc(Utc::now() + Duration::minutes(minutes)),
                     "notes": "Remind about the HbA1c test"}}),
    )
    .await
}

fn id_of(r: &Gql) -> String {
    r.data()["scheduleCareCall"]["careCall"]["id"]
        .as_str()
        .expect("call id")
        .to_string()
}

async fn record(app: &TestApp, who: &str, id: &str, input: Value) -> Gql {
    let mut input = input;
    input["careCallId"] = json!(id);
    app.gql(
        Some(who),
        &format!(
            "mutation($i: RecordCareCallInput!) {{ recordCareCall(input: $i) {{ careCall {{ {NODE} }} }} }}"
        ),
        json!({"i": input}),
    )
    .await
}

async fn list(app: &TestApp, who: &str, filter: Value, first: i64) -> Gql {
    app.gql(
        Some(who),
        &format!(
            "query($f: CareCallFilter!) {{ careCalls(filter: $f, first: {first}) {{ totalCount edges {{ node {{ {NODE} }} }} }} }}"
        ),
        json!({"f": filter}),
    )
    .await
}

/// The clinic and one of its STAFF.
async fn clinic_with_staff(app: &TestApp) -> (Clinic, Session) {
    let c = Clinic::new(app).await;
    let staff = c.add_staff(app).await;
    (c, staff)
}

#[tokio::test]
async fn care_staff_schedule_a_call_and_record_how_it_went_once() {
    // Arrange
    let app = spawn_app().await;
    let (c, staff) = clinic_with_staff(&app).await;
    let started = Utc::now() - Duration::minutes(15);
    let tomorrow = (Utc::now() + Duration::days(1)).date_naive().to_string();

    // Act
    let scheduled = schedule(&app, &staff.access, &c.org, &c.patient.user_id, 60).await;
    let id = id_of(&scheduled);
    let recorded = record(
        &app,
        &c.doctor.access,
        &id,
        json!({"status": "COMPLETED", "startedAt": rfc(started),
               "endedAt": rfc(started + Duration::minutes(10)), "outcome": "SUCCESSFUL",
               "notes": "Test booked for Friday", "followUpDate": tomorrow}),
    )
    .await;
    let again = record(&app, &staff.access, &id, json!({"status": "NO_ANSWER"})).await;
    let completed = list(
        &app,
        &c.admin.access,
        json!({"organizationId": c.org, "status": "COMPLETED", "patientId": c.patient.user_id}),
        10,
    )
    .await;
    let open = list(
        &app,
        &c.admin.access,
        json!({"organizationId": c.org, "status": "SCHEDULED"}),
        10,
    )
    .await;

    // Assert
    let s = &scheduled.data()["scheduleCareCall"]["careCall"];
    assert_eq!(s["status"], "SCHEDULED");
    assert_eq!(s["notes"], "Remind about the HbA1c test");
    assert_eq!(s["scheduledBy"]["id"], json!(staff.user_id));
    let r = &recorded.data()["recordCareCall"]["careCall"];
    assert_eq!(r["status"], "COMPLETED");
    assert_eq!(r["durationSeconds"], 600);
    assert_eq!(r["outcome"], "SUCCESSFUL");
    assert_eq!(r["notes"], "Test booked for Friday");
    assert_eq!(r["followUpDate"], json!(tomorrow));
    assert_eq!(r["recordedBy"]["id"], json!(c.doctor.user_id));
    assert_eq!(again.code(), Some("INVALID_TRANSITION"));
    assert_eq!(completed.data()["careCalls"]["totalCount"], 1);
    assert_eq!(
        completed.data()["careCalls"]["edges"][0]["node"]["patient"]["fullName"],
        "Test Person"
    );
    assert_eq!(open.data()["careCalls"]["totalCount"], 0);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM care_calls WHERE notes LIKE '%Friday%'")
            .await,
        0,
        "the notes are stored sealed"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_logs WHERE action LIKE 'care_call.%' AND outcome = 'SUCCESS' AND CAST(new_values AS TEXT) LIKE '%Friday%'")
            .await,
        0,
        "the audit trail holds no notes"
    );
}

#[tokio::test]
async fn outsiders_are_refused_and_a_record_must_fit_its_status() {
    // Arrange
    let app = spawn_app().await;
    let (c, staff) = clinic_with_staff(&app).await;
    let other_admin = app.signed_in("admin@elsewhere.example").await;
    app.approved_org(&c.root, &other_admin, "ELSEWHERE", "HOSPITAL")
        .await;
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
    let id = id_of(&schedule(&app, &staff.access, &c.org, &c.patient.user_id, 60).await);
    let now = Utc::now();

    // Act / Assert: outsiders neither schedule, record nor list.
    for who in [
        &c.patient.access,
        &other_admin.access,
        &c.root.access,
        &client,
    ] {
        let s = schedule(&app, who, &c.org, &c.patient.user_id, 60).await;
        assert_eq!(s.code(), Some("FORBIDDEN"), "{:?}", s.body);
        let r = record(&app, who, &id, json!({"status": "CANCELLED"})).await;
        assert_eq!(r.code(), Some("FORBIDDEN"), "{:?}", r.body);
        let l = list(&app, who, json!({"organizationId": c.org}), 10).await;
        assert_eq!(l.code(), Some("FORBIDDEN"), "{:?}", l.body);
    }
    // A record that does not fit its status, or a call that does not exist.
    let bad = [
        json!({"status": "COMPLETED"}),
        json!({"status": "SCHEDULED"}),
        json!({"status": "COMPLETED", "startedAt": rfc(now - Duration::minutes(5)),
               "endedAt": rfc(now - Duration::minutes(10))}),
        json!({"status": "COMPLETED", "startedAt": rfc(now),
               "endedAt": rfc(now + Duration::hours(1))}),
        json!({"status": "CANCELLED", "startedAt": rfc(now - Duration::minutes(5))}),
        json!({"status": "NO_ANSWER", "followUpDate": (now - Duration::days(2)).date_naive().to_string()}),
    ];
    for input in bad {
        let r = record(&app, &staff.access, &id, input.clone()).await;
        assert_eq!(r.code(), Some("BAD_USER_INPUT"), "{input}: {:?}", r.body);
    }
    let unknown_patient = schedule(
        &app,
        &staff.access,
        &c.org,
        &uuid::Uuid::now_v7().to_string(),
        60,
    )
    .await;
    assert_eq!(unknown_patient.code(), Some("BAD_USER_INPUT"));
    let unknown_call = record(
        &app,
        &staff.access,
        &uuid::Uuid::now_v7().to_string(),
        json!({"status": "CANCELLED"}),
    )
    .await;
    assert_eq!(unknown_call.code(), Some("NOT_FOUND"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM care_calls WHERE status = 'SCHEDULED'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_page_of_care_calls_costs_the_same_statements_for_two_or_twelve() {
    // Arrange: twelve calls to two patients, one recorded.
    let app = spawn_app().await;
    let (c, staff) = clinic_with_staff(&app).await;
    let other = app.signed_in("other.patient@example.com").await;
    let mut ids = Vec::new();
    for i in 0..12 {
        let patient = if i % 2 == 0 {
            &c.patient.user_id
        } else {
            &other.user_id
        };
        ids.push(id_of(
            &schedule(&app, &staff.access, &c.org, patient, 60 + i).await,
        ));
    }
    record(
        &app,
        &c.admin.access,
        &ids[0],
        json!({"status": "NO_ANSWER"}),
    )
    .await
    .data();
    let filter = json!({"organizationId": c.org});

    // Act
    let few = list(&app, &staff.access, filter.clone(), 2).await;
    let many = list(&app, &staff.access, filter, 12).await;

    // Assert
    let edges = many.data()["careCalls"]["edges"]
        .as_array()
        .expect("edges")
        .clone();
    assert_eq!(edges.len(), 12);
    assert_eq!(edges[0]["node"]["id"], json!(ids[0]), "soonest first");
    few.data();
    assert_eq!(
        few.statements(),
        many.statements(),
        "statements depend on the query's depth, not the page's length"
    );
}

#[tokio::test]
async fn every_caller_against_care_calls() {
    // Arrange: a call already recorded (recording it again fails on the state once allowed).
    let app = spawn_app().await;
    let (c, staff) = clinic_with_staff(&app).await;
    let id = id_of(&schedule(&app, &staff.access, &c.org, &c.patient.user_id, 60).await);
    record(&app, &staff.access, &id, json!({"status": "CANCELLED"}))
        .await
        .data();
    let stranger = app.signed_in("stranger@example.com").await;

    // Act and assert
    //                                             anon stranger pat doc adm staff SA
    let rows: Vec<Row<7>> = vec![
        (
            "careCalls",
            "query($f: CareCallFilter!) { careCalls(filter: $f) { totalCount } }".into(),
            json!({"f": {"organizationId": c.org}}),
            [U, F, F, A, A, A, F],
        ),
        (
            "scheduleCareCall with an unknown patient",
            mutation(
                "scheduleCareCall",
                "ScheduleCareCallInput",
                "careCall { id }",
            ),
            json!({"i": {"organizationId": c.org, "patientId": uuid::Uuid::now_v7().to_string(),
                         "callType": "FOLLOW_UP", "scheduledAt": rfc(Utc::now())}}),
            [U, F, F, A, A, A, F],
        ),
        (
            "recordCareCall",
            mutation("recordCareCall", "RecordCareCallInput", "careCall { id }"),
            json!({"i": {"careCallId": id, "status": "NO_ANSWER"}}),
            [U, F, F, A, A, A, F],
        ),
    ];
    c.worklist_matrix(&stranger, &staff)
        .telling_not_found_apart()
        .assert(&app, &rows)
        .await;
}

//! Medical history (DESIGN §7.8): written and read by the patient and the doctors they
//! consult, sealed at rest, every read audited.

use lifeflow_tests::{
    fixtures::care::*,
    matrix::{Matrix, Outcome::*, Row, mutation},
    *,
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

const HISTORY: &str = "patientId allergies conditions medications surgeries updatedById updatedAt";

async fn read_history(app: &TestApp, who: Option<&str>, patient: &str) -> Gql {
    app.gql(
        who,
        &format!("query($p: ID!) {{ medicalHistory(patientId: $p) {{ {HISTORY} }} }}"),
        json!({"p": patient}),
    )
    .await
}

async fn write_history(app: &TestApp, who: Option<&str>, patient: &str, lists: Value) -> Gql {
    let mut input = lists;
    input["patientId"] = json!(patient);
    app.gql(
        who,
        &format!(
            "mutation($i: UpdateMedicalHistoryInput!) {{ updateMedicalHistory(input: $i) {{ medicalHistory {{ {HISTORY} }} }} }}"
        ),
        json!({"i": input}),
    )
    .await
}

async fn api_client(app: &TestApp, c: &Clinic) -> String {
    let r = app
        .gql(
            Some(&c.admin.access),
            "mutation($i: CreateApiClientInput!) { createApiClient(input: $i) { token } }",
            json!({"i": {"organizationId": c.org, "name": "HIS", "scopes": ["blood-requests:read", "reports:read"]}}),
        )
        .await;
    r.data()["createApiClient"]["token"]
        .as_str()
        .expect("token")
        .to_string()
}

#[tokio::test]
async fn the_patient_and_their_doctor_write_and_read_the_history_and_every_read_is_audited() {
    // Arrange: a patient with a booked consultation.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    c.book(&app, &c.patient, &at(2, 10, 0)).await;
    let patient = c.patient.user_id.clone();

    // Act
    let empty = read_history(&app, Some(&c.patient.access), &patient).await;
    let by_patient = write_history(
        &app,
        Some(&c.patient.access),
        &patient,
        json!({"allergies": ["Penicillin", "  Peanuts "], "conditions": ["Asthma"]}),
    )
    .await;
    let by_doctor = write_history(
        &app,
        Some(&c.doctor.access),
        &patient,
        json!({"medications": ["Salbutamol inhaler"], "surgeries": ["Appendectomy (2015)"]}),
    )
    .await;
    let read_by_doctor = read_history(&app, Some(&c.doctor.access), &patient).await;
    let read_by_patient = read_history(&app, Some(&c.patient.access), &patient).await;

    // Assert
    let e = &empty.data()["medicalHistory"];
    assert_eq!(e["allergies"], json!([]));
    assert!(e["updatedAt"].is_null());
    by_patient.data();
    assert_eq!(
        by_doctor.data()["updateMedicalHistory"]["medicalHistory"]["updatedById"],
        json!(c.doctor.user_id)
    );
    for r in [&read_by_doctor, &read_by_patient] {
        let h = &r.data()["medicalHistory"];
        assert_eq!(h["allergies"], json!(["Penicillin", "Peanuts"]));
        assert_eq!(h["conditions"], json!(["Asthma"]));
        assert_eq!(h["medications"], json!(["Salbutamol inhaler"]));
        assert_eq!(h["surgeries"], json!(["Appendectomy (2015)"]));
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'medical_history.read'")
            .await,
        3,
        "every read is audited"
    );
    let by_doctor_reads = entity::audit_log::Entity::find()
        .filter(entity::audit_log::Column::Action.eq("medical_history.read"))
        .filter(
            entity::audit_log::Column::ActorUserId
                .eq(uuid::Uuid::parse_str(&c.doctor.user_id).expect("uuid")),
        )
        .count(&app.db)
        .await
        .expect("count");
    assert_eq!(by_doctor_reads, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM medical_histories WHERE allergies LIKE '%Penicillin%' OR surgeries LIKE '%Appendectomy%'")
            .await,
        0,
        "the lists are stored sealed"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'medical_history.update' AND outcome = 'SUCCESS' AND (CAST(new_values AS TEXT) LIKE '%Penicillin%' OR CAST(new_values AS TEXT) LIKE '%Asthma%')")
            .await,
        0,
        "the audit trail holds counts, not entries"
    );
}

#[tokio::test]
async fn another_doctor_another_patient_an_admin_and_an_api_client_are_refused() {
    // Arrange: a history, a doctor of the same clinic the patient never consulted, a doctor
    // whose only consultation with the patient was cancelled, and a second patient.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let patient = c.patient.user_id.clone();
    write_history(
        &app,
        Some(&c.patient.access),
        &patient,
        json!({"allergies": ["Latex"]}),
    )
    .await
    .data();
    let other_doctor = app.signed_in("other.doctor@clinic.example").await;
    app.add_member(&c.admin, &c.org, &other_doctor.email, "DOCTOR")
        .await;
    create_profile(&app, &other_doctor, Some(&c.org), "KMC-7007").await;
    let other_patient = app.signed_in("other.patient@example.com").await;
    let cancelled = c.book(&app, &other_patient, &at(2, 10, 0)).await;
    act(
        &app,
        &c.doctor,
        "cancelConsultation",
        &cancelled,
        json!({"reason": "ill"}),
    )
    .await
    .data();
    let client = api_client(&app, &c).await;

    // Act / Assert
    for who in [
        &other_doctor.access,
        &other_patient.access,
        &c.admin.access,
        &c.root.access,
        &client,
    ] {
        let read = read_history(&app, Some(who), &patient).await;
        assert_eq!(read.code(), Some("FORBIDDEN"), "{:?}", read.body);
        let write = write_history(&app, Some(who), &patient, json!({"allergies": []})).await;
        assert_eq!(write.code(), Some("FORBIDDEN"), "{:?}", write.body);
    }
    let by_cancelled_doctor =
        read_history(&app, Some(&c.doctor.access), &other_patient.user_id).await;
    assert_eq!(by_cancelled_doctor.code(), Some("FORBIDDEN"));
    let too_many: Vec<String> = (0..101).map(|i| format!("allergy {i}")).collect();
    let bad = write_history(
        &app,
        Some(&c.patient.access),
        &patient,
        json!({"allergies": too_many}),
    )
    .await;
    assert_eq!(bad.code(), Some("BAD_USER_INPUT"));
    let blank = write_history(
        &app,
        Some(&c.patient.access),
        &patient,
        json!({"conditions": ["  "]}),
    )
    .await;
    assert_eq!(blank.code(), Some("BAD_USER_INPUT"));
    let h = read_history(&app, Some(&c.patient.access), &patient).await;
    assert_eq!(h.data()["medicalHistory"]["allergies"], json!(["Latex"]));
    assert!(
        app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'medical_history.update' AND outcome = 'FAILURE'")
            .await
            >= 5
    );
}

#[tokio::test]
async fn every_caller_against_the_medical_history() {
    // Arrange: the patient has a booked consultation with the clinic's doctor.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    c.book(&app, &c.patient, &at(2, 10, 0)).await;
    let stranger = app.signed_in("stranger@example.com").await;
    let client = api_client(&app, &c).await;
    let tokens = vec![
        None,
        Some(stranger.access.clone()),
        Some(c.patient.access.clone()),
        Some(c.doctor.access.clone()),
        Some(c.admin.access.clone()),
        Some(c.root.access.clone()),
        Some(client),
    ];
    let names = [
        "anonymous",
        "stranger",
        "patient",
        "doctor",
        "clinic admin",
        "super admin",
        "api client",
    ];
    let patient = c.patient.user_id.clone();

    // Act and assert
    //                                                anon stranger pat doc adm SA client
    let rows: Vec<Row<7>> = vec![
        (
            "medicalHistory",
            "query($p: ID!) { medicalHistory(patientId: $p) { allergies } }".into(),
            json!({"p": patient}),
            [U, F, A, A, F, F, F],
        ),
        (
            "updateMedicalHistory",
            mutation(
                "updateMedicalHistory",
                "UpdateMedicalHistoryInput",
                "medicalHistory { allergies }",
            ),
            json!({"i": {"patientId": patient}}),
            [U, F, A, A, F, F, F],
        ),
    ];
    Matrix::new(names, tokens)
        .telling_not_found_apart()
        .assert(&app, &rows)
        .await;
}

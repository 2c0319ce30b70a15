//! The permission matrix of medical reports: every kind of caller against every report
//! operation. "Allowed" means the caller got past the permission layer; inputs are chosen so
//! allowed mutations then fail on a business rule (a limit of 0, an invalid transition) and
//! leave the report as it was for the next row. A patient who is not the organization's is
//! `NOT_FOUND` to its uploaders, whether or not the account exists.

use lifeflow_tests::{
    fixtures::{api_client, care::seen_at},
    matrix::{Matrix, Outcome::*, Row, mutation},
    *,
};
use serde_json::json;

const CALLERS: [&str; 12] = [
    "anonymous",
    "user",
    "patient",
    "other org doctor",
    "ADMIN",
    "DOCTOR",
    "STAFF",
    "RADIOLOGIST",
    "super admin",
    "AI client (reports:analysis:write)",
    "reader client (reports:read)",
    "client without a reports scope",
];

#[tokio::test]
async fn every_caller_against_every_medical_report_operation() {
    // Arrange
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let admin = app.signed_in("admin@a.example").await;
    let org = app.approved_org(&root, &admin, "HOSP-A", "HOSPITAL").await;
    let other = app.signed_in("admin@b.example").await;
    let other_org = app.approved_org(&root, &other, "HOSP-B", "HOSPITAL").await;
    let other_doctor = app.signed_in("doctor@b.example").await;
    app.add_member(&other, &other_org, &other_doctor.email, "DOCTOR")
        .await;
    let patient = app.signed_in("patient@x.example").await;
    let plain = app.signed_in("plain@x.example").await;
    // Someone the other hospital has seen, and the first hospital has not.
    seen_at(&app, &other_org, &other_doctor, &plain).await;
    let mut tokens: Vec<Option<String>> = vec![
        None,
        Some(plain.access.clone()),
        Some(patient.access.clone()),
        Some(other_doctor.access.clone()),
        Some(admin.access.clone()),
    ];
    let mut members = Vec::new();
    for role in ["DOCTOR", "STAFF", "RADIOLOGIST"] {
        let s = app
            .signed_in(&format!("{}@a.example", role.to_lowercase()))
            .await;
        app.add_member(&admin, &org, &s.email, role).await;
        tokens.push(Some(s.access.clone()));
        members.push(s);
    }
    seen_at(&app, &org, &members[0], &patient).await;
    tokens.push(Some(root.access.clone()));
    for scopes in [
        &["reports:analysis:write"][..],
        &["reports:read"],
        &["stock:read", "blood-requests:read"],
    ] {
        tokens.push(Some(
            api_client(&app, &admin, &org, "partner", scopes)
                .await
                .token,
        ));
    }
    let r = app
        .gql(
            Some(&members[2].access),
            "mutation($i: CreateMedicalReportInput!) { createMedicalReport(input: $i) { medicalReport { id } } }",
            json!({"i": {"organizationId": org, "patientId": patient.user_id, "studyType": "CT head",
                "images": [{"url": "https://img.example/1.dcm", "imageType": "CT", "format": "DICOM",
                            "width": 512, "height": 512, "sizeBytes": 1000}]}}),
        )
        .await;
    let report = r.data()["createMedicalReport"]["medicalReport"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let nobody = uuid::Uuid::new_v4().to_string();
    let new_report = |patient: &str| {
        json!({"i": {"organizationId": org, "patientId": patient, "studyType": "CT head",
            "images": [{"url": "https://img.example/1.dcm", "imageType": "CT", "format": "DICOM",
                        "width": 512, "height": 512, "sizeBytes": 1000}]}})
    };
    let analysis = json!({"i": {"reportId": report, "modelName": "m", "modelVersion": "1", "riskLevel": "LOW",
        "probabilities": {"low": 0.8, "medium": 0.1, "high": 0.1}, "findings": {},
        "processingTimeMs": 1, "imageQualityScore": 0.5}});
    let review = json!({"i": {"reportId": report, "notes": "n", "confirmsAi": true, "aiAccuracyRating": 3,
        "doctorRiskLevel": "LOW", "urgency": "ROUTINE"}});

    // Act
    //                       anon user pat other ADMIN DOC STAFF RAD  SA  ai  read none
    let matrix: Vec<Row<12>> = vec![
        (
            "medicalReport",
            "query($id: ID!) { medicalReport(id: $id) { id } }".into(),
            json!({"id": report}),
            [U, N, A, N, A, A, N, A, N, A, A, N],
        ),
        (
            "reviewQueue",
            "query($o: ID!) { reviewQueue(organizationId: $o) { edges { cursor } } }".into(),
            json!({"o": org}),
            [U, F, F, F, A, A, F, A, F, F, A, F],
        ),
        (
            "aiModelPerformance",
            "query($o: ID!) { aiModelPerformance(modelName: \"m\", organizationId: $o) { confirmed } }".into(),
            json!({"o": org}),
            [U, F, F, F, A, A, F, A, A, F, A, F],
        ),
        (
            "createMedicalReport for no such user",
            mutation("createMedicalReport", "CreateMedicalReportInput", "medicalReport { id }"),
            new_report(&nobody),
            [U, F, F, F, F, N, F, N, F, F, F, F],
        ),
        (
            "createMedicalReport for another hospital's patient",
            mutation("createMedicalReport", "CreateMedicalReportInput", "medicalReport { id }"),
            new_report(&plain.user_id),
            [U, F, F, F, F, N, F, N, F, F, F, F],
        ),
        (
            "claimReportsForAnalysis",
            mutation("claimReportsForAnalysis", "ClaimReportsInput", "medicalReports { id }"),
            json!({"i": {"organizationId": org, "limit": 0}}),
            [U, F, F, F, F, F, F, F, F, A, F, F],
        ),
        (
            "submitAiAnalysis",
            mutation("submitAiAnalysis", "SubmitAiAnalysisInput", "medicalReport { id }"),
            analysis,
            [U, F, F, F, F, F, F, F, F, A, F, F],
        ),
        (
            "reviewMedicalReport",
            mutation("reviewMedicalReport", "ReviewMedicalReportInput", "medicalReport { id }"),
            review,
            [U, F, F, F, F, A, F, F, F, F, F, F],
        ),
        (
            "archiveMedicalReport",
            mutation("archiveMedicalReport", "ArchiveMedicalReportInput", "medicalReport { id }"),
            json!({"i": {"reportId": report}}),
            [U, F, F, F, A, A, F, A, F, F, F, F],
        ),
    ];
    Matrix::new(CALLERS, tokens)
        .telling_not_found_apart()
        .assert(&app, &matrix)
        .await;

    // Assert
    assert_eq!(
        app.count("SELECT COUNT(*) FROM medical_reports WHERE status = 'PENDING'")
            .await,
        1,
        "nothing in the matrix moved the report"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM medical_reports").await, 1);
}

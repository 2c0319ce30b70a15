//! Medical reports end to end: upload, AI claims and analyses, the risk-ordered review queue,
//! reviews and critical findings, who reads what (every read audited), claims under
//! concurrency, model quality, and statement counts that do not grow with a page.

use futures_util::future::join_all;
use lifeflow_tests::{
    fixtures::{
        Org, api_client, audit_rows,
        care::{doctor_profile, seen_at, signed_in_with_phone},
        member, nodes, org_north,
    },
    *,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};
use serde_json::{Value, json};
use std::collections::HashSet;
use uuid::Uuid;

const CREATE: &str = "mutation($i: CreateMedicalReportInput!) { createMedicalReport(input: $i) { medicalReport { id status images { url displayOrder } } } }";
const CLAIM: &str = "mutation($i: ClaimReportsInput!) { claimReportsForAnalysis(input: $i) { medicalReports { id status } } }";
const ANALYSE: &str = "mutation($i: SubmitAiAnalysisInput!) { submitAiAnalysis(input: $i) { medicalReport { id status riskLevel confidence aiAnalysis { riskLevel modelName } } } }";
const REVIEW: &str = "mutation($i: ReviewMedicalReportInput!) { reviewMedicalReport(input: $i) { medicalReport { id status findings reviews { urgency doctor { id } } } } }";
const ARCHIVE: &str = "mutation($i: ArchiveMedicalReportInput!) { archiveMedicalReport(input: $i) { medicalReport { id status } } }";
const READ: &str = "query($id: ID!) { medicalReport(id: $id) { id studyType clinicalNotes status patient { id } images { url } reviews { notes } } }";
const LIST: &str = "{ medicalReports(first: 50) { totalCount edges { node { id } } } }";
const QUEUE: &str = "query($org: ID!, $first: Int, $after: String) { reviewQueue(organizationId: $org, first: $first, after: $after) { pageInfo { hasNextPage endCursor } edges { cursor node { id riskLevel } } } }";

/// A hospital with an admin, a radiologist, a doctor and a staff member; a patient of the
/// hospital (seen by its doctor); and the partner AI service's API client
/// (`reports:analysis:write`).
struct Clinic {
    root: Session,
    org: Org,
    radiologist: Session,
    doctor: Session,
    staff: Session,
    patient: Session,
    ai: String,
}

impl Clinic {
    async fn new(app: &TestApp) -> Self {
        let root = app.super_admin().await;
        Self::with_root(app, root, "CLINIC").await
    }

    async fn with_root(app: &TestApp, root: Session, code: &str) -> Self {
        let lc = code.to_lowercase();
        let org = org_north(
            app,
            &root,
            code,
            "HOSPITAL",
            &format!("admin@{lc}.example"),
            1.0,
        )
        .await;
        let radiologist = member(app, &org, &format!("rad@{lc}.example"), "RADIOLOGIST").await;
        let doctor = member(app, &org, &format!("doc@{lc}.example"), "DOCTOR").await;
        let staff = member(app, &org, &format!("staff@{lc}.example"), "STAFF").await;
        let patient = app.signed_in(&format!("patient@{lc}.example")).await;
        seen_at(app, &org.id, &doctor, &patient).await;
        let ai = api_client(
            app,
            &org.admin,
            &org.id,
            "Imaging AI",
            &["reports:analysis:write"],
        )
        .await
        .token;
        Self {
            root,
            org,
            radiologist,
            doctor,
            staff,
            patient,
            ai,
        }
    }
}

fn report_input(org: &str, patient: &str) -> Value {
    json!({
        "organizationId": org, "patientId": patient, "studyType": "Chest X-ray",
        "clinicalNotes": "persistent cough for three weeks",
        "images": [
            {"url": "https://imaging.example/s/1.dcm", "imageType": "XRAY", "format": "DICOM",
             "width": 2048, "height": 2048, "sizeBytes": 8_388_608,
             "dicomMetadata": {"Modality": "CR", "BodyPartExamined": "CHEST",
                               "PatientName": "Doe^Jane", "PatientID": "MRN-0001",
                               "00100030": {"vr": "DA", "Value": ["19800101"]}}},
            {"url": "https://imaging.example/s/2.png", "imageType": "XRAY", "format": "PNG",
             "width": 1024, "height": 1024, "sizeBytes": 524_288},
        ],
    })
}

fn analysis_input(report: &str, risk: &str) -> Value {
    let (low, medium, high) = match risk {
        "HIGH" => (0.05, 0.15, 0.8),
        "MEDIUM" => (0.2, 0.6, 0.2),
        _ => (0.9, 0.08, 0.02),
    };
    json!({
        "reportId": report, "modelName": "chest-xr", "modelVersion": "2.1.0", "riskLevel": risk,
        "probabilities": {"low": low, "medium": medium, "high": high},
        "findings": {"abnormalities": [{"type": "opacity", "location": "right upper lobe"}]},
        "processingTimeMs": 840, "imageQualityScore": 0.93,
    })
}

fn review_input(
    report: &str,
    urgency: &str,
    doctor_risk: &str,
    confirms: bool,
    rating: i32,
) -> Value {
    json!({
        "reportId": report, "notes": "Reviewed against prior films.\nNo change since March.",
        "clinicalFindings": "Right upper lobe opacity, suspicious for mass",
        "confirmsAi": confirms, "aiAccuracyRating": rating, "doctorRiskLevel": doctor_risk,
        "urgency": urgency, "recommendedAction": "CT chest with contrast",
        "followUpDate": "2026-12-01",
    })
}

/// Uploads a report for `patient`, first making them a patient of the clinic.
async fn create_report(app: &TestApp, c: &Clinic, patient: &Session) -> String {
    seen_at(app, &c.org.id, &c.doctor, patient).await;
    let r = app
        .gql(
            Some(&c.radiologist.access),
            CREATE,
            json!({"i": report_input(&c.org.id, &patient.user_id)}),
        )
        .await;
    r.data()["createMedicalReport"]["medicalReport"]["id"]
        .as_str()
        .expect("report id")
        .to_string()
}

async fn claim(app: &TestApp, token: &str, org: &str, limit: i32) -> Gql {
    app.gql(
        Some(token),
        CLAIM,
        json!({"i": {"organizationId": org, "limit": limit}}),
    )
    .await
}

fn claimed_ids(r: &Gql) -> Vec<String> {
    r.data()["claimReportsForAnalysis"]["medicalReports"]
        .as_array()
        .expect("reports")
        .iter()
        .map(|n| n["id"].as_str().expect("id").to_string())
        .collect()
}

/// Uploads a report for the clinic's patient, has the AI claim it and score it `risk`.
async fn analysed_report(app: &TestApp, c: &Clinic, risk: &str) -> String {
    let id = create_report(app, c, &c.patient).await;
    let claimed = claimed_ids(&claim(app, &c.ai, &c.org.id, 1).await);
    assert_eq!(
        claimed,
        vec![id.clone()],
        "the only waiting report is claimed"
    );
    let r = app
        .gql(
            Some(&c.ai),
            ANALYSE,
            json!({"i": analysis_input(&id, risk)}),
        )
        .await;
    assert_eq!(
        r.data()["submitAiAnalysis"]["medicalReport"]["status"],
        "ANALYZED"
    );
    id
}

fn queue_ids(r: &Gql) -> Vec<String> {
    r.data()["reviewQueue"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["id"].as_str().expect("id").to_string())
        .collect()
}

async fn notifications(app: &TestApp, who: &Session) -> Vec<Value> {
    let r = app
        .gql(
            Some(&who.access),
            "{ notifications(first: 50) { edges { node { kind title body relatedEntityType relatedEntityId } } } }",
            json!({}),
        )
        .await;
    nodes(r.data(), "notifications")
}

#[tokio::test]
async fn a_radiologists_report_is_claimed_and_analysed_by_the_ai_then_queued_by_risk_and_reviewed_by_a_doctor()
 {
    // Arrange: a report is uploaded.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let r = app
        .gql(
            Some(&c.radiologist.access),
            CREATE,
            json!({"i": report_input(&c.org.id, &c.patient.user_id)}),
        )
        .await;
    let created = &r.data()["createMedicalReport"]["medicalReport"];
    assert_eq!(created["status"], "PENDING");
    assert_eq!(created["images"].as_array().expect("images").len(), 2);
    assert_eq!(created["images"][1]["displayOrder"], 1);
    let first = created["id"].as_str().expect("id").to_string();

    // Act: the AI claims and analyses it (LOW), then three more reports arrive over time.
    let claimed = claim(&app, &c.ai, &c.org.id, 5).await;
    assert_eq!(claimed_ids(&claimed), vec![first.clone()]);
    assert_eq!(
        claimed.data()["claimReportsForAnalysis"]["medicalReports"][0]["status"],
        "ANALYZING"
    );
    let r = app
        .gql(
            Some(&c.ai),
            ANALYSE,
            json!({"i": analysis_input(&first, "LOW")}),
        )
        .await;
    let analysed = &r.data()["submitAiAnalysis"]["medicalReport"];
    assert_eq!(analysed["riskLevel"], "LOW");
    assert_eq!(analysed["confidence"], 0.9);
    assert_eq!(analysed["aiAnalysis"]["modelName"], "chest-xr");
    let high_old = analysed_report(&app, &c, "HIGH").await;
    let medium = analysed_report(&app, &c, "MEDIUM").await;
    let high_new = analysed_report(&app, &c, "HIGH").await;
    let page1 = app
        .gql(
            Some(&c.doctor.access),
            QUEUE,
            json!({"org": c.org.id, "first": 3}),
        )
        .await;
    let cursor = page1.data()["reviewQueue"]["pageInfo"]["endCursor"].clone();
    let page2 = app
        .gql(
            Some(&c.doctor.access),
            QUEUE,
            json!({"org": c.org.id, "first": 3, "after": cursor}),
        )
        .await;

    // Assert: HIGH first (oldest analysis first), then MEDIUM, then LOW, across pages.
    assert_eq!(
        queue_ids(&page1),
        vec![high_old.clone(), high_new.clone(), medium.clone()]
    );
    assert_eq!(page1.data()["reviewQueue"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(queue_ids(&page2), vec![first.clone()]);
    assert_eq!(
        page2.data()["reviewQueue"]["pageInfo"]["hasNextPage"],
        false
    );

    // Act: the doctor reviews the head of the queue.
    let r = app
        .gql(
            Some(&c.doctor.access),
            REVIEW,
            json!({"i": review_input(&high_old, "URGENT", "HIGH", true, 5)}),
        )
        .await;

    // Assert: reviewed, gone from the queue, the patient told without health data.
    let reviewed = &r.data()["reviewMedicalReport"]["medicalReport"];
    assert_eq!(reviewed["status"], "REVIEWED");
    assert_eq!(reviewed["reviews"][0]["urgency"], "URGENT");
    assert_eq!(
        reviewed["reviews"][0]["doctor"]["id"],
        c.doctor.user_id.as_str()
    );
    let queue = app
        .gql(Some(&c.doctor.access), QUEUE, json!({"org": c.org.id}))
        .await;
    assert_eq!(queue_ids(&queue), vec![high_new, medium, first]);
    let notes = notifications(&app, &c.patient).await;
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["kind"], "REPORT_UPDATE");
    assert_eq!(notes[0]["relatedEntityId"], high_old.as_str());
    assert!(!notes[0].to_string().contains("opacity"));
}

/// A consultation of `patient` with `who` scheduled `days_ago` days ago (and a doctor profile
/// for `who` if they have none).
async fn consultation(
    app: &TestApp,
    who: &Session,
    patient: &Session,
    days_ago: i64,
    licence: &str,
) {
    let t = chrono::Utc::now();
    let user_id = Uuid::parse_str(&who.user_id).expect("uuid");
    // The clinic's own doctor already has a profile (the clinic saw its patient).
    let doctor = doctor_profile(app, user_id, None, licence, "Pulmonology").await;
    let at = t - chrono::Duration::days(days_ago);
    entity::consultation::Model {
        id: Uuid::now_v7(),
        patient_id: Uuid::parse_str(&patient.user_id).expect("uuid"),
        doctor_id: doctor.id,
        doctor_user_id: doctor.user_id,
        organization_id: None,
        scheduled_at: at,
        ends_at: at + chrono::Duration::minutes(30),
        blocked_until: at + chrono::Duration::minutes(30),
        duration_minutes: 30,
        consultation_type: entity::ConsultationType::Video,
        status: entity::ConsultationStatus::Completed,
        symptoms: None,
        diagnosis: None,
        notes: None,
        cancellation_reason: None,
        cancelled_by: None,
        rescheduled_from_id: None,
        rescheduled_to_id: None,
        confirmed_at: None,
        started_at: None,
        completed_at: None,
        cancelled_at: None,
        no_show_at: None,
        coverage_id: None,
        created_at: t,
        updated_at: t,
    }
    .into_active_model()
    .insert(&app.db)
    .await
    .expect("consultation");
}

#[tokio::test]
async fn a_critical_review_alerts_the_doctors_and_notifies_the_patient_and_the_doctor_of_their_latest_consultation()
 {
    // Arrange: the patient saw an old GP last month and a chest physician last week.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let gp = app.signed_in("gp@elsewhere.example").await;
    let physician = app.signed_in("physician@elsewhere.example").await;
    consultation(&app, &gp, &c.patient, 30, "KA-GP-1").await;
    consultation(&app, &physician, &c.patient, 7, "KA-CP-2").await;
    let id = analysed_report(&app, &c, "HIGH").await;

    // Act
    let r = app
        .gql(
            Some(&c.doctor.access),
            REVIEW,
            json!({"i": review_input(&id, "CRITICAL", "HIGH", true, 5)}),
        )
        .await;

    // Assert: reviewed; the patient and the latest consultation's doctor are told, the old
    // GP is not; no health data in any title or body.
    assert_eq!(
        r.data()["reviewMedicalReport"]["medicalReport"]["status"],
        "REVIEWED"
    );
    for who in [&c.patient, &physician] {
        let notes = notifications(&app, who).await;
        assert_eq!(notes.len(), 1, "{}", who.email);
        assert_eq!(notes[0]["kind"], "CRITICAL_FINDING");
        assert_eq!(notes[0]["title"], "A report needs urgent attention");
        assert_eq!(notes[0]["relatedEntityType"], "medical_report");
        assert_eq!(notes[0]["relatedEntityId"], id.as_str());
        assert!(!notes[0].to_string().to_lowercase().contains("opacity"));
    }
    assert!(notifications(&app, &gp).await.is_empty());
    // The organization's doctors get the alert's notification; staff and radiologists do not.
    let doc = notifications(&app, &c.doctor).await;
    assert_eq!(doc.len(), 1);
    assert_eq!(doc[0]["kind"], "CRITICAL_FINDING");
    assert!(notifications(&app, &c.staff).await.is_empty());
    assert!(notifications(&app, &c.radiologist).await.is_empty());
    let alerts = entity::alert::Entity::find()
        .filter(entity::alert::Column::RelatedEntityId.eq(Uuid::parse_str(&id).expect("uuid")))
        .all(&app.db)
        .await
        .expect("alerts");
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].kind, entity::AlertKind::CriticalFinding);
    assert_eq!(alerts[0].title, "A report needs urgent attention");
    assert!(!alerts[0].message.to_lowercase().contains("opacity"));
}

#[tokio::test]
async fn only_the_patient_and_the_organizations_doctors_radiologists_and_admins_read_a_report_and_every_read_is_audited()
 {
    // Arrange
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let other_patient = app.signed_in("other.patient@x.example").await;
    let other = Clinic::with_root(&app, c.root.clone(), "OTHER").await;
    let id = create_report(&app, &c, &c.patient).await;
    let theirs = create_report(&app, &c, &other_patient).await;
    let reader = api_client(
        &app,
        &c.org.admin,
        &c.org.id,
        "Imaging AI",
        &["reports:read"],
    )
    .await
    .token;
    let no_scope = api_client(&app, &c.org.admin, &c.org.id, "Imaging AI", &["stock:read"])
        .await
        .token;
    let reads = || audit_rows(&app, "medical_report.read", Some(&id));

    // Act and assert: the patient, the radiologist, the doctor, the admin and the reading
    // client see it; each read leaves an audit row.
    let allowed = [
        c.patient.access.as_str(),
        &c.radiologist.access,
        &c.doctor.access,
        &c.org.admin.access,
        &reader,
    ];
    for (n, token) in allowed.into_iter().enumerate() {
        let r = app.gql(Some(token), READ, json!({"id": id})).await;
        let rep = &r.data()["medicalReport"];
        assert_eq!(rep["id"], id.as_str());
        assert_eq!(rep["clinicalNotes"], "persistent cough for three weeks");
        assert_eq!(rep["images"].as_array().expect("images").len(), 2);
        assert_eq!(reads().await.len(), n + 1, "one audit row per read");
    }
    // Rows come back in no particular order; the patient's read is one of them.
    let rows = reads().await;
    let row = rows
        .iter()
        .find(|r| r.actor_user_id.map(|u| u.to_string()) == Some(c.patient.user_id.clone()))
        .expect("the patient's read is audited");
    assert_eq!(
        row.organization_id.map(|o| o.to_string()),
        Some(c.org.id.clone())
    );
    // Another patient, the staff member, another organization's doctor, a super admin and a
    // client without a reports scope do not; nothing more is audited.
    for token in [
        other_patient.access.as_str(),
        &c.staff.access,
        &other.doctor.access,
        &c.root.access,
        &no_scope,
    ] {
        let r = app.gql(Some(token), READ, json!({"id": id})).await;
        assert_eq!(r.code(), Some("NOT_FOUND"), "{}", r.body);
    }
    assert_eq!(reads().await.len(), 5);
    // Lists: the patient sees only their own; staff, another org and super admins see none.
    let mine = app.gql(Some(&c.patient.access), LIST, json!({})).await;
    assert_eq!(mine.data()["medicalReports"]["totalCount"], 1);
    assert_eq!(
        mine.data()["medicalReports"]["edges"][0]["node"]["id"],
        id.as_str()
    );
    let r = app
        .gql(Some(&other_patient.access), READ, json!({"id": theirs}))
        .await;
    assert_eq!(r.data()["medicalReport"]["id"], theirs.as_str());
    let all = app.gql(Some(&c.doctor.access), LIST, json!({})).await;
    assert_eq!(all.data()["medicalReports"]["totalCount"], 2);
    for token in [&c.staff.access, &other.doctor.access, &c.root.access] {
        let r = app.gql(Some(token), LIST, json!({})).await;
        assert_eq!(r.data()["medicalReports"]["totalCount"], 0);
    }
    let r = app.gql(Some(&no_scope), LIST, json!({})).await;
    assert_eq!(r.code(), Some("FORBIDDEN"));
    // The queue: staff, another org and super admins are refused.
    for token in [
        &c.staff.access,
        &other.doctor.access,
        &c.root.access,
        &c.patient.access,
    ] {
        let r = app.gql(Some(token), QUEUE, json!({"org": c.org.id})).await;
        assert_eq!(r.code(), Some("FORBIDDEN"));
    }
    assert_eq!(
        audit_rows(&app, "medical_report.read", Some(&theirs))
            .await
            .len(),
        2,
        "the other patient's read and the doctor's list"
    );
}

#[tokio::test]
async fn only_an_api_client_with_the_analysis_scope_for_the_reports_organization_submits_one_analysis()
 {
    // Arrange
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let other = Clinic::with_root(&app, c.root.clone(), "OTHER").await;
    let reader = api_client(
        &app,
        &c.org.admin,
        &c.org.id,
        "Imaging AI",
        &["reports:read"],
    )
    .await
    .token;
    let id = create_report(&app, &c, &c.patient).await;
    let analyse = |token: String| {
        let app = &app;
        let id = id.clone();
        async move {
            app.gql(
                Some(&token),
                ANALYSE,
                json!({"i": analysis_input(&id, "HIGH")}),
            )
            .await
        }
    };

    // Act and assert: users and the wrong clients cannot claim or analyse.
    for token in [
        c.doctor.access.clone(),
        c.radiologist.access.clone(),
        c.org.admin.access.clone(),
        c.root.access.clone(),
        reader.clone(),
        other.ai.clone(),
    ] {
        assert_eq!(
            claim(&app, &token, &c.org.id, 5).await.code(),
            Some("FORBIDDEN")
        );
        assert_eq!(analyse(token).await.code(), Some("FORBIDDEN"));
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'medical_report.analyze' AND outcome = 'FAILURE'")
            .await,
        6
    );
    // The AI service analyses once; a second analysis is a conflict.
    assert_eq!(
        claimed_ids(&claim(&app, &c.ai, &c.org.id, 5).await),
        vec![id.clone()]
    );
    assert!(analyse(c.ai.clone()).await.code().is_none());
    assert_eq!(analyse(c.ai.clone()).await.code(), Some("CONFLICT"));
    assert_eq!(app.count("SELECT COUNT(*) FROM ai_analyses").await, 1);
}

#[tokio::test]
async fn bad_probabilities_image_urls_and_image_counts_are_refused_naming_the_field() {
    // Arrange
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let id = create_report(&app, &c, &c.patient).await;
    claim(&app, &c.ai, &c.org.id, 1).await.data();
    let create = |i: Value| {
        let app = &app;
        let token = c.radiologist.access.clone();
        async move { app.gql(Some(&token), CREATE, json!({"i": i})).await }
    };

    // Act and assert: reports.
    let mut i = report_input(&c.org.id, &c.patient.user_id);
    i["images"][1]["url"] = json!("http://imaging.example/s/2.png");
    let r = create(i).await;
    assert_eq!(r.code(), Some("BAD_USER_INPUT"));
    assert_eq!(r.field(), Some("input.images.1.url"));
    let mut i = report_input(&c.org.id, &c.patient.user_id);
    i["images"] = json!([]);
    assert_eq!(create(i).await.field(), Some("input.images"));
    let mut i = report_input(&c.org.id, &c.patient.user_id);
    let img = i["images"][0].clone();
    i["images"] = Value::Array(vec![img; 51]);
    assert_eq!(create(i).await.field(), Some("input.images"));
    let mut i = report_input(&c.org.id, &c.patient.user_id);
    i["studyType"] = json!("  ");
    assert_eq!(create(i).await.field(), Some("input.studyType"));
    let mut i = report_input(&c.org.id, &c.patient.user_id);
    i["patientId"] = json!("not-an-id");
    assert_eq!(create(i).await.field(), Some("input.patientId"));
    assert_eq!(app.count("SELECT COUNT(*) FROM medical_reports").await, 1);
    // Staff cannot upload.
    let r = app
        .gql(
            Some(&c.staff.access),
            CREATE,
            json!({"i": report_input(&c.org.id, &c.patient.user_id)}),
        )
        .await;
    assert_eq!(r.code(), Some("FORBIDDEN"));

    // Act and assert: analyses.
    let mut a = analysis_input(&id, "HIGH");
    a["probabilities"] = json!({"low": 0.3, "medium": 0.3, "high": 0.7});
    let r = app.gql(Some(&c.ai), ANALYSE, json!({"i": a})).await;
    assert_eq!(r.code(), Some("BAD_USER_INPUT"));
    assert_eq!(r.field(), Some("input.probabilities"));
    let mut a = analysis_input(&id, "HIGH");
    a["probabilities"] = json!({"low": -0.2, "medium": 0.0, "high": 1.2});
    let r = app.gql(Some(&c.ai), ANALYSE, json!({"i": a})).await;
    assert_eq!(r.field(), Some("input.probabilities.low"));
    let mut a = analysis_input(&id, "HIGH");
    a["imageQualityScore"] = json!(1.5);
    let r = app.gql(Some(&c.ai), ANALYSE, json!({"i": a})).await;
    assert_eq!(r.field(), Some("input.imageQualityScore"));
    assert_eq!(app.count("SELECT COUNT(*) FROM ai_analyses").await, 0);
    let r = app
        .gql(
            Some(&c.ai),
            ANALYSE,
            json!({"i": analysis_input(&id, "HIGH")}),
        )
        .await;
    assert!(r.code().is_none(), "{}", r.body);
}

#[tokio::test]
async fn moves_outside_pending_analyzing_analyzed_reviewed_archived_are_invalid_transitions() {
    // Arrange
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let pending = create_report(&app, &c, &c.patient).await;
    let review = |id: &str| {
        let app = &app;
        let token = c.doctor.access.clone();
        let i = review_input(id, "ROUTINE", "LOW", true, 4);
        async move { app.gql(Some(&token), REVIEW, json!({"i": i})).await }
    };
    let archive = |id: &str| {
        let app = &app;
        let token = c.doctor.access.clone();
        let i = json!({"reportId": id});
        async move { app.gql(Some(&token), ARCHIVE, json!({"i": i})).await }
    };

    // Act and assert: a pending report cannot be analysed (unclaimed), reviewed or archived.
    let r = app
        .gql(
            Some(&c.ai),
            ANALYSE,
            json!({"i": analysis_input(&pending, "LOW")}),
        )
        .await;
    assert_eq!(r.code(), Some("INVALID_TRANSITION"));
    assert_eq!(review(&pending).await.code(), Some("INVALID_TRANSITION"));
    assert_eq!(archive(&pending).await.code(), Some("INVALID_TRANSITION"));
    // An analysing one cannot be reviewed either.
    claim(&app, &c.ai, &c.org.id, 1).await.data();
    assert_eq!(review(&pending).await.code(), Some("INVALID_TRANSITION"));
    // Reviewed once, then archived; neither again.
    let r = app
        .gql(
            Some(&c.ai),
            ANALYSE,
            json!({"i": analysis_input(&pending, "LOW")}),
        )
        .await;
    r.data();
    // The radiologist and staff may not review.
    let i = review_input(&pending, "ROUTINE", "LOW", true, 4);
    for token in [&c.radiologist.access, &c.staff.access] {
        let r = app.gql(Some(token), REVIEW, json!({"i": i})).await;
        assert_eq!(r.code(), Some("FORBIDDEN"));
    }
    let mut bad = i.clone();
    bad["aiAccuracyRating"] = json!(6);
    let r = app
        .gql(Some(&c.doctor.access), REVIEW, json!({"i": bad}))
        .await;
    assert_eq!(r.field(), Some("input.aiAccuracyRating"));
    assert!(review(&pending).await.code().is_none());
    assert_eq!(review(&pending).await.code(), Some("INVALID_TRANSITION"));
    let r = archive(&pending).await;
    assert_eq!(
        r.data()["archiveMedicalReport"]["medicalReport"]["status"],
        "ARCHIVED"
    );
    assert_eq!(archive(&pending).await.code(), Some("INVALID_TRANSITION"));
    assert_eq!(review(&pending).await.code(), Some("INVALID_TRANSITION"));
}

#[tokio::test]
async fn twenty_concurrent_claims_over_sixty_pending_reports_take_each_report_exactly_once() {
    // Arrange: 60 pending reports, two API clients of the AI service.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let second = api_client(
        &app,
        &c.org.admin,
        &c.org.id,
        "Imaging AI",
        &["reports:analysis:write"],
    )
    .await
    .token;
    let mut created = HashSet::new();
    for _ in 0..60 {
        created.insert(create_report(&app, &c, &c.patient).await);
    }

    // Act: 20 claims of 5 at once.
    let calls = (0..20).map(|n| {
        let token = if n % 2 == 0 { &c.ai } else { &second };
        claim(&app, token, &c.org.id, 5)
    });
    let results = join_all(calls).await;

    // Assert: 60 distinct reports claimed, none twice, none left pending.
    let mut all = Vec::new();
    for r in &results {
        let ids = claimed_ids(r);
        assert!(ids.len() <= 5);
        all.extend(ids);
    }
    let distinct: HashSet<String> = all.iter().cloned().collect();
    assert_eq!(all.len(), 60, "every report claimed once");
    assert_eq!(distinct.len(), 60, "no report claimed twice");
    assert_eq!(distinct, created);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM medical_reports WHERE status = 'ANALYZING'")
            .await,
        60
    );
    assert!(claimed_ids(&claim(&app, &c.ai, &c.org.id, 5).await).is_empty());
}

#[tokio::test]
async fn a_claim_left_unanswered_past_the_timeout_can_be_taken_again() {
    // Arrange: claims lapse after one second.
    let app = spawn_app_with(&[("REPORT_CLAIM_TIMEOUT_SECS", "1")]).await;
    let c = Clinic::new(&app).await;
    let second = api_client(
        &app,
        &c.org.admin,
        &c.org.id,
        "Imaging AI",
        &["reports:analysis:write"],
    )
    .await
    .token;
    let id = create_report(&app, &c, &c.patient).await;
    assert_eq!(
        claimed_ids(&claim(&app, &c.ai, &c.org.id, 5).await),
        vec![id.clone()]
    );

    // Act
    let at_once = claim(&app, &second, &c.org.id, 5).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let later = claim(&app, &second, &c.org.id, 5).await;

    // Assert
    assert!(
        claimed_ids(&at_once).is_empty(),
        "a fresh claim is respected"
    );
    assert_eq!(
        claimed_ids(&later),
        vec![id.clone()],
        "a stale claim is not"
    );
    let r = app
        .gql(
            Some(&second),
            ANALYSE,
            json!({"i": analysis_input(&id, "MEDIUM")}),
        )
        .await;
    assert_eq!(
        r.data()["submitAiAnalysis"]["medicalReport"]["status"],
        "ANALYZED"
    );
}

#[tokio::test]
async fn ai_model_performance_counts_reviews_confirmations_ratings_and_the_confusion_matrix() {
    // Arrange: three reviewed analyses of one model.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    for (ai, doctor, confirms, rating) in [
        ("HIGH", "HIGH", true, 5),
        ("HIGH", "MEDIUM", false, 2),
        ("LOW", "LOW", true, 4),
    ] {
        let id = analysed_report(&app, &c, ai).await;
        app.gql(
            Some(&c.doctor.access),
            REVIEW,
            json!({"i": review_input(&id, "ROUTINE", doctor, confirms, rating)}),
        )
        .await
        .data();
    }
    let query = "query($org: ID) { aiModelPerformance(modelName: \"chest-xr\", organizationId: $org) {
        analysesReviewed confirmed meanAccuracyRating confusionMatrix { aiRiskLevel doctorRiskLevel count } } }";

    // Act
    let member = app
        .gql(Some(&c.radiologist.access), query, json!({"org": c.org.id}))
        .await;
    let platform = app.gql(Some(&c.root.access), query, json!({})).await;

    // Assert
    for r in [&member, &platform] {
        let p = &r.data()["aiModelPerformance"];
        assert_eq!(p["analysesReviewed"], 3);
        assert_eq!(p["confirmed"], 2);
        let mean = p["meanAccuracyRating"].as_f64().expect("mean");
        assert!((mean - 11.0 / 3.0).abs() < 1e-9);
        let cells: HashSet<(String, String, i64)> = p["confusionMatrix"]
            .as_array()
            .expect("cells")
            .iter()
            .map(|c| {
                (
                    c["aiRiskLevel"].as_str().expect("ai").to_string(),
                    c["doctorRiskLevel"].as_str().expect("doc").to_string(),
                    c["count"].as_i64().expect("count"),
                )
            })
            .collect();
        let expected: HashSet<(String, String, i64)> = [
            ("HIGH", "HIGH", 1),
            ("HIGH", "MEDIUM", 1),
            ("LOW", "LOW", 1),
        ]
        .into_iter()
        .map(|(a, d, n)| (a.to_string(), d.to_string(), n))
        .collect();
        assert_eq!(cells, expected);
    }
    let r = app
        .gql(Some(&c.staff.access), query, json!({"org": c.org.id}))
        .await;
    assert_eq!(r.code(), Some("FORBIDDEN"));
    let r = app.gql(Some(&c.doctor.access), query, json!({})).await;
    assert_eq!(r.field(), Some("organizationId"));
}

const QUEUE_PAGE: &str = "query($org: ID!) { reviewQueue(organizationId: $org, first: 50) { edges { node {
  id patient { fullName } images { url } aiAnalysis { riskLevel } reviews { doctor { fullName } } } } } }";

/// Uploads `n` reports for new patients and has the AI claim and analyse them all.
async fn grow_queue(app: &TestApp, c: &Clinic, start: usize, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in start..start + n {
        let patient = app.signed_in(&format!("p{i}@patients.example")).await;
        ids.push(create_report(app, c, &patient).await);
    }
    let mut claimed = 0;
    while claimed < n {
        claimed += claimed_ids(&claim(app, &c.ai, &c.org.id, 50).await).len();
    }
    for (i, id) in ids.iter().enumerate() {
        let risk = ["LOW", "MEDIUM", "HIGH"][i % 3];
        app.gql(Some(&c.ai), ANALYSE, json!({"i": analysis_input(id, risk)}))
            .await
            .data();
    }
    ids
}

#[tokio::test]
async fn the_review_queue_with_patients_images_analyses_and_reviewers_costs_the_same_for_5_and_50_reports()
 {
    // Arrange
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    grow_queue(&app, &c, 0, 5).await;

    // Act
    let small = app
        .gql(Some(&c.doctor.access), QUEUE_PAGE, json!({"org": c.org.id}))
        .await;
    grow_queue(&app, &c, 5, 45).await;
    let large = app
        .gql(Some(&c.doctor.access), QUEUE_PAGE, json!({"org": c.org.id}))
        .await;

    // Assert
    let nodes = large.data()["reviewQueue"]["edges"]
        .as_array()
        .expect("edges");
    assert_eq!(nodes.len(), 50);
    assert!(
        nodes
            .iter()
            .all(|e| e["node"]["patient"]["fullName"] == "Test Person")
    );
    assert!(
        nodes
            .iter()
            .all(|e| e["node"]["images"].as_array().map(Vec::len) == Some(2))
    );
    assert!(
        nodes
            .iter()
            .all(|e| e["node"]["aiAnalysis"]["riskLevel"].is_string())
    );
    assert_eq!(
        small.data()["reviewQueue"]["edges"]
            .as_array()
            .expect("edges")
            .len(),
        5
    );
    assert_eq!(
        small.statements(),
        large.statements(),
        "a page of 50 must cost what a page of 5 does"
    );
    assert_eq!(
        audit_rows(&app, "medical_report.read", None).await.len(),
        55,
        "every report read is audited"
    );
}

const REPORT_PAGE: &str = "{ medicalReports(first: 50) { edges { node { id patient { fullName }
  uploadedBy { fullName } organization { name } images { url } aiAnalysis { riskLevel }
  reviews { urgency doctor { fullName } } } } } }";

/// Grows the queue by `n` reports and has the clinic's doctors review them all.
async fn grow_reviewed(app: &TestApp, c: &Clinic, doctors: &[&Session], start: usize, n: usize) {
    for (i, id) in grow_queue(app, c, start, n).await.iter().enumerate() {
        app.gql(
            Some(&doctors[i % doctors.len()].access),
            REVIEW,
            json!({"i": review_input(id, "ROUTINE", "LOW", i % 2 == 0, 3)}),
        )
        .await
        .data();
    }
}

#[tokio::test]
async fn a_page_of_reviewed_reports_with_their_relations_and_reviewers_costs_the_same_for_5_and_50()
{
    // Arrange: two doctors review.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let second = member(&app, &c.org, "doc2@clinic.example", "DOCTOR").await;
    grow_reviewed(&app, &c, &[&c.doctor, &second], 0, 5).await;

    // Act
    let small = app
        .gql(Some(&c.org.admin.access), REPORT_PAGE, json!({}))
        .await;
    grow_reviewed(&app, &c, &[&c.doctor, &second], 5, 45).await;
    let large = app
        .gql(Some(&c.org.admin.access), REPORT_PAGE, json!({}))
        .await;

    // Assert
    let nodes = large.data()["medicalReports"]["edges"]
        .as_array()
        .expect("edges");
    assert_eq!(nodes.len(), 50);
    assert!(nodes.iter().all(|e| {
        let n = &e["node"];
        n["reviews"][0]["doctor"]["fullName"] == "Test Person"
            && n["uploadedBy"]["fullName"] == "Test Person"
            && n["organization"]["name"] == "CLINIC Centre"
            && n["aiAnalysis"]["riskLevel"].is_string()
    }));
    assert_eq!(
        small.data()["medicalReports"]["edges"]
            .as_array()
            .expect("edges")
            .len(),
        5
    );
    assert_eq!(
        small.statements(),
        large.statements(),
        "a page of 50 must cost what a page of 5 does"
    );
}

#[tokio::test]
async fn a_doctor_both_alerted_and_holding_the_latest_consultation_is_notified_once() {
    // Arrange: the organization's doctor saw the patient yesterday.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    consultation(&app, &c.doctor, &c.patient, 1, "KA-ORG-1").await;
    let id = analysed_report(&app, &c, "HIGH").await;

    // Act
    app.gql(
        Some(&c.doctor.access),
        REVIEW,
        json!({"i": review_input(&id, "CRITICAL", "HIGH", true, 5)}),
    )
    .await
    .data();

    // Assert
    let doc = notifications(&app, &c.doctor).await;
    assert_eq!(doc.len(), 1);
    assert_eq!(doc[0]["kind"], "CRITICAL_FINDING");
    assert_eq!(notifications(&app, &c.patient).await.len(), 1);
}

#[tokio::test]
async fn medical_reports_filter_by_status_risk_and_patient_and_sort_by_priority() {
    // Arrange: a LOW and a HIGH analysed report, and one still pending for another patient.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let low = analysed_report(&app, &c, "LOW").await;
    let high = analysed_report(&app, &c, "HIGH").await;
    let someone = app.signed_in("someone@x.example").await;
    let pending = create_report(&app, &c, &someone).await;
    let list = |vars: Value| {
        let app = &app;
        let token = c.doctor.access.clone();
        async move {
            let r = app
                .gql(
                    Some(&token),
                    "query($f: MedicalReportFilter, $o: MedicalReportOrder) { medicalReports(filter: $f, orderBy: $o) { edges { node { id } } } }",
                    vars,
                )
                .await;
            r.data()["medicalReports"]["edges"]
                .as_array()
                .expect("edges")
                .iter()
                .map(|e| e["node"]["id"].as_str().expect("id").to_string())
                .collect::<Vec<_>>()
        }
    };

    // Act and assert
    assert_eq!(
        list(json!({"o": {"field": "PRIORITY"}})).await,
        vec![high.clone(), low.clone(), pending.clone()]
    );
    assert_eq!(
        list(json!({"o": {"field": "UPLOADED_AT", "direction": "DESC"}})).await,
        vec![pending.clone(), high.clone(), low.clone()]
    );
    assert_eq!(
        list(json!({"f": {"statuses": ["PENDING"]}})).await,
        vec![pending.clone()]
    );
    assert_eq!(
        list(json!({"f": {"riskLevels": ["HIGH", "MEDIUM"]}})).await,
        vec![high.clone()]
    );
    assert_eq!(
        list(json!({"f": {"patientId": someone.user_id, "studyTypes": ["Chest X-ray"]}})).await,
        vec![pending]
    );
    assert!(
        list(json!({"f": {"uploadedAfter": "2999-01-01T00:00:00Z"}}))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn an_ai_analysis_client_sees_the_images_and_the_study_but_not_who_the_patient_is() {
    // Arrange: a report waiting for the AI; the hospital's records system reads reports too.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let id = create_report(&app, &c, &c.patient).await;
    let records = api_client(&app, &c.org.admin, &c.org.id, "HIS", &["reports:read"])
        .await
        .token;
    let fields = "id studyType clinicalNotes patient { fullName email phone } \
                  images { url dicomMetadata }";

    // Act
    let claimed = app
        .gql(
            Some(&c.ai),
            &format!("mutation($i: ClaimReportsInput!) {{ claimReportsForAnalysis(input: $i) {{ medicalReports {{ {fields} }} }} }}"),
            json!({"i": {"organizationId": c.org.id, "limit": 1}}),
        )
        .await;
    let one = format!("query($id: ID!) {{ medicalReport(id: $id) {{ {fields} }} }}");
    let by_ai = app.gql(Some(&c.ai), &one, json!({"id": id})).await;
    let listed = app
        .gql(
            Some(&c.ai),
            &format!("{{ medicalReports(first: 10) {{ edges {{ node {{ {fields} }} }} }} }}"),
            json!({}),
        )
        .await;
    let by_records = app.gql(Some(&records), &one, json!({"id": id})).await;

    // Assert: the study and its images, without the patient or the notes about them.
    let seen = [
        &claimed.data()["claimReportsForAnalysis"]["medicalReports"][0],
        &by_ai.data()["medicalReport"],
        &listed.data()["medicalReports"]["edges"][0]["node"],
    ];
    for r in seen {
        assert_eq!(r["id"], id.as_str());
        assert_eq!(r["studyType"], "Chest X-ray");
        assert_eq!(r["images"].as_array().map(Vec::len), Some(2));
        let dicom = &r["images"][0]["dicomMetadata"];
        assert_eq!(dicom["Modality"], "CR");
        for identifying in ["PatientName", "PatientID", "00100030"] {
            assert!(dicom[identifying].is_null(), "{dicom}");
        }
        assert!(r["patient"].is_null(), "{r}");
        assert!(r["clinicalNotes"].is_null(), "{r}");
    }
    let full = &by_records.data()["medicalReport"];
    assert_eq!(full["patient"]["email"], c.patient.email.as_str());
    assert_eq!(full["clinicalNotes"], "persistent cough for three weeks");
    assert_eq!(full["images"][0]["dicomMetadata"]["PatientID"], "MRN-0001");
}

#[tokio::test]
async fn a_super_admin_reads_the_audit_trail_of_a_report_without_its_health_values() {
    // Arrange: a report uploaded and scored HIGH by the AI.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let id = analysed_report(&app, &c, "HIGH").await;
    let audit = "query($f: AuditLogFilter) { auditLogs(filter: $f, first: 50) { edges { node { action entityType entityId oldValues newValues } } } }";

    // Act
    let by_root = app
        .gql(Some(&c.root.access), audit, json!({"f": {"entityId": id}}))
        .await;
    let by_admin = app
        .gql(
            Some(&c.org.admin.access),
            audit,
            json!({"f": {"entityId": id}}),
        )
        .await;
    let memberships = app
        .gql(
            Some(&c.root.access),
            audit,
            json!({"f": {"actions": ["membership.add"], "organizationId": c.org.id}}),
        )
        .await;

    // Assert: the super admin sees what was done to which report, not the study type or the
    // risk level; the hospital's admin sees both; rows of other kinds keep their values.
    let root_rows = nodes(by_root.data(), "auditLogs");
    let actions: HashSet<&str> = root_rows
        .iter()
        .map(|n| n["action"].as_str().expect("action"))
        .collect();
    assert!(actions.contains("medical_report.create"), "{actions:?}");
    assert!(actions.contains("medical_report.analyze"), "{actions:?}");
    for n in &root_rows {
        assert_eq!(n["entityType"], "medical_report");
        assert_eq!(n["entityId"], id.as_str());
        assert!(n["oldValues"].is_null() && n["newValues"].is_null(), "{n}");
    }
    let text = by_root.body.to_string();
    assert!(
        !text.contains("HIGH") && !text.contains("Chest X-ray"),
        "{text}"
    );
    let admin_rows = nodes(by_admin.data(), "auditLogs");
    let analysed = admin_rows
        .iter()
        .find(|n| n["action"] == "medical_report.analyze")
        .expect("analysis row");
    assert_eq!(analysed["newValues"]["riskLevel"], "HIGH");
    let created = admin_rows
        .iter()
        .find(|n| n["action"] == "medical_report.create")
        .expect("creation row");
    assert_eq!(created["newValues"]["studyType"], "Chest X-ray");
    let added = nodes(memberships.data(), "auditLogs");
    assert!(!added.is_empty());
    assert!(added.iter().all(|n| n["newValues"]["role"].is_string()));
}

#[tokio::test]
async fn the_uploader_and_the_reviewer_show_their_contacts_to_their_colleagues_only() {
    // Arrange: a radiologist and a doctor with phones; a report they uploaded and reviewed.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let radiologist = signed_in_with_phone(&app, "rad2@clinic.example", "+919800000001").await;
    let doctor = signed_in_with_phone(&app, "doc2@clinic.example", "+919800000002").await;
    app.add_member(&c.org.admin, &c.org.id, &radiologist.email, "RADIOLOGIST")
        .await;
    app.add_member(&c.org.admin, &c.org.id, &doctor.email, "DOCTOR")
        .await;
    let r = app
        .gql(
            Some(&radiologist.access),
            CREATE,
            json!({"i": report_input(&c.org.id, &c.patient.user_id)}),
        )
        .await;
    let id = r.data()["createMedicalReport"]["medicalReport"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    claim(&app, &c.ai, &c.org.id, 1).await.data();
    app.gql(
        Some(&c.ai),
        ANALYSE,
        json!({"i": analysis_input(&id, "LOW")}),
    )
    .await
    .data();
    app.gql(
        Some(&doctor.access),
        REVIEW,
        json!({"i": review_input(&id, "ROUTINE", "LOW", true, 4)}),
    )
    .await
    .data();
    let records = api_client(&app, &c.org.admin, &c.org.id, "HIS", &["reports:read"])
        .await
        .token;
    let read = |token: String| {
        let app = &app;
        let id = id.clone();
        async move {
            let r = app
                .gql(
                    Some(&token),
                    "query($id: ID!) { medicalReport(id: $id) { uploadedBy { fullName email phone } reviews { doctor { fullName email phone } } } }",
                    json!({"id": id}),
                )
                .await;
            let m = &r.data()["medicalReport"];
            [m["uploadedBy"].clone(), m["reviews"][0]["doctor"].clone()]
        }
    };

    // Act
    let by_admin = read(c.org.admin.access.clone()).await;
    let by_doctor = read(c.doctor.access.clone()).await;
    let by_patient = read(c.patient.access.clone()).await;
    let by_client = read(records).await;

    // Assert
    for colleagues in [&by_admin, &by_doctor] {
        assert_eq!(colleagues[0]["phone"], "+919800000001");
        assert_eq!(colleagues[0]["email"], radiologist.email.as_str());
        assert_eq!(colleagues[1]["phone"], "+919800000002");
    }
    for person in by_patient.iter().chain(&by_client) {
        assert_eq!(person["fullName"], "Phone Person");
        assert!(
            person["phone"].is_null() && person["email"].is_null(),
            "{person}"
        );
    }
}

#[tokio::test]
async fn a_report_for_someone_who_is_not_a_patient_of_the_organization_is_not_found_and_writes_nothing()
 {
    // Arrange: a stranger; a patient of another hospital; a patient who cancelled their only
    // booking here; an id no account has.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let stranger = app.signed_in("stranger@x.example").await;
    let elsewhere = Clinic::with_root(&app, c.root.clone(), "OTHER").await;
    let cancelled = app.signed_in("cancelled@x.example").await;
    seen_at(&app, &c.org.id, &c.doctor, &cancelled).await;
    entity::consultation::Entity::update_many()
        .col_expr(
            entity::consultation::Column::Status,
            sea_orm::sea_query::Expr::value(entity::ConsultationStatus::Cancelled),
        )
        .filter(
            entity::consultation::Column::PatientId
                .eq(Uuid::parse_str(&cancelled.user_id).expect("uuid")),
        )
        .exec(&app.db)
        .await
        .expect("cancel");
    let reports_before = app.count("SELECT COUNT(*) FROM medical_reports").await;
    let upload = |patient: String| {
        let app = &app;
        let token = c.radiologist.access.clone();
        let org = c.org.id.clone();
        async move {
            app.gql(
                Some(&token),
                CREATE,
                json!({"i": report_input(&org, &patient)}),
            )
            .await
        }
    };

    // Act
    let refused = [
        upload(stranger.user_id.clone()).await,
        upload(elsewhere.patient.user_id.clone()).await,
        upload(cancelled.user_id.clone()).await,
        upload(Uuid::now_v7().to_string()).await,
    ];
    let accepted = upload(c.patient.user_id.clone()).await;

    // Assert: the same answer whether or not the account exists, and no row written.
    for r in &refused {
        assert_eq!(r.code(), Some("NOT_FOUND"), "{}", r.body);
        assert_eq!(r.body["errors"][0]["message"], "patient not found");
        assert!(r.body["data"]["createMedicalReport"].is_null());
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM medical_reports").await,
        reports_before + 1
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM report_images").await, 2);
    assert!(accepted.code().is_none(), "{}", accepted.body);
}

#[tokio::test]
async fn image_urls_must_be_https_on_an_allowed_host() {
    // Arrange: a server that admits images from imaging.example only.
    let app = spawn_app_with(&[("IMAGE_URL_HOSTS", "imaging.example")]).await;
    let c = Clinic::new(&app).await;
    let with_url = |n: usize, url: &str| {
        let mut i = report_input(&c.org.id, &c.patient.user_id);
        i["images"][n]["url"] = json!(url);
        json!({"i": i})
    };
    let upload = async |vars: Value| app.gql(Some(&c.radiologist.access), CREATE, vars).await;

    // Act
    let refused = [
        upload(with_url(1, "https://evil.example/s/2.png")).await,
        upload(with_url(1, "https://imaging.example@evil.example/s/2.png")).await,
        upload(with_url(1, "https://imaging.example.evil.example/s/2.png")).await,
        upload(with_url(0, "http://imaging.example/s/1.dcm")).await,
    ];
    let accepted = upload(with_url(1, "https://IMAGING.example:443/s/2.png")).await;

    // Assert
    for (r, field) in refused.iter().zip([
        "input.images.1.url",
        "input.images.1.url",
        "input.images.1.url",
        "input.images.0.url",
    ]) {
        assert_eq!(r.code(), Some("BAD_USER_INPUT"), "{}", r.body);
        assert_eq!(r.field(), Some(field));
    }
    assert!(accepted.code().is_none(), "{}", accepted.body);
    assert_eq!(app.count("SELECT COUNT(*) FROM medical_reports").await, 1);
}

#[tokio::test]
async fn in_production_without_an_image_host_list_only_storage_locations_are_accepted() {
    // Arrange: a production server with a storage prefix and no IMAGE_URL_HOSTS.
    let app = spawn_app_with(&[
        ("APP_ENV", "production"),
        ("REPORT_STORAGE_PREFIXES", "s3://imaging/"),
    ])
    .await;
    let c = Clinic::new(&app).await;
    let with_urls = |first: &str, second: &str| {
        let mut i = report_input(&c.org.id, &c.patient.user_id);
        i["images"][0]["url"] = json!(first);
        i["images"][1]["url"] = json!(second);
        json!({"i": i})
    };

    // Act
    let from_a_host = app
        .gql(
            Some(&c.radiologist.access),
            CREATE,
            with_urls("s3://imaging/s/1.dcm", "https://imaging.example/s/2.png"),
        )
        .await;
    let from_storage = app
        .gql(
            Some(&c.radiologist.access),
            CREATE,
            with_urls("s3://imaging/s/1.dcm", "s3://imaging/s/2.png"),
        )
        .await;

    // Assert
    assert_eq!(from_a_host.code(), Some("BAD_USER_INPUT"));
    assert_eq!(from_a_host.field(), Some("input.images.1.url"));
    assert!(from_storage.code().is_none(), "{}", from_storage.body);
    assert_eq!(app.count("SELECT COUNT(*) FROM medical_reports").await, 1);
}

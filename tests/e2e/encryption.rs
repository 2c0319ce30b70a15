//! Field encryption (issue 17): what the API writes into a sealed column is ciphertext under
//! the current key in the database and plain text to its readers; `rotate-keys` while the
//! API serves loses nothing and leaves nothing under an old key or in clear; decrypting a
//! page costs no statement.

use entity::sealed::Keyring;
use futures_util::future::join_all;
use lifeflow::sealing::{SEALED_COLUMNS, rotate};
use lifeflow_tests::{
    fixtures::{
        api_client,
        blood::{self, Network, accept, create_request, request_input, request_of, units},
        care::{
            Clinic, act, add_coverage, at, book_with, consultation_of, plan_id, prescribe, rate,
            seen_at,
        },
        donors::{donor_input, register_donor},
        member,
        mfa::enrol_mfa,
        nodes, org_north,
    },
    *,
};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

/// Every value of a sealed column, as stored (NULLs left out).
async fn stored(app: &TestApp, table: &str, column: &str) -> Vec<String> {
    let backend = app.db.get_database_backend();
    let rows = app
        .db
        .query_all_raw(Statement::from_string(
            backend,
            format!("SELECT {column} FROM {table} WHERE {column} IS NOT NULL"),
        ))
        .await
        .expect("raw select");
    rows.iter()
        .map(|r| r.try_get_by_index::<String>(0).expect("text"))
        .collect()
}

/// Every stored value of every sealed column, by `table.column`.
async fn all_stored(app: &TestApp) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for (table, columns) in SEALED_COLUMNS {
        for c in *columns {
            out.push((format!("{table}.{c}"), stored(app, table, c).await));
        }
    }
    out
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

#[tokio::test]
async fn every_encrypted_field_written_through_the_api_is_ciphertext_in_the_database_and_plain_to_its_readers()
 {
    // Arrange: a donor, a blood request, a consultation with its prescription, and a
    // reviewed imaging report, each written through the API with recognisable text.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let ngo = org_north(&app, &net.root, "NGO-1", "NGO", "admin@ngo.example", 1.0).await;
    let mut input = donor_input(Some(&ngo.id), "Kavya Menon", "+919812345678");
    input["address"] = json!("42 Secret Lane, Jayanagar");
    input["dateOfBirth"] = json!("1987-06-05");
    let donor = register_donor(&app, &ngo.admin, input).await;
    let mut req = request_input(&net.hospital.id, "O_POS", "RED_CELLS", 1);
    req["patientName"] = json!("Ravi Shankar Patient");
    req["medicalNotes"] = json!("Haemorrhage after surgery");
    let request = create_request(&app, &net.doctor, req).await;

    let c = Clinic::new(&app).await;
    let booked = book_with(
        &app,
        &c.patient,
        json!({"doctorId": c.doctor_id, "scheduledAt": at(2, 10, 0), "durationMinutes": 30,
               "consultationType": "VIDEO", "symptoms": "Night sweats and weight loss"}),
    )
    .await;
    let consultation = s(&consultation_of(&booked, "bookConsultation")["id"]).to_string();
    act(
        &app,
        &c.doctor,
        "confirmConsultation",
        &consultation,
        json!({}),
    )
    .await
    .data();
    act(
        &app,
        &c.doctor,
        "startConsultation",
        &consultation,
        json!({}),
    )
    .await
    .data();
    act(
        &app,
        &c.doctor,
        "completeConsultation",
        &consultation,
        json!({"diagnosis": "Suspected tuberculosis", "notes": "Sputum test ordered"}),
    )
    .await
    .data();
    prescribe(&app, &c.doctor, &consultation).await.data();
    // The doctor flags a risk and the clinic's admin resolves it with a note.
    let flagged = app
        .gql(
            Some(&c.doctor.access),
            "mutation($i: RaiseRiskFlagInput!) { raiseRiskFlag(input: $i) { riskFlag { id } } }",
            json!({"i": {"consultationId": consultation, "riskType": "SAFETY", "severity": "LOW",
                         "description": "Lives alone"}}),
        )
        .await;
    app.gql(
        Some(&c.admin.access),
        "mutation($i: ResolveRiskFlagInput!) { resolveRiskFlag(input: $i) { riskFlag { id } } }",
        json!({"i": {"riskFlagId": flagged.data()["raiseRiskFlag"]["riskFlag"]["id"],
                     "note": "Neighbour checks in daily"}}),
    )
    .await
    .data();
    // The clinic's admin schedules a care call with notes.
    app.gql(
        Some(&c.admin.access),
        "mutation($i: ScheduleCareCallInput!) { scheduleCareCall(input: $i) { careCall { id } } }",
        json!({"i": {"organizationId": c.org, "patientId": c.patient.user_id, "callType": "FOLLOW_UP",
                     "scheduledAt": at(3, 10, 0), "notes": "Ask about night sweats"}}),
    )
    .await
    .data();
    // The patient rates it, and the doctor writes the patient's medical history.
    rate(
        &app,
        &c.patient,
        &consultation,
        5,
        Some("Listened carefully"),
    )
    .await
    .data();
    app.gql(
        Some(&c.doctor.access),
        "mutation($i: UpdateMedicalHistoryInput!) { updateMedicalHistory(input: $i) { medicalHistory { allergies } } }",
        json!({"i": {"patientId": c.patient.user_id, "allergies": ["Sulfa drugs"],
                     "conditions": ["Diabetes"], "medications": ["Metformin"],
                     "surgeries": ["Cholecystectomy"]}}),
    )
    .await
    .data();
    // The patient adds an insurance coverage with their member number.
    let plan = plan_id(&app, &c, "HMO-ENC", 0).await;
    add_coverage(&app, &c.patient, &plan, true, 80).await.data();
    let coverage_read = app
        .gql(
            Some(&c.patient.access),
            "{ myCoverages { memberNumber } }",
            json!({}),
        )
        .await;

    let clinic = org_north(
        &app,
        &net.root,
        "IMG-1",
        "HOSPITAL",
        "admin@img.example",
        1.0,
    )
    .await;
    let radiologist = member(&app, &clinic, "rad@img.example", "RADIOLOGIST").await;
    let doctor = member(&app, &clinic, "doc@img.example", "DOCTOR").await;
    let patient = app.signed_in("patient@img.example").await;
    seen_at(&app, &clinic.id, &doctor, &patient).await;
    let ai = api_client(
        &app,
        &clinic.admin,
        &clinic.id,
        "AI",
        &["reports:analysis:write"],
    )
    .await
    .token;
    let created = app
        .gql(
            Some(&radiologist.access),
            "mutation($i: CreateMedicalReportInput!) { createMedicalReport(input: $i) { medicalReport { id } } }",
            json!({"i": {"organizationId": clinic.id, "patientId": patient.user_id,
                         "studyType": "Chest X-ray", "clinicalNotes": "Cough with haemoptysis",
                         "images": [{"url": "https://imaging.example/s/1.png", "imageType": "XRAY",
                                     "format": "PNG", "width": 1024, "height": 1024, "sizeBytes": 1000}]}}),
        )
        .await;
    let report = s(&created.data()["createMedicalReport"]["medicalReport"]["id"]).to_string();
    app.gql(
        Some(&ai),
        "mutation($i: ClaimReportsInput!) { claimReportsForAnalysis(input: $i) { medicalReports { id } } }",
        json!({"i": {"organizationId": clinic.id, "limit": 1}}),
    )
    .await
    .data();
    app.gql(
        Some(&ai),
        "mutation($i: SubmitAiAnalysisInput!) { submitAiAnalysis(input: $i) { medicalReport { id } } }",
        json!({"i": {"reportId": report, "modelName": "chest-xr", "modelVersion": "2", "riskLevel": "HIGH",
                     "probabilities": {"low": 0.05, "medium": 0.15, "high": 0.8},
                     "findings": {"abnormalities": []}, "processingTimeMs": 10, "imageQualityScore": 0.9}}),
    )
    .await
    .data();
    app.gql(
        Some(&doctor.access),
        "mutation($i: ReviewMedicalReportInput!) { reviewMedicalReport(input: $i) { medicalReport { id } } }",
        json!({"i": {"reportId": report, "notes": "Compared with films from March",
                     "clinicalFindings": "Cavitating lesion in the right apex", "confirmsAi": true,
                     "aiAccuracyRating": 5, "doctorRiskLevel": "HIGH", "urgency": "ROUTINE"}}),
    )
    .await
    .data();
    // A transfusion of an issued unit, and an account enrolling in MFA.
    net.stock(&app, units("ENC", "O_POS", "RED_CELLS", 1)).await;
    let issued = net.nurse_request(&app, "O_POS", "RED_CELLS", 1).await;
    accept(&app, &net.bank_staff, &issued, &net.bank.id)
        .await
        .data();
    let fulfilled = blood::act(
        &app,
        &net.bank_staff,
        "fulfillBloodRequest",
        json!({"requestId": issued, "bloodBankId": net.bank.id}),
    )
    .await;
    let unit = s(&request_of(&fulfilled, "fulfillBloodRequest")["units"][0]["id"]).to_string();
    app.gql(
        Some(&net.doctor.access),
        "mutation($i: RecordTransfusionInput!) { recordTransfusion(input: $i) { transfusion { id } } }",
        json!({"i": {"unitId": unit, "patientReference": "MRN-Confidential-77",
                     "reaction": "NONE", "severity": "MILD"}}),
    )
    .await
    .data();
    let mfa_secret = enrol_mfa(&app, &net.doctor).await.secret;
    let secrets = [
        "+919812345678",
        "Secret Lane",
        "1987-06-05",
        "Ravi Shankar",
        "Haemorrhage",
        "Night sweats",
        "tuberculosis",
        "Sputum",
        "Paracetamol",
        "Rest and fluids",
        "haemoptysis",
        "Compared with films",
        "Cavitating",
        "MRN-Confidential",
        "Listened carefully",
        "Sulfa drugs",
        "Diabetes",
        "Metformin",
        "Cholecystectomy",
        "Neighbour checks",
        "MEM-4417",
        mfa_secret.as_str(),
    ];

    // Act: read the raw rows, and read through the API as the authorized readers.
    let raw = all_stored(&app).await;
    let donor_read = app
        .gql(
            Some(&ngo.admin.access),
            "query($id: ID!) { donor(id: $id) { phone dateOfBirth address } }",
            json!({"id": donor}),
        )
        .await;
    let request_read = app
        .gql(
            Some(&net.doctor.access),
            "query($id: ID!) { bloodRequest(id: $id) { patientName medicalNotes } }",
            json!({"id": request}),
        )
        .await;
    let consultation_read = app
        .gql(
            Some(&c.patient.access),
            "query($id: ID!) { consultation(id: $id) { symptoms diagnosis notes prescriptions { instructions medications { name } } } }",
            json!({"id": consultation}),
        )
        .await;
    let report_read = app
        .gql(
            Some(&doctor.access),
            "query($id: ID!) { medicalReport(id: $id) { clinicalNotes findings reviews { notes clinicalFindings } } }",
            json!({"id": report}),
        )
        .await;

    // Assert: every sealed column holds values, all under the current key, none readable.
    for (column, values) in &raw {
        assert!(!values.is_empty(), "{column}: the flow wrote nothing here");
        for v in values {
            assert!(v.starts_with("v1:t2:"), "{column} is not sealed: {v}");
            for secret in secrets {
                assert!(!v.contains(secret), "{column} shows {secret:?}");
            }
        }
    }
    let d = &donor_read.data()["donor"];
    assert_eq!(d["phone"], "+919812345678");
    assert_eq!(d["dateOfBirth"], "1987-06-05");
    assert_eq!(d["address"], "42 Secret Lane, Jayanagar");
    let r = &request_read.data()["bloodRequest"];
    assert_eq!(r["patientName"], "Ravi Shankar Patient");
    assert_eq!(r["medicalNotes"], "Haemorrhage after surgery");
    let k = &consultation_read.data()["consultation"];
    assert_eq!(k["symptoms"], "Night sweats and weight loss");
    assert_eq!(k["diagnosis"], "Suspected tuberculosis");
    assert_eq!(k["notes"], "Sputum test ordered");
    assert_eq!(k["prescriptions"][0]["instructions"], "Rest and fluids");
    assert_eq!(
        k["prescriptions"][0]["medications"][0]["name"],
        "Paracetamol"
    );
    assert_eq!(
        coverage_read.data()["myCoverages"][0]["memberNumber"],
        "MEM-4417-0093"
    );
    let m = &report_read.data()["medicalReport"];
    assert_eq!(m["clinicalNotes"], "Cough with haemoptysis");
    assert_eq!(m["findings"], "Cavitating lesion in the right apex");
    assert_eq!(m["reviews"][0]["notes"], "Compared with films from March");
    assert_eq!(
        m["reviews"][0]["clinicalFindings"],
        "Cavitating lesion in the right apex"
    );
}

#[tokio::test]
async fn a_second_donor_with_the_same_phone_is_refused_through_the_blind_index() {
    // Arrange
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let ngo = org_north(&app, &root, "NGO-1", "NGO", "admin@ngo.example", 1.0).await;
    register_donor(
        &app,
        &ngo.admin,
        donor_input(Some(&ngo.id), "First", "+919800000001"),
    )
    .await;

    // Act
    let again = app
        .gql(
            Some(&ngo.admin.access),
            "mutation($i: RegisterDonorInput!) { registerDonor(input: $i) { donor { id } } }",
            json!({"i": donor_input(Some(&ngo.id), "Second", "+919800000001")}),
        )
        .await;

    // Assert
    assert_eq!(again.code(), Some("CONFLICT"));
    assert_eq!(again.field(), Some("input.phone"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM donors WHERE phone_index IS NOT NULL")
            .await,
        1
    );
}

/// A keyring holding only the old test key `t1`.
fn old_ring() -> Keyring {
    lifeflow::sealing::keyring_from(&format!("t1:{TEST_KEY_T1}"), TEST_BLIND_INDEX_KEY)
        .expect("old ring")
}

#[tokio::test]
async fn a_key_rotation_while_requests_run_loses_nothing_and_leaves_no_row_under_the_old_key() {
    // Arrange: requests and donors written through the API, then half of them rewritten as
    // if from before: sealed under the old key `t1`, or in clear (with no blind index).
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let ngo = org_north(&app, &net.root, "NGO-1", "NGO", "admin@ngo.example", 1.0).await;
    let mut requests = Vec::new();
    for i in 0..12 {
        let mut req = request_input(&net.hospital.id, "O_POS", "RED_CELLS", 1);
        req["patientName"] = json!(format!("Patient {i}"));
        req["medicalNotes"] = json!(format!("Notes {i}"));
        requests.push((create_request(&app, &net.doctor, req).await, i));
    }
    let mut donors = Vec::new();
    for i in 0..6 {
        let phone = format!("+91981000{i:04}");
        let id = register_donor(
            &app,
            &ngo.admin,
            donor_input(Some(&ngo.id), &format!("Donor {i}"), &phone),
        )
        .await;
        donors.push((id, phone));
    }
    let old = old_ring();
    let backend = app.db.get_database_backend();
    let exec = |sql: String| {
        let db = app.db.clone();
        async move {
            db.execute_raw(Statement::from_string(backend, sql))
                .await
                .expect("rewrite")
        }
    };
    let id_lit = |id: &str| fixtures::id_lit(&app, id);
    for (id, i) in requests.iter().step_by(2) {
        let (name, notes) = if i % 4 == 0 {
            (
                old.seal(&format!("Patient {i}")),
                old.seal(&format!("Notes {i}")),
            )
        } else {
            (format!("Patient {i}"), format!("Notes {i}"))
        };
        exec(format!(
            "UPDATE blood_requests SET patient_name = '{name}', medical_notes = '{notes}' WHERE id = {}",
            id_lit(id)
        ))
        .await;
    }
    for (id, phone) in donors.iter().step_by(2) {
        exec(format!(
            "UPDATE donors SET phone = '{}', phone_index = NULL, date_of_birth = '{}' WHERE id = {}",
            phone,
            old.seal("1990-04-12"),
            id_lit(id)
        ))
        .await;
    }
    let before_old = stored(&app, "blood_requests", "patient_name")
        .await
        .iter()
        .filter(|v| !v.starts_with("v1:t2:"))
        .count();

    // Act: rotate in batches of 2 while the hospital writes more requests and reads its page.
    let rotation = rotate(&app.db, 2, false);
    let writers = join_all((12..24).map(|i| {
        let app = &app;
        let net = &net;
        async move {
            let mut req = request_input(&net.hospital.id, "O_POS", "RED_CELLS", 1);
            req["patientName"] = json!(format!("Patient {i}"));
            req["medicalNotes"] = json!(format!("Notes {i}"));
            create_request(app, &net.doctor, req).await;
            app.gql(
                Some(&net.doctor.access),
                "{ bloodRequests(first: 50) { edges { node { id patientName } } } }",
                json!({}),
            )
            .await
            .data();
        }
    }));
    let (rotated, _) = tokio::join!(rotation, writers);
    let rotated = rotated.expect("rotation");

    // Assert: every value is under the current key, and every reader sees what was written.
    assert!(
        before_old >= 6,
        "the arrangement left {before_old} old values"
    );
    assert!(rotated.rows >= 9, "{rotated:?}");
    for (column, values) in all_stored(&app).await {
        for v in values {
            assert!(v.starts_with("v1:t2:"), "{column} left behind: {v}");
        }
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM donors WHERE phone_index IS NULL")
            .await,
        0
    );
    let page = app
        .gql(
            Some(&net.doctor.access),
            "{ bloodRequests(first: 50) { edges { node { patientName medicalNotes } } } }",
            json!({}),
        )
        .await;
    let mut names: Vec<String> = nodes(page.data(), "bloodRequests")
        .iter()
        .map(|n| {
            let name = s(&n["patientName"]).to_string();
            let i = name.trim_start_matches("Patient ");
            assert_eq!(s(&n["medicalNotes"]), format!("Notes {i}"));
            name
        })
        .collect();
    names.sort();
    let mut expected: Vec<String> = (0..24).map(|i| format!("Patient {i}")).collect();
    expected.sort();
    assert_eq!(names, expected);
    for (id, phone) in &donors {
        let d = app
            .gql(
                Some(&ngo.admin.access),
                "query($id: ID!) { donor(id: $id) { phone dateOfBirth } }",
                json!({"id": id}),
            )
            .await;
        assert_eq!(d.data()["donor"]["phone"], json!(phone));
        assert_eq!(d.data()["donor"]["dateOfBirth"], "1990-04-12");
    }
    let again = rotate(&app.db, 2, false).await.expect("second rotation");
    assert_eq!(again.rows, 0, "nothing is left to rotate");
}

#[tokio::test]
async fn a_page_of_donors_with_their_encrypted_fields_costs_the_same_for_2_and_10() {
    // Arrange
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let ngo = org_north(&app, &root, "NGO-1", "NGO", "admin@ngo.example", 1.0).await;
    let add = async |from: usize, to: usize| {
        for i in from..to {
            let mut input = donor_input(
                Some(&ngo.id),
                &format!("Donor {i}"),
                &format!("+9198200{i:05}"),
            );
            input["address"] = json!(format!("{i} Main Road"));
            register_donor(&app, &ngo.admin, input).await;
        }
    };
    const PAGE: &str = "{ donors(first: 50) { edges { node { id phone dateOfBirth address } } } }";
    add(0, 2).await;

    // Act
    let two = app.gql(Some(&ngo.admin.access), PAGE, json!({})).await;
    add(2, 10).await;
    let ten = app.gql(Some(&ngo.admin.access), PAGE, json!({})).await;

    // Assert
    let listed = nodes(ten.data(), "donors");
    assert_eq!(listed.len(), 10);
    assert!(
        listed
            .iter()
            .all(|n| s(&n["address"]).ends_with("Main Road"))
    );
    assert_eq!(nodes(two.data(), "donors").len(), 2);
    assert_eq!(two.statements(), ten.statements());
}

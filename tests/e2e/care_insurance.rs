//! Insurance (DESIGN §7.8): super admins keep the plan catalogue, patients add and end their
//! coverages (one primary in force), doctors say which plans they accept, a booking names a
//! coverage only when it holds on the day for a plan the doctor accepts, and the payment of a
//! covered consultation splits the fee between the insurer and the patient.

use chrono::{Duration, Utc};
use lifeflow_tests::{
    fixtures::care::*,
    matrix::{Outcome::*, Row, mutation},
    *,
};
use serde_json::json;

/// The clinic, a plan the doctor accepts (90%, copay 150.00 INR) and the patient's primary
/// coverage of it.
async fn insured(app: &TestApp) -> (Clinic, String, String) {
    let c = Clinic::new(app).await;
    let plan = plan_id(app, &c, "HMO-GOLD", 15_000).await;
    accept_plans(app, &c.doctor, &[&plan]).await.data();
    let coverage = coverage_id(app, &c.patient, &plan, true, 90).await;
    (c, plan, coverage)
}

fn consultation_id(r: &Gql) -> String {
    r.data()["bookConsultation"]["consultation"]["id"]
        .as_str()
        .expect("consultation id")
        .to_string()
}

#[tokio::test]
async fn a_super_admin_keeps_the_plan_catalogue_that_every_signed_in_user_reads() {
    // Arrange
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;

    // Act
    let created = create_plan(&app, &c.root, " ppo-silver ", 5_000).await;
    let taken = create_plan(&app, &c.root, "PPO-SILVER", 0).await;
    let bad_code = create_plan(&app, &c.root, "PPO SILVER", 0).await;
    let id = created.data()["createInsurancePlan"]["plan"]["id"].clone();
    let ended = (Utc::now() - Duration::days(1)).date_naive().to_string();
    let updated = app
        .gql(
            Some(&c.root.access),
            &format!("mutation($i: UpdateInsurancePlanInput!) {{ updateInsurancePlan(input: $i) {{ plan {{ {PLAN} }} }} }}"),
            json!({"i": {"planId": id, "name": "Silver PPO", "planType": "PPO", "copayMinor": 7_500}}),
        )
        .await;
    create_plan(&app, &c.root, "EPO-OLD", 0).await.data();
    let old = app
        .gql(
            Some(&c.root.access),
            "{ insurancePlans(first: 10) { edges { node { id planCode } } } }",
            json!({}),
        )
        .await;
    let old_id = old.data()["insurancePlans"]["edges"][0]["node"]["id"].clone();
    app.gql(
        Some(&c.root.access),
        "mutation($i: UpdateInsurancePlanInput!) { updateInsurancePlan(input: $i) { plan { id } } }",
        json!({"i": {"planId": old_id, "activeUntil": ended}}),
    )
    .await
    .data();
    let today = Utc::now().date_naive().to_string();
    let all = app
        .gql(
            Some(&c.patient.access),
            &format!(
                "{{ insurancePlans(first: 10) {{ totalCount edges {{ node {{ {PLAN} }} }} }} }}"
            ),
            json!({}),
        )
        .await;
    let in_force = app
        .gql(
            Some(&c.doctor.access),
            "query($d: NaiveDate!) { insurancePlans(filter: {activeOn: $d}, first: 10) { totalCount edges { node { planCode } } } }",
            json!({"d": today}),
        )
        .await;

    // Assert
    let p = &created.data()["createInsurancePlan"]["plan"];
    assert_eq!(p["planCode"], "PPO-SILVER", "trimmed and upper-cased");
    assert_eq!(p["planType"], "HMO");
    assert_eq!(p["copay"], json!({"amountMinor": 5_000, "currency": "INR"}));
    assert_eq!(p["deductible"]["amountMinor"], 500_000);
    assert_eq!(p["premium"]["amountMinor"], 120_000);
    assert_eq!(taken.code(), Some("CONFLICT"));
    assert_eq!(taken.field(), Some("input.planCode"));
    assert_eq!(bad_code.code(), Some("BAD_USER_INPUT"));
    assert_eq!(bad_code.field(), Some("input.planCode"));
    let u = &updated.data()["updateInsurancePlan"]["plan"];
    assert_eq!(u["name"], "Silver PPO");
    assert_eq!(u["planType"], "PPO");
    assert_eq!(u["copay"]["amountMinor"], 7_500);
    assert_eq!(u["planCode"], "PPO-SILVER");
    let all = &all.data()["insurancePlans"];
    assert_eq!(all["totalCount"], 2);
    assert_eq!(all["edges"][0]["node"]["planCode"], "EPO-OLD", "by code");
    assert_eq!(all["edges"][0]["node"]["activeUntil"], json!(ended));
    let in_force = &in_force.data()["insurancePlans"];
    assert_eq!(in_force["totalCount"], 1);
    assert_eq!(in_force["edges"][0]["node"]["planCode"], "PPO-SILVER");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'insurance_plan.create' AND outcome = 'SUCCESS'")
            .await,
        2
    );
}

#[tokio::test]
async fn every_caller_against_the_insurance_operations() {
    // Arrange: a plan, the patient's terminated coverage (terminating it again fails on its
    // state once allowed).
    let app = spawn_app().await;
    let (c, plan, coverage) = insured(&app).await;
    app.gql(
        Some(&c.patient.access),
        "mutation($i: TerminateCoverageInput!) { terminateCoverage(input: $i) { coverage { id } } }",
        json!({"i": {"coverageId": coverage}}),
    )
    .await
    .data();
    let staff = c.add_staff(&app).await;
    let stranger = app.signed_in("stranger@example.com").await;
    let unknown = uuid::Uuid::now_v7().to_string();

    // Act and assert
    //                                                 anon stranger pat doc adm staff SA
    let rows: Vec<Row<7>> = vec![
        (
            "createInsurancePlan",
            mutation(
                "createInsurancePlan",
                "CreateInsurancePlanInput",
                "plan { id }",
            ),
            // A taken code: past the permission layer it is a CONFLICT.
            json!({"i": {"planCode": "HMO-GOLD", "name": "Again", "planType": "OTHER",
                         "premiumMinor": 1, "deductibleMinor": 0, "copayMinor": 0,
                         "currency": "INR", "activeFrom": "2026-01-01"}}),
            [U, F, F, F, F, F, A],
        ),
        (
            "updateInsurancePlan",
            mutation(
                "updateInsurancePlan",
                "UpdateInsurancePlanInput",
                "plan { id }",
            ),
            json!({"i": {"planId": plan, "activeFrom": "2030-01-01", "activeUntil": "2029-01-01"}}),
            [U, F, F, F, F, F, A],
        ),
        (
            "insurancePlans",
            "{ insurancePlans { totalCount } }".into(),
            json!({}),
            [U, A, A, A, A, A, A],
        ),
        (
            "myCoverages",
            "{ myCoverages { id } }".into(),
            json!({}),
            [U, A, A, A, A, A, A],
        ),
        (
            "addCoverage",
            mutation("addCoverage", "AddCoverageInput", "coverage { id }"),
            json!({"i": {"planId": unknown, "primary": false, "coveragePercent": 50,
                         "memberNumber": "X", "enrolledOn": "2026-01-01"}}),
            [U, A, A, A, A, A, A],
        ),
        (
            "terminateCoverage",
            mutation(
                "terminateCoverage",
                "TerminateCoverageInput",
                "coverage { id }",
            ),
            json!({"i": {"coverageId": coverage}}),
            [U, N, A, N, N, N, N],
        ),
        (
            "setAcceptedPlans",
            mutation("setAcceptedPlans", "SetAcceptedPlansInput", "doctor { id }"),
            json!({"i": {"planIds": [unknown]}}),
            [U, N, N, A, N, N, N],
        ),
    ];
    c.worklist_matrix(&stranger, &staff)
        .telling_not_found_apart()
        .assert(&app, &rows)
        .await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM doctor_accepted_plans")
            .await,
        1,
        "the refused set left the doctor's plans as they were"
    );
}

#[tokio::test]
async fn a_patient_has_at_most_one_primary_coverage_in_force_and_only_they_read_it() {
    // Arrange
    let app = spawn_app().await;
    let (c, plan, first) = insured(&app).await;
    let other = plan_id(&app, &c, "PPO-BASIC", 0).await;

    // Act
    let second_primary = add_coverage(&app, &c.patient, &other, true, 50).await;
    let secondary = add_coverage(&app, &c.patient, &other, false, 50).await;
    let too_much = add_coverage(&app, &c.patient, &other, false, 101).await;
    let terminate = |who: &Session, id: &str| {
        let (who, id) = (who.access.clone(), id.to_string());
        let app = &app;
        async move {
            app.gql(
                Some(&who),
                &format!("mutation($i: TerminateCoverageInput!) {{ terminateCoverage(input: $i) {{ coverage {{ {COVERAGE} }} }} }}"),
                json!({"i": {"coverageId": id}}),
            )
            .await
        }
    };
    let by_doctor = terminate(&c.doctor, &first).await;
    let ended = terminate(&c.patient, &first).await;
    let again = terminate(&c.patient, &first).await;
    let new_primary = add_coverage(&app, &c.patient, &plan, true, 80).await;
    let mine = app
        .gql(
            Some(&c.patient.access),
            &format!("{{ myCoverages {{ {COVERAGE} }} }}"),
            json!({}),
        )
        .await;
    let doctors = app
        .gql(Some(&c.doctor.access), "{ myCoverages { id } }", json!({}))
        .await;

    // Assert
    assert_eq!(second_primary.code(), Some("BAD_USER_INPUT"));
    assert_eq!(second_primary.field(), Some("input.primary"));
    secondary.data();
    assert_eq!(too_much.field(), Some("input.coveragePercent"));
    assert_eq!(by_doctor.code(), Some("NOT_FOUND"));
    let e = &ended.data()["terminateCoverage"]["coverage"];
    assert_eq!(
        e["terminatedOn"],
        json!(Utc::now().date_naive().to_string())
    );
    assert_eq!(e["active"], false);
    assert_eq!(again.code(), Some("INVALID_TRANSITION"));
    new_primary.data();
    let list = mine.data()["myCoverages"]
        .as_array()
        .expect("coverages")
        .clone();
    assert_eq!(list.len(), 3);
    assert!(list.iter().all(|c| c["memberNumber"] == "MEM-4417-0093"));
    assert_eq!(
        list.iter()
            .filter(|c| c["isPrimary"] == true && c["active"] == true)
            .count(),
        1
    );
    assert_eq!(doctors.data()["myCoverages"], json!([]));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM coverages WHERE member_number LIKE '%4417%'")
            .await,
        0,
        "the member number is stored sealed"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'coverage.read' AND entity_type = 'coverage'")
            .await,
        3,
        "each coverage read is audited"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'coverage.add' AND CAST(new_values AS TEXT) LIKE '%4417%'")
            .await,
        0,
        "the audit trail never holds the member number"
    );
}

#[tokio::test]
async fn a_covered_booking_keeps_its_coverage_and_its_payment_splits_the_fee() {
    // Arrange: 90% with a copay of 150.00 (the primary), 80% with a copay of 50.00.
    let app = spawn_app().await;
    let (c, gold, coverage) = insured(&app).await;
    let basic = plan_id(&app, &c, "PPO-BASIC", 5_000).await;
    accept_plans(&app, &c.doctor, &[&gold, &basic]).await.data();
    let second = coverage_id(&app, &c.patient, &basic, false, 80).await;

    // Act
    let booked = c
        .book_covered(&app, &c.patient, &at(2, 10, 0), &coverage)
        .await;
    let id = consultation_id(&booked);
    let moved = act(
        &app,
        &c.patient,
        "rescheduleConsultation",
        &id,
        json!({"scheduledAt": at(3, 10, 0)}),
    )
    .await;
    let moved_id = moved.data()["rescheduleConsultation"]["consultation"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let copay_floor = pay_shares(&app, &c.doctor, &moved_id, 50_000).await;
    let by_percent = c
        .book_covered(&app, &c.patient, &at(4, 10, 0), &second)
        .await;
    let percent_paid = pay_shares(&app, &c.admin, &consultation_id(&by_percent), 50_000).await;
    let uncovered = c.book(&app, &c.patient, &at(5, 10, 0)).await;
    let uncovered_paid = pay_shares(&app, &c.doctor, &uncovered, 50_000).await;
    let read = app
        .gql(
            Some(&c.patient.access),
            "query($id: ID!) { consultation(id: $id) { coverageId payments { insurerShareMinor patientShareMinor plan { planCode } } } }",
            json!({"id": moved_id}),
        )
        .await;

    // Assert
    assert_eq!(
        booked.data()["bookConsultation"]["consultation"]["coverageId"],
        json!(coverage)
    );
    let m = &moved.data()["rescheduleConsultation"]["consultation"];
    assert_eq!(m["rescheduledFromId"], json!(id));
    let p = &copay_floor.data()["recordPayment"]["payment"];
    // 90% of 500.00 leaves 50.00, below the 150.00 copay: the patient pays the copay.
    assert_eq!(p["insurerShareMinor"], 35_000);
    assert_eq!(p["patientShareMinor"], 15_000);
    assert_eq!(p["plan"]["planCode"], "HMO-GOLD");
    let p = &percent_paid.data()["recordPayment"]["payment"];
    // 80% of 500.00 leaves 100.00, above the 50.00 copay.
    assert_eq!(p["insurerShareMinor"], 40_000);
    assert_eq!(p["patientShareMinor"], 10_000);
    assert_eq!(p["plan"]["planCode"], "PPO-BASIC");
    let p = &uncovered_paid.data()["recordPayment"]["payment"];
    assert_eq!(p["insurerShareMinor"], 0);
    assert_eq!(p["patientShareMinor"], 50_000);
    assert!(p["plan"].is_null());
    let r = &read.data()["consultation"];
    assert_eq!(
        r["coverageId"],
        json!(coverage),
        "a move keeps the coverage"
    );
    assert_eq!(r["payments"][0]["insurerShareMinor"], 35_000);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM payments WHERE insurer_share_minor + patient_share_minor = amount_minor")
            .await,
        3
    );
}

#[tokio::test]
async fn a_booking_names_only_the_patients_own_coverage_in_force_for_a_plan_the_doctor_accepts() {
    // Arrange
    let app = spawn_app().await;
    let (c, gold, coverage) = insured(&app).await;
    let unaccepted = plan_id(&app, &c, "EPO-ELSEWHERE", 0).await;
    let not_accepted = coverage_id(&app, &c.patient, &unaccepted, false, 70).await;
    let someone = app.signed_in("someone@example.com").await;
    let theirs = plan_id(&app, &c, "HMO-THEIRS", 0).await;
    accept_plans(&app, &c.doctor, &[&gold, &theirs])
        .await
        .data();
    let someones = coverage_id(&app, &someone, &theirs, true, 100).await;
    let ended = coverage_id(&app, &c.patient, &theirs, false, 100).await;
    app.gql(
        Some(&c.patient.access),
        "mutation($i: TerminateCoverageInput!) { terminateCoverage(input: $i) { coverage { id } } }",
        json!({"i": {"coverageId": ended}}),
    )
    .await
    .data();

    // Act
    let unaccepted_plan = c
        .book_covered(&app, &c.patient, &at(2, 9, 0), &not_accepted)
        .await;
    let someone_elses = c
        .book_covered(&app, &c.patient, &at(2, 10, 0), &someones)
        .await;
    let terminated = c
        .book_covered(&app, &c.patient, &at(2, 11, 0), &ended)
        .await;
    let fine = c
        .book_covered(&app, &c.patient, &at(2, 12, 0), &coverage)
        .await;

    // Assert
    for (what, r) in [
        ("a plan the doctor does not accept", &unaccepted_plan),
        ("someone else's coverage", &someone_elses),
        ("a terminated coverage", &terminated),
    ] {
        assert_eq!(r.code(), Some("BAD_USER_INPUT"), "{what}: {}", r.body);
        assert_eq!(r.field(), Some("input.coverageId"), "{what}");
    }
    fine.data();
    assert_eq!(
        app.count("SELECT COUNT(*) FROM consultations").await,
        1,
        "only the booking under a valid coverage was made"
    );
}

#[tokio::test]
async fn a_page_of_doctors_with_their_accepted_plans_costs_the_same_statements_for_two_or_six() {
    // Arrange: six verified doctors, each accepting two of three plans.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let plans = [
        plan_id(&app, &c, "HMO-A", 0).await,
        plan_id(&app, &c, "PPO-B", 0).await,
        plan_id(&app, &c, "EPO-C", 0).await,
    ];
    let mut doctors = vec![c.doctor.clone()];
    for i in 1..6 {
        let d = app.signed_in(&format!("doctor{i}@example.com")).await;
        doctor_profile(
            &app,
            uuid::Uuid::parse_str(&d.user_id).expect("uuid"),
            None,
            &format!("KMC-{}", 2000 + i),
            "General Medicine",
        )
        .await;
        doctors.push(d);
    }
    for (i, d) in doctors.iter().enumerate() {
        accept_plans(&app, d, &[&plans[i % 3], &plans[(i + 1) % 3]])
            .await
            .data();
    }

    // Act and assert
    doctor_pages_cost_alike(
        &app,
        &c.patient,
        ("acceptedPlans", "planCode copay { amountMinor }"),
        2,
    )
    .await;
}

#[tokio::test]
async fn a_covered_booking_moved_past_the_plans_end_is_refused_and_stays_where_it_was() {
    // Arrange: the plan ends in three days; a covered booking in two.
    let app = spawn_app().await;
    let (c, gold, coverage) = insured(&app).await;
    let until = (Utc::now() + Duration::days(3)).date_naive().to_string();
    app.gql(
        Some(&c.root.access),
        "mutation($i: UpdateInsurancePlanInput!) { updateInsurancePlan(input: $i) { plan { id } } }",
        json!({"i": {"planId": gold, "activeUntil": until}}),
    )
    .await
    .data();
    let id = consultation_id(
        &c.book_covered(&app, &c.patient, &at(2, 10, 0), &coverage)
            .await,
    );

    // Act
    let past_the_end = act(
        &app,
        &c.patient,
        "rescheduleConsultation",
        &id,
        json!({"scheduledAt": at(5, 10, 0)}),
    )
    .await;
    let within = act(
        &app,
        &c.doctor,
        "rescheduleConsultation",
        &id,
        json!({"scheduledAt": at(3, 9, 0)}),
    )
    .await;

    // Assert
    assert_eq!(past_the_end.code(), Some("BAD_USER_INPUT"));
    assert_eq!(past_the_end.field(), Some("input.scheduledAt"));
    within.data();
    assert_eq!(
        app.count("SELECT COUNT(*) FROM consultations WHERE coverage_id IS NOT NULL AND status = 'REQUESTED'")
            .await,
        1,
        "the refused move rolled back; the doctor's move kept the coverage"
    );
}

#[tokio::test]
async fn a_patients_coverages_with_their_plans_cost_the_same_statements_for_one_or_four() {
    // Arrange: one coverage for one patient; four, of four plans, for another.
    let app = spawn_app().await;
    let (c, _, _) = insured(&app).await;
    let many = app.signed_in("many.plans@example.com").await;
    for code in ["PPO-A", "PPO-B", "EPO-C", "HMO-D"] {
        let plan = plan_id(&app, &c, code, 0).await;
        coverage_id(&app, &many, &plan, false, 50).await;
    }
    let read = async |who: &Session| {
        app.gql(
            Some(&who.access),
            &format!("{{ myCoverages {{ {COVERAGE} }} }}"),
            json!({}),
        )
        .await
    };

    // Act
    let one = read(&c.patient).await;
    let four = read(&many).await;

    // Assert
    assert_eq!(one.data()["myCoverages"].as_array().map(Vec::len), Some(1));
    assert_eq!(four.data()["myCoverages"].as_array().map(Vec::len), Some(4));
    assert_eq!(one.statements(), four.statements());
}

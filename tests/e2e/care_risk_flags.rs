//! The risk-flag worklist (DESIGN §7.8): an organization's admins and doctors list its flags
//! and resolve each once with a note; the list costs the same statements for any length.

use futures_util::future::join_all;
use lifeflow_tests::{
    fixtures::care::*,
    matrix::{Outcome::*, Row, mutation},
    *,
};
use serde_json::{Value, json};

const NODE: &str = "id severity status resolutionNote resolvedAt resolvedBy { id } \
    doctor { id user { fullName } } patient { fullName }";

async fn flag(app: &TestApp, c: &Clinic, consultation: &str, severity: &str) -> String {
    let r = app
        .gql(
            Some(&c.doctor.access),
            "mutation($i: RaiseRiskFlagInput!) { raiseRiskFlag(input: $i) { riskFlag { id } } }",
            json!({"i": {"consultationId": consultation, "riskType": "MEDICAL", "severity": severity,
                         "description": "Missed two follow-ups"}}),
        )
        .await;
    r.data()["raiseRiskFlag"]["riskFlag"]["id"]
        .as_str()
        .expect("flag id")
        .to_string()
}

async fn worklist(app: &TestApp, who: &Session, filter: Value) -> Gql {
    app.gql(
        Some(&who.access),
        &format!(
            "query($f: RiskFlagFilter!) {{ riskFlags(filter: $f, first: 50) {{ totalCount edges {{ node {{ {NODE} }} }} }} }}"
        ),
        json!({"f": filter}),
    )
    .await
}

async fn resolve(app: &TestApp, who: &str, id: &str, note: &str) -> Gql {
    app.gql(
        Some(who),
        &format!(
            "mutation($i: ResolveRiskFlagInput!) {{ resolveRiskFlag(input: $i) {{ riskFlag {{ {NODE} }} }} }}"
        ),
        json!({"i": {"riskFlagId": id, "note": note}}),
    )
    .await
}

/// A clinic with `n` flags of increasing severity on completed consultations.
async fn flagged(app: &TestApp, n: usize) -> (Clinic, Vec<String>) {
    let c = Clinic::new(app).await;
    let profile = doctor_profile(
        app,
        uuid::Uuid::parse_str(&c.doctor.user_id).expect("uuid"),
        None,
        "unused",
        "unused",
    )
    .await;
    let consultations = completed_in_db(app, &profile, &c.patient, 0, n).await;
    let mut flags = Vec::new();
    for (i, id) in consultations.iter().enumerate() {
        let severity = ["LOW", "MEDIUM", "HIGH"][i % 3];
        flags.push(flag(app, &c, id, severity).await);
    }
    (c, flags)
}

#[tokio::test]
async fn the_worklist_lists_open_flags_and_each_is_resolved_once_with_a_note() {
    // Arrange: three flags (LOW, MEDIUM, HIGH).
    let app = spawn_app().await;
    let (c, flags) = flagged(&app, 3).await;
    let open = json!({"organizationId": c.org, "status": "OPEN"});

    // Act
    let before = worklist(&app, &c.admin, open.clone()).await;
    let high = worklist(
        &app,
        &c.doctor,
        json!({"organizationId": c.org, "severity": "HIGH"}),
    )
    .await;
    let resolved = resolve(
        &app,
        &c.admin.access,
        &flags[2],
        "Called the patient; rebooked",
    )
    .await;
    let again = resolve(&app, &c.doctor.access, &flags[2], "twice").await;
    let after = worklist(&app, &c.admin, open).await;
    let done = worklist(
        &app,
        &c.admin,
        json!({"organizationId": c.org, "status": "RESOLVED"}),
    )
    .await;

    // Assert
    assert_eq!(before.data()["riskFlags"]["totalCount"], 3);
    let node = &before.data()["riskFlags"]["edges"][0]["node"];
    assert_eq!(node["id"], json!(flags[2]), "newest first");
    assert_eq!(node["doctor"]["user"]["fullName"], "Test Person");
    assert_eq!(node["patient"]["fullName"], "Test Person");
    assert_eq!(high.data()["riskFlags"]["totalCount"], 1);
    let r = &resolved.data()["resolveRiskFlag"]["riskFlag"];
    assert_eq!(r["status"], "RESOLVED");
    assert_eq!(r["resolutionNote"], "Called the patient; rebooked");
    assert_eq!(r["resolvedBy"]["id"], json!(c.admin.user_id));
    assert!(r["resolvedAt"].is_string());
    assert_eq!(again.code(), Some("INVALID_TRANSITION"));
    assert_eq!(after.data()["riskFlags"]["totalCount"], 2);
    let d = &done.data()["riskFlags"];
    assert_eq!(d["totalCount"], 1);
    assert_eq!(
        d["edges"][0]["node"]["resolutionNote"],
        "Called the patient; rebooked"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM risk_flags WHERE resolution_note LIKE '%rebooked%'")
            .await,
        0,
        "the note is stored sealed"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'risk_flag.resolve' AND outcome = 'SUCCESS'")
            .await,
        1
    );
}

#[tokio::test]
async fn staff_patients_other_organizations_and_clients_neither_list_nor_resolve_flags() {
    // Arrange
    let app = spawn_app().await;
    let (c, flags) = flagged(&app, 1).await;
    let staff = c.add_staff(&app).await;
    let other_admin = app.signed_in("admin@elsewhere.example").await;
    app.approved_org(&c.root, &other_admin, "ELSEWHERE", "HOSPITAL")
        .await;

    // Act / Assert
    for who in [&staff, &c.patient, &other_admin, &c.root] {
        let listed = worklist(&app, who, json!({"organizationId": c.org})).await;
        assert_eq!(listed.code(), Some("FORBIDDEN"), "{}", who.email);
        let r = resolve(&app, &who.access, &flags[0], "not mine").await;
        assert_eq!(r.code(), Some("FORBIDDEN"), "{}", who.email);
    }
    let blank = resolve(&app, &c.admin.access, &flags[0], "   ").await;
    assert_eq!(blank.code(), Some("BAD_USER_INPUT"));
    let unknown = resolve(
        &app,
        &c.admin.access,
        &uuid::Uuid::now_v7().to_string(),
        "x",
    )
    .await;
    assert_eq!(unknown.code(), Some("NOT_FOUND"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM risk_flags WHERE status = 'OPEN'")
            .await,
        1
    );
}

#[tokio::test]
async fn ten_resolutions_of_one_flag_at_once_resolve_it_once() {
    // Arrange
    let app = spawn_app().await;
    let (c, flags) = flagged(&app, 1).await;

    // Act
    let results = join_all((0..10).map(|i| {
        let who = if i % 2 == 0 {
            &c.admin.access
        } else {
            &c.doctor.access
        };
        resolve(&app, who, &flags[0], "handled")
    }))
    .await;

    // Assert
    let ok = results.iter().filter(|r| r.code().is_none()).count();
    let refused = results
        .iter()
        .filter(|r| r.code() == Some("INVALID_TRANSITION"))
        .count();
    assert_eq!(
        (ok, refused),
        (1, 9),
        "{:?}",
        results.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'risk_flag.resolve' AND outcome = 'SUCCESS'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_page_of_risk_flags_costs_the_same_statements_for_two_or_twelve() {
    // Arrange
    let app = spawn_app().await;
    let (c, flags) = flagged(&app, 12).await;
    resolve(&app, &c.admin.access, &flags[0], "done")
        .await
        .data();
    let page = async |n: i64| {
        let q = format!(
            "query($f: RiskFlagFilter!) {{ riskFlags(filter: $f, first: {n}) {{ edges {{ node {{ {NODE} }} }} }} }}"
        );
        app.gql(
            Some(&c.admin.access),
            &q,
            json!({"f": {"organizationId": c.org}}),
        )
        .await
    };

    // Act
    let few = page(2).await;
    let many = page(12).await;

    // Assert
    assert_eq!(
        many.data()["riskFlags"]["edges"]
            .as_array()
            .expect("edges")
            .len(),
        12
    );
    few.data();
    assert_eq!(
        few.statements(),
        many.statements(),
        "statements depend on the query's depth, not the page's length"
    );
}

#[tokio::test]
async fn every_caller_against_the_risk_flag_worklist() {
    // Arrange: a resolved flag (resolving it again fails on the state once allowed).
    let app = spawn_app().await;
    let (c, flags) = flagged(&app, 1).await;
    resolve(&app, &c.admin.access, &flags[0], "done")
        .await
        .data();
    let staff = c.add_staff(&app).await;
    let stranger = app.signed_in("stranger@example.com").await;

    // Act and assert
    //                                                 anon stranger pat doc adm staff SA
    let rows: Vec<Row<7>> = vec![
        (
            "riskFlags",
            "query($f: RiskFlagFilter!) { riskFlags(filter: $f) { totalCount } }".into(),
            json!({"f": {"organizationId": c.org}}),
            [U, F, F, A, A, F, F],
        ),
        (
            "resolveRiskFlag",
            mutation("resolveRiskFlag", "ResolveRiskFlagInput", "riskFlag { id }"),
            json!({"i": {"riskFlagId": flags[0], "note": "again"}}),
            [U, F, F, A, A, F, F],
        ),
    ];
    c.worklist_matrix(&stranger, &staff)
        .telling_not_found_apart()
        .assert(&app, &rows)
        .await;
}

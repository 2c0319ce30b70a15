//! Audit: a row for every mutation, a FAILURE row for a refused one, and who may read them.

use lifeflow_tests::*;
use serde_json::json;

async fn rows(app: &TestApp, action: &str, outcome: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) FROM audit_logs WHERE action = '{action}' AND outcome = '{outcome}'"
    ))
    .await
}

#[tokio::test]
async fn every_mutation_leaves_an_audit_row_and_a_refused_one_a_failure_row() {
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let admin = app.signed_in("admin@audit.example").await;
    let member = app.signed_in("member@audit.example").await;
    let org = app
        .approved_org(&root, &admin, "HOSP-AUD", "HOSPITAL")
        .await;
    app.add_member(&admin, &org, &member.email, "STAFF").await;
    let r = app
        .gql(Some(&admin.access), "mutation($i: ChangeMemberRoleInput!) { changeMemberRole(input: $i) { membership { role } } }",
             json!({"i": {"organizationId": org, "userId": member.user_id, "role": "DOCTOR"}}))
        .await;
    r.data();
    for action in [
        "user.register",
        "auth.login",
        "organization.register",
        "organization.approve",
        "membership.add",
        "membership.change_role",
    ] {
        assert!(rows(&app, action, "SUCCESS").await >= 1, "{action}");
    }
    // The change carries the acting role, the organization and old/new values.
    let q = "query($o: ID!) { auditLogs(filter: {organizationId: $o, actions: [\"membership.change_role\"]}) {
        edges { node { actorRole organizationId oldValues newValues outcome requestId ip } } } }";
    let r = app.gql(Some(&admin.access), q, json!({"o": org})).await;
    let node = &r.data()["auditLogs"]["edges"][0]["node"];
    assert_eq!(node["actorRole"], "ADMIN");
    assert_eq!(node["organizationId"], org.as_str());
    assert_eq!(node["oldValues"]["role"], "STAFF");
    assert_eq!(node["newValues"]["role"], "DOCTOR");
    assert!(node["requestId"].is_string() && node["ip"].is_string());
    // A refused mutation: the staff member tries to approve; nothing changes, a FAILURE row stays.
    let r = app
        .gql(Some(&member.access), "mutation($i: OrganizationStatusInput!) { suspendOrganization(input: $i) { organization { status } } }",
             json!({"i": {"organizationId": org, "reason": "x"}}))
        .await;
    assert_eq!(r.code(), Some("FORBIDDEN"));
    assert_eq!(rows(&app, "organization.suspend", "FAILURE").await, 1);
    let code = app
        .count("SELECT COUNT(*) FROM audit_logs WHERE action = 'organization.suspend' AND error_code = 'FORBIDDEN'")
        .await;
    assert_eq!(code, 1);
    // A failed one (valid caller, invalid transition) rolls back and is recorded too.
    let r = app
        .gql(Some(&root.access), "mutation($i: OrganizationStatusInput!) { approveOrganization(input: $i) { organization { status } } }",
             json!({"i": {"organizationId": org}}))
        .await;
    assert_eq!(r.code(), Some("INVALID_TRANSITION"));
    assert_eq!(rows(&app, "organization.approve", "FAILURE").await, 1);
}

#[tokio::test]
async fn a_failed_login_is_audited_without_the_password() {
    let app = spawn_app().await;
    app.signed_in("who@audit.example").await;
    app.try_login("who@audit.example", "guessing the password")
        .await;
    assert_eq!(rows(&app, "auth.login", "FAILURE").await, 1);
    let leaked = app
        .count("SELECT COUNT(*) FROM audit_logs WHERE CAST(new_values AS TEXT) LIKE '%guessing%' OR CAST(old_values AS TEXT) LIKE '%guessing%'")
        .await;
    assert_eq!(leaked, 0);
}

#[tokio::test]
async fn admins_read_their_organizations_audit_rows_and_no_one_else_does() {
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let a = app.signed_in("a@one.example").await;
    let b = app.signed_in("b@two.example").await;
    let staff = app.signed_in("s@one.example").await;
    let one = app.approved_org(&root, &a, "HOSP-A1", "HOSPITAL").await;
    let two = app.approved_org(&root, &b, "HOSP-B2", "HOSPITAL").await;
    app.add_member(&a, &one, &staff.email, "STAFF").await;
    let q = "query($o: ID) { auditLogs(filter: {organizationId: $o}) { totalCount edges { node { organizationId } } } }";
    // An admin without a filter sees only their organizations' rows.
    let r = app.gql(Some(&a.access), q, json!({"o": null})).await;
    let edges = r.data()["auditLogs"]["edges"]
        .as_array()
        .expect("edges")
        .clone();
    assert!(!edges.is_empty());
    assert!(
        edges
            .iter()
            .all(|e| e["node"]["organizationId"] == one.as_str())
    );
    // Another organization's rows are refused, as are staff and plain users.
    assert_eq!(
        app.gql(Some(&a.access), q, json!({"o": two})).await.code(),
        Some("FORBIDDEN")
    );
    assert_eq!(
        app.gql(Some(&staff.access), q, json!({"o": one}))
            .await
            .code(),
        Some("FORBIDDEN")
    );
    assert_eq!(
        app.gql(None, q, json!({"o": one})).await.code(),
        Some("UNAUTHENTICATED")
    );
    // A super admin sees everything.
    let all = app.gql(Some(&root.access), q, json!({"o": null})).await;
    assert!(
        all.data()["auditLogs"]["totalCount"].as_u64()
            > r.data()["auditLogs"]["totalCount"].as_u64()
    );
}

#[tokio::test]
async fn the_schema_offers_no_way_to_change_or_delete_audit_rows() {
    let sdl = lifeflow::schema::sdl();
    let mutation = sdl
        .split("type MutationRoot")
        .nth(1)
        .expect("mutation type");
    let body = &mutation[..mutation.find('}').expect("end")];
    assert!(!body.to_lowercase().contains("audit"), "{body}");
}

//! What an organization's admins manage: its profile (`updateOrganization`) and the list of
//! its API clients (`apiClients`).

use lifeflow_tests::{
    fixtures::{api_client, eventually},
    *,
};
use serde_json::json;
use std::time::Duration;

const UPDATE: &str = "mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) { organization { name phone latitude longitude address } } }";
const CLIENTS: &str = "query($o: ID!) { apiClients(organizationId: $o, first: 20) { totalCount edges { node { id name tokenPrefix scopes lastUsedAt createdBy { id } } } } }";

#[tokio::test]
async fn an_admin_updates_the_profile_and_a_location_change_is_audited_with_old_and_new() {
    // Arrange
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let admin = app.signed_in("admin@a.example").await;
    let org = app.approved_org(&root, &admin, "HOSP-A", "HOSPITAL").await;

    // Act
    let r = app
        .gql(
            Some(&admin.access),
            UPDATE,
            json!({"i": {"organizationId": org, "name": "Kigali General", "phone": "+250 788 000 111",
                          "latitude": -1.95, "longitude": 30.06, "address": null}}),
        )
        .await;

    // Assert
    let o = &r.data()["updateOrganization"]["organization"];
    assert_eq!(o["name"], "Kigali General");
    assert_eq!(o["phone"], "+250788000111");
    assert_eq!(o["latitude"], -1.95);
    assert!(o["address"].is_null());
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_logs WHERE action = 'organization.update' AND outcome = 'SUCCESS' \
             AND CAST(old_values AS TEXT) LIKE '%location%' AND CAST(new_values AS TEXT) LIKE '%-1.95%'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn update_organization_by_anyone_but_its_admins_and_super_admins_is_refused() {
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let admin = app.signed_in("admin@a.example").await;
    let org = app.approved_org(&root, &admin, "HOSP-A", "HOSPITAL").await;
    let staff = app.signed_in("staff@a.example").await;
    app.add_member(&admin, &org, &staff.email, "STAFF").await;
    let other = app.signed_in("admin@b.example").await;
    app.approved_org(&root, &other, "HOSP-B", "HOSPITAL").await;
    let input = json!({"i": {"organizationId": org, "name": "Taken Over"}});

    let by_staff = app.gql(Some(&staff.access), UPDATE, input.clone()).await;
    let by_other = app.gql(Some(&other.access), UPDATE, input.clone()).await;
    let by_nobody = app.gql(None, UPDATE, input.clone()).await;
    let half_a_place = app
        .gql(
            Some(&admin.access),
            UPDATE,
            json!({"i": {"organizationId": org, "latitude": 1.0}}),
        )
        .await;
    let by_root = app
        .gql(
            Some(&root.access),
            UPDATE,
            json!({"i": {"organizationId": org, "city": "Huye"}}),
        )
        .await;

    assert_eq!(by_staff.code(), Some("FORBIDDEN"));
    assert_eq!(by_other.code(), Some("FORBIDDEN"));
    assert_eq!(by_nobody.code(), Some("UNAUTHENTICATED"));
    assert_eq!(half_a_place.field(), Some("input.longitude"));
    by_root.data();
    assert_eq!(
        app.count("SELECT COUNT(*) FROM organizations WHERE name = 'Taken Over'")
            .await,
        0
    );
}

#[tokio::test]
async fn api_clients_lists_the_organizations_clients_without_their_tokens_and_with_last_use() {
    // Arrange
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let admin = app.signed_in("admin@a.example").await;
    let org = app
        .approved_org(&root, &admin, "BANK-A", "BLOOD_BANK")
        .await;
    let used = api_client(&app, &admin, &org, "HIS", &["stock:read"]).await;
    let idle = api_client(&app, &admin, &org, "LIS", &["stock:read"]).await;
    app.gql(
        Some(&used.token),
        "{ organizations { totalCount } }",
        json!({}),
    )
    .await;

    // Act: the use is written off the request's path.
    let r = eventually(Duration::from_secs(10), "lastUsedAt", || async {
        let r = app
            .gql(Some(&admin.access), CLIENTS, json!({"o": org}))
            .await;
        let edges = r.data()["apiClients"]["edges"]
            .as_array()
            .expect("edges")
            .clone();
        edges
            .iter()
            .any(|e| e["node"]["id"] == used.id.as_str() && e["node"]["lastUsedAt"].is_string())
            .then_some(r)
    })
    .await;

    // Assert
    let body = r.body.to_string();
    assert_eq!(r.data()["apiClients"]["totalCount"], 2);
    assert!(!body.contains(&used.token) && !body.contains(&idle.token));
    let idle_row = r.data()["apiClients"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .find(|e| e["node"]["id"] == idle.id.as_str())
        .expect("idle")
        .clone();
    assert!(idle_row["node"]["lastUsedAt"].is_null());
    assert_eq!(idle_row["node"]["createdBy"]["id"], admin.user_id.as_str());
}

#[tokio::test]
async fn api_clients_page_costs_the_same_statements_for_one_client_or_many() {
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let admin = app.signed_in("admin@a.example").await;
    let org = app
        .approved_org(&root, &admin, "BANK-A", "BLOOD_BANK")
        .await;
    let other = app.signed_in("admin@b.example").await;
    let org_b = app
        .approved_org(&root, &other, "BANK-B", "BLOOD_BANK")
        .await;
    api_client(&app, &admin, &org, "one", &["stock:read"]).await;
    for i in 0..6 {
        api_client(&app, &other, &org_b, &format!("c{i}"), &["stock:read"]).await;
    }

    let few = app
        .gql(Some(&root.access), CLIENTS, json!({"o": org}))
        .await;
    let many = app
        .gql(Some(&root.access), CLIENTS, json!({"o": org_b}))
        .await;

    assert_eq!(few.data()["apiClients"]["totalCount"], 1);
    assert_eq!(many.data()["apiClients"]["totalCount"], 6);
    assert_eq!(few.statements(), many.statements());
}

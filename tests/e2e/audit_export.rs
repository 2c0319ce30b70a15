//! The audit trail by period and kind of entity, and its CSV export over HTTP: the rows of
//! the export are the rows `auditLogs` gives the same caller with the same filter, a caller
//! `auditLogs` refuses gets no export, and cells are escaped for spreadsheets.

use chrono::{DateTime, Duration, Utc};
use lifeflow_tests::{
    fixtures::{blood::*, *},
    *,
};
use serde_json::json;

const LOGS: &str =
    "query($f: AuditLogFilter) { auditLogs(filter: $f, first: 100, orderBy: {direction: ASC}) {
  totalCount edges { node { id entityType createdAt } } } }";

fn z(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The ids `auditLogs` gives `who` with `filter`, oldest first.
async fn logged_ids(app: &TestApp, who: &Session, filter: serde_json::Value) -> Vec<String> {
    let r = app.gql(Some(&who.access), LOGS, json!({"f": filter})).await;
    nodes(r.data(), "auditLogs")
        .iter()
        .map(|n| n["id"].as_str().expect("id").to_string())
        .collect()
}

/// `GET /exports/audit.csv` with `params` as `token`'s caller: the status and the body.
async fn export(app: &TestApp, token: Option<&str>, params: &[(&str, &str)]) -> (u16, String) {
    let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut req = app.http.get(format!(
        "{}/exports/audit.csv?{}",
        app.base,
        query.join("&")
    ));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("export answered");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

/// The first cell of each data line.
fn exported_ids(csv: &str) -> Vec<String> {
    csv.split("\r\n")
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').next().expect("id cell").to_string())
        .collect()
}

#[tokio::test]
async fn audit_logs_filter_by_period_and_kind_of_entity() {
    // Arrange: a network's worth of rows, then a mark, then one more request.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let mark = Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    net.nurse_request(&app, "O_POS", "RED_CELLS", 1).await;

    // Act
    let orgs = logged_ids(&app, &net.root, json!({"entityType": "organization"})).await;
    let since = logged_ids(&app, &net.root, json!({"from": z(mark)})).await;
    let before = logged_ids(&app, &net.root, json!({"to": z(mark)})).await;
    let all = logged_ids(&app, &net.root, json!({})).await;
    let reversed = app
        .gql(
            Some(&net.root.access),
            LOGS,
            json!({"f": {"from": z(mark), "to": z(mark - Duration::seconds(1))}}),
        )
        .await;

    // Assert
    let org_rows = app
        .count("SELECT COUNT(*) FROM audit_logs WHERE entity_type = 'organization'")
        .await;
    assert!(org_rows > 0);
    assert_eq!(orgs.len() as i64, org_rows);
    assert_eq!(since.len(), 1, "{since:?}");
    assert_eq!(before.len() + since.len(), all.len());
    assert_eq!(reversed.field(), Some("filter.to"), "{}", reversed.body);
}

#[tokio::test]
async fn the_export_holds_the_rows_auditlogs_gives_the_same_caller() {
    // Arrange
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    net.nurse_request(&app, "O_POS", "RED_CELLS", 1).await;
    let from = z(Utc::now() - Duration::hours(1));

    // Act: the super admin's whole trail, and a hospital admin's requests.
    let (status, all) = export(&app, Some(&net.root.access), &[("from", &from)]).await;
    let (_, mine) = export(
        &app,
        Some(&net.hospital.admin.access),
        &[
            ("organizationId", &net.hospital.id),
            ("entityType", "blood_request"),
        ],
    )
    .await;

    // Assert
    assert_eq!(status, 200);
    assert!(all.starts_with("id,createdAt,outcome,action,"), "{all}");
    assert_eq!(
        exported_ids(&all),
        logged_ids(&app, &net.root, json!({"from": from})).await
    );
    let theirs = logged_ids(
        &app,
        &net.hospital.admin,
        json!({"organizationId": net.hospital.id, "entityType": "blood_request"}),
    )
    .await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(exported_ids(&mine), theirs);
}

#[tokio::test]
async fn a_caller_auditlogs_refuses_gets_no_export() {
    // Arrange
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let plain = app.signed_in("plain@x.example").await;

    // Act
    let anonymous = export(&app, None, &[]).await;
    let user = export(&app, Some(&plain.access), &[]).await;
    let other_org = export(
        &app,
        Some(&net.bank.admin.access),
        &[("organizationId", &net.hospital.id)],
    )
    .await;
    let bad = export(&app, Some(&net.root.access), &[("from", "yesterday")]).await;

    // Assert
    assert_eq!(anonymous.0, 401, "{}", anonymous.1);
    assert_eq!(user.0, 403, "{}", user.1);
    assert_eq!(other_org.0, 403, "{}", other_org.1);
    assert!(!other_org.1.contains("id,createdAt"));
    assert_eq!(bad.0, 400, "{}", bad.1);
}

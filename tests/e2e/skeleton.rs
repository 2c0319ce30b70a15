//! The platform skeleton: limits, HTTP hardening, errors, health, schema.

use lifeflow_tests::{fixtures::readyz, *};
use serde_json::{Value, json};

fn deep_query(depth: usize) -> String {
    // Membership → organization → members → … nests as deep as we like.
    let mut q = String::from("id");
    for _ in 0..depth {
        q = format!("members {{ organization {{ {q} }} }}");
    }
    format!("{{ organization(id: \"00000000-0000-0000-0000-000000000000\") {{ {q} }} }}")
}

#[tokio::test]
async fn a_too_deep_query_is_refused_before_it_runs() {
    let app = spawn_app().await;
    let r = app.gql(None, &deep_query(10), json!({})).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.code(), Some("GRAPHQL_VALIDATION_FAILED"));
    assert!(
        r.body.get("data").is_none(),
        "a request error has no data: {}",
        r.body
    );
}

#[tokio::test]
async fn a_thousand_aliases_exceed_the_complexity_limit() {
    let app = spawn_app().await;
    let fields: Vec<String> = (0..1000).map(|i| format!("a{i}: me {{ id }}")).collect();
    let r = app
        .gql(None, &format!("{{ {} }}", fields.join(" ")), json!({}))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.code(), Some("GRAPHQL_VALIDATION_FAILED"));
}

#[tokio::test]
async fn five_thousand_directives_are_refused() {
    let app = spawn_app().await;
    let dirs = "@include(if: true) ".repeat(5000);
    let r = app
        .gql(None, &format!("{{ me {dirs} {{ id }} }}"), json!({}))
        .await;
    assert_eq!(r.status, 400);
    // async-graphql counts directives while parsing, so this is refused at the parse stage.
    assert_eq!(r.code(), Some("GRAPHQL_PARSE_FAILED"));
    assert!(
        r.body.to_string().contains("number of directives"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn a_ten_megabyte_body_is_refused_with_413() {
    let app = spawn_app().await;
    let big = format!(
        "{{\"query\": \"{{ me {{ id }} }}\", \"variables\": {{\"x\": \"{}\"}}}}",
        "a".repeat(10 * 1024 * 1024)
    );
    let r = app.post_raw("application/json", big).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.code(), Some("PAYLOAD_TOO_LARGE"));
}

#[tokio::test]
async fn a_batch_of_five_hundred_operations_is_refused() {
    let app = spawn_app().await;
    let batch: Vec<Value> = (0..500)
        .map(|_| json!({"query": "{ __typename }"}))
        .collect();
    let r = app
        .post_raw(
            "application/json",
            serde_json::to_vec(&batch).expect("json"),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.code(), Some("BATCH_TOO_LARGE"));
}

#[tokio::test]
async fn a_small_batch_is_answered_in_order() {
    let app = spawn_app().await;
    let batch = json!([{"query": "{ __typename }"}, {"query": "query Named { __typename }"}]);
    let r = app
        .post_raw(
            "application/json",
            serde_json::to_vec(&batch).expect("json"),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body[1]["data"]["__typename"], "QueryRoot");
}

#[tokio::test]
async fn a_mutation_as_text_plain_or_a_form_is_refused_with_415() {
    let app = spawn_app().await;
    let body = r#"{"query":"mutation { logout(input: {refreshToken: \"x\"}) { revoked } }"}"#;
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let r = app.post_raw(ct, body).await;
        assert_eq!(r.status, 415, "{ct}");
        assert_eq!(r.code(), Some("UNSUPPORTED_MEDIA_TYPE"));
    }
    // Nothing ran: no audit row for the refused requests.
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_logs").await, 0);
}

#[tokio::test]
async fn a_mutation_over_get_is_refused_with_405_and_a_query_over_get_works() {
    let app = spawn_app().await;
    let url = format!("{}/graphql", app.base);
    let q = "mutation { logout(input: {refreshToken: \"x\"}) { revoked } }";
    let resp = app
        .http
        .get(&url)
        .query(&[("query", q)])
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status().as_u16(), 405);
    assert_eq!(
        resp.headers().get("allow").and_then(|v| v.to_str().ok()),
        Some("POST")
    );
    let resp = app
        .http
        .get(&url)
        .query(&[("query", "{ __typename }")])
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["data"]["__typename"], "QueryRoot");
}

#[tokio::test]
async fn a_syntax_error_is_a_400_parse_failure_and_the_server_still_answers() {
    let app = spawn_app().await;
    let r = app.gql(None, "{ me { id ", json!({})).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.code(), Some("GRAPHQL_PARSE_FAILED"));
    assert_eq!(
        r.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/graphql-response+json")
    );
    let ok = app.gql(None, "{ __typename }", json!({})).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.data()["__typename"], "QueryRoot");
}

#[tokio::test]
async fn a_field_error_is_200_with_a_code_and_a_request_id() {
    let app = spawn_app().await;
    let r = app.gql(None, "{ me { id } }", json!({})).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.code(), Some("UNAUTHENTICATED"));
    let rid = r
        .body
        .pointer("/errors/0/extensions/requestId")
        .and_then(Value::as_str);
    assert_eq!(
        rid,
        r.headers.get("x-request-id").and_then(|v| v.to_str().ok())
    );
}

/// A real database failure through the real server: the client gets `INTERNAL` with a request
/// id and nothing of the cause; the server's log has the cause under that request id.
#[tokio::test]
async fn an_internal_error_is_logged_with_its_cause_and_request_id_but_the_client_sees_neither() {
    // Arrange: the audit table is gone from this test's own database.
    let app = spawn_app().await;
    let root = app.super_admin().await;
    sea_orm::ConnectionTrait::execute_unprepared(&app.db, "DROP TABLE audit_logs")
        .await
        .expect("drop");

    // Act: an operation that reads it.
    let r = app
        .gql(
            Some(&root.access),
            "{ auditLogs { edges { node { id } } } }",
            json!({}),
        )
        .await;

    // Assert: the client sees a code and a request id, no SQL, table, driver or path.
    assert_eq!(r.code(), Some("INTERNAL"));
    let text = r.body.to_string().to_lowercase();
    for leak in [
        "select",
        "audit_logs",
        "no such table",
        "does not exist",
        "dberr",
        "sqlx",
        ".rs",
        "/src",
    ] {
        assert!(!text.contains(leak), "{leak} leaked: {text}");
    }
    let request_id = r
        .body
        .pointer("/errors/0/extensions/requestId")
        .and_then(Value::as_str)
        .expect("extensions.requestId");
    // The log has the database's own words for the cause, on the line with the request id.
    let cause = if app.test_db.is_postgres() {
        r#"relation "audit_logs" does not exist"#
    } else {
        "no such table: audit_logs"
    };
    let logged = logs::lines_with(request_id);
    assert!(
        logged
            .iter()
            .any(|l| l.contains("internal error") && l.contains(cause)),
        "no log line with request id {request_id} and cause {cause:?}: {logged:#?}"
    );
}

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let app = spawn_app().await;
    let h = app
        .http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .expect("healthz");
    assert_eq!(h.status().as_u16(), 200);
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 200);
    assert_eq!(body["database"], "up");
    assert_eq!(body["redis"], "disabled");
    app.gql(None, "query Probe { __typename }", json!({})).await;
    app.gql(None, "{ me { id } }", json!({})).await;
    let m = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .expect("metrics");
    let text = m.text().await.expect("text");
    assert!(
        text.contains(
            r#"lifeflow_graphql_requests_total{operation_type="query",operation_name="Probe"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"lifeflow_graphql_errors_total{code="UNAUTHENTICATED"} 1"#),
        "{text}"
    );
}

#[tokio::test]
async fn readiness_is_503_when_the_database_is_unreachable() {
    let app = spawn_app().await;
    // Closing the server's pool makes the database unreachable for it.
    app.db.clone().close().await.ok();
    let (status, _) = readyz(&app).await;
    assert_eq!(status, 503);
}

#[tokio::test]
async fn graphiql_is_served_to_browsers_outside_production() {
    let app = spawn_app().await;
    let r = app
        .http
        .get(format!("{}/graphql", app.base))
        .header("accept", "text/html")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.text()
            .await
            .expect("html")
            .to_lowercase()
            .contains("graphiql")
    );
}

#[tokio::test]
async fn production_turns_off_introspection_and_graphiql() {
    let app = spawn_app_with(&[("APP_ENV", "production")]).await;
    let r = app
        .gql(None, "{ __schema { types { name } } }", json!({}))
        .await;
    assert!(r.body["data"]["__schema"].is_null(), "{}", r.body);
    let dev = spawn_app().await;
    let r = dev
        .gql(None, "{ __schema { types { name } } }", json!({}))
        .await;
    assert!(r.data()["__schema"]["types"].is_array());
    let page = app
        .http
        .get(format!("{}/graphql", app.base))
        .header("accept", "text/html")
        .send()
        .await
        .expect("get");
    assert_ne!(page.status().as_u16(), 200);
}

#[tokio::test]
async fn cors_allows_listed_origins_only() {
    let app = spawn_app().await;
    let preflight = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, format!("{}/graphql", app.base))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type,authorization",
            )
            .send()
    };
    let ok = preflight("https://app.lifeflow.example")
        .await
        .expect("preflight");
    assert_eq!(
        ok.headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("https://app.lifeflow.example")
    );
    let evil = preflight("https://evil.example").await.expect("preflight");
    assert!(evil.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn the_checked_in_schema_matches_the_served_one() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema.graphql");
    let committed = std::fs::read_to_string(&path).expect("schema.graphql");
    assert!(
        committed == lifeflow::schema::sdl(),
        "schema.graphql is out of date: run `cargo run -- export-schema --out schema.graphql`"
    );
}

//! Limits that count what a request may return (DESIGN §7.2): aliases, list sizes, batches,
//! introspection's own depth; codes on coercion errors; anonymous refusals kept out of the
//! audit trail; `/metrics` off the public port.

use lifeflow::{app::Application, config::Config};
use lifeflow_tests::*;
use serde_json::{Value, json};

/// graphql-js 16.15 `getIntrospectionQuery()`, as schema tools send it.
const INTROSPECTION: &str = include_str!("../src/fixtures/introspection.graphql");
/// The same with every option on (descriptions, `specifiedByURL`, `isRepeatable`, schema
/// description, deprecated input values, `isOneOf`), as GraphiQL sends it.
const INTROSPECTION_GRAPHIQL: &str = include_str!("../src/fixtures/introspection-graphiql.graphql");

/// `n` aliases of `field`, in one query.
fn aliased(n: usize, field: &str) -> String {
    let fields: Vec<String> = (0..n).map(|i| format!("a{i}: {field}")).collect();
    format!("{{ {} }}", fields.join(" "))
}

const COMPATIBLE: &str = "findCompatibleStock(input: {bloodGroup: O_NEG, component: RED_CELLS, units: 2, near: {latitude: 12.97, longitude: 77.59}, radiusKm: 500}) { distanceKm totalUnits canSupplyAll bloodBank { name } unitsByGroup { bloodGroup units } }";

/// A week of 30-minute slots: 336 slots of three fields, about 1,000 values.
const WEEK_OF_SLOTS: &str = "openSlots(doctorId: \"00000000-0000-0000-0000-000000000000\", from: \"2027-03-01T00:00:00Z\", to: \"2027-03-08T00:00:00Z\", durationMinutes: 30) { startsAt endsAt localStartsAt }";

fn refused_before_running(r: &Gql) -> bool {
    r.status == 400 && r.code() == Some("GRAPHQL_VALIDATION_FAILED") && r.body.get("data").is_none()
}

fn message(r: &Gql) -> String {
    r.body
        .pointer("/errors/0/message")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn a_thousand_typename_aliases_are_refused_with_a_code() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let r = app.gql(None, &aliased(1000, "__typename"), json!({})).await;

    // Assert
    assert!(refused_before_running(&r), "{}", r.body);
    assert!(message(&r).contains("too many fields"), "{}", r.body);
}

/// Registers the organization `code` as `admin`, with `extra` more `__typename` aliases
/// beside it in the mutation.
async fn register_with_typenames(app: &TestApp, admin: &Session, code: &str, extra: usize) -> Gql {
    let typenames: Vec<String> = (0..extra).map(|i| format!("t{i}: __typename")).collect();
    let q = format!(
        "mutation($i: RegisterOrganizationInput!) {{ registerOrganization(input: $i) {{ organization {{ id }} }} {} }}",
        typenames.join(" ")
    );
    app.gql(
        Some(&admin.access),
        &q,
        json!({"i": org_input(code, "HOSPITAL")}),
    )
    .await
}

#[tokio::test]
async fn a_mutation_its_limits_refuse_is_checked_before_it_runs_and_writes_nothing() {
    // Arrange: the same mutation twice, once over the field cap.
    let app = spawn_app().await;
    let admin = app.signed_in("writer@limits.example").await;
    let orgs = "SELECT COUNT(*) FROM organizations";
    let before = app.count(orgs).await;

    // Act
    let refused = register_with_typenames(&app, &admin, "LIMITS-OVER", 1000).await;
    let after_refusal = app.count(orgs).await;
    let accepted = register_with_typenames(&app, &admin, "LIMITS-UNDER", 3).await;

    // Assert
    assert!(refused_before_running(&refused), "{}", refused.body);
    assert_eq!(after_refusal, before, "the refused mutation wrote a row");
    assert!(
        accepted.body["data"]["registerOrganization"]["organization"]["id"].is_string(),
        "{}",
        accepted.body
    );
    assert_eq!(
        accepted.body["data"]["t2"], "MutationRoot",
        "{}",
        accepted.body
    );
    assert_eq!(app.count(orgs).await, before + 1);
}

#[tokio::test]
async fn typename_aliases_count_toward_the_field_cap_inside_objects_and_fragments() {
    // Arrange: 300 aliases in a fragment spread twice, under another field.
    let app = spawn_app().await;
    let inner: Vec<String> = (0..300).map(|i| format!("t{i}: __typename")).collect();
    let q = format!(
        "{{ me {{ ...F }} again: me {{ ...F }} }} fragment F on User {{ {} }}",
        inner.join(" ")
    );

    // Act
    let r = app.gql(None, &q, json!({})).await;

    // Assert
    assert!(refused_before_running(&r), "{}", r.body);
}

#[tokio::test]
async fn aliased_find_compatible_stock_over_the_budget_is_refused_before_it_runs() {
    // Arrange: a hospital admin, allowed to search stock.
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let admin = app.signed_in("admin@limits-hospital.example").await;
    app.approved_org(&root, &admin, "HOSP-LIM", "HOSPITAL")
        .await;

    // Act: forty searches of twenty banks each, in one query.
    let r = app
        .gql(Some(&admin.access), &aliased(40, COMPATIBLE), json!({}))
        .await;
    let few = app
        .gql(Some(&admin.access), &aliased(10, COMPATIBLE), json!({}))
        .await;

    // Assert: the forty are refused; ten are answered.
    assert!(refused_before_running(&r), "{}", r.body);
    assert!(message(&r).contains("too complex"), "{}", r.body);
    assert_eq!(few.status, 200, "{}", few.body);
    assert!(few.data()["a9"].is_array(), "{}", few.body);
}

#[tokio::test]
async fn aliased_open_slots_over_the_budget_are_refused_before_they_run() {
    // Arrange
    let app = spawn_app().await;
    let patient = app.signed_in("patient@limits.example").await;

    // Act: eight weeks of slots of one doctor, each asked for separately.
    let r = app
        .gql(Some(&patient.access), &aliased(8, WEEK_OF_SLOTS), json!({}))
        .await;
    let one = app
        .gql(Some(&patient.access), &aliased(1, WEEK_OF_SLOTS), json!({}))
        .await;

    // Assert: refused before any slot is computed; one week alone reaches the resolver.
    assert!(refused_before_running(&r), "{}", r.body);
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(one.code(), Some("NOT_FOUND"), "{}", one.body);
}

#[tokio::test]
async fn a_page_counts_its_rows_and_total_count_counts_as_a_scan() {
    // Arrange
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let page = |first: u32| {
        format!(
            "organizations(first: {first}) {{ edges {{ node {{ id name code kind status city }} }} }}"
        )
    };

    // Act: 30 pages of 100 rows of eight values, then 60 counts of one row each.
    let wide = app
        .gql(Some(&root.access), &aliased(30, &page(100)), json!({}))
        .await;
    let narrow = app
        .gql(Some(&root.access), &aliased(30, &page(1)), json!({}))
        .await;
    let counts = app
        .gql(
            Some(&root.access),
            &aliased(60, "organizations(first: 1) { totalCount }"),
            json!({}),
        )
        .await;

    // Assert
    assert!(refused_before_running(&wide), "{}", wide.body);
    assert_eq!(narrow.status, 200, "{}", narrow.body);
    assert!(narrow.data()["a29"]["edges"].is_array());
    assert!(refused_before_running(&counts), "{}", counts.body);
}

#[tokio::test]
async fn the_operations_of_a_batch_share_one_complexity_budget() {
    // Arrange: ten operations of about 1,000 values each; one alone is within the budget.
    let app = spawn_app().await;
    let patient = app.signed_in("batch@limits.example").await;
    let batch: Vec<Value> = (0..10)
        .map(|_| json!({"query": format!("{{ {WEEK_OF_SLOTS} }}")}))
        .collect();

    // Act
    let r = app
        .http
        .post(format!("{}/graphql", app.base))
        .bearer_auth(&patient.access)
        .json(&batch)
        .send()
        .await
        .expect("post");
    let body: Value = r.json().await.expect("json");

    // Assert: the first four run (and find no such doctor); the rest are refused.
    let codes: Vec<&str> = body
        .as_array()
        .expect("batch")
        .iter()
        .map(|b| {
            b.pointer("/errors/0/extensions/code")
                .and_then(Value::as_str)
                .unwrap_or("none")
        })
        .collect();
    assert_eq!(&codes[..4], ["NOT_FOUND"; 4], "{body}");
    assert_eq!(&codes[4..], ["GRAPHQL_VALIDATION_FAILED"; 6], "{body}");
    assert!(body[9].to_string().contains("share one budget"), "{body}");
}

#[tokio::test]
async fn the_standard_introspection_query_answers_in_development() {
    // Arrange
    let app = spawn_app().await;

    for query in [INTROSPECTION, INTROSPECTION_GRAPHIQL] {
        // Act
        let r = app.gql(None, query, json!({})).await;

        // Assert
        assert_eq!(r.status, 200, "{}", r.body);
        let types = r.data()["__schema"]["types"].as_array().expect("types");
        assert!(
            types.iter().any(|t| t["name"] == "BloodGroup"),
            "{}",
            r.body
        );
    }
}

#[tokio::test]
async fn a_deep_introspection_query_that_is_not_a_type_reference_is_still_refused() {
    // Arrange: thirteen levels of types and fields; only `ofType` chains are exempt.
    let app = spawn_app().await;
    let mut q = String::from("name");
    for _ in 0..5 {
        q = format!("fields {{ type {{ {q} }} }}");
    }
    let q = format!("{{ __schema {{ types {{ {q} }} }} }}");

    // Act
    let r = app.gql(None, &q, json!({})).await;

    // Assert
    assert!(refused_before_running(&r), "{}", r.body);
    assert!(message(&r).contains("nested too deep"), "{}", r.body);
}

#[tokio::test]
async fn a_deep_query_is_refused_whatever_it_is_called() {
    // Arrange: a data query nested as deep as the introspection query, and one that hides an
    // `ofType` field name in an alias.
    let app = spawn_app().await;
    let mut q = String::from("id");
    for _ in 0..7 {
        q = format!("members {{ organization {{ {q} }} }}");
    }
    let deep =
        format!("{{ organization(id: \"00000000-0000-0000-0000-000000000000\") {{ {q} }} }}");
    let disguised = deep.replace("members", "ofType: members");

    // Act
    let r = app.gql(None, &deep, json!({})).await;
    let d = app.gql(None, &disguised, json!({})).await;

    // Assert
    assert!(refused_before_running(&r), "{}", r.body);
    assert!(refused_before_running(&d), "{}", d.body);
}

#[tokio::test]
async fn in_production_the_standard_introspection_query_is_refused() {
    // Arrange
    let app = spawn_app_with(&[("APP_ENV", "production")]).await;

    // Act
    let r = app.gql(None, INTROSPECTION_GRAPHIQL, json!({})).await;

    // Assert: introspection is off in production, and the query is refused outright.
    assert!(refused_before_running(&r), "{}", r.body);
}

#[tokio::test]
async fn an_int_out_of_range_in_a_mutation_input_is_bad_user_input_naming_the_argument() {
    // Arrange
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let q = "mutation { createBloodRequest(input: {hospitalId: \"00000000-0000-0000-0000-000000000000\", patientReference: \"MRN-1\", bloodGroup: O_NEG, component: RED_CELLS, unitsRequired: 3000000000, urgency: ROUTINE, neededBy: \"2030-01-01T00:00:00Z\"}) { bloodRequest { id } } }";

    // Act
    let r = app.gql(Some(&root.access), q, json!({})).await;

    // Assert
    assert_eq!(r.code(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert_eq!(r.field(), Some("input"), "{}", r.body);
}

#[tokio::test]
async fn an_int_out_of_range_for_a_page_size_is_refused_with_a_code() {
    // Arrange: the page size is read when the query's cost is counted, before it runs.
    let app = spawn_app().await;
    let root = app.super_admin().await;

    // Act
    let variable = app
        .gql(
            Some(&root.access),
            "query($n: Int) { organizations(first: $n) { totalCount } }",
            json!({"n": 3_000_000_000u64}),
        )
        .await;
    let literal = app
        .gql(
            None,
            "{ organizations(first: 3000000000) { totalCount } }",
            json!({}),
        )
        .await;

    // Assert
    for r in [variable, literal] {
        assert!(refused_before_running(&r), "{}", r.body);
        assert!(message(&r).contains("Int"), "{}", r.body);
    }
}

#[tokio::test]
async fn wrong_enum_values_in_variables_carry_a_code() {
    // Arrange
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let nested = "query($g: BloodGroup!) { findCompatibleStock(input: {bloodGroup: $g, component: RED_CELLS, units: 1, near: {latitude: 0, longitude: 0}}) { totalUnits } }";
    let list = "query($k: [OrgKind!]) { organizations(filter: {kinds: $k}) { totalCount } }";
    let whole =
        "query($i: FindCompatibleStockInput!) { findCompatibleStock(input: $i) { totalUnits } }";

    // Act
    let answers = [
        app.gql(Some(&root.access), nested, json!({"g": "Z_POS"}))
            .await,
        app.gql(Some(&root.access), list, json!({"k": ["HOSPITAL", 7]}))
            .await,
        app.gql(
            Some(&root.access),
            whole,
            json!({"i": {"bloodGroup": "O_NEG", "component": "BLOOD", "units": 1,
                         "near": {"latitude": 0, "longitude": 0}}}),
        )
        .await,
    ];

    // Assert
    for r in answers {
        let errors = r.body["errors"].as_array().expect("errors").clone();
        assert!(!errors.is_empty(), "{}", r.body);
        for e in errors {
            assert!(e.pointer("/extensions/code").is_some(), "{e}");
        }
    }
}

#[tokio::test]
async fn anonymous_mutations_naming_an_organization_leave_no_failure_rows_but_are_counted() {
    // Arrange: a real hospital, which strangers name in their attempts.
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let admin = app.signed_in("admin@anon-hospital.example").await;
    let hospital = app
        .approved_org(&root, &admin, "HOSP-ANON", "HOSPITAL")
        .await;
    let q = "mutation($i: CreateBloodRequestInput!) { createBloodRequest(input: $i) { bloodRequest { id } } }";
    let input = json!({"i": {
        "hospitalId": hospital, "patientReference": "MRN-1", "bloodGroup": "O_NEG",
        "component": "RED_CELLS", "unitsRequired": 2, "urgency": "EMERGENCY",
        "neededBy": "2030-01-01T00:00:00Z"
    }});
    let failures = "SELECT COUNT(*) FROM audit_logs WHERE outcome = 'FAILURE'";
    let before = app.count(failures).await;

    // Act: 25 anonymous attempts, and one with a token that does not check out.
    for _ in 0..25 {
        let r = app.gql(None, q, input.clone()).await;
        assert_eq!(r.code(), Some("UNAUTHENTICATED"), "{}", r.body);
    }
    let forged = app.gql(Some("not-a-token"), q, input.clone()).await;

    // Assert: no row names the hospital; the attempts are counted.
    assert_eq!(forged.code(), Some("UNAUTHENTICATED"), "{}", forged.body);
    assert_eq!(app.count(failures).await, before);
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"lifeflow_anonymous_refusals_total{action="blood_request.create"} 26"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_signed_in_stranger_naming_an_organization_still_leaves_a_failure_row() {
    // Arrange
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let admin = app.signed_in("admin@stranger-hospital.example").await;
    let hospital = app
        .approved_org(&root, &admin, "HOSP-STR", "HOSPITAL")
        .await;
    let stranger = app.signed_in("stranger@limits.example").await;

    // Act
    let r = app
        .gql(
            Some(&stranger.access),
            "mutation($i: CreateBloodRequestInput!) { createBloodRequest(input: $i) { bloodRequest { id } } }",
            json!({"i": {
                "hospitalId": hospital, "patientReference": "MRN-1", "bloodGroup": "O_NEG",
                "component": "RED_CELLS", "unitsRequired": 2, "urgency": "EMERGENCY",
                "neededBy": "2030-01-01T00:00:00Z"
            }}),
        )
        .await;

    // Assert
    assert_eq!(r.code(), Some("FORBIDDEN"), "{}", r.body);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_logs WHERE outcome = 'FAILURE' AND action = 'blood_request.create'")
            .await,
        1
    );
}

#[tokio::test]
async fn metrics_are_not_on_the_api_port_in_production() {
    // Arrange
    let app = spawn_app_with(&[("APP_ENV", "production")]).await;

    // Act
    let r = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .expect("metrics");

    // Assert
    assert_eq!(r.status().as_u16(), 404);
}

#[tokio::test]
async fn metrics_addr_serves_metrics_on_an_address_of_their_own() {
    // Arrange: a production server with METRICS_ADDR, started as `serve` starts it.
    let db = TestDb::create().await;
    let mut settings = test_settings(&db.url);
    settings.insert("APP_ENV".into(), "production".into());
    settings.insert("METRICS_ADDR".into(), "127.0.0.1:0".into());
    let app = Application::build(Config::from_map(&settings).expect("config"))
        .await
        .expect("build");
    let api = app.local_addr().expect("api addr");
    let metrics = app.metrics_addr().expect("a metrics address");
    tokio::spawn(app.run_until(std::future::pending()));
    let http = reqwest::Client::new();

    // Act
    let own = http
        .get(format!("http://{metrics}/metrics"))
        .send()
        .await
        .expect("metrics");
    let public = http
        .get(format!("http://{api}/metrics"))
        .send()
        .await
        .expect("api");

    // Assert
    assert_eq!(own.status().as_u16(), 200);
    assert!(
        own.text()
            .await
            .expect("text")
            .contains("lifeflow_graphql_requests_total")
    );
    assert_eq!(public.status().as_u16(), 404);
}

#[tokio::test]
async fn an_unset_app_env_is_announced_as_development_at_start() {
    // Arrange: the test settings leave APP_ENV unset.
    let db = TestDb::create().await;
    let settings = test_settings(&db.url);
    logs::capture();

    // Act
    let app = Application::build(Config::from_map(&settings).expect("config"))
        .await
        .expect("build");

    // Assert: the warning names this server's address and what development turns on.
    let addr = app.local_addr().expect("addr").to_string();
    let lines = logs::lines_with("APP_ENV is not set");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("WARN") && l.contains(&addr) && l.contains("GraphiQL")),
        "{lines:#?}"
    );
}

//! Login and registration limits (DESIGN §7.2): attempts are reserved before the password
//! is checked or hashed, per account from one IP and per IP. Password checks are counted by
//! the server's own argon2 counter on `/metrics`.

use futures_util::{StreamExt, stream};
use lifeflow_tests::{fixtures::readyz, *};
use serde_json::json;

const LOGIN: &str = "mutation($i: LoginInput!) { login(input: $i) { accessToken } }";
const REGISTER: &str = "mutation($i: RegisterInput!) { register(input: $i) { user { id } } }";
const WRONG: &str = "wrong password!!";

/// Settings under which the test client may say which IP it calls from.
const BEHIND_PROXY: (&str, &str) = ("TRUSTED_PROXIES", "127.0.0.1/32");

/// Posts `query` as if from `ip` (through the trusted proxy).
async fn from_ip(app: &TestApp, ip: &str, query: &str, input: serde_json::Value) -> Gql {
    let resp = app
        .http
        .post(format!("{}/graphql", app.base))
        .header("accept", "application/graphql-response+json")
        .header("x-forwarded-for", ip)
        .json(&json!({"query": query, "variables": {"i": input}}))
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.json().await.expect("json body");
    Gql {
        status,
        body,
        headers,
    }
}

async fn login_from(app: &TestApp, ip: &str, email: &str, password: &str) -> Gql {
    from_ip(
        app,
        ip,
        LOGIN,
        json!({"email": email, "password": password}),
    )
    .await
}

async fn register_from(app: &TestApp, ip: &str, email: &str) -> Gql {
    let input = json!({"email": email, "password": PASSWORD, "fullName": "New Person"});
    from_ip(app, ip, REGISTER, input).await
}

/// The server's argon2 runs so far: `(hashes, password checks)`.
async fn password_work(app: &TestApp) -> (u64, u64) {
    let text = app.metrics().await;
    let value = |kind: &str| -> u64 {
        let name = format!("lifeflow_password_hashes_total{{kind=\"{kind}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {text}"))
    };
    (value("hash"), value("verify"))
}

fn count(answers: &[Gql], code: Option<&str>) -> usize {
    answers.iter().filter(|r| r.code() == code).count()
}

/// Fires `n` wrong-password logins for `email`, 64 at a time, spread over `apps`.
async fn wrong_logins(apps: &[&TestApp], email: &str, n: usize) -> Vec<Gql> {
    stream::iter(0..n)
        .map(|i| apps[i % apps.len()].try_login(email, WRONG))
        .buffer_unordered(64)
        .collect()
        .await
}

#[tokio::test]
async fn a_hundred_wrong_passwords_sent_64_at_a_time_get_only_the_limits_worth_of_password_checks()
{
    // Arrange
    let app = spawn_app_with(&[("LOGIN_MAX_ATTEMPTS", "5")]).await;
    app.signed_in("doctor@clinic.example").await;
    let (_, checks_before) = password_work(&app).await;

    // Act
    let answers = wrong_logins(&[&app], "doctor@clinic.example", 100).await;

    // Assert
    let (_, checks_after) = password_work(&app).await;
    assert_eq!(checks_after - checks_before, 5, "password checks");
    assert_eq!(count(&answers, Some("UNAUTHENTICATED")), 5);
    assert_eq!(count(&answers, Some("RATE_LIMITED")), 95);
}

#[tokio::test]
async fn two_instances_sharing_redis_give_parallel_wrong_passwords_only_the_limits_worth_of_checks()
{
    // Arrange
    let redis = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
    let settings = [
        ("REDIS_URL", redis.as_str()),
        ("RATE_LIMIT_PREFIX", prefix.as_str()),
        ("LOGIN_MAX_ATTEMPTS", "5"),
    ];
    let a = spawn_app_with(&settings).await;
    let b = spawn_on(a.test_db.clone(), &settings).await;
    let (_, ready) = readyz(&a).await;
    assert_eq!(ready["redis"], "up", "these tests need the machine's Redis");
    a.signed_in("doctor@clinic.example").await;
    let (_, a_before) = password_work(&a).await;
    let (_, b_before) = password_work(&b).await;

    // Act
    let answers = wrong_logins(&[&a, &b], "doctor@clinic.example", 100).await;

    // Assert: at most five; fewer when a loaded server hears Redis too late to know whether
    // an attempt counted, and refuses it.
    let (_, a_after) = password_work(&a).await;
    let (_, b_after) = password_work(&b).await;
    let checks = (a_after - a_before) + (b_after - b_before);
    assert!(checks <= 5, "{checks} password checks on the two instances");
    assert_eq!(count(&answers, Some("UNAUTHENTICATED")) as u64, checks);
    assert_eq!(count(&answers, Some("RATE_LIMITED")) as u64, 100 - checks);
    let owner = b.try_login("doctor@clinic.example", PASSWORD).await;
    assert_eq!(
        owner.code(),
        Some("RATE_LIMITED"),
        "locked on the other instance too"
    );
}

#[tokio::test]
async fn a_wrong_password_storm_from_one_ip_does_not_lock_the_owner_out_from_another() {
    // Arrange
    let app = spawn_app_with(&[BEHIND_PROXY, ("LOGIN_MAX_ATTEMPTS", "3")]).await;
    app.signed_in("doctor@clinic.example").await;
    let attacker = "203.0.113.66";

    // Act
    let storm: Vec<Gql> = stream::iter(0..30)
        .map(|_| login_from(&app, attacker, "doctor@clinic.example", WRONG))
        .buffer_unordered(16)
        .collect()
        .await;
    let attacker_right = login_from(&app, attacker, "doctor@clinic.example", PASSWORD).await;
    let owner = login_from(&app, "198.51.100.7", "doctor@clinic.example", PASSWORD).await;

    // Assert
    assert_eq!(count(&storm, Some("UNAUTHENTICATED")), 3);
    assert_eq!(attacker_right.code(), Some("RATE_LIMITED"));
    assert!(owner.data()["login"]["accessToken"].is_string());
}

#[tokio::test]
async fn a_successful_login_forgives_the_accounts_failures_from_that_ip_but_not_the_ips() {
    // Arrange: two failures a pair, three an IP.
    let app = spawn_app_with(&[
        ("LOGIN_MAX_ATTEMPTS", "2"),
        ("LOGIN_MAX_ATTEMPTS_PER_IP", "3"),
    ])
    .await;
    app.signed_in("nurse@clinic.example").await;
    app.signed_in("other@clinic.example").await;

    // Act
    let first_wrong = app.try_login("nurse@clinic.example", WRONG).await;
    let first_right = app.try_login("nurse@clinic.example", PASSWORD).await;
    let second_wrong = app.try_login("nurse@clinic.example", WRONG).await;
    let second_right = app.try_login("nurse@clinic.example", PASSWORD).await;
    let third_wrong = app.try_login("other@clinic.example", WRONG).await;
    let after_three_failures = app.try_login("other@clinic.example", PASSWORD).await;

    // Assert: the successes never counted against the IP; its three failures did.
    assert_eq!(first_wrong.code(), Some("UNAUTHENTICATED"));
    assert!(first_right.data()["login"]["accessToken"].is_string());
    assert_eq!(second_wrong.code(), Some("UNAUTHENTICATED"));
    assert!(second_right.data()["login"]["accessToken"].is_string());
    assert_eq!(third_wrong.code(), Some("UNAUTHENTICATED"));
    assert_eq!(after_three_failures.code(), Some("RATE_LIMITED"));
}

#[tokio::test]
async fn registration_is_rate_limited_per_ip_and_a_refused_one_costs_no_hash() {
    // Arrange
    let app = spawn_app_with(&[BEHIND_PROXY, ("REGISTER_MAX_PER_IP", "3")]).await;
    let (hashes_before, _) = password_work(&app).await;

    // Act
    let answers: Vec<Gql> = stream::iter(0..10)
        .map(|i| {
            let app = &app;
            async move { register_from(app, "203.0.113.5", &format!("bot{i}@example.org")).await }
        })
        .buffer_unordered(10)
        .collect()
        .await;
    let elsewhere = register_from(&app, "198.51.100.7", "person@example.org").await;

    // Assert
    let (hashes_after, _) = password_work(&app).await;
    assert_eq!(count(&answers, None), 3);
    assert_eq!(count(&answers, Some("RATE_LIMITED")), 7);
    assert!(elsewhere.data()["register"]["user"]["id"].is_string());
    assert_eq!(
        hashes_after - hashes_before,
        4,
        "one hash a registration admitted"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 4);
}

#[tokio::test]
async fn registering_a_taken_email_answers_conflict_without_hashing() {
    // Arrange
    let app = spawn_app().await;
    app.signed_in("taken@example.org").await;
    let (hashes_before, _) = password_work(&app).await;

    // Act
    let r = app
        .gql(
            None,
            REGISTER,
            json!({"i": {"email": "Taken@example.org", "password": PASSWORD, "fullName": "X"}}),
        )
        .await;

    // Assert
    let (hashes_after, _) = password_work(&app).await;
    assert_eq!(r.code(), Some("CONFLICT"));
    assert_eq!(hashes_after, hashes_before);
}

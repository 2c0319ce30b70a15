//! Accounts: registration, login, rotating sessions, token checks, rate limits.

use base64::Engine as _;
use lifeflow_tests::{fixtures::readyz, *};
use serde_json::json;

const ME: &str = "{ me { id email platformRole } }";
const REFRESH: &str = "mutation($t: String!) { refreshSession(input: {refreshToken: $t}) { accessToken refreshToken } }";

#[tokio::test]
async fn register_then_login_then_me_returns_the_account() {
    let app = spawn_app().await;
    let s = app.signed_in("Ana@Example.org").await;
    let r = app.gql(Some(&s.access), ME, json!({})).await;
    assert_eq!(r.data()["me"]["email"], "ana@example.org");
    assert_eq!(r.data()["me"]["platformRole"], "USER");
    assert_eq!(r.data()["me"]["id"], s.user_id.as_str());
}

#[tokio::test]
async fn emails_are_unique_whatever_their_case() {
    let app = spawn_app().await;
    app.signed_in("dup@example.org").await;
    let r = app
        .gql(
            None,
            "mutation($i: RegisterInput!) { register(input: $i) { user { id } } }",
            json!({"i": {"email": "DUP@example.org", "password": PASSWORD, "fullName": "X"}}),
        )
        .await;
    assert_eq!(r.code(), Some("CONFLICT"));
}

#[tokio::test]
async fn a_malformed_email_or_short_password_is_bad_input_and_nothing_is_written() {
    let app = spawn_app().await;
    let q = "mutation($i: RegisterInput!) { register(input: $i) { user { id } } }";
    let r = app
        .gql(
            None,
            q,
            json!({"i": {"email": "not-an-email", "password": PASSWORD, "fullName": "X"}}),
        )
        .await;
    assert_eq!(r.code(), Some("BAD_USER_INPUT"));
    assert_eq!(r.field(), Some("input.email"));
    let r = app
        .gql(
            None,
            q,
            json!({"i": {"email": "ok@example.org", "password": "short", "fullName": "X"}}),
        )
        .await;
    assert_eq!(r.code(), Some("BAD_USER_INPUT"));
    assert_eq!(r.field(), Some("input.password"));
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);
}

#[tokio::test]
async fn a_refresh_rotates_the_token_and_the_old_one_stops_working() {
    let app = spawn_app().await;
    let s = app.signed_in("rot@example.org").await;
    let r = app.gql(None, REFRESH, json!({"t": s.refresh})).await;
    let next = r.data()["refreshSession"]["refreshToken"]
        .as_str()
        .expect("token")
        .to_string();
    let access = r.data()["refreshSession"]["accessToken"]
        .as_str()
        .expect("access")
        .to_string();
    assert_ne!(next, s.refresh);
    assert_eq!(
        app.gql(Some(&access), ME, json!({})).await.data()["me"]["email"],
        "rot@example.org"
    );
    // The successor works once too.
    let again = app.gql(None, REFRESH, json!({"t": next})).await;
    assert!(again.data()["refreshSession"]["refreshToken"].is_string());
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_the_whole_family() {
    let app = spawn_app().await;
    let s = app.signed_in("reuse@example.org").await;
    let r = app.gql(None, REFRESH, json!({"t": s.refresh})).await;
    let newest = r.data()["refreshSession"]["refreshToken"]
        .as_str()
        .expect("token")
        .to_string();
    // An attacker replays the stolen, already-rotated token.
    let replay = app.gql(None, REFRESH, json!({"t": s.refresh})).await;
    assert_eq!(replay.code(), Some("UNAUTHENTICATED"));
    // The legitimate holder's newest token is dead too.
    let legit = app.gql(None, REFRESH, json!({"t": newest})).await;
    assert_eq!(legit.code(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_rotate_it_once() {
    let app = spawn_app().await;
    let s = app.signed_in("race@example.org").await;
    let attempts = (0..8).map(|_| app.gql(None, REFRESH, json!({"t": s.refresh})));
    let results = futures_util::future::join_all(attempts).await;
    let ok = results.iter().filter(|r| r.code().is_none()).count();
    assert!(ok <= 1, "{ok} refreshes succeeded with one token");
}

#[tokio::test]
async fn logout_revokes_the_session() {
    let app = spawn_app().await;
    let s = app.signed_in("bye@example.org").await;
    let r = app
        .gql(
            None,
            "mutation($t: String!) { logout(input: {refreshToken: $t}) { revoked } }",
            json!({"t": s.refresh}),
        )
        .await;
    assert_eq!(r.data()["logout"]["revoked"], 1);
    assert_eq!(
        app.gql(None, REFRESH, json!({"t": s.refresh})).await.code(),
        Some("UNAUTHENTICATED")
    );
}

#[tokio::test]
async fn a_refresh_token_is_not_an_access_token_and_vice_versa() {
    let app = spawn_app().await;
    let s = app.signed_in("swap@example.org").await;
    assert_eq!(
        app.gql(Some(&s.refresh), ME, json!({})).await.code(),
        Some("UNAUTHENTICATED")
    );
    assert_eq!(
        app.gql(None, REFRESH, json!({"t": s.access})).await.code(),
        Some("UNAUTHENTICATED")
    );
}

fn forge(claims: serde_json::Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("encode")
}

#[tokio::test]
async fn expired_tampered_and_unsigned_tokens_are_refused() {
    let app = spawn_app().await;
    let s = app.signed_in("tok@example.org").await;
    let now = chrono::Utc::now().timestamp();
    let claims = |exp: i64| {
        json!({"iss": "lifeflow", "aud": "lifeflow-api", "sub": s.user_id, "exp": exp, "nbf": now - 120,
               "iat": now - 120, "jti": "x", "typ": "access"})
    };
    // A correctly signed token is accepted, so the refusals below are about what they test.
    assert!(
        app.gql(Some(&forge(claims(now + 60), JWT_SECRET)), ME, json!({}))
            .await
            .code()
            .is_none()
    );
    let expired = forge(claims(now - 60), JWT_SECRET);
    assert_eq!(
        app.gql(Some(&expired), ME, json!({})).await.code(),
        Some("UNAUTHENTICATED")
    );
    let wrong_key = forge(
        claims(now + 60),
        "another-key-that-is-long-enough-0123456789",
    );
    assert_eq!(
        app.gql(Some(&wrong_key), ME, json!({})).await.code(),
        Some("UNAUTHENTICATED")
    );
    // Tampered: swap the payload for one naming another subject, keep the signature.
    let parts: Vec<&str> = s.access.split('.').collect();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut payload: serde_json::Value =
        serde_json::from_slice(&b64.decode(parts[1]).expect("b64")).expect("json");
    payload["sub"] = json!(uuid::Uuid::new_v4().to_string());
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64.encode(payload.to_string()),
        parts[2]
    );
    assert_eq!(
        app.gql(Some(&tampered), ME, json!({})).await.code(),
        Some("UNAUTHENTICATED")
    );
    // alg: none, no signature.
    let header = b64.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let none = format!("{header}.{}.", b64.encode(claims(now + 60).to_string()));
    assert_eq!(
        app.gql(Some(&none), ME, json!({})).await.code(),
        Some("UNAUTHENTICATED")
    );
    // A token missing a required claim (nbf) is refused.
    let mut partial = claims(now + 60);
    partial.as_object_mut().expect("obj").remove("nbf");
    assert_eq!(
        app.gql(Some(&forge(partial, JWT_SECRET)), ME, json!({}))
            .await
            .code(),
        Some("UNAUTHENTICATED")
    );
}

#[tokio::test]
async fn a_wrong_email_and_a_wrong_password_get_the_same_answer() {
    let app = spawn_app().await;
    app.signed_in("same@example.org").await;
    let a = app.try_login("same@example.org", "wrong password!!").await;
    let b = app.try_login("nobody@example.org", PASSWORD).await;
    assert_eq!(a.code(), Some("UNAUTHENTICATED"));
    assert_eq!(
        a.body["errors"][0]["message"],
        b.body["errors"][0]["message"]
    );
    assert_eq!(b.code(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn repeated_failures_are_rate_limited_even_with_the_right_password() {
    let app = spawn_app_with(&[("LOGIN_MAX_ATTEMPTS", "3")]).await;
    app.signed_in("brute@example.org").await;
    for _ in 0..3 {
        assert_eq!(
            app.try_login("brute@example.org", "wrong password!!")
                .await
                .code(),
            Some("UNAUTHENTICATED")
        );
    }
    let r = app.try_login("brute@example.org", PASSWORD).await;
    assert_eq!(r.code(), Some("RATE_LIMITED"));
    assert!(
        r.body
            .pointer("/errors/0/extensions/retryAfterSeconds")
            .is_some()
    );
    // Another account from the same IP is not locked by the per-account limit.
    app.signed_in("other@example.org").await;
}

#[tokio::test]
async fn the_per_ip_limit_stops_spraying_across_accounts() {
    let app = spawn_app_with(&[("LOGIN_MAX_ATTEMPTS_PER_IP", "4")]).await;
    for i in 0..4 {
        app.try_login(&format!("spray{i}@example.org"), PASSWORD)
            .await;
    }
    assert_eq!(
        app.try_login("spray9@example.org", PASSWORD).await.code(),
        Some("RATE_LIMITED")
    );
}

#[tokio::test]
async fn two_instances_share_login_limits_through_redis() {
    let redis = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
    let settings = [
        ("REDIS_URL", redis.as_str()),
        ("RATE_LIMIT_PREFIX", prefix.as_str()),
        ("LOGIN_MAX_ATTEMPTS", "2"),
    ];
    let a = spawn_app_with(&settings).await;
    let b = spawn_on(a.test_db.clone(), &settings).await;
    let (_, ready) = readyz(&a).await;
    assert_eq!(ready["redis"], "up", "these tests need the machine's Redis");
    a.signed_in("shared@example.org").await;
    a.try_login("shared@example.org", "wrong password!!").await;
    b.try_login("shared@example.org", "wrong password!!").await;
    assert_eq!(
        b.try_login("shared@example.org", PASSWORD).await.code(),
        Some("RATE_LIMITED")
    );
    assert_eq!(
        a.try_login("shared@example.org", PASSWORD).await.code(),
        Some("RATE_LIMITED")
    );
}

#[tokio::test]
async fn a_deactivated_user_is_locked_out_at_once() {
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let s = app.signed_in("gone@example.org").await;
    let r = app
        .gql(
            Some(&root.access),
            "mutation($i: SetUserActiveInput!) { setUserActive(input: $i) { user { isActive } } }",
            json!({"i": {"userId": s.user_id, "isActive": false}}),
        )
        .await;
    assert_eq!(r.data()["setUserActive"]["user"]["isActive"], false);
    assert_eq!(
        app.gql(Some(&s.access), ME, json!({})).await.code(),
        Some("UNAUTHENTICATED")
    );
    assert_eq!(
        app.gql(None, REFRESH, json!({"t": s.refresh})).await.code(),
        Some("UNAUTHENTICATED")
    );
    assert_eq!(
        app.try_login("gone@example.org", PASSWORD).await.code(),
        Some("UNAUTHENTICATED")
    );
}

const CHANGE_PASSWORD: &str = "mutation($i: ChangePasswordInput!) { changePassword(input: $i) { revokedSessions accessToken refreshToken user { id } } }";

#[tokio::test]
async fn a_wrong_current_password_changes_nothing() {
    let app = spawn_app().await;
    let s = app.signed_in("pw@example.org").await;

    let wrong = app
        .gql(
            Some(&s.access),
            CHANGE_PASSWORD,
            json!({"i": {"currentPassword": "not it at all", "newPassword": "a brand new passphrase"}}),
        )
        .await;

    assert_eq!(wrong.field(), Some("input.currentPassword"));
    assert!(
        app.gql(Some(&s.access), ME, json!({}))
            .await
            .code()
            .is_none()
    );
    app.login("pw@example.org", PASSWORD).await;
}

#[tokio::test]
async fn changing_the_password_ends_every_other_session_at_once_and_the_caller_goes_on() {
    // Arrange: signed in on a phone and a laptop; the laptop's viewer is cached and it has a
    // live stream (the re-check waits an hour, so only the change's event can end it).
    let app = spawn_app_with(&[("WS_RECHECK_SECS", "3600")]).await;
    let phone = app.signed_in("pw@example.org").await;
    let laptop = app.login("pw@example.org", PASSWORD).await;
    assert!(
        app.gql(Some(&laptop.access), ME, json!({}))
            .await
            .code()
            .is_none()
    );
    let mut stream = ws::connect_as(&app.base, &laptop.access).await;
    stream
        .subscribe(
            "n",
            "subscription { notificationReceived { id } }",
            json!({}),
        )
        .await;

    // Act
    let r = app
        .gql(
            Some(&phone.access),
            CHANGE_PASSWORD,
            json!({"i": {"currentPassword": PASSWORD, "newPassword": "a brand new passphrase"}}),
        )
        .await;

    // Assert: the laptop's access token is refused at its very next request, its refresh
    // token too, and its stream ends; the caller goes on with the payload's new session
    // (its old tokens are spent), and only the new password signs in.
    let changed = &r.data()["changePassword"];
    assert_eq!(changed["revokedSessions"], 2);
    let laptop_me = app.gql(Some(&laptop.access), ME, json!({})).await;
    assert_eq!(
        laptop_me.code(),
        Some("UNAUTHENTICATED"),
        "{}",
        laptop_me.body
    );
    assert_eq!(
        app.gql(None, REFRESH, json!({"t": laptop.refresh}))
            .await
            .code(),
        Some("UNAUTHENTICATED")
    );
    assert_eq!(stream.closed_with(ws::ARRIVES).await, Some(4403));
    let access = changed["accessToken"].as_str().expect("accessToken");
    let me = app.gql(Some(access), ME, json!({})).await;
    assert_eq!(me.data()["me"]["id"], phone.user_id.as_str());
    assert_eq!(
        app.gql(Some(&phone.access), ME, json!({})).await.code(),
        Some("UNAUTHENTICATED")
    );
    let refresh = changed["refreshToken"].as_str().expect("refreshToken");
    let refreshed = app.gql(None, REFRESH, json!({"t": refresh})).await;
    assert!(refreshed.data()["refreshSession"]["accessToken"].is_string());
    assert_eq!(
        app.try_login("pw@example.org", PASSWORD).await.code(),
        Some("UNAUTHENTICATED")
    );
    app.login("pw@example.org", "a brand new passphrase").await;
}

#[tokio::test]
async fn create_admin_refuses_a_short_password_and_makes_a_super_admin() {
    let app = spawn_app().await;
    let short =
        lifeflow::seed::create_admin(&app.config, &app.db, "root@example.org", "short", "Root")
            .await;
    assert!(matches!(
        short,
        Err(lifeflow::error::AppError::BadInput { .. })
    ));
    let root = app.super_admin().await;
    let r = app.gql(Some(&root.access), ME, json!({})).await;
    assert_eq!(r.data()["me"]["platformRole"], "SUPER_ADMIN");
}

#[tokio::test]
async fn the_client_ip_comes_from_forwarded_for_only_behind_a_trusted_proxy() {
    let login = |app: &TestApp| {
        app.http
            .post(format!("{}/graphql", app.base))
            .header("x-forwarded-for", "203.0.113.7")
            .json(&json!({"query": "mutation { login(input: {email: \"x@example.org\", password: \"whatever it is\"}) { accessToken } }"}))
            .send()
    };
    let trusting = spawn_app_with(&[("TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    login(&trusting).await.expect("login");
    assert_eq!(
        trusting
            .count("SELECT COUNT(*) FROM audit_logs WHERE ip = '203.0.113.7'")
            .await,
        1
    );
    let plain = spawn_app().await;
    login(&plain).await.expect("login");
    assert_eq!(
        plain
            .count("SELECT COUNT(*) FROM audit_logs WHERE ip = '127.0.0.1'")
            .await,
        1
    );
}

//! TOTP MFA: enrolment, the two-step login, single use of codes, recovery codes and MFA
//! tokens, rate limits, turning it off, and accounts held to enrolment by
//! `MFA_REQUIRED_ROLES` (with its production default, SUPER_ADMIN).

use lifeflow_tests::{fixtures::mfa::*, *};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

const LOGIN: &str = "mutation($i: LoginInput!) { login(input: $i) { accessToken refreshToken mfaRequired mfaToken user { id } } }";
const VERIFY: &str = "mutation($i: VerifyMfaInput!) { verifyMfa(input: $i) { accessToken refreshToken mfaRequired } }";
const DISABLE: &str =
    "mutation($i: DisableMfaInput!) { disableMfa(input: $i) { user { mfaEnabled } } }";

async fn login(app: &TestApp, email: &str) -> Value {
    app.gql(
        None,
        LOGIN,
        json!({"i": {"email": email, "password": PASSWORD}}),
    )
    .await
    .data()["login"]
        .clone()
}

async fn verify(app: &TestApp, token: &str, field: &str, value: &str) -> Gql {
    app.gql(
        None,
        VERIFY,
        json!({"i": {"mfaToken": token, field: value}}),
    )
    .await
}

#[tokio::test]
async fn an_account_enrols_with_a_code_and_then_signs_in_in_two_steps() {
    // Arrange
    let app = spawn_app().await;
    let s = app.signed_in("mfa@x.example").await;

    // Act: enrol, then sign in.
    let enrolled = enrol_mfa(&app, &s).await;
    let (secret, uri, codes) = (
        &enrolled.secret,
        &enrolled.otpauth_uri,
        &enrolled.recovery_codes,
    );
    let first = login(&app, "mfa@x.example").await;
    let token = first["mfaToken"].as_str().expect("mfa token");
    let second = verify(&app, token, "code", &enrolled.code(0)).await;

    // Assert
    assert!(uri.starts_with("otpauth://totp/LifeFlow:mfa%40x.example?"));
    assert!(uri.contains(&format!("secret={secret}")));
    assert_eq!(codes.len(), 10);
    assert_eq!(first["mfaRequired"], true);
    assert!(first["accessToken"].is_null() && first["refreshToken"].is_null());
    let tokens = &second.data()["verifyMfa"];
    assert_eq!(tokens["mfaRequired"], false);
    let access = tokens["accessToken"].as_str().expect("access");
    let me = app
        .gql(Some(access), "{ me { id mfaEnabled } }", json!({}))
        .await;
    assert_eq!(me.data()["me"]["mfaEnabled"], true);
    assert_eq!(me.data()["me"]["id"], s.user_id.as_str());
}

#[tokio::test]
async fn a_wrong_code_is_refused_and_the_mfa_token_stays_usable_until_a_right_one() {
    let app = spawn_app().await;
    let s = app.signed_in("wrong@x.example").await;
    let enrolled = enrol_mfa(&app, &s).await;
    let token = login(&app, &s.email).await["mfaToken"]
        .as_str()
        .expect("t")
        .to_string();

    let wrong = verify(&app, &token, "code", "000000").await;
    let right = verify(&app, &token, "code", &enrolled.code(0)).await;

    assert_eq!(wrong.code(), Some("BAD_USER_INPUT"));
    assert_eq!(wrong.field(), Some("input.code"));
    assert!(right.data()["verifyMfa"]["accessToken"].is_string());
}

#[tokio::test]
async fn a_code_is_accepted_once_per_time_step() {
    let app = spawn_app().await;
    let s = app.signed_in("replay@x.example").await;
    let enrolled = enrol_mfa(&app, &s).await;
    let c = enrolled.code(0);
    let t1 = login(&app, &s.email).await["mfaToken"]
        .as_str()
        .expect("t")
        .to_string();
    verify(&app, &t1, "code", &c).await.data();

    // The same code (same step) on a second login, and the confirming code (earlier step).
    let t2 = login(&app, &s.email).await["mfaToken"]
        .as_str()
        .expect("t")
        .to_string();
    let replay = verify(&app, &t2, "code", &c).await;
    let older = verify(&app, &t2, "code", &enrolled.code(-1)).await;
    let next = verify(&app, &t2, "code", &enrolled.code(1)).await;

    assert_eq!(replay.code(), Some("BAD_USER_INPUT"));
    assert_eq!(older.code(), Some("BAD_USER_INPUT"));
    assert!(next.data()["verifyMfa"]["accessToken"].is_string());
}

#[tokio::test]
async fn a_recovery_code_signs_in_once() {
    let app = spawn_app().await;
    let s = app.signed_in("recover@x.example").await;
    let codes = enrol_mfa(&app, &s).await.recovery_codes;
    let t1 = login(&app, &s.email).await["mfaToken"]
        .as_str()
        .expect("t")
        .to_string();
    let first = verify(&app, &t1, "recoveryCode", &codes[3].to_uppercase()).await;
    let t2 = login(&app, &s.email).await["mfaToken"]
        .as_str()
        .expect("t")
        .to_string();
    let again = verify(&app, &t2, "recoveryCode", &codes[3]).await;
    let other = verify(&app, &t2, "recoveryCode", &codes[4]).await;

    assert!(first.data()["verifyMfa"]["accessToken"].is_string());
    assert_eq!(again.code(), Some("BAD_USER_INPUT"));
    assert_eq!(again.field(), Some("input.recoveryCode"));
    assert!(other.data()["verifyMfa"]["accessToken"].is_string());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM mfa_recovery_codes WHERE used_at IS NOT NULL")
            .await,
        2
    );
}

#[tokio::test]
async fn an_mfa_token_works_once_and_not_after_it_expires() {
    let app = spawn_app().await;
    let s = app.signed_in("token@x.example").await;
    let codes = enrol_mfa(&app, &s).await.recovery_codes;
    let used = login(&app, &s.email).await["mfaToken"]
        .as_str()
        .expect("t")
        .to_string();
    verify(&app, &used, "recoveryCode", &codes[0]).await.data();
    let expired = login(&app, &s.email).await["mfaToken"]
        .as_str()
        .expect("t")
        .to_string();
    let backend = app.db.get_database_backend();
    app.db
        .execute_raw(sea_orm::Statement::from_string(
            backend,
            "UPDATE mfa_challenges SET expires_at = created_at WHERE used_at IS NULL".to_string(),
        ))
        .await
        .expect("expire");

    let reused = verify(&app, &used, "recoveryCode", &codes[1]).await;
    let late = verify(&app, &expired, "recoveryCode", &codes[1]).await;
    let unknown = verify(&app, "mfa_nonsense", "recoveryCode", &codes[1]).await;

    for r in [&reused, &late, &unknown] {
        assert_eq!(r.code(), Some("UNAUTHENTICATED"));
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM mfa_recovery_codes WHERE used_at IS NOT NULL")
            .await,
        1
    );
}

#[tokio::test]
async fn code_attempts_are_rate_limited_per_mfa_token() {
    let app = spawn_app_with(&[("MFA_MAX_ATTEMPTS", "3")]).await;
    let s = app.signed_in("limit@x.example").await;
    let enrolled = enrol_mfa(&app, &s).await;
    let token = login(&app, &s.email).await["mfaToken"]
        .as_str()
        .expect("t")
        .to_string();

    let mut codes = Vec::new();
    for _ in 0..3 {
        codes.push(
            verify(&app, &token, "code", "000000")
                .await
                .code()
                .map(str::to_string),
        );
    }
    let right_but_late = verify(&app, &token, "code", &enrolled.code(0)).await;

    assert!(codes.iter().all(|c| c.as_deref() == Some("BAD_USER_INPUT")));
    assert_eq!(right_but_late.code(), Some("RATE_LIMITED"));
}

#[tokio::test]
async fn disabling_needs_the_password_and_a_code_and_then_login_gives_tokens_at_once() {
    let app = spawn_app().await;
    let s = app.signed_in("off@x.example").await;
    let enrolled = enrol_mfa(&app, &s).await;

    let wrong_password = app
        .gql(
            Some(&s.access),
            DISABLE,
            json!({"i": {"password": "not the password", "code": enrolled.code(0)}}),
        )
        .await;
    let wrong_code = app
        .gql(
            Some(&s.access),
            DISABLE,
            json!({"i": {"password": PASSWORD, "code": "000000"}}),
        )
        .await;
    let done = app
        .gql(
            Some(&s.access),
            DISABLE,
            json!({"i": {"password": PASSWORD, "code": enrolled.code(0)}}),
        )
        .await;
    let after = login(&app, &s.email).await;

    assert_eq!(wrong_password.code(), Some("BAD_USER_INPUT"));
    assert_eq!(wrong_password.field(), Some("input.password"));
    assert_eq!(wrong_code.code(), Some("BAD_USER_INPUT"));
    assert_eq!(wrong_code.field(), Some("input.code"));
    assert_eq!(done.data()["disableMfa"]["user"]["mfaEnabled"], false);
    assert_eq!(after["mfaRequired"], false);
    assert!(after["accessToken"].is_string());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM mfa_recovery_codes").await,
        0
    );
}

#[tokio::test]
async fn the_mfa_secret_is_stored_sealed() {
    let app = spawn_app().await;
    let s = app.signed_in("sealed@x.example").await;
    let secret = enrol_mfa(&app, &s).await.secret;

    let backend = app.db.get_database_backend();
    let row = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            backend,
            "SELECT * FROM users WHERE email = 'sealed@x.example'".to_string(),
        ))
        .await
        .expect("query")
        .expect("row");
    let stored: String = row.try_get("", "mfa_secret").expect("mfa_secret");

    assert!(stored.starts_with("v1:"), "{stored}");
    assert!(!stored.contains(&secret));
    for col in ["email", "full_name", "password_hash"] {
        let v: String = row.try_get("", col).expect("column");
        assert!(!v.contains(&secret));
    }
}

#[tokio::test]
async fn a_super_admin_without_mfa_can_only_enrol_under_the_production_default() {
    // Arrange: the production default (SUPER_ADMIN), which the other tests turn off.
    let app = spawn_app_with(&[("MFA_REQUIRED_ROLES", "SUPER_ADMIN")]).await;
    let root = app.super_admin().await;
    let user = app.signed_in("plain@x.example").await;

    // Act
    let users = app
        .gql(
            Some(&root.access),
            "{ users(first: 1) { totalCount } }",
            json!({}),
        )
        .await;
    let register = app
        .gql(
            Some(&root.access),
            "mutation($i: RegisterOrganizationInput!) { registerOrganization(input: $i) { organization { id } } }",
            json!({"i": org_input("MFA-1", "NGO")}),
        )
        .await;
    let sneaky = app
        .gql(
            Some(&root.access),
            "query { me { id } ...F } fragment F on QueryRoot { users(first: 1) { totalCount } }",
            json!({}),
        )
        .await;
    let sessions = app
        .gql(Some(&root.access), "{ mySessions { id } }", json!({}))
        .await;
    let me = app
        .gql(Some(&root.access), "{ me { id mfaEnabled } }", json!({}))
        .await;
    let plain = app
        .gql(Some(&user.access), "{ mySessions { id } }", json!({}))
        .await;
    enrol_mfa(&app, &root).await;
    let after = app
        .gql(
            Some(&root.access),
            "{ users(first: 1) { totalCount } }",
            json!({}),
        )
        .await;
    let audit = app
        .gql(
            Some(&root.access),
            "{ auditLogs(filter: {actions: [\"mfa.enrolment_required\"]}, first: 10) { edges { node { actorUserId actorRole outcome errorCode requestId newValues } } } }",
            json!({}),
        )
        .await;

    // Assert: each refusal is refused and audited once, with its root fields and request id.
    for r in [&users, &register, &sneaky, &sessions] {
        assert_eq!(r.code(), Some("MFA_ENROLMENT_REQUIRED"), "{:?}", r.body);
    }
    let rows: Vec<Value> = audit.data()["auditLogs"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    assert_eq!(rows.len(), 4, "{rows:#?}");
    for (r, fields) in [
        (&users, json!(["users"])),
        (&register, json!(["registerOrganization"])),
        (&sneaky, json!(["me", "users"])),
        (&sessions, json!(["mySessions"])),
    ] {
        let id = r
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .expect("request id");
        let row = rows
            .iter()
            .find(|row| row["requestId"] == id)
            .unwrap_or_else(|| panic!("no audit row for request {id}: {rows:#?}"));
        assert_eq!(row["actorUserId"], root.user_id.as_str());
        assert_eq!(row["actorRole"], "SUPER_ADMIN");
        assert_eq!(row["outcome"], "FAILURE");
        assert_eq!(row["errorCode"], "MFA_ENROLMENT_REQUIRED");
        assert_eq!(row["newValues"]["fields"], fields);
    }
    assert_eq!(me.data()["me"]["mfaEnabled"], false);
    plain.data();
    assert!(after.data()["users"]["totalCount"].as_i64().expect("count") >= 2);
    assert_eq!(app.count("SELECT COUNT(*) FROM organizations").await, 0);
}

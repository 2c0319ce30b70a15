//! Session control: listing one's sessions, revoking one or all others; a revoked session's
//! refresh and access tokens are refused.

use lifeflow_tests::*;
use serde_json::json;

const MINE: &str = "{ mySessions { id userAgent ip createdAt lastUsedAt current } }";
const REVOKE: &str = "mutation($s: ID!) { revokeSession(input: {sessionId: $s}) { revoked } }";
const REFRESH: &str = "mutation($t: String!) { refreshSession(input: {refreshToken: $t}) { accessToken refreshToken } }";

#[tokio::test]
async fn my_sessions_lists_each_signed_in_device_and_marks_the_current_one() {
    let app = spawn_app().await;
    let laptop = app.signed_in("two@x.example").await;
    let phone = app.login("two@x.example", PASSWORD).await;

    let r = app.gql(Some(&laptop.access), MINE, json!({})).await;

    let list = r.data()["mySessions"].as_array().expect("list").clone();
    assert_eq!(list.len(), 2);
    assert_eq!(list.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(
        list.iter()
            .all(|s| s["ip"] == "127.0.0.1" && s["lastUsedAt"].is_string())
    );
    let other = app.gql(Some(&phone.access), MINE, json!({})).await;
    let current_of = |v: &serde_json::Value| {
        v["mySessions"]
            .as_array()
            .expect("list")
            .iter()
            .find(|s| s["current"] == true)
            .expect("current")["id"]
            .clone()
    };
    assert_ne!(current_of(r.data()), current_of(other.data()));
}

#[tokio::test]
async fn a_revoked_sessions_refresh_and_access_tokens_are_refused() {
    // Arrange
    let app = spawn_app().await;
    let laptop = app.signed_in("rev@x.example").await;
    let phone = app.login("rev@x.example", PASSWORD).await;
    app.gql(Some(&phone.access), "{ me { id } }", json!({}))
        .await
        .data();
    let r = app.gql(Some(&laptop.access), MINE, json!({})).await;
    let phone_id = r.data()["mySessions"]
        .as_array()
        .expect("list")
        .iter()
        .find(|s| s["current"] == false)
        .expect("phone")["id"]
        .clone();

    // Act
    let revoked = app
        .gql(Some(&laptop.access), REVOKE, json!({"s": phone_id}))
        .await;
    let refresh = app.gql(None, REFRESH, json!({"t": phone.refresh})).await;
    let access = app
        .gql(Some(&phone.access), "{ me { id } }", json!({}))
        .await;
    let still = app
        .gql(Some(&laptop.access), "{ me { id } }", json!({}))
        .await;

    // Assert
    assert_eq!(revoked.data()["revokeSession"]["revoked"], 1);
    assert_eq!(refresh.code(), Some("UNAUTHENTICATED"));
    assert_eq!(access.code(), Some("UNAUTHENTICATED"));
    still.data();
}

#[tokio::test]
async fn revoking_someone_elses_session_is_not_found_and_leaves_it_alone() {
    let app = spawn_app().await;
    let mallory = app.signed_in("mallory@x.example").await;
    let victim = app.signed_in("victim@x.example").await;
    let r = app.gql(Some(&victim.access), MINE, json!({})).await;
    let id = r.data()["mySessions"][0]["id"].clone();

    let attempt = app
        .gql(Some(&mallory.access), REVOKE, json!({"s": id}))
        .await;
    let refresh = app.gql(None, REFRESH, json!({"t": victim.refresh})).await;

    assert_eq!(attempt.code(), Some("NOT_FOUND"));
    assert!(refresh.data()["refreshSession"]["accessToken"].is_string());
}

#[tokio::test]
async fn revoke_other_sessions_ends_every_session_but_the_callers() {
    let app = spawn_app().await;
    let me = app.signed_in("others@x.example").await;
    let a = app.login("others@x.example", PASSWORD).await;
    let b = app.login("others@x.example", PASSWORD).await;

    let r = app
        .gql(
            Some(&me.access),
            "mutation { revokeOtherSessions { revoked } }",
            json!({}),
        )
        .await;

    assert_eq!(r.data()["revokeOtherSessions"]["revoked"], 2);
    for s in [&a, &b] {
        let refused = app.gql(None, REFRESH, json!({"t": s.refresh})).await;
        assert_eq!(refused.code(), Some("UNAUTHENTICATED"));
        let access = app.gql(Some(&s.access), "{ me { id } }", json!({})).await;
        assert_eq!(access.code(), Some("UNAUTHENTICATED"));
    }
    let mine = app.gql(Some(&me.access), MINE, json!({})).await;
    assert_eq!(mine.data()["mySessions"].as_array().expect("list").len(), 1);
    let rotated = app.gql(None, REFRESH, json!({"t": me.refresh})).await;
    assert!(rotated.data()["refreshSession"]["accessToken"].is_string());
}

#[tokio::test]
async fn a_refreshed_session_keeps_its_id_and_start() {
    let app = spawn_app().await;
    let s = app.signed_in("keep@x.example").await;
    let before = app.gql(Some(&s.access), MINE, json!({})).await.data()["mySessions"][0].clone();
    let r = app.gql(None, REFRESH, json!({"t": s.refresh})).await;
    let access = r.data()["refreshSession"]["accessToken"]
        .as_str()
        .expect("a")
        .to_string();

    let after = app.gql(Some(&access), MINE, json!({})).await.data()["mySessions"].clone();

    assert_eq!(after.as_array().expect("list").len(), 1);
    assert_eq!(after[0]["id"], before["id"]);
    assert_eq!(after[0]["createdAt"], before["createdAt"]);
    assert_eq!(after[0]["current"], true);
}

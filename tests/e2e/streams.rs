//! Streams re-check who they serve (DESIGN §7.2): a revoked API client, a deactivated user, a
//! removed or changed membership and a suspended organization end the websockets opened
//! with the access they withdraw, on this instance and through Redis on others; a
//! revocation whose event was missed is caught by the periodic re-check; API-client streams
//! end after their session lifetime. And the connection caps: sockets that never
//! authenticate cannot crowd out those that do, and an API client holds a few connections.
//!
//! The revocation tests set `WS_RECHECK_SECS` to an hour, so only the event can end the
//! stream within the test's wait.

use lifeflow_tests::{
    fixtures::{blood::ALERT_RAISED, *},
    ws::*,
    *,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use std::{net::IpAddr, time::Duration};

/// Only events end streams within a test (the re-check waits an hour).
const EVENTS_ONLY: (&str, &str) = ("WS_RECHECK_SECS", "3600");
/// The close code of a connection whose access was withdrawn.
const FORBIDDEN: Option<u16> = Some(4403);

const REVOKE: &str = "mutation($i: RevokeApiClientInput!) { revokeApiClient(input: $i) { apiClient { revokedAt } } }";
const DEACTIVATE: &str =
    "mutation($i: SetUserActiveInput!) { setUserActive(input: $i) { user { isActive } } }";
const REMOVE: &str =
    "mutation($i: RemoveMemberInput!) { removeMember(input: $i) { membership { isActive } } }";
const CHANGE_ROLE: &str =
    "mutation($i: ChangeMemberRoleInput!) { changeMemberRole(input: $i) { membership { role } } }";
const NOTIFICATIONS: &str = "subscription { notificationReceived { id } }";

/// A socket authenticated with `token` and subscribed to `alertRaised`.
async fn alert_stream(app: &TestApp, token: &str) -> WsClient {
    let mut ws = connect_as(&app.base, token).await;
    ws.subscribe("1", ALERT_RAISED, json!({})).await;
    ws
}

/// A blood bank with its admin.
async fn bank(app: &TestApp, root: &Session, code: &str) -> Org {
    org_north(
        app,
        root,
        code,
        "BLOOD_BANK",
        &format!("admin@{}.example", code.to_lowercase()),
        1.0,
    )
    .await
}

#[tokio::test]
async fn a_revoked_api_clients_subscription_ends_when_it_is_revoked() {
    // Arrange
    let app = spawn_app_with(&[EVENTS_ONLY]).await;
    let root = app.super_admin().await;
    let org = bank(&app, &root, "BANK-REV").await;
    let client = api_client(&app, &org.admin, &org.id, "lab feed", &["alerts:read"]).await;
    let mut ws = alert_stream(&app, &client.token).await;

    // Act
    app.gql(
        Some(&org.admin.access),
        REVOKE,
        json!({"i": {"organizationId": org.id, "apiClientId": client.id}}),
    )
    .await
    .data();

    // Assert: closed, and the token no longer opens a stream.
    assert_eq!(ws.closed_with(ARRIVES).await, FORBIDDEN);
    let mut again = connect(&app.base, TRANSPORT_WS).await;
    again.send_init(Some(&client.token)).await;
    assert_eq!(again.closed_with(ARRIVES).await, FORBIDDEN);
}

#[tokio::test]
async fn a_deactivated_users_subscription_ends_when_they_are_deactivated() {
    // Arrange
    let app = spawn_app_with(&[EVENTS_ONLY]).await;
    let root = app.super_admin().await;
    let user = app.signed_in("leaving@example.org").await;
    let mut ws = connect_as(&app.base, &user.access).await;
    ws.subscribe("n", NOTIFICATIONS, json!({})).await;

    // Act
    app.gql(
        Some(&root.access),
        DEACTIVATE,
        json!({"i": {"userId": user.user_id, "isActive": false}}),
    )
    .await
    .data();

    // Assert
    assert_eq!(ws.closed_with(ARRIVES).await, FORBIDDEN);
}

#[tokio::test]
async fn a_removed_members_subscription_ends_and_their_colleagues_stays_open() {
    // Arrange
    let app = spawn_app_with(&[EVENTS_ONLY]).await;
    let root = app.super_admin().await;
    let org = bank(&app, &root, "BANK-REM").await;
    let staff = member(&app, &org, "staff@bank-rem.example", "STAFF").await;
    let mut removed = alert_stream(&app, &staff.access).await;
    let mut colleague = alert_stream(&app, &org.admin.access).await;

    // Act
    app.gql(
        Some(&org.admin.access),
        REMOVE,
        json!({"i": {"organizationId": org.id, "userId": staff.user_id}}),
    )
    .await
    .data();

    // Assert: the removed member's socket is closed; the admin's still answers.
    assert_eq!(removed.closed_with(ARRIVES).await, FORBIDDEN);
    colleague.settle().await;
}

#[tokio::test]
async fn a_members_subscription_ends_when_their_role_changes_and_a_new_one_is_served() {
    // Arrange
    let app = spawn_app_with(&[EVENTS_ONLY]).await;
    let root = app.super_admin().await;
    let org = bank(&app, &root, "BANK-ROLE").await;
    let staff = member(&app, &org, "staff@bank-role.example", "STAFF").await;
    let mut ws = alert_stream(&app, &staff.access).await;

    // Act
    app.gql(
        Some(&org.admin.access),
        CHANGE_ROLE,
        json!({"i": {"organizationId": org.id, "userId": staff.user_id, "role": "DOCTOR"}}),
    )
    .await
    .data();

    // Assert: the stream authorized under the old role ends; reconnecting with the same
    // token is served under the new one.
    assert_eq!(ws.closed_with(ARRIVES).await, FORBIDDEN);
    let mut again = alert_stream(&app, &staff.access).await;
    again.settle().await;
}

#[tokio::test]
async fn the_streams_of_a_suspended_organizations_members_and_clients_end() {
    // Arrange
    let app = spawn_app_with(&[EVENTS_ONLY]).await;
    let root = app.super_admin().await;
    let org = bank(&app, &root, "BANK-SUS").await;
    let client = api_client(&app, &org.admin, &org.id, "lab feed", &["alerts:read"]).await;
    let mut by_client = alert_stream(&app, &client.token).await;
    let mut by_admin = alert_stream(&app, &org.admin.access).await;
    let mut by_root = alert_stream(&app, &root.access).await;

    // Act
    app.gql(
        Some(&root.access),
        "mutation($i: OrganizationStatusInput!) { suspendOrganization(input: $i) { organization { status } } }",
        json!({"i": {"organizationId": org.id, "reason": "licence lapsed"}}),
    )
    .await
    .data();

    // Assert: the organization's streams end; the super admin's, which did not depend on
    // it, goes on.
    assert_eq!(by_client.closed_with(ARRIVES).await, FORBIDDEN);
    assert_eq!(by_admin.closed_with(ARRIVES).await, FORBIDDEN);
    by_root.settle().await;
}

#[tokio::test]
async fn revocations_whose_events_were_missed_end_their_streams_at_the_next_recheck() {
    // Arrange: a re-check every second; streams of a member, a client and a user to be
    // revoked, and of a member and a client who stay.
    let app = spawn_app_with(&[("WS_RECHECK_SECS", "1")]).await;
    let root = app.super_admin().await;
    let org = bank(&app, &root, "BANK-MISS").await;
    let staff = member(&app, &org, "staff@bank-miss.example", "STAFF").await;
    let revoked = api_client(&app, &org.admin, &org.id, "old feed", &["alerts:read"]).await;
    let kept = api_client(&app, &org.admin, &org.id, "new feed", &["alerts:read"]).await;
    let user = app.signed_in("missed@example.org").await;
    let mut by_staff = alert_stream(&app, &staff.access).await;
    let mut by_revoked = alert_stream(&app, &revoked.token).await;
    let mut by_user = connect_as(&app.base, &user.access).await;
    by_user.subscribe("n", NOTIFICATIONS, json!({})).await;
    let mut by_admin = alert_stream(&app, &org.admin.access).await;
    let mut by_kept = alert_stream(&app, &kept.token).await;

    // Act: the changes are made without their events, as when an event was published while
    // Redis was down and never reached this instance.
    let uuid = |s: &str| s.parse::<uuid::Uuid>().expect("uuid");
    entity::user::Entity::update_many()
        .col_expr(entity::user::Column::IsActive, false.into())
        .filter(entity::user::Column::Id.eq(uuid(&user.user_id)))
        .exec(&app.db)
        .await
        .expect("deactivate");
    entity::membership::Entity::update_many()
        .col_expr(entity::membership::Column::IsActive, false.into())
        .filter(entity::membership::Column::UserId.eq(uuid(&staff.user_id)))
        .exec(&app.db)
        .await
        .expect("remove");
    entity::api_client::Entity::update_many()
        .col_expr(
            entity::api_client::Column::RevokedAt,
            Some(chrono::Utc::now()).into(),
        )
        .filter(entity::api_client::Column::Id.eq(uuid(&revoked.id)))
        .exec(&app.db)
        .await
        .expect("revoke");

    // Assert: the three end; the others still answer.
    assert_eq!(by_user.closed_with(ARRIVES).await, FORBIDDEN, "user");
    assert_eq!(by_staff.closed_with(ARRIVES).await, FORBIDDEN, "member");
    assert_eq!(by_revoked.closed_with(ARRIVES).await, FORBIDDEN, "client");
    by_admin.settle().await;
    by_kept.settle().await;
}

#[tokio::test]
async fn an_api_clients_subscription_ends_when_its_session_lifetime_is_over() {
    // Arrange: API-client sessions live 2 s (24 h by default; the token lives a year).
    let app = spawn_app_with(&[("WS_CLIENT_SESSION_MAX_SECS", "2")]).await;
    let root = app.super_admin().await;
    let org = bank(&app, &root, "BANK-LIFE").await;
    let client = api_client(&app, &org.admin, &org.id, "lab feed", &["alerts:read"]).await;

    // Act
    let mut ws = alert_stream(&app, &client.token).await;

    // Assert: the server completes the stream.
    let msg = ws.message_for("1", Duration::from_secs(8)).await;
    assert_eq!(msg["type"], "complete", "{msg}");
}

fn redis_up() -> bool {
    std::net::TcpStream::connect_timeout(
        &"127.0.0.1:6379".parse().expect("address"),
        Duration::from_millis(300),
    )
    .is_ok()
}

#[tokio::test]
async fn revocations_made_on_one_instance_end_streams_on_another_through_redis() {
    if !redis_up() {
        eprintln!("SKIPPED: no Redis on 127.0.0.1:6379 (CI starts one)");
        return;
    }
    // Arrange: two instances, one database, one Redis channel; streams on B.
    let prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
    let settings = [
        ("REDIS_URL", "redis://127.0.0.1:6379"),
        ("RATE_LIMIT_PREFIX", prefix.as_str()),
        EVENTS_ONLY,
    ];
    let a = spawn_app_with(&settings).await;
    let b = spawn_on(a.test_db.clone(), &settings).await;
    for app in [&a, &b] {
        eventually(Duration::from_secs(5), "redis up", || async {
            (readyz(app).await.1["redis"] == "up").then_some(())
        })
        .await;
    }
    let root = a.super_admin().await;
    let org = bank(&a, &root, "BANK-TWO").await;
    let client = api_client(&a, &org.admin, &org.id, "lab feed", &["alerts:read"]).await;
    let staff = member(&a, &org, "staff@bank-two.example", "STAFF").await;
    let leaving = a.signed_in("leaving@example.org").await;
    let mut by_client = alert_stream(&b, &client.token).await;
    let mut by_staff = alert_stream(&b, &staff.access).await;
    let mut by_leaving = connect_as(&b.base, &leaving.access).await;
    by_leaving.subscribe("n", NOTIFICATIONS, json!({})).await;
    let mut by_admin = alert_stream(&b, &org.admin.access).await;

    // Act: each change is made through instance A.
    a.gql(
        Some(&org.admin.access),
        REVOKE,
        json!({"i": {"organizationId": org.id, "apiClientId": client.id}}),
    )
    .await
    .data();
    a.gql(
        Some(&org.admin.access),
        REMOVE,
        json!({"i": {"organizationId": org.id, "userId": staff.user_id}}),
    )
    .await
    .data();
    a.gql(
        Some(&root.access),
        DEACTIVATE,
        json!({"i": {"userId": leaving.user_id, "isActive": false}}),
    )
    .await
    .data();

    // Assert: B ends each of them, and only them.
    assert_eq!(by_client.closed_with(ARRIVES).await, FORBIDDEN, "client");
    assert_eq!(by_staff.closed_with(ARRIVES).await, FORBIDDEN, "member");
    assert_eq!(by_leaving.closed_with(ARRIVES).await, FORBIDDEN, "user");
    by_admin.settle().await;
}

#[tokio::test]
async fn a_silent_socket_does_not_take_the_place_of_an_authenticated_one() {
    // Arrange: one authenticated connection per instance.
    let app = spawn_app_with(&[("WS_MAX_CONNECTIONS", "1")]).await;
    let user = app.signed_in("screen@example.org").await;
    let other = app.signed_in("other@example.org").await;
    let _silent = connect(&app.base, TRANSPORT_WS).await;

    // Act
    let mut ws = connect_as(&app.base, &user.access).await;
    let late = try_connect(&app.base, TRANSPORT_WS, None).await;

    // Assert: the user was served while the silent socket was open; the one place is the
    // user's, so the next socket is refused at the upgrade.
    ws.subscribe("1", ALERT_RAISED, json!({})).await;
    ws.settle().await;
    match late {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status().as_u16(), 503)
        }
        Err(e) => panic!("expected an HTTP 503, got {e}"),
        Ok(mut ws) => {
            ws.send_init(Some(&other.access)).await;
            panic!(
                "a second connection was upgraded past the cap; it ended with {:?}",
                ws.closed_with(ARRIVES).await
            )
        }
    }
}

#[tokio::test]
async fn silent_sockets_beyond_their_cap_are_refused_while_authenticated_ones_are_served() {
    // Arrange: two sockets may wait for their connection_init at once.
    let app = spawn_app_with(&[("WS_MAX_PENDING_CONNECTIONS", "2")]).await;
    let user = app.signed_in("screen@example.org").await;
    let mut ws = connect_as(&app.base, &user.access).await;
    let _one = connect(&app.base, TRANSPORT_WS).await;
    let _two = connect(&app.base, TRANSPORT_WS).await;

    // Act
    let third = try_connect(&app.base, TRANSPORT_WS, None).await;

    // Assert
    match third {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status().as_u16(), 503)
        }
        Err(e) => panic!("expected an HTTP 503, got {e}"),
        Ok(_) => panic!("a third unauthenticated socket was upgraded"),
    }
    ws.subscribe("1", ALERT_RAISED, json!({})).await;
    ws.settle().await;
}

#[tokio::test]
async fn one_address_holds_a_bounded_number_of_unauthenticated_sockets_while_others_connect() {
    // Arrange
    let app = spawn_app_with(&[("WS_MAX_PENDING_PER_IP", "2")]).await;
    let user = app.signed_in("screen@example.org").await;
    let flooder: IpAddr = "127.0.0.2".parse().expect("ip");
    let _one = try_connect_from(&app.base, flooder).await.expect("first");
    let _two = try_connect_from(&app.base, flooder).await.expect("second");

    // Act
    let third = try_connect_from(&app.base, flooder).await;
    let mut ws = connect_as(&app.base, &user.access).await;

    // Assert: the third silent socket from that address is refused; the user, from another
    // address, is served.
    match third {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status().as_u16(), 429)
        }
        Err(e) => panic!("expected an HTTP 429, got {e}"),
        Ok(_) => panic!("a third unauthenticated socket from one address was upgraded"),
    }
    ws.settle().await;
}

#[tokio::test]
async fn an_api_client_holds_a_bounded_number_of_connections() {
    // Arrange
    let app = spawn_app_with(&[("WS_MAX_CONNECTIONS_PER_CLIENT", "2")]).await;
    let root = app.super_admin().await;
    let org = bank(&app, &root, "BANK-CAP").await;
    let client = api_client(&app, &org.admin, &org.id, "lab feed", &["alerts:read"]).await;
    let other = api_client(&app, &org.admin, &org.id, "other feed", &["alerts:read"]).await;
    let _one = connect_as(&app.base, &client.token).await;
    let _two = connect_as(&app.base, &client.token).await;

    // Act
    let mut third = connect(&app.base, TRANSPORT_WS).await;
    third.send_init(Some(&client.token)).await;

    // Assert: the third is refused; another client of the same organization is served.
    assert_eq!(third.closed_with(ARRIVES).await, Some(4429));
    let mut ws = connect_as(&app.base, &other.token).await;
    ws.settle().await;
}

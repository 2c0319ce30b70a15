//! Shared subscription feeds: subscribers of one document with the same visibility class
//! share one resolution and serialization of each event; subscribers of different classes
//! still get exactly their own events; a revoked member stops receiving; a feed ends with
//! its last member. The sharing itself is invisible to clients, so the counters on
//! `/metrics` (`lifeflow_ws_feed*`) show it.

use lifeflow_tests::{fixtures::blood::*, ws::*, *};
use serde_json::{Value, json};
use std::time::Duration;

/// Nothing arrives within this (an event that would come arrives well within it).
const QUIET: Duration = Duration::from_millis(1000);

/// The value of an unlabelled metric (0 when absent).
async fn metric(app: &TestApp, name: &str) -> u64 {
    app.metrics()
        .await
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .map(|v| v.trim().parse().expect("a number"))
        .unwrap_or_else(|| panic!("{name} is not on /metrics"))
}

/// Waits until metric `name` reads `want` (a feed ends when a socket's close has been
/// processed); panics with the last value if it does not within [`ARRIVES`].
async fn metric_becomes(app: &TestApp, name: &str, want: u64) {
    let deadline = tokio::time::Instant::now() + ARRIVES;
    loop {
        let got = metric(app, name).await;
        if got == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} stayed {got}, expected {want}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A socket authenticated with `token`, subscribed to [`ALERT_RAISED`] as `1`.
async fn alert_stream(app: &TestApp, token: &str) -> WsClient {
    let mut ws = connect_as(&app.base, token).await;
    ws.subscribe("1", ALERT_RAISED, json!({})).await;
    ws
}

#[tokio::test]
async fn two_viewers_of_different_organizations_on_one_document_get_exactly_their_own_alerts() {
    // Arrange: a bank at the hospital's door and one 80 km away, each subscribed with the
    // same document and variables.
    let app = spawn_app().await;
    let net = Region::new(&app).await;
    let (_near, near_admin) = net.near_bank(&app).await;
    let (_far, far_admin) = net.far_bank(&app).await;
    let mut near_ws = alert_stream(&app, &near_admin.access).await;
    let mut far_ws = alert_stream(&app, &far_admin.access).await;

    // Act: an emergency with the default radius (the near bank only), then one whose
    // radius takes in both.
    let first = net.request(&app, NewRequest::default()).await;
    let second = net
        .request(
            &app,
            NewRequest {
                radius_km: Some(100.0),
                group: "O_POS",
                ..NewRequest::default()
            },
        )
        .await;

    // Assert: the near bank gets both, the far bank the second only; two feeds (one per
    // class) each resolved every alert its class sees once.
    let got = near_ws.next_data("1", ARRIVES).await;
    assert_eq!(got["alertRaised"]["relatedEntityId"], first.as_str());
    let got = near_ws.next_data("1", ARRIVES).await;
    assert_eq!(got["alertRaised"]["relatedEntityId"], second.as_str());
    let got = far_ws.next_data("1", ARRIVES).await;
    assert_eq!(got["alertRaised"]["relatedEntityId"], second.as_str());
    assert_eq!(far_ws.results_during("1", QUIET).await, Vec::<Value>::new());
    assert_eq!(metric(&app, "lifeflow_ws_feeds").await, 2);
    assert_eq!(
        metric(&app, "lifeflow_ws_feed_results_serialized_total").await,
        3
    );
}

#[tokio::test]
async fn two_viewers_of_one_class_each_get_every_alert_once_from_one_serialization() {
    // Arrange: a bank's admin and its staff member (different roles, the same alerts),
    // each on their own socket with the same document.
    let app = spawn_app().await;
    let net = Region::new(&app).await;
    let (bank, bank_admin) = net.near_bank(&app).await;
    let staff = app.signed_in("staff@near.example").await;
    app.add_member(&bank_admin, &bank, &staff.email, "STAFF")
        .await;
    let mut admin_ws = alert_stream(&app, &bank_admin.access).await;
    let mut staff_ws = alert_stream(&app, &staff.access).await;

    // Act
    let request = net.request(&app, NewRequest::default()).await;

    // Assert: each gets the alert once; it was serialized once and delivered twice.
    for ws in [&mut admin_ws, &mut staff_ws] {
        let got = ws.next_data("1", ARRIVES).await;
        assert_eq!(got["alertRaised"]["relatedEntityId"], request.as_str());
        assert_eq!(got["alertRaised"]["status"], "OPEN");
        assert_eq!(ws.results_during("1", QUIET).await, Vec::<Value>::new());
    }
    assert_eq!(metric(&app, "lifeflow_ws_feeds").await, 1);
    assert_eq!(metric(&app, "lifeflow_ws_feed_members").await, 2);
    assert_eq!(
        metric(&app, "lifeflow_ws_feed_results_serialized_total").await,
        1
    );
    assert_eq!(
        metric(&app, "lifeflow_ws_feed_results_delivered_total").await,
        2
    );
    // And its fan-out was timed once, when the second member's write was done.
    assert_eq!(
        metric(&app, "lifeflow_ws_feed_fanout_seconds_count").await,
        1
    );
}

#[tokio::test]
async fn a_member_whose_access_is_revoked_stops_receiving_and_the_feed_serves_the_others() {
    // Arrange: a bank's admin and staff member share a feed; only events end streams.
    let app = spawn_app_with(&[("WS_RECHECK_SECS", "3600")]).await;
    let net = Region::new(&app).await;
    let (bank, bank_admin) = net.near_bank(&app).await;
    let staff = app.signed_in("staff@near.example").await;
    app.add_member(&bank_admin, &bank, &staff.email, "STAFF")
        .await;
    let mut staff_ws = alert_stream(&app, &staff.access).await;
    let mut admin_ws = alert_stream(&app, &bank_admin.access).await;
    assert_eq!(metric(&app, "lifeflow_ws_feed_members").await, 2);

    // Act: the staff member is removed, then an emergency is raised.
    app.gql(
        Some(&bank_admin.access),
        "mutation($i: RemoveMemberInput!) { removeMember(input: $i) { membership { isActive } } }",
        json!({"i": {"organizationId": bank, "userId": staff.user_id}}),
    )
    .await
    .data();
    assert_eq!(staff_ws.closed_with(ARRIVES).await, Some(4403));
    metric_becomes(&app, "lifeflow_ws_feed_members", 1).await;
    let request = net.request(&app, NewRequest::default()).await;

    // Assert: the admin still gets it from the same feed, delivered to one member only.
    let got = admin_ws.next_data("1", ARRIVES).await;
    assert_eq!(got["alertRaised"]["relatedEntityId"], request.as_str());
    assert_eq!(metric(&app, "lifeflow_ws_feeds").await, 1);
    assert_eq!(
        metric(&app, "lifeflow_ws_feed_results_delivered_total").await,
        1
    );
}

#[tokio::test]
async fn a_feed_ends_when_its_last_member_leaves_and_a_new_subscriber_starts_another() {
    // Arrange: two sockets of one bank on one feed.
    let app = spawn_app().await;
    let net = Region::new(&app).await;
    let (_bank, bank_admin) = net.near_bank(&app).await;
    let mut completes = alert_stream(&app, &bank_admin.access).await;
    let closes = alert_stream(&app, &bank_admin.access).await;
    assert_eq!(metric(&app, "lifeflow_ws_feeds").await, 1);

    // Act: one completes its subscription, the other closes its socket.
    completes.send(json!({"id": "1", "type": "complete"})).await;
    let done = completes.message_for("1", ARRIVES).await;
    closes.close().await;

    // Assert: the completion is acknowledged as before, and nothing is left running.
    assert_eq!(done, json!({"id": "1", "type": "complete"}));
    metric_becomes(&app, "lifeflow_ws_feed_members", 0).await;
    metric_becomes(&app, "lifeflow_ws_feeds", 0).await;
    // A later subscriber starts a new feed and is served.
    completes.subscribe("2", ALERT_RAISED, json!({})).await;
    let request = net.request(&app, NewRequest::default()).await;
    let got = completes.next_data("2", ARRIVES).await;
    assert_eq!(got["alertRaised"]["relatedEntityId"], request.as_str());
    assert_eq!(metric(&app, "lifeflow_ws_feeds").await, 1);
}

//! Nobody else reads my deliveries or my notification preferences: not another user, not my
//! organization's admin, not a super admin, not an API client, not an anonymous caller.

use lifeflow_tests::{fixtures::blood::*, fixtures::*, *};
use serde_json::json;

const MY_DELIVERIES: &str =
    "{ notifications(first: 20) { edges { node { id deliveries { channel status } } } } }";
const MY_PREFERENCES: &str = "{ notificationPreferences { kind channels } }";

#[tokio::test]
async fn nobody_but_the_recipient_reads_deliveries_or_preferences() {
    // Arrange: the near bank's staff member has a notification with a delivery and a
    // preference; around them their admin, a super admin, another user and an API client.
    let app = spawn_app().await;
    let net = Region::new(&app).await;
    let (bank, admin) = net.near_bank(&app).await;
    let staff = app.signed_in("staff@near.example").await;
    app.add_member(&admin, &bank, &staff.email, "STAFF").await;
    app.gql(
        Some(&staff.access),
        "mutation { updateNotificationPreferences(input: {channels: [EMAIL]}) { preference { kind } } }",
        json!({}),
    )
    .await
    .data();
    net.request(&app, NewRequest::default()).await;
    let mine = app.gql(Some(&staff.access), MY_DELIVERIES, json!({})).await;
    let my_ids: Vec<String> = mine.data()["notifications"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["id"].as_str().expect("id").to_string())
        .collect();
    assert_eq!(my_ids.len(), 1);
    assert_eq!(
        mine.data()["notifications"]["edges"][0]["node"]["deliveries"][0]["channel"],
        "EMAIL"
    );
    let stranger = app.signed_in("stranger@example.org").await;
    let client = api_client(&app, &admin, &bank, "partner", &["stock:read"]).await;

    // Act + Assert: every other caller sees none of my notifications and none of my
    // preferences (their own lists only), or is refused.
    for (who, token) in [
        ("admin", admin.access.as_str()),
        ("super admin", net.root.access.as_str()),
        ("stranger", stranger.access.as_str()),
    ] {
        let theirs = app.gql(Some(token), MY_DELIVERIES, json!({})).await;
        let seen: Vec<&str> = theirs.data()["notifications"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .filter_map(|e| e["node"]["id"].as_str())
            .collect();
        assert!(
            seen.iter().all(|id| !my_ids.iter().any(|m| m == id)),
            "{who} saw my notification"
        );
        let prefs = app.gql(Some(token), MY_PREFERENCES, json!({})).await;
        assert_eq!(
            prefs.data()["notificationPreferences"],
            json!([]),
            "{who} saw a preference"
        );
    }
    let by_client = app
        .gql(Some(&client.token), MY_PREFERENCES, json!({}))
        .await;
    assert_eq!(by_client.code(), Some("FORBIDDEN"), "{:?}", by_client.body);
    let anonymous = app.gql(None, MY_PREFERENCES, json!({})).await;
    assert_eq!(anonymous.code(), Some("UNAUTHENTICATED"));
    let anonymous_set = app
        .gql(
            None,
            "mutation { updateNotificationPreferences(input: {channels: []}) { preference { kind } } }",
            json!({}),
        )
        .await;
    assert_eq!(anonymous_set.code(), Some("UNAUTHENTICATED"));
    // My preference is still mine alone.
    let still = app
        .gql(Some(&staff.access), MY_PREFERENCES, json!({}))
        .await;
    assert_eq!(
        still.data()["notificationPreferences"],
        json!([{"kind": null, "channels": ["EMAIL"]}])
    );
}

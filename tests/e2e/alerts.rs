//! Alerts and notifications: who receives an emergency over the websocket, subscription
//! filters, per-organization acknowledgement, what a reconnecting client missed, resolution,
//! notifications, and a request's transitions streamed to its hospital.

use lifeflow_tests::{
    fixtures::{blood::*, *},
    ws::*,
    *,
};
use serde_json::{Value, json};
use std::time::Duration;

/// Nothing arrives within this: long enough for an event that would come (well under the
/// design's one second), short enough for the suite.
const QUIET: Duration = Duration::from_millis(1000);

#[tokio::test]
async fn an_emergency_reaches_banks_in_its_radius_and_nobody_else() {
    // Arrange: a hospital, a bank next to it, a bank ~80 km away, an unrelated NGO.
    let app = spawn_app().await;
    let net = Region::new(&app).await;
    let (near, near_admin) = net.near_bank(&app).await;
    let near_staff = app.signed_in("staff@near.example").await;
    app.add_member(&near_admin, &near, &near_staff.email, "STAFF")
        .await;
    let (_far, far_admin) = net.far_bank(&app).await;
    let (_ngo, ngo_admin) = net
        .org_at(&app, "NGO-ONE", "NGO", "a@ngo.example", HERE.0, HERE.1)
        .await;
    let mut staff_ws = connect_as(&app.base, &near_staff.access).await;
    staff_ws
        .subscribe(
            "1",
            "subscription { alertRaised { kind severity title relatedEntityId } }",
            json!({}),
        )
        .await;
    let mut far_ws = connect_as(&app.base, &far_admin.access).await;
    far_ws.subscribe("1", ALERT_RAISED, json!({})).await;
    let mut ngo_ws = connect_as(&app.base, &ngo_admin.access).await;
    ngo_ws.subscribe("1", ALERT_RAISED, json!({})).await;

    // Act: the hospital raises an emergency.
    let request = net.request(&app, NewRequest::default()).await;

    // Assert: the near bank's staff gets it; the far bank and the NGO get nothing.
    let got = staff_ws.next_data("1", ARRIVES).await;
    let a = &got["alertRaised"];
    assert_eq!(a["kind"], "EMERGENCY_REQUEST");
    assert_eq!(a["severity"], "WARNING");
    assert_eq!(a["relatedEntityId"], request.as_str());
    assert_eq!(a["title"], "EMERGENCY request: 2 units of A+ red cells");
    assert_eq!(far_ws.results_during("1", QUIET).await, Vec::<Value>::new());
    assert_eq!(
        ngo_ws.results_during("1", Duration::from_millis(100)).await,
        Vec::<Value>::new()
    );
    // The alert rows agree: one alert, addressed to the near bank only.
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM alert_recipients r JOIN alerts a ON a.id = r.alert_id \
             WHERE a.kind = 'EMERGENCY_REQUEST' AND a.related_entity_id = {}",
            id_lit(&app, &request)
        ))
        .await,
        1
    );
}

#[tokio::test]
async fn the_subscription_filter_leaves_out_kinds_groups_severities_and_places() {
    // Arrange: a bank member with one subscription per filter on one socket.
    let app = spawn_app().await;
    let net = Region::new(&app).await;
    let (_bank, bank_admin) = net.near_bank(&app).await;
    let mut ws = connect_as(&app.base, &bank_admin.access).await;
    let subs = [
        ("all", json!(null)),
        ("stock-only", json!({"kinds": ["STOCK_CRITICAL"]})),
        ("emergencies", json!({"kinds": ["EMERGENCY_REQUEST"]})),
        ("critical", json!({"minSeverity": "CRITICAL"})),
        ("o-neg", json!({"bloodGroups": ["O_NEG"]})),
        (
            "far-away",
            json!({"near": {"latitude": km_north(80.0), "longitude": HERE.1}, "radiusKm": 20.0}),
        ),
        (
            "close-by",
            json!({"near": {"latitude": km_north(3.0), "longitude": HERE.1}, "radiusKm": 5.0}),
        ),
    ];
    for (id, f) in &subs {
        ws.send(json!({"id": id, "type": "subscribe", "payload": {"query": ALERT_RAISED, "variables": {"f": f}}}))
            .await;
    }
    ws.settle().await;

    // Act: an EMERGENCY (WARNING) for A+, then a CRITICAL for O−.
    let first = net.request(&app, NewRequest::default()).await;
    let second = net
        .request(
            &app,
            NewRequest {
                urgency: "CRITICAL",
                group: "O_NEG",
                ..NewRequest::default()
            },
        )
        .await;

    // Assert: each subscription got exactly what its filter lets through.
    let mut got: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    let deadline = tokio::time::Instant::now() + QUIET + Duration::from_millis(500);
    while let Some(Frame::Json(v)) = ws
        .next_frame(deadline.saturating_duration_since(tokio::time::Instant::now()))
        .await
    {
        assert_eq!(v["type"], "next", "{v}");
        assert!(v["payload"].get("errors").is_none(), "{v}");
        got.entry(v["id"].as_str().unwrap_or_default().to_string())
            .or_default()
            .push(
                v["payload"]["data"]["alertRaised"]["relatedEntityId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
    }
    let both = vec![first.clone(), second.clone()];
    let only_second = vec![second.clone()];
    let expected: std::collections::BTreeMap<String, Vec<String>> = [
        ("all", both.clone()),
        ("emergencies", both.clone()),
        ("critical", only_second.clone()),
        ("o-neg", only_second.clone()),
        ("close-by", both.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(got, expected);
    // A centre without a radius is refused, not silently ignored.
    ws.subscribe(
        "bad",
        ALERT_RAISED,
        json!({"f": {"near": {"latitude": HERE.0, "longitude": HERE.1}}}),
    )
    .await;
    let refused = ws.message_for("bad", ARRIVES).await;
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{refused}"
    );
}

#[tokio::test]
async fn a_bank_member_is_notified_and_marks_the_notification_read() {
    // Arrange
    let app = spawn_app().await;
    let net = Region::new(&app).await;
    let (bank, bank_admin) = net.near_bank(&app).await;
    let staff = app.signed_in("staff@near.example").await;
    app.add_member(&bank_admin, &bank, &staff.email, "STAFF")
        .await;
    let mut ws = connect_as(&app.base, &staff.access).await;
    ws.subscribe(
        "n",
        "subscription { notificationReceived { id kind priority title alertId relatedEntityType relatedEntityId readAt } }",
        json!({}),
    )
    .await;

    // Act
    let request = net.request(&app, NewRequest::default()).await;

    // Assert: the notification is streamed, listed as unread, then marked read.
    let n = ws.next_data("n", ARRIVES).await["notificationReceived"].clone();
    assert_eq!(n["kind"], "EMERGENCY_REQUEST");
    assert_eq!(n["priority"], "WARNING");
    assert!(n["alertId"].is_string(), "{n}");
    assert_eq!(n["relatedEntityType"], "blood_request");
    assert_eq!(n["relatedEntityId"], request.as_str());
    assert!(n["readAt"].is_null());
    let unread = "query { notifications(unreadOnly: true) { totalCount nodes { id kind alertId relatedEntityId readAt } } }";
    let r = app.gql(Some(&staff.access), unread, json!({})).await;
    let nodes = r.data()["notifications"]["nodes"].clone();
    assert_eq!(nodes.as_array().map(Vec::len), Some(1), "{nodes}");
    assert_eq!(nodes[0]["id"], n["id"]);
    assert_eq!(nodes[0]["relatedEntityId"], request.as_str());
    // The hospital's own staff were not notified of their own request.
    let r = app
        .gql(Some(&net.hospital_staff.access), unread, json!({}))
        .await;
    assert_eq!(r.data()["notifications"]["totalCount"], 0);
    let mark =
        "mutation($i: MarkNotificationsReadInput!) { markNotificationsRead(input: $i) { marked } }";
    let r = app
        .gql(Some(&staff.access), mark, json!({"i": {"ids": [n["id"]]}}))
        .await;
    assert_eq!(r.data()["markNotificationsRead"]["marked"], 1);
    let r = app.gql(Some(&staff.access), unread, json!({})).await;
    assert_eq!(r.data()["notifications"]["totalCount"], 0);
    let all = app
        .gql(
            Some(&staff.access),
            "query { notifications { nodes { id readAt } } }",
            json!({}),
        )
        .await;
    assert!(all.data()["notifications"]["nodes"][0]["readAt"].is_string());
    // Marking again marks nothing; someone else's id marks nothing either.
    let r = app
        .gql(
            Some(&bank_admin.access),
            mark,
            json!({"i": {"ids": [n["id"]]}}),
        )
        .await;
    assert_eq!(r.data()["markNotificationsRead"]["marked"], 0);
}

#[tokio::test]
async fn acknowledgement_is_per_bank_missed_alerts_are_listed_and_accepting_resolves() {
    // Arrange: two banks in the radius, an emergency.
    let app = spawn_app().await;
    let net = Region::new(&app).await;
    let (bank_a, admin_a) = net
        .org_at(&app, "BB-A", "BLOOD_BANK", "a@a.example", HERE.0, HERE.1)
        .await;
    let (bank_b, admin_b) = net
        .org_at(
            &app,
            "BB-B",
            "BLOOD_BANK",
            "a@b.example",
            km_north(4.0),
            HERE.1,
        )
        .await;
    let first = net.request(&app, NewRequest::default()).await;
    let of = |v: &[Value], req: &str| -> Value {
        v.iter()
            .find(|a| a["relatedEntityId"] == req && a["kind"] == "EMERGENCY_REQUEST")
            .cloned()
            .unwrap_or_else(|| panic!("no alert for {req} in {v:?}"))
    };
    let alert = of(&alerts_of(&app, &admin_a, json!({})).await, &first);
    assert_eq!(alert["status"], "OPEN");

    // Act: bank A acknowledges.
    let ack = "mutation($i: AlertActionInput!) { acknowledgeAlert(input: $i) { alert { id status acknowledgedAt } } }";
    let r = app
        .gql(
            Some(&admin_a.access),
            ack,
            json!({"i": {"alertId": alert["id"], "organizationId": bank_a}}),
        )
        .await;

    // Assert: A sees it acknowledged, B still open.
    assert_eq!(
        r.data()["acknowledgeAlert"]["alert"]["status"],
        "ACKNOWLEDGED"
    );
    assert_eq!(
        of(&alerts_of(&app, &admin_a, json!({})).await, &first)["status"],
        "ACKNOWLEDGED"
    );
    assert_eq!(
        of(&alerts_of(&app, &admin_b, json!({})).await, &first)["status"],
        "OPEN"
    );
    assert!(
        alerts_of(&app, &admin_a, json!({"statuses": ["OPEN"]}))
            .await
            .is_empty()
    );
    assert_eq!(
        alerts_of(&app, &admin_b, json!({"statuses": ["OPEN"]}))
            .await
            .len(),
        1
    );
    // B cannot acknowledge for A.
    let r = app
        .gql(
            Some(&admin_b.access),
            ack,
            json!({"i": {"alertId": alert["id"], "organizationId": bank_a}}),
        )
        .await;
    assert_eq!(r.code(), Some("FORBIDDEN"));

    // Nor can B resolve it for everyone: only the hospital it is about can.
    let resolve =
        "mutation($i: AlertActionInput!) { resolveAlert(input: $i) { alert { status } } }";
    let r = app
        .gql(
            Some(&admin_b.access),
            resolve,
            json!({"i": {"alertId": alert["id"], "organizationId": bank_b}}),
        )
        .await;
    assert_eq!(r.code(), Some("FORBIDDEN"), "{:?}", r.body);
    assert_eq!(
        of(&alerts_of(&app, &admin_b, json!({})).await, &first)["status"],
        "OPEN"
    );

    // A client that was offline asks for what it missed since its last alert.
    let since = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second = net.request(&app, NewRequest::default()).await;
    let missed = alerts_of(
        &app,
        &admin_b,
        json!({"createdAfter": since.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)}),
    )
    .await;
    let ids: Vec<&str> = missed
        .iter()
        .filter_map(|a| a["relatedEntityId"].as_str())
        .collect();
    assert_eq!(ids, vec![second.as_str()]);

    // Accepting the first request resolves its alert, for everyone.
    add_units(
        &app,
        &admin_b,
        &bank_b,
        units("B-UNIT", "A_POS", "RED_CELLS", 2),
    )
    .await;
    let r = accept(&app, &admin_b, &first, &bank_b).await;
    assert_eq!(
        r.data()["acceptBloodRequest"]["bloodRequest"]["status"],
        "ACCEPTED"
    );
    assert_eq!(
        of(&alerts_of(&app, &admin_a, json!({})).await, &first)["status"],
        "RESOLVED"
    );
    assert_eq!(
        of(&alerts_of(&app, &admin_b, json!({})).await, &first)["status"],
        "RESOLVED"
    );
    let second_alert = of(&alerts_of(&app, &admin_b, json!({})).await, &second);
    assert_eq!(second_alert["status"], "OPEN");
    // The hospital, having found blood elsewhere, resolves its own alert for everyone.
    let r = app
        .gql(
            Some(&net.hospital_staff.access),
            resolve,
            json!({"i": {"alertId": second_alert["id"], "organizationId": net.hospital}}),
        )
        .await;
    assert_eq!(r.data()["resolveAlert"]["alert"]["status"], "RESOLVED");
    assert_eq!(
        of(&alerts_of(&app, &admin_a, json!({})).await, &second)["status"],
        "RESOLVED"
    );
}

#[tokio::test]
async fn a_super_admin_subscribed_to_alerts_hears_of_a_new_organization() {
    // Arrange: the root and a bank admin listen.
    let app = spawn_app().await;
    let net = Region::new(&app).await;
    let (_bank, bank_admin) = net.near_bank(&app).await;
    let mut root_ws = connect_as(&app.base, &net.root.access).await;
    root_ws.subscribe("1", ALERT_RAISED, json!({})).await;
    let mut bank_ws = connect_as(&app.base, &bank_admin.access).await;
    bank_ws.subscribe("1", ALERT_RAISED, json!({})).await;

    // Act: someone registers an organization.
    let newcomer = app.signed_in("founder@new.example").await;
    let org = app.pending_org(&newcomer, "NGO-NEW", "NGO").await;

    // Assert
    let a = root_ws.next_data("1", ARRIVES).await["alertRaised"].clone();
    assert_eq!(a["kind"], "ORG_PENDING");
    assert_eq!(a["severity"], "INFO");
    assert_eq!(a["relatedEntityId"], org.as_str());
    assert_eq!(
        bank_ws.results_during("1", QUIET).await,
        Vec::<Value>::new()
    );
    // Approving resolves it.
    app.gql(
        Some(&net.root.access),
        "mutation($i: OrganizationStatusInput!) { approveOrganization(input: $i) { organization { status } } }",
        json!({"i": {"organizationId": org}}),
    )
    .await
    .data();
    let list = alerts_of(&app, &net.root, json!({"kinds": ["ORG_PENDING"]})).await;
    let mine = list
        .iter()
        .find(|a| a["relatedEntityId"] == org.as_str())
        .expect("the ORG_PENDING alert");
    assert_eq!(mine["status"], "RESOLVED");
}

#[tokio::test]
async fn a_hospital_follows_its_request_and_another_hospital_cannot() {
    // Arrange
    let app = spawn_app().await;
    let net = Region::new(&app).await;
    let (bank, bank_admin) = net.near_bank(&app).await;
    add_units(
        &app,
        &bank_admin,
        &bank,
        units("UNIT", "A_POS", "RED_CELLS", 2),
    )
    .await;
    let request = net.request(&app, NewRequest::default()).await;
    let (_other, other_admin) = net
        .org_at(
            &app,
            "HOSP-OTHER",
            "HOSPITAL",
            "a@other.example",
            HERE.0,
            HERE.1,
        )
        .await;
    let query = "subscription($id: ID!) { bloodRequestChanged(id: $id) { requestId status bloodBankId escalationLevel at } }";
    let mut ws = connect_as(&app.base, &net.hospital_staff.access).await;
    ws.subscribe("r", query, json!({"id": request})).await;
    let mut other_ws = connect_as(&app.base, &other_admin.access).await;
    other_ws.subscribe("r", query, json!({"id": request})).await;

    // Act: the bank accepts, then fulfils.
    accept(&app, &bank_admin, &request, &bank).await.data();
    app.gql(
        Some(&bank_admin.access),
        "mutation($i: FulfillBloodRequestInput!) { fulfillBloodRequest(input: $i) { bloodRequest { status } } }",
        json!({"i": {"requestId": request, "bloodBankId": bank}}),
    )
    .await
    .data();

    // Assert
    let c = ws.next_data("r", ARRIVES).await["bloodRequestChanged"].clone();
    assert_eq!(c["requestId"], request.as_str());
    assert_eq!(c["status"], "ACCEPTED");
    assert_eq!(c["bloodBankId"], bank.as_str());
    let c = ws.next_data("r", ARRIVES).await["bloodRequestChanged"].clone();
    assert_eq!(c["status"], "FULFILLED");
    let refused = other_ws.message_for("r", ARRIVES).await;
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{refused}"
    );
    // A request that does not exist looks the same.
    other_ws
        .subscribe("x", query, json!({"id": uuid::Uuid::new_v4()}))
        .await;
    let refused = other_ws.message_for("x", ARRIVES).await;
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"],
        "NOT_FOUND"
    );
}

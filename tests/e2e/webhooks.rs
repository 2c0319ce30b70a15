//! Signed webhooks, end to end against a real HTTP server on loopback that the test starts:
//! a delivery's signature verifies with the secret returned once; a target answering 500
//! three times then 200 gets it once, with four attempts recorded; a rotated secret signs at
//! once; a disabled endpoint gets nothing more; a redelivery carries the same event id; and
//! private targets are refused when saved unless the settings allow them (never in
//! production). The send-time check after DNS resolution is unit-tested with a resolver in
//! `api/src/webhooks/target.rs`.

use lifeflow_tests::{
    fixtures::{blood::*, camps::CampNet, webhooks::*},
    mail::{HttpSink, wait_until},
    *,
};
use serde_json::{Value, json};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(20);

async fn new_request(app: &TestApp, net: &CampNet) -> String {
    create_request(
        app,
        &net.hospital_staff,
        request_input(&net.hospital.id, "A_POS", "RED_CELLS", 2),
    )
    .await
}

#[tokio::test]
async fn a_delivery_is_signed_with_the_secret_returned_once_and_carries_no_patient_field() {
    // Arrange
    let app = spawn_app_with(&WEBHOOK_TESTS).await;
    let net = CampNet::new(&app).await;
    let sink = HttpSink::start().await;
    let (endpoint, secret) = create_endpoint(
        &app,
        &net.hospital.admin,
        &net.hospital.id,
        &sink.url("/hook"),
        &["BLOOD_REQUEST_CHANGED"],
    )
    .await;

    // Act
    let request = new_request(&app, &net).await;
    let got = sink.wait_for(1, LIMIT).await;

    // Assert
    let r = &got[0];
    assert!(signed_with(r, &secret), "signature does not verify: {r:?}");
    assert!(!signed_with(r, "another secret"));
    let body = r.json();
    assert_eq!(r.header("lifeflow-event-id"), body["id"].as_str());
    assert_eq!(body["type"], "BLOOD_REQUEST_CHANGED");
    assert_eq!(body["data"]["bloodRequestId"], request.as_str());
    assert_eq!(body["data"]["status"], "PENDING");
    assert!(!r.body.contains("MRN-0001") && !r.body.to_lowercase().contains("patient"));
    let listed = app
        .gql(
            Some(&net.hospital.admin.access),
            "query($o: ID!) { webhookEndpoints(organizationId: $o) { nodes { id url events enabled } } }",
            json!({"o": net.hospital.id}),
        )
        .await;
    let text = listed.body.to_string();
    assert!(text.contains(&endpoint) && !text.contains(&secret));
}

#[tokio::test]
async fn a_target_failing_three_times_gets_the_delivery_once_with_four_attempts_recorded() {
    // Arrange
    let app = spawn_app_with(&WEBHOOK_TESTS).await;
    let net = CampNet::new(&app).await;
    let sink = HttpSink::start().await;
    sink.answer(&[500, 500, 500]);
    let (endpoint, _) = create_endpoint(
        &app,
        &net.hospital.admin,
        &net.hospital.id,
        &sink.url("/hook"),
        &["BLOOD_REQUEST_CHANGED"],
    )
    .await;

    // Act
    new_request(&app, &net).await;
    let sent = wait_until(LIMIT, || async {
        deliveries(&app, &net.hospital.admin, &endpoint).await[0]["status"] == "SENT"
    })
    .await;

    // Assert
    assert!(sent, "never delivered");
    let log = deliveries(&app, &net.hospital.admin, &endpoint).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["attempts"], 4);
    assert_eq!(log[0]["responseCode"], 200);
    let got = sink.received();
    assert_eq!(got.len(), 4, "one POST an attempt");
    let ids: Vec<_> = got.iter().map(|r| r.header("lifeflow-event-id")).collect();
    assert!(ids.iter().all(|id| *id == log[0]["id"].as_str()), "{ids:?}");
}

#[tokio::test]
async fn a_rotated_secret_signs_at_once_and_a_disabled_endpoint_gets_nothing_more() {
    // Arrange
    let app = spawn_app_with(&WEBHOOK_TESTS).await;
    let net = CampNet::new(&app).await;
    let sink = HttpSink::start().await;
    let (endpoint, old) = create_endpoint(
        &app,
        &net.hospital.admin,
        &net.hospital.id,
        &sink.url("/hook"),
        &["BLOOD_REQUEST_CHANGED"],
    )
    .await;

    // Act: rotate, then an event; disable, then another event.
    let rotated = endpoint_op(&app, &net.hospital.admin, "rotateWebhookSecret", &endpoint).await;
    let new = rotated.data()["rotateWebhookSecret"]["secret"]
        .as_str()
        .expect("present")
        .to_string();
    new_request(&app, &net).await;
    let got = sink.wait_for(1, LIMIT).await;
    let disabled = endpoint_op(
        &app,
        &net.hospital.admin,
        "disableWebhookEndpoint",
        &endpoint,
    )
    .await;
    new_request(&app, &net).await;

    // Assert
    assert_ne!(old, new);
    assert!(signed_with(&got[0], &new) && !signed_with(&got[0], &old));
    assert_eq!(
        disabled.data()["disableWebhookEndpoint"]["endpoint"]["enabled"],
        false
    );
    // Queued in the request's own transaction: none was, after the disable.
    assert_eq!(
        deliveries(&app, &net.hospital.admin, &endpoint).await.len(),
        1
    );
}

#[tokio::test]
async fn a_redelivery_sends_the_same_event_id_again() {
    // Arrange: one delivery, sent.
    let app = spawn_app_with(&WEBHOOK_TESTS).await;
    let net = CampNet::new(&app).await;
    let sink = HttpSink::start().await;
    let (endpoint, _) = create_endpoint(
        &app,
        &net.hospital.admin,
        &net.hospital.id,
        &sink.url("/hook"),
        &["BLOOD_REQUEST_CHANGED"],
    )
    .await;
    new_request(&app, &net).await;
    sink.wait_for(1, LIMIT).await;
    // The sink sees the request before the worker records it; a redelivery while the
    // worker's lease is held is refused, so wait for the record.
    assert!(
        wait_until(LIMIT, || async {
            deliveries(&app, &net.hospital.admin, &endpoint).await[0]["status"] == "SENT"
        })
        .await
    );
    let delivery = deliveries(&app, &net.hospital.admin, &endpoint).await[0]["id"]
        .as_str()
        .expect("present")
        .to_string();

    // Act
    let r = app
        .gql(
            Some(&net.hospital.admin.access),
            "mutation($i: RedeliverWebhookInput!) { redeliverWebhook(input: $i) { delivery { id status } } }",
            json!({"i": {"deliveryId": delivery}}),
        )
        .await;
    let got = sink.wait_for(2, LIMIT).await;

    // Assert
    assert_eq!(
        r.data()["redeliverWebhook"]["delivery"]["status"],
        "PENDING"
    );
    assert_eq!(got[1].header("lifeflow-event-id"), Some(delivery.as_str()));
    assert_eq!(got[0].body, got[1].body);
    assert!(
        wait_until(LIMIT, || async {
            let log = deliveries(&app, &net.hospital.admin, &endpoint).await;
            log[0]["status"] == "SENT" && log[0]["attempts"] == 2
        })
        .await
    );
}

#[tokio::test]
async fn webhook_urls_to_private_loopback_or_link_local_targets_are_refused_when_saved() {
    // Arrange: private targets not allowed (the production setting).
    let app = spawn_app().await;
    let net = CampNet::new(&app).await;

    // Act
    let mut refused = Vec::new();
    for url in [
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://localhost/hook",
        "http://partner.example/hook",
    ] {
        let r = try_create_endpoint(
            &app,
            &net.hospital.admin,
            &net.hospital.id,
            url,
            &["ALERT_RAISED"],
        )
        .await;
        refused.push((
            url,
            r.code().map(str::to_string),
            r.field().map(str::to_string),
        ));
    }
    let public = try_create_endpoint(
        &app,
        &net.hospital.admin,
        &net.hospital.id,
        "https://partner.example/hook",
        &["ALERT_RAISED"],
    )
    .await;

    // Assert
    for (url, code, field) in refused {
        assert_eq!(
            (code.as_deref(), field.as_deref()),
            (Some("BAD_USER_INPUT"), Some("input.url")),
            "{url}"
        );
    }
    assert_eq!(
        public.data()["createWebhookEndpoint"]["endpoint"]["url"],
        "https://partner.example/hook"
    );
}

#[test]
fn production_refuses_to_allow_private_webhook_targets() {
    // Arrange
    let mut settings = test_settings("sqlite::memory:");
    settings.insert("APP_ENV".into(), "production".into());
    settings.insert("WEBHOOK_ALLOW_PRIVATE".into(), "true".into());

    // Act
    let refused = lifeflow::config::Config::from_map(&settings);

    // Assert
    assert_eq!(refused.expect_err("refused").name, "WEBHOOK_ALLOW_PRIVATE");
}

#[tokio::test]
async fn drives_reach_both_sides_endpoints_and_the_log_costs_the_same_for_any_page() {
    // Arrange: the NGO listens for drives; the hospital proposes three.
    let app = spawn_app_with(&WEBHOOK_TESTS).await;
    let net = CampNet::new(&app).await;
    let sink = HttpSink::start().await;
    let (endpoint, _) = create_endpoint(
        &app,
        &net.ngo.admin,
        &net.ngo.id,
        &sink.url("/ngo"),
        &["DRIVE_CHANGED"],
    )
    .await;
    for days in 2..5 {
        camps_fixtures_propose(&app, &net, days).await;
    }
    let got = sink.wait_for(3, LIMIT).await;

    // Act
    let page = |n: i32| {
        let query = format!(
            "query($e: ID!) {{ webhookDeliveries(endpointId: $e, first: {n}) {{ nodes {{ {DELIVERY_FIELDS} }} }} }}"
        );
        let (app, token, endpoint) = (&app, net.ngo.admin.access.clone(), endpoint.clone());
        async move { app.gql(Some(&token), &query, json!({"e": endpoint})).await }
    };
    let small = page(1).await;
    let large = page(3).await;

    // Assert
    let kinds: Vec<Value> = got.iter().map(|r| r.json()["type"].clone()).collect();
    assert!(kinds.iter().all(|k| k == "DRIVE_CHANGED"), "{kinds:?}");
    assert_eq!(got[0].json()["data"]["status"], "PENDING");
    assert_eq!(
        large.data()["webhookDeliveries"]["nodes"]
            .as_array()
            .expect("present")
            .len(),
        3
    );
    assert_eq!(small.statements(), large.statements());
}

async fn camps_fixtures_propose(app: &TestApp, net: &CampNet, days: i64) {
    lifeflow_tests::fixtures::camps::camp_op(
        app,
        &net.hospital_staff,
        "proposeDrive",
        json!({"hospitalId": net.hospital.id, "ngoId": net.ngo.id, "type": "SCHEDULED",
               "targetUnits": 5, "date": lifeflow_tests::fixtures::camps::local_date(days)}),
        "drive { id }",
    )
    .await
    .data();
}

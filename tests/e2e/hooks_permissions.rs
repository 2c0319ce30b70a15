//! The permission matrix of webhooks and donor call-outs: every kind of caller against every
//! new operation. "Allowed" means the caller got past the permission layer; inputs are chosen
//! so an allowed mutation then fails on a business rule (a URL that is not https, a radius
//! over the ceiling, a disabled endpoint) and leaves the state as it was for the next row.
//! A call-out or donor the caller may not see is `NOT_FOUND`, as an unknown id.

use lifeflow_tests::{
    fixtures::{blood::*, callouts::*, camps::CampNet, webhooks::*},
    matrix::{Matrix, Outcome::*, Row, mutation},
    *,
};
use serde_json::json;

const CALLERS: [&str; 7] = [
    "anonymous",
    "donor",
    "NGO staff",
    "bank staff",
    "hospital staff",
    "hospital admin",
    "super admin",
];

#[tokio::test]
async fn every_caller_against_every_webhook_and_callout_operation() {
    // Arrange: a disabled endpoint of the hospital with one (dead) delivery, and a bank's
    // call-out that reached the donor.
    let app = spawn_app_with(&WEBHOOK_TESTS).await;
    let net = CampNet::new(&app).await;
    let donor = donor_north(&app, "d@m.example", "+919800000900", "O_POS", 1.0, true).await;
    let (dead, _) = create_endpoint(
        &app,
        &net.hospital.admin,
        &net.hospital.id,
        "http://127.0.0.1:9/hook",
        &["BLOOD_REQUEST_CHANGED"],
    )
    .await;
    create_request(
        &app,
        &net.hospital_staff,
        request_input(&net.hospital.id, "A_POS", "RED_CELLS", 1),
    )
    .await;
    endpoint_op(&app, &net.hospital.admin, "disableWebhookEndpoint", &dead)
        .await
        .data();
    let delivery = deliveries(&app, &net.hospital.admin, &dead).await[0]["id"].clone();
    let callout = start(&app, &net.bank_staff, callout_input(&net.bank.id, 10.0)).await;
    let tokens = vec![
        None,
        Some(donor.me.access.clone()),
        Some(net.ngo_staff.access.clone()),
        Some(net.bank_staff.access.clone()),
        Some(net.hospital_staff.access.clone()),
        Some(net.hospital.admin.access.clone()),
        Some(net.root.access.clone()),
    ];
    let rows: Vec<Row<7>> = vec![
        (
            "createWebhookEndpoint",
            mutation(
                "createWebhookEndpoint",
                "CreateWebhookEndpointInput",
                "secret",
            ),
            json!({"i": {"organizationId": net.hospital.id, "url": "ftp://partner.example/",
                         "events": ["ALERT_RAISED"]}}),
            [U, F, F, F, F, A, F],
        ),
        (
            "rotateWebhookSecret",
            mutation(
                "rotateWebhookSecret",
                "WebhookEndpointActionInput",
                "endpoint { id }",
            ),
            json!({"i": {"endpointId": dead}}),
            [U, F, F, F, F, A, F],
        ),
        (
            "disableWebhookEndpoint",
            mutation(
                "disableWebhookEndpoint",
                "WebhookEndpointActionInput",
                "endpoint { id }",
            ),
            json!({"i": {"endpointId": dead}}),
            [U, F, F, F, F, A, F],
        ),
        (
            "redeliverWebhook",
            mutation(
                "redeliverWebhook",
                "RedeliverWebhookInput",
                "delivery { id }",
            ),
            json!({"i": {"deliveryId": delivery}}),
            [U, F, F, F, F, A, F],
        ),
        (
            "webhookEndpoints",
            "query($o: ID!) { webhookEndpoints(organizationId: $o) { nodes { id } } }".into(),
            json!({"o": net.hospital.id}),
            [U, F, F, F, F, A, A],
        ),
        (
            "webhookDeliveries",
            "query($e: ID!) { webhookDeliveries(endpointId: $e) { nodes { id } } }".into(),
            json!({"e": dead}),
            [U, F, F, F, F, A, A],
        ),
        (
            "startCallout as a bank",
            mutation("startCallout", "StartCalloutInput", "callout { id }"),
            json!({"i": callout_input(&net.bank.id, 1000.0)}),
            [U, F, F, A, F, F, F],
        ),
        (
            "startCallout as an NGO",
            mutation("startCallout", "StartCalloutInput", "callout { id }"),
            json!({"i": callout_input(&net.ngo.id, 1000.0)}),
            [U, F, A, F, F, F, F],
        ),
        (
            "startCallout as a hospital",
            mutation("startCallout", "StartCalloutInput", "callout { id }"),
            json!({"i": callout_input(&net.hospital.id, 5.0)}),
            [U, F, F, F, F, F, F],
        ),
        (
            "respondToCallout",
            mutation(
                "respondToCallout",
                "RespondToCalloutInput",
                "answer { response }",
            ),
            json!({"i": {"calloutId": callout["id"], "response": "CANNOT"}}),
            [U, A, N, N, N, N, N],
        ),
        (
            "setCalloutOptIn",
            mutation("setCalloutOptIn", "SetCalloutOptInInput", "donor { id }"),
            json!({"i": {"donorId": donor.id, "acceptsCallouts": true}}),
            [U, A, N, N, N, N, N],
        ),
        (
            "callout",
            "query($id: ID!) { callout(id: $id) { counts { notified } coming { donorId } } }"
                .into(),
            json!({"id": callout["id"]}),
            [U, N, N, A, N, N, A],
        ),
    ];

    // Act and assert
    Matrix::new(CALLERS, tokens)
        .telling_not_found_apart()
        .assert(&app, &rows)
        .await;
}

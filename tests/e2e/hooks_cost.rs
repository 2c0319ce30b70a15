//! What webhooks and call-outs cost, in SQL statements (the `x-sql-statements` header), so
//! the numbers do not depend on a busy machine: a mutation whose events no endpoint
//! subscribes to pays one statement for webhooks (the endpoints lookup), one that feeds an
//! endpoint pays the lookup and the insert; a call-out's statements do not grow with the
//! donors it reaches. `bench/hooks-cost.sh` runs these and prints the figures.

use lifeflow_tests::{
    fixtures::{HERE, blood::*, callouts::*, camps::CampNet, km_north, webhooks::*},
    *,
};
use serde_json::json;
use std::time::Instant;

async fn request_statements(app: &TestApp, net: &CampNet) -> u64 {
    let r = try_create_request(
        app,
        &net.hospital_staff.access,
        request_input(&net.hospital.id, "A_POS", "RED_CELLS", 1),
    )
    .await;
    r.data();
    r.statements()
}

#[tokio::test]
async fn queueing_a_webhook_costs_a_lookup_and_an_insert_per_mutation() {
    // Arrange
    let app = spawn_app_with(&WEBHOOK_TESTS).await;
    let net = CampNet::new(&app).await;
    request_statements(&app, &net).await;

    // Act: no endpoint; an endpoint of another event; an endpoint of this one.
    let none = request_statements(&app, &net).await;
    create_endpoint(
        &app,
        &net.hospital.admin,
        &net.hospital.id,
        "http://127.0.0.1:9/hook",
        &["DRIVE_CHANGED"],
    )
    .await;
    let other = request_statements(&app, &net).await;
    create_endpoint(
        &app,
        &net.hospital.admin,
        &net.hospital.id,
        "http://127.0.0.1:9/hook",
        &["BLOOD_REQUEST_CHANGED"],
    )
    .await;
    let fed = request_statements(&app, &net).await;

    // Assert
    println!(
        "createBloodRequest statements: no endpoint {none}, another event's {other}, subscribed {fed}"
    );
    assert_eq!(other, none);
    assert_eq!(fed, none + 1);
}

#[tokio::test]
async fn a_callouts_statements_do_not_grow_with_the_donors_it_reaches() {
    // Arrange: 5 donors near one bank, 40 near the other's point.
    let app = spawn_app().await;
    let net = CampNet::new(&app).await;
    for i in 0..45 {
        let km = if i < 5 {
            1.0
        } else {
            30.0 + f64::from(i) * 0.1
        };
        donor_north(
            &app,
            &format!("k{i}@d.example"),
            &format!("+9198000020{i:02}"),
            "O_NEG",
            km,
            true,
        )
        .await;
    }
    let far = |org: &str| {
        let mut i = callout_input(org, 6.0);
        i["near"] = json!({"latitude": km_north(32.0), "longitude": HERE.1});
        i
    };

    // Act
    let t = Instant::now();
    let few = try_start(&app, &net.bank_staff, callout_input(&net.bank.id, 5.0)).await;
    let few_ms = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    let many = try_start(&app, &net.ngo_staff, far(&net.ngo.id)).await;
    let many_ms = t.elapsed().as_secs_f64() * 1000.0;

    // Assert
    let reached = |r: &Gql| r.data()["startCallout"]["callout"]["counts"]["notified"].clone();
    assert_eq!((reached(&few), reached(&many)), (json!(5), json!(40)));
    println!(
        "startCallout: 5 donors {} statements {few_ms:.1} ms; 40 donors {} statements {many_ms:.1} ms",
        few.statements(),
        many.statements()
    );
    assert_eq!(few.statements(), many.statements());
}

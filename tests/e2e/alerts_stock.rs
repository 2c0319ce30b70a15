//! STOCK_CRITICAL: raised once per crossing of a bank's threshold (by an acceptance or by
//! units expiring), resolved when stock is back, raised again at the next crossing.

use lifeflow_tests::{fixtures::blood::*, ws::*, *};
use serde_json::{Value, json};
use std::time::Duration;

const STOCK_ONLY: &str = "subscription { alertRaised(filter: {kinds: [STOCK_CRITICAL]}) {
  kind severity title message bloodGroup relatedEntityId } }";

async fn set_threshold(app: &TestApp, admin: &Session, bank: &str, n: i32) {
    app.gql(
        Some(&admin.access),
        "mutation($i: SetStockThresholdInput!) { setStockThreshold(input: $i) { threshold { criticalThreshold } } }",
        json!({"i": {"bloodBankId": bank, "bloodGroup": "A_POS", "component": "RED_CELLS", "criticalThreshold": n}}),
    )
    .await
    .data();
}

#[tokio::test]
async fn stock_critical_is_raised_once_per_crossing_and_resolved_when_stock_is_back() {
    // Arrange: threshold 3, four units, the bank listening for stock alerts.
    let app = spawn_app().await;
    let net = Region::new(&app).await;
    let (bank, admin) = net.near_bank(&app).await;
    set_threshold(&app, &admin, &bank, 3).await;
    add_units(&app, &admin, &bank, units("FIRST", "A_POS", "RED_CELLS", 4)).await;
    let mut ws = connect_as(&app.base, &admin.access).await;
    ws.subscribe("s", STOCK_ONLY, json!({})).await;
    let routine = |units| NewRequest {
        urgency: "ROUTINE",
        units,
        bank: Some(bank.as_str()),
        ..NewRequest::default()
    };
    let stock_alerts = |status: Option<&'static str>| {
        let filter = match status {
            Some(s) => json!({"kinds": ["STOCK_CRITICAL"], "statuses": [s]}),
            None => json!({"kinds": ["STOCK_CRITICAL"]}),
        };
        let (app, admin) = (&app, &admin);
        async move { alerts_of(app, admin, filter).await }
    };

    // Act 1: accepting 2 units leaves 2, below 3.
    let first = net.request(&app, routine(2)).await;
    accept(&app, &admin, &first, &bank).await.data();

    // Assert 1: one alert.
    let a = ws.next_data("s", ARRIVES).await["alertRaised"].clone();
    assert_eq!(a["kind"], "STOCK_CRITICAL");
    assert_eq!(a["severity"], "CRITICAL");
    assert_eq!(a["bloodGroup"], "A_POS");
    assert_eq!(a["title"], "A+ red cells below threshold");
    assert_eq!(a["message"], "2 available, threshold 3");

    // Act 2: accepting 1 more leaves 1: still below, no second alert.
    let second = net.request(&app, routine(1)).await;
    accept(&app, &admin, &second, &bank).await.data();

    // Assert 2
    assert_eq!(
        ws.results_during("s", Duration::from_millis(700)).await,
        Vec::<Value>::new()
    );
    assert_eq!(stock_alerts(None).await.len(), 1);

    // Act 3: units come back above the threshold.
    add_units(&app, &admin, &bank, units("BACK", "A_POS", "RED_CELLS", 3)).await;

    // Assert 3: resolved, nothing new raised.
    let all = stock_alerts(None).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["status"], "RESOLVED");

    // Act 4: the next crossing (4 → 2) raises a new alert.
    let third = net.request(&app, routine(2)).await;
    accept(&app, &admin, &third, &bank).await.data();

    // Assert 4
    let a = ws.next_data("s", ARRIVES).await["alertRaised"].clone();
    assert_eq!(a["kind"], "STOCK_CRITICAL");
    assert_eq!(stock_alerts(None).await.len(), 2);
    assert_eq!(stock_alerts(Some("OPEN")).await.len(), 1);
}

#[tokio::test]
async fn units_expiring_below_the_threshold_raise_stock_critical() {
    // Arrange: threshold 4, four units of which one expires in ~1.5 s; a quick sweep.
    let app = spawn_app_with(&[("SWEEP_INTERVAL_MS", "100")]).await;
    let net = Region::new(&app).await;
    let (bank, admin) = net.near_bank(&app).await;
    set_threshold(&app, &admin, &bank, 4).await;
    let mut ws = connect_as(&app.base, &admin.access).await;
    ws.subscribe("s", STOCK_ONLY, json!({})).await;
    // One batch, so that stock never dips below 4 before the expiry.
    let today = chrono::Utc::now().date_naive().to_string();
    let soon = (chrono::Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339();
    let unit = |n: &str, expires: Option<&str>| {
        json!({"unitNumber": n, "isLocalBarcode": true, "component": "RED_CELLS",
               "bloodGroup": "A_POS", "volumeMl": 350, "collectedOn": today,
               "expiresAt": expires, "status": "AVAILABLE", "tests": cleared_tests()})
    };
    app.gql(
        Some(&admin.access),
        "mutation($i: AddBloodUnitsInput!) { addBloodUnits(input: $i) { units { id } } }",
        json!({"i": {"bloodBankId": bank, "units": [
            unit("LONG-001", None), unit("LONG-002", None), unit("LONG-003", None),
            unit("SHORT-001", Some(&soon))]}}),
    )
    .await
    .data();
    assert_eq!(
        app.count("SELECT COUNT(*) FROM alerts WHERE kind = 'STOCK_CRITICAL'")
            .await,
        0
    );
    // Act: the unit expires; the sweep marks it.
    let a = ws.next_data("s", ARRIVES).await["alertRaised"].clone();

    // Assert: one alert for the crossing.
    assert_eq!(a["kind"], "STOCK_CRITICAL");
    assert_eq!(a["message"], "3 available, threshold 4");
    assert_eq!(
        ws.results_during("s", Duration::from_millis(500)).await,
        Vec::<Value>::new()
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM alerts WHERE kind = 'STOCK_CRITICAL'")
            .await,
        1
    );
    // The short-lived unit was announced once as expiring soon, however many sweeps ran.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM alerts WHERE kind = 'EXPIRY_SOON'")
            .await,
        1
    );
}

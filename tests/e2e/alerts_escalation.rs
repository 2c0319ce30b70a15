//! The sweep's escalation of unanswered emergencies, with intervals of seconds: the radius
//! widens and banks are alerted again, NGOs are asked to mobilize donors, super admins hear of
//! the delay; with two instances sweeping one database every step happens once. And an
//! overdue request expires, resolving its alerts.

use lifeflow_tests::{
    fixtures::{blood::*, *},
    ws::*,
    *,
};
use serde_json::{Value, json};
use std::time::Duration;

/// Escalation in seconds instead of minutes (the settings take whole seconds).
const FAST: [(&str, &str); 4] = [
    ("SWEEP_INTERVAL_MS", "100"),
    ("ESCALATION_WIDEN_AFTER_SECS", "1"),
    ("ESCALATION_NGO_AFTER_SECS", "2"),
    ("ESCALATION_DELAYED_AFTER_SECS", "3"),
];

const WITH_RADIUS: &str = "subscription($f: AlertSubscriptionFilter) {
  alertRaised(filter: $f) { kind severity title radiusKm relatedEntityId } }";

/// The organizations an escalation reaches step by step: a bank at the hospital, a bank
/// ~20 km away (outside 10 km, inside the widened 30 km) and an NGO ~15 km away.
async fn escalation_map(app: &TestApp, net: &Region) -> [(String, Session); 3] {
    [
        net.near_bank(app).await,
        net.org_at(
            app,
            "BB-MID",
            "BLOOD_BANK",
            "a@mid.example",
            km_north(20.0),
            HERE.1,
        )
        .await,
        net.org_at(
            app,
            "NGO-ONE",
            "NGO",
            "a@ngo.example",
            km_north(15.0),
            HERE.1,
        )
        .await,
    ]
}

#[tokio::test]
async fn an_unanswered_emergency_widens_then_mobilizes_ngos_then_reaches_super_admins() {
    // Arrange: a bank ~20 km away (outside 10 km, inside the widened 30 km), an NGO ~15 km
    // away, and everyone listening.
    let app = spawn_app_with(&FAST).await;
    let net = Region::new(&app).await;
    let [(_, near_admin), (_, mid_admin), (_, ngo_admin)] = escalation_map(&app, &net).await;
    let mut near_ws = connect_as(&app.base, &near_admin.access).await;
    near_ws.subscribe("1", WITH_RADIUS, json!({})).await;
    let mut mid_ws = connect_as(&app.base, &mid_admin.access).await;
    mid_ws.subscribe("1", WITH_RADIUS, json!({})).await;
    let mut ngo_ws = connect_as(&app.base, &ngo_admin.access).await;
    ngo_ws.subscribe("1", WITH_RADIUS, json!({})).await;
    let mut root_ws = connect_as(&app.base, &net.root.access).await;
    root_ws
        .subscribe(
            "1",
            WITH_RADIUS,
            json!({"f": {"kinds": ["DELAYED_EMERGENCY"]}}),
        )
        .await;

    // Act
    let started = std::time::Instant::now();
    let request = net.request(&app, NewRequest::default()).await;

    // Assert: at once only the near bank (radius 10 km); the bank 20 km away only after
    // widening (~1 s), so its first alert is the widened one.
    let a = near_ws.next_data("1", ARRIVES).await["alertRaised"].clone();
    assert_eq!(a["radiusKm"], 10.0);
    let a = mid_ws.next_data("1", ARRIVES).await["alertRaised"].clone();
    assert!(started.elapsed() >= Duration::from_secs(1), "{a}");
    assert_eq!(a["kind"], "EMERGENCY_REQUEST");
    assert_eq!(a["radiusKm"], 30.0);
    assert_eq!(a["relatedEntityId"], request.as_str());
    let a = near_ws.next_data("1", ARRIVES).await["alertRaised"].clone();
    assert_eq!(a["radiusKm"], 30.0, "the near bank is alerted again");
    // Level 2 (~2 s): the NGO is asked to mobilize donors.
    let a = ngo_ws.next_data("1", ARRIVES).await["alertRaised"].clone();
    assert!(started.elapsed() >= Duration::from_secs(2), "{a}");
    assert_eq!(a["kind"], "EMERGENCY_REQUEST");
    assert_eq!(a["relatedEntityId"], request.as_str());
    assert!(
        a["title"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Mobilize donors"),
        "{a}"
    );
    // Level 3 (~3 s): super admins.
    let a = root_ws.next_data("1", ARRIVES).await["alertRaised"].clone();
    assert!(started.elapsed() >= Duration::from_secs(3), "{a}");
    assert_eq!(a["kind"], "DELAYED_EMERGENCY");
    assert_eq!(a["severity"], "CRITICAL");
    assert_eq!(a["relatedEntityId"], request.as_str());
    let r = app
        .gql(
            Some(&net.hospital_staff.access),
            "query($id: ID!) { bloodRequest(id: $id) { escalationLevel radiusKm status } }",
            json!({"id": request}),
        )
        .await;
    assert_eq!(r.data()["bloodRequest"]["escalationLevel"], 3);
    assert_eq!(r.data()["bloodRequest"]["radiusKm"], 30.0);
    // Nothing more comes for the bank: escalation stops at level 3.
    assert_eq!(
        mid_ws.results_during("1", Duration::from_millis(300)).await,
        Vec::<Value>::new()
    );
}

#[tokio::test]
async fn two_instances_sweeping_one_database_escalate_each_step_once() {
    // Arrange: two instances sweeping every 100 ms, banks at 0 and 20 km, an NGO at 15 km.
    let app = spawn_app_with(&FAST).await;
    let other = spawn_on(app.test_db.clone(), &FAST).await;
    let net = Region::new(&app).await;
    let [(near, _), (mid, _), (ngo, _)] = escalation_map(&app, &net).await;
    let (_far, _) = net.far_bank(&app).await;

    // Act: an emergency nobody answers, until it reached level 3 and a few sweeps more ran.
    let request = net.request(&app, NewRequest::default()).await;
    let rid = id_lit(&app, &request);
    eventually(Duration::from_secs(8), "escalation level 3", || async {
        (app.count(&format!(
            "SELECT COUNT(*) FROM blood_requests WHERE id = {rid} AND escalation_level = 3"
        ))
        .await
            == 1)
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(400)).await;

    // Assert: one alert per step (creation, widening, NGOs; then the delayed one).
    let alerts = |kind: &'static str| {
        let rid = rid.clone();
        let app = &app;
        async move {
            app.count(&format!(
                "SELECT COUNT(*) FROM alerts WHERE kind = '{kind}' AND related_entity_id = {rid}"
            ))
            .await
        }
    };
    assert_eq!(alerts("EMERGENCY_REQUEST").await, 3);
    assert_eq!(alerts("DELAYED_EMERGENCY").await, 1);
    let recipients = |org: &str| {
        let sql = format!(
            "SELECT COUNT(*) FROM alert_recipients r JOIN alerts a ON a.id = r.alert_id \
             WHERE a.related_entity_id = {rid} AND r.organization_id = {}",
            id_lit(&app, org)
        );
        let app = &app;
        async move { app.count(&sql).await }
    };
    assert_eq!(recipients(&near).await, 2, "at creation and after widening");
    assert_eq!(recipients(&mid).await, 1, "after widening only");
    assert_eq!(recipients(&ngo).await, 1, "at level 2");
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM alert_recipients r JOIN alerts a ON a.id = r.alert_id \
             WHERE a.related_entity_id = {rid}"
        ))
        .await,
        4,
        "nobody else, and the far bank never"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM notifications n JOIN users u ON u.id = n.user_id \
             WHERE n.kind = 'DELAYED_EMERGENCY' AND n.related_entity_id = {rid} \
             AND u.platform_role = 'SUPER_ADMIN'"
        ))
        .await,
        1,
        "the super admin is notified once"
    );
    drop(other);
}

#[tokio::test]
async fn an_overdue_emergency_expires_and_its_alert_resolves() {
    // Arrange: an emergency needed within ~2 s, its hospital following it.
    let app = spawn_app_with(&[("SWEEP_INTERVAL_MS", "100")]).await;
    let net = Region::new(&app).await;
    let (_bank, bank_admin) = net.near_bank(&app).await;
    let needed_by = (chrono::Utc::now() + chrono::Duration::milliseconds(2000)).to_rfc3339();
    let r = app
        .gql(
            Some(&net.hospital_staff.access),
            "mutation($i: CreateBloodRequestInput!) { createBloodRequest(input: $i) { bloodRequest { id } } }",
            json!({"i": {"hospitalId": net.hospital, "patientReference": "MRN-9", "bloodGroup": "O_POS",
                          "component": "RED_CELLS", "unitsRequired": 1, "urgency": "EMERGENCY",
                          "neededBy": needed_by}}),
        )
        .await;
    let request = r.data()["createBloodRequest"]["bloodRequest"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let mut ws = connect_as(&app.base, &net.hospital_staff.access).await;
    ws.subscribe(
        "r",
        "subscription($id: ID!) { bloodRequestChanged(id: $id) { status } }",
        json!({"id": request}),
    )
    .await;
    let token = net.hospital_staff.access.clone();
    let pending_when_subscribed = request_status(&app, &token, &request).await == "PENDING";

    // Act: wait for the sweep.
    let expired = eventually(Duration::from_secs(6), "the request to expire", || async {
        let s = request_status(&app, &token, &request).await;
        (s != "PENDING").then_some(s)
    })
    .await;

    // Assert: EXPIRED, streamed to the hospital (when it was still pending as the
    // subscription started: a loaded machine may be slower than the deadline), and the
    // bank's alert is resolved.
    assert_eq!(expired, "EXPIRED");
    if pending_when_subscribed {
        let c = ws.next_data("r", ARRIVES).await;
        assert_eq!(c["bloodRequestChanged"]["status"], "EXPIRED");
    }
    let alerts = alerts_of(&app, &bank_admin, json!({"kinds": ["EMERGENCY_REQUEST"]})).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["status"], "RESOLVED", "{alerts:?}");
    assert_eq!(
        ws.results_during("r", Duration::from_millis(500)).await,
        Vec::<Value>::new()
    );
}

#[tokio::test]
async fn a_lapsed_hold_alerts_the_hospital_reopens_the_emergency_and_restores_stock() {
    // Arrange: holds of 1 s; a bank with a threshold of 3 and four units accepts 2.
    let app = spawn_app_with(&[("SWEEP_INTERVAL_MS", "100"), ("RESERVATION_HOLD_SECS", "1")]).await;
    let net = Region::new(&app).await;
    let (bank, admin) = net.near_bank(&app).await;
    app.gql(
        Some(&admin.access),
        "mutation($i: SetStockThresholdInput!) { setStockThreshold(input: $i) { threshold { criticalThreshold } } }",
        json!({"i": {"bloodBankId": bank, "bloodGroup": "A_POS", "component": "RED_CELLS", "criticalThreshold": 3}}),
    )
    .await
    .data();
    add_units(&app, &admin, &bank, units("UNIT", "A_POS", "RED_CELLS", 4)).await;
    let mut bank_ws = connect_as(&app.base, &admin.access).await;
    bank_ws.subscribe("1", ALERT_RAISED, json!({})).await;
    let mut hospital_ws = connect_as(&app.base, &net.hospital_staff.access).await;
    hospital_ws.subscribe("1", ALERT_RAISED, json!({})).await;
    let request = net.request(&app, NewRequest::default()).await;
    let a = bank_ws.next_data("1", ARRIVES).await["alertRaised"].clone();
    assert_eq!(a["kind"], "EMERGENCY_REQUEST");
    accept(&app, &admin, &request, &bank).await.data();
    let a = bank_ws.next_data("1", ARRIVES).await["alertRaised"].clone();
    assert_eq!(a["kind"], "STOCK_CRITICAL");

    // Act: nobody fulfils; the hold lapses (~1 s).
    let lapsed = hospital_ws.next_data("1", ARRIVES).await["alertRaised"].clone();

    // Assert: the hospital hears of it, the banks are alerted again, the units are back in
    // stock and the stock alert resolves with them.
    assert_eq!(lapsed["kind"], "HOLD_LAPSED");
    assert_eq!(lapsed["relatedEntityId"], request.as_str());
    let again = bank_ws.next_data("1", ARRIVES).await["alertRaised"].clone();
    assert_eq!(again["kind"], "EMERGENCY_REQUEST");
    assert_eq!(again["relatedEntityId"], request.as_str());
    let r = app
        .gql(
            Some(&net.hospital_staff.access),
            "query($id: ID!) { bloodRequest(id: $id) { status } }",
            json!({"id": request}),
        )
        .await;
    assert_eq!(r.data()["bloodRequest"]["status"], "PENDING");
    let stock = alerts_of(&app, &admin, json!({"kinds": ["STOCK_CRITICAL"]})).await;
    assert_eq!(stock.len(), 1);
    assert_eq!(stock[0]["status"], "RESOLVED", "{stock:?}");
    assert_eq!(
        bank_ws
            .results_during("1", Duration::from_millis(300))
            .await,
        Vec::<Value>::new()
    );
}

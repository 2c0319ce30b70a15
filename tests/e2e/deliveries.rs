//! Blood after release (issue 19): deliveries of fulfilled requests tracked live, receipt
//! with the cold chain checked, returns to stock inside the window, transfusion outcomes and
//! a unit's trace, with every refusal.

use lifeflow_tests::{
    fixtures::{blood::*, deliveries::*, *},
    matrix::{Matrix, Outcome::*, Row, mutation},
    ws::*,
    *,
};
use serde_json::{Value, json};

async fn unit_status(app: &TestApp, unit: &str) -> String {
    let id = id_lit(app, unit);
    let n =
        |s: &str| format!("SELECT COUNT(*) FROM blood_units WHERE id = {id} AND status = '{s}'");
    for s in ["AVAILABLE", "ISSUED", "DISCARDED", "RESERVED"] {
        if app.count(&n(s)).await == 1 {
            return s.to_string();
        }
    }
    "OTHER".into()
}

/// Whether a JSON number is `want` (up to float rounding).
fn close(v: &Value, want: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - want).abs() < 1e-9)
}

fn kinds(alerts: &[Value]) -> Vec<String> {
    alerts
        .iter()
        .map(|a| a["kind"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn a_fulfilled_request_is_dispatched_tracked_and_received_once() {
    // Arrange
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let (request, _) = fulfilled(&app, &net, "DLV", 2).await;

    // Act
    let delivery = dispatch(&app, &net, &request).await;
    let first = position(&app, &net.bank_staff.access, &delivery, 1, Some(4.0)).await;
    let second = position(&app, &net.bank_staff.access, &delivery, 2, Some(4.5)).await;
    let received = confirm(&app, &net.nurse, &request, true).await;
    let again = confirm(&app, &net.nurse, &request, true).await;
    let late = position(&app, &net.bank_staff.access, &delivery, 3, None).await;

    // Assert
    assert_eq!(
        first.data()["updateDeliveryLocation"]["delivery"]["status"],
        "IN_TRANSIT"
    );
    let d = &second.data()["updateDeliveryLocation"]["delivery"];
    assert!(close(&d["lastPosition"]["latitude"], HERE.0 + 0.002), "{d}");
    let d = &received.data()["confirmReceipt"]["delivery"];
    assert_eq!(d["status"], "DELIVERED");
    assert_eq!(d["temperatureOk"], true);
    assert_eq!(d["excursionAt"], Value::Null);
    assert_eq!(again.code(), Some("INVALID_TRANSITION"), "{}", again.body);
    assert_eq!(late.code(), Some("INVALID_TRANSITION"), "{}", late.body);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM delivery_positions").await,
        2
    );
    // The hospital reads the delivery with its positions in order.
    let r = app
        .gql(
            Some(&net.nurse.access),
            "query($r: ID!) { delivery(requestId: $r) { status courierName positions { latitude } } }",
            json!({"r": request}),
        )
        .await;
    let d = &r.data()["delivery"];
    assert_eq!(d["courierName"], "Ravi");
    let lats: Vec<f64> = d["positions"]
        .as_array()
        .expect("positions")
        .iter()
        .map(|p| p["latitude"].as_f64().expect("lat"))
        .collect();
    assert!(
        lats.len() == 2
            && (lats[0] - HERE.0 - 0.001).abs() < 1e-9
            && (lats[1] - HERE.0 - 0.002).abs() < 1e-9
    );
    assert_eq!(
        audit_rows(&app, "delivery.confirm_receipt", None)
            .await
            .len(),
        2
    );
}

#[tokio::test]
async fn a_delivery_is_dispatched_only_once_and_only_after_fulfilment_by_the_issuing_bank() {
    // Arrange
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let other = net.second_bank(&app).await;
    net.stock(&app, units("EARLY", "O_POS", "RED_CELLS", 1))
        .await;
    let pending = net.nurse_request(&app, "O_POS", "RED_CELLS", 1).await;
    let (request, _) = fulfilled(&app, &net, "ONCE", 1).await;

    // Act
    let too_early = try_dispatch(&app, &net.bank_staff.access, &pending, &net.bank.id).await;
    let not_theirs = try_dispatch(&app, &other.admin.access, &request, &other.id).await;
    let first = try_dispatch(&app, &net.bank_staff.access, &request, &net.bank.id).await;
    let twice = try_dispatch(&app, &net.bank_staff.access, &request, &net.bank.id).await;

    // Assert
    assert_eq!(
        too_early.code(),
        Some("INVALID_TRANSITION"),
        "{}",
        too_early.body
    );
    assert_eq!(not_theirs.code(), Some("FORBIDDEN"), "{}", not_theirs.body);
    assert_eq!(
        first.data()["dispatchDelivery"]["delivery"]["status"],
        "DISPATCHED"
    );
    assert_eq!(twice.code(), Some("CONFLICT"), "{}", twice.body);
    assert_eq!(app.count("SELECT COUNT(*) FROM deliveries").await, 1);
}

#[tokio::test]
async fn delivery_tracked_streams_positions_in_order_and_ends_at_delivery() {
    // Arrange
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let (request, _) = fulfilled(&app, &net, "WS", 1).await;
    let delivery = dispatch(&app, &net, &request).await;
    let mut hospital = connect_as(&app.base, &net.nurse.access).await;
    hospital
        .subscribe("t", TRACKED, json!({"r": request}))
        .await;
    let mut bank = connect_as(&app.base, &net.bank.admin.access).await;
    bank.subscribe("b", TRACKED, json!({"r": request})).await;

    // Act
    for i in 1..=5 {
        position(&app, &net.bank_staff.access, &delivery, i, Some(4.0))
            .await
            .data();
    }
    confirm(&app, &net.nurse, &request, true).await.data();

    // Assert: five positions in order, then DELIVERED, then the stream completes.
    for (ws, id) in [(&mut hospital, "t"), (&mut bank, "b")] {
        for i in 1..=5 {
            let u = &ws.next_data(id, ARRIVES).await["deliveryTracked"];
            assert_eq!(u["status"], "IN_TRANSIT");
            assert_eq!(u["deliveryId"], delivery.as_str());
            assert!(
                close(&u["position"]["latitude"], HERE.0 + 0.001 * f64::from(i)),
                "{u}"
            );
        }
        let last = &ws.next_data(id, ARRIVES).await["deliveryTracked"];
        assert_eq!(last["status"], "DELIVERED");
        assert_eq!(last["position"], Value::Null);
        let end = ws.message_for(id, ARRIVES).await;
        assert_eq!(end["type"], "complete", "{end}");
    }
    // A subscription after the delivery ends at once.
    let mut late = connect_as(&app.base, &net.nurse.access).await;
    late.send(json!({"id": "l", "type": "subscribe", "payload": {"query": TRACKED, "variables": {"r": request}}}))
        .await;
    let end = late.message_for("l", ARRIVES).await;
    assert_eq!(end["type"], "complete", "{end}");
}

#[tokio::test]
async fn tracking_someone_elses_request_is_not_found() {
    // Arrange
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let (request, _) = fulfilled(&app, &net, "PRIV", 1).await;
    dispatch(&app, &net, &request).await;
    let other_hospital = org_north(
        &app,
        &net.root,
        "HOSP-OTHER",
        "HOSPITAL",
        "other@hospital.example",
        1.0,
    )
    .await;
    let other_bank = net.second_bank(&app).await;

    for who in [&other_hospital.admin, &other_bank.admin] {
        // Act
        let mut ws = connect_as(&app.base, &who.access).await;
        ws.send(json!({"id": "x", "type": "subscribe", "payload": {"query": TRACKED, "variables": {"r": request}}}))
            .await;

        // Assert
        let msg = ws.message_for("x", ARRIVES).await;
        assert_eq!(
            msg["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND",
            "{msg}"
        );
        // Nor does the delivery show in their reads.
        let r = app
            .gql(
                Some(&who.access),
                "query($r: ID!) { delivery(requestId: $r) { id } deliveries { totalCount } }",
                json!({"r": request}),
            )
            .await;
        assert_eq!(r.data()["delivery"], Value::Null);
        assert_eq!(r.data()["deliveries"]["totalCount"], 0);
    }
}

#[tokio::test]
async fn a_cold_chain_excursion_alerts_both_the_bank_and_the_hospital_once() {
    // Arrange
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let (request, _) = fulfilled(&app, &net, "WARM", 1).await;
    let delivery = dispatch(&app, &net, &request).await;
    let (second, _) = fulfilled(&app, &net, "RECV", 1).await;
    dispatch(&app, &net, &second).await;

    // Act: 9 °C is out of 2–6 °C for red cells; a second reading does not alert again.
    let warm = position(&app, &net.bank_staff.access, &delivery, 1, Some(9.0)).await;
    position(&app, &net.bank_staff.access, &delivery, 2, Some(10.0))
        .await
        .data();
    // And units received not cold.
    confirm(&app, &net.nurse, &second, false).await.data();

    // Assert
    assert!(
        warm.data()["updateDeliveryLocation"]["delivery"]["excursionAt"].is_string(),
        "{}",
        warm.body
    );
    let filter = json!({"kinds": ["COLD_CHAIN_EXCURSION"]});
    for who in [&net.bank.admin, &net.hospital.admin] {
        let alerts = alerts_of(&app, who, filter.clone()).await;
        assert_eq!(
            kinds(&alerts),
            ["COLD_CHAIN_EXCURSION", "COLD_CHAIN_EXCURSION"]
        );
    }
}

#[tokio::test]
async fn units_returned_inside_the_window_with_the_cold_chain_go_back_to_stock_once() {
    // Arrange
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let (request, units) = fulfilled(&app, &net, "BACK", 2).await;
    dispatch(&app, &net, &request).await;
    confirm(&app, &net.nurse, &request, true).await.data();
    let available_before = app
        .count("SELECT CAST(COALESCE(SUM(available), 0) AS BIGINT) FROM blood_stock_counts")
        .await;

    // Act
    let back = give_back(&app, &net.nurse, &request, &units[..1], true).await;
    let twice = give_back(&app, &net.nurse, &request, &units[..1], true).await;

    // Assert
    assert_eq!(
        back.data()["returnUnits"]["outcome"],
        "RESTOCKED",
        "{}",
        back.body
    );
    assert_eq!(
        back.data()["returnUnits"]["units"][0]["status"],
        "AVAILABLE"
    );
    assert_eq!(twice.code(), Some("CONFLICT"), "{}", twice.body);
    assert_eq!(unit_status(&app, &units[0]).await, "AVAILABLE");
    assert_eq!(unit_status(&app, &units[1]).await, "ISSUED");
    let available_after = app
        .count("SELECT CAST(COALESCE(SUM(available), 0) AS BIGINT) FROM blood_stock_counts")
        .await;
    assert_eq!(available_after, available_before + 1);
    // The returned unit can serve the next request.
    let next = net.nurse_request(&app, "O_POS", "RED_CELLS", 1).await;
    let r = accept(&app, &net.bank_staff, &next, &net.bank.id).await;
    assert_eq!(
        request_of(&r, "acceptBloodRequest")["units"][0]["id"],
        units[0].as_str()
    );
}

#[tokio::test]
async fn units_returned_after_the_window_are_discarded() {
    // Arrange: a window of 0 seconds has always passed.
    let app = spawn_app_with(&[("RETURN_WINDOW_SECS", "0")]).await;
    let net = Network::new(&app, 2.0).await;
    let (request, units) = fulfilled(&app, &net, "LATE", 1).await;

    // Act
    let r = give_back(&app, &net.nurse, &request, &units, true).await;

    // Assert
    assert_eq!(
        r.data()["returnUnits"]["outcome"],
        "DISCARDED",
        "{}",
        r.body
    );
    assert_eq!(unit_status(&app, &units[0]).await, "DISCARDED");
}

#[tokio::test]
async fn units_returned_without_the_cold_chain_are_discarded() {
    // Arrange
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let (request, units) = fulfilled(&app, &net, "WARMRET", 2).await;
    let (excursion, broken) = fulfilled(&app, &net, "BROKEN", 1).await;
    dispatch(&app, &net, &excursion).await;
    confirm(&app, &net.nurse, &excursion, false).await.data();

    // Act: the hospital says the chain broke; or the delivery did.
    let said = give_back(&app, &net.nurse, &request, &units, false).await;
    let seen = give_back(&app, &net.nurse, &excursion, &broken, true).await;

    // Assert
    assert_eq!(said.data()["returnUnits"]["outcome"], "DISCARDED");
    assert_eq!(seen.data()["returnUnits"]["outcome"], "DISCARDED");
    for u in units.iter().chain(&broken) {
        assert_eq!(unit_status(&app, u).await, "DISCARDED");
    }
}

#[tokio::test]
async fn a_serious_transfusion_reaction_alerts_the_supplying_bank_which_reads_the_trace() {
    // Arrange
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let (request, units) = fulfilled(&app, &net, "TRF", 2).await;
    dispatch(&app, &net, &request).await;
    confirm(&app, &net.nurse, &request, true).await.data();
    let other_hospital = org_north(
        &app,
        &net.root,
        "HOSP-OTHER",
        "HOSPITAL",
        "other@hospital.example",
        1.0,
    )
    .await;
    let other_bank = net.second_bank(&app).await;

    // Act
    let by_other = transfuse(&app, &other_hospital.admin, &units[0], "NONE", "MILD").await;
    let mild = transfuse(&app, &net.doctor, &units[0], "FEBRILE", "MILD").await;
    let twice = transfuse(&app, &net.doctor, &units[0], "FEBRILE", "MILD").await;
    let serious = transfuse(&app, &net.doctor, &units[1], "HEMOLYTIC", "MODERATE").await;
    let returned = give_back(&app, &net.nurse, &request, &units[..1], true).await;

    // Assert
    assert_eq!(by_other.code(), Some("FORBIDDEN"), "{}", by_other.body);
    let t = &mild.data()["recordTransfusion"]["transfusion"];
    assert_eq!(t["serious"], false);
    assert_eq!(t["patientReference"], "MRN-0042");
    assert_eq!(twice.code(), Some("CONFLICT"), "{}", twice.body);
    assert_eq!(
        serious.data()["recordTransfusion"]["transfusion"]["serious"],
        true
    );
    assert_eq!(returned.code(), Some("CONFLICT"), "{}", returned.body);
    let alerts = alerts_of(
        &app,
        &net.bank.admin,
        json!({"kinds": ["TRANSFUSION_REACTION"]}),
    )
    .await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["relatedEntityId"], units[1].as_str());
    // Stored sealed.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM transfusions WHERE patient_reference LIKE '%MRN%'")
            .await,
        0
    );
    // The bank reads the trace (without the patient), audited; another bank cannot.
    let trace = "query($u: ID!) { unitTrace(unitId: $u) { unit { id status }
        request { id } delivery { status } returns { outcome }
        transfusion { reaction severity serious patientReference } } }";
    let r = app
        .gql(Some(&net.bank_staff.access), trace, json!({"u": units[1]}))
        .await;
    let tr = &r.data()["unitTrace"];
    assert_eq!(tr["request"]["id"], request.as_str());
    assert_eq!(tr["delivery"]["status"], "DELIVERED");
    assert_eq!(tr["transfusion"]["reaction"], "HEMOLYTIC");
    assert_eq!(tr["transfusion"]["patientReference"], Value::Null);
    assert_eq!(
        audit_rows(&app, "blood_unit.read_trace", Some(&units[1]))
            .await
            .len(),
        1
    );
    let r = app
        .gql(
            Some(&other_bank.admin.access),
            trace,
            json!({"u": units[1]}),
        )
        .await;
    assert_eq!(r.code(), Some("NOT_FOUND"), "{}", r.body);
}

#[tokio::test]
async fn a_page_of_deliveries_costs_the_same_statements_whatever_its_length() {
    // Arrange
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    for i in 0..3 {
        let (request, _) = fulfilled(&app, &net, &format!("PAGE{i}"), 1).await;
        let d = dispatch(&app, &net, &request).await;
        position(&app, &net.bank_staff.access, &d, 1, Some(4.0))
            .await
            .data();
    }
    let page = "query($n: Int!) { deliveries(first: $n) { nodes { id status
        hospital { id } bloodBank { id } request { id status } positions { latitude } } } }";

    // Act
    let one = app
        .gql(Some(&net.nurse.access), page, json!({"n": 1}))
        .await;
    let three = app
        .gql(Some(&net.nurse.access), page, json!({"n": 3}))
        .await;

    // Assert
    assert_eq!(
        three.data()["deliveries"]["nodes"].as_array().map(Vec::len),
        Some(3)
    );
    assert_eq!(one.statements(), three.statements(), "{}", three.body);
}

const CALLERS: [&str; 10] = [
    "anonymous",
    "plain user",
    "hospital ADMIN",
    "hospital STAFF",
    "bank ADMIN",
    "bank STAFF",
    "other bank's ADMIN",
    "other hospital's ADMIN",
    "bank API client (deliveries:write)",
    "hospital API client (blood-requests:write)",
];

#[tokio::test]
async fn every_caller_against_every_delivery_operation() {
    // Arrange: a delivered request (positions and receipt are then refused harmlessly as
    // INVALID_TRANSITION), its issued units, and callers of every kind.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let (request, units) = fulfilled(&app, &net, "MTX", 1).await;
    let delivery = dispatch(&app, &net, &request).await;
    // A unit given back without the cold chain: discarded, so a transfusion of it is refused
    // harmlessly (INVALID_TRANSITION) once past the permission layer.
    let (warm_request, warm) = fulfilled(&app, &net, "MTXW", 1).await;
    give_back(&app, &net.nurse, &warm_request, &warm, false)
        .await
        .data();
    confirm(&app, &net.nurse, &request, true).await.data();
    let other_bank = net.second_bank(&app).await;
    let other_hospital = org_north(
        &app,
        &net.root,
        "HOSP-OTHER",
        "HOSPITAL",
        "other@hospital.example",
        1.0,
    )
    .await;
    let bank_client = api_client(
        &app,
        &net.bank.admin,
        &net.bank.id,
        "FLEET",
        &["deliveries:write"],
    )
    .await
    .token;
    let hospital_client = api_client(
        &app,
        &net.hospital.admin,
        &net.hospital.id,
        "HIS",
        &["blood-requests:write"],
    )
    .await
    .token;
    let plain = app.signed_in("plain@x.example").await;
    let tokens: Vec<Option<String>> = vec![
        None,
        Some(plain.access.clone()),
        Some(net.hospital.admin.access.clone()),
        Some(net.nurse.access.clone()),
        Some(net.bank.admin.access.clone()),
        Some(net.bank_staff.access.clone()),
        Some(other_bank.admin.access.clone()),
        Some(other_hospital.admin.access.clone()),
        Some(bank_client),
        Some(hospital_client),
    ];
    let at = chrono::Utc::now().to_rfc3339();
    let d = "delivery { id }";
    let nobody = uuid::Uuid::new_v4().to_string();

    //  anon user H-ADM H-STF B-ADM B-STF oBank oHosp bClient hClient
    let matrix: Vec<Row<10>> = vec![
        (
            "dispatchDelivery (already dispatched)",
            mutation("dispatchDelivery", "DispatchDeliveryInput", d),
            json!({"i": {"requestId": request, "bloodBankId": net.bank.id, "courierName": "C"}}),
            [U, F, F, F, A, A, F, F, A, F],
        ),
        (
            "updateDeliveryLocation (delivered)",
            mutation("updateDeliveryLocation", "UpdateDeliveryLocationInput", d),
            json!({"i": {"deliveryId": delivery, "lat": 1.0, "lng": 1.0, "recordedAt": at}}),
            [U, F, F, F, A, A, F, F, A, F],
        ),
        (
            "failDelivery (delivered)",
            mutation("failDelivery", "FailDeliveryInput", d),
            json!({"i": {"deliveryId": delivery, "reason": "r"}}),
            [U, F, F, F, A, A, F, F, A, F],
        ),
        (
            "confirmReceipt (delivered)",
            mutation("confirmReceipt", "ConfirmReceiptInput", d),
            json!({"i": {"requestId": request, "temperatureOk": true}}),
            [U, F, A, A, F, F, F, F, F, A],
        ),
        (
            "returnUnits (an unknown unit)",
            mutation("returnUnits", "ReturnUnitsInput", "outcome"),
            json!({"i": {"requestId": request, "unitIds": [nobody], "coldChainKept": true}}),
            [U, F, A, A, F, F, F, F, F, A],
        ),
        (
            "recordTransfusion (a discarded unit)",
            mutation(
                "recordTransfusion",
                "RecordTransfusionInput",
                "transfusion { id }",
            ),
            json!({"i": {"unitId": warm[0], "patientReference": "MRN-1", "reaction": "NONE", "severity": "MILD"}}),
            [U, F, A, A, F, F, F, F, F, A],
        ),
        (
            "unitTrace",
            "query($u: ID!) { unitTrace(unitId: $u) { unit { id } } }".into(),
            json!({"u": units[0]}),
            [U, N, N, N, A, A, N, N, N, N],
        ),
        (
            "deliveries",
            "{ deliveries { totalCount } }".into(),
            json!({}),
            [U, F, A, A, A, A, A, A, A, A],
        ),
    ];

    // Act and assert
    Matrix::new(CALLERS, tokens)
        .telling_not_found_apart()
        .assert(&app, &matrix)
        .await;
    // Nothing in the matrix changed anything.
    assert_eq!(app.count("SELECT COUNT(*) FROM deliveries").await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM delivery_positions").await,
        0
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM unit_returns").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM transfusions").await, 0);
}

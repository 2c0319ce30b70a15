//! Blood after release, part one (DESIGN §7.7): screening panels gate release and a positive
//! result starts the lookback; whole blood is separated into components; units move between
//! banks. With the permission matrix of these operations, the cost of the transfers list and
//! transfers racing accepts for the same units.

use futures_util::{
    FutureExt,
    future::{LocalBoxFuture, join_all},
};
use lifeflow_tests::{
    fixtures::{blood::*, donors::card_code, *},
    matrix::{Matrix, Outcome::*, Row, mutation},
    *,
};
use serde_json::{Value, json};

const RECORD_DONATION: &str = "mutation($i: RecordDonationInput!) {
  recordDonation(input: $i) { units { id unitNumber component status } } }";

const RELEASE: &str = "mutation($i: ReleaseBloodUnitsInput!) {
  releaseBloodUnits(input: $i) { units { id status } } }";

/// Kept counts that differ from a fresh count of the available units.
const MISMATCHES: &str = "SELECT COUNT(*) FROM (
  SELECT blood_bank_id, component, blood_group, available FROM blood_stock_counts WHERE available <> 0
  EXCEPT
  SELECT blood_bank_id, component, blood_group, COUNT(*) FROM blood_units WHERE status = 'AVAILABLE'
  GROUP BY blood_bank_id, component, blood_group) d";

fn reason(r: &Gql) -> Option<&str> {
    r.body
        .pointer("/errors/0/extensions/reason")
        .and_then(Value::as_str)
}

fn quarantined(number: &str, group: &str, component: &str) -> Value {
    let mut u = unit(number, group, component);
    into_quarantine(&mut u);
    u
}

fn id_of(u: &Value) -> String {
    u["id"].as_str().expect("unit id").to_string()
}

async fn release(app: &TestApp, who: &Session, bank: &str, ids: &[Value]) -> Gql {
    app.gql(
        Some(&who.access),
        RELEASE,
        json!({"i": {"bloodBankId": bank, "unitIds": ids}}),
    )
    .await
}

async fn unit_status(app: &TestApp, id: &str) -> String {
    let lit = id_lit(app, id);
    let backend = app.db.get_database_backend();
    use sea_orm::ConnectionTrait;
    let row = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            backend,
            format!("SELECT status FROM blood_units WHERE id = {lit}"),
        ))
        .await
        .expect("query")
        .expect("unit");
    row.try_get::<String>("", "status").expect("status")
}

#[tokio::test]
async fn a_unit_is_released_only_after_a_complete_negative_panel_with_its_group_confirmed() {
    // Arrange: a quarantined unit.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let u = net
        .stock(&app, vec![quarantined("QUAR-001", "O_NEG", "RED_CELLS")])
        .await;
    let ids = vec![u[0]["id"].clone()];

    // Act: release untested, then after an inconclusive panel, then after a negative panel
    // without a confirmed Rh group, then after a complete one.
    let untested = release(&app, &net.bank_staff, &net.bank.id, &ids).await;
    let mut panel = negative_panel(&ids);
    panel["malaria"] = json!("INCONCLUSIVE");
    try_record_tests(&app, &net.bank_staff, panel).await.data();
    let inconclusive = release(&app, &net.bank_staff, &net.bank.id, &ids).await;
    let mut panel = negative_panel(&ids);
    panel["rhConfirmed"] = json!(false);
    try_record_tests(&app, &net.bank_staff, panel).await.data();
    let unconfirmed = release(&app, &net.bank_staff, &net.bank.id, &ids).await;
    clear_for_release(&app, &net.bank_staff, &ids).await;
    let cleared = release(&app, &net.bank_staff, &net.bank.id, &ids).await;

    // Assert
    for (r, why) in [
        (&untested, "UNTESTED"),
        (&inconclusive, "NOT_CLEARED"),
        (&unconfirmed, "NOT_CLEARED"),
    ] {
        assert_eq!(r.code(), Some("BAD_USER_INPUT"), "{}", r.body);
        assert_eq!(r.field(), Some("input.unitIds"));
        assert_eq!(reason(r), Some(why));
    }
    assert_eq!(
        cleared.data()["releaseBloodUnits"]["units"][0]["status"],
        "AVAILABLE"
    );
    let r = app
        .gql(
            Some(&net.bank_staff.access),
            "query($f: BloodUnitFilter) { bloodUnits(filter: $f) { nodes { testPanel { cleared malaria rhConfirmed } } } }",
            json!({"f": {"bloodBankId": net.bank.id}}),
        )
        .await;
    assert_eq!(
        r.data()["bloodUnits"]["nodes"][0]["testPanel"],
        json!({"cleared": true, "malaria": "NEGATIVE", "rhConfirmed": true})
    );
    // Tests are recorded for quarantined units only.
    let again = try_record_tests(&app, &net.bank_staff, negative_panel(&ids)).await;
    assert_eq!(again.code(), Some("BAD_USER_INPUT"));
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_logs WHERE action = 'blood_unit.test' AND outcome = 'SUCCESS'"
        )
        .await,
        3
    );
}

#[tokio::test]
async fn a_unit_added_available_without_its_panel_is_refused_and_nothing_is_written() {
    // Arrange: a batch of two AVAILABLE units, the second without its panel.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let mut untested = unit("NOPANEL-2", "O_NEG", "RED_CELLS");
    untested.as_object_mut().expect("unit").remove("tests");
    let batch = vec![unit("NOPANEL-1", "O_NEG", "RED_CELLS"), untested];

    // Act
    let r = try_add_units(&app, &net.bank_staff, &net.bank.id, batch).await;

    // Assert: the unit's panel is named; the batch is all or none.
    assert_eq!(r.code(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert_eq!(r.field(), Some("input.units[1].tests"));
    assert_eq!(app.count("SELECT COUNT(*) FROM blood_units").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM blood_unit_tests").await, 0);
    assert_eq!(app.count(MISMATCHES).await, 0);
}

#[tokio::test]
async fn a_unit_added_available_with_a_positive_or_unconfirmed_panel_is_refused() {
    // Arrange: one AVAILABLE unit with a positive HCV test, one with its Rh group
    // unconfirmed, one QUARANTINED with an inconclusive malaria test.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let mut positive = unit("POS-1", "A_POS", "PLASMA");
    positive["tests"]["hcv"] = json!("POSITIVE");
    let mut unconfirmed = unit("RH-1", "A_POS", "PLASMA");
    unconfirmed["tests"]["rhConfirmed"] = json!(false);
    let mut inconclusive = unit("INC-1", "A_POS", "PLASMA");
    inconclusive["status"] = json!("QUARANTINED");
    inconclusive["tests"]["malaria"] = json!("INCONCLUSIVE");

    // Act
    let mut answers = Vec::new();
    for u in [positive, unconfirmed, inconclusive] {
        answers.push(try_add_units(&app, &net.bank_staff, &net.bank.id, vec![u]).await);
    }

    // Assert: each refused on its panel (other results go through recordUnitTests, whose
    // lookback a positive one starts); nothing written, the donor deferred by no one.
    for r in &answers {
        assert_eq!(r.code(), Some("BAD_USER_INPUT"), "{}", r.body);
        assert_eq!(r.field(), Some("input.units[0].tests"));
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM blood_units").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM blood_unit_tests").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM blood_unit_events").await, 0);
}

#[tokio::test]
async fn a_unit_added_available_with_a_cleared_panel_shows_the_panel_it_was_added_with() {
    // Arrange: an AVAILABLE unit with its cleared panel, and a QUARANTINED one without.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let mut held = unit("HELD-1", "B_NEG", "RED_CELLS");
    into_quarantine(&mut held);

    // Act
    let added = add_units(
        &app,
        &net.bank_staff,
        &net.bank.id,
        vec![unit("CLEAR-1", "B_NEG", "RED_CELLS"), held],
    )
    .await;

    // Assert: the panel is read where panels are read, recorded by the caller; the
    // quarantined unit still waits for its tests; the kept counts follow.
    assert_eq!(added[0]["status"], "AVAILABLE");
    assert_eq!(added[1]["status"], "QUARANTINED");
    let r = app
        .gql(
            Some(&net.bank_staff.access),
            "query($f: BloodUnitFilter) { bloodUnits(filter: $f) { nodes { unitNumber status
               testPanel { cleared hiv hbv hcv syphilis malaria aboConfirmed rhConfirmed } } } }",
            json!({"f": {"bloodBankId": net.bank.id}}),
        )
        .await;
    let nodes = r.data()["bloodUnits"]["nodes"]
        .as_array()
        .expect("units")
        .clone();
    let panel_of = |n: &str| {
        nodes
            .iter()
            .find(|u| u["unitNumber"] == n)
            .map(|u| u["testPanel"].clone())
            .expect("unit listed")
    };
    let mut expected = cleared_tests();
    expected["cleared"] = json!(true);
    assert_eq!(panel_of("CLEAR-1"), expected);
    assert_eq!(panel_of("HELD-1"), Value::Null);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM blood_unit_tests WHERE recorded_by_user_id = {}",
            id_lit(&app, &net.bank_staff.user_id)
        ))
        .await,
        1
    );
    assert_eq!(app.count(MISMATCHES).await, 0);
    // The quarantined unit is refused release until it is tested.
    let r = release(
        &app,
        &net.bank_staff,
        &net.bank.id,
        &[added[1]["id"].clone()],
    )
    .await;
    assert_eq!(reason(&r), Some("UNTESTED"));
}

#[tokio::test]
async fn a_positive_test_discards_every_unit_of_the_donation_defers_the_donor_and_alerts_the_bank()
{
    // Arrange: an NGO donor gives whole blood at the bank, made into three components; the
    // red cells are tested negative, released and reserved for an accepted request.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let ngo = org_north(&app, &net.root, "NGO-CITY", "NGO", "admin@ngo.example", 1.0).await;
    let donor =
        lifeflow_tests::fixtures::donors::ngo_donor(&app, &ngo, "Asha", "+919800000001").await;
    let code = card_code(&app, &ngo.admin, &donor).await;
    let r = app
        .gql(
            Some(&net.bank_staff.access),
            RECORD_DONATION,
            json!({"i": {"bloodBankId": net.bank.id, "donorCode": code, "donationType": "WHOLE_BLOOD",
                  "volumeMl": 450, "hemoglobin": 13.8, "units": [
                    {"unitNumber": din_checked(7), "component": "RED_CELLS", "volumeMl": 280},
                    {"unitNumber": din_checked(7), "component": "PLASMA", "volumeMl": 200},
                    {"unitNumber": din_checked(7), "component": "PLATELETS", "volumeMl": 50}]}}),
        )
        .await;
    let units = r.data()["recordDonation"]["units"]
        .as_array()
        .expect("units")
        .clone();
    let red = vec![units[0]["id"].clone()];
    clear_for_release(&app, &net.bank_staff, &red).await;
    release(&app, &net.bank_staff, &net.bank.id, &red)
        .await
        .data();
    let request = net.nurse_request(&app, "O_POS", "RED_CELLS", 1).await;
    let accepted = accept(&app, &net.bank_staff, &request, &net.bank.id).await;
    assert_eq!(
        request_of(&accepted, "acceptBloodRequest")["status"],
        "ACCEPTED"
    );

    // Act: the plasma's panel comes back HIV positive.
    let mut panel = negative_panel(&[units[1]["id"].clone()]);
    panel["hiv"] = json!("POSITIVE");
    let r = try_record_tests(&app, &net.bank_staff, panel).await;

    // Assert: every unit of the donation is discarded, the reserved one included (withdrawn
    // from its request), the donor is deferred for good, and the bank is alerted.
    r.data();
    for u in &units {
        assert_eq!(unit_status(&app, &id_of(u)).await, "DISCARDED");
    }
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM blood_units WHERE reserved_for_request_id = {}",
            id_lit(&app, &request)
        ))
        .await,
        0
    );
    let d = app
        .gql(
            Some(&ngo.admin.access),
            "query($id: ID!) { donor(id: $id) { eligibilityStatus } }",
            json!({"id": donor}),
        )
        .await;
    assert_eq!(d.data()["donor"]["eligibilityStatus"], "INELIGIBLE");
    let r = app
        .gql(
            Some(&net.bank_staff.access),
            "{ alerts(first: 50) { nodes { kind message } } }",
            json!({}),
        )
        .await;
    let alerts = r.data()["alerts"]["nodes"]
        .as_array()
        .expect("alerts")
        .clone();
    let lookback: Vec<&Value> = alerts.iter().filter(|a| a["kind"] == "LOOKBACK").collect();
    assert_eq!(lookback.len(), 1, "{alerts:#?}");
    let message = lookback[0]["message"].as_str().expect("message");
    assert!(message.contains("3 unit(s) discarded"), "{message}");
    assert!(message.contains(&request), "names the request: {message}");
    assert_eq!(app.count(MISMATCHES).await, 0);
}

#[tokio::test]
async fn separating_whole_blood_makes_components_sharing_its_din_each_with_its_own_expiry() {
    // Arrange: an available whole-blood unit with an ISBT 128 DIN.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let mut wb = unit(&din_checked(3), "A_POS", "WHOLE_BLOOD");
    wb["isLocalBarcode"] = json!(false);
    wb["volumeMl"] = json!(450);
    let parent = id_of(&net.stock(&app, vec![wb]).await[0]);

    // Act
    let r = try_separate(
        &app,
        &net.bank_staff,
        &parent,
        &["RED_CELLS", "PLASMA", "PLATELETS"],
    )
    .await;

    // Assert: three available components of the same DIN, each with its component's shelf
    // life and product code; the parent PROCESSED and out of stock; the history shows both.
    let made = r.data()["separateUnit"]["units"]
        .as_array()
        .expect("units")
        .clone();
    assert_eq!(made.len(), 3);
    let today = chrono::Utc::now().date_naive();
    for (u, days, code) in [
        (&made[0], 42, "E0206"),
        (&made[1], 365, "E2555"),
        (&made[2], 5, "E3082"),
    ] {
        assert_eq!(u["unitNumber"], din(3));
        assert_eq!(u["status"], "AVAILABLE");
        assert_eq!(u["parent"]["id"], parent.as_str());
        assert_eq!(u["productCode"], code);
        let expires = chrono::DateTime::parse_from_rfc3339(u["expiresAt"].as_str().expect("t"))
            .expect("rfc3339")
            .date_naive();
        assert_eq!(expires, today + chrono::Duration::days(days), "{u}");
    }
    assert_eq!(unit_status(&app, &parent).await, "PROCESSED");
    let r = app
        .gql(
            Some(&net.bank_staff.access),
            "query($n: String!) { bloodUnitHistory(unitNumber: $n) {
               unit { component status parent { id } children { component } } events { toStatus } } }",
            json!({"n": din_checked(3)}),
        )
        .await;
    let history = r.data()["bloodUnitHistory"].as_array().expect("history");
    assert_eq!(history.len(), 4);
    let whole = history
        .iter()
        .find(|h| h["unit"]["component"] == "WHOLE_BLOOD")
        .expect("parent");
    assert_eq!(whole["unit"]["status"], "PROCESSED");
    assert_eq!(
        whole["unit"]["children"],
        json!([{"component": "PLASMA"}, {"component": "PLATELETS"}, {"component": "RED_CELLS"}])
    );
    assert_eq!(
        whole["events"],
        json!([{"toStatus": "AVAILABLE"}, {"toStatus": "PROCESSED"}])
    );
    assert_eq!(app.count(MISMATCHES).await, 0);
    assert_eq!(
        app.count(
            "SELECT CAST(COALESCE(SUM(available), 0) AS BIGINT) FROM blood_stock_counts WHERE component = 'WHOLE_BLOOD'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn separating_a_component_a_reserved_or_expired_unit_twice_or_into_duplicates_is_refused() {
    // Arrange: red cells, a whole-blood unit reserved for a request, an expired one and a
    // fresh one.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let red = id_of(
        &net.stock(&app, vec![unit("RC-1", "B_POS", "RED_CELLS")])
            .await[0],
    );
    let reserved = id_of(
        &net.stock(&app, vec![unit("WB-R", "AB_POS", "WHOLE_BLOOD")])
            .await[0],
    );
    let request = net.nurse_request(&app, "AB_POS", "WHOLE_BLOOD", 1).await;
    accept(&app, &net.bank_staff, &request, &net.bank.id)
        .await
        .data();
    let expired = id_of(
        &net.stock(&app, vec![expired_unit("WB-X", "A_POS", "WHOLE_BLOOD")])
            .await[0],
    );
    let fresh = id_of(
        &net.stock(&app, vec![unit("WB-F", "A_POS", "WHOLE_BLOOD")])
            .await[0],
    );

    // Act
    let component = try_separate(&app, &net.bank_staff, &red, &["PLASMA"]).await;
    let held = try_separate(&app, &net.bank_staff, &reserved, &["PLASMA"]).await;
    let old = try_separate(&app, &net.bank_staff, &expired, &["PLASMA"]).await;
    let twice_in_one = try_separate(&app, &net.bank_staff, &fresh, &["PLASMA", "PLASMA"]).await;
    try_separate(&app, &net.bank_staff, &fresh, &["PLASMA"])
        .await
        .data();
    let again = try_separate(&app, &net.bank_staff, &fresh, &["RED_CELLS"]).await;

    // Assert
    assert_eq!(component.code(), Some("BAD_USER_INPUT"));
    assert_eq!(component.field(), Some("input.unitId"));
    assert_eq!(held.code(), Some("INVALID_TRANSITION"));
    assert_eq!(old.code(), Some("INVALID_TRANSITION"));
    assert_eq!(twice_in_one.code(), Some("BAD_USER_INPUT"));
    assert_eq!(twice_in_one.field(), Some("input.into[1]"));
    assert_eq!(again.code(), Some("INVALID_TRANSITION"));
    assert_eq!(unit_status(&app, &reserved).await, "RESERVED");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM blood_units WHERE parent_unit_id IS NOT NULL")
            .await,
        1
    );
}

#[tokio::test]
async fn transferred_units_leave_the_senders_stock_are_never_reserved_in_transit_and_join_the_receivers_once_received()
 {
    // Arrange: two banks; the first holds three O- red cells.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let two = net.second_bank(&app).await;
    let two_staff = member(&app, &two, "staff@two.example", "STAFF").await;
    let sent: Vec<String> = net
        .stock(&app, units("ONEG", "O_NEG", "RED_CELLS", 3))
        .await
        .iter()
        .map(id_of)
        .collect();

    // Act 1: two units go to the second bank.
    let r = try_transfer(&app, &net.bank_staff, &net.bank.id, &two.id, &sent[..2]).await;
    let transfer = r.data()["transferUnits"]["transfer"].clone();
    let transfer_id = transfer["id"].as_str().expect("id").to_string();

    // Assert 1: in transit, in neither bank's stock, not reservable at either bank.
    assert_eq!(transfer["status"], "IN_TRANSIT");
    assert_eq!(transfer["unitCount"], 2);
    for u in transfer["units"].as_array().expect("units") {
        assert_eq!(u["status"], "IN_TRANSIT");
    }
    let at_two = net.nurse_request(&app, "O_NEG", "RED_CELLS", 1).await;
    let none = accept(&app, &two.admin, &at_two, &two.id).await;
    assert_eq!(none.code(), Some("INSUFFICIENT_STOCK"));
    let at_one = net.nurse_request(&app, "O_NEG", "RED_CELLS", 2).await;
    let short = accept(&app, &net.bank_staff, &at_one, &net.bank.id).await;
    assert_eq!(short.code(), Some("INSUFFICIENT_STOCK"));
    assert_eq!(app.count(MISMATCHES).await, 0);

    // Act 2: the sender cannot receive its own transfer; the receiver does, once.
    let by_sender = try_receive(&app, &net.bank_staff, &transfer_id).await;
    let received = try_receive(&app, &two_staff, &transfer_id).await;
    let twice = try_receive(&app, &two.admin, &transfer_id).await;

    // Assert 2
    assert_eq!(by_sender.code(), Some("FORBIDDEN"));
    let t = &received.data()["receiveTransfer"]["transfer"];
    assert_eq!(t["status"], "RECEIVED");
    for u in t["units"].as_array().expect("units") {
        assert_eq!(u["status"], "AVAILABLE");
        assert_eq!(u["bloodBank"]["id"], two.id.as_str());
    }
    assert_eq!(twice.code(), Some("INVALID_TRANSITION"));
    let taken = accept(&app, &two.admin, &at_two, &two.id).await;
    assert_eq!(
        request_of(&taken, "acceptBloodRequest")["status"],
        "ACCEPTED"
    );
    assert_eq!(app.count(MISMATCHES).await, 0);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM blood_unit_events WHERE to_status = 'IN_TRANSIT'")
            .await,
        2
    );
}

#[tokio::test]
async fn transferring_a_reserved_quarantined_or_expired_unit_or_to_the_same_bank_is_refused() {
    // Arrange
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let two = net.second_bank(&app).await;
    let reserved = id_of(
        &net.stock(&app, vec![unit("RSV-001", "B_NEG", "RED_CELLS")])
            .await[0],
    );
    let request = net.nurse_request(&app, "B_NEG", "RED_CELLS", 1).await;
    accept(&app, &net.bank_staff, &request, &net.bank.id)
        .await
        .data();
    let held = id_of(
        &net.stock(&app, vec![quarantined("QUAR-001", "B_NEG", "RED_CELLS")])
            .await[0],
    );
    let old = id_of(
        &net.stock(&app, vec![expired_unit("EXP-001", "B_NEG", "RED_CELLS")])
            .await[0],
    );
    let fine = id_of(
        &net.stock(&app, vec![unit("FINE-001", "B_NEG", "RED_CELLS")])
            .await[0],
    );

    // Act
    let send = |ids: Vec<String>, to: String| {
        let (app, who, from) = (&app, &net.bank_staff, net.bank.id.clone());
        async move { try_transfer(app, who, &from, &to, &ids).await }
    };
    let r_reserved = send(vec![fine.clone(), reserved.clone()], two.id.clone()).await;
    let r_quarantined = send(vec![held], two.id.clone()).await;
    let r_expired = send(vec![old], two.id.clone()).await;
    let r_self = send(vec![fine.clone()], net.bank.id.clone()).await;

    // Assert: nothing moved.
    assert_eq!(r_reserved.code(), Some("INVALID_TRANSITION"));
    assert_eq!(r_quarantined.code(), Some("INVALID_TRANSITION"));
    assert_eq!(r_expired.code(), Some("INVALID_TRANSITION"));
    assert_eq!(r_self.code(), Some("BAD_USER_INPUT"));
    assert_eq!(unit_status(&app, &fine).await, "AVAILABLE");
    assert_eq!(unit_status(&app, &reserved).await, "RESERVED");
    assert_eq!(app.count("SELECT COUNT(*) FROM blood_transfers").await, 0);
}

async fn transfers_page(app: &TestApp, who: &Session, bank: &str) -> Gql {
    app.gql(
        Some(&who.access),
        "query($b: ID!) { transfers(bankId: $b, first: 50) { totalCount nodes {
           id status fromBank { id name } toBank { id name } units { id status } } } }",
        json!({"b": bank}),
    )
    .await
}

#[tokio::test]
async fn the_transfers_list_costs_the_same_statements_whatever_its_length() {
    // Arrange: two banks, one transfer between them, then ten more.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let two = net.second_bank(&app).await;
    let ids: Vec<String> = net
        .stock(&app, units("T", "O_POS", "RED_CELLS", 22))
        .await
        .iter()
        .map(id_of)
        .collect();
    transfer(&app, &net.bank_staff, &net.bank.id, &two.id, &ids[..2]).await;
    let one = transfers_page(&app, &net.bank_staff, &net.bank.id).await;
    for pair in ids[2..].chunks(2) {
        transfer(&app, &net.bank_staff, &net.bank.id, &two.id, pair).await;
    }

    // Act
    let many = transfers_page(&app, &two.admin, &two.id).await;

    // Assert
    assert_eq!(one.data()["transfers"]["totalCount"], 1);
    assert_eq!(many.data()["transfers"]["totalCount"], 11);
    let first = &many.data()["transfers"]["nodes"][0];
    assert_eq!(first["toBank"]["id"], two.id.as_str());
    assert_eq!(first["units"].as_array().expect("units").len(), 2);
    assert_eq!(
        one.statements(),
        many.statements(),
        "1 transfer: {} statements, 11: {}",
        one.statements(),
        many.statements()
    );
}

#[tokio::test]
async fn every_caller_against_every_testing_separation_and_transfer_operation() {
    // Arrange: two banks; the first holds a released red-cell unit (tests are recorded for
    // quarantined units only, and it is a component, so allowed callers fail harmlessly) and
    // a transfer to the second bank already received.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let two = net.second_bank(&app).await;
    let red = id_of(
        &net.stock(&app, vec![unit("RC-1", "O_POS", "RED_CELLS")])
            .await[0],
    );
    let moved = id_of(
        &net.stock(&app, vec![unit("RC-2", "O_POS", "RED_CELLS")])
            .await[0],
    );
    let done = transfer(&app, &net.bank_staff, &net.bank.id, &two.id, &[moved]).await;
    try_receive(&app, &two.admin, &done).await.data();
    let plain = app.signed_in("plain@x.example").await;
    let client = api_client(
        &app,
        &net.bank.admin,
        &net.bank.id,
        "LIMS",
        &["stock:write", "stock:read"],
    )
    .await
    .token;
    let names = [
        "anonymous",
        "plain user",
        "hospital ADMIN",
        "bank ADMIN",
        "bank STAFF",
        "second bank's ADMIN",
        "super admin",
        "bank API client (stock:write)",
    ];
    let tokens = vec![
        None,
        Some(plain.access.clone()),
        Some(net.hospital.admin.access.clone()),
        Some(net.bank.admin.access.clone()),
        Some(net.bank_staff.access.clone()),
        Some(two.admin.access.clone()),
        Some(net.root.access.clone()),
        Some(client),
    ];
    let bank = &net.bank.id;

    //  anon user H-ADM B-ADM B-STF two SA client
    let matrix: Vec<Row<8>> = vec![
        (
            "recordUnitTests",
            mutation("recordUnitTests", "RecordUnitTestsInput", "units { id }"),
            json!({"i": negative_panel(&[json!(red)])}),
            [U, F, F, A, A, F, F, A],
        ),
        (
            "separateUnit",
            mutation("separateUnit", "SeparateUnitInput", "units { id }"),
            json!({"i": {"unitId": red, "into": ["PLASMA"]}}),
            [U, F, F, A, A, F, F, A],
        ),
        (
            "transferUnits",
            mutation("transferUnits", "TransferUnitsInput", "transfer { id }"),
            json!({"i": {"fromBankId": bank, "toBankId": two.id, "unitIds": []}}),
            [U, F, F, A, A, F, F, A],
        ),
        (
            "receiveTransfer (already received)",
            "mutation($t: ID!) { receiveTransfer(transferId: $t) { transfer { id } } }".into(),
            json!({"t": done}),
            [U, F, F, F, F, A, F, F],
        ),
        (
            "transfers of the bank",
            "query($b: ID!) { transfers(bankId: $b) { totalCount } }".into(),
            json!({"b": bank}),
            [U, F, F, A, A, F, A, A],
        ),
    ];

    // Act and assert
    Matrix::new(names, tokens).assert(&app, &matrix).await;
    assert_eq!(unit_status(&app, &red).await, "AVAILABLE");
    // Only the panels the two units were added with: no refused call wrote one.
    assert_eq!(app.count("SELECT COUNT(*) FROM blood_unit_tests").await, 2);
    assert_eq!(app.count("SELECT COUNT(*) FROM blood_transfers").await, 1);
}

#[tokio::test]
async fn transfers_and_accepts_racing_for_the_same_units_never_leave_a_unit_both_reserved_and_in_transit()
 {
    // Arrange: 40 units at the bank; 20 requests of 2 units and 20 transfers of 2 units
    // naming the same units (each pair named by one transfer), all at once.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let two = net.second_bank(&app).await;
    let second_staff = member(&app, &net.bank, "staff2@bank.example", "STAFF").await;
    let ids: Vec<String> = net
        .stock(&app, units("RACE", "O_POS", "RED_CELLS", 40))
        .await
        .iter()
        .map(id_of)
        .collect();
    let mut requests = Vec::new();
    for _ in 0..20 {
        requests.push(net.nurse_request(&app, "O_POS", "RED_CELLS", 2).await);
    }

    // Act
    let mut calls: Vec<LocalBoxFuture<'_, (&str, Gql)>> = Vec::new();
    for (i, id) in requests.iter().enumerate() {
        let who = if i % 2 == 0 {
            &net.bank_staff
        } else {
            &second_staff
        };
        calls.push(
            accept(&app, who, id, &net.bank.id)
                .map(|r| ("accept", r))
                .boxed_local(),
        );
    }
    for (i, pair) in ids.chunks(2).enumerate() {
        let who = if i % 2 == 0 {
            &second_staff
        } else {
            &net.bank_staff
        };
        calls.push(
            try_transfer(&app, who, &net.bank.id, &two.id, pair)
                .map(|r| ("transfer", r))
                .boxed_local(),
        );
    }
    let results = join_all(calls).await;

    // Assert: only the answers a race may give; every transferred unit is in transit, on one
    // transfer, reserved for nothing; every accepted request holds its two units; no unit
    // is counted twice.
    let unexpected: Vec<String> = results
        .iter()
        .filter(|(_, r)| {
            !matches!(
                r.code(),
                None | Some("INSUFFICIENT_STOCK" | "CONFLICT" | "INVALID_TRANSITION")
            )
        })
        .map(|(what, r)| format!("{what}: {}", r.body))
        .collect();
    assert!(unexpected.is_empty(), "unexpected errors: {unexpected:#?}");
    let ok = |what: &str| {
        results
            .iter()
            .filter(|(w, r)| *w == what && r.code().is_none())
            .count() as i64
    };
    let (accepted, transferred) = (ok("accept"), ok("transfer"));
    assert!(accepted > 0 || transferred > 0);
    assert_eq!(count_units(&app, "RESERVED").await, 2 * accepted);
    assert_eq!(count_units(&app, "IN_TRANSIT").await, 2 * transferred);
    assert_eq!(
        count_units(&app, "AVAILABLE").await,
        40 - 2 * accepted - 2 * transferred
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM blood_units WHERE status = 'IN_TRANSIT' \
             AND reserved_for_request_id IS NOT NULL"
        )
        .await,
        0
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM blood_transfer_units l JOIN blood_units u ON u.id = l.unit_id \
             WHERE u.status <> 'IN_TRANSIT'"
        )
        .await,
        0,
        "a transfer names only units in transit"
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM blood_requests r WHERE r.status = 'ACCEPTED' AND \
             (SELECT COUNT(*) FROM blood_units u WHERE u.reserved_for_request_id = r.id \
              AND u.status = 'RESERVED') <> 2"
        )
        .await,
        0
    );
    assert_eq!(app.count(MISMATCHES).await, 0);
}

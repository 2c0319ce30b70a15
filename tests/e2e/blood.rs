//! The blood network end to end: donors and donations, stock, the compatible-stock search,
//! and blood requests through their whole life (accept, fulfil, cancel, reject, decline).

use lifeflow_tests::{
    fixtures::{blood::*, donors::card_code, *},
    *,
};
use serde_json::{Value, json};

const REGISTER_DONOR: &str = "mutation($i: RegisterDonorInput!) {
  registerDonor(input: $i) { donor { id bloodGroup eligibilityStatus totalDonations } } }";

const RECORD_DONATION: &str = "mutation($i: RecordDonationInput!) {
  recordDonation(input: $i) {
    donation { id donationType bloodBank { id } }
    donor { id totalDonations lastDonationDate eligibilityStatus nextEligibleDate }
    units { id unitNumber component bloodGroup status donationId } } }";

const FIND: &str = "query($i: FindCompatibleStockInput!) {
  findCompatibleStock(input: $i) {
    distanceKm totalUnits canSupplyAll soonestExpiry
    unitsByGroup { bloodGroup units } bloodBank { id name } } }";

fn ts(v: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(v.as_str().expect("timestamp"))
        .expect("rfc3339")
        .to_utc()
}

fn groups(bank: &Value) -> Vec<(String, i64)> {
    bank["unitsByGroup"]
        .as_array()
        .expect("unitsByGroup")
        .iter()
        .map(|g| {
            (
                g["bloodGroup"].as_str().expect("group").to_string(),
                g["units"].as_i64().expect("units"),
            )
        })
        .collect()
}

fn pairs(v: &[(&str, i64)]) -> Vec<(String, i64)> {
    v.iter().map(|(g, n)| (g.to_string(), *n)).collect()
}

#[tokio::test]
async fn an_ngo_donor_gives_blood_at_a_bank_whose_units_are_quarantined_then_released() {
    // Arrange: a hospital, a blood bank and an NGO, registered and approved.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let ngo = org_north(&app, &net.root, "NGO-CITY", "NGO", "admin@ngo.example", 1.0).await;
    let r = app
        .gql(
            Some(&ngo.admin.access),
            REGISTER_DONOR,
            json!({"i": {"organizationId": ngo.id, "fullName": "Meera Iyer", "dateOfBirth": "1990-05-01",
                          "gender": "female", "bloodGroup": "B_POS", "weightKg": 62.0,
                          "phone": "+91 98000 00001", "city": "Bengaluru"}}),
        )
        .await;
    let donor = r.data()["registerDonor"]["donor"].clone();
    assert_eq!(donor["eligibilityStatus"], "ELIGIBLE");
    assert_eq!(donor["totalDonations"], 0);
    let donor_id = donor["id"].as_str().expect("donor id").to_string();
    let code = card_code(&app, &ngo.admin, &donor_id).await;

    // Act: the donor shows their card at the bank, which records a whole-blood donation split
    // into red cells and plasma.
    let donation = |seq: u32| {
        json!({"i": {"bloodBankId": net.bank.id, "donorCode": code, "donationType": "WHOLE_BLOOD",
        "volumeMl": 450, "hemoglobin": 13.8, "bloodPressure": "120/80",
        "units": [
            {"unitNumber": din_checked(seq), "component": "RED_CELLS", "volumeMl": 280},
            {"unitNumber": din_checked(seq), "component": "PLASMA", "volumeMl": 200},
        ]}})
    };
    let r = app
        .gql(Some(&net.bank_staff.access), RECORD_DONATION, donation(1))
        .await;

    // Assert: the donor's counters and eligibility, and the quarantined units.
    let out = &r.data()["recordDonation"];
    let today = chrono::Utc::now().date_naive();
    assert_eq!(out["donor"]["totalDonations"], 1);
    assert_eq!(out["donor"]["lastDonationDate"], today.to_string());
    assert_eq!(out["donor"]["eligibilityStatus"], "DEFERRED");
    assert_eq!(
        out["donor"]["nextEligibleDate"],
        (today + chrono::Duration::days(90)).to_string()
    );
    assert_eq!(out["donation"]["bloodBank"]["id"], net.bank.id.as_str());
    let donation_id = out["donation"]["id"].as_str().expect("donation id");
    let units = out["units"].as_array().expect("units");
    assert_eq!(units.len(), 2);
    for u in units {
        assert_eq!(u["status"], "QUARANTINED");
        assert_eq!(u["bloodGroup"], "B_POS", "a unit takes the donor's group");
        assert_eq!(u["donationId"], donation_id);
        assert_eq!(
            u["unitNumber"],
            din(1),
            "stored without its check character"
        );
    }
    // The NGO sees the same counters on its donor.
    let r = app
        .gql(
            Some(&ngo.admin.access),
            "query($id: ID!) { donor(id: $id) { totalDonations eligibilityStatus donations { id } } }",
            json!({"id": donor_id}),
        )
        .await;
    assert_eq!(r.data()["donor"]["totalDonations"], 1);
    assert_eq!(r.data()["donor"]["donations"][0]["id"], donation_id);

    // Releasing the quarantined units, once tested negative, makes them available.
    let ids: Vec<Value> = units.iter().map(|u| u["id"].clone()).collect();
    clear_for_release(&app, &net.bank_staff, &ids).await;
    let r = app
        .gql(
            Some(&net.bank_staff.access),
            "mutation($i: ReleaseBloodUnitsInput!) { releaseBloodUnits(input: $i) { units { id status } } }",
            json!({"i": {"bloodBankId": net.bank.id, "unitIds": ids}}),
        )
        .await;
    for u in r.data()["releaseBloodUnits"]["units"]
        .as_array()
        .expect("units")
    {
        assert_eq!(u["status"], "AVAILABLE");
    }
    assert_eq!(
        units_with_status(&app, &net.bank_staff, &net.bank.id, "AVAILABLE")
            .await
            .len(),
        2
    );

    // Another donation today, the bank now naming the donor it knows by id, is refused and
    // writes nothing.
    let mut again = donation(2);
    again["i"]["donorId"] = json!(donor_id);
    again["i"]
        .as_object_mut()
        .expect("input")
        .remove("donorCode");
    let r = app
        .gql(Some(&net.bank_staff.access), RECORD_DONATION, again)
        .await;
    assert_eq!(r.code(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert_eq!(r.field(), Some("input.donorId"));
    assert_eq!(
        r.body.pointer("/errors/0/extensions/reason"),
        Some(&json!("INTERVAL"))
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM donations").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM blood_units").await, 2);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM donors WHERE total_donations = 1")
            .await,
        1
    );
}

#[tokio::test]
async fn compatible_stock_lists_banks_in_the_radius_nearest_first_counting_only_usable_units() {
    // Arrange: a hospital at HERE; banks 2 km, 8 km and 25 km north, and one 1 km north
    // holding only incompatible units.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let far = org_north(
        &app,
        &net.root,
        "BANK-FAR",
        "BLOOD_BANK",
        "far@bank.example",
        8.0,
    )
    .await;
    let outside = org_north(
        &app,
        &net.root,
        "BANK-OUT",
        "BLOOD_BANK",
        "out@bank.example",
        25.0,
    )
    .await;
    let b_only = org_north(
        &app,
        &net.root,
        "BANK-B",
        "BLOOD_BANK",
        "b@bank.example",
        1.0,
    )
    .await;
    let mut quarantined = unit_expiring("NEAR-APOS-Q", "A_POS", "RED_CELLS", 2);
    into_quarantine(&mut quarantined);
    net.stock(
        &app,
        vec![
            unit_expiring("NEAR-ANEG-0", "A_NEG", "RED_CELLS", 20),
            unit_expiring("NEAR-ANEG-1", "A_NEG", "RED_CELLS", 9),
            unit_expiring("NEAR-OPOS-0", "O_POS", "RED_CELLS", 30),
            expired_unit("NEAR-APOS-X", "A_POS", "RED_CELLS"),
            quarantined,
            unit_expiring("NEAR-BPOS-0", "B_POS", "RED_CELLS", 1),
            unit_expiring("NEAR-APOS-PL", "A_POS", "PLASMA", 1),
        ],
    )
    .await;
    let mut far_units = units("FAR-APOS", "A_POS", "RED_CELLS", 3);
    far_units.push(unit_expiring("FAR-ONEG-0", "O_NEG", "RED_CELLS", 5));
    add_units(&app, &far.admin, &far.id, far_units).await;
    add_units(
        &app,
        &outside.admin,
        &outside.id,
        units("OUT-APOS", "A_POS", "RED_CELLS", 5),
    )
    .await;
    add_units(
        &app,
        &b_only.admin,
        &b_only.id,
        units("B-BPOS", "B_POS", "RED_CELLS", 3),
    )
    .await;
    let search = |radius: f64| {
        json!({"i": {"bloodGroup": "A_POS", "component": "RED_CELLS", "units": 4,
                     "near": {"latitude": HERE.0, "longitude": HERE.1}, "radiusKm": radius}})
    };

    // Act
    let r = app.gql(Some(&net.nurse.access), FIND, search(10.0)).await;

    // Assert: the near bank, then the far one; the outside and B-only banks are left out.
    let found = r.data()["findCompatibleStock"]
        .as_array()
        .expect("list")
        .clone();
    let ids: Vec<&str> = found
        .iter()
        .map(|b| b["bloodBank"]["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, [net.bank.id.as_str(), far.id.as_str()]);
    let (near_bank, far_bank) = (&found[0], &found[1]);
    assert!((near_bank["distanceKm"].as_f64().expect("km") - 2.0).abs() < 0.05);
    assert!((far_bank["distanceKm"].as_f64().expect("km") - 8.0).abs() < 0.05);
    // Preference order for an A+ recipient: A+, A−, O+, O−. Expired, quarantined,
    // incompatible and other-component units do not count.
    assert_eq!(groups(near_bank), pairs(&[("A_NEG", 2), ("O_POS", 1)]));
    assert_eq!(near_bank["totalUnits"], 3);
    assert_eq!(near_bank["canSupplyAll"], false);
    assert_eq!(groups(far_bank), pairs(&[("A_POS", 3), ("O_NEG", 1)]));
    assert_eq!(far_bank["totalUnits"], 4);
    assert_eq!(far_bank["canSupplyAll"], true);
    let near_soonest = ts(&near_bank["soonestExpiry"]);
    let expected = chrono::Utc::now() + chrono::Duration::days(9);
    assert!(
        (near_soonest - expected).num_seconds().abs() < 60,
        "soonest usable unit expires in 9 days, got {near_soonest}"
    );
    let far_soonest = ts(&far_bank["soonestExpiry"]);
    let expected = chrono::Utc::now() + chrono::Duration::days(5);
    assert!((far_soonest - expected).num_seconds().abs() < 60);

    // A wider radius takes in the bank 25 km away, still nearest first.
    let r = app.gql(Some(&net.nurse.access), FIND, search(30.0)).await;
    let ids: Vec<String> = r.data()["findCompatibleStock"]
        .as_array()
        .expect("list")
        .iter()
        .map(|b| b["bloodBank"]["id"].as_str().expect("id").to_string())
        .collect();
    assert_eq!(
        ids,
        [net.bank.id.clone(), far.id.clone(), outside.id.clone()]
    );
}

#[tokio::test]
async fn an_accepted_emergency_reserves_the_best_matched_units_earliest_expiry_first_and_is_fulfilled()
 {
    // Arrange: an A+ recipient of red cells; the bank holds A+, A−, O+ and O− units, one A+
    // unit expired but not yet swept, one A+ unit quarantined.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let mut ap1 = unit_expiring(&din_checked(11), "A_POS", "RED_CELLS", 5);
    ap1["isLocalBarcode"] = json!(false);
    let mut quarantined = unit_expiring("APOS-Q", "A_POS", "RED_CELLS", 1);
    into_quarantine(&mut quarantined);
    net.stock(
        &app,
        vec![
            expired_unit("APOS-EXPIRED", "A_POS", "RED_CELLS"),
            ap1,
            unit_expiring("APOS-20D", "A_POS", "RED_CELLS", 20),
            quarantined,
            unit_expiring("ANEG-30D", "A_NEG", "RED_CELLS", 30),
            unit_expiring("ANEG-3D", "A_NEG", "RED_CELLS", 3),
            unit_expiring("OPOS-1D", "O_POS", "RED_CELLS", 1),
            unit_expiring("ONEG-1D", "O_NEG", "RED_CELLS", 1),
        ],
    )
    .await;
    let mut input = request_input(&net.hospital.id, "A_POS", "RED_CELLS", 3);
    input["urgency"] = json!("EMERGENCY");
    let first = create_request(&app, &net.doctor, input.clone()).await;

    // Act
    let r = accept(&app, &net.bank_staff, &first, &net.bank.id).await;

    // Assert: both usable A+ units, then the A− unit expiring first; never the expired one,
    // and not the O units though they expire sooner.
    let accepted = request_of(&r, "acceptBloodRequest");
    assert_eq!(accepted["status"], "ACCEPTED");
    assert_eq!(accepted["bloodBank"]["id"], net.bank.id.as_str());
    assert!(accepted["holdUntil"].is_string());
    assert_eq!(
        unit_numbers(accepted),
        ["ANEG-3D", "APOS-20D", din(11).as_str()]
    );
    for u in accepted["units"].as_array().expect("units") {
        assert_eq!(u["status"], "RESERVED");
        assert_eq!(u["reservedForRequestId"], first.as_str());
    }
    // The next request gets the remaining A− unit, then O+ before O−.
    let second = net.nurse_request(&app, "A_POS", "RED_CELLS", 2).await;
    let r = accept(&app, &net.bank_staff, &second, &net.bank.id).await;
    assert_eq!(
        unit_numbers(request_of(&r, "acceptBloodRequest")),
        ["ANEG-30D", "OPOS-1D"]
    );
    // Only O− is left usable: two units cannot be found, however the expired one looks.
    let third = net.nurse_request(&app, "A_POS", "RED_CELLS", 2).await;
    let r = accept(&app, &net.bank_staff, &third, &net.bank.id).await;
    assert_eq!(r.code(), Some("INSUFFICIENT_STOCK"), "{}", r.body);

    // Fulfilling the first issues its units.
    let r = act(
        &app,
        &net.bank_staff,
        "fulfillBloodRequest",
        json!({"requestId": first, "bloodBankId": net.bank.id}),
    )
    .await;
    let done = request_of(&r, "fulfillBloodRequest");
    assert_eq!(done["status"], "FULFILLED");
    assert!(done["fulfilledAt"].is_string());
    for u in done["units"].as_array().expect("units") {
        assert_eq!(u["status"], "ISSUED");
    }
    assert_eq!(
        units_with_status(&app, &net.bank_staff, &net.bank.id, "ISSUED")
            .await
            .len(),
        3
    );

    // The unit's history, looked up by its number as typed (with the check character).
    let r = app
        .gql(
            Some(&net.bank_staff.access),
            "query($n: String!) { bloodUnitHistory(unitNumber: $n) {
               unit { unitNumber status } events { fromStatus toStatus requestId } } }",
            json!({"n": din_checked(11)}),
        )
        .await;
    let history = &r.data()["bloodUnitHistory"];
    assert_eq!(history.as_array().expect("list").len(), 1);
    assert_eq!(history[0]["unit"]["unitNumber"], din(11));
    assert_eq!(history[0]["unit"]["status"], "ISSUED");
    let events: Vec<(Value, Value, Value)> = history[0]["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["fromStatus"].clone(),
                e["toStatus"].clone(),
                e["requestId"].clone(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            (Value::Null, json!("AVAILABLE"), Value::Null),
            (json!("AVAILABLE"), json!("RESERVED"), json!(first)),
            (json!("RESERVED"), json!("ISSUED"), json!(first)),
        ]
    );
}

#[tokio::test]
async fn cancelling_an_accepted_request_returns_its_units_to_stock() {
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    net.stock(&app, units("ONEG", "O_NEG", "RED_CELLS", 4))
        .await;
    let id = net.nurse_request(&app, "O_NEG", "RED_CELLS", 2).await;
    accept(&app, &net.bank_staff, &id, &net.bank.id)
        .await
        .data();
    assert_eq!(count_units(&app, "RESERVED").await, 2);

    let r = act(
        &app,
        &net.nurse,
        "cancelBloodRequest",
        json!({"requestId": id, "hospitalId": net.hospital.id, "reason": "patient stabilised"}),
    )
    .await;

    let cancelled = request_of(&r, "cancelBloodRequest");
    assert_eq!(cancelled["status"], "CANCELLED");
    assert_eq!(cancelled["cancellationReason"], "patient stabilised");
    assert!(cancelled["holdUntil"].is_null());
    let available = units_with_status(&app, &net.bank_staff, &net.bank.id, "AVAILABLE").await;
    assert_eq!(available.len(), 4);
    assert!(
        available
            .iter()
            .all(|u| u["reservedForRequestId"].is_null())
    );
    assert_eq!(count_units(&app, "RESERVED").await, 0);
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM blood_unit_events WHERE from_status = 'RESERVED' AND to_status = 'AVAILABLE'"
        )
        .await,
        2
    );
}

#[tokio::test]
async fn the_addressed_bank_rejects_with_a_reason_and_other_banks_cannot_answer() {
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let other = net.second_bank(&app).await;
    let mut input = request_input(&net.hospital.id, "B_NEG", "PLATELETS", 1);
    input["bloodBankId"] = json!(net.bank.id);
    let id = create_request(&app, &net.nurse, input).await;
    let answer = |reason: Option<&str>| json!({"requestId": id, "bloodBankId": net.bank.id, "reason": reason});

    // Another bank neither rejects nor accepts a request addressed elsewhere.
    let r = act(
        &app,
        &other.admin,
        "rejectBloodRequest",
        json!({"requestId": id, "bloodBankId": other.id, "reason": "no"}),
    )
    .await;
    assert_eq!(r.code(), Some("FORBIDDEN"));
    assert_eq!(
        accept(&app, &other.admin, &id, &other.id).await.code(),
        Some("FORBIDDEN")
    );
    // An addressed request is rejected, not declined.
    let r = act(
        &app,
        &net.bank_staff,
        "declineBloodRequest",
        answer(Some("busy")),
    )
    .await;
    assert_eq!(r.code(), Some("BAD_USER_INPUT"));
    // A rejection needs a reason.
    let r = act(&app, &net.bank_staff, "rejectBloodRequest", answer(None)).await;
    assert_eq!(r.code(), Some("BAD_USER_INPUT"));
    assert_eq!(r.field(), Some("input.reason"));

    let r = act(
        &app,
        &net.bank_staff,
        "rejectBloodRequest",
        answer(Some("no B− platelets this week")),
    )
    .await;

    let rejected = request_of(&r, "rejectBloodRequest");
    assert_eq!(rejected["status"], "REJECTED");
    assert_eq!(rejected["rejectionReason"], "no B− platelets this week");
    assert!(rejected["rejectedAt"].is_string());
}

#[tokio::test]
async fn a_bank_that_declines_an_open_request_leaves_it_pending_and_cannot_decline_twice() {
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let id = net.nurse_request(&app, "AB_POS", "PLASMA", 1).await;
    let decline = json!({"requestId": id, "bloodBankId": net.bank.id, "reason": "no AB plasma"});

    let r = act(
        &app,
        &net.bank_staff,
        "declineBloodRequest",
        decline.clone(),
    )
    .await;

    assert_eq!(request_of(&r, "declineBloodRequest")["status"], "PENDING");
    let r = act(&app, &net.bank.admin, "declineBloodRequest", decline).await;
    assert_eq!(r.code(), Some("CONFLICT"), "{}", r.body);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM blood_request_declines")
            .await,
        1
    );
    let r = read_request(&app, &net.nurse, &id).await;
    assert_eq!(r.data()["bloodRequest"]["status"], "PENDING");
}

#[tokio::test]
async fn a_bank_outside_an_open_requests_radius_cannot_accept_or_decline_it() {
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let remote = org_north(
        &app,
        &net.root,
        "BANK-REMOTE",
        "BLOOD_BANK",
        "remote@bank.example",
        50.0,
    )
    .await;
    add_units(
        &app,
        &remote.admin,
        &remote.id,
        units("REMOTE", "O_POS", "RED_CELLS", 3),
    )
    .await;
    let mut input = request_input(&net.hospital.id, "O_POS", "RED_CELLS", 1);
    input["radiusKm"] = json!(10.0);
    let id = create_request(&app, &net.nurse, input).await;

    let r = accept(&app, &remote.admin, &id, &remote.id).await;

    assert_eq!(r.code(), Some("FORBIDDEN"), "{}", r.body);
    let r = act(
        &app,
        &remote.admin,
        "declineBloodRequest",
        json!({"requestId": id, "bloodBankId": remote.id}),
    )
    .await;
    assert_eq!(r.code(), Some("FORBIDDEN"));
    assert_eq!(count_units(&app, "RESERVED").await, 0);
    // Nor does it see the request.
    assert_eq!(
        read_request(&app, &remote.admin, &id).await.code(),
        Some("NOT_FOUND")
    );
}

#[tokio::test]
async fn every_transition_the_state_machine_lacks_is_an_invalid_transition() {
    // Arrange: requests in every final and intermediate state.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    net.stock(&app, units("OPOS", "O_POS", "RED_CELLS", 6))
        .await;
    let (bank, hospital) = (net.bank.id.clone(), net.hospital.id.clone());
    let open = || request_input(&hospital, "O_POS", "RED_CELLS", 1);
    let addressed = || {
        let mut i = request_input(&hospital, "O_POS", "RED_CELLS", 1);
        i["bloodBankId"] = json!(bank);
        i
    };
    let pending = create_request(&app, &net.nurse, open()).await;
    let accepted = create_request(&app, &net.nurse, open()).await;
    accept(&app, &net.bank_staff, &accepted, &bank).await.data();
    let fulfilled = create_request(&app, &net.nurse, open()).await;
    accept(&app, &net.bank_staff, &fulfilled, &bank)
        .await
        .data();
    let bank_input = |id: &str| json!({"requestId": id, "bloodBankId": bank, "reason": "r"});
    let bank_only = |id: &str| json!({"requestId": id, "bloodBankId": bank});
    let hospital_input = |id: &str| json!({"requestId": id, "hospitalId": hospital, "reason": "r"});
    act(
        &app,
        &net.bank_staff,
        "fulfillBloodRequest",
        bank_only(&fulfilled),
    )
    .await
    .data();
    let cancelled = create_request(&app, &net.nurse, addressed()).await;
    act(
        &app,
        &net.nurse,
        "cancelBloodRequest",
        hospital_input(&cancelled),
    )
    .await
    .data();
    let rejected = create_request(&app, &net.nurse, addressed()).await;
    act(
        &app,
        &net.bank_staff,
        "rejectBloodRequest",
        bank_input(&rejected),
    )
    .await
    .data();
    let reserved_before = count_units(&app, "RESERVED").await;
    let issued_before = count_units(&app, "ISSUED").await;

    // Act and assert: each missing arrow is refused.
    let cases: Vec<(&str, &str, &Session, Value)> = vec![
        (
            "fulfil a pending request",
            "fulfillBloodRequest",
            &net.bank_staff,
            bank_input(&pending),
        ),
        (
            "accept an accepted request",
            "acceptBloodRequest",
            &net.bank_staff,
            bank_input(&accepted),
        ),
        (
            "decline an accepted request",
            "declineBloodRequest",
            &net.bank_staff,
            bank_input(&accepted),
        ),
        (
            "accept a fulfilled request",
            "acceptBloodRequest",
            &net.bank_staff,
            bank_input(&fulfilled),
        ),
        (
            "fulfil a fulfilled request",
            "fulfillBloodRequest",
            &net.bank_staff,
            bank_input(&fulfilled),
        ),
        (
            "cancel a fulfilled request",
            "cancelBloodRequest",
            &net.nurse,
            hospital_input(&fulfilled),
        ),
        (
            "reject a cancelled request",
            "rejectBloodRequest",
            &net.bank_staff,
            bank_input(&cancelled),
        ),
        (
            "accept a cancelled request",
            "acceptBloodRequest",
            &net.bank_staff,
            bank_input(&cancelled),
        ),
        (
            "cancel a cancelled request",
            "cancelBloodRequest",
            &net.nurse,
            hospital_input(&cancelled),
        ),
        (
            "fulfil a cancelled request",
            "fulfillBloodRequest",
            &net.bank_staff,
            bank_input(&cancelled),
        ),
        (
            "accept a rejected request",
            "acceptBloodRequest",
            &net.bank_staff,
            bank_input(&rejected),
        ),
        (
            "reject a rejected request",
            "rejectBloodRequest",
            &net.bank_staff,
            bank_input(&rejected),
        ),
        (
            "cancel a rejected request",
            "cancelBloodRequest",
            &net.nurse,
            hospital_input(&rejected),
        ),
    ];
    let mut wrong = Vec::new();
    for (what, mutation, who, input) in cases {
        let mut input = input;
        if mutation == "acceptBloodRequest" || mutation == "fulfillBloodRequest" {
            input.as_object_mut().expect("object").remove("reason");
        }
        let r = act(&app, who, mutation, input).await;
        if r.code() != Some("INVALID_TRANSITION") {
            wrong.push(format!("{what}: {}", r.body));
        }
    }
    assert!(
        wrong.is_empty(),
        "not refused as INVALID_TRANSITION:\n{}",
        wrong.join("\n")
    );
    // Nothing moved.
    assert_eq!(count_units(&app, "RESERVED").await, reserved_before);
    assert_eq!(count_units(&app, "ISSUED").await, issued_before);
    for (id, status) in [
        (&pending, "PENDING"),
        (&accepted, "ACCEPTED"),
        (&fulfilled, "FULFILLED"),
        (&cancelled, "CANCELLED"),
        (&rejected, "REJECTED"),
    ] {
        let r = read_request(&app, &net.nurse, id).await;
        assert_eq!(r.data()["bloodRequest"]["status"], status);
    }
}

#[tokio::test]
async fn a_bank_with_too_few_compatible_units_reserves_nothing() {
    // Arrange: two usable A− units, one expired, one quarantined, and O+ units that an A−
    // recipient cannot receive.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let mut quarantined = unit("ANEG-Q", "A_NEG", "RED_CELLS");
    into_quarantine(&mut quarantined);
    let mut stock = units("ANEG", "A_NEG", "RED_CELLS", 2);
    stock.extend([expired_unit("ANEG-X", "A_NEG", "RED_CELLS"), quarantined]);
    stock.extend(units("OPOS", "O_POS", "RED_CELLS", 3));
    net.stock(&app, stock).await;
    let id = net.nurse_request(&app, "A_NEG", "RED_CELLS", 3).await;
    let available = count_units(&app, "AVAILABLE").await;
    let events = app.count("SELECT COUNT(*) FROM blood_unit_events").await;

    // Act
    let r = accept(&app, &net.bank_staff, &id, &net.bank.id).await;

    // Assert
    assert_eq!(r.code(), Some("INSUFFICIENT_STOCK"), "{}", r.body);
    assert_eq!(count_units(&app, "AVAILABLE").await, available);
    assert_eq!(count_units(&app, "RESERVED").await, 0);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM blood_unit_events").await,
        events
    );
    let r = read_request(&app, &net.nurse, &id).await;
    assert_eq!(r.data()["bloodRequest"]["status"], "PENDING");
    assert!(r.data()["bloodRequest"]["bloodBank"].is_null());
    let failures = audit_rows(&app, "blood_request.accept", Some(&id)).await;
    assert_eq!(failures.len(), 1);
    assert_eq!(
        failures[0].error_code.as_deref(),
        Some("INSUFFICIENT_STOCK")
    );
}

#[tokio::test]
async fn an_rh_negative_recipient_gets_rh_positive_cells_only_under_an_audited_emergency_override()
{
    // Arrange: the bank holds only O+ red cells; the recipient is O−.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    net.stock(&app, units("OPOS", "O_POS", "RED_CELLS", 3))
        .await;
    let normal = create_request(
        &app,
        &net.doctor,
        request_input(&net.hospital.id, "O_NEG", "RED_CELLS", 2),
    )
    .await;
    let r = accept(&app, &net.bank_staff, &normal, &net.bank.id).await;
    assert_eq!(r.code(), Some("INSUFFICIENT_STOCK"), "{}", r.body);
    // The override needs a reason.
    let mut input = request_input(&net.hospital.id, "O_NEG", "RED_CELLS", 2);
    input["urgency"] = json!("CRITICAL");
    input["allowEmergencyOverride"] = json!(true);
    let r = try_create_request(&app, &net.doctor.access, input.clone()).await;
    assert_eq!(r.code(), Some("BAD_USER_INPUT"));
    assert_eq!(r.field(), Some("input.overrideReason"));
    let requests_before = count_requests(&app).await;
    assert_eq!(requests_before, 1);

    // Act
    input["overrideReason"] = json!("massive haemorrhage, no O− in the city");
    let id = create_request(&app, &net.doctor, input).await;
    let r = accept(&app, &net.bank_staff, &id, &net.bank.id).await;

    // Assert
    let accepted = request_of(&r, "acceptBloodRequest");
    assert_eq!(accepted["status"], "ACCEPTED");
    let units = accepted["units"].as_array().expect("units");
    assert_eq!(units.len(), 2);
    assert!(units.iter().all(|u| u["bloodGroup"] == "O_POS"));
    let rows = audit_rows(&app, "blood_request.create", Some(&id)).await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.actor_role, "DOCTOR");
    let new = row.new_values.as_ref().expect("new values");
    assert_eq!(new["allowEmergencyOverride"], true);
    assert_eq!(
        new["overrideReason"],
        "massive haemorrhage, no O− in the city"
    );
    // The search shows the same: nothing without the override, the O+ bank with it.
    let find = |allow: bool| {
        json!({"i": {"bloodGroup": "O_NEG", "component": "RED_CELLS", "units": 1,
                     "near": {"latitude": HERE.0, "longitude": HERE.1}, "allowEmergencyOverride": allow}})
    };
    let r = app.gql(Some(&net.nurse.access), FIND, find(false)).await;
    assert_eq!(r.data()["findCompatibleStock"], json!([]));
    let r = app.gql(Some(&net.nurse.access), FIND, find(true)).await;
    assert_eq!(
        groups(&r.data()["findCompatibleStock"][0]),
        pairs(&[("O_POS", 1)])
    );
}

#[tokio::test]
async fn a_unit_number_with_a_wrong_check_character_is_refused_and_nothing_of_the_batch_is_added() {
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let good = din_checked(7);
    let check = good.chars().last().expect("check");
    let bad = format!("{}{}", din(7), if check == '0' { '1' } else { '0' });
    let din_unit = |number: &str, component: &str| {
        let mut u = unit(number, "O_POS", component);
        u["isLocalBarcode"] = json!(false);
        u
    };

    // A wrong check character, first or second in the batch.
    let r = try_add_units(
        &app,
        &net.bank_staff,
        &net.bank.id,
        vec![
            din_unit(&bad, "RED_CELLS"),
            din_unit(&din_checked(8), "RED_CELLS"),
        ],
    )
    .await;
    assert_eq!(r.code(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert_eq!(r.field(), Some("input.units[0].unitNumber"));
    let r = try_add_units(
        &app,
        &net.bank_staff,
        &net.bank.id,
        vec![
            din_unit(&din_checked(8), "RED_CELLS"),
            din_unit(&bad, "PLASMA"),
        ],
    )
    .await;
    assert_eq!(r.field(), Some("input.units[1].unitNumber"));
    assert_eq!(app.count("SELECT COUNT(*) FROM blood_units").await, 0);

    // The right one is stored without its check character.
    let added = add_units(
        &app,
        &net.bank_staff,
        &net.bank.id,
        vec![din_unit(&good, "RED_CELLS")],
    )
    .await;
    assert_eq!(added[0]["unitNumber"], din(7));

    // The same number and component again (typed with spaces and flags) is a conflict; the
    // same number for another component of the donation is not.
    let spaced = format!("W1234 26 000007 00 {check}");
    let r = try_add_units(
        &app,
        &net.bank_staff,
        &net.bank.id,
        vec![
            din_unit(&din_checked(9), "RED_CELLS"),
            din_unit(&spaced, "RED_CELLS"),
        ],
    )
    .await;
    assert_eq!(r.code(), Some("CONFLICT"), "{}", r.body);
    assert_eq!(app.count("SELECT COUNT(*) FROM blood_units").await, 1);
    add_units(
        &app,
        &net.bank_staff,
        &net.bank.id,
        vec![din_unit(&spaced, "PLASMA")],
    )
    .await;
    // Twice in one batch names the second.
    let r = try_add_units(
        &app,
        &net.bank_staff,
        &net.bank.id,
        vec![
            unit("LOCAL-1", "A_POS", "PLATELETS"),
            unit("local-1", "A_POS", "PLATELETS"),
        ],
    )
    .await;
    assert_eq!(r.code(), Some("BAD_USER_INPUT"));
    assert_eq!(r.field(), Some("input.units[1].unitNumber"));
    assert_eq!(app.count("SELECT COUNT(*) FROM blood_units").await, 2);
}

#[tokio::test]
async fn a_hospital_information_system_creates_a_request_with_its_api_client_as_requester() {
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let ApiClient {
        token,
        id: client_id,
    } = api_client(
        &app,
        &net.hospital.admin,
        &net.hospital.id,
        "HIS",
        &["blood-requests:write"],
    )
    .await;

    let r = try_create_request(
        &app,
        &token,
        request_input(&net.hospital.id, "B_POS", "RED_CELLS", 1),
    )
    .await;

    let created = request_of(&r, "createBloodRequest");
    assert!(created["requestedBy"].is_null());
    assert_eq!(created["requestedByApiClientId"], client_id.as_str());
    let id = created["id"].as_str().expect("id");
    // The hospital's staff see the same.
    let r = read_request(&app, &net.nurse, id).await;
    assert!(r.data()["bloodRequest"]["requestedBy"].is_null());
    assert_eq!(
        r.data()["bloodRequest"]["requestedByApiClientId"],
        client_id.as_str()
    );
    let rows = audit_rows(&app, "blood_request.create", Some(id)).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].actor_role, "API_CLIENT");
    assert!(rows[0].actor_user_id.is_none());
    assert_eq!(
        rows[0].actor_api_client_id.map(|u| u.to_string()),
        Some(client_id)
    );
    // It acts for its own hospital only.
    let other = org_north(
        &app,
        &net.root,
        "HOSP-TWO",
        "HOSPITAL",
        "two@hospital.example",
        1.0,
    )
    .await;
    let r = try_create_request(
        &app,
        &token,
        request_input(&other.id, "B_POS", "RED_CELLS", 1),
    )
    .await;
    assert_eq!(r.code(), Some("FORBIDDEN"));
}

#[tokio::test]
async fn a_donor_under_observation_cannot_give_blood_until_taken_off_it() {
    // Arrange: a walk-in donor registered by the bank, then put under observation.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let r = app
        .gql(
            Some(&net.bank_staff.access),
            REGISTER_DONOR,
            json!({"i": {"organizationId": net.bank.id, "fullName": "Arjun Das", "dateOfBirth": "1985-09-30",
                          "bloodGroup": "A_NEG", "weightKg": 80.0, "phone": "+919800000042", "city": "Bengaluru"}}),
        )
        .await;
    let donor = r.data()["registerDonor"]["donor"]["id"]
        .as_str()
        .expect("donor id")
        .to_string();
    let observe = |on: bool| json!({"i": {"donorId": donor, "organizationId": net.bank.id, "underObservation": on}});
    let update = "mutation($i: UpdateDonorInput!) { updateDonor(input: $i) { donor { eligibilityStatus } } }";
    let r = app
        .gql(Some(&net.bank_staff.access), update, observe(true))
        .await;
    assert_eq!(
        r.data()["updateDonor"]["donor"]["eligibilityStatus"],
        "UNDER_OBSERVATION"
    );
    let donation = json!({"i": {"bloodBankId": net.bank.id, "donorId": donor, "donationType": "WHOLE_BLOOD",
                                "volumeMl": 450, "hemoglobin": 14.0}});

    // Act
    let r = app
        .gql(
            Some(&net.bank_staff.access),
            RECORD_DONATION,
            donation.clone(),
        )
        .await;

    // Assert
    assert_eq!(r.code(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert_eq!(r.field(), Some("input.donorId"));
    assert_eq!(app.count("SELECT COUNT(*) FROM donations").await, 0);
    // Taken off observation, they may give.
    let r = app
        .gql(Some(&net.bank_staff.access), update, observe(false))
        .await;
    assert_eq!(
        r.data()["updateDonor"]["donor"]["eligibilityStatus"],
        "ELIGIBLE"
    );
    let r = app
        .gql(Some(&net.bank_staff.access), RECORD_DONATION, donation)
        .await;
    assert_eq!(r.data()["recordDonation"]["donor"]["totalDonations"], 1);
}

#[tokio::test]
async fn a_reserved_unit_that_expires_during_its_hold_is_never_issued_and_returns_as_expired() {
    // Arrange: platelets expire by the hour; this unit expires two seconds after it is reserved.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let expires = chrono::Utc::now() + chrono::Duration::seconds(2);
    let mut short = unit("PLT-SHORT", "O_POS", "PLATELETS");
    short["expiresAt"] = json!(expires.to_rfc3339());
    net.stock(&app, vec![short]).await;
    let id = net.nurse_request(&app, "O_POS", "PLATELETS", 1).await;
    accept(&app, &net.bank_staff, &id, &net.bank.id)
        .await
        .data();
    let wait = (expires - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + std::time::Duration::from_millis(200)).await;

    // Act
    let r = act(
        &app,
        &net.bank_staff,
        "fulfillBloodRequest",
        json!({"requestId": id, "bloodBankId": net.bank.id}),
    )
    .await;

    // Assert
    assert_eq!(r.code(), Some("CONFLICT"), "{}", r.body);
    assert_eq!(count_units(&app, "ISSUED").await, 0);
    let r = read_request(&app, &net.nurse, &id).await;
    assert_eq!(r.data()["bloodRequest"]["status"], "ACCEPTED");
    // Cancelling returns it to stock as EXPIRED, not AVAILABLE.
    act(
        &app,
        &net.nurse,
        "cancelBloodRequest",
        json!({"requestId": id, "hospitalId": net.hospital.id, "reason": "unit expired"}),
    )
    .await
    .data();
    assert_eq!(count_units(&app, "EXPIRED").await, 1);
    assert_eq!(count_units(&app, "AVAILABLE").await, 0);
}

#[tokio::test]
async fn a_donor_whose_deferral_has_run_out_is_found_and_shown_as_eligible() {
    // Arrange: an NGO donor gives whole blood, then 91 days pass (the dates are moved back,
    // as the clock cannot be).
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let ngo = org_north(&app, &net.root, "NGO-CITY", "NGO", "admin@ngo.example", 1.0).await;
    let r = app
        .gql(
            Some(&ngo.admin.access),
            REGISTER_DONOR,
            json!({"i": {"organizationId": ngo.id, "fullName": "Kavya N", "dateOfBirth": "1995-03-14",
                          "bloodGroup": "O_NEG", "weightKg": 58.0, "phone": "+919800000123", "city": "Bengaluru"}}),
        )
        .await;
    let donor = r.data()["registerDonor"]["donor"]["id"]
        .as_str()
        .expect("donor id")
        .to_string();
    let code = card_code(&app, &ngo.admin, &donor).await;
    app.gql(
        Some(&net.bank_staff.access),
        RECORD_DONATION,
        json!({"i": {"bloodBankId": net.bank.id, "donorCode": code, "donationType": "WHOLE_BLOOD",
                     "volumeMl": 450, "hemoglobin": 13.1}}),
    )
    .await
    .data();
    let search = |statuses: Value| {
        let token = ngo.admin.access.clone();
        let app = &app;
        async move {
            let r = app
                .gql(
                    Some(&token),
                    "query($e: [Eligibility!]) { donors(filter: {eligibility: $e}) {
                       edges { node { id eligibilityStatus nextEligibleDate eligibility { status } } } } }",
                    json!({"e": statuses}),
                )
                .await;
            r.data()["donors"]["edges"]
                .as_array()
                .expect("edges")
                .iter()
                .map(|e| e["node"].clone())
                .collect::<Vec<Value>>()
        }
    };
    assert_eq!(search(json!(["DEFERRED"])).await.len(), 1);
    assert!(search(json!(["ELIGIBLE"])).await.is_empty());
    {
        use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
        let id = uuid::Uuid::parse_str(&donor).expect("uuid");
        let row = entity::donor::Entity::find_by_id(id)
            .one(&app.db)
            .await
            .expect("query")
            .expect("donor");
        let back = |d: Option<chrono::NaiveDate>| d.map(|d| d - chrono::Duration::days(91));
        let mut am: entity::donor::ActiveModel = row.clone().into();
        am.last_donation_date = Set(back(row.last_donation_date));
        am.next_eligible_date = Set(back(row.next_eligible_date));
        am.update(&app.db).await.expect("move dates back");
    }

    // Act
    let eligible = search(json!(["ELIGIBLE"])).await;

    // Assert
    assert_eq!(
        eligible.len(),
        1,
        "an NGO looking for eligible donors finds them"
    );
    assert_eq!(eligible[0]["eligibilityStatus"], "ELIGIBLE");
    assert_eq!(eligible[0]["eligibility"]["status"], "ELIGIBLE");
    assert!(eligible[0]["nextEligibleDate"].is_null());
    assert!(search(json!(["DEFERRED"])).await.is_empty());
}

//! Blood requests under concurrency and over time: no unit reserved twice, lapsing holds,
//! and idempotency keys for the mutations partners retry.

use futures_util::future::join_all;
use lifeflow_tests::{
    fixtures::{blood::*, donors::card_code, *},
    *,
};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn fifty_accepts_at_once_against_thirty_units_never_reserve_a_unit_twice() {
    // Arrange: 30 compatible units, 50 requests of 2 units each.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let second_staff = member(&app, &net.bank, "staff2@bank.example", "STAFF").await;
    net.stock(&app, units("OPOS", "O_POS", "RED_CELLS", 30))
        .await;
    let mut requests = Vec::new();
    for i in 0..50 {
        let group = if i % 2 == 0 { "O_POS" } else { "A_POS" };
        requests.push(net.nurse_request(&app, group, "RED_CELLS", 2).await);
    }

    // Act
    let calls = requests.iter().enumerate().map(|(i, id)| {
        let who = if i % 2 == 0 {
            &net.bank_staff
        } else {
            &second_staff
        };
        accept(&app, who, id, &net.bank.id)
    });
    let results = join_all(calls).await;

    // Assert
    let mut accepted = 0i64;
    let mut conflicts = 0;
    let mut unexpected = Vec::new();
    for r in &results {
        match r.code() {
            None => {
                let req = request_of(r, "acceptBloodRequest");
                assert_eq!(req["status"], "ACCEPTED");
                assert_eq!(req["units"].as_array().expect("units").len(), 2);
                accepted += 1;
            }
            Some("INSUFFICIENT_STOCK") => {}
            Some("CONFLICT") => conflicts += 1,
            Some(_) => unexpected.push(r.body.to_string()),
        }
    }
    assert!(unexpected.is_empty(), "unexpected errors: {unexpected:#?}");
    assert!(accepted > 0);
    let reserved = count_units(&app, "RESERVED").await;
    assert_eq!(reserved, 2 * accepted);
    assert_eq!(count_units(&app, "AVAILABLE").await, 30 - reserved);
    if conflicts == 0 {
        assert_eq!(accepted, 15, "every pair of units found a request");
    }
    // Each reserved unit belongs to one accepted request, each such request holds two.
    assert_eq!(
        app.count(
            "SELECT COUNT(DISTINCT reserved_for_request_id) FROM blood_units WHERE status = 'RESERVED'"
        )
        .await,
        accepted
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM (SELECT reserved_for_request_id FROM blood_units
               WHERE status = 'RESERVED' GROUP BY reserved_for_request_id HAVING COUNT(*) <> 2) t"
        )
        .await,
        0
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM blood_requests WHERE status = 'ACCEPTED'")
            .await,
        accepted
    );
    // No unit was ever moved to RESERVED twice.
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM (SELECT unit_id FROM blood_unit_events WHERE to_status = 'RESERVED'
               GROUP BY unit_id HAVING COUNT(*) > 1) t"
        )
        .await,
        0
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM blood_unit_events WHERE to_status = 'RESERVED'")
            .await,
        reserved
    );
}

#[tokio::test]
async fn a_lapsed_reservation_returns_the_request_to_pending_and_its_units_to_stock() {
    // Arrange: holds last one second; the sweep runs every 100 ms.
    let app = spawn_app_with(&[("RESERVATION_HOLD_SECS", "1"), ("SWEEP_INTERVAL_MS", "100")]).await;
    let net = Network::new(&app, 2.0).await;
    net.stock(&app, units("BNEG", "B_NEG", "RED_CELLS", 2))
        .await;
    let id = net.nurse_request(&app, "B_NEG", "RED_CELLS", 2).await;

    // Act
    let r = accept(&app, &net.bank_staff, &id, &net.bank.id).await;
    assert_eq!(request_of(&r, "acceptBloodRequest")["status"], "ACCEPTED");

    // Assert
    let lapsed = eventually(Duration::from_secs(5), "the hold to lapse", || async {
        let r = read_request(&app, &net.nurse, &id).await;
        let req = r.data()["bloodRequest"].clone();
        (req["status"] == "PENDING").then_some(req)
    })
    .await;
    assert!(lapsed["bloodBank"].is_null());
    assert!(lapsed["holdUntil"].is_null());
    assert!(lapsed["acceptedAt"].is_null());
    assert_eq!(lapsed["units"], json!([]));
    let available = units_with_status(&app, &net.bank_staff, &net.bank.id, "AVAILABLE").await;
    assert_eq!(available.len(), 2);
    assert!(
        available
            .iter()
            .all(|u| u["reservedForRequestId"].is_null() && u["reservedUntil"].is_null())
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM alerts WHERE kind = 'HOLD_LAPSED'")
            .await,
        1
    );
    // The request can be accepted again.
    let r = accept(&app, &net.bank_staff, &id, &net.bank.id).await;
    assert_eq!(request_of(&r, "acceptBloodRequest")["status"], "ACCEPTED");
}

#[tokio::test]
async fn creating_a_request_twice_with_one_idempotency_key_creates_it_once() {
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let mut input = request_input(&net.hospital.id, "O_POS", "PLATELETS", 1);
    input["idempotencyKey"] = json!("his-7781");

    let first = create_request(&app, &net.nurse, input.clone()).await;
    let again = create_request(&app, &net.nurse, input.clone()).await;

    assert_eq!(first, again);
    assert_eq!(count_requests(&app).await, 1);
    // The same key with another input is a conflict.
    let mut changed = input.clone();
    changed["unitsRequired"] = json!(2);
    let r = try_create_request(&app, &net.nurse.access, changed).await;
    assert_eq!(r.code(), Some("CONFLICT"), "{}", r.body);
    assert_eq!(count_requests(&app).await, 1);
    // Keys belong to their caller: another member using it creates their own request.
    let other = create_request(&app, &net.doctor, input.clone()).await;
    assert_ne!(other, first);
    assert_eq!(count_requests(&app).await, 2);
    // Both identical first attempts at once still create one request.
    input["idempotencyKey"] = json!("his-7782");
    let both = join_all([
        try_create_request(&app, &net.nurse.access, input.clone()),
        try_create_request(&app, &net.nurse.access, input.clone()),
    ])
    .await;
    let ids: Vec<&str> = both
        .iter()
        .map(|r| {
            request_of(r, "createBloodRequest")["id"]
                .as_str()
                .expect("id")
        })
        .collect();
    assert_eq!(ids[0], ids[1]);
    assert_eq!(count_requests(&app).await, 3);
}

#[tokio::test]
async fn accepting_again_with_the_same_idempotency_key_reserves_nothing_more() {
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let id = net.nurse_request(&app, "AB_NEG", "RED_CELLS", 2).await;
    let input = json!({"requestId": id, "bloodBankId": net.bank.id, "idempotencyKey": "lims-42"});
    // A failed attempt is not remembered: with no stock it fails, then stock arrives.
    let r = act(&app, &net.bank_staff, "acceptBloodRequest", input.clone()).await;
    assert_eq!(r.code(), Some("INSUFFICIENT_STOCK"));
    net.stock(&app, units("ABNEG", "AB_NEG", "RED_CELLS", 4))
        .await;

    let first = act(&app, &net.bank_staff, "acceptBloodRequest", input.clone()).await;
    let events = app.count("SELECT COUNT(*) FROM blood_unit_events").await;
    let retry = act(&app, &net.bank_staff, "acceptBloodRequest", input).await;

    let (a, b) = (
        request_of(&first, "acceptBloodRequest"),
        request_of(&retry, "acceptBloodRequest"),
    );
    assert_eq!(a["status"], "ACCEPTED");
    assert_eq!(b["id"], a["id"]);
    assert_eq!(b["status"], "ACCEPTED");
    assert_eq!(unit_numbers(a), unit_numbers(b));
    assert_eq!(count_units(&app, "RESERVED").await, 2);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM blood_unit_events").await,
        events
    );
    // Without the key, a second accept is what it is: an invalid transition.
    let r = accept(&app, &net.bank_staff, &id, &net.bank.id).await;
    assert_eq!(r.code(), Some("INVALID_TRANSITION"));
}

#[tokio::test]
async fn one_unit_number_added_by_several_staff_at_once_is_stored_once_and_the_others_conflict() {
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let batch = || vec![unit("DUP-0001", "O_NEG", "RED_CELLS")];

    let results = join_all((0..8).map(|i| {
        let who = if i % 2 == 0 {
            &net.bank_staff
        } else {
            &net.bank.admin
        };
        try_add_units(&app, who, &net.bank.id, batch())
    }))
    .await;

    let codes: Vec<Option<&str>> = results.iter().map(Gql::code).collect();
    assert_eq!(codes.iter().filter(|c| c.is_none()).count(), 1, "{codes:?}");
    assert!(
        codes.iter().flatten().all(|c| *c == "CONFLICT"),
        "the others are conflicts: {codes:?}"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM blood_units").await, 1);
}

#[tokio::test]
async fn one_donor_recorded_at_two_banks_at_once_gives_one_donation() {
    // Arrange: a donor registered by a bank; a second bank nearby.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let second = net.second_bank(&app).await;
    let r = app
        .gql(
            Some(&net.bank_staff.access),
            "mutation($i: RegisterDonorInput!) { registerDonor(input: $i) { donor { id } } }",
            json!({"i": {"organizationId": net.bank.id, "fullName": "Ravi Kumar", "dateOfBirth": "1988-02-11",
                          "bloodGroup": "O_POS", "weightKg": 74.0, "phone": "+919800000077", "city": "Bengaluru"}}),
        )
        .await;
    let donor = r.data()["registerDonor"]["donor"]["id"]
        .as_str()
        .expect("donor id")
        .to_string();
    // The first bank knows the donor by id; the second meets them by their card.
    let code = card_code(&app, &net.bank_staff, &donor).await;
    let record = |token: String, bank: String, i: usize| {
        let (key, value) = if bank == net.bank.id {
            ("donorId", &donor)
        } else {
            ("donorCode", &code)
        };
        let mut vars = json!({"i": {"bloodBankId": bank, "donationType": "WHOLE_BLOOD",
                     "volumeMl": 450, "hemoglobin": 14.2,
                     "units": [{"unitNumber": format!("RACE-{i}"), "isLocalBarcode": true,
                                "component": "RED_CELLS", "volumeMl": 280}]}});
        vars["i"][key] = json!(value);
        let app = &app;
        async move {
            app.gql(
            Some(&token),
            "mutation($i: RecordDonationInput!) { recordDonation(input: $i) { donor { totalDonations } } }",
            vars,
        )
        .await
        }
    };

    // Act
    let results = join_all((0..6).map(|i| {
        if i % 2 == 0 {
            record(net.bank_staff.access.clone(), net.bank.id.clone(), i)
        } else {
            record(second.admin.access.clone(), second.id.clone(), i)
        }
    }))
    .await;

    // Assert
    let ok: Vec<&Gql> = results.iter().filter(|r| r.code().is_none()).collect();
    assert_eq!(
        ok.len(),
        1,
        "{:#?}",
        results.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    assert_eq!(ok[0].data()["recordDonation"]["donor"]["totalDonations"], 1);
    for r in results.iter().filter(|r| r.code().is_some()) {
        assert_eq!(r.code(), Some("BAD_USER_INPUT"), "{}", r.body);
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM donations").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM blood_units").await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM donors WHERE total_donations = 1")
            .await,
        1
    );
}

#[tokio::test]
async fn a_retried_accept_racing_its_first_attempt_answers_with_the_first_result() {
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    net.stock(&app, units("BPOS", "B_POS", "RED_CELLS", 6))
        .await;
    let id = net.nurse_request(&app, "B_POS", "RED_CELLS", 2).await;
    let input = json!({"requestId": id, "bloodBankId": net.bank.id, "idempotencyKey": "lims-race"});

    let results =
        join_all((0..4).map(|_| act(&app, &net.bank_staff, "acceptBloodRequest", input.clone())))
            .await;

    for r in &results {
        assert!(
            r.code().is_none(),
            "every attempt answers the same: {}",
            r.body
        );
    }
    let first = unit_numbers(request_of(&results[0], "acceptBloodRequest"));
    for r in &results {
        let req = request_of(r, "acceptBloodRequest");
        assert_eq!(req["status"], "ACCEPTED");
        assert_eq!(unit_numbers(req), first);
    }
    assert_eq!(count_units(&app, "RESERVED").await, 2);
}

//! Camps and drives: the emergency loop from an unanswered request to units on the shelf, no
//! overbooking under concurrency (on the database the test runs on: SQLite by default,
//! Postgres with `TEST_DATABASE_URL`), what the database refuses by itself, bad input, what
//! donors are told, the live slot stream and the statements a page of camps costs.

use lifeflow_tests::{
    fixtures::{blood::*, camps::*, donors::*, *},
    ws::*,
    *,
};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use std::time::Duration;

/// The NGO escalation step after a second, so the loop does not wait minutes.
const FAST: [(&str, &str); 4] = [
    ("SWEEP_INTERVAL_MS", "100"),
    ("ESCALATION_WIDEN_AFTER_SECS", "1"),
    ("ESCALATION_NGO_AFTER_SECS", "1"),
    ("ESCALATION_DELAYED_AFTER_SECS", "600"),
];

/// `n` donors the NGO manages, registered by its staff; returns their ids.
async fn ngo_donors(app: &TestApp, net: &CampNet, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let input = donor_input(
            Some(&net.ngo.id),
            &format!("Donor {i}"),
            &format!("+9198450{i:05}"),
        );
        ids.push(register_donor(app, &net.ngo_staff, input).await);
    }
    ids
}

#[tokio::test]
async fn an_unanswered_emergency_ends_with_camp_donations_accepted_from_the_partner_bank() {
    // Arrange: an emergency request nobody can supply.
    let app = spawn_app_with(&FAST).await;
    let net = CampNet::new(&app).await;
    let mut input = request_input(&net.hospital.id, "O_POS", "RED_CELLS", 2);
    input["urgency"] = json!("EMERGENCY");
    let request = create_request(&app, &net.hospital_staff, input).await;

    // Act 1: the sweep escalates to the NGO, whose alert names the request.
    let alert = eventually(Duration::from_secs(10), "the NGO's alert", || async {
        alerts_of(&app, &net.ngo_staff, json!({}))
            .await
            .into_iter()
            .find(|a| a["kind"] == "EMERGENCY_REQUEST")
    })
    .await;
    assert_eq!(alert["relatedEntityId"], request.as_str());

    // Act 2: the NGO answers with a drive for that request; the hospital accepts it.
    let drive = camp_op(
        &app,
        &net.ngo_staff,
        "proposeDrive",
        json!({"hospitalId": net.hospital.id, "ngoId": net.ngo.id, "type": "EMERGENCY",
               "bloodGroups": ["O_POS"], "component": "RED_CELLS", "targetUnits": 2,
               "date": local_date(1), "bloodRequestId": request}),
        "drive { id status bloodRequestId }",
    )
    .await;
    let drive = drive.data()["proposeDrive"]["drive"].clone();
    assert_eq!(drive["status"], "PENDING");
    assert_eq!(drive["bloodRequestId"], request.as_str());
    let drive_id = drive["id"].as_str().expect("drive id").to_string();
    let accepted = camp_op(
        &app,
        &net.hospital_staff,
        "acceptDrive",
        json!({"driveId": drive_id}),
        "drive { status }",
    )
    .await;
    assert_eq!(
        accepted.data()["acceptDrive"]["drive"]["status"],
        "ACCEPTED"
    );

    // Act 3: a camp for the drive; two donors register (one themself, one by the NGO).
    let mut camp_input = net.camp_input(10);
    camp_input["driveId"] = json!(drive_id);
    let camp = net.camp(&app, camp_input).await;
    let camp_id = camp["id"].as_str().expect("camp id").to_string();
    let me = app.signed_in("self@donor.camp").await;
    let own = register_donor(&app, &me, donor_input(None, "Self Donor", "+919845099001")).await;
    let managed = ngo_donors(&app, &net, 1).await.remove(0);
    let r1 = register_for(&app, &me.access, &slot_id(&camp, 0), &own).await;
    let r2 = register_for(&app, &net.ngo_staff.access, &slot_id(&camp, 1), &managed).await;

    // Act 4: the camp runs; the bank records both donations.
    camp_op(
        &app,
        &net.ngo_staff,
        "startCamp",
        json!({"campId": camp_id}),
        "camp { status }",
    )
    .await
    .data();
    let mut numbers = Vec::new();
    for (i, reg) in [registration_id(&r1), registration_id(&r2)]
        .iter()
        .enumerate()
    {
        let number = din_checked(7000 + i as u32);
        let r = camp_op(&app, &net.bank_staff, "recordCampAttendance",
            json!({"registrationId": reg, "outcome": "ATTENDED", "donation": camp_donation(&number)}),
            "registration { status unitsCollected } donation { id } units { unitNumber status bloodGroup }").await;
        let p = &r.data()["recordCampAttendance"];
        assert_eq!(p["registration"]["status"], "ATTENDED");
        assert_eq!(p["units"][0]["status"], "QUARANTINED", "{p}");
        numbers.push(
            p["units"][0]["unitNumber"]
                .as_str()
                .expect("number")
                .to_string(),
        );
    }
    let completed = camp_op(
        &app,
        &net.ngo_staff,
        "completeCamp",
        json!({"campId": camp_id}),
        "camp { status actualDonors actualUnits drive { id } }",
    )
    .await;

    // Act 5: the bank releases the units from quarantine and accepts the request from them.
    let held = units_with_status(&app, &net.bank_staff, &net.bank.id, "QUARANTINED").await;
    let ids: Vec<Value> = held.iter().map(|u| u["id"].clone()).collect();
    clear_for_release(&app, &net.bank_staff, &ids).await;
    app.gql(
        Some(&net.bank_staff.access),
        "mutation($i: ReleaseBloodUnitsInput!) { releaseBloodUnits(input: $i) { units { id } } }",
        json!({"i": {"bloodBankId": net.bank.id, "unitIds": ids}}),
    )
    .await
    .data();
    let taken = accept(&app, &net.bank_staff, &request, &net.bank.id).await;

    // Assert
    let c = &completed.data()["completeCamp"]["camp"];
    assert_eq!(
        (
            c["status"].as_str(),
            c["actualDonors"].as_i64(),
            c["actualUnits"].as_i64()
        ),
        (Some("COMPLETED"), Some(2), Some(2))
    );
    assert_eq!(c["drive"]["id"], drive_id.as_str());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM donations WHERE camp_id IS NOT NULL")
            .await,
        2
    );
    let accepted = request_of(&taken, "acceptBloodRequest");
    assert_eq!(accepted["status"], "ACCEPTED");
    let mut reserved = unit_numbers(accepted);
    reserved.sort();
    numbers.sort();
    assert_eq!(
        reserved, numbers,
        "the request is supplied by the camp's units"
    );
}

#[tokio::test]
async fn sixty_donors_registering_at_once_for_ten_places_get_exactly_ten() {
    // Arrange: one slot of 10 places and 60 donors of the NGO.
    let app = spawn_app().await;
    let net = CampNet::new(&app).await;
    let camp = net.camp(&app, net.camp_input(10)).await;
    let slot = slot_id(&camp, 0);
    let donors = ngo_donors(&app, &net, 60).await;

    // Act: all 60 at once.
    let attempts = donors
        .iter()
        .map(|d| register_for(&app, &net.ngo_staff.access, &slot, d));
    let results = futures_util::future::join_all(attempts).await;

    // Assert: ten places taken, the other fifty told the slot is full.
    let won = results.iter().filter(|r| r.code().is_none()).count();
    let full = results
        .iter()
        .filter(|r| r.code() == Some("CONFLICT"))
        .count();
    assert_eq!(
        (won, full),
        (10, 50),
        "{:?}",
        results
            .iter()
            .find(|r| r.code().is_some_and(|c| c != "CONFLICT"))
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM camp_registrations").await,
        10
    );
    assert_eq!(
        app.count("SELECT CAST(MAX(booked) AS BIGINT) FROM camp_slots")
            .await,
        10
    );
}

#[tokio::test]
async fn the_database_refuses_an_overbooking_written_around_the_service() {
    // Arrange: a slot of 2 places.
    let app = spawn_app().await;
    let net = CampNet::new(&app).await;
    let camp = net.camp(&app, net.camp_input(2)).await;
    let slot = id_lit(&app, &slot_id(&camp, 0));

    // Act: SQL that skips the service's conditional update.
    let over = app
        .db
        .execute_unprepared(&format!(
            "UPDATE camp_slots SET booked = 3 WHERE id = {slot}"
        ))
        .await;
    let negative = app
        .db
        .execute_unprepared(&format!(
            "UPDATE camp_slots SET booked = -1 WHERE id = {slot}"
        ))
        .await;

    // Assert
    assert!(over.is_err(), "booked went past capacity");
    assert!(negative.is_err(), "booked went below zero");
    assert_eq!(
        app.count("SELECT CAST(MAX(booked) AS BIGINT) FROM camp_slots")
            .await,
        0
    );
}

#[tokio::test]
async fn a_donors_two_registrations_in_one_camp_sent_at_once_leave_one() {
    // Arrange: a donor with an account and a camp of two slots.
    let app = spawn_app().await;
    let net = CampNet::new(&app).await;
    let camp = net.camp(&app, net.camp_input(5)).await;
    let me = app.signed_in("twice@donor.camp").await;
    let donor = register_donor(&app, &me, donor_input(None, "Twice", "+919845012345")).await;

    let (first, second) = (slot_id(&camp, 0), slot_id(&camp, 1));

    // Act: one registration per slot, sent together.
    let (a, b) = tokio::join!(
        register_for(&app, &me.access, &first, &donor),
        register_for(&app, &me.access, &second, &donor),
    );

    // Assert: one holds, the other is refused naming the donor; one place taken in all.
    let mut codes = [a.code(), b.code()];
    codes.sort();
    assert_eq!(codes, [None, Some("BAD_USER_INPUT")]);
    let loser = if a.code().is_some() { &a } else { &b };
    assert_eq!(loser.field(), Some("input.donorId"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM camp_registrations").await,
        1
    );
    assert_eq!(app.count("SELECT SUM(booked) FROM camp_slots").await, 1);
}

#[tokio::test]
async fn bad_camp_input_is_refused_naming_the_field_and_writes_nothing() {
    // Arrange
    let app = spawn_app().await;
    let net = CampNet::new(&app).await;
    let base = net.camp_input(10);
    let with = |field: &str, value: Value| {
        let mut i = base.clone();
        i[field] = value;
        i
    };
    let cases = [
        (with("startsOn", json!(local_date(-1))), "input.startsOn"),
        (with("slotCapacity", json!(0)), "input.slotCapacity"),
        (with("endsOn", json!(local_date(0))), "input.endsOn"),
        (
            with("timeZone", json!("Mars/Olympus_Mons")),
            "input.timeZone",
        ),
        (with("dailyEnd", json!("08:00:00")), "input.dailyEnd"),
        (
            with("bloodBankId", json!(net.hospital.id)),
            "input.bloodBankId",
        ),
    ];

    // Act / Assert: each refused with its field, nothing written.
    for (input, field) in cases {
        let r = try_create_camp(&app, &net.ngo_staff, input).await;
        assert_eq!(
            (r.code(), r.field()),
            (Some("BAD_USER_INPUT"), Some(field)),
            "{}",
            r.body
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM camps").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM camp_slots").await, 0);
}

#[tokio::test]
async fn registering_twice_or_for_a_cancelled_camp_is_refused_naming_the_field() {
    // Arrange: a donor registered once; a second camp cancelled.
    let app = spawn_app().await;
    let net = CampNet::new(&app).await;
    let camp = net.camp(&app, net.camp_input(10)).await;
    let other = net.camp(&app, net.camp_input(10)).await;
    let donor = ngo_donors(&app, &net, 1).await.remove(0);
    register_for(&app, &net.ngo_staff.access, &slot_id(&camp, 0), &donor)
        .await
        .data();
    camp_op(
        &app,
        &net.ngo_staff,
        "cancelCamp",
        json!({"campId": other["id"], "reason": "rain"}),
        "camp { status }",
    )
    .await
    .data();

    // Act
    let twice = register_for(&app, &net.ngo_staff.access, &slot_id(&camp, 1), &donor).await;
    let cancelled = register_for(&app, &net.ngo_staff.access, &slot_id(&other, 0), &donor).await;
    let restart = camp_op(
        &app,
        &net.ngo_staff,
        "startCamp",
        json!({"campId": other["id"]}),
        "camp { status }",
    )
    .await;

    // Assert
    assert_eq!(
        (twice.code(), twice.field()),
        (Some("BAD_USER_INPUT"), Some("input.donorId"))
    );
    assert_eq!(
        (cancelled.code(), cancelled.field()),
        (Some("BAD_USER_INPUT"), Some("input.slotId"))
    );
    assert_eq!(restart.code(), Some("INVALID_TRANSITION"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM camp_registrations").await,
        1
    );
    assert_eq!(app.count("SELECT SUM(booked) FROM camp_slots").await, 1);
}

#[tokio::test]
async fn a_donor_not_eligible_on_the_slots_day_is_refused_with_the_rule() {
    // Arrange: a donor who gave whole blood yesterday.
    let app = spawn_app().await;
    let net = CampNet::new(&app).await;
    let camp = net.camp(&app, net.camp_input(10)).await;
    let donor = ngo_donors(&app, &net, 1).await.remove(0);
    let code = card_code(&app, &net.ngo_staff, &donor).await;
    app.gql(
        Some(&net.bank_staff.access),
        "mutation($i: RecordDonationInput!) { recordDonation(input: $i) { donation { id } } }",
        json!({"i": {"bloodBankId": net.bank.id, "donorCode": code, "donationType": "WHOLE_BLOOD",
                     "volumeMl": 450, "hemoglobin": 13.5}}),
    )
    .await
    .data();

    // Act
    let r = register_for(&app, &net.ngo_staff.access, &slot_id(&camp, 0), &donor).await;

    // Assert
    assert_eq!(
        (r.code(), r.field()),
        (Some("BAD_USER_INPUT"), Some("input.donorId"))
    );
    assert_eq!(
        r.body.pointer("/errors/0/extensions/reason"),
        Some(&json!("INTERVAL"))
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM camp_registrations").await,
        0
    );
}

#[tokio::test]
async fn cancelling_a_camp_tells_its_registered_donors_and_frees_nobody_twice() {
    // Arrange: a donor with an account registered for a camp.
    let app = spawn_app().await;
    let net = CampNet::new(&app).await;
    let camp = net.camp(&app, net.camp_input(10)).await;
    let me = app.signed_in("told@donor.camp").await;
    let donor = register_donor(&app, &me, donor_input(None, "Told", "+919845054321")).await;
    let reg = registration_id(&register_for(&app, &me.access, &slot_id(&camp, 0), &donor).await);

    // Act
    camp_op(
        &app,
        &net.ngo_staff,
        "cancelCamp",
        json!({"campId": camp["id"], "reason": "flooded venue"}),
        "camp { status }",
    )
    .await
    .data();
    let withdraw = camp_op(
        &app,
        &me,
        "cancelCampRegistration",
        json!({"registrationId": reg}),
        "registration { status }",
    )
    .await;

    // Assert: told, and the registration went with the camp.
    let r = app
        .gql(
            Some(&me.access),
            "{ notifications(first: 10) { nodes { kind body } } }",
            json!({}),
        )
        .await;
    let notes = r.data()["notifications"]["nodes"]
        .as_array()
        .expect("nodes")
        .clone();
    assert!(
        notes.iter().any(|n| n["kind"] == "CAMP_UPDATE"
            && n["body"]
                .as_str()
                .is_some_and(|b| b.contains("flooded venue"))),
        "{notes:?}"
    );
    assert_eq!(withdraw.code(), Some("INVALID_TRANSITION"));
}

#[tokio::test]
async fn camp_changed_streams_a_slots_places_as_donors_register() {
    // Arrange: a donor's registration page listening to the camp.
    let app = spawn_app().await;
    let net = CampNet::new(&app).await;
    let camp = net.camp(&app, net.camp_input(3)).await;
    let me = app.signed_in("live@donor.camp").await;
    let donor = register_donor(&app, &me, donor_input(None, "Live", "+919845011111")).await;
    let mut ws = connect_as(&app.base, &me.access).await;
    ws.subscribe(
        "1",
        "subscription($c: ID!) { campChanged(campId: $c) { slotId booked remaining } }",
        json!({"c": camp["id"]}),
    )
    .await;

    // Act
    register_for(&app, &me.access, &slot_id(&camp, 0), &donor)
        .await
        .data();

    // Assert
    let e = ws.next_data("1", ARRIVES).await["campChanged"].clone();
    assert_eq!(e["slotId"], camp["slots"][0]["id"]);
    assert_eq!(
        (e["booked"].as_i64(), e["remaining"].as_i64()),
        (Some(1), Some(2))
    );
}

#[tokio::test]
async fn a_page_of_camps_with_slots_and_organizer_costs_the_same_statements_for_2_or_12() {
    // Arrange
    let app = spawn_app().await;
    let net = CampNet::new(&app).await;
    let query = "{ camps(first: 50) { edges { node { id name slots { remaining } organization { name } } } } }";
    for _ in 0..2 {
        net.camp(&app, net.camp_input(5)).await;
    }
    let small = app
        .gql(Some(&net.bank_staff.access), query, json!({}))
        .await;
    for _ in 0..10 {
        net.camp(&app, net.camp_input(5)).await;
    }

    // Act
    let large = app
        .gql(Some(&net.bank_staff.access), query, json!({}))
        .await;

    // Assert: the page, its slots and its organizations, one statement each, whatever the
    // page's length (the caller's viewer is loaded outside the request's count).
    assert_eq!(
        large.data()["camps"]["edges"].as_array().map(Vec::len),
        Some(12)
    );
    assert_eq!(small.statements(), large.statements());
    assert_eq!(large.statements(), 3);
}

#[tokio::test]
async fn reading_a_camps_registrations_is_audited_once_per_registration() {
    // Arrange
    let app = spawn_app().await;
    let net = CampNet::new(&app).await;
    let camp = net.camp(&app, net.camp_input(5)).await;
    let donors = ngo_donors(&app, &net, 2).await;
    for d in &donors {
        register_for(&app, &net.ngo_staff.access, &slot_id(&camp, 0), d)
            .await
            .data();
    }

    // Act
    let r = app
        .gql(
            Some(&net.bank_staff.access),
            "query($id: ID!) { camp(id: $id) { registrations { status donor { fullName } } } }",
            json!({"id": camp["id"]}),
        )
        .await;

    // Assert
    assert_eq!(
        r.data()["camp"]["registrations"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(
        audit_rows(&app, "camp_registration.read", None).await.len(),
        2
    );
}

#[tokio::test]
async fn moving_a_camp_tells_its_registered_donors_where_it_went() {
    // Arrange: a donor with an account registered for a camp.
    let app = spawn_app().await;
    let net = CampNet::new(&app).await;
    let camp = net.camp(&app, net.camp_input(10)).await;
    let me = app.signed_in("moved@donor.camp").await;
    let donor = register_donor(&app, &me, donor_input(None, "Moved", "+919845022222")).await;
    register_for(&app, &me.access, &slot_id(&camp, 0), &donor)
        .await
        .data();

    // Act
    let moved = camp_op(
        &app,
        &net.ngo_staff,
        "updateCamp",
        json!({"campId": camp["id"], "venue": "Lalbagh west gate"}),
        "camp { venue }",
    )
    .await;

    // Assert
    assert_eq!(
        moved.data()["updateCamp"]["camp"]["venue"],
        "Lalbagh west gate"
    );
    let r = app
        .gql(
            Some(&me.access),
            "{ notifications(first: 10) { nodes { kind body } } }",
            json!({}),
        )
        .await;
    let notes = r.data()["notifications"]["nodes"]
        .as_array()
        .expect("nodes")
        .clone();
    assert!(
        notes.iter().any(|n| n["kind"] == "CAMP_UPDATE"
            && n["body"]
                .as_str()
                .is_some_and(|b| b.contains("Lalbagh west gate"))),
        "{notes:?}"
    );
}

#[tokio::test]
async fn an_emergency_drive_alerts_the_ngo_and_each_change_notifies_the_other_side() {
    // Arrange
    let app = spawn_app().await;
    let net = CampNet::new(&app).await;
    let kinds = |who: &Session| {
        let token = who.access.clone();
        let app = &app;
        async move {
            let r = app
                .gql(
                    Some(&token),
                    "{ notifications(first: 20) { nodes { kind } } }",
                    json!({}),
                )
                .await;
            r.data()["notifications"]["nodes"]
                .as_array()
                .expect("nodes")
                .iter()
                .filter_map(|n| n["kind"].as_str().map(str::to_string))
                .collect::<Vec<_>>()
        }
    };

    // Act: the hospital asks for an emergency drive; the NGO accepts it.
    let proposed = camp_op(
        &app,
        &net.hospital_staff,
        "proposeDrive",
        json!({"hospitalId": net.hospital.id, "ngoId": net.ngo.id, "type": "EMERGENCY",
               "bloodGroups": ["O_NEG"], "targetUnits": 6, "date": local_date(1)}),
        "drive { id }",
    )
    .await;
    let drive = proposed.data()["proposeDrive"]["drive"]["id"].clone();
    let ngo_heard = kinds(&net.ngo_staff).await;
    let hospital_before = kinds(&net.hospital_staff).await;
    camp_op(
        &app,
        &net.ngo_staff,
        "acceptDrive",
        json!({"driveId": drive}),
        "drive { status }",
    )
    .await
    .data();

    // Assert: the NGO got the alert and a notice; the hospital heard only of the answer.
    let alerts = alerts_of(&app, &net.ngo_staff, json!({})).await;
    assert!(
        alerts
            .iter()
            .any(|a| a["kind"] == "EMERGENCY_DRIVE" && a["relatedEntityId"] == drive),
        "{alerts:?}"
    );
    assert!(
        ngo_heard.contains(&"DRIVE_UPDATE".to_string()),
        "{ngo_heard:?}"
    );
    assert!(
        !hospital_before.contains(&"DRIVE_UPDATE".to_string()),
        "{hospital_before:?}"
    );
    assert!(
        kinds(&net.hospital_staff)
            .await
            .contains(&"DRIVE_UPDATE".to_string())
    );
}

//! Donor call-outs: who a call-out reaches (opted in, eligible now, compatible, within the
//! radius), at most once per `CALLOUT_MIN_HOURS` even when call-outs race, the answers the
//! organization sees (identities only for `COMING`), the call-out of an emergency's NGO step
//! and the reminder when a donor may give again.

use lifeflow_tests::{
    fixtures::{blood::*, callouts::*, camps::CampNet, *},
    *,
};
use serde_json::json;
use std::time::Duration;

fn day(offset: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(offset)).to_string()
}

#[tokio::test]
async fn a_callout_reaches_exactly_the_opted_in_eligible_compatible_donors_in_the_radius() {
    // Arrange: A+ red cells within 10 km; donors just inside and just outside each condition.
    let app = spawn_app().await;
    let net = CampNet::new(&app).await;
    let near_o_neg = donor_north(&app, "in1@d.example", "+919800000001", "O_NEG", 3.0, true).await;
    let edge_a_pos = donor_north(&app, "in2@d.example", "+919800000002", "A_POS", 9.0, true).await;
    let deferral_over =
        donor_north(&app, "in3@d.example", "+919800000003", "A_NEG", 2.0, true).await;
    set_eligibility(&app, &deferral_over.id, "DEFERRED", Some(&day(-1))).await;
    let not_opted = donor_north(&app, "out1@d.example", "+919800000004", "O_POS", 2.0, false).await;
    let deferred = donor_north(&app, "out2@d.example", "+919800000005", "O_POS", 2.0, true).await;
    set_eligibility(&app, &deferred.id, "DEFERRED", Some(&day(30))).await;
    let recent = donor_north(&app, "out3@d.example", "+919800000006", "A_POS", 2.0, true).await;
    exec(
        &app,
        &format!(
            "UPDATE donors SET last_donation_date = '{}', eligibility_status = 'DEFERRED', \
             next_eligible_date = '{}' WHERE id = {}",
            day(0),
            day(90),
            id_lit(&app, &recent.id)
        ),
    )
    .await;
    let undated = donor_north(&app, "out4@d.example", "+919800000007", "O_POS", 2.0, true).await;
    set_eligibility(&app, &undated.id, "DEFERRED", None).await;
    let incompatible =
        donor_north(&app, "out5@d.example", "+919800000008", "B_POS", 2.0, true).await;
    let too_far = donor_north(&app, "out6@d.example", "+919800000009", "O_POS", 11.0, true).await;

    // Act
    let c = start(&app, &net.bank_staff, callout_input(&net.bank.id, 10.0)).await;

    // Assert
    assert_eq!(c["counts"]["notified"], 3, "{c}");
    for d in [&near_o_neg, &edge_a_pos, &deferral_over] {
        assert_eq!(
            times_called(&app, &d.id).await,
            1,
            "{} was not called",
            d.me.email
        );
        assert!(
            notification_kinds(&app, &d.me)
                .await
                .contains(&"DONOR_CALLOUT".to_string())
        );
    }
    for d in [
        &not_opted,
        &deferred,
        &recent,
        &undated,
        &incompatible,
        &too_far,
    ] {
        assert_eq!(
            times_called(&app, &d.id).await,
            0,
            "{} was called",
            d.me.email
        );
        assert!(
            !notification_kinds(&app, &d.me)
                .await
                .contains(&"DONOR_CALLOUT".to_string())
        );
    }
    let groups = c["donorGroups"].as_array().expect("present");
    assert_eq!(
        groups.len(),
        4,
        "A+ red cells come from O-, O+, A-, A+: {groups:?}"
    );
}

#[tokio::test]
async fn no_donor_is_called_twice_within_the_limit() {
    // Arrange: a donor a bank's call-out reached.
    let app = spawn_app().await;
    let net = CampNet::new(&app).await;
    let d = donor_north(&app, "d@d.example", "+919800000010", "O_POS", 1.0, true).await;
    let first = start(&app, &net.bank_staff, callout_input(&net.bank.id, 10.0)).await;
    assert_eq!(first["counts"]["notified"], 1);

    // Act: the NGO calls too, within the limit; then a day later (moved back by hand).
    let second = start(&app, &net.ngo_staff, callout_input(&net.ngo.id, 10.0)).await;
    exec(
        &app,
        &format!(
            "UPDATE donors SET last_called_at = '{}' WHERE id = {}",
            (chrono::Utc::now() - chrono::Duration::hours(25)).format("%Y-%m-%d %H:%M:%S%:z"),
            id_lit(&app, &d.id)
        ),
    )
    .await;
    let third = start(&app, &net.ngo_staff, callout_input(&net.ngo.id, 10.0)).await;

    // Assert
    assert_eq!(second["counts"]["notified"], 0);
    assert_eq!(third["counts"]["notified"], 1);
    assert_eq!(times_called(&app, &d.id).await, 2);
}

#[tokio::test]
async fn concurrent_callouts_never_call_a_donor_twice() {
    // Arrange: twelve opted-in donors and eight call-outs fired at once.
    let app = spawn_app().await;
    let net = CampNet::new(&app).await;
    let mut donors = Vec::new();
    for i in 0..12 {
        donors.push(
            donor_north(
                &app,
                &format!("c{i}@d.example"),
                &format!("+9198000001{i:02}"),
                "O_NEG",
                1.0 + f64::from(i) * 0.3,
                true,
            )
            .await,
        );
    }

    // Act
    let runs = (0..8).map(|i| {
        let (who, org) = if i % 2 == 0 {
            (&net.bank_staff, &net.bank.id)
        } else {
            (&net.ngo_staff, &net.ngo.id)
        };
        try_start(&app, who, callout_input(org, 20.0))
    });
    let results = futures_util::future::join_all(runs).await;

    // Assert: every call-out answered, and each donor called exactly once among them.
    let notified: i64 = results
        .iter()
        .map(|r| {
            r.data()["startCallout"]["callout"]["counts"]["notified"]
                .as_i64()
                .expect("present")
        })
        .sum();
    assert_eq!(notified, 12);
    for d in &donors {
        assert_eq!(times_called(&app, &d.id).await, 1, "{}", d.me.email);
    }
}

#[tokio::test]
async fn the_organization_sees_counts_and_only_the_donors_coming() {
    // Arrange: three donors reached; one comes, one cannot, one does not answer.
    let app = spawn_app().await;
    let net = CampNet::new(&app).await;
    let coming = donor_north(&app, "y@d.example", "+919800000020", "O_POS", 1.0, true).await;
    let cannot = donor_north(&app, "n@d.example", "+919800000021", "O_POS", 1.5, true).await;
    let silent = donor_north(&app, "s@d.example", "+919800000022", "O_POS", 2.0, true).await;
    let stranger = app.signed_in("stranger@d.example").await;
    let c = start(&app, &net.bank_staff, callout_input(&net.bank.id, 10.0)).await;
    let id = c["id"].as_str().expect("present");

    // Act
    respond(&app, &coming.me, id, "COMING", Some(25))
        .await
        .data();
    respond(&app, &cannot.me, id, "CANNOT", None).await.data();
    let strange = respond(&app, &stranger, id, "COMING", None).await;
    let seen = read(&app, &net.bank_staff, id).await;

    // Assert
    assert_eq!(strange.code(), Some("NOT_FOUND"));
    let seen = &seen.data()["callout"];
    assert_eq!(
        seen["counts"],
        json!({"notified": 3, "coming": 1, "cannot": 1, "unanswered": 1})
    );
    let named = seen["coming"].as_array().expect("present");
    assert_eq!(named.len(), 1);
    assert_eq!(named[0]["donorId"], coming.id.as_str());
    assert_eq!(named[0]["etaMinutes"], 25);
    assert_eq!(named[0]["fullName"], "Donor y@d.example");
    let body = seen.to_string();
    assert!(!body.contains(&cannot.id) && !body.contains(&silent.id));
    assert_eq!(
        read(&app, &net.hospital_staff, id).await.code(),
        Some("NOT_FOUND")
    );
    assert_eq!(read(&app, &coming.me, id).await.code(), Some("NOT_FOUND"));
    assert_eq!(
        audit_rows(&app, "callout.read_responder", Some(&coming.id))
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn a_donor_answering_coming_earns_the_call_out_points_once() {
    // Arrange
    let app = spawn_app().await;
    let net = CampNet::new(&app).await;
    let d = donor_north(&app, "p@d.example", "+919800000025", "O_POS", 1.0, true).await;
    let c = start(&app, &net.bank_staff, callout_input(&net.bank.id, 10.0)).await;
    let id = c["id"].as_str().expect("present");

    // Act: coming, then cannot, then coming again.
    for answer in ["COMING", "CANNOT", "COMING"] {
        respond(&app, &d.me, id, answer, Some(30)).await.data();
    }
    let rewards = app
        .gql(
            Some(&d.me.access),
            "{ myRewards { points badges } }",
            json!({}),
        )
        .await;

    // Assert
    let rewards = &rewards.data()["myRewards"];
    assert_eq!(rewards["points"], 150);
    assert_eq!(rewards["badges"], json!(["EMERGENCY_RESPONDER"]));
}

#[tokio::test]
async fn an_emergency_at_its_ngo_step_calls_the_donors_near_the_patient() {
    // Arrange: escalation in seconds, an opted-in compatible donor near the hospital.
    let app = spawn_app_with(&[
        ("SWEEP_INTERVAL_MS", "100"),
        ("ESCALATION_WIDEN_AFTER_SECS", "1"),
        ("ESCALATION_NGO_AFTER_SECS", "1"),
        ("ESCALATION_DELAYED_AFTER_SECS", "3600"),
    ])
    .await;
    let net = Region::new(&app).await;
    let d = donor_north(&app, "e@d.example", "+919800000030", "O_NEG", 2.0, true).await;

    // Act
    let request = net.request(&app, NewRequest::default()).await;

    // Assert
    eventually(
        Duration::from_secs(20),
        "the NGO step's call-out",
        || async { (times_called(&app, &d.id).await == 1).then_some(()) },
    )
    .await;
    let calls = app
        .count(&format!(
            "SELECT COUNT(*) FROM callouts WHERE blood_request_id = {}",
            id_lit(&app, &request)
        ))
        .await;
    assert_eq!(calls, 1);
}

#[tokio::test]
async fn a_donor_whose_waiting_time_ends_is_reminded_once() {
    // Arrange: one donor whose date is today, one still waiting; the server's own sweep
    // does not run during the test.
    let app = spawn_app_with(&[("SWEEP_INTERVAL_MS", "3600000")]).await;
    let due = donor_north(&app, "r1@d.example", "+919800000040", "O_POS", 1.0, false).await;
    set_eligibility(&app, &due.id, "DEFERRED", Some(&day(0))).await;
    let waiting = donor_north(&app, "r2@d.example", "+919800000041", "O_POS", 1.0, false).await;
    set_eligibility(&app, &waiting.id, "DEFERRED", Some(&day(5))).await;

    // Act: the sweep's step, twice.
    let first = lifeflow::callouts::service::remind_eligible(&app.db, 200)
        .await
        .expect("present");
    let second = lifeflow::callouts::service::remind_eligible(&app.db, 200)
        .await
        .expect("present");

    // Assert
    assert_eq!((first.len(), second.len()), (1, 0));
    let kinds = notification_kinds(&app, &due.me).await;
    assert_eq!(
        kinds
            .iter()
            .filter(|k| *k == "ELIGIBILITY_REMINDER")
            .count(),
        1
    );
    assert!(notification_kinds(&app, &waiting.me).await.is_empty());
}

#[tokio::test]
async fn only_the_donor_opts_in_and_the_radius_has_a_ceiling() {
    // Arrange
    let app = spawn_app().await;
    let net = CampNet::new(&app).await;
    let d = donor_north(&app, "o@d.example", "+919800000050", "O_POS", 1.0, false).await;

    // Act
    let by_staff = opt(&app, &net.ngo_staff, &d.id, true).await;
    let by_self = opt(&app, &d.me, &d.id, true).await;
    let wide = try_start(&app, &net.bank_staff, callout_input(&net.bank.id, 1000.0)).await;
    let by_hospital = try_start(
        &app,
        &net.hospital_staff,
        callout_input(&net.hospital.id, 5.0),
    )
    .await;

    // Assert
    assert_eq!(by_staff.code(), Some("NOT_FOUND"));
    assert_eq!(
        by_self.data()["setCalloutOptIn"]["donor"]["acceptsCallouts"],
        true
    );
    assert_eq!(
        (wide.code(), wide.field()),
        (Some("BAD_USER_INPUT"), Some("input.radiusKm"))
    );
    assert_eq!(by_hospital.code(), Some("FORBIDDEN"));
}

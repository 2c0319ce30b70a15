//! The kept stock counts (`blood_stock_counts`, one row per bank, component and group) stay
//! equal to the units themselves whatever changes them at once, and the compatible-stock
//! search that reads them still counts only available, unexpired units and reports the exact
//! soonest expiry.

use chrono::SubsecRound;
use futures_util::{
    FutureExt,
    future::{LocalBoxFuture, join_all},
};
use lifeflow_tests::{
    fixtures::{blood::*, *},
    *,
};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use std::time::Duration;

const FIND: &str = "query($i: FindCompatibleStockInput!) {
  findCompatibleStock(input: $i) {
    totalUnits soonestExpiry unitsByGroup { bloodGroup units } bloodBank { id } } }";

/// Rows where the kept counts and soonest expiries and a fresh count and `MIN(expires_at)` of
/// the available units differ, both read by one statement (one snapshot), in either
/// direction, plus kept rows with no unit left that still name a soonest expiry.
const MISMATCHES: &str = "SELECT
  (SELECT COUNT(*) FROM (
     SELECT blood_bank_id, component, blood_group, available AS n, soonest_expiry AS s
     FROM blood_stock_counts WHERE available <> 0
     EXCEPT
     SELECT blood_bank_id, component, blood_group, COUNT(*) AS n, MIN(expires_at) AS s
     FROM blood_units
     WHERE status = 'AVAILABLE' GROUP BY blood_bank_id, component, blood_group) kept_only)
+ (SELECT COUNT(*) FROM (
     SELECT blood_bank_id, component, blood_group, COUNT(*) AS n, MIN(expires_at) AS s
     FROM blood_units
     WHERE status = 'AVAILABLE' GROUP BY blood_bank_id, component, blood_group
     EXCEPT
     SELECT blood_bank_id, component, blood_group, available AS n, soonest_expiry AS s
     FROM blood_stock_counts WHERE available <> 0) fresh_only)
+ (SELECT COUNT(*) FROM blood_stock_counts WHERE available = 0 AND soonest_expiry IS NOT NULL)";

/// A unit that expires `secs` seconds from now.
fn unit_expiring_in_secs(number: &str, group: &str, component: &str, secs: i64) -> Value {
    let mut u = unit(number, group, component);
    u["expiresAt"] = json!((chrono::Utc::now() + chrono::Duration::seconds(secs)).to_rfc3339());
    u
}

/// `n` available red cells `{prefix}-{i}` expiring on `n` different days, so each
/// reservation (soonest expiry first), discard or expiry takes the key's soonest expiry away.
fn spread_units(prefix: &str, group: &str, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            unit_expiring(
                &format!("{prefix}-{i:03}"),
                group,
                "RED_CELLS",
                2 + i as i64,
            )
        })
        .collect()
}

fn ids(units: &[Value]) -> Vec<String> {
    units
        .iter()
        .map(|u| u["id"].as_str().expect("unit id").to_string())
        .collect()
}

/// `releaseBloodUnits` or `discardBloodUnit` as `who`.
async fn stock_mutation(app: &TestApp, who: &Session, mutation: &str, input: Value) -> Gql {
    let input_type = match mutation {
        "releaseBloodUnits" => "ReleaseBloodUnitsInput",
        "discardBloodUnit" => "DiscardBloodUnitInput",
        other => panic!("unknown mutation {other}"),
    };
    app.gql(
        Some(&who.access),
        &format!("mutation($i: {input_type}!) {{ {mutation}(input: $i) {{ units {{ id }} }} }}"),
        json!({"i": input}),
    )
    .await
}

async fn search(app: &TestApp, who: &Session, group: &str) -> Vec<Value> {
    let r = app
        .gql(
            Some(&who.access),
            FIND,
            json!({"i": {"bloodGroup": group, "component": "RED_CELLS", "units": 1,
                         "near": {"latitude": HERE.0, "longitude": HERE.1}, "radiusKm": 10}}),
        )
        .await;
    r.data()["findCompatibleStock"]
        .as_array()
        .expect("banks")
        .clone()
}

fn ts(v: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(v.as_str().expect("timestamp"))
        .expect("rfc3339")
        .to_utc()
}

#[tokio::test]
async fn after_concurrent_accepts_releases_discards_fulfilments_additions_separations_transfers_and_expiries_the_kept_counts_equal_a_fresh_count()
 {
    // Arrange: holds last 4 s and the sweep runs every 50 ms, so holds lapse and units expire
    // (the sweep's paths) while the requests run. Two banks; the burst also separates whole
    // blood, sends units between the banks and receives a transfer, so every path that
    // changes a unit is here.
    let app = spawn_app_with(&[("RESERVATION_HOLD_SECS", "4"), ("SWEEP_INTERVAL_MS", "50")]).await;
    let net = Network::new(&app, 2.0).await;
    let two = net.second_bank(&app).await;
    let mut first = spread_units("OPOS", "O_POS", 24);
    first.extend(spread_units("ONEG", "O_NEG", 8));
    first.extend(
        (0..6).map(|i| unit_expiring_in_secs(&format!("SOON-{i}"), "B_POS", "RED_CELLS", 3)),
    );
    first.extend((0..3).map(|i| expired_unit(&format!("GONE-{i}"), "O_NEG", "RED_CELLS")));
    let first = net.stock(&app, first).await;
    let mut quarantined = units("APOS", "A_POS", "RED_CELLS", 10);
    for u in &mut quarantined {
        into_quarantine(u);
    }
    let quarantined = ids(&net.stock(&app, quarantined).await);
    let tested: Vec<Value> = quarantined.iter().map(|i| json!(i)).collect();
    clear_for_release(&app, &net.bank_staff, &tested).await;
    let whole = ids(&net
        .stock(&app, units("WB", "A_POS", "WHOLE_BLOOD", 4))
        .await);
    let at_two = ids(&add_units(&app, &two.admin, &two.id, spread_units("TWO", "O_POS", 10)).await);
    // Units on their way from the second bank, to be received during the burst.
    let sent = transfer(&app, &two.admin, &two.id, &net.bank.id, &at_two[..2]).await;
    let o_neg: Vec<String> = ids(&first[24..32]);
    let expired: Vec<String> = ids(&first[38..41]);
    let mut to_accept = Vec::new();
    for _ in 0..14 {
        to_accept.push(net.nurse_request(&app, "O_POS", "RED_CELLS", 2).await);
    }
    // Requests accepted just before the burst, to be fulfilled or cancelled during it.
    let mut to_fulfil = Vec::new();
    let mut to_cancel = Vec::new();
    for i in 0..8 {
        let id = net.nurse_request(&app, "O_POS", "RED_CELLS", 2).await;
        let r = accept(&app, &net.bank_staff, &id, &net.bank.id).await;
        assert_eq!(request_of(&r, "acceptBloodRequest")["status"], "ACCEPTED");
        if i % 2 == 0 {
            &mut to_fulfil
        } else {
            &mut to_cancel
        }
        .push(id);
    }

    // Act: 39 requests at once.
    let mut calls: Vec<LocalBoxFuture<'_, (String, Gql)>> = Vec::new();
    for (i, id) in to_accept.iter().enumerate() {
        let (who, bank) = if i % 3 == 2 {
            (&two.admin, &two.id)
        } else {
            (&net.bank_staff, &net.bank.id)
        };
        calls.push(
            accept(&app, who, id, bank)
                .map(|r| ("accept".to_string(), r))
                .boxed_local(),
        );
    }
    for id in &to_fulfil {
        let input = json!({"requestId": id, "bloodBankId": net.bank.id});
        calls.push(
            act(&app, &net.bank_staff, "fulfillBloodRequest", input)
                .map(|r| ("fulfil".to_string(), r))
                .boxed_local(),
        );
    }
    for id in &to_cancel {
        let input = json!({"requestId": id, "hospitalId": net.hospital.id, "reason": "stable"});
        calls.push(
            act(&app, &net.nurse, "cancelBloodRequest", input)
                .map(|r| ("cancel".to_string(), r))
                .boxed_local(),
        );
    }
    for pair in quarantined.chunks(2) {
        let input = json!({"bloodBankId": net.bank.id, "unitIds": pair});
        calls.push(
            stock_mutation(&app, &net.bank_staff, "releaseBloodUnits", input)
                .map(|r| ("release".to_string(), r))
                .boxed_local(),
        );
    }
    for id in o_neg.iter().take(6).chain(expired.iter().take(1)) {
        let input = json!({"bloodBankId": net.bank.id, "unitId": id, "reason": "bag leak"});
        calls.push(
            stock_mutation(&app, &net.bank_staff, "discardBloodUnit", input)
                .map(|r| ("discard".to_string(), r))
                .boxed_local(),
        );
    }
    for i in 0..4 {
        let (who, bank) = if i % 2 == 0 {
            (&net.bank.admin, &net.bank.id)
        } else {
            (&two.admin, &two.id)
        };
        let mut batch = units(&format!("NEW{i}"), "O_POS", "RED_CELLS", 3);
        into_quarantine(&mut batch[2]);
        calls.push(
            try_add_units(&app, who, bank, batch)
                .map(|r| ("add".to_string(), r))
                .boxed_local(),
        );
    }
    for id in &whole {
        calls.push(
            try_separate(&app, &net.bank_staff, id, &["RED_CELLS", "PLASMA"])
                .map(|r| ("separate".to_string(), r))
                .boxed_local(),
        );
    }
    for pair in at_two[2..6].chunks(2) {
        calls.push(
            try_transfer(&app, &two.admin, &two.id, &net.bank.id, pair)
                .map(|r| ("transfer".to_string(), r))
                .boxed_local(),
        );
    }
    calls.push(
        try_receive(&app, &net.bank_staff, &sent)
            .map(|r| ("receive".to_string(), r))
            .boxed_local(),
    );
    assert!(calls.len() >= 30);
    let results = join_all(calls).await;

    // Assert: nothing failed but for the answers concurrent changes may give, and right after
    // the burst, with the sweep still at work, the counts equal a fresh count.
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
    let succeeded = |what: &str| {
        results
            .iter()
            .filter(|(w, r)| w == what && r.code().is_none())
            .count()
    };
    assert!(succeeded("accept") > 0);
    // A hold can lapse before its fulfilment on a slow machine: then fewer are issued.
    let fulfilled = succeeded("fulfil");
    assert!(fulfilled > 0);
    assert!(succeeded("cancel") > 0);
    assert_eq!(succeeded("release"), 5);
    assert_eq!(succeeded("add"), 4);
    assert!(succeeded("discard") > 0);
    assert_eq!(succeeded("separate"), 4);
    assert_eq!(succeeded("receive"), 1);
    assert_eq!(
        app.count(MISMATCHES).await,
        0,
        "counts differ after the burst"
    );
    // Then once the sweep has expired every unit past its expiry and returned every lapsed hold.
    eventually(Duration::from_secs(20), "the sweep to catch up", || async {
        let waiting = app
            .count(
                "SELECT COUNT(*) FROM blood_units WHERE status = 'RESERVED' OR (status = 'AVAILABLE' \
                 AND (unit_number LIKE 'SOON-%' OR unit_number LIKE 'GONE-%'))",
            )
            .await;
        (waiting == 0).then_some(())
    })
    .await;
    assert_eq!(
        app.count(MISMATCHES).await,
        0,
        "counts differ after the sweep"
    );
    let available = app
        .count("SELECT COUNT(*) FROM blood_units WHERE status = 'AVAILABLE'")
        .await;
    assert_eq!(
        app.count("SELECT CAST(COALESCE(SUM(available), 0) AS BIGINT) FROM blood_stock_counts")
            .await,
        available
    );
    assert!(available > 0);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM blood_units WHERE status = 'ISSUED'")
            .await,
        2 * fulfilled as i64
    );
    assert!(
        app.count(
            "SELECT COUNT(*) FROM blood_unit_events WHERE to_status = 'EXPIRED' AND actor_user_id IS NULL"
        )
        .await
            >= 8,
        "the sweep expired the units past their expiry"
    );
    // And the search reads the same numbers: every available O unit at the two banks.
    let banks = search(&app, &net.nurse, "O_POS").await;
    let total: i64 = banks
        .iter()
        .map(|b| b["totalUnits"].as_i64().expect("total"))
        .sum();
    assert_eq!(
        total,
        app.count(
            "SELECT COUNT(*) FROM blood_units WHERE status = 'AVAILABLE' \
             AND component = 'RED_CELLS' AND blood_group IN ('O_POS', 'O_NEG')"
        )
        .await
    );
}

#[tokio::test]
async fn find_compatible_stock_counts_no_available_but_expired_unit_and_reports_the_exact_soonest_expiry()
 {
    // Arrange: the sweep never runs, so expired units stay AVAILABLE. The bank holds
    // compatible red cells expiring in 5, 7 and 9 days and in 2 seconds, two that expired
    // yesterday, one quarantined and one reserved that expire sooner than all of them, and
    // platelets; a second bank holds only expired compatible units.
    let app = spawn_app_with(&[("SWEEP_INTERVAL_MS", "3600000")]).await;
    let net = Network::new(&app, 2.0).await;
    let two = net.second_bank(&app).await;
    // Whole seconds, so it reads back the same from either database.
    let mut five_days = unit("ON-5D", "O_NEG", "RED_CELLS");
    five_days["expiresAt"] = json!(
        (chrono::Utc::now() + chrono::Duration::days(5))
            .trunc_subsecs(0)
            .to_rfc3339()
    );
    let mut quarantined = unit_expiring("QN-1D", "O_NEG", "RED_CELLS", 1);
    into_quarantine(&mut quarantined);
    let added = net
        .stock(
            &app,
            vec![
                five_days,
                unit_expiring("ON-7D", "O_NEG", "RED_CELLS", 7),
                unit_expiring("AP-9D", "A_POS", "RED_CELLS", 9),
                unit_expiring_in_secs("A-NOW", "A_POS", "RED_CELLS", 2),
                expired_unit("O-OLD-1", "O_NEG", "RED_CELLS"),
                expired_unit("A-OLD-1", "A_POS", "RED_CELLS"),
                quarantined,
                unit_expiring("AN-2", "A_NEG", "RED_CELLS", 2),
                unit_expiring("PL-1D", "A_POS", "PLATELETS", 1),
            ],
        )
        .await;
    let in_five_days = ts(&added[0]["expiresAt"]);
    let id = net.nurse_request(&app, "A_NEG", "RED_CELLS", 1).await;
    let r = accept(&app, &net.bank_staff, &id, &net.bank.id).await;
    assert_eq!(request_of(&r, "acceptBloodRequest")["status"], "ACCEPTED");
    add_units(
        &app,
        &two.admin,
        &two.id,
        vec![
            expired_unit("T-OLD-1", "O_POS", "RED_CELLS"),
            expired_unit("T-OLD-2", "A_POS", "RED_CELLS"),
        ],
    )
    .await;

    // Act: once the 2-second unit has expired too (still AVAILABLE: nothing swept it).
    eventually(
        Duration::from_secs(10),
        "the 2-second unit to expire",
        || async { (chrono::Utc::now() > ts(&added[3]["expiresAt"])).then_some(()) },
    )
    .await;
    let banks = search(&app, &net.nurse, "A_POS").await;

    // Assert: only the bank with unexpired units, three of them, and the 5-day expiry.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM blood_units WHERE status = 'AVAILABLE'")
            .await,
        9,
        "the expired units are still marked AVAILABLE"
    );
    assert_eq!(banks.len(), 1, "{banks:#?}");
    let bank = &banks[0];
    assert_eq!(bank["bloodBank"]["id"], net.bank.id.as_str());
    assert_eq!(bank["totalUnits"], 3);
    assert_eq!(
        bank["unitsByGroup"],
        json!([{"bloodGroup": "A_POS", "units": 1}, {"bloodGroup": "O_NEG", "units": 2}])
    );
    assert_eq!(ts(&bank["soonestExpiry"]), in_five_days);
}

#[tokio::test]
async fn units_changed_by_hand_in_sql_keep_the_kept_counts_and_soonest_expiries_equal_to_the_units()
{
    // Arrange: two banks with red cells expiring on different days; the sweep never runs.
    let app = spawn_app_with(&[("SWEEP_INTERVAL_MS", "3600000")]).await;
    let net = Network::new(&app, 2.0).await;
    let two = net.second_bank(&app).await;
    net.stock(&app, spread_units("HAND", "O_POS", 6)).await;
    add_units(&app, &two.admin, &two.id, spread_units("HTWO", "O_POS", 3)).await;
    assert_eq!(app.count(MISMATCHES).await, 0, "after adding");
    let later = if app.test_db.is_postgres() {
        "expires_at + INTERVAL '30 days'"
    } else {
        "strftime('%Y-%m-%dT%H:%M:%S+00:00', expires_at, '+30 days')"
    };
    let fixes = [
        // The soonest unit's expiry moved past every other one.
        format!("UPDATE blood_units SET expires_at = {later} WHERE unit_number = 'HAND-000'"),
        // The new soonest unit moved to the other bank.
        "UPDATE blood_units SET blood_bank_id = (SELECT blood_bank_id FROM blood_units \
         WHERE unit_number = 'HTWO-000') WHERE unit_number = 'HAND-001'"
            .to_string(),
        // The next one deleted, and the other bank's soonest quarantined.
        "DELETE FROM blood_unit_events WHERE unit_id IN \
         (SELECT id FROM blood_units WHERE unit_number = 'HAND-002')"
            .to_string(),
        "DELETE FROM blood_unit_tests WHERE unit_id IN \
         (SELECT id FROM blood_units WHERE unit_number = 'HAND-002')"
            .to_string(),
        "DELETE FROM blood_units WHERE unit_number = 'HAND-002'".to_string(),
        "UPDATE blood_units SET status = 'QUARANTINED' WHERE unit_number = 'HTWO-000'".to_string(),
        // A flag that changes neither the key nor the expiry.
        "UPDATE blood_units SET volume_ml = 310 WHERE unit_number LIKE 'HAND-%'".to_string(),
        // Every unit of a key leaves it.
        "UPDATE blood_units SET status = 'DISCARDED' WHERE unit_number LIKE 'HTWO-%' \
         OR unit_number = 'HAND-001'"
            .to_string(),
    ];

    for (i, sql) in fixes.iter().enumerate() {
        // Act
        app.db
            .execute_unprepared(sql)
            .await
            .unwrap_or_else(|e| panic!("fix {i}: {e}"));

        // Assert
        assert_eq!(app.count(MISMATCHES).await, 0, "after fix {i}: {sql}");
    }
    let banks = search(&app, &net.nurse, "O_POS").await;
    assert_eq!(banks.len(), 1, "{banks:#?}");
    assert_eq!(banks[0]["totalUnits"], 4);
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM blood_stock_counts WHERE available = 0 AND soonest_expiry IS NULL"
        )
        .await,
        1,
        "the second bank's emptied key"
    );
}

//! The daily rollups `networkStats` reads for the whole network (DESIGN §7.6): after
//! concurrent activity that changes days already rolled up, the job's next run brings them
//! back to what a fresh aggregate of the base tables gives, a rerun changes nothing, and
//! periods cut at midnight UTC, at a month's end and inside a day give the same figures from
//! the rollups as from the base tables; a period from mid-month to mid-month across a year
//! end reads its whole months from the monthly rollups and equals the base tables too.

use chrono::{DateTime, Duration, TimeZone, Utc};
use entity::blood_request;
use futures_util::future::join_all;
use lifeflow::analytics::{rollups, service};
use lifeflow_tests::{
    fixtures::{blood::*, donors::*, *},
    *,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};
use uuid::Uuid;

const RECORD: &str =
    "mutation($i: RecordDonationInput!) { recordDonation(input: $i) { donation { id } } }";

fn network(from: DateTime<Utc>, to: DateTime<Utc>) -> service::Scope {
    service::Scope {
        from,
        to,
        organization: None,
        city: None,
    }
}

/// The figures as `networkStats` reads them (rollups for the rolled days) and as a fresh
/// aggregate of the base tables.
async fn both(
    app: &TestApp,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> (service::Stats, service::Stats) {
    let s = network(from, to);
    let rolled = service::stats(&app.db, &s).await.expect("stats");
    let fresh = service::stats_with(&app.db, &s, None).await.expect("fresh");
    (rolled, fresh)
}

/// Sets a request's creation, acceptance and escalation as if it had lived them.
async fn backdate(
    app: &TestApp,
    id: &str,
    created: DateTime<Utc>,
    accepted: Option<DateTime<Utc>>,
    escalation: i32,
) {
    blood_request::Entity::update_many()
        .col_expr(blood_request::Column::CreatedAt, Expr::value(created))
        .col_expr(blood_request::Column::AcceptedAt, Expr::value(accepted))
        .col_expr(
            blood_request::Column::EscalationLevel,
            Expr::value(escalation),
        )
        .filter(blood_request::Column::Id.eq(Uuid::parse_str(id).expect("id")))
        .exec(&app.db)
        .await
        .expect("backdated");
}

fn request(urgency: &str, hospital: &str) -> Value {
    let mut i = request_input(hospital, "O_POS", "RED_CELLS", 1);
    i["urgency"] = json!(urgency);
    i
}

/// A donor who registered themself gives at `bank` on `at`.
async fn give(app: &TestApp, bank: &Org, email: &str, phone: &str, at: DateTime<Utc>, unit: &str) {
    let me = app.signed_in(email).await;
    register_donor(app, &me, donor_input(None, "Some Donor", phone)).await;
    let code = my_card_code(app, &me).await;
    app.gql(Some(&bank.admin.access), RECORD, json!({"i": {"bloodBankId": bank.id, "donorCode": code,
        "collectedAt": at, "donationType": "WHOLE_BLOOD", "volumeMl": 450, "hemoglobin": 13.9,
        "units": [{"unitNumber": unit, "isLocalBarcode": true, "component": "RED_CELLS", "volumeMl": 280}]}}))
        .await
        .data();
}

#[tokio::test]
async fn rollups_equal_a_fresh_aggregate_after_concurrent_changes_to_rolled_days_and_a_rerun_changes_nothing()
 {
    // Arrange: twelve requests created at once, half of them moved into the last three days
    // and rolled up by the job's first run (the backfill).
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    net.stock(&app, units("RU", "O_POS", "RED_CELLS", 12)).await;
    let h = &net.hospital.id;
    let urgencies = ["ROUTINE", "URGENT", "EMERGENCY", "CRITICAL"];
    let ids: Vec<String> =
        join_all((0..12).map(|i| create_request(&app, &net.nurse, request(urgencies[i % 4], h))))
            .await;
    let now = Utc::now();
    for (i, id) in ids.iter().enumerate().filter(|(i, _)| i % 2 == 0) {
        let days = (i % 3) as i64 + 1;
        backdate(
            &app,
            id,
            now - Duration::days(days) - Duration::minutes(7 * i as i64),
            None,
            (i % 3) as i32,
        )
        .await;
    }
    let first = rollups::run(&app.db, Utc::now()).await.expect("first run");

    // Act: every request accepted at once (the backdated ones change rolled days), half of
    // them fulfilled at once; then the job, then the job again.
    let accepted = join_all(
        ids.iter()
            .map(|id| accept(&app, &net.bank_staff, id, &net.bank.id)),
    )
    .await;
    join_all(ids.iter().take(6).map(|id| {
        act(
            &app,
            &net.bank_staff,
            "fulfillBloodRequest",
            json!({"requestId": id, "bloodBankId": net.bank.id}),
        )
    }))
    .await;
    let second = rollups::run(&app.db, Utc::now()).await.expect("second run");
    let (from, to) = (now - Duration::days(5), Utc::now() + Duration::hours(1));
    let (rolled, fresh) = both(&app, from, to).await;
    rollups::run(&app.db, Utc::now()).await.expect("rerun");
    let (again, _) = both(&app, from, to).await;

    // Assert
    assert!(first.closed.is_some());
    assert!(second.changed_days >= 3, "{second:?}");
    assert_eq!(
        rollups::rolled_through(&app.db).await.expect("state"),
        Some(Utc::now().date_naive())
    );
    assert!(accepted.iter().all(|r| r.code().is_none()), "{accepted:?}");
    assert_eq!(fresh.requests.total, 12);
    assert_eq!(fresh.requests.time_to_accept.len(), 4);
    assert!(fresh.requests.escalated > 0);
    assert_eq!(rolled, fresh);
    assert_eq!(again, fresh);
}

#[tokio::test]
async fn rolled_up_periods_cut_at_midnight_a_month_end_and_inside_a_day_equal_the_base_tables() {
    // Arrange: a request created at 23:50 UTC on 31 January and accepted at 00:20 on
    // 1 February, another created at midnight, a donation on each side of it; rolled up.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    net.stock(&app, units("PM", "O_POS", "RED_CELLS", 2)).await;
    let at =
        |d: u32, m: u32, h: u32, min: u32| Utc.with_ymd_and_hms(2026, m, d, h, min, 0).unwrap();
    let late = create_request(&app, &net.nurse, request("URGENT", &net.hospital.id)).await;
    accept(&app, &net.bank_staff, &late, &net.bank.id)
        .await
        .data();
    backdate(&app, &late, at(31, 1, 23, 50), Some(at(1, 2, 0, 20)), 1).await;
    let midnight = create_request(&app, &net.nurse, request("URGENT", &net.hospital.id)).await;
    backdate(&app, &midnight, at(1, 2, 0, 0), None, 0).await;
    give(
        &app,
        &net.bank,
        "jan@donor.example",
        "+919822100003",
        at(31, 1, 23, 59),
        "PM-D1",
    )
    .await;
    give(
        &app,
        &net.bank,
        "feb@donor.example",
        "+919822100004",
        at(1, 2, 0, 0),
        "PM-D2",
    )
    .await;
    rollups::run(&app.db, Utc::now()).await.expect("rollups");
    let periods = [
        (at(1, 1, 0, 0), at(1, 2, 0, 0)),
        (at(1, 2, 0, 0), at(1, 3, 0, 0)),
        (at(31, 1, 0, 0), at(1, 2, 0, 0)),
        (at(31, 1, 12, 0), at(1, 2, 12, 0)),
        (at(31, 1, 23, 55), at(1, 2, 0, 1)),
        (at(30, 1, 6, 0), at(2, 2, 6, 0)),
    ];

    // Act
    let mut figures = Vec::new();
    for (from, to) in periods {
        figures.push(both(&app, from, to).await);
    }

    // Assert
    for ((rolled, fresh), period) in figures.iter().zip(periods) {
        assert_eq!(rolled, fresh, "{period:?}");
    }
    let (jan, _) = &figures[0];
    assert_eq!(jan.requests.total, 1);
    assert_eq!(jan.requests.escalated, 1);
    assert_eq!(jan.requests.time_to_accept[0].p50, 30.0);
    assert_eq!(jan.collections.len(), 1);
    assert_eq!(jan.collections[0].month, "2026-01");
    let (feb, _) = &figures[1];
    assert_eq!(feb.requests.total, 1);
    assert_eq!(feb.collections[0].month, "2026-02");
    let (around, _) = &figures[5];
    assert_eq!(around.requests.total, 2);
    assert_eq!(around.collections.len(), 2);
}

#[tokio::test]
async fn a_period_from_mid_month_to_mid_month_across_a_year_end_reads_whole_months_from_the_monthly_rollups_and_equals_the_base_tables()
 {
    // Arrange: requests and donations from November 2025 to February 2026, rolled up by the
    // first run (whole months included); then every request accepted, which changes days of
    // closed months, and the job run again.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    net.stock(&app, units("MY", "O_POS", "RED_CELLS", 8)).await;
    let at = |y: i32, m: u32, d: u32, h: u32| Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap();
    let times = [
        at(2025, 11, 10, 9),
        at(2025, 11, 20, 9),
        at(2025, 12, 1, 0),
        at(2025, 12, 31, 23),
        at(2026, 1, 15, 12),
        at(2026, 2, 5, 8),
        at(2026, 2, 20, 8),
    ];
    let urgencies = ["ROUTINE", "URGENT", "EMERGENCY", "CRITICAL"];
    let mut ids = Vec::new();
    for (i, t) in times.iter().enumerate() {
        let id = create_request(
            &app,
            &net.nurse,
            request(urgencies[i % 4], &net.hospital.id),
        )
        .await;
        backdate(&app, &id, *t, None, (i % 2) as i32).await;
        give(
            &app,
            &net.bank,
            &format!("m{i}@donor.example"),
            &format!("+91982210010{i}"),
            *t,
            &format!("MY-D{i}"),
        )
        .await;
        ids.push(id);
    }
    rollups::run(&app.db, Utc::now()).await.expect("first run");
    for id in &ids {
        accept(&app, &net.bank_staff, id, &net.bank.id).await.data();
    }
    let second = rollups::run(&app.db, Utc::now()).await.expect("second run");
    let periods = [
        (at(2025, 11, 15, 6), at(2026, 2, 10, 6)),
        (at(2025, 11, 1, 0), at(2026, 3, 1, 0)),
        (at(2025, 12, 1, 0), at(2026, 2, 1, 0)),
        (at(2025, 12, 31, 12), at(2026, 1, 1, 12)),
        (at(2025, 10, 1, 0), Utc::now() + Duration::hours(1)),
    ];

    // Act
    let mut figures = Vec::new();
    for (from, to) in periods {
        figures.push(both(&app, from, to).await);
    }

    // Assert
    assert!(second.changed_days >= times.len(), "{second:?}");
    for ((rolled, fresh), period) in figures.iter().zip(periods) {
        assert_eq!(rolled, fresh, "{period:?}");
    }
    let (mid, _) = &figures[0];
    assert_eq!(mid.requests.total, 5);
    assert!(!mid.requests.time_to_accept.is_empty());
    let months: Vec<&str> = mid.collections.iter().map(|c| c.month.as_str()).collect();
    assert_eq!(months, ["2025-11", "2025-12", "2026-01", "2026-02"]);
    let (all, _) = &figures[4];
    assert_eq!(all.requests.total, 7);
    assert_eq!(all.collections.iter().map(|c| c.donations).sum::<i64>(), 7);
}

//! Network analytics (DESIGN §7.6): each figure of `networkStats` against the same figure
//! computed here from a known data set built through the API (timestamps the API cannot
//! backdate are set in the test database), the period boundaries at midnight UTC and at a
//! month's end, who may ask, and the statements it costs.

use chrono::{DateTime, Duration, TimeZone, Utc};
use entity::blood_request;
use lifeflow_tests::{
    fixtures::{blood::*, donors::*, *},
    matrix::{Matrix, Outcome::*, Row},
    *,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};
use uuid::Uuid;

const STATS: &str = "query($i: NetworkStatsInput!) { networkStats(input: $i) {
  requests { total byStatus { status count } byUrgency { urgency count }
    timeToAccept { urgency p50Minutes p90Minutes } timeToFulfil { urgency p50Minutes p90Minutes }
    fulfilmentRate escalated }
  wastage { component bloodBank { id } expired discarded }
  collections { month bloodBank { id } camp { id } donations units }
  camps { registrations attended }
  stock { bloodGroup component daysOfStock } } }";

const RECORD: &str =
    "mutation($i: RecordDonationInput!) { recordDonation(input: $i) { donation { id } } }";

async fn stats(app: &TestApp, who: &Session, input: Value) -> Gql {
    app.gql(Some(&who.access), STATS, json!({"i": input})).await
}

/// Sets a request's timestamps and escalation level as if it had lived them.
async fn backdate(
    app: &TestApp,
    id: &str,
    created: DateTime<Utc>,
    accepted: Option<DateTime<Utc>>,
    fulfilled: Option<DateTime<Utc>>,
    escalation: i32,
) {
    blood_request::Entity::update_many()
        .col_expr(blood_request::Column::CreatedAt, Expr::value(created))
        .col_expr(blood_request::Column::AcceptedAt, Expr::value(accepted))
        .col_expr(blood_request::Column::FulfilledAt, Expr::value(fulfilled))
        .col_expr(
            blood_request::Column::EscalationLevel,
            Expr::value(escalation),
        )
        .filter(blood_request::Column::Id.eq(Uuid::parse_str(id).expect("id")))
        .exec(&app.db)
        .await
        .expect("backdated");
}

/// A request of the known data set: (urgency, minutes to accept, minutes to fulfil, cancelled,
/// escalation level).
type Planned = (&'static str, Option<i64>, Option<i64>, bool, i32);

/// The nearest-rank percentile: the value at rank ⌈p·n/100⌉ of the sorted values.
fn nearest_rank(values: &[f64], p: usize) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).expect("numbers"));
    v[(p * v.len()).div_ceil(100) - 1]
}

fn request(urgency: &str, hospital: &str) -> Value {
    let mut i = request_input(hospital, "O_POS", "RED_CELLS", 1);
    i["urgency"] = json!(urgency);
    i
}

/// A donor who registered themself gives at `bank` on `at` (by their card code).
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

fn count_of<'a>(list: &'a Value, key: &str, value: &str) -> &'a Value {
    list.as_array()
        .expect("list")
        .iter()
        .find(|e| e[key] == value)
        .map_or(&Value::Null, |e| &e["count"])
}

#[tokio::test]
async fn every_figure_equals_the_one_computed_from_the_known_data_set() {
    // Arrange: ten units; six requests in three urgencies, each in a known state with known
    // durations; one unit discarded; two donations.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    net.stock(&app, units("AN", "O_POS", "RED_CELLS", 10)).await;
    let h = &net.hospital.id;
    let t0 = Utc::now() - Duration::hours(5);
    let min = |m: i64| Some(t0 + Duration::minutes(m));
    let plan: [Planned; 6] = [
        ("ROUTINE", Some(10), Some(60), false, 0),
        ("ROUTINE", Some(30), Some(120), false, 0),
        ("ROUTINE", None, None, false, 0),
        ("EMERGENCY", Some(5), Some(20), false, 1),
        ("EMERGENCY", Some(7), None, false, 2),
        ("URGENT", None, None, true, 0),
    ];
    for (urgency, accept_after, fulfil_after, cancel, level) in plan {
        let id = create_request(&app, &net.nurse, request(urgency, h)).await;
        if accept_after.is_some() {
            accept(&app, &net.bank_staff, &id, &net.bank.id)
                .await
                .data();
        }
        if fulfil_after.is_some() {
            act(
                &app,
                &net.bank_staff,
                "fulfillBloodRequest",
                json!({"requestId": id, "bloodBankId": net.bank.id}),
            )
            .await
            .data();
        }
        if cancel {
            act(
                &app,
                &net.nurse,
                "cancelBloodRequest",
                json!({"requestId": id, "hospitalId": h, "reason": "not needed"}),
            )
            .await
            .data();
        }
        backdate(
            &app,
            &id,
            t0,
            accept_after.and_then(min),
            fulfil_after.and_then(min),
            level,
        )
        .await;
    }
    let spare = net
        .stock(&app, units("AN-X", "O_POS", "RED_CELLS", 1))
        .await;
    app.gql(
        Some(&net.bank.admin.access),
        "mutation($i: DiscardBloodUnitInput!) { discardBloodUnit(input: $i) { units { id } } }",
        json!({"i": {"bloodBankId": net.bank.id, "unitId": spare[0]["id"], "reason": "bag leak"}}),
    )
    .await
    .data();
    let now = Utc::now();
    give(
        &app,
        &net.bank,
        "a@donor.example",
        "+919822000001",
        now - Duration::hours(1),
        "AN-D1",
    )
    .await;
    give(
        &app,
        &net.bank,
        "b@donor.example",
        "+919822000002",
        now - Duration::hours(1),
        "AN-D2",
    )
    .await;
    // One available unit past its expiry that the sweep has not moved yet: not stock.
    use entity::{BloodGroup, Component, UnitStatus, blood_unit};
    let stale = blood_unit::Entity::find()
        .filter(blood_unit::Column::Status.eq(UnitStatus::Available))
        .filter(blood_unit::Column::BloodGroup.eq(BloodGroup::OPos))
        .filter(blood_unit::Column::Component.eq(Component::RedCells))
        .one(&app.db)
        .await
        .expect("query")
        .expect("an available O+ unit");
    blood_unit::Entity::update_many()
        .col_expr(
            blood_unit::Column::ExpiresAt,
            Expr::value(now - Duration::hours(1)),
        )
        .filter(blood_unit::Column::Id.eq(stale.id))
        .exec(&app.db)
        .await
        .expect("expired");

    // Act
    let period = json!({"from": now - Duration::days(1), "to": now + Duration::hours(1)});
    let r = stats(&app, &net.root, period).await;

    // Assert: each figure, computed here from the plan and the database's own rows.
    let s = &r.data()["networkStats"];
    let q = &s["requests"];
    assert_eq!(q["total"], plan.len());
    for status in ["FULFILLED", "ACCEPTED", "PENDING", "CANCELLED"] {
        let expected = app
            .count(&format!(
                "SELECT COUNT(*) FROM blood_requests WHERE status = '{status}'"
            ))
            .await;
        assert_eq!(
            count_of(&q["byStatus"], "status", status),
            expected,
            "{status}"
        );
    }
    for urgency in ["ROUTINE", "EMERGENCY", "URGENT"] {
        let expected = plan.iter().filter(|p| p.0 == urgency).count();
        assert_eq!(
            count_of(&q["byUrgency"], "urgency", urgency),
            expected,
            "{urgency}"
        );
    }
    let fulfilled = plan.iter().filter(|p| p.2.is_some()).count() as f64;
    let settled = plan.iter().filter(|p| p.1.is_some() || p.3).count() as f64;
    assert!((q["fulfilmentRate"].as_f64().expect("rate") - fulfilled / settled).abs() < 1e-9);
    assert_eq!(q["escalated"], plan.iter().filter(|p| p.4 > 0).count());
    for (field, pick) in [("timeToAccept", 1), ("timeToFulfil", 2)] {
        for urgency in ["ROUTINE", "EMERGENCY"] {
            let minutes: Vec<f64> = plan
                .iter()
                .filter(|p| p.0 == urgency)
                .filter_map(|p| if pick == 1 { p.1 } else { p.2 })
                .map(|m| m as f64)
                .collect();
            let got = q[field]
                .as_array()
                .expect("percentiles")
                .iter()
                .find(|e| e["urgency"] == urgency)
                .unwrap_or_else(|| panic!("{field} {urgency}: {q}"));
            for (p, key) in [(50, "p50Minutes"), (90, "p90Minutes")] {
                let want = nearest_rank(&minutes, p);
                let have = got[key].as_f64().expect("minutes");
                assert!(
                    (have - want).abs() < 0.02,
                    "{field} {urgency} {key}: {have} != {want}"
                );
            }
        }
    }
    let discarded = app
        .count("SELECT COUNT(*) FROM blood_units WHERE status = 'DISCARDED'")
        .await;
    assert_eq!(
        s["wastage"],
        json!([{"component": "RED_CELLS", "bloodBank": {"id": net.bank.id}, "expired": 0, "discarded": discarded}])
    );
    assert_eq!(discarded, 1);
    // The donations were given an hour ago: in the first hour of a month, last month.
    let month = (now - Duration::hours(1)).format("%Y-%m").to_string();
    assert_eq!(
        s["collections"],
        json!([{"month": month, "bloodBank": {"id": net.bank.id}, "camp": null, "donations": 2, "units": 2}])
    );
    assert_eq!(s["camps"], json!({"registrations": 0, "attended": 0}));
    let available = app
        .count("SELECT COUNT(*) FROM blood_units WHERE status = 'AVAILABLE'")
        .await as f64
        - 1.0;
    let issued = app
        .count("SELECT COUNT(*) FROM blood_unit_events WHERE to_status = 'ISSUED'")
        .await as f64;
    let days = s["stock"]
        .as_array()
        .expect("stock")
        .iter()
        .find(|e| e["bloodGroup"] == "O_POS" && e["component"] == "RED_CELLS")
        .expect("O+ red cells")["daysOfStock"]
        .as_f64()
        .expect("days");
    assert!((days - available * 30.0 / issued).abs() < 1e-9, "{days}");
}

#[tokio::test]
async fn a_request_counts_in_the_period_of_its_creation_across_midnight_and_a_month_end() {
    // Arrange: a request created at 23:50 UTC on 31 January and accepted at 00:20 on
    // 1 February; another created at midnight exactly; a donation on each side of it.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    net.stock(&app, units("PB", "O_POS", "RED_CELLS", 2)).await;
    let at =
        |d: u32, m: u32, h: u32, min: u32| Utc.with_ymd_and_hms(2026, m, d, h, min, 0).unwrap();
    let late = create_request(&app, &net.nurse, request("URGENT", &net.hospital.id)).await;
    accept(&app, &net.bank_staff, &late, &net.bank.id)
        .await
        .data();
    backdate(
        &app,
        &late,
        at(31, 1, 23, 50),
        Some(at(1, 2, 0, 20)),
        None,
        0,
    )
    .await;
    let midnight = create_request(&app, &net.nurse, request("URGENT", &net.hospital.id)).await;
    backdate(&app, &midnight, at(1, 2, 0, 0), None, None, 0).await;
    give(
        &app,
        &net.bank,
        "jan@donor.example",
        "+919822000003",
        at(31, 1, 23, 59),
        "PB-D1",
    )
    .await;
    give(
        &app,
        &net.bank,
        "feb@donor.example",
        "+919822000004",
        at(1, 2, 0, 0),
        "PB-D2",
    )
    .await;

    // Act
    let january = stats(
        &app,
        &net.root,
        json!({"from": at(1, 1, 0, 0), "to": at(1, 2, 0, 0)}),
    )
    .await;
    let february = stats(
        &app,
        &net.root,
        json!({"from": at(1, 2, 0, 0), "to": at(1, 3, 0, 0)}),
    )
    .await;
    let last_day = stats(
        &app,
        &net.root,
        json!({"from": at(31, 1, 0, 0), "to": at(1, 2, 0, 0)}),
    )
    .await;

    // Assert
    let jan = &january.data()["networkStats"];
    assert_eq!(jan["requests"]["total"], 1);
    assert_eq!(
        count_of(&jan["requests"]["byStatus"], "status", "ACCEPTED"),
        1
    );
    assert_eq!(
        jan["requests"]["timeToAccept"],
        json!([{"urgency": "URGENT", "p50Minutes": 30.0, "p90Minutes": 30.0}])
    );
    assert_eq!(jan["collections"][0]["month"], "2026-01");
    assert_eq!(jan["collections"].as_array().map(Vec::len), Some(1));
    let feb = &february.data()["networkStats"];
    assert_eq!(feb["requests"]["total"], 1);
    assert_eq!(
        count_of(&feb["requests"]["byStatus"], "status", "PENDING"),
        1
    );
    assert_eq!(feb["requests"]["timeToAccept"], json!([]));
    assert_eq!(feb["requests"]["fulfilmentRate"], 0.0);
    assert_eq!(feb["collections"][0]["month"], "2026-02");
    assert_eq!(feb["collections"].as_array().map(Vec::len), Some(1));
    assert_eq!(last_day.data()["networkStats"]["requests"]["total"], 1);
}

const CALLERS: [&str; 6] = [
    "anonymous",
    "signed-in user",
    "hospital staff",
    "bank admin",
    "bank API client",
    "super admin",
];

#[tokio::test]
async fn super_admins_see_the_network_and_members_their_own_organization() {
    // Arrange
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let plain = app.signed_in("plain@x.example").await;
    let client = api_client(
        &app,
        &net.bank.admin,
        &net.bank.id,
        "LIMS",
        &["stock:write"],
    )
    .await
    .token;
    let tokens = vec![
        None,
        Some(plain.access.clone()),
        Some(net.nurse.access.clone()),
        Some(net.bank.admin.access.clone()),
        Some(client),
        Some(net.root.access.clone()),
    ];
    let period = |org: Option<&str>| json!({"i": {"from": "2026-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z", "organizationId": org}});
    let doc = "query($i: NetworkStatsInput!) { networkStats(input: $i) { requests { total } } }";
    //  anon user nurse bank client SA
    let rows: Vec<Row<6>> = vec![
        (
            "networkStats of the network",
            doc.into(),
            period(None),
            [U, F, F, F, F, A],
        ),
        (
            "networkStats of the hospital",
            doc.into(),
            period(Some(&net.hospital.id)),
            [U, F, A, F, F, A],
        ),
        (
            "networkStats of the bank",
            doc.into(),
            period(Some(&net.bank.id)),
            [U, F, F, A, F, A],
        ),
    ];

    // Act and assert
    Matrix::new(CALLERS, tokens).assert(&app, &rows).await;
}

#[tokio::test]
async fn network_stats_cost_the_same_statements_however_many_rows_they_cover() {
    // Arrange: a period with one donation, then one with many more rows.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let period =
        json!({"from": Utc::now() - Duration::days(1), "to": Utc::now() + Duration::hours(1)});
    give(
        &app,
        &net.bank,
        "c1@donor.example",
        "+919822000005",
        Utc::now(),
        "ST-1",
    )
    .await;
    let few = stats(&app, &net.root, period.clone()).await;
    for i in 0..4 {
        create_request(&app, &net.nurse, request("ROUTINE", &net.hospital.id)).await;
        give(
            &app,
            &net.bank,
            &format!("m{i}@donor.example"),
            &format!("+91982201000{i}"),
            Utc::now(),
            &format!("ST-M{i}"),
        )
        .await;
    }
    net.stock(&app, units("ST", "A_POS", "PLASMA", 3)).await;

    // Act
    let many = stats(&app, &net.root, period).await;

    // Assert
    few.data();
    many.data();
    assert_eq!(few.statements(), many.statements());
    // The viewer, the read transaction's begin and commit, the rollups' reach, nine grouped
    // statements, the banks and the camps.
    assert!(many.statements() <= 15, "{}", many.statements());
}

//! The benchmark's year of history (`seed --scale N --history-days D`): it loads on both
//! databases, and `networkStats` over it counts exactly what the generator reports it wrote.

use chrono::{Duration, Utc};
use entity::{RegistrationStatus, UnitStatus, blood_unit_event, camp_registration};
use lifeflow::analytics::service;
use lifeflow_tests::*;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

const STATS: &str = "query($i: NetworkStatsInput!) { networkStats(input: $i) {
  requests { total escalated timeToAccept { urgency p50Minutes } }
  wastage { expired discarded }
  collections { camp { id } donations units }
  camps { registrations attended } } }";

fn sum(rows: &Value, field: &str) -> i64 {
    rows.as_array()
        .expect("rows")
        .iter()
        .map(|r| r[field].as_i64().expect("count"))
        .sum()
}

#[tokio::test]
async fn network_stats_over_the_generated_history_count_every_row_the_generator_wrote() {
    // Arrange: the scale data set at its smallest and 30 days of history on top.
    let app = spawn_app().await;
    let scale = lifeflow::seed::scale::run(&app.db, 4, "not-a-login")
        .await
        .expect("scale");
    let history = lifeflow::seed::history::run(&app.db, &scale, 30)
        .await
        .expect("history");
    let root = app.super_admin().await;
    // The scale set's settled requests were created over the last 60 days.
    let period =
        json!({"from": Utc::now() - Duration::days(61), "to": Utc::now() + Duration::minutes(1)});
    let wasted = blood_unit_event::Entity::find()
        .filter(
            blood_unit_event::Column::ToStatus.is_in([UnitStatus::Expired, UnitStatus::Discarded]),
        )
        .count(&app.db)
        .await
        .expect("count");
    let registered = camp_registration::Entity::find()
        .filter(camp_registration::Column::Status.ne(RegistrationStatus::Cancelled))
        .count(&app.db)
        .await
        .expect("count");
    let attended = camp_registration::Entity::find()
        .filter(camp_registration::Column::Status.eq(RegistrationStatus::Attended))
        .count(&app.db)
        .await
        .expect("count");

    // Act
    let r = app
        .gql(Some(&root.access), STATS, json!({"i": period}))
        .await;

    // Assert
    let s = &r.data()["networkStats"];
    assert_eq!(history.requests, 4 * 30);
    assert_eq!(
        s["requests"]["total"].as_i64(),
        Some((history.requests + scale.requests) as i64)
    );
    assert!(s["requests"]["escalated"].as_i64().unwrap_or(0) > 0);
    assert_eq!(
        s["requests"]["timeToAccept"].as_array().map(Vec::len),
        Some(4)
    );
    assert!(wasted > 0);
    assert_eq!(
        (sum(&s["wastage"], "expired") + sum(&s["wastage"], "discarded")) as u64,
        wasted
    );
    assert_eq!(
        sum(&s["collections"], "donations") as usize,
        history.donations
    );
    assert_eq!(sum(&s["collections"], "units") as usize, history.units);
    assert_eq!(history.camps, 4);
    assert_eq!(history.registrations, 4 * 60);
    assert!(attended > 0 && registered > attended);
    assert_eq!(s["camps"]["registrations"].as_u64(), Some(registered));
    assert_eq!(s["camps"]["attended"].as_u64(), Some(attended));
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM blood_units u WHERE u.donation_id IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM blood_unit_tests t WHERE t.unit_id = u.id)"
        )
        .await,
        0,
        "every generated unit left quarantine with its cleared panel"
    );
    // Percentiles read from the rollups (hour buckets, then the minutes of one bucket) equal
    // those of a fresh aggregate of the base tables, over durations spread across buckets.
    let scope = service::Scope {
        from: Utc::now() - Duration::days(61),
        to: Utc::now() + Duration::minutes(1),
        organization: None,
        city: None,
    };
    let rolled = service::stats(&app.db, &scope).await.expect("stats");
    let fresh = service::stats_with(&app.db, &scope, None)
        .await
        .expect("fresh");
    assert_eq!(
        rolled.requests.time_to_accept,
        fresh.requests.time_to_accept
    );
    assert_eq!(
        rolled.requests.time_to_fulfil,
        fresh.requests.time_to_fulfil
    );
    assert!(
        fresh.requests.time_to_fulfil.iter().any(|p| p.p90 >= 60.0),
        "{:?}",
        fresh.requests.time_to_fulfil
    );
}

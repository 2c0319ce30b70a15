//! The daily rollups `networkStats` reads for the whole network (DESIGN §7.6): per UTC day,
//! requests by status and urgency, their minutes to accept and to fulfil counted per whole
//! minute and urgency, wastage per bank and component, issues per group and component,
//! collections per bank and camp, camp registrations and attendances.
//!
//! Kept by a job ([`run`], started by `jobs::rollups`) for closed days only: a day's rollup is
//! rebuilt from the base tables (delete, then one `INSERT … SELECT … GROUP BY` per table), so
//! a rerun is idempotent and a backfill is the same code over more days. Each run, in one
//! write transaction holding the state row (`FOR UPDATE` on Postgres; SQLite's write lock):
//! the days closed since the last run, and the earlier days something changed since then
//! (requests by `updated_at`, camp registrations by `updated_at`, donations recorded with a
//! past `collected_at`, events committed around the last run). The first run on a database
//! backfills every closed day. The current day, and any day after the last run, is read
//! live by `networkStats`.
//!
//! Monthly rollups (`<table>_monthly`, keyed by `month`, `YYYY-MM`) hold the sums of the
//! daily rows of each UTC month wholly before `rolled_through`, so that a long period reads
//! one row per month and group. In the same transaction, after the days, a run rebuilds from
//! the daily rollups every such month whose days it rebuilt (delete, then one
//! `INSERT … SELECT … GROUP BY` per table); a backfill rebuilds every closed month.

use super::service::{Sql, day, day_text, midnight, minutes, month_start, month_text, next_month};
use crate::{db, error::AppResult};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, QueryResult};
use std::collections::BTreeSet;

/// How far before the last run's start a change is looked for: a transaction that started
/// before it and committed after it wrote times older than the run.
const LOOKBACK_MINUTES: i64 = 10;

/// Each daily rollup table (its monthly twin is `<table>_monthly`), the columns that key it
/// besides the day, and the counts it holds.
const TABLES: &[(&str, &[&str], &[&str])] = &[
    (
        "rollup_requests",
        &["status", "urgency"],
        &["n", "escalated"],
    ),
    (
        "rollup_request_minutes",
        &["kind", "urgency", "minutes"],
        &["n"],
    ),
    (
        "rollup_wastage",
        &["blood_bank_id", "component"],
        &["expired", "discarded"],
    ),
    ("rollup_issues", &["blood_group", "component"], &["issued"]),
    (
        "rollup_collections",
        &["blood_bank_id", "camp_id"],
        &["donations", "units"],
    ),
    ("rollup_camps", &[], &["registrations", "attended"]),
];

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RollupReport {
    /// Days rebuilt one by one because something in them changed.
    pub changed_days: usize,
    /// The range of newly closed days rebuilt, if any (`None` start: every day before).
    pub closed: Option<(Option<NaiveDate>, NaiveDate)>,
}

/// The day before which every day is rolled up; `None` before the first run.
pub async fn rolled_through<C: ConnectionTrait>(db: &C) -> AppResult<Option<NaiveDate>> {
    let q = Sql::new(
        db.get_database_backend(),
        "SELECT rolled_through FROM analytics_rollup_state WHERE id = 1",
    );
    let row = db.query_one_raw(q.build()).await?;
    Ok(match row {
        Some(r) => parse_day(r.try_get::<Option<String>>("", "rolled_through")?),
        None => None,
    })
}

fn parse_day(s: Option<String>) -> Option<NaiveDate> {
    s.and_then(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok())
}

/// Brings the rollups up to the start of `now`'s UTC day. Safe to run on every instance:
/// runs queue on the state row, and a run with nothing closed or changed writes nothing but
/// the state.
pub async fn run(pool: &DatabaseConnection, now: DateTime<Utc>) -> AppResult<RollupReport> {
    run_with(pool, now, false).await
}

/// Rebuilds every closed day from the base tables, whatever the state says: after rows of
/// past days were written behind the use cases' back (the history seed, a hand-written fix)
/// — `lifeflow rebuild-rollups`.
pub async fn backfill(pool: &DatabaseConnection, now: DateTime<Utc>) -> AppResult<RollupReport> {
    run_with(pool, now, true).await
}

async fn run_with(
    pool: &DatabaseConnection,
    now: DateTime<Utc>,
    full: bool,
) -> AppResult<RollupReport> {
    let txn = db::begin_write(pool).await?;
    let backend = txn.get_database_backend();
    let mut q = Sql::new(
        backend,
        "SELECT rolled_through, last_run_at FROM analytics_rollup_state WHERE id = 1",
    );
    if backend == DbBackend::Postgres {
        q.push(" FOR UPDATE");
    }
    let state = txn.query_one_raw(q.build()).await?;
    let (through, last_run) = match &state {
        Some(r) => (
            parse_day(r.try_get::<Option<String>>("", "rolled_through")?),
            r.try_get::<Option<DateTime<Utc>>>("", "last_run_at")?,
        ),
        None => (None, None),
    };
    let today = now.date_naive();
    let mut report = RollupReport::default();
    let through = if full { None } else { through };
    let rolled_through = today.max(through.unwrap_or(today));
    // Months wholly before the new `rolled_through`.
    let closed_months = month_start(rolled_through);
    match (through, last_run) {
        (Some(through), Some(last_run)) => {
            let since = last_run - Duration::minutes(LOOKBACK_MINUTES);
            let days = changed_days(&txn, since, through).await?;
            report.changed_days = days.len();
            let mut months = BTreeSet::new();
            for d in days {
                let next = d.succ_opt().unwrap_or(d);
                rebuild(&txn, Some(d), next).await?;
                months.insert(month_start(d));
            }
            if through < today {
                rebuild(&txn, Some(through), today).await?;
                report.closed = Some((Some(through), today));
                let mut m = month_start(through);
                while m < closed_months {
                    months.insert(m);
                    m = next_month(m);
                }
            }
            for m in months.into_iter().filter(|m| *m < closed_months) {
                rebuild_months(&txn, Some(m), next_month(m)).await?;
            }
        }
        _ => {
            rebuild(&txn, None, today).await?;
            report.closed = Some((None, today));
            rebuild_months(&txn, None, closed_months).await?;
        }
    }
    let mut u = Sql::new(
        backend,
        "UPDATE analytics_rollup_state SET rolled_through = ",
    );
    u.val(day_text(rolled_through))
        .push(", last_run_at = ")
        .val(now)
        .push(" WHERE id = 1");
    txn.execute_raw(u.build()).await?;
    txn.commit().await?;
    Ok(report)
}

/// The rolled days (before `through`) with a change since `since`.
async fn changed_days<C: ConnectionTrait>(
    db: &C,
    since: DateTime<Utc>,
    through: NaiveDate,
) -> AppResult<BTreeSet<NaiveDate>> {
    let backend = db.get_database_backend();
    let end = midnight(through);
    let queries = [
        format!(
            "SELECT DISTINCT {} AS d FROM blood_requests WHERE updated_at >= ",
            day(backend, "created_at")
        ),
        format!(
            "SELECT DISTINCT {} AS d FROM donations WHERE created_at >= ",
            day(backend, "collected_at")
        ),
        format!(
            "SELECT DISTINCT {} AS d FROM camp_registrations cr JOIN camps c ON c.id = cr.camp_id \
             WHERE cr.updated_at >= ",
            day(backend, "c.starts_at")
        ),
    ];
    let cols = ["created_at", "collected_at", "c.starts_at"];
    let mut out = BTreeSet::new();
    for (sql, col) in queries.iter().zip(cols) {
        let mut q = Sql::new(backend, sql);
        q.val(since).push(&format!(" AND {col} < ")).val(end);
        for row in db.query_all_raw(q.build()).await? {
            if let Some(d) = parse_day(Some(text(&row, "d")?)) {
                out.insert(d);
            }
        }
    }
    // Unit events are written at their own time: only those of the days around the last run
    // can have committed after it.
    let mut d = since.date_naive();
    while d < through {
        out.insert(d);
        d = match d.succ_opt() {
            Some(n) => n,
            None => break,
        };
    }
    Ok(out)
}

fn text(row: &QueryResult, col: &str) -> AppResult<String> {
    Ok(row.try_get("", col)?)
}

/// Rebuilds the monthly rollups of the months starting in `[from, to)` (every month before
/// `to` when `from` is `None`; both the first day of a month) from the daily rollups.
pub async fn rebuild_months<C: ConnectionTrait>(
    db: &C,
    from: Option<NaiveDate>,
    to: NaiveDate,
) -> AppResult<()> {
    let backend = db.get_database_backend();
    for (daily, keys, counts) in TABLES {
        let monthly = format!("{daily}_monthly");
        let mut q = Sql::new(backend, &format!("DELETE FROM {monthly} WHERE month < "));
        q.val(month_text(to));
        if let Some(from) = from {
            q.push(" AND month >= ").val(month_text(from));
        }
        db.execute_raw(q.build()).await?;
        let keys: String = keys.iter().map(|k| format!(", {k}")).collect();
        let cols: String = counts.iter().map(|c| format!(", {c}")).collect();
        let sums: String = counts
            .iter()
            .map(|c| format!(", CAST(SUM({c}) AS BIGINT)"))
            .collect();
        let mut q = Sql::new(
            backend,
            &format!(
                "INSERT INTO {monthly} (month{keys}{cols}) \
                 SELECT substr(day, 1, 7){keys}{sums} FROM {daily} WHERE day < "
            ),
        );
        q.val(day_text(to));
        if let Some(from) = from {
            q.push(" AND day >= ").val(day_text(from));
        }
        q.push(&format!(" GROUP BY substr(day, 1, 7){keys}"));
        db.execute_raw(q.build()).await?;
    }
    // The hour buckets of the months' minutes, for the percentiles' first step.
    let months = |q: &mut Sql| {
        q.push(" WHERE month < ").val(month_text(to));
        if let Some(from) = from {
            q.push(" AND month >= ").val(month_text(from));
        }
    };
    let mut q = Sql::new(backend, "DELETE FROM rollup_request_buckets_monthly");
    months(&mut q);
    db.execute_raw(q.build()).await?;
    let mut q = Sql::new(
        backend,
        "INSERT INTO rollup_request_buckets_monthly (month, kind, urgency, bucket, n) \
         SELECT month, kind, urgency, minutes / 60, CAST(SUM(n) AS BIGINT) \
         FROM rollup_request_minutes_monthly",
    );
    months(&mut q);
    q.push(" GROUP BY month, kind, urgency, minutes / 60");
    db.execute_raw(q.build()).await?;
    Ok(())
}

/// Rebuilds the rollups of the days `[from, to)` (every day before `to` when `from` is
/// `None`) from the base tables.
pub async fn rebuild<C: ConnectionTrait>(
    db: &C,
    from: Option<NaiveDate>,
    to: NaiveDate,
) -> AppResult<()> {
    let backend = db.get_database_backend();
    for (table, _, _) in TABLES {
        let mut q = Sql::new(backend, &format!("DELETE FROM {table} WHERE day < "));
        q.val(day_text(to));
        if let Some(from) = from {
            q.push(" AND day >= ").val(day_text(from));
        }
        db.execute_raw(q.build()).await?;
    }
    let range = |q: &mut Sql, col: &str| {
        q.push(&format!(" AND {col} < ")).val(midnight(to));
        if let Some(from) = from {
            q.push(&format!(" AND {col} >= ")).val(midnight(from));
        }
    };
    let r_day = day(backend, "r.created_at");
    let e_day = day(backend, "e.created_at");

    let mut q = Sql::new(
        backend,
        &format!(
            "INSERT INTO rollup_requests (day, status, urgency, n, escalated) \
             SELECT {r_day}, r.status, r.urgency, COUNT(*), \
             SUM(CASE WHEN r.escalation_level > 0 THEN 1 ELSE 0 END) \
             FROM blood_requests r WHERE 1 = 1"
        ),
    );
    range(&mut q, "r.created_at");
    q.push(&format!(" GROUP BY {r_day}, r.status, r.urgency"));
    db.execute_raw(q.build()).await?;

    for (kind, at) in [("ACCEPT", "r.accepted_at"), ("FULFIL", "r.fulfilled_at")] {
        let m = minutes(backend, "r.created_at", at);
        let mut q = Sql::new(
            backend,
            &format!(
                "INSERT INTO rollup_request_minutes (day, kind, urgency, minutes, n) \
                 SELECT {r_day}, '{kind}', r.urgency, {m}, COUNT(*) \
                 FROM blood_requests r WHERE {at} IS NOT NULL"
            ),
        );
        range(&mut q, "r.created_at");
        q.push(&format!(" GROUP BY {r_day}, r.urgency, {m}"));
        db.execute_raw(q.build()).await?;
    }

    let mut q = Sql::new(
        backend,
        &format!(
            "INSERT INTO rollup_wastage (day, blood_bank_id, component, expired, discarded) \
             SELECT {e_day}, e.blood_bank_id, u.component, \
             SUM(CASE WHEN e.to_status = 'EXPIRED' THEN 1 ELSE 0 END), \
             SUM(CASE WHEN e.to_status = 'DISCARDED' THEN 1 ELSE 0 END) \
             FROM blood_unit_events e JOIN blood_units u ON u.id = e.unit_id \
             WHERE e.to_status IN ('EXPIRED', 'DISCARDED')"
        ),
    );
    range(&mut q, "e.created_at");
    q.push(&format!(" GROUP BY {e_day}, e.blood_bank_id, u.component"));
    db.execute_raw(q.build()).await?;

    let mut q = Sql::new(
        backend,
        &format!(
            "INSERT INTO rollup_issues (day, blood_group, component, issued) \
             SELECT {e_day}, u.blood_group, u.component, COUNT(*) \
             FROM blood_unit_events e JOIN blood_units u ON u.id = e.unit_id \
             WHERE e.to_status = 'ISSUED'"
        ),
    );
    range(&mut q, "e.created_at");
    q.push(&format!(" GROUP BY {e_day}, u.blood_group, u.component"));
    db.execute_raw(q.build()).await?;

    let d_day = day(backend, "d.collected_at");
    let mut q = Sql::new(
        backend,
        &format!(
            "INSERT INTO rollup_collections (day, blood_bank_id, camp_id, donations, units) \
             SELECT {d_day}, d.blood_bank_id, d.camp_id, COUNT(DISTINCT d.id), COUNT(u.id) \
             FROM donations d LEFT JOIN blood_units u ON u.donation_id = d.id WHERE 1 = 1"
        ),
    );
    range(&mut q, "d.collected_at");
    q.push(&format!(" GROUP BY {d_day}, d.blood_bank_id, d.camp_id"));
    db.execute_raw(q.build()).await?;

    let c_day = day(backend, "c.starts_at");
    let mut q = Sql::new(
        backend,
        &format!(
            "INSERT INTO rollup_camps (day, registrations, attended) \
             SELECT {c_day}, SUM(CASE WHEN cr.status <> 'CANCELLED' THEN 1 ELSE 0 END), \
             SUM(CASE WHEN cr.status = 'ATTENDED' THEN 1 ELSE 0 END) \
             FROM camp_registrations cr JOIN camps c ON c.id = cr.camp_id WHERE 1 = 1"
        ),
    );
    range(&mut q, "c.starts_at");
    q.push(&format!(" GROUP BY {c_day}"));
    db.execute_raw(q.build()).await?;
    Ok(())
}

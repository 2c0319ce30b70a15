//! `networkStats` as SQL: one grouped query per figure over the period, filtered to the
//! organization or city asked about.
//!
//! The whole network's figures read the rollups (`super::rollups`) for the whole UTC days of
//! the period the rollup job has closed — the monthly rollups for the whole UTC months among
//! them, the daily rollups for the closed days left at each end — and the base tables, over
//! indexed time ranges, for the rest (the partial days at each edge and the days since the
//! job last ran); each statement sums the three parts (`Split`). An organization's or a city's figures read the base
//! tables only (the rollups are not kept per organization).
//!
//! Percentiles use the nearest-rank definition on both databases (Postgres's
//! `percentile_cont` interpolates and SQLite has none): the p-th percentile of n ordered
//! durations is the smallest one whose cumulative count reaches p·n/100, i.e. the one at rank
//! ⌈p·n/100⌉. Durations are whole minutes (rounded to the nearest) between two stored
//! instants, so that they can be counted per minute in the rollups.

use crate::error::AppResult;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use entity::{BloodGroup, Component, RequestStatus, Urgency};
use sea_orm::{ActiveEnum, ConnectionTrait, DbBackend, QueryResult, Statement, Value};
use std::collections::BTreeMap;
use uuid::Uuid;

/// One live range `[from, to)` of a statement's branch; `None` when the period has none.
type Live = Option<(DateTime<Utc>, DateTime<Utc>)>;

/// What the figures are about.
#[derive(Debug, Clone)]
pub struct Scope {
    /// Created (requests), collected (donations), started (camps) or changed (wastage) in
    /// `[from, to)`.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// One organization's figures: a hospital's requests or a bank's (assigned), a bank's
    /// units and collections, an NGO's camps and their collections.
    pub organization: Option<Uuid>,
    /// Organizations (and camps) in this city, compared without case.
    pub city: Option<String>,
}

/// A statement under construction, with placeholders in the backend's style.
pub(crate) struct Sql {
    backend: DbBackend,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    pub(crate) fn new(backend: DbBackend, text: &str) -> Self {
        Self {
            backend,
            text: text.to_string(),
            values: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Appends a bound value.
    pub(crate) fn val(&mut self, v: impl Into<Value>) -> &mut Self {
        self.values.push(v.into());
        if self.backend == DbBackend::Postgres {
            let n = self.values.len();
            self.text.push_str(&format!("${n}"));
        } else {
            self.text.push('?');
        }
        self
    }

    /// The live part of a figure: `part` (a `SELECT … WHERE …` over the base tables, which
    /// calls [`Sql::range`] with the range it is given) once per live range of `split`,
    /// joined by `UNION ALL`, or once over no rows when there is none. One branch per range,
    /// rather than an `OR` of ranges, lets each read its own index range: Postgres cannot
    /// estimate an `OR` of a year's two ends and scanned whole indexes to answer it.
    fn live(&mut self, split: &Split, mut part: impl FnMut(&mut Self, Live)) -> &mut Self {
        if split.live.is_empty() {
            part(self, None);
        }
        for (i, range) in split.live.iter().enumerate() {
            if i > 0 {
                self.push(" UNION ALL ");
            }
            part(self, Some(*range));
        }
        self
    }

    /// `col` in a live range (no row when `None`).
    fn range(&mut self, col: &str, range: Live) -> &mut Self {
        match range {
            None => self.push(" AND 1 = 0"),
            Some((from, to)) => self
                .push(&format!(" AND {col} >= "))
                .val(from)
                .push(&format!(" AND {col} < "))
                .val(to),
        }
    }

    /// The rollups' part of a figure: `UNION ALL` of `daily` (a `SELECT … WHERE …` over a
    /// daily rollup) over the rolled days of `split` left at the ends, and of `monthly` (the
    /// same over its monthly twin) over its whole months; nothing when it has neither.
    fn rolled(&mut self, split: &Split, daily: &str, monthly: &str) -> &mut Self {
        if !split.days.is_empty() {
            self.push(" UNION ALL ").push(daily).days(&split.days);
        }
        if let Some(months) = &split.months {
            self.push(" UNION ALL ").push(monthly).months(months);
        }
        self
    }

    /// `day` of a daily rollup in one of the ranges `[from, to)` of days (at least one).
    fn days(&mut self, ranges: &[(NaiveDate, NaiveDate)]) -> &mut Self {
        self.push(" AND (");
        for (i, (from, to)) in ranges.iter().enumerate() {
            if i > 0 {
                self.push(" OR ");
            }
            self.push("day >= ")
                .val(day_text(*from))
                .push(" AND day < ")
                .val(day_text(*to));
        }
        self.push(")")
    }

    /// `month` of a monthly rollup in `[from, to)`, two first days of a month.
    fn months(&mut self, (from, to): &(NaiveDate, NaiveDate)) -> &mut Self {
        self.push(" AND month >= ")
            .val(month_text(*from))
            .push(" AND month < ")
            .val(month_text(*to))
    }

    /// Rows of the organizations in the scope's city, by the column holding an organization.
    fn city(&mut self, col: &str, s: &Scope) -> &mut Self {
        if let Some(city) = &s.city {
            self.push(&format!(
                " AND {col} IN (SELECT id FROM organizations WHERE LOWER(city) = "
            ))
            .val(city.to_lowercase())
            .push(")");
        }
        self
    }

    pub(crate) fn build(self) -> Statement {
        Statement::from_sql_and_values(self.backend, self.text, self.values)
    }
}

/// Whole minutes (rounded to the nearest) from `a` to `b`, two instants, in the backend's
/// dialect.
pub(crate) fn minutes(backend: DbBackend, from: &str, to: &str) -> String {
    match backend {
        DbBackend::Postgres => format!(
            "CAST(ROUND(CAST(EXTRACT(EPOCH FROM ({to} - {from})) AS DOUBLE PRECISION) / 60.0) AS BIGINT)"
        ),
        _ => format!("CAST(ROUND((julianday({to}) - julianday({from})) * 1440.0) AS BIGINT)"),
    }
}

/// The UTC day (`YYYY-MM-DD`) of an instant, as the rollups key it.
pub(crate) fn day(backend: DbBackend, col: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"),
        _ => format!("substr({col}, 1, 10)"),
    }
}

/// A rollup's `day`.
pub(crate) fn day_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A monthly rollup's `month` (`YYYY-MM`): the month of `d`.
pub(crate) fn month_text(d: NaiveDate) -> String {
    d.format("%Y-%m").to_string()
}

/// The first day of `d`'s month.
pub(crate) fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

/// The first day of the month after `d`'s.
pub(crate) fn next_month(d: NaiveDate) -> NaiveDate {
    month_start(d)
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(NaiveDate::MAX)
}

/// The instant a UTC day starts.
pub(crate) fn midnight(d: NaiveDate) -> DateTime<Utc> {
    d.and_time(chrono::NaiveTime::MIN).and_utc()
}

/// How a period `[from, to)` is read: whole months from the monthly rollups, the other
/// whole days the rollups hold from the daily rollups, the rest live.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Split {
    /// Whole UTC months `[first, end)` (first days of months) the monthly rollups answer for.
    months: Option<(NaiveDate, NaiveDate)>,
    /// Whole UTC days `[first, end)` the daily rollups answer for: at most one range on each
    /// side of the months.
    days: Vec<(NaiveDate, NaiveDate)>,
    /// Instants `[from, to)` read from the base tables.
    live: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

impl Split {
    /// `rolled_through`: the daily rollups hold every day before it, the monthly ones every
    /// month wholly before it (none when `None`).
    pub(crate) fn of(
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        rolled_through: Option<NaiveDate>,
    ) -> Self {
        let mut first = from.date_naive();
        if midnight(first) < from {
            first = first.succ_opt().unwrap_or(first);
        }
        let end = rolled_through.map(|r| r.min(to.date_naive()));
        match end {
            Some(end) if first < end => {
                let mut live = Vec::new();
                if from < midnight(first) {
                    live.push((from, midnight(first)));
                }
                if midnight(end) < to {
                    live.push((midnight(end), to));
                }
                let (m0, m1) = (
                    if first.day() == 1 {
                        first
                    } else {
                        next_month(first)
                    },
                    month_start(end),
                );
                if m0 < m1 {
                    Self {
                        months: Some((m0, m1)),
                        days: [(first, m0), (m1, end)]
                            .into_iter()
                            .filter(|(a, b)| a < b)
                            .collect(),
                        live,
                    }
                } else {
                    Self {
                        months: None,
                        days: vec![(first, end)],
                        live,
                    }
                }
            }
            _ => Self {
                months: None,
                days: vec![],
                live: if from < to { vec![(from, to)] } else { vec![] },
            },
        }
    }
}

/// The UTC month (`YYYY-MM`) of an instant.
fn month(backend: DbBackend, col: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM')"),
        // Stored as text in UTC (`YYYY-MM-DD HH:MM:SS…+00:00`).
        _ => format!("substr({col}, 1, 7)"),
    }
}

fn get<T: sea_orm::TryGetable>(row: &QueryResult, col: &str) -> AppResult<T> {
    Ok(row.try_get("", col)?)
}

/// A stored enum, read by its wire name.
fn enum_of<E: ActiveEnum<Value = String>>(row: &QueryResult, col: &str) -> AppResult<E> {
    let raw: String = get(row, col)?;
    Ok(E::try_from_value(&raw)?)
}

/// Requests created in the period, by status and urgency.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestFigures {
    pub total: i64,
    pub by_status: Vec<(RequestStatus, i64)>,
    pub by_urgency: Vec<(Urgency, i64)>,
    pub escalated: i64,
    /// Fulfilled ÷ no longer pending; 0 when none.
    pub fulfilment_rate: f64,
    pub time_to_accept: Vec<Percentiles>,
    pub time_to_fulfil: Vec<Percentiles>,
}

/// p50 and p90 of one urgency's durations, in minutes.
#[derive(Debug, Clone, PartialEq)]
pub struct Percentiles {
    pub urgency: Urgency,
    pub p50: f64,
    pub p90: f64,
}

/// Expired and discarded units of one component at one bank.
#[derive(Debug, Clone, PartialEq)]
pub struct Wastage {
    pub component: Component,
    pub bank: Uuid,
    pub expired: i64,
    pub discarded: i64,
}

/// Donations and their units of one month at one bank (and camp, if collected at one).
#[derive(Debug, Clone, PartialEq)]
pub struct Collection {
    pub month: String,
    pub bank: Uuid,
    pub camp: Option<Uuid>,
    pub donations: i64,
    pub units: i64,
}

/// Available units over the average daily issue of the last 30 days, per group and
/// component; `None` when nothing was issued.
#[derive(Debug, Clone, PartialEq)]
pub struct StockDays {
    pub blood_group: BloodGroup,
    pub component: Component,
    pub days: Option<f64>,
}

/// Every figure of `networkStats`.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub requests: RequestFigures,
    pub wastage: Vec<Wastage>,
    pub collections: Vec<Collection>,
    pub registrations: i64,
    pub attended: i64,
    pub stock: Vec<StockDays>,
}

/// Computes every figure (nine statements), the whole network's from the rollups where
/// they are kept.
pub async fn stats<C: ConnectionTrait>(db: &C, s: &Scope) -> AppResult<Stats> {
    let rolled_through = if s.organization.is_none() && s.city.is_none() {
        super::rollups::rolled_through(db).await?
    } else {
        None
    };
    stats_with(db, s, rolled_through).await
}

/// Every figure, from the rollups for the days before `rolled_through` (from the base
/// tables alone when `None`).
pub async fn stats_with<C: ConnectionTrait>(
    db: &C,
    s: &Scope,
    rolled_through: Option<NaiveDate>,
) -> AppResult<Stats> {
    let split = Split::of(s.from, s.to, rolled_through);
    let now = Utc::now();
    // The issues of the last 30 days, for days of stock.
    let recent = Split::of(
        now - Duration::days(30) + Duration::microseconds(1),
        now + Duration::days(1),
        rolled_through,
    );
    Ok(Stats {
        requests: requests(db, s, &split).await?,
        wastage: wastage(db, s, &split).await?,
        collections: collections(db, s, &split).await?,
        registrations: 0,
        attended: 0,
        stock: stock(db, s, now, &recent).await?,
    }
    .with_camps(camps(db, s, &split).await?))
}

impl Stats {
    fn with_camps(mut self, (registrations, attended): (i64, i64)) -> Self {
        self.registrations = registrations;
        self.attended = attended;
        self
    }
}

/// The requests the scope covers in one live range, as a condition on `r`.
fn request_scope(q: &mut Sql, s: &Scope, range: Live) {
    q.range("r.created_at", range);
    if let Some(org) = s.organization {
        q.push(" AND (r.hospital_id = ")
            .val(org)
            .push(" OR r.blood_bank_id = ")
            .val(org)
            .push(")");
    }
    q.city("r.hospital_id", s);
}

async fn requests<C: ConnectionTrait>(
    db: &C,
    s: &Scope,
    split: &Split,
) -> AppResult<RequestFigures> {
    let backend = db.get_database_backend();
    let mut q = Sql::new(
        backend,
        "SELECT status, urgency, CAST(SUM(n) AS BIGINT) AS n, \
         CAST(SUM(escalated) AS BIGINT) AS escalated FROM (",
    );
    q.live(split, |q, range| {
        q.push(
            "SELECT r.status AS status, r.urgency AS urgency, COUNT(*) AS n, \
             SUM(CASE WHEN r.escalation_level > 0 THEN 1 ELSE 0 END) AS escalated \
             FROM blood_requests r WHERE 1 = 1",
        );
        request_scope(q, s, range);
        q.push(" GROUP BY r.status, r.urgency");
    });
    q.rolled(
        split,
        "SELECT status, urgency, n, escalated FROM rollup_requests WHERE 1 = 1",
        "SELECT status, urgency, n, escalated FROM rollup_requests_monthly WHERE 1 = 1",
    );
    q.push(") t GROUP BY status, urgency");
    let mut by_status: BTreeMap<String, (RequestStatus, i64)> = BTreeMap::new();
    let mut by_urgency: BTreeMap<i32, (Urgency, i64)> = BTreeMap::new();
    let mut f = RequestFigures::default();
    let (mut fulfilled, mut pending) = (0, 0);
    for row in db.query_all_raw(q.build()).await? {
        let status: RequestStatus = enum_of(&row, "status")?;
        let urgency: Urgency = enum_of(&row, "urgency")?;
        let n: i64 = get(&row, "n")?;
        f.total += n;
        f.escalated += get::<Option<i64>>(&row, "escalated")?.unwrap_or(0);
        by_status
            .entry(entity::WireName::wire_name(&status))
            .or_insert((status, 0))
            .1 += n;
        by_urgency.entry(rank(urgency)).or_insert((urgency, 0)).1 += n;
        match status {
            RequestStatus::Fulfilled => fulfilled += n,
            RequestStatus::Pending => pending += n,
            _ => {}
        }
    }
    let settled = f.total - pending;
    f.fulfilment_rate = if settled > 0 {
        fulfilled as f64 / settled as f64
    } else {
        0.0
    };
    f.by_status = by_status.into_values().collect();
    f.by_urgency = by_urgency.into_values().collect();
    f.time_to_accept = percentiles(db, s, split, "r.accepted_at", "ACCEPT").await?;
    f.time_to_fulfil = percentiles(db, s, split, "r.fulfilled_at", "FULFIL").await?;
    Ok(f)
}

/// Most urgent first.
fn rank(u: Urgency) -> i32 {
    match u {
        Urgency::Critical => 0,
        Urgency::Emergency => 1,
        Urgency::Urgent => 2,
        Urgency::Routine => 3,
    }
}

/// The percentiles asked of every duration, in percent.
const PERCENTILES: [i64; 2] = [50, 90];

/// An hour bucket a percentile falls in: its urgency and bucket (`minutes / 60`, truncated),
/// how many durations of the urgency come before the bucket, and how many there are.
struct Crossing {
    urgency: Urgency,
    bucket: i64,
    before: i64,
    total: i64,
}

impl Crossing {
    /// The minutes the bucket holds, both ends included (integer division truncates toward
    /// zero, so bucket 0 also holds the minutes from -59).
    fn minutes(&self) -> (i64, i64) {
        let b = self.bucket * 60;
        match self.bucket {
            0 => (-59, 59),
            x if x > 0 => (b, b + 59),
            _ => (b - 59, b),
        }
    }
}

/// p50 and p90 (nearest rank) of the whole minutes from creation to `at`, per urgency, over
/// the requests of the period that reached it, in two grouped statements. First the
/// histogram of hour buckets per urgency (the live requests, the daily rollups' minutes and
/// the monthly rollups' buckets of `kind`), cumulated, keeping the bucket where each
/// percentile's rank p·n/100 is reached and the count before it; then the minutes of those
/// buckets only, in which the rank is counted on to its minute. A year of the network reads
/// a few hundred bucket rows and a few hundred minute rows.
async fn percentiles<C: ConnectionTrait>(
    db: &C,
    s: &Scope,
    split: &Split,
    at: &str,
    kind: &str,
) -> AppResult<Vec<Percentiles>> {
    let backend = db.get_database_backend();
    let m = minutes(backend, "r.created_at", at);
    let mut q = Sql::new(backend, "WITH h AS (SELECT urgency, b, SUM(n) AS n FROM (");
    q.live(split, |q, range| {
        q.push(&format!(
            "SELECT r.urgency AS urgency, ({m}) / 60 AS b, 1 AS n FROM blood_requests r \
             WHERE {at} IS NOT NULL"
        ));
        request_scope(q, s, range);
    });
    // `kind` is one of two constants of this module.
    q.rolled(
        split,
        &format!(
            "SELECT urgency, minutes / 60 AS b, n FROM rollup_request_minutes WHERE kind = '{kind}'"
        ),
        &format!(
            "SELECT urgency, bucket AS b, n FROM rollup_request_buckets_monthly \
             WHERE kind = '{kind}'"
        ),
    );
    let crossed: Vec<String> = PERCENTILES
        .iter()
        .map(|p| format!("(100 * cum >= {p} * total AND 100 * (cum - n) < {p} * total)"))
        .collect();
    q.push(&format!(
        ") t GROUP BY urgency, b), \
         c AS (SELECT urgency, b, n, SUM(n) OVER (PARTITION BY urgency ORDER BY b) AS cum, \
         SUM(n) OVER (PARTITION BY urgency) AS total FROM h) \
         SELECT urgency, CAST(b AS BIGINT) AS b, CAST(cum - n AS BIGINT) AS before, \
         CAST(total AS BIGINT) AS total FROM c WHERE {}",
        crossed.join(" OR ")
    ));
    let mut crossings = Vec::new();
    for row in db.query_all_raw(q.build()).await? {
        crossings.push(Crossing {
            urgency: enum_of(&row, "urgency")?,
            bucket: get(&row, "b")?,
            before: get(&row, "before")?,
            total: get(&row, "total")?,
        });
    }
    if crossings.is_empty() {
        return Ok(Vec::new());
    }
    // The minutes of the crossed buckets: urgency names are the enum's wire names and the
    // bounds integers, so the condition is written out.
    let within = |col: &str| {
        let any: Vec<String> = crossings
            .iter()
            .map(|c| {
                let (lo, hi) = c.minutes();
                format!(
                    "(urgency = '{}' AND {col} BETWEEN {lo} AND {hi})",
                    entity::WireName::wire_name(&c.urgency)
                )
            })
            .collect();
        format!(" AND ({})", any.join(" OR "))
    };
    let mut q = Sql::new(
        backend,
        "SELECT urgency, CAST(m AS BIGINT) AS m, CAST(SUM(n) AS BIGINT) AS n FROM (",
    );
    q.live(split, |q, range| {
        q.push(&format!(
            "SELECT urgency, m, n FROM (SELECT r.urgency AS urgency, {m} AS m, 1 AS n \
             FROM blood_requests r WHERE {at} IS NOT NULL"
        ));
        request_scope(q, s, range);
        q.push(&format!(") l WHERE 1 = 1{}", within("m")));
    });
    q.rolled(
        split,
        &format!(
            "SELECT urgency, minutes AS m, n FROM rollup_request_minutes WHERE kind = '{kind}'{}",
            within("minutes")
        ),
        &format!(
            "SELECT urgency, minutes AS m, n FROM rollup_request_minutes_monthly \
             WHERE kind = '{kind}'{}",
            within("minutes")
        ),
    );
    q.push(") t GROUP BY urgency, m ORDER BY urgency, m");
    let mut counts: Vec<(Urgency, i64, i64)> = Vec::new();
    for row in db.query_all_raw(q.build()).await? {
        counts.push((enum_of(&row, "urgency")?, get(&row, "m")?, get(&row, "n")?));
    }
    let mut out: BTreeMap<i32, Percentiles> = BTreeMap::new();
    for c in &crossings {
        let (lo, hi) = c.minutes();
        let mut seen = c.before;
        for (_, minute, n) in counts
            .iter()
            .filter(|(u, m, _)| *u == c.urgency && (lo..=hi).contains(m))
        {
            seen += n;
            for p in PERCENTILES {
                let reached = 100 * seen >= p * c.total && 100 * (seen - n) < p * c.total;
                if reached {
                    let e = out.entry(rank(c.urgency)).or_insert(Percentiles {
                        urgency: c.urgency,
                        p50: 0.0,
                        p90: 0.0,
                    });
                    if p == 50 {
                        e.p50 = *minute as f64;
                    } else {
                        e.p90 = *minute as f64;
                    }
                }
            }
        }
    }
    Ok(out.into_values().collect())
}

/// Units of the scope's banks, by the column holding their bank.
fn bank_scope(q: &mut Sql, col: &str, s: &Scope) {
    if let Some(org) = s.organization {
        q.push(&format!(" AND {col} = ")).val(org);
    }
    q.city(col, s);
}

async fn wastage<C: ConnectionTrait>(db: &C, s: &Scope, split: &Split) -> AppResult<Vec<Wastage>> {
    let mut q = Sql::new(
        db.get_database_backend(),
        "SELECT component, bank, CAST(SUM(expired) AS BIGINT) AS expired, \
         CAST(SUM(discarded) AS BIGINT) AS discarded FROM (",
    );
    q.live(split, |q, range| {
        q.push(
            "SELECT u.component AS component, e.blood_bank_id AS bank, \
             SUM(CASE WHEN e.to_status = 'EXPIRED' THEN 1 ELSE 0 END) AS expired, \
             SUM(CASE WHEN e.to_status = 'DISCARDED' THEN 1 ELSE 0 END) AS discarded \
             FROM blood_unit_events e JOIN blood_units u ON u.id = e.unit_id \
             WHERE e.to_status IN ('EXPIRED', 'DISCARDED')",
        )
        .range("e.created_at", range);
        bank_scope(q, "e.blood_bank_id", s);
        q.push(" GROUP BY u.component, e.blood_bank_id");
    });
    q.rolled(
        split,
        "SELECT component, blood_bank_id AS bank, expired, discarded \
         FROM rollup_wastage WHERE 1 = 1",
        "SELECT component, blood_bank_id AS bank, expired, discarded \
         FROM rollup_wastage_monthly WHERE 1 = 1",
    );
    q.push(") t GROUP BY component, bank ORDER BY bank, component");
    let mut out = Vec::new();
    for row in db.query_all_raw(q.build()).await? {
        out.push(Wastage {
            component: enum_of(&row, "component")?,
            bank: get(&row, "bank")?,
            expired: get::<Option<i64>>(&row, "expired")?.unwrap_or(0),
            discarded: get::<Option<i64>>(&row, "discarded")?.unwrap_or(0),
        });
    }
    Ok(out)
}

async fn collections<C: ConnectionTrait>(
    db: &C,
    s: &Scope,
    split: &Split,
) -> AppResult<Vec<Collection>> {
    let backend = db.get_database_backend();
    let m = month(backend, "d.collected_at");
    let mut q = Sql::new(
        backend,
        "SELECT month, bank, camp, CAST(SUM(donations) AS BIGINT) AS donations, \
         CAST(SUM(units) AS BIGINT) AS units FROM (",
    );
    q.live(split, |q, range| {
        q.push(&format!(
            "SELECT {m} AS month, d.blood_bank_id AS bank, d.camp_id AS camp, \
             COUNT(*) AS donations, \
             SUM((SELECT COUNT(*) FROM blood_units u WHERE u.donation_id = d.id)) AS units \
             FROM donations d WHERE 1 = 1"
        ))
        .range("d.collected_at", range);
        if let Some(org) = s.organization {
            q.push(" AND (d.blood_bank_id = ")
                .val(org)
                .push(" OR d.camp_id IN (SELECT id FROM camps WHERE organization_id = ")
                .val(org)
                .push("))");
        }
        q.city("d.blood_bank_id", s);
        q.push(&format!(" GROUP BY {m}, d.blood_bank_id, d.camp_id"));
    });
    q.rolled(
        split,
        "SELECT substr(day, 1, 7) AS month, blood_bank_id AS bank, \
         camp_id AS camp, donations, units FROM rollup_collections WHERE 1 = 1",
        "SELECT month, blood_bank_id AS bank, \
         camp_id AS camp, donations, units FROM rollup_collections_monthly WHERE 1 = 1",
    );
    q.push(") t GROUP BY month, bank, camp ORDER BY 1, 2, 3");
    let mut out = Vec::new();
    for row in db.query_all_raw(q.build()).await? {
        out.push(Collection {
            month: get(&row, "month")?,
            bank: get(&row, "bank")?,
            camp: get(&row, "camp")?,
            donations: get(&row, "donations")?,
            units: get(&row, "units")?,
        });
    }
    Ok(out)
}

/// Registrations (every one not withdrawn) and attendances of the camps starting in the
/// period.
async fn camps<C: ConnectionTrait>(db: &C, s: &Scope, split: &Split) -> AppResult<(i64, i64)> {
    let mut q = Sql::new(
        db.get_database_backend(),
        "SELECT CAST(SUM(registrations) AS BIGINT) AS registrations, \
         CAST(SUM(attended) AS BIGINT) AS attended FROM (",
    );
    q.live(split, |q, range| {
        q.push(
            "SELECT SUM(CASE WHEN cr.status <> 'CANCELLED' THEN 1 ELSE 0 END) AS registrations, \
             SUM(CASE WHEN cr.status = 'ATTENDED' THEN 1 ELSE 0 END) AS attended \
             FROM camp_registrations cr JOIN camps c ON c.id = cr.camp_id WHERE 1 = 1",
        )
        .range("c.starts_at", range);
        if let Some(org) = s.organization {
            q.push(" AND (c.organization_id = ")
                .val(org)
                .push(" OR c.blood_bank_id = ")
                .val(org)
                .push(")");
        }
        if let Some(city) = &s.city {
            q.push(" AND LOWER(c.city) = ").val(city.to_lowercase());
        }
    });
    q.rolled(
        split,
        "SELECT registrations, attended FROM rollup_camps WHERE 1 = 1",
        "SELECT registrations, attended FROM rollup_camps_monthly WHERE 1 = 1",
    );
    q.push(") t");
    let row = db.query_one_raw(q.build()).await?;
    Ok(match row {
        Some(r) => (
            get::<Option<i64>>(&r, "registrations")?.unwrap_or(0),
            get::<Option<i64>>(&r, "attended")?.unwrap_or(0),
        ),
        None => (0, 0),
    })
}

/// Days of stock now, per group and component, over the scope's banks (as `stockLevels`
/// defines it for one bank: available ÷ average daily issue over the last 30 days). The
/// available units are the kept counts (`blood_stock_counts`) less the available units
/// already past their expiry; the issues of the last 30 days come from `recent`.
async fn stock<C: ConnectionTrait>(
    db: &C,
    s: &Scope,
    now: DateTime<Utc>,
    recent: &Split,
) -> AppResult<Vec<StockDays>> {
    let mut q = Sql::new(
        db.get_database_backend(),
        "SELECT g, c, CAST(SUM(available) AS BIGINT) AS available, \
         CAST(SUM(issued) AS BIGINT) AS issued FROM (\
         SELECT k.blood_group AS g, k.component AS c, SUM(k.available) AS available, \
         0 AS issued FROM blood_stock_counts k WHERE 1 = 1",
    );
    bank_scope(&mut q, "k.blood_bank_id", s);
    // Only the counts whose soonest expiry has passed hold available units past their
    // expiry (the sweep moves them out soon after): their units are found through the
    // bank, component, status and group of the count, never by scanning every expiry.
    q.push(
        " GROUP BY k.blood_group, k.component UNION ALL \
         SELECT u.blood_group AS g, u.component AS c, 0 - COUNT(*) AS available, 0 AS issued \
         FROM blood_stock_counts x JOIN blood_units u ON u.blood_bank_id = x.blood_bank_id \
         AND u.component = x.component AND u.status = 'AVAILABLE' \
         AND u.blood_group = x.blood_group AND u.expires_at <= ",
    )
    .val(now)
    .push(" WHERE x.soonest_expiry <= ")
    .val(now);
    bank_scope(&mut q, "x.blood_bank_id", s);
    q.push(" GROUP BY u.blood_group, u.component UNION ALL ");
    q.live(recent, |q, range| {
        q.push(
            "SELECT u.blood_group AS g, u.component AS c, 0 AS available, COUNT(*) AS issued \
             FROM blood_unit_events e JOIN blood_units u ON u.id = e.unit_id \
             WHERE e.to_status = 'ISSUED'",
        )
        .range("e.created_at", range);
        bank_scope(q, "e.blood_bank_id", s);
        q.push(" GROUP BY u.blood_group, u.component");
    });
    q.rolled(
        recent,
        "SELECT blood_group AS g, component AS c, 0 AS available, issued \
         FROM rollup_issues WHERE 1 = 1",
        "SELECT blood_group AS g, component AS c, 0 AS available, issued \
         FROM rollup_issues_monthly WHERE 1 = 1",
    );
    q.push(") t GROUP BY g, c HAVING SUM(available) > 0 OR SUM(issued) > 0 ORDER BY c, g");
    let mut out = Vec::new();
    for row in db.query_all_raw(q.build()).await? {
        let available: i64 = get::<Option<i64>>(&row, "available")?.unwrap_or(0);
        let issued: i64 = get::<Option<i64>>(&row, "issued")?.unwrap_or(0);
        out.push(StockDays {
            blood_group: enum_of(&row, "g")?,
            component: enum_of(&row, "c")?,
            days: (issued > 0).then(|| available as f64 * 30.0 / issued as f64),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a date")
    }

    #[test]
    fn a_period_from_mid_month_to_mid_month_reads_whole_months_monthly_and_the_ends_daily() {
        // Arrange: mid-November 2025 at 06:00 to mid-February 2026 at 06:00, all rolled.
        let (from, to) = (at(2025, 11, 15, 6), at(2026, 2, 10, 6));

        // Act
        let split = Split::of(from, to, Some(day(2026, 3, 1)));

        // Assert
        assert_eq!(split.months, Some((day(2025, 12, 1), day(2026, 2, 1))));
        assert_eq!(
            split.days,
            vec![
                (day(2025, 11, 16), day(2025, 12, 1)),
                (day(2026, 2, 1), day(2026, 2, 10))
            ]
        );
        assert_eq!(
            split.live,
            vec![(from, at(2025, 11, 16, 0)), (at(2026, 2, 10, 0), to)]
        );
    }

    #[test]
    fn months_stop_at_the_month_rolled_through_falls_in_and_the_rest_is_live() {
        // Arrange: a year to a time after `rolled_through` (20 March).
        let (from, to) = (at(2025, 4, 1, 0), at(2026, 4, 1, 0));

        // Act
        let split = Split::of(from, to, Some(day(2026, 3, 20)));

        // Assert
        assert_eq!(split.months, Some((day(2025, 4, 1), day(2026, 3, 1))));
        assert_eq!(split.days, vec![(day(2026, 3, 1), day(2026, 3, 20))]);
        assert_eq!(split.live, vec![(at(2026, 3, 20, 0), to)]);
    }

    #[test]
    fn a_period_inside_one_month_reads_days_only() {
        // Arrange
        let (from, to) = (at(2026, 1, 30, 6), at(2026, 2, 2, 6));

        // Act
        let split = Split::of(from, to, Some(day(2026, 3, 1)));

        // Assert
        assert_eq!(split.months, None);
        assert_eq!(split.days, vec![(day(2026, 1, 31), day(2026, 2, 2))]);
    }
}

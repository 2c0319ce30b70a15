//! `networkStats` as SQL: one grouped query per figure over the period, filtered to the
//! organization or city asked about.
//!
//! Percentiles use the nearest-rank definition on both databases (Postgres's
//! `percentile_cont` interpolates and SQLite has none): the p-th percentile of n ordered
//! durations is the one at rank ⌈p·n/100⌉, picked with `ROW_NUMBER()` and `COUNT()` window
//! functions. Durations are minutes between two stored instants.

use crate::error::AppResult;
use chrono::{DateTime, Duration, Utc};
use entity::{BloodGroup, Component, RequestStatus, Urgency};
use sea_orm::{ActiveEnum, ConnectionTrait, DbBackend, QueryResult, Statement, Value};
use std::collections::BTreeMap;
use uuid::Uuid;

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
struct Sql {
    backend: DbBackend,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    fn new(backend: DbBackend, text: &str) -> Self {
        Self {
            backend,
            text: text.to_string(),
            values: Vec::new(),
        }
    }

    fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Appends a bound value.
    fn val(&mut self, v: impl Into<Value>) -> &mut Self {
        self.values.push(v.into());
        if self.backend == DbBackend::Postgres {
            let n = self.values.len();
            self.text.push_str(&format!("${n}"));
        } else {
            self.text.push('?');
        }
        self
    }

    fn period(&mut self, col: &str, s: &Scope) -> &mut Self {
        self.push(&format!(" AND {col} >= "))
            .val(s.from)
            .push(&format!(" AND {col} < "))
            .val(s.to)
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

    fn build(self) -> Statement {
        Statement::from_sql_and_values(self.backend, self.text, self.values)
    }
}

/// Minutes from `a` to `b`, two instants, in the backend's dialect.
fn minutes(backend: DbBackend, from: &str, to: &str) -> String {
    match backend {
        DbBackend::Postgres => {
            format!("CAST(EXTRACT(EPOCH FROM ({to} - {from})) AS DOUBLE PRECISION) / 60.0")
        }
        _ => format!("(julianday({to}) - julianday({from})) * 1440.0"),
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

/// Computes every figure (seven statements).
pub async fn stats<C: ConnectionTrait>(db: &C, s: &Scope) -> AppResult<Stats> {
    Ok(Stats {
        requests: requests(db, s).await?,
        wastage: wastage(db, s).await?,
        collections: collections(db, s).await?,
        registrations: 0,
        attended: 0,
        stock: stock(db, s, Utc::now()).await?,
    }
    .with_camps(camps(db, s).await?))
}

impl Stats {
    fn with_camps(mut self, (registrations, attended): (i64, i64)) -> Self {
        self.registrations = registrations;
        self.attended = attended;
        self
    }
}

/// The requests the scope covers, as a condition on `r`.
fn request_scope(q: &mut Sql, s: &Scope) {
    q.period("r.created_at", s);
    if let Some(org) = s.organization {
        q.push(" AND (r.hospital_id = ")
            .val(org)
            .push(" OR r.blood_bank_id = ")
            .val(org)
            .push(")");
    }
    q.city("r.hospital_id", s);
}

async fn requests<C: ConnectionTrait>(db: &C, s: &Scope) -> AppResult<RequestFigures> {
    let backend = db.get_database_backend();
    let mut q = Sql::new(
        backend,
        "SELECT r.status AS status, r.urgency AS urgency, COUNT(*) AS n, \
         SUM(CASE WHEN r.escalation_level > 0 THEN 1 ELSE 0 END) AS escalated \
         FROM blood_requests r WHERE 1 = 1",
    );
    request_scope(&mut q, s);
    q.push(" GROUP BY r.status, r.urgency");
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
    f.time_to_accept = percentiles(db, s, "r.accepted_at").await?;
    f.time_to_fulfil = percentiles(db, s, "r.fulfilled_at").await?;
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

/// p50 and p90 (nearest rank) of the minutes from creation to `at`, per urgency, over the
/// requests of the period that reached it.
async fn percentiles<C: ConnectionTrait>(
    db: &C,
    s: &Scope,
    at: &str,
) -> AppResult<Vec<Percentiles>> {
    let backend = db.get_database_backend();
    let mut q = Sql::new(
        backend,
        &format!(
            "WITH d AS (SELECT r.urgency AS urgency, {} AS m FROM blood_requests r \
             WHERE {at} IS NOT NULL",
            minutes(backend, "r.created_at", at)
        ),
    );
    request_scope(&mut q, s);
    q.push(
        "), o AS (SELECT urgency, m, \
         ROW_NUMBER() OVER (PARTITION BY urgency ORDER BY m) AS rn, \
         COUNT(*) OVER (PARTITION BY urgency) AS n FROM d) \
         SELECT urgency, \
         MAX(CASE WHEN rn = (50 * n + 99) / 100 THEN m END) AS p50, \
         MAX(CASE WHEN rn = (90 * n + 99) / 100 THEN m END) AS p90 \
         FROM o GROUP BY urgency",
    );
    let mut out = Vec::new();
    for row in db.query_all_raw(q.build()).await? {
        out.push(Percentiles {
            urgency: enum_of(&row, "urgency")?,
            p50: round(get::<Option<f64>>(&row, "p50")?.unwrap_or(0.0)),
            p90: round(get::<Option<f64>>(&row, "p90")?.unwrap_or(0.0)),
        });
    }
    out.sort_by_key(|p| rank(p.urgency));
    Ok(out)
}

/// To a hundredth of a minute (julianday arithmetic leaves noise below that).
fn round(m: f64) -> f64 {
    (m * 100.0).round() / 100.0
}

/// Units of the scope's banks, by the column holding their bank.
fn bank_scope(q: &mut Sql, col: &str, s: &Scope) {
    if let Some(org) = s.organization {
        q.push(&format!(" AND {col} = ")).val(org);
    }
    q.city(col, s);
}

async fn wastage<C: ConnectionTrait>(db: &C, s: &Scope) -> AppResult<Vec<Wastage>> {
    let mut q = Sql::new(
        db.get_database_backend(),
        "SELECT u.component AS component, e.blood_bank_id AS bank, \
         SUM(CASE WHEN e.to_status = 'EXPIRED' THEN 1 ELSE 0 END) AS expired, \
         SUM(CASE WHEN e.to_status = 'DISCARDED' THEN 1 ELSE 0 END) AS discarded \
         FROM blood_unit_events e JOIN blood_units u ON u.id = e.unit_id \
         WHERE e.to_status IN ('EXPIRED', 'DISCARDED')",
    );
    q.period("e.created_at", s);
    bank_scope(&mut q, "e.blood_bank_id", s);
    q.push(" GROUP BY u.component, e.blood_bank_id ORDER BY e.blood_bank_id, u.component");
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

async fn collections<C: ConnectionTrait>(db: &C, s: &Scope) -> AppResult<Vec<Collection>> {
    let backend = db.get_database_backend();
    let m = month(backend, "d.collected_at");
    let mut q = Sql::new(
        backend,
        &format!(
            "SELECT {m} AS month, d.blood_bank_id AS bank, d.camp_id AS camp, \
             COUNT(DISTINCT d.id) AS donations, COUNT(u.id) AS units \
             FROM donations d LEFT JOIN blood_units u ON u.donation_id = d.id WHERE 1 = 1"
        ),
    );
    q.period("d.collected_at", s);
    if let Some(org) = s.organization {
        q.push(" AND (d.blood_bank_id = ")
            .val(org)
            .push(" OR d.camp_id IN (SELECT id FROM camps WHERE organization_id = ")
            .val(org)
            .push("))");
    }
    q.city("d.blood_bank_id", s);
    q.push(&format!(
        " GROUP BY {m}, d.blood_bank_id, d.camp_id ORDER BY 1, 2, 3"
    ));
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
async fn camps<C: ConnectionTrait>(db: &C, s: &Scope) -> AppResult<(i64, i64)> {
    let mut q = Sql::new(
        db.get_database_backend(),
        "SELECT SUM(CASE WHEN cr.status <> 'CANCELLED' THEN 1 ELSE 0 END) AS registrations, \
         SUM(CASE WHEN cr.status = 'ATTENDED' THEN 1 ELSE 0 END) AS attended \
         FROM camp_registrations cr JOIN camps c ON c.id = cr.camp_id WHERE 1 = 1",
    );
    q.period("c.starts_at", s);
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
/// defines it for one bank: available ÷ average daily issue over the last 30 days).
async fn stock<C: ConnectionTrait>(
    db: &C,
    s: &Scope,
    now: DateTime<Utc>,
) -> AppResult<Vec<StockDays>> {
    let mut q = Sql::new(
        db.get_database_backend(),
        "SELECT g, c, CAST(SUM(available) AS BIGINT) AS available, \
         CAST(SUM(issued) AS BIGINT) AS issued FROM (\
         SELECT u.blood_group AS g, u.component AS c, COUNT(*) AS available, 0 AS issued \
         FROM blood_units u WHERE u.status = 'AVAILABLE' AND u.expires_at > ",
    );
    q.val(now);
    bank_scope(&mut q, "u.blood_bank_id", s);
    q.push(
        " GROUP BY u.blood_group, u.component UNION ALL \
         SELECT u.blood_group AS g, u.component AS c, 0 AS available, COUNT(*) AS issued \
         FROM blood_unit_events e JOIN blood_units u ON u.id = e.unit_id \
         WHERE e.to_status = 'ISSUED' AND e.created_at > ",
    )
    .val(now - Duration::days(30));
    bank_scope(&mut q, "e.blood_bank_id", s);
    q.push(" GROUP BY u.blood_group, u.component) t GROUP BY g, c ORDER BY c, g");
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

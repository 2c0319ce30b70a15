//! The blood network at scale: `blood-search`, `blood-page` and `blood-accept`.
//!
//! The data set is the server's own generator (`lifeflow::seed::scale::run_sized`): `--banks`
//! blood banks with `--units-per-bank` units each (500 by default), a quarter as many hospitals, 250 requests per bank,
//! one admin per organization. It is loaded straight into the fresh database (then
//! `VACUUM ANALYZE`), and the scenarios drive the in-process server over HTTP as those
//! admins.

use crate::{
    Args, DbKind, Scenario, load,
    setup::{self, PASSWORD, Res},
    tally::{Tally, post},
};
use futures_util::{StreamExt, TryStreamExt, stream};
use reqwest::header::HeaderValue;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement, TransactionTrait};
use serde_json::{Value, json};
use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};
use uuid::Uuid;

/// The `blood-search` scenario's query.
pub const SEARCH_QUERY: &str = "{ findCompatibleStock(input: {bloodGroup: A_POS, component: RED_CELLS, units: 2, near: {latitude: 12.97, longitude: 77.59}, radiusKm: 50}) { distanceKm totalUnits soonestExpiry bloodBank { name phone } } }";

/// The `blood-page` scenario's query: 50 requests with three relations.
pub const PAGE_QUERY: &str = "{ bloodRequests(first: 50) { edges { node { id urgency status hospital { name } bloodBank { name } requestedBy { fullName } } } } }";

const CREATE_MUTATION: &str = "mutation($i: CreateBloodRequestInput!) { createBloodRequest(input: $i) { bloodRequest { id } } }";
const ACCEPT_MUTATION: &str = "mutation($i: AcceptBloodRequestInput!) { acceptBloodRequest(input: $i) { bloodRequest { id status } } }";

const GROUPS: [&str; 8] = [
    "A_POS", "A_NEG", "B_POS", "B_NEG", "AB_POS", "AB_NEG", "O_POS", "O_NEG",
];

/// Setup requests in flight at once.
const SEED_CONCURRENCY: usize = 8;

/// Whether a scenario belongs to this module.
pub fn is_blood(s: Scenario) -> bool {
    matches!(
        s,
        Scenario::BloodSearch | Scenario::BloodPage | Scenario::BloodAccept
    )
}

fn email(code: &str) -> String {
    format!("{}@scale.example", code.to_lowercase())
}

/// Loads the data set, then runs the blood scenarios at every concurrency; with several
/// `--units-per-bank` values, once per value, each on a fresh database (the first in the
/// invocation's, the others in databases of their own, dropped after their runs). Returns
/// false when some request failed.
pub async fn run(args: &Args, db_url: &str) -> Res<bool> {
    if args.db != DbKind::Postgres {
        return Err("the blood scenarios run on Postgres only (--db postgres)".into());
    }
    if args.units_per_bank.is_empty() || args.units_per_bank.contains(&0) {
        return Err("--units-per-bank values must be at least 1".into());
    }
    // Rows say which data set they ran on once there is more than the default one.
    let labelled = args.units_per_bank != [500];
    let mut all_ok = true;
    let mut header = !args.no_header;
    for (i, &per_bank) in args.units_per_bank.iter().enumerate() {
        let own = if i == 0 {
            None
        } else {
            Some(crate::database::Target::create(args.db, &args.postgres_url).await?)
        };
        let url = own.as_ref().map_or(db_url, |t| t.url.as_str());
        let tag = labelled.then(|| format!("{per_bank}/bank"));
        let outcome = run_one(args, url, per_bank, tag.as_deref(), header).await;
        if let Some(t) = own {
            t.remove().await;
        }
        all_ok &= outcome?;
        header = false;
    }
    Ok(all_ok)
}

async fn run_one(
    args: &Args,
    db_url: &str,
    per_bank: u32,
    tag: Option<&str>,
    header: bool,
) -> Res<bool> {
    let settings = crate::server_settings(db_url, args);
    let server = setup::Server::start(&settings).await?;
    let c = &server.config;
    eprintln!(
        "server on {} | {} | pool {} connections | {} cores | {per_bank} units per bank",
        server.base,
        args.db.label(),
        c.db_max_connections,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    let outcome = drive(args, &server, db_url, per_bank, tag, header).await;
    server.stop().await;
    outcome
}

async fn drive(
    args: &Args,
    server: &setup::Server,
    db_url: &str,
    per_bank: u32,
    tag: Option<&str>,
    header: bool,
) -> Res<bool> {
    let pool = Database::connect(db_url).await?;
    let t0 = Instant::now();
    let hash = lifeflow::auth::password::PasswordHasher::new(19456, 2, 1)
        .map_err(|e| format!("hasher: {e:?}"))?
        .hash(PASSWORD.to_string())
        .await
        .map_err(|e| format!("hash: {e:?}"))?;
    let scale = lifeflow::seed::scale::run_sized(&pool, args.banks, per_bank, &hash)
        .await
        .map_err(|e| format!("seed::scale::run_sized: {e:?}"))?;
    pool.execute_unprepared("VACUUM ANALYZE").await?;
    eprintln!(
        "loaded {} banks, {} hospitals, {} units, {} requests in {:.1} s (generator {:.1} s), then VACUUM ANALYZE",
        scale.banks,
        scale.hospitals,
        scale.units,
        scale.requests,
        t0.elapsed().as_secs_f64(),
        scale.seconds
    );

    let max_conc = args.concurrency.iter().copied().max().unwrap_or(1);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(max_conc + 8)
        .timeout(Duration::from_secs(60))
        .build()?;
    let base = server.base.as_str();
    let hospital_token = setup::login(&http, base, &email("SCALE-H-00000")).await?;
    check_reads(&http, base, &hospital_token).await?;
    // On the freshly vacuumed data, before any run writes to it.
    if args.explain {
        explain(&pool, &scale).await?;
    }

    if header {
        println!("{}", load::Report::HEADER);
    }
    let url = format!("{base}/graphql");
    let mut all_ok = true;
    let mut accept_rows = Vec::new();
    for &scenario in &args.scenario {
        for &concurrency in &args.concurrency {
            if scenario == Scenario::BloodAccept {
                let (row, ok) =
                    accept_run(args, &http, base, &scale, concurrency, accept_rows.len()).await?;
                all_ok &= ok;
                println!("{row}");
                accept_rows.push(row);
                continue;
            }
            let query = if scenario == Scenario::BloodSearch {
                SEARCH_QUERY
            } else {
                PAGE_QUERY
            };
            let label = match tag {
                Some(t) => format!("{} ({t})", scenario.label()),
                None => scenario.label().to_string(),
            };
            let request = load::Request::new(query, json!({}), Some(&hospital_token));
            all_ok &=
                load::measure_labelled(&http, &url, args, &label, &request, concurrency).await;
        }
    }
    pool.close().await.ok();
    Ok(all_ok)
}

/// The reads must return what the figures claim to measure.
async fn check_reads(http: &reqwest::Client, base: &str, token: &str) -> Res<()> {
    let data = setup::gql(http, base, Some(token), SEARCH_QUERY, json!({})).await?;
    let banks = data
        .pointer("/findCompatibleStock")
        .and_then(Value::as_array)
        .ok_or("findCompatibleStock: no list")?;
    let units: i64 = banks
        .iter()
        .filter_map(|b| b.get("totalUnits").and_then(Value::as_i64))
        .sum();
    if banks.is_empty() {
        return Err("findCompatibleStock found no bank".into());
    }
    let data = setup::gql(http, base, Some(token), PAGE_QUERY, json!({})).await?;
    let edges = data
        .pointer("/bloodRequests/edges")
        .and_then(Value::as_array)
        .ok_or("bloodRequests: no edges")?;
    if edges.len() != 50 {
        return Err(format!("bloodRequests: {} edges, expected 50", edges.len()).into());
    }
    eprintln!(
        "check: findCompatibleStock returns {} banks ({units} units); bloodRequests returns 50 requests",
        banks.len()
    );
    Ok(())
}

/// One accept to make: the request, the bank, and the bank admin's authorization header.
struct Accept {
    body: String,
    authorization: HeaderValue,
}

/// Creates `--accept-requests` pending requests addressed to banks (round robin over every
/// bank, groups in turn), then has `concurrency` workers accept each once as the bank's
/// admin. `run_no` makes the patient references of successive runs distinct.
async fn accept_run(
    args: &Args,
    http: &reqwest::Client,
    base: &str,
    scale: &lifeflow::seed::scale::ScaleReport,
    concurrency: usize,
    run_no: usize,
) -> Res<(String, bool)> {
    let n = args.accept_requests;
    let banks = &scale.bank_ids;
    let hospitals = &scale.hospital_ids;
    let t0 = Instant::now();
    let hospital_tokens: Vec<String> = stream::iter(0..hospitals.len())
        .map(|h| async move { setup::login(http, base, &email(&format!("SCALE-H-{h:05}"))).await })
        .buffered(SEED_CONCURRENCY)
        .try_collect()
        .await?;
    let used_banks = banks.len().min(n);
    let bank_tokens: Vec<HeaderValue> = stream::iter(0..used_banks)
        .map(|b| async move {
            let t = setup::login(http, base, &email(&format!("SCALE-BB-{b:05}"))).await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(HeaderValue::from_str(&format!(
                "Bearer {t}"
            ))?)
        })
        .buffered(SEED_CONCURRENCY)
        .try_collect()
        .await?;
    let needed_by = (chrono::Utc::now() + chrono::Duration::hours(12)).to_rfc3339();
    let accepts: Vec<Accept> = stream::iter(0..n)
        .map(|i| {
            let (hospital_tokens, bank_tokens, needed_by) =
                (&hospital_tokens, &bank_tokens, &needed_by);
            async move {
                let h = i % hospitals.len();
                let b = i % used_banks;
                let data = setup::gql(
                    http,
                    base,
                    Some(&hospital_tokens[h]),
                    CREATE_MUTATION,
                    json!({"i": {
                        "hospitalId": hospitals[h],
                        "patientReference": format!("BENCH-{run_no}-{i:06}"),
                        "bloodGroup": GROUPS[(i / used_banks) % GROUPS.len()],
                        "component": "RED_CELLS",
                        "unitsRequired": 1,
                        "urgency": "URGENT",
                        "neededBy": needed_by,
                        "bloodBankId": banks[b],
                    }}),
                )
                .await?;
                let id = data
                    .pointer("/createBloodRequest/bloodRequest/id")
                    .and_then(Value::as_str)
                    .ok_or("createBloodRequest: no id")?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(Accept {
                    body: json!({"query": ACCEPT_MUTATION,
                        "variables": {"i": {"requestId": id, "bloodBankId": banks[b]}}})
                    .to_string(),
                    authorization: bank_tokens[b].clone(),
                })
            }
        })
        .buffered(SEED_CONCURRENCY)
        .try_collect()
        .await?;
    eprintln!(
        "blood-accept: created {n} pending requests addressed to {used_banks} banks in {:.1} s",
        t0.elapsed().as_secs_f64()
    );

    let accepts = Arc::new(accepts);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(args.duration);
    let url = format!("{base}/graphql");
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (http, url, accepts, next) =
                (http.clone(), url.clone(), accepts.clone(), next.clone());
            tokio::spawn(async move {
                let mut t = Tally::default();
                while Instant::now() < deadline {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(a) = accepts.get(i) else { break };
                    let t0 = Instant::now();
                    let outcome = post(&http, &url, &a.authorization, a.body.clone()).await;
                    t.record(t0, outcome, b"INSUFFICIENT_STOCK");
                }
                t
            })
        })
        .collect();
    let mut total = Tally::default();
    for w in workers {
        total.merge(w.await?);
    }
    let elapsed = start.elapsed().as_secs_f64();
    if let Some(e) = &total.first_error {
        eprintln!(
            "blood-accept at concurrency {concurrency}: {} failed; first error: {e}",
            total.errors
        );
    }
    let row = total.row("blood-accept", args.db.label(), concurrency, elapsed);
    if run_no == 0 && !args.no_header {
        println!(
            "\n| Scenario | DB | Concurrency | Attempts | Accepted | INSUFFICIENT_STOCK | Other errors | Accepts/s | Attempts/s | p50 ms | p95 ms | p99 ms | Max ms | SQL/req min | SQL/req max | SQL/req mean |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
    }
    Ok((row, total.errors == 0))
}

/// The compatible-stock statement of `stock::service::compatible_stock` as the server sends
/// it to Postgres, parameters numbered alike: `$1`, `$2`, `$3` now, `$4` the bank ids and `$5`
/// the groups (array literals), `$6` the component.
const SEARCH_SQL: &str = "WITH expired AS (SELECT blood_bank_id, component, blood_group, COUNT(*) AS n \
       FROM blood_units WHERE status = 'AVAILABLE' AND expires_at <= $1 \
       GROUP BY blood_bank_id, component, blood_group) \
     SELECT c.blood_bank_id, c.blood_group, c.available - COALESCE(e.n, 0) AS n, \
     CASE WHEN c.soonest_expiry > $2 THEN c.soonest_expiry \
     ELSE (SELECT MIN(u.expires_at) FROM blood_units u \
       WHERE u.blood_bank_id = c.blood_bank_id AND u.component = c.component \
       AND u.status = 'AVAILABLE' AND u.blood_group = c.blood_group AND u.expires_at > $3) END AS soonest \
     FROM blood_stock_counts c LEFT JOIN expired e \
       ON e.blood_bank_id = c.blood_bank_id AND e.component = c.component \
       AND e.blood_group = c.blood_group \
     WHERE c.blood_bank_id = ANY($4::uuid[]) AND c.blood_group = ANY($5::text[]) \
     AND c.component = $6 AND c.available > 0";

/// Prints (to stderr) `EXPLAIN (ANALYZE, BUFFERS)` of the SQL the two read scenarios run: the
/// search's statement (see [`SEARCH_SQL`]) and the `bloodRequests` page of a hospital admin
/// (keyset order, 51 rows), first with literal values, then as prepared statements under
/// the server's plan cache settings (Postgres's defaults), explained after six executions,
/// when Postgres has had the chance to switch to a generic plan; then how each was planned
/// (`pg_prepared_statements`).
async fn explain(pool: &DatabaseConnection, scale: &lifeflow::seed::scale::ScaleReport) -> Res<()> {
    let (lat, lon, radius) = (12.97_f64, 77.59_f64, 50.0_f64);
    let rows = pool
        .query_all_raw(Statement::from_string(
            pool.get_database_backend(),
            "SELECT id, latitude, longitude FROM organizations WHERE kind = 'BLOOD_BANK' AND status = 'APPROVED'",
        ))
        .await?;
    let mut near = Vec::new();
    for r in rows {
        let id: Uuid = r.try_get("", "id")?;
        let la: f64 = r.try_get("", "latitude")?;
        let lo: f64 = r.try_get("", "longitude")?;
        if lifeflow::blood::geo::haversine_km(lat, lon, la, lo) <= radius {
            near.push(id.to_string());
        }
    }
    let ids = format!("{{{}}}", near.join(","));
    let short = format!("{{… {} bank ids …}}", near.len());
    let groups = "{A_POS,A_NEG,O_POS,O_NEG}";
    let args = format!("now(), now(), now(), '{ids}', '{groups}', 'RED_CELLS'");
    let literal = SEARCH_SQL
        .replace("$1", "now()")
        .replace("$2", "now()")
        .replace("$3", "now()")
        .replace("$4", &format!("'{ids}'"))
        .replace("$5", &format!("'{groups}'"))
        .replace("$6", "'RED_CELLS'");
    let hospital = scale.hospital_ids.first().ok_or("no hospital")?;
    let page =
        "SELECT * FROM blood_requests WHERE hospital_id = $1 ORDER BY urgency_rank, id LIMIT 51";
    let page_literal = page.replace("$1", &format!("'{hospital}'"));
    // The grouped count this statement replaced (before issue 14), on the same data: its
    // cost grows with the units in the radius.
    let before = format!(
        "SELECT blood_bank_id, blood_group, COUNT(*) AS n, MIN(expires_at) AS soonest \
         FROM blood_units WHERE blood_bank_id = ANY('{ids}'::uuid[]) AND component = 'RED_CELLS' \
         AND status = 'AVAILABLE' AND expires_at > now() \
         AND blood_group IN ('A_POS', 'A_NEG', 'O_POS', 'O_NEG') GROUP BY blood_bank_id, blood_group"
    );
    // The first pass of issue 14 (commit 13e63c3): the kept counts, and one seek per
    // (bank, group) into the units for the soonest expiry.
    let first_pass = format!(
        "WITH expired AS (SELECT blood_bank_id, component, blood_group, COUNT(*) AS n \
           FROM blood_units WHERE status = 'AVAILABLE' AND expires_at <= now() \
           GROUP BY blood_bank_id, component, blood_group) \
         SELECT c.blood_bank_id, c.blood_group, c.available - COALESCE(e.n, 0) AS n, \
         (SELECT MIN(u.expires_at) FROM blood_units u \
           WHERE u.blood_bank_id = c.blood_bank_id AND u.component = c.component \
           AND u.status = 'AVAILABLE' AND u.blood_group = c.blood_group \
           AND u.expires_at > now()) AS soonest \
         FROM blood_stock_counts c LEFT JOIN expired e \
           ON e.blood_bank_id = c.blood_bank_id AND e.component = c.component \
           AND e.blood_group = c.blood_group \
         WHERE c.blood_bank_id = ANY('{ids}'::uuid[]) AND c.blood_group = ANY('{groups}'::text[]) \
         AND c.component = 'RED_CELLS' AND c.available > 0"
    );
    let backend = pool.get_database_backend();
    for (name, sql) in [
        ("blood-search", &literal),
        (
            "blood-search, first pass of issue 14 (a seek per bank and group for the soonest expiry)",
            &first_pass,
        ),
        (
            "blood-search before issue 14 (the grouped count over the units)",
            &before,
        ),
        ("blood-page", &page_literal),
    ] {
        let plan = pool
            .query_all_raw(Statement::from_string(
                backend,
                format!("EXPLAIN (ANALYZE, BUFFERS) {sql}"),
            ))
            .await?;
        print_plan(
            &format!("{name}, literal values: EXPLAIN (ANALYZE, BUFFERS) {sql}"),
            plan,
            &ids,
            &short,
        )?;
    }
    // The new statement and the first pass, alternately, 40 times each: medians of the
    // statement's time as the client sees it (one connection, nothing else running on it).
    let mut times: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..40 {
        for (i, sql) in [&literal, &first_pass].into_iter().enumerate() {
            let t = std::time::Instant::now();
            pool.query_all_raw(Statement::from_string(backend, sql.clone()))
                .await?;
            times[i].push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    for (name, mut v) in [
        ("new statement", times[0].clone()),
        ("first pass", times[1].clone()),
    ] {
        v.sort_by(f64::total_cmp);
        eprintln!(
            "blood-search {name}, literal values, 40 runs alternating: median {:.2} ms, p90 {:.2} ms",
            v[v.len() / 2],
            v[v.len() * 9 / 10]
        );
    }
    // One connection for the prepared statements: they belong to the session.
    let txn = pool.begin().await?;
    txn.execute_unprepared(&format!(
        "PREPARE bench_search (timestamptz, timestamptz, timestamptz, text, text, text) AS {SEARCH_SQL}"
    ))
    .await?;
    txn.execute_unprepared(&format!("PREPARE bench_page (uuid) AS {page}"))
        .await?;
    for (name, call) in [
        ("blood-search", format!("EXECUTE bench_search({args})")),
        ("blood-page", format!("EXECUTE bench_page('{hospital}')")),
    ] {
        for _ in 0..6 {
            txn.execute_unprepared(&call).await?;
        }
        let plan = txn
            .query_all_raw(Statement::from_string(
                backend,
                format!("EXPLAIN (ANALYZE, BUFFERS) {call}"),
            ))
            .await?;
        print_plan(
            &format!(
                "{name}, prepared, 7th execution (plan_cache_mode = {}): EXPLAIN (ANALYZE, BUFFERS) {call}",
                show(&txn, "plan_cache_mode").await?
            ),
            plan,
            &ids,
            &short,
        )?;
    }
    let counts = txn
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT name || ': ' || generic_plans || ' generic plans, ' || custom_plans \
             || ' custom plans' FROM pg_prepared_statements WHERE name LIKE 'bench_%' ORDER BY name",
        ))
        .await?;
    print_plan(
        "how the prepared statements were planned",
        counts,
        &ids,
        &short,
    )?;
    txn.execute_unprepared("DEALLOCATE bench_search; DEALLOCATE bench_page")
        .await?;
    txn.rollback().await?;
    Ok(())
}

async fn show(txn: &sea_orm::DatabaseTransaction, setting: &str) -> Res<String> {
    let row = txn
        .query_one_raw(Statement::from_string(
            txn.get_database_backend(),
            format!("SELECT current_setting('{setting}')"),
        ))
        .await?
        .ok_or("no setting")?;
    Ok(row.try_get_by_index(0)?)
}

fn print_plan(title: &str, plan: Vec<sea_orm::QueryResult>, ids: &str, short: &str) -> Res<()> {
    let title = title.replace(ids, short);
    eprintln!("\n{title}\n```");
    for r in plan {
        let line: String = r.try_get_by_index(0)?;
        let line = line.replace(ids, short);
        // The generic plan lists every parameter: cut such lines short.
        match line.char_indices().nth(600) {
            Some((at, _)) => eprintln!("{} …", &line[..at]),
            None => eprintln!("{line}"),
        }
    }
    eprintln!("```");
    Ok(())
}

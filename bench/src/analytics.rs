//! Network analytics and the audit export: `network-stats` and `audit-export`.
//!
//! `network-stats` loads the server's scale generator (`--banks` N) and `--history-days` of
//! history on top (`lifeflow::seed::history::run`: N requests a day, 2 donations a day per
//! bank with their units and events, each NGO's weekly camp with 60 registrations), then a
//! super admin asks `networkStats` for the whole network over the whole history.
//!
//! `audit-export` runs the release server as a separate process, bulk-inserts audit rows
//! (`INSERT … SELECT generate_series`, Postgres) up to each `--audit-rows` total in turn, and
//! downloads `GET /exports/audit.csv` as a super admin while sampling the server's VmRSS every
//! 100 ms: rows, bytes, seconds, and RSS before, at the peak and after each download.

use crate::{
    Args, DbKind, Scenario, load,
    setup::{self, PASSWORD, Res},
    wsfanout::{ServerProcess, rss_kib, start_server},
};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// The `network-stats` scenario's query: every figure.
pub const STATS_QUERY: &str = "query($i: NetworkStatsInput!) { networkStats(input: $i) {
  requests { total byStatus { status count } byUrgency { urgency count }
    timeToAccept { urgency p50Minutes p90Minutes } timeToFulfil { urgency p50Minutes p90Minutes }
    fulfilmentRate escalated }
  wastage { component bloodBank { id name } expired discarded }
  collections { month bloodBank { id } camp { id name } donations units }
  camps { registrations attended }
  stock { bloodGroup component daysOfStock } } }";

/// Whether a scenario belongs to this module.
pub fn is_analytics(s: Scenario) -> bool {
    matches!(s, Scenario::NetworkStats | Scenario::AuditExport)
}

/// Runs `network-stats` at every concurrency. Returns false when some request failed.
pub async fn run_stats(args: &Args, db_url: &str) -> Res<bool> {
    if args.db != DbKind::Postgres {
        return Err("network-stats runs on Postgres only (--db postgres)".into());
    }
    let settings = crate::server_settings(db_url, args);
    let server = setup::Server::start(&settings).await?;
    eprintln!(
        "server on {} | {} | pool {} connections | {} cores",
        server.base,
        args.db.label(),
        server.config.db_max_connections,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    let outcome = drive_stats(args, &server, db_url).await;
    server.stop().await;
    outcome
}

async fn drive_stats(args: &Args, server: &setup::Server, db_url: &str) -> Res<bool> {
    let pool = Database::connect(db_url).await?;
    let hash = lifeflow::auth::password::PasswordHasher::new(19456, 2, 1)
        .map_err(|e| format!("hasher: {e:?}"))?
        .hash(PASSWORD.to_string())
        .await
        .map_err(|e| format!("hash: {e:?}"))?;
    let scale = lifeflow::seed::scale::run(&pool, args.banks, &hash)
        .await
        .map_err(|e| format!("seed::scale::run: {e:?}"))?;
    eprintln!(
        "scale {}: {} banks, {} hospitals, {} units, {} requests, {} camps in {:.1} s",
        args.banks,
        scale.banks,
        scale.hospitals,
        scale.units,
        scale.requests,
        scale.camps,
        scale.seconds
    );
    let h = lifeflow::seed::history::run(&pool, &scale, args.history_days)
        .await
        .map_err(|e| format!("seed::history::run: {e:?}"))?;
    eprintln!(
        "history {} days: {} requests, {} donors, {} donations, {} units, {} unit events, {} camps, {} registrations in {:.1} s",
        h.days,
        h.requests,
        h.donors,
        h.donations,
        h.units,
        h.unit_events,
        h.camps,
        h.registrations,
        h.seconds
    );
    let t = Instant::now();
    pool.execute_unprepared("VACUUM ANALYZE").await?;
    eprintln!("VACUUM ANALYZE in {:.1} s", t.elapsed().as_secs_f64());
    let root_email = "root@stats.bench.lifeflow.example";
    lifeflow::seed::create_admin(&server.config, &pool, root_email, PASSWORD, "Bench Root")
        .await
        .map_err(|e| format!("create_admin: {e:?}"))?;
    let max_conc = args.concurrency.iter().copied().max().unwrap_or(1);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(max_conc + 8)
        .timeout(Duration::from_secs(120))
        .build()?;
    let base = server.base.as_str();
    let root = setup::login(&http, base, root_email).await?;
    let now = chrono::Utc::now();
    let input = json!({"i": {
        "from": (now - chrono::Duration::days(i64::from(args.history_days) + 1)).to_rfc3339(),
        "to": now.to_rfc3339(),
    }});
    let data = setup::gql(&http, base, Some(&root), STATS_QUERY, input.clone()).await?;
    let s = &data["networkStats"];
    let len = |p: &str| s.pointer(p).and_then(Value::as_array).map_or(0, Vec::len);
    eprintln!(
        "check: {} requests, fulfilment rate {:.3}, {} escalated, {} wastage rows, {} collection rows, {} registrations, {} attended, {} stock rows",
        s.pointer("/requests/total").unwrap_or(&Value::Null),
        s.pointer("/requests/fulfilmentRate")
            .and_then(Value::as_f64)
            .unwrap_or(0.0),
        s.pointer("/requests/escalated").unwrap_or(&Value::Null),
        len("/wastage"),
        len("/collections"),
        s.pointer("/camps/registrations").unwrap_or(&Value::Null),
        s.pointer("/camps/attended").unwrap_or(&Value::Null),
        len("/stock"),
    );
    if s.pointer("/requests/total").and_then(Value::as_i64) == Some(0) || len("/wastage") == 0 {
        return Err("networkStats found no history".into());
    }
    if !args.no_header {
        println!("{}", load::Report::HEADER);
    }
    let url = format!("{base}/graphql");
    let request = load::Request::new(STATS_QUERY, input.clone(), Some(&root));
    let mut all_ok = true;
    for &concurrency in &args.concurrency {
        all_ok &= load::measure(
            &http,
            &url,
            args,
            Scenario::NetworkStats,
            &request,
            concurrency,
        )
        .await;
    }
    Ok(all_ok)
}

/// Runs `audit-export`. Returns false when a download came up short.
pub async fn run_export(args: &Args, db_url: &str) -> Res<bool> {
    if args.db != DbKind::Postgres {
        return Err("audit-export runs on Postgres only (--db postgres)".into());
    }
    let root_email = "root@export.bench.lifeflow.example";
    let (server, port) = start_server(args, db_url, &[], root_email, "lifeflow-export-bench")?;
    let outcome = drive_export(args, &server, port, db_url, root_email).await;
    if outcome.is_err() {
        eprintln!("server log: {}", server.log().display());
    }
    drop(server);
    outcome
}

async fn drive_export(
    args: &Args,
    server: &ServerProcess,
    port: u16,
    db_url: &str,
    root_email: &str,
) -> Res<bool> {
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(1800))
        .build()?;
    let up = Instant::now();
    loop {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await
            && r.status().is_success()
        {
            break;
        }
        if up.elapsed() > Duration::from_secs(60) {
            return Err("the server did not answer /healthz within 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let root = setup::login(&http, &base, root_email).await?;
    let pool = Database::connect(db_url).await?;
    // The rows the server wrote itself so far (the login's, the admin's).
    let count = |pool: &sea_orm::DatabaseConnection| {
        let pool = pool.clone();
        async move {
            let row = pool
                .query_one_raw(sea_orm::Statement::from_string(
                    pool.get_database_backend(),
                    "SELECT COUNT(*) AS n FROM audit_logs",
                ))
                .await?
                .ok_or("no count")?;
            Res::Ok(row.try_get::<i64>("", "n")?)
        }
    };
    if !args.no_header {
        println!(
            "| scenario | DB | rows in table | rows exported | MB | s | rows/s | RSS before MiB | RSS peak MiB | RSS after MiB |"
        );
        println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    }
    let mut all_ok = true;
    for &target in &args.audit_rows {
        let have = count(&pool).await? as u64;
        if target > have {
            let t = Instant::now();
            insert_audit(&pool, target - have).await?;
            pool.execute_unprepared("VACUUM ANALYZE audit_logs").await?;
            eprintln!(
                "inserted {} audit rows in {:.1} s (then VACUUM ANALYZE)",
                target - have,
                t.elapsed().as_secs_f64()
            );
        }
        let in_table = count(&pool).await? as u64;
        let pid = server.pid();
        let before = rss_kib(pid)?;
        let peak = Arc::new(AtomicU64::new(before));
        let done = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (peak, done) = (peak.clone(), done.clone());
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(100));
                while !done.load(Ordering::Relaxed) {
                    tick.tick().await;
                    if let Ok(kib) = rss_kib(pid) {
                        peak.fetch_max(kib, Ordering::Relaxed);
                    }
                }
            })
        };
        let t = Instant::now();
        let mut resp = http
            .get(format!("{base}/exports/audit.csv"))
            .bearer_auth(&root)
            .send()
            .await?;
        if !resp.status().is_success() {
            return Err(format!("GET /exports/audit.csv: {}", resp.status()).into());
        }
        let (mut bytes, mut lines) = (0u64, 0u64);
        while let Some(chunk) = resp.chunk().await? {
            bytes += chunk.len() as u64;
            lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        }
        let secs = t.elapsed().as_secs_f64();
        done.store(true, Ordering::Relaxed);
        sampler.await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = rss_kib(pid)?;
        let peak = peak.load(Ordering::Relaxed).max(after);
        // One header line; every row on one line (the export quotes and keeps JSON on one).
        let rows = lines.saturating_sub(1);
        if rows < in_table.saturating_sub(10) {
            eprintln!("the export gave {rows} rows of {in_table}");
            all_ok = false;
        }
        let mib = |k: u64| k as f64 / 1024.0;
        println!(
            "| audit-export | {} | {in_table} | {rows} | {:.1} | {secs:.1} | {:.0} | {:.1} | {:.1} | {:.1} |",
            args.db.label(),
            bytes as f64 / 1e6,
            rows as f64 / secs.max(1e-9),
            mib(before),
            mib(peak),
            mib(after),
        );
    }
    Ok(all_ok)
}

/// Inserts `n` audit rows in one statement (Postgres's `generate_series`), shaped like the
/// API's: a user's mutation of an entity, its new values, spread over the last year.
async fn insert_audit(pool: &sea_orm::DatabaseConnection, n: u64) -> Res<()> {
    pool.execute_unprepared(&format!(
        "INSERT INTO audit_logs (id, actor_user_id, actor_api_client_id, actor_role, \
         organization_id, action, entity_type, entity_id, old_values, new_values, ip, \
         user_agent, outcome, error_code, request_id, created_at) \
         SELECT gen_random_uuid(), gen_random_uuid(), NULL, 'ADMIN', gen_random_uuid(), \
         (ARRAY['blood_request.create', 'blood_request.accept', 'donation.record', \
                'camp.register', 'stock.issue'])[1 + i % 5], \
         (ARRAY['blood_request', 'blood_request', 'donation', 'camp_registration', \
                'blood_unit'])[1 + i % 5], gen_random_uuid(), NULL, \
         json_build_object('status', 'ACCEPTED', 'units', i % 7, 'note', 'bulk row ' || i), \
         '127.0.0.1', 'lifeflow-bench', 'SUCCESS', NULL, 'bench-' || i, \
         now() - make_interval(secs => (i % 31536000)::double precision) \
         FROM generate_series(1, {n}) AS s(i)"
    ))
    .await?;
    Ok(())
}

//! Camps at scale: `camps-near` and `camp-register`.
//!
//! The data set is the server's own generator (`lifeflow::seed::scale::run`), whose `--banks`
//! N also makes N/10 NGOs and 10 camps per bank (2,000 camps at the default 200), each with 4
//! hourly slots of 25 places. `camps-near` pages the camps within 5 km of the city centre
//! still to come, with their slots' places and organizer, as a bank's admin.
//! `camp-register` has the first NGO's admin register `--register-donors` of its donors
//! (registered through the API first) for its camps: each donor once per camp, spread over
//! the camp's slots so that no slot fills, so any `CONFLICT` is one that should not be there.

use crate::{
    Args, DbKind, Scenario, load,
    setup::{self, PASSWORD, Res},
    tally::{Tally, post},
};
use futures_util::{StreamExt, TryStreamExt, stream};
use reqwest::header::HeaderValue;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

/// The `camps-near` scenario's query: camps within 5 km still to come, with their slots'
/// places and organizer.
pub const NEAR_QUERY: &str = "query($from: DateTime!) { camps(filter: {near: {latitude: 12.97, longitude: 77.59}, radiusKm: 5, from: $from}, first: 20) { edges { node { id name startsAt slots { remaining } organization { name } } } } }";

const REGISTER: &str =
    "mutation($i: RegisterForCampInput!) { registerForCamp(input: $i) { registration { id } } }";

const SEED_CONCURRENCY: usize = 8;

/// Whether a scenario belongs to this module.
pub fn is_camps(s: Scenario) -> bool {
    matches!(s, Scenario::CampsNear | Scenario::CampRegister)
}

/// Loads the data set, then runs the camp scenarios at every concurrency. Returns false when
/// some request failed.
pub async fn run(args: &Args, db_url: &str) -> Res<bool> {
    if args.db != DbKind::Postgres {
        return Err("the camp scenarios run on Postgres only (--db postgres)".into());
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
    let outcome = drive(args, &server, db_url).await;
    server.stop().await;
    outcome
}

async fn drive(args: &Args, server: &setup::Server, db_url: &str) -> Res<bool> {
    let pool = Database::connect(db_url).await?;
    let t0 = Instant::now();
    let hash = lifeflow::auth::password::PasswordHasher::new(19456, 2, 1)
        .map_err(|e| format!("hasher: {e:?}"))?
        .hash(PASSWORD.to_string())
        .await
        .map_err(|e| format!("hash: {e:?}"))?;
    let scale = lifeflow::seed::scale::run(&pool, args.banks, &hash)
        .await
        .map_err(|e| format!("seed::scale::run: {e:?}"))?;
    pool.execute_unprepared("VACUUM ANALYZE").await?;
    eprintln!(
        "loaded {} banks, {} NGOs, {} camps in {:.1} s, then VACUUM ANALYZE",
        scale.banks,
        scale.ngo_ids.len(),
        scale.camps,
        t0.elapsed().as_secs_f64()
    );
    let max_conc = args.concurrency.iter().copied().max().unwrap_or(1);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(max_conc + 8)
        .timeout(Duration::from_secs(60))
        .build()?;
    let base = server.base.as_str();
    let bank_token = setup::login(&http, base, "scale-bb-00000@scale.example").await?;
    let from = chrono::Utc::now().to_rfc3339();
    let near = setup::gql(
        &http,
        base,
        Some(&bank_token),
        NEAR_QUERY,
        json!({"from": from}),
    )
    .await?;
    let found = near
        .pointer("/camps/edges")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if found == 0 {
        return Err("camps-near found no camp".into());
    }
    eprintln!("check: camps within 5 km returns {found} camps on its first page");
    if !args.no_header {
        println!("{}", load::Report::HEADER);
    }
    let url = format!("{base}/graphql");
    let mut all_ok = true;
    let mut register: Option<Registrations> = None;
    let mut register_header = !args.no_header;
    for &scenario in &args.scenario {
        for &concurrency in &args.concurrency {
            if scenario == Scenario::CampRegister {
                if register.is_none() {
                    register = Some(Registrations::prepare(args, &http, base, &scale).await?);
                }
                if let Some(r) = &register {
                    let (row, ok) = r.run(args, &http, &url, concurrency).await?;
                    if std::mem::take(&mut register_header) {
                        println!(
                            "\n| Scenario | DB | Concurrency | Attempts | Registered | CONFLICT | Other errors | Registrations/s | Attempts/s | p50 ms | p95 ms | p99 ms | Max ms | SQL/req min | SQL/req max | SQL/req mean |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
                        );
                    }
                    all_ok &= ok;
                    println!("{row}");
                }
                continue;
            }
            let request = load::Request::new(NEAR_QUERY, json!({"from": from}), Some(&bank_token));
            all_ok &= load::measure(&http, &url, args, scenario, &request, concurrency).await;
        }
    }
    pool.close().await.ok();
    Ok(all_ok)
}

/// The registrations to send, in order, and how many were sent by earlier runs.
struct Registrations {
    bodies: Arc<Vec<String>>,
    authorization: HeaderValue,
    next: Arc<AtomicUsize>,
}

impl Registrations {
    /// Registers the NGO's donors and lists every (slot, donor) pair: each donor once per
    /// camp, donor `d` in slot `d % 4`, 100 donors filling a camp's 100 places exactly.
    async fn prepare(
        args: &Args,
        http: &reqwest::Client,
        base: &str,
        scale: &lifeflow::seed::scale::ScaleReport,
    ) -> Res<Self> {
        let t0 = Instant::now();
        let ngo = scale.ngo_ids[0];
        let token = setup::login(http, base, "scale-ngo-00000@scale.example").await?;
        let donors: Vec<String> = stream::iter(0..args.register_donors.min(100))
            .map(|i| {
                let token = &token;
                async move {
                    let data = setup::gql(
                        http,
                        base,
                        Some(token),
                        "mutation($i: RegisterDonorInput!) { registerDonor(input: $i) { donor { id } } }",
                        json!({"i": {"organizationId": ngo, "fullName": format!("Bench donor {i}"),
                                     "dateOfBirth": "1990-01-01", "bloodGroup": "O_POS",
                                     "weightKg": 70.0, "phone": format!("+91990{i:07}"),
                                     "city": "Bengaluru"}}),
                    )
                    .await?;
                    let id: Res<String> = data
                        .pointer("/registerDonor/donor/id")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .ok_or_else(|| "registerDonor: no id".into());
                    id
                }
            })
            .buffered(SEED_CONCURRENCY)
            .try_collect::<Vec<String>>()
            .await?;
        let camps: Vec<_> = scale
            .camp_ngos
            .iter()
            .filter(|(_, n)| *n == ngo)
            .map(|(c, _)| *c)
            .collect();
        let slots: Vec<Vec<String>> = stream::iter(camps)
            .map(|c| {
                let token = &token;
                async move {
                    let data = setup::gql(
                        http,
                        base,
                        Some(token),
                        "query($id: ID!) { camp(id: $id) { slots { id } } }",
                        json!({"id": c}),
                    )
                    .await?;
                    Ok::<_, Box<dyn std::error::Error + Send + Sync>>(
                        data.pointer("/camp/slots")
                            .and_then(Value::as_array)
                            .map(|a| {
                                a.iter()
                                    .filter_map(|s| s["id"].as_str().map(str::to_string))
                                    .collect()
                            })
                            .unwrap_or_default(),
                    )
                }
            })
            .buffered(SEED_CONCURRENCY)
            .try_collect()
            .await?;
        let mut bodies = Vec::new();
        for camp_slots in slots.iter().filter(|s| s.len() == 4) {
            for (d, donor) in donors.iter().enumerate() {
                bodies.push(
                    json!({"query": REGISTER,
                           "variables": {"i": {"slotId": camp_slots[d % 4], "donorId": donor}}})
                    .to_string(),
                );
            }
        }
        eprintln!(
            "camp-register: {} donors, {} camps of the NGO, {} registrations to send ({:.1} s)",
            donors.len(),
            slots.len(),
            bodies.len(),
            t0.elapsed().as_secs_f64()
        );
        Ok(Self {
            bodies: Arc::new(bodies),
            authorization: HeaderValue::from_str(&format!("Bearer {token}"))?,
            next: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// `concurrency` workers send the next registrations for `--duration` seconds.
    async fn run(
        &self,
        args: &Args,
        http: &reqwest::Client,
        url: &str,
        concurrency: usize,
    ) -> Res<(String, bool)> {
        let start = Instant::now();
        let deadline = start + Duration::from_secs(args.duration);
        let workers: Vec<_> = (0..concurrency)
            .map(|_| {
                let (http, url, bodies, next, auth) = (
                    http.clone(),
                    url.to_string(),
                    self.bodies.clone(),
                    self.next.clone(),
                    self.authorization.clone(),
                );
                tokio::spawn(async move {
                    let mut t = Tally::default();
                    while Instant::now() < deadline {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(b) = bodies.get(i) else { break };
                        let t0 = Instant::now();
                        let outcome = post(&http, &url, &auth, b.clone()).await;
                        t.record(t0, outcome, b"CONFLICT");
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
                "camp-register at concurrency {concurrency}: {} failed; first error: {e}",
                total.errors
            );
        }
        let clean = total.errors == 0 && total.refused == 0;
        let row = total.row("camp-register", args.db.label(), concurrency, elapsed);
        Ok((row, clean))
    }
}

//! `lifeflow-bench`: a load benchmark for the LifeFlow GraphQL API.
//!
//! It creates a fresh database (a temporary SQLite file, or a new Postgres database that it
//! drops at the end), starts the real server in-process on `127.0.0.1:0`, seeds a data set
//! over HTTP, then drives one or more scenarios with a fixed number of concurrent workers
//! (tokio tasks sharing one `reqwest::Client`) for a bounded duration and request count. It
//! prints one markdown table row per run: throughput, latency percentiles and the SQL
//! statements each request ran (from the `x-sql-statements` header).
//!
//! ```text
//! cargo run --release -p lifeflow-bench -- --db postgres --scenario org-list --concurrency 1,32
//! cargo run --release -p lifeflow-bench -- --db postgres --scenario typename,typename-auth,me --concurrency 16
//! cargo run --release -p lifeflow-bench -- --db postgres --scenario blood-search,blood-page,blood-accept --concurrency 1,32
//! cargo run --release -p lifeflow-bench -- --db postgres --scenario ws-fanout --subscribers 10000
//! cargo run --release -p lifeflow-bench -- --db postgres --scenario open-slots,consultations-page,review-queue,book --concurrency 1,32
//! cargo run --release -p lifeflow-bench -- --db postgres --scenario camps-near,camp-register --concurrency 1,32
//! cargo run --release -p lifeflow-bench -- --scenario unseal --duration 4
//! cargo run --release -p lifeflow-bench -- --db postgres --scenario outbox --concurrency 1,8,32
//! cargo run --release -p lifeflow-bench -- --db postgres --scenario network-stats --banks 200 --history-days 365 --concurrency 1,8
//! cargo run --release -p lifeflow-bench -- --db postgres --scenario audit-export --audit-rows 100000,1000000
//! cargo run --release -p lifeflow-bench -- --db postgres --scenario delivery-tracking --rate 1000 --duration 30
//! ```

mod analytics;
mod blood;
mod camps;
mod care;
mod database;
mod load;
mod outbox;
mod setup;
mod tally;
mod tracking;
mod unseal;
mod wsfanout;

use clap::{Parser, ValueEnum};
use std::{collections::HashMap, process::ExitCode, time::Duration};

/// Command-line options.
#[derive(Debug, Parser)]
#[command(
    name = "lifeflow-bench",
    about = "Load benchmarks for the LifeFlow GraphQL API"
)]
pub struct Args {
    /// Database backend: a temporary SQLite file or a fresh Postgres database.
    #[arg(long, value_enum, default_value = "sqlite")]
    pub db: DbKind,

    /// Postgres maintenance URL (database `postgres`); a fresh database is created next to it
    /// for the run and dropped afterwards.
    #[arg(
        long,
        env = "BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub postgres_url: String,

    /// Scenarios to run, comma-separated, in order.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "org-list")]
    pub scenario: Vec<Scenario>,

    /// Concurrent workers, comma-separated for several runs (e.g. `1,32`).
    #[arg(long, value_delimiter = ',', default_value = "1")]
    pub concurrency: Vec<usize>,

    /// Measured seconds per run.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,

    /// Unmeasured warm-up seconds before each run.
    #[arg(long, default_value_t = 2)]
    pub warmup: u64,

    /// Upper bound on the measured requests of a run (the run stops at whichever of
    /// `--duration` and `--max-requests` comes first).
    #[arg(long, default_value_t = 1_000_000)]
    pub max_requests: u64,

    /// Organizations to seed (all approved).
    #[arg(long, default_value_t = 50)]
    pub orgs: usize,

    /// Active members per organization, the registering admin included.
    #[arg(long, default_value_t = 3)]
    pub members: usize,

    /// Extra server settings, `NAME=VALUE`, repeatable (e.g. `--set DB_MAX_CONNECTIONS=16`).
    #[arg(long = "set", value_parser = parse_setting)]
    pub settings: Vec<(String, String)>,

    /// `outbox`: deliveries queued at once for the throughput phase.
    #[arg(long, default_value_t = 5000)]
    pub deliveries: usize,

    /// `outbox`: deliveries sent one at a time for the commit→send delay.
    #[arg(long, default_value_t = 200)]
    pub delay_samples: usize,

    /// Do not print the markdown table header.
    #[arg(long)]
    pub no_header: bool,

    /// Blood scenarios: blood banks the scale generator makes (500 units each, a quarter as
    /// many hospitals, 250 requests per bank).
    #[arg(long, default_value_t = 200)]
    pub banks: u32,

    /// Blood scenarios: units the generator puts in each bank; a list runs every scenario on
    /// one fresh data set per value, in order, in one invocation (e.g. `500,5000`).
    #[arg(long, value_delimiter = ',', default_value = "500")]
    pub units_per_bank: Vec<u32>,

    /// `blood-accept`: pending requests created before each run (each accepted at most once;
    /// the run ends when they are all tried or `--duration` has passed).
    #[arg(long, default_value_t = 2000)]
    pub accept_requests: usize,

    /// Blood scenarios: print `EXPLAIN (ANALYZE, BUFFERS)` of the two read queries at the end.
    #[arg(long)]
    pub explain: bool,

    /// `ws-fanout`: websocket subscribers to open.
    #[arg(long, default_value_t = 10_000)]
    pub subscribers: usize,

    /// `ws-fanout`: connections opened at once (each batch completes before the next).
    #[arg(long, default_value_t = 200)]
    pub connect_batch: usize,

    /// `ws-fanout`: emergency alerts to send, one per round.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,

    /// `ws-fanout`: seconds between rounds.
    #[arg(long, default_value_t = 3)]
    pub round_gap: u64,

    /// `ws-fanout`: seconds a round waits for every subscriber's alert.
    #[arg(long, default_value_t = 30)]
    pub round_timeout: u64,

    /// `ws-fanout`: idle seconds between the last subscription and the memory reading.
    #[arg(long, default_value_t = 5)]
    pub settle: u64,

    /// `ws-fanout`: how subscribers read their sockets once subscribed: `raw` (one thread,
    /// one epoll, frames split but not decoded) or `tungstenite` (a tokio task per socket).
    #[arg(long, value_enum, default_value = "raw")]
    pub ws_client: wsfanout::WsClient,

    /// `ws-fanout`: the server binary (default: `lifeflow` next to this executable).
    #[arg(long)]
    pub server_bin: Option<std::path::PathBuf>,

    /// `open-slots`: the doctor's existing bookings, spread evenly over the next four weeks.
    #[arg(long, default_value_t = 200)]
    pub slot_bookings: usize,

    /// `consultations-page`: the doctor's consultations (consecutive slots from tomorrow).
    #[arg(long, default_value_t = 300)]
    pub page_consultations: usize,

    /// `consultations-page`: every Nth consultation is started and gets a prescription.
    #[arg(long, default_value_t = 5)]
    pub prescription_every: usize,

    /// `review-queue`: ANALYZED reports of the organization, seeded through the API.
    #[arg(long, default_value_t = 3000)]
    pub queue_reports: usize,

    /// `book`: doctors the workers book in turn (one patient per doctor).
    #[arg(long, default_value_t = 50)]
    pub book_doctors: usize,

    /// `camp-register`: the NGO's donors who register for its camps (at most 100: a camp's
    /// places).
    #[arg(long, default_value_t = 100)]
    pub register_donors: usize,

    /// `network-stats`: days of history generated on top of the `--banks` data set.
    #[arg(long, default_value_t = 365)]
    pub history_days: u32,

    /// `audit-export`: audit rows in the table for each download, in increasing order (rows
    /// are added in bulk between downloads).
    #[arg(long, value_delimiter = ',', default_value = "100000,1000000")]
    pub audit_rows: Vec<u64>,

    /// `delivery-tracking`: dispatched deliveries, each with one websocket subscriber (the
    /// hospital's admin on `deliveryTracked`).
    #[arg(long, default_value_t = 200)]
    pub tracked_deliveries: usize,

    /// `delivery-tracking`: target `updateDeliveryLocation` calls per second, spread over the
    /// deliveries in turn, for `--duration` seconds.
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,

    /// `delivery-tracking`: concurrent HTTP workers sending the updates (the bank's staff).
    #[arg(long, default_value_t = 32)]
    pub update_workers: usize,
}

/// Which database the server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DbKind {
    /// A temporary SQLite file.
    Sqlite,
    /// A fresh Postgres database.
    Postgres,
}

impl DbKind {
    /// The name printed in the table.
    pub fn label(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "Postgres",
        }
    }
}

/// What the workers send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// A page of organizations with their members and each member's user, as super admin.
    OrgList,
    /// `{ me { id email } }` with a bearer token: authentication and viewer loading.
    Me,
    /// `{ __typename }` without a token: the fixed cost of any request, the yardstick of `me`.
    Typename,
    /// `{ __typename }` with a member's token: the fixed cost of an authenticated request
    /// (the viewer), with no work after it.
    TypenameAuth,
    /// The `login` mutation: argon2id verification, bounded by the hashing concurrency.
    Login,
    /// `findCompatibleStock` within 50 km over the scale data set (Postgres), as a hospital admin.
    BloodSearch,
    /// A 50-item `bloodRequests` page with three relations (Postgres), as a hospital admin.
    BloodPage,
    /// `acceptBloodRequest` of pending requests addressed to many banks, as their admins.
    BloodAccept,
    /// Idle websocket subscribers on a separate server process, then alert fan-out.
    WsFanout,
    /// `openSlots` of a booked doctor over 7 days, 30-minute slots, as a patient.
    OpenSlots,
    /// A 50-item `consultations` page with doctor, patient and prescriptions, as the doctor.
    ConsultationsPage,
    /// A 50-item `reviewQueue` page of ANALYZED reports, as a DOCTOR member.
    ReviewQueue,
    /// `bookConsultation` of distinct free slots of many doctors.
    Book,
    /// A 20-camp page within 5 km with slots and organizer, over 2,000 camps, as a bank admin.
    CampsNear,
    /// `registerForCamp` of distinct (slot, donor) pairs of one NGO's camps, as its admin.
    CampRegister,
    /// CPU time of decrypting the sealed fields of a 50-request and a 50-donor page (no
    /// server; runs alone).
    Unseal,
    /// The outbox: deliveries per second to a loopback SMS sink, and commit→send delay.
    Outbox,
    /// `networkStats` of the whole network over a year of history, as a super admin.
    NetworkStats,
    /// `GET /exports/audit.csv` of 100,000s of rows from a separate server process, its RSS
    /// sampled every 100 ms.
    AuditExport,
    /// `updateDeliveryLocation` at `--rate` over `--tracked-deliveries` deliveries, each
    /// tracked by a websocket subscriber: update→subscriber latency and losses.
    DeliveryTracking,
}

impl Scenario {
    /// The name printed in the table.
    pub fn label(self) -> &'static str {
        match self {
            Self::OrgList => "org-list",
            Self::Me => "me",
            Self::Typename => "typename",
            Self::TypenameAuth => "typename-auth",
            Self::Login => "login",
            Self::BloodSearch => "blood-search",
            Self::BloodPage => "blood-page",
            Self::BloodAccept => "blood-accept",
            Self::WsFanout => "ws-fanout",
            Self::OpenSlots => "open-slots",
            Self::ConsultationsPage => "consultations-page",
            Self::ReviewQueue => "review-queue",
            Self::Book => "book",
            Self::CampsNear => "camps-near",
            Self::CampRegister => "camp-register",
            Self::Unseal => "unseal",
            Self::Outbox => "outbox",
            Self::NetworkStats => "network-stats",
            Self::AuditExport => "audit-export",
            Self::DeliveryTracking => "delivery-tracking",
        }
    }
}

fn parse_setting(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("expected NAME=VALUE, got {s:?}"))
}

/// The signing key of the benchmark server.
const JWT_SECRET: &str = "bench-signing-key-that-is-long-enough-0123456789";

/// The settings the benchmark server runs with, before `--set` overrides.
fn server_settings(db_url: &str, args: &Args) -> HashMap<String, String> {
    let mut m = HashMap::new();
    for (k, v) in [
        ("DATABASE_URL", db_url),
        ("HOST", "127.0.0.1"),
        ("PORT", "0"),
        ("JWT_SECRET", JWT_SECRET),
        ("EXPOSE_SQL_COUNT", "true"),
        // Long enough for every run of one invocation to reuse the seeded tokens.
        ("ACCESS_TOKEN_TTL_SECS", "86400"),
        // Successful logins never count against these, but be sure nothing is throttled.
        ("LOGIN_MAX_ATTEMPTS", "100000"),
        ("LOGIN_MAX_ATTEMPTS_PER_IP", "100000"),
        ("REGISTER_MAX_PER_IP", "100000"),
        // The scenarios sign in as super admins without enrolling in MFA.
        ("MFA_REQUIRED_ROLES", ""),
        ("RATE_LIMIT_PREFIX", "bench"),
        // Field encryption on, as in production (no key file in the working directory).
        (
            "ENCRYPTION_KEYS",
            "bench:AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=",
        ),
        (
            "BLIND_INDEX_KEY",
            "BAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ=",
        ),
    ] {
        m.insert(k.to_string(), v.to_string());
    }
    for (k, v) in &args.settings {
        m.insert(k.clone(), v.clone());
    }
    m
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if args.concurrency.contains(&0) || args.members == 0 || args.orgs == 0 {
        eprintln!("--concurrency, --orgs and --members must be at least 1");
        return ExitCode::FAILURE;
    }
    let target = match database::Target::create(args.db, &args.postgres_url).await {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot create the database: {e}");
            return ExitCode::FAILURE;
        }
    };
    let blood = args
        .scenario
        .iter()
        .filter(|s| blood::is_blood(**s))
        .count();
    let care = args.scenario.iter().filter(|s| care::is_care(**s)).count();
    let camps = args
        .scenario
        .iter()
        .filter(|s| camps::is_camps(**s))
        .count();
    let ws = args.scenario.contains(&Scenario::WsFanout);
    let outbox = args.scenario.contains(&Scenario::Outbox);
    let tracking = args.scenario.contains(&Scenario::DeliveryTracking);
    let analytics = args
        .scenario
        .iter()
        .filter(|s| analytics::is_analytics(**s))
        .count();
    let outcome = tokio::select! {
        r = async {
            if args.scenario.contains(&Scenario::Unseal) {
                if args.scenario.len() > 1 {
                    Err("unseal runs alone".into())
                } else {
                    unseal::run(&args)
                }
            } else if analytics > 0 && args.scenario.len() > 1 {
                Err("network-stats and audit-export each run alone".into())
            } else if args.scenario.contains(&Scenario::NetworkStats) {
                analytics::run_stats(&args, &target.url).await
            } else if args.scenario.contains(&Scenario::AuditExport) {
                analytics::run_export(&args, &target.url).await
            } else if tracking && args.scenario.len() > 1 {
                Err("delivery-tracking runs alone".into())
            } else if tracking {
                tracking::run(&args, &target.url).await
            } else if outbox && args.scenario.len() > 1 {
                Err("outbox runs alone".into())
            } else if outbox {
                outbox::run(&args, &target.url, server_settings(&target.url, &args)).await
            } else if ws && args.scenario.len() > 1 {
                Err("ws-fanout runs alone".into())
            } else if ws {
                wsfanout::run(&args, &target.url).await
            } else if blood > 0 && blood < args.scenario.len() {
                Err("the blood scenarios run on their own data set: do not mix them with others".into())
            } else if blood > 0 {
                blood::run(&args, &target.url).await
            } else if care > 0 && care < args.scenario.len() {
                Err("the consultation and report scenarios run on their own data set: do not mix them with others".into())
            } else if care > 0 {
                care::run(&args, &target.url).await
            } else if camps > 0 && camps < args.scenario.len() {
                Err("the camp scenarios run on their own data set: do not mix them with others".into())
            } else if camps > 0 {
                camps::run(&args, &target.url).await
            } else {
                run(&args, &target.url).await
            }
        } => r,
        _ = tokio::signal::ctrl_c() => Err("interrupted".into()),
    };
    target.remove().await;
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("some requests failed: see the errors column and the messages above");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("benchmark failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Starts the server, seeds it and runs every scenario at every concurrency. Returns false
/// when some request failed.
async fn run(args: &Args, db_url: &str) -> setup::Res<bool> {
    let settings = server_settings(db_url, args);
    let server = setup::Server::start(&settings).await?;
    let c = &server.config;
    eprintln!(
        "server on {} | {} | pool {} connections | argon2id {} KiB x {} iterations, {} at once | {} cores",
        server.base,
        args.db.label(),
        c.db_max_connections,
        c.argon2_memory_kib,
        c.argon2_iterations,
        c.password_hash_concurrency,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    let max_conc = args.concurrency.iter().copied().max().unwrap_or(1);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(max_conc + 8)
        .timeout(Duration::from_secs(60))
        .build()?;
    let seeded = std::time::Instant::now();
    let data = setup::seed(&server, &http, args.orgs, args.members).await?;
    eprintln!(
        "seeded {} organizations x {} members in {:.1} s",
        args.orgs,
        args.members,
        seeded.elapsed().as_secs_f64()
    );
    if !args.no_header {
        println!("{}", load::Report::HEADER);
    }
    let url = format!("{}/graphql", server.base);
    let mut all_ok = true;
    for &scenario in &args.scenario {
        let request = data.request(scenario)?;
        for &concurrency in &args.concurrency {
            all_ok &= load::measure(&http, &url, args, scenario, &request, concurrency).await;
        }
    }
    drop(http);
    server.stop().await;
    Ok(all_ok)
}

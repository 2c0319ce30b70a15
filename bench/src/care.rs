//! Telehealth consultations and medical reports: `open-slots`, `consultations-page`,
//! `review-queue` and `book`.
//!
//! The data set is seeded through the public GraphQL API only (no rows written around the
//! server): one approved hospital with its admin; verified doctors (members of it, with a
//! doctor profile) available every day 09:00–17:00 `Asia/Kolkata`; patients; existing
//! bookings; prescriptions written by the doctor; and medical reports uploaded by a
//! radiologist, claimed and analysed by the hospital's AI API client
//! (`reports:analysis:write`). Only what the chosen scenarios need is seeded.

use crate::{
    Args, DbKind, Scenario, load,
    setup::{self, PASSWORD, Res},
    tally::{Tally, post},
};
use chrono::{DateTime, Duration as Days, NaiveTime, Utc};
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

/// The `consultations-page` scenario's query, as the doctor.
pub const PAGE_QUERY: &str = "{ consultations(first: 50) { edges { node { id status symptoms doctor { specialization user { fullName } } patient { fullName } prescriptions { medications { name } } } } } }";

/// The `review-queue` scenario's query, as a DOCTOR member of the organization.
pub const QUEUE_QUERY: &str = "query($org: ID!) { reviewQueue(organizationId: $org, first: 50) { edges { node { id patient { fullName } images { url } aiAnalysis { riskLevel } reviews { doctor { fullName } } } } } }";

/// The `open-slots` scenario's query, as a patient.
pub const SLOTS_QUERY: &str = "query($d: ID!, $from: DateTime!, $to: DateTime!) { openSlots(doctorId: $d, from: $from, to: $to, durationMinutes: 30) { startsAt endsAt localStartsAt utcOffsetMinutes timeZone } }";

/// The `book` scenario's mutation.
pub const BOOK_MUTATION: &str = "mutation($i: BookConsultationInput!) { bookConsultation(input: $i) { consultation { id status } } }";

/// The doctors' time zone: UTC+05:30 all year (no daylight saving).
const ZONE: &str = "Asia/Kolkata";
const ZONE_OFFSET_SECS: i32 = 5 * 3600 + 30 * 60;
/// Availability 09:00–17:00 local: sixteen 30-minute slots a day.
const DAY_START_HOUR: u32 = 9;
const SLOTS_PER_DAY: usize = 16;
/// The booking horizon: bookings stay within this many days (the server allows 90).
const BOOK_HORIZON_DAYS: usize = 85;
/// Patients of the `open-slots` and `consultations-page` doctors (each booking is theirs in
/// turn; a patient is never booked twice at one time).
const PATIENTS_PER_DOCTOR: usize = 20;

/// Setup requests in flight at once.
const SEED_CONCURRENCY: usize = 8;

const WEEKDAYS: [&str; 7] = [
    "MONDAY",
    "TUESDAY",
    "WEDNESDAY",
    "THURSDAY",
    "FRIDAY",
    "SATURDAY",
    "SUNDAY",
];
const SPECIALIZATIONS: [&str; 4] = [
    "General Medicine",
    "Cardiology",
    "Dermatology",
    "Pulmonology",
];
const RISKS: [&str; 3] = ["LOW", "MEDIUM", "HIGH"];

/// Whether a scenario belongs to this module.
pub fn is_care(s: Scenario) -> bool {
    matches!(
        s,
        Scenario::OpenSlots | Scenario::ConsultationsPage | Scenario::ReviewQueue | Scenario::Book
    )
}

/// The start of slot `n` of a doctor's calendar: slot 0 is tomorrow (in the doctors' zone)
/// at 09:00 local, then every 30 minutes until 17:00, then the next day.
fn nth_slot(n: usize) -> DateTime<Utc> {
    let offset = Days::seconds(i64::from(ZONE_OFFSET_SECS));
    let today = (Utc::now() + offset).date_naive();
    let day = today + Days::days(1 + (n / SLOTS_PER_DAY) as i64);
    day.and_time(NaiveTime::MIN).and_utc() - offset
        + Days::hours(i64::from(DAY_START_HOUR))
        + Days::minutes(30 * (n % SLOTS_PER_DAY) as i64)
}

/// Midnight (local) at the start of tomorrow in the doctors' zone, in UTC.
fn tomorrow_midnight() -> DateTime<Utc> {
    nth_slot(0) - Days::hours(i64::from(DAY_START_HOUR))
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn id_at(data: &Value, pointer: &str) -> Res<String> {
    data.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("no id at {pointer}").into())
}

/// A signed-in account.
struct Account {
    token: String,
    user_id: String,
}

async fn account(http: &reqwest::Client, base: &str, email: &str, name: &str) -> Res<Account> {
    let data = setup::gql(
        http,
        base,
        None,
        "mutation($i: RegisterInput!) { register(input: $i) { user { id } } }",
        json!({"i": {"email": email, "password": PASSWORD, "fullName": name}}),
    )
    .await?;
    let user_id = id_at(&data, "/register/user/id")?;
    let token = setup::login(http, base, email).await?;
    Ok(Account { token, user_id })
}

/// `n` patients, `care-<tag>-<i>@bench.lifeflow.example`.
async fn patients(http: &reqwest::Client, base: &str, tag: &str, n: usize) -> Res<Vec<Account>> {
    stream::iter(0..n)
        .map(|i| async move {
            account(
                http,
                base,
                &format!("care-{tag}-{i}@bench.lifeflow.example"),
                &format!("Patient {tag} {i}"),
            )
            .await
        })
        .buffered(SEED_CONCURRENCY)
        .try_collect()
        .await
}

/// The hospital everything happens in.
struct Clinic {
    admin: String,
    org: String,
}

async fn clinic(http: &reqwest::Client, base: &str, root: &str) -> Res<Clinic> {
    let admin = account(
        http,
        base,
        "care-admin@bench.lifeflow.example",
        "Care Admin",
    )
    .await?;
    let data = setup::gql(
        http,
        base,
        Some(&admin.token),
        "mutation($i: RegisterOrganizationInput!) { registerOrganization(input: $i) { organization { id } } }",
        json!({"i": {
            "code": "BENCH-CARE", "name": "Bench Care Hospital", "kind": "HOSPITAL",
            "city": "Bengaluru", "country": "IN", "latitude": 12.97, "longitude": 77.59,
        }}),
    )
    .await?;
    let org = id_at(&data, "/registerOrganization/organization/id")?;
    setup::gql(
        http,
        base,
        Some(root),
        "mutation($i: OrganizationStatusInput!) { approveOrganization(input: $i) { organization { id } } }",
        json!({"i": {"organizationId": org}}),
    )
    .await?;
    Ok(Clinic {
        admin: admin.token,
        org,
    })
}

/// Adds an account as a member of the clinic with `role`.
async fn member(
    http: &reqwest::Client,
    base: &str,
    c: &Clinic,
    email: &str,
    name: &str,
    role: &str,
) -> Res<Account> {
    let a = account(http, base, email, name).await?;
    setup::gql(
        http,
        base,
        Some(&c.admin),
        "mutation($i: AddMemberInput!) { addMember(input: $i) { membership { id } } }",
        json!({"i": {"organizationId": c.org, "email": email, "role": role}}),
    )
    .await?;
    Ok(a)
}

/// A verified doctor of the clinic, available every day 09:00–17:00 `Asia/Kolkata`.
struct Doctor {
    token: String,
    id: String,
}

async fn doctor(http: &reqwest::Client, base: &str, c: &Clinic, i: usize) -> Res<Doctor> {
    let a = member(
        http,
        base,
        c,
        &format!("care-doctor-{i}@bench.lifeflow.example"),
        &format!("Doctor {i}"),
        "DOCTOR",
    )
    .await?;
    let data = setup::gql(
        http,
        base,
        Some(&a.token),
        "mutation($i: CreateDoctorProfileInput!) { createDoctorProfile(input: $i) { doctor { id } } }",
        json!({"i": {
            "organizationId": c.org, "licenseNumber": format!("BENCH-KMC-{i:05}"),
            "specialization": SPECIALIZATIONS[i % SPECIALIZATIONS.len()],
            "experienceYears": 8, "consultationFeeMinor": 50000, "currency": "INR",
        }}),
    )
    .await?;
    let id = id_at(&data, "/createDoctorProfile/doctor/id")?;
    setup::gql(
        http,
        base,
        Some(&c.admin),
        "mutation($i: VerifyDoctorInput!) { verifyDoctor(input: $i) { doctor { id } } }",
        json!({"i": {"doctorId": id}}),
    )
    .await?;
    let valid_from = (Utc::now() - Days::days(1)).date_naive().to_string();
    let rules: Vec<Value> = WEEKDAYS
        .iter()
        .map(|d| {
            json!({"dayOfWeek": d, "startTime": "09:00:00", "endTime": "17:00:00",
                   "timeZone": ZONE, "validFrom": valid_from})
        })
        .collect();
    setup::gql(
        http,
        base,
        Some(&a.token),
        "mutation($i: SetAvailabilityInput!) { setAvailability(input: $i) { doctor { id } } }",
        json!({"i": {"rules": rules}}),
    )
    .await?;
    Ok(Doctor { token: a.token, id })
}

/// The JSON input of a 30-minute video booking.
fn booking(doctor: &str, at: DateTime<Utc>) -> Value {
    json!({"doctorId": doctor, "scheduledAt": rfc3339(at), "durationMinutes": 30,
           "consultationType": "VIDEO", "symptoms": "fever for three days and a dry cough"})
}

async fn book(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    doctor: &str,
    at: DateTime<Utc>,
) -> Res<String> {
    let data = setup::gql(
        http,
        base,
        Some(token),
        BOOK_MUTATION,
        json!({"i": booking(doctor, at)}),
    )
    .await?;
    id_at(&data, "/bookConsultation/consultation/id")
}

/// What the read scenarios send, and the `book` scenario's participants.
#[derive(Default)]
struct Data {
    slots: Option<load::Request>,
    page: Option<load::Request>,
    queue: Option<load::Request>,
    book: Option<BookSet>,
}

/// `book`: doctor `i % D` is booked by patient `i % D` at slot `i / D`, so concurrent
/// workers take different doctors and no patient is booked twice at one time.
struct BookSet {
    doctors: Vec<String>,
    patients: Vec<HeaderValue>,
    next: Arc<AtomicUsize>,
}

impl BookSet {
    fn capacity(&self) -> usize {
        self.doctors.len() * SLOTS_PER_DAY * BOOK_HORIZON_DAYS
    }
}

/// Starts the server, seeds what the chosen scenarios need, then runs them at every
/// concurrency. Returns false when some request failed.
pub async fn run(args: &Args, db_url: &str) -> Res<bool> {
    let settings = crate::server_settings(db_url, args);
    let server = setup::Server::start(&settings).await?;
    let c = &server.config;
    eprintln!(
        "server on {} | {} | pool {} connections | {} cores",
        server.base,
        args.db.label(),
        c.db_max_connections,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    let outcome = drive(args, &server, db_url).await;
    server.stop().await;
    outcome
}

async fn drive(args: &Args, server: &setup::Server, db_url: &str) -> Res<bool> {
    let max_conc = args.concurrency.iter().copied().max().unwrap_or(1);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(max_conc + 8)
        .timeout(Duration::from_secs(60))
        .build()?;
    let data = seed(args, server, &http).await?;
    if args.db == DbKind::Postgres {
        let pool = Database::connect(db_url).await?;
        pool.execute_unprepared("VACUUM ANALYZE").await?;
        pool.close().await.ok();
        eprintln!("VACUUM ANALYZE done");
    }

    let base = server.base.as_str();
    let url = format!("{base}/graphql");
    if !args.no_header {
        println!("{}", load::Report::HEADER);
    }
    let mut all_ok = true;
    let mut book_rows = 0;
    for &scenario in &args.scenario {
        for &concurrency in &args.concurrency {
            let request = match scenario {
                Scenario::OpenSlots => data.slots.as_ref(),
                Scenario::ConsultationsPage => data.page.as_ref(),
                Scenario::ReviewQueue => data.queue.as_ref(),
                _ => None,
            };
            let Some(request) = request else {
                let set = data.book.as_ref().ok_or("book: not seeded")?;
                if book_rows == 0 && !args.no_header {
                    println!("\n{BOOK_HEADER}");
                }
                let (row, ok) = book_run(args, &http, &url, set, concurrency).await?;
                println!("{row}");
                book_rows += 1;
                all_ok &= ok;
                continue;
            };
            all_ok &= load::measure(&http, &url, args, scenario, request, concurrency).await;
        }
    }
    Ok(all_ok)
}

/// Seeds the data set of the chosen scenarios through the API and checks the reads.
async fn seed(args: &Args, server: &setup::Server, http: &reqwest::Client) -> Res<Data> {
    let base = server.base.as_str();
    let wants = |s: Scenario| args.scenario.contains(&s);
    let t0 = Instant::now();
    let root_email = "root@bench.lifeflow.example";
    lifeflow::seed::create_admin(
        &server.config,
        server.db(),
        root_email,
        PASSWORD,
        "Bench Root",
    )
    .await
    .map_err(|e| format!("create_admin: {e:?}"))?;
    let root = setup::login(http, base, root_email).await?;
    let c = clinic(http, base, &root).await?;
    let mut data = Data::default();
    let mut next_doctor = 0;

    if wants(Scenario::OpenSlots) {
        let t = Instant::now();
        let d = doctor(http, base, &c, next_doctor).await?;
        next_doctor += 1;
        let pts = patients(http, base, "slots", PATIENTS_PER_DOCTOR).await?;
        // Spread evenly over the next four weeks (or more slots if asked for more).
        let horizon = (SLOTS_PER_DAY * 28).max(args.slot_bookings);
        let taken: Vec<usize> = (0..args.slot_bookings)
            .map(|i| i * horizon / args.slot_bookings.max(1))
            .collect();
        stream::iter(taken.iter().enumerate())
            .map(|(i, &n)| {
                let (pts, d) = (&pts, &d);
                async move { book(http, base, &pts[i % pts.len()].token, &d.id, nth_slot(n)).await }
            })
            .buffer_unordered(SEED_CONCURRENCY)
            .try_collect::<Vec<_>>()
            .await?;
        let window = SLOTS_PER_DAY * 7;
        let in_window = taken.iter().filter(|&&n| n < window).count();
        let from = tomorrow_midnight();
        let vars = json!({"d": d.id, "from": rfc3339(from), "to": rfc3339(from + Days::days(7))});
        let got = setup::gql(http, base, Some(&pts[0].token), SLOTS_QUERY, vars.clone()).await?;
        let open = got
            .pointer("/openSlots")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        eprintln!(
            "open-slots: 1 doctor, {} bookings over {} days ({in_window} in the 7-day window) in {:.1} s; \
             openSlots returns {open} slots (expected {} - {in_window} = {})",
            args.slot_bookings,
            horizon.div_ceil(SLOTS_PER_DAY),
            t.elapsed().as_secs_f64(),
            window,
            window - in_window
        );
        if open != window - in_window {
            return Err(format!(
                "openSlots returned {open} slots, expected {}",
                window - in_window
            )
            .into());
        }
        data.slots = Some(load::Request::new(SLOTS_QUERY, vars, Some(&pts[0].token)));
    }

    if wants(Scenario::ConsultationsPage) {
        let t = Instant::now();
        let d = doctor(http, base, &c, next_doctor).await?;
        next_doctor += 1;
        let pts = patients(http, base, "page", PATIENTS_PER_DOCTOR).await?;
        let n = args.page_consultations;
        if n > SLOTS_PER_DAY * BOOK_HORIZON_DAYS {
            return Err("--page-consultations: more than the booking horizon holds".into());
        }
        let ids: Vec<String> = stream::iter(0..n)
            .map(|i| {
                let (pts, d) = (&pts, &d);
                async move { book(http, base, &pts[i % pts.len()].token, &d.id, nth_slot(i)).await }
            })
            .buffered(SEED_CONCURRENCY)
            .try_collect()
            .await?;
        let every = args.prescription_every.max(1);
        let prescribed: Vec<&String> = ids.iter().step_by(every).collect();
        stream::iter(prescribed.iter())
            .map(|id| {
                let d = &d;
                async move { prescribe(http, base, &d.token, id).await }
            })
            .buffer_unordered(SEED_CONCURRENCY)
            .try_collect::<Vec<_>>()
            .await?;
        let request = load::Request::new(PAGE_QUERY, json!({}), Some(&d.token));
        let got = setup::gql(http, base, Some(&d.token), PAGE_QUERY, json!({})).await?;
        let edges = got
            .pointer("/consultations/edges")
            .and_then(Value::as_array)
            .ok_or("consultations: no edges")?;
        let with = edges
            .iter()
            .filter(|e| {
                e.pointer("/node/prescriptions")
                    .and_then(Value::as_array)
                    .is_some_and(|p| !p.is_empty())
            })
            .count();
        eprintln!(
            "consultations-page: 1 doctor, {n} consultations ({} with a prescription) in {:.1} s; \
             the page returns {} consultations, {with} with a prescription",
            prescribed.len(),
            t.elapsed().as_secs_f64(),
            edges.len()
        );
        if edges.len() != n.min(50) || with == 0 {
            return Err("consultations: the page does not hold what it should".into());
        }
        data.page = Some(request);
    }

    if wants(Scenario::ReviewQueue) {
        data.queue = Some(seed_reports(args, http, base, &c, next_doctor).await?);
        next_doctor += 1;
    }

    if wants(Scenario::Book) {
        let t = Instant::now();
        let n = args.book_doctors.max(1);
        let first = next_doctor;
        let doctors: Vec<String> = stream::iter(first..first + n)
            .map(|i| {
                let c = &c;
                async move { doctor(http, base, c, i).await.map(|d| d.id) }
            })
            .buffered(SEED_CONCURRENCY)
            .try_collect()
            .await?;
        let pts = patients(http, base, "book", n).await?;
        let patients = pts
            .iter()
            .map(|p| HeaderValue::from_str(&format!("Bearer {}", p.token)))
            .collect::<Result<Vec<_>, _>>()?;
        eprintln!(
            "book: {n} doctors and {n} patients in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        data.book = Some(BookSet {
            doctors,
            patients,
            next: Arc::new(AtomicUsize::new(0)),
        });
    }
    eprintln!("seeded in {:.1} s", t0.elapsed().as_secs_f64());
    Ok(data)
}

/// Confirms, starts and writes a prescription for a consultation, as its doctor.
async fn prescribe(http: &reqwest::Client, base: &str, doctor: &str, id: &str) -> Res<()> {
    for op in ["confirmConsultation", "startConsultation"] {
        setup::gql(
            http,
            base,
            Some(doctor),
            &format!("mutation($i: ConsultationActionInput!) {{ {op}(input: $i) {{ consultation {{ id }} }} }}"),
            json!({"i": {"consultationId": id}}),
        )
        .await?;
    }
    setup::gql(
        http,
        base,
        Some(doctor),
        "mutation($i: AddPrescriptionInput!) { addPrescription(input: $i) { prescription { id } } }",
        json!({"i": {"consultationId": id, "instructions": "Rest and fluids",
                     "medications": [
                         {"name": "Paracetamol", "dose": "500 mg", "frequency": "three times a day", "durationDays": 5},
                         {"name": "Cetirizine", "dose": "10 mg", "frequency": "once a day", "durationDays": 7},
                     ]}}),
    )
    .await?;
    Ok(())
}

/// `--queue-reports` reports uploaded by a radiologist for patients in turn (each has booked
/// the clinic's doctor `doctor_no` first: reports are only for the clinic's patients), then
/// claimed (50 at a time) and analysed by the clinic's AI API client, all through the API.
/// Returns the `review-queue` request, as that doctor.
async fn seed_reports(
    args: &Args,
    http: &reqwest::Client,
    base: &str,
    c: &Clinic,
    doctor_no: usize,
) -> Res<load::Request> {
    let t = Instant::now();
    let rad = member(
        http,
        base,
        c,
        "care-radiologist@bench.lifeflow.example",
        "Radiologist",
        "RADIOLOGIST",
    )
    .await?;
    let reviewer = doctor(http, base, c, doctor_no).await?;
    let data = setup::gql(
        http,
        base,
        Some(&c.admin),
        "mutation($i: CreateApiClientInput!) { createApiClient(input: $i) { token } }",
        json!({"i": {"organizationId": c.org, "name": "Imaging AI", "scopes": ["reports:analysis:write"]}}),
    )
    .await?;
    let ai = data
        .pointer("/createApiClient/token")
        .and_then(Value::as_str)
        .ok_or("createApiClient: no token")?
        .to_string();
    let pts = patients(http, base, "reports", 100).await?;
    stream::iter(pts.iter().enumerate())
        .map(|(i, p)| {
            let reviewer = &reviewer;
            async move { book(http, base, &p.token, &reviewer.id, nth_slot(i)).await }
        })
        .buffer_unordered(SEED_CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await?;
    let n = args.queue_reports;
    let create = "mutation($i: CreateMedicalReportInput!) { createMedicalReport(input: $i) { medicalReport { id } } }";
    stream::iter(0..n)
        .map(|i| {
            let (pts, rad) = (&pts, &rad);
            async move {
                setup::gql(http, base, Some(&rad.token), create, json!({"i": {
                    "organizationId": c.org, "patientId": pts[i % pts.len()].user_id,
                    "studyType": "Chest X-ray", "clinicalNotes": "persistent cough for three weeks",
                    "images": [
                        {"url": format!("https://imaging.example/s/{i}/1.dcm"), "imageType": "XRAY", "format": "DICOM",
                         "width": 2048, "height": 2048, "sizeBytes": 8_388_608,
                         "dicomMetadata": {"Modality": "CR", "BodyPartExamined": "CHEST"}},
                        {"url": format!("https://imaging.example/s/{i}/2.png"), "imageType": "XRAY", "format": "PNG",
                         "width": 1024, "height": 1024, "sizeBytes": 524_288},
                    ],
                }})).await
            }
        })
        .buffer_unordered(SEED_CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await?;
    let uploaded = t.elapsed().as_secs_f64();
    let claim = "mutation($i: ClaimReportsInput!) { claimReportsForAnalysis(input: $i) { medicalReports { id } } }";
    let analyse = "mutation($i: SubmitAiAnalysisInput!) { submitAiAnalysis(input: $i) { medicalReport { id } } }";
    let mut analysed = 0;
    loop {
        let data = setup::gql(
            http,
            base,
            Some(&ai),
            claim,
            json!({"i": {"organizationId": c.org, "limit": 50}}),
        )
        .await?;
        let ids: Vec<String> = data
            .pointer("/claimReportsForAnalysis/medicalReports")
            .and_then(Value::as_array)
            .ok_or("claimReportsForAnalysis: no list")?
            .iter()
            .filter_map(|r| r.get("id").and_then(Value::as_str).map(str::to_string))
            .collect();
        if ids.is_empty() {
            break;
        }
        stream::iter(ids.iter().enumerate())
            .map(|(i, id)| {
                let ai = &ai;
                let risk = RISKS[(analysed + i) % RISKS.len()];
                let (low, medium, high) = match risk {
                    "HIGH" => (0.05, 0.15, 0.8),
                    "MEDIUM" => (0.2, 0.6, 0.2),
                    _ => (0.9, 0.08, 0.02),
                };
                async move {
                    setup::gql(http, base, Some(ai), analyse, json!({"i": {
                        "reportId": id, "modelName": "chest-xr", "modelVersion": "2.1.0", "riskLevel": risk,
                        "probabilities": {"low": low, "medium": medium, "high": high},
                        "findings": {"abnormalities": [{"type": "opacity", "location": "right upper lobe"}]},
                        "processingTimeMs": 840, "imageQualityScore": 0.93,
                    }})).await
                }
            })
            .buffer_unordered(SEED_CONCURRENCY)
            .try_collect::<Vec<_>>()
            .await?;
        analysed += ids.len();
    }
    let vars = json!({"org": c.org});
    let got = setup::gql(http, base, Some(&reviewer.token), QUEUE_QUERY, vars.clone()).await?;
    let edges = got
        .pointer("/reviewQueue/edges")
        .and_then(Value::as_array)
        .ok_or("reviewQueue: no edges")?;
    eprintln!(
        "review-queue: {n} reports uploaded in {uploaded:.1} s, {analysed} claimed and analysed \
         by the API client, {:.1} s in all; the queue page returns {} reports",
        t.elapsed().as_secs_f64(),
        edges.len()
    );
    if analysed != n || edges.len() != n.min(50) {
        return Err("review-queue: the data set is not what it should be".into());
    }
    Ok(load::Request::new(QUEUE_QUERY, vars, Some(&reviewer.token)))
}

const BOOK_HEADER: &str = "| Scenario | DB | Concurrency | Attempts | Booked | CONFLICT | Other errors | Bookings/s | Attempts/s | p50 ms | p95 ms | p99 ms | Max ms | SQL/req min | SQL/req max | SQL/req mean |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|";

/// Workers take bookings from the set's shared sequence (each slot of each doctor once)
/// until `deadline`.
async fn book_loop(
    http: &reqwest::Client,
    url: &str,
    set: &BookSet,
    concurrency: usize,
    deadline: Instant,
) -> Res<Tally> {
    let doctors = Arc::new(set.doctors.clone());
    let patients = Arc::new(set.patients.clone());
    let capacity = set.capacity();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (http, url, doctors, patients, next) = (
                http.clone(),
                url.to_string(),
                doctors.clone(),
                patients.clone(),
                set.next.clone(),
            );
            tokio::spawn(async move {
                let mut t = Tally::default();
                let d = doctors.len();
                while Instant::now() < deadline {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= capacity {
                        break;
                    }
                    let body = json!({"query": BOOK_MUTATION,
                        "variables": {"i": booking(&doctors[i % d], nth_slot(i / d))}})
                    .to_string();
                    let t0 = Instant::now();
                    let outcome = post(&http, &url, &patients[i % d], body).await;
                    t.record(t0, outcome, b"\"CONFLICT\"");
                }
                t
            })
        })
        .collect();
    let mut total = Tally::default();
    for w in workers {
        total.merge(w.await?);
    }
    Ok(total)
}

/// One `book` run: unmeasured warm-up bookings, then `--duration` seconds measured.
async fn book_run(
    args: &Args,
    http: &reqwest::Client,
    url: &str,
    set: &BookSet,
    concurrency: usize,
) -> Res<(String, bool)> {
    if args.warmup > 0 {
        let warm = book_loop(
            http,
            url,
            set,
            concurrency,
            Instant::now() + Duration::from_secs(args.warmup),
        )
        .await?;
        if let Some(e) = warm.first_error {
            eprintln!("book warm-up at concurrency {concurrency}: first error: {e}");
        }
    }
    let start = Instant::now();
    let mut total = book_loop(
        http,
        url,
        set,
        concurrency,
        start + Duration::from_secs(args.duration),
    )
    .await?;
    let elapsed = start.elapsed().as_secs_f64();
    if let Some(e) = &total.first_error {
        eprintln!(
            "book at concurrency {concurrency}: {} failed; first error: {e}",
            total.errors
        );
    }
    let row = total.row("book", args.db.label(), concurrency, elapsed);
    Ok((row, total.errors == 0))
}

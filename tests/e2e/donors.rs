//! Donors are found, not guessed (DESIGN §7.2): a bank records a donation only for a donor it
//! registered or collected from, or one who shows their card; anyone else is `NOT_FOUND`,
//! exactly as an unknown donor; a refusal names the rule, never the donor's clinical notes;
//! a bank sees its own donations of a donor, the donor and their NGO see them all.

use lifeflow_tests::{
    fixtures::{blood::*, donors::*, *},
    matrix::{Matrix, Outcome::*, Row, mutation},
    *,
};
use serde_json::{Value, json};

const RECORD: &str = "mutation($i: RecordDonationInput!) { recordDonation(input: $i) {
  donation { id bloodBank { id } } donor { id totalDonations } units { id } } }";

/// What a donor's record says, as their NGO reads it.
const SNAPSHOT: &str = "query($id: ID!) { donor(id: $id) {
  totalDonations lastDonationDate eligibilityStatus nextEligibleDate deferrals { reason until }
  donations { id } } }";

/// A hospital and a bank ([`Network`]), a second bank that has never met the donors, and an
/// NGO that registers them.
struct Scene {
    net: Network,
    other: Org,
    ngo: Org,
}

async fn scene(app: &TestApp) -> Scene {
    let net = Network::new(app, 2.0).await;
    let other = net.second_bank(app).await;
    let ngo = org_north(app, &net.root, "NGO-CITY", "NGO", "admin@ngo.example", 1.0).await;
    Scene { net, other, ngo }
}

/// A whole-blood `RecordDonationInput` at `bank` for the donor `who` names (`{"donorId": …}`
/// or `{"donorCode": …}`) with one red-cell unit.
fn donation(bank: &str, who: Value, hemoglobin: f64, unit: &str) -> Value {
    let mut i = json!({"bloodBankId": bank, "donationType": "WHOLE_BLOOD", "volumeMl": 450,
        "hemoglobin": hemoglobin,
        "units": [{"unitNumber": unit, "isLocalBarcode": true, "component": "RED_CELLS", "volumeMl": 280}]});
    for (k, v) in who.as_object().expect("donor reference") {
        i[k] = v.clone();
    }
    json!({"i": i})
}

fn by_id(id: &str) -> Value {
    json!({"donorId": id})
}

fn by_code(code: &str) -> Value {
    json!({"donorCode": code})
}

async fn record(app: &TestApp, token: &str, vars: Value) -> Gql {
    app.gql(Some(token), RECORD, vars).await
}

async fn snapshot(app: &TestApp, who: &Session, donor: &str) -> Value {
    let r = app
        .gql(Some(&who.access), SNAPSHOT, json!({"id": donor}))
        .await;
    r.data()["donor"].clone()
}

fn reason(r: &Gql) -> Option<&str> {
    r.body
        .pointer("/errors/0/extensions/reason")
        .and_then(Value::as_str)
}

fn message(r: &Gql) -> &str {
    r.body
        .pointer("/errors/0/message")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The banks whose donations of `donor` the caller sees.
async fn donation_banks(app: &TestApp, who: &Session, donor: &str) -> Vec<String> {
    let r = app
        .gql(
            Some(&who.access),
            "query($id: ID!) { donor(id: $id) { donations { bloodBank { id } } } }",
            json!({"id": donor}),
        )
        .await;
    let mut banks: Vec<String> = r.data()["donor"]["donations"]
        .as_array()
        .expect("donations")
        .iter()
        .map(|d| d["bloodBank"]["id"].as_str().expect("bank").to_string())
        .collect();
    banks.sort();
    banks
}

/// `donor` gives whole blood at the scene's bank 100 days ago and at the other bank today,
/// showing their card at both.
async fn gives_at_both_banks(app: &TestApp, s: &Scene, donor: &str, code: &str) {
    let mut earlier = donation(
        &s.net.bank.id,
        by_code(code),
        13.6,
        &format!("{}-A", &donor[..8]),
    );
    earlier["i"]["collectedAt"] = json!(in_days(-100));
    record(app, &s.net.bank_staff.access, earlier).await.data();
    let today = donation(
        &s.other.id,
        by_code(code),
        13.9,
        &format!("{}-B", &donor[..8]),
    );
    record(app, &s.other.admin.access, today).await.data();
}

#[tokio::test]
async fn an_unrelated_bank_naming_a_donor_it_never_met_hears_not_found_and_nothing_changes() {
    // Arrange: an NGO's donor, eligible; a bank that never met them, with a LIMS client.
    let app = spawn_app().await;
    let s = scene(&app).await;
    let donor = ngo_donor(&app, &s.ngo, "Meera Iyer", "+919800000101").await;
    let lims = api_client(&app, &s.other.admin, &s.other.id, "LIMS", &["stock:write"]).await;
    let before = snapshot(&app, &s.ngo.admin, &donor).await;
    let unknown = uuid::Uuid::new_v4().to_string();

    // Act
    let staff = record(
        &app,
        &s.other.admin.access,
        donation(&s.other.id, by_id(&donor), 14.0, "UNK-1"),
    )
    .await;
    let client = record(
        &app,
        &lims.token,
        donation(&s.other.id, by_id(&donor), 14.0, "UNK-2"),
    )
    .await;
    let probe = record(
        &app,
        &s.other.admin.access,
        donation(&s.other.id, by_id(&donor), 9.0, "UNK-3"),
    )
    .await;
    let nobody = record(
        &app,
        &s.other.admin.access,
        donation(&s.other.id, by_id(&unknown), 14.0, "UNK-4"),
    )
    .await;

    // Assert: the same answer as for a donor who does not exist, and nothing written.
    for r in [&staff, &client, &probe, &nobody] {
        assert_eq!(r.code(), Some("NOT_FOUND"), "{}", r.body);
        assert_eq!(message(r), message(&nobody));
        assert_eq!(reason(r), None);
    }
    assert_eq!(snapshot(&app, &s.ngo.admin, &donor).await, before);
    assert_eq!(before["eligibilityStatus"], "ELIGIBLE");
    assert_eq!(app.count("SELECT COUNT(*) FROM donations").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM blood_units").await, 0);
    let r = app
        .gql(
            Some(&s.other.admin.access),
            "query($id: ID!) { donor(id: $id) { fullName } }",
            json!({"id": donor}),
        )
        .await;
    assert_eq!(r.code(), Some("NOT_FOUND"));
}

#[tokio::test]
async fn a_bank_records_a_donation_for_a_donor_it_never_met_when_they_show_their_card() {
    // Arrange: a donor who registered themself reads the code on their card.
    let app = spawn_app().await;
    let s = scene(&app).await;
    let me = app.signed_in("arjun@donor.example").await;
    let donor = register_donor(&app, &me, donor_input(None, "Arjun Das", "+919800000102")).await;
    let code = my_card_code(&app, &me).await;
    assert_eq!(code.len(), 14, "{code}");
    assert!(
        code.split('-').all(|g| g.len() == 4
            && g.chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())),
        "{code}"
    );

    // Act: the bank types it as staff do, lower case and with spaces.
    let typed = code.to_lowercase().replace('-', " ");
    let r = record(
        &app,
        &s.other.admin.access,
        donation(&s.other.id, by_code(&typed), 13.5, "CARD-1"),
    )
    .await;

    // Assert
    let out = &r.data()["recordDonation"];
    assert_eq!(out["donation"]["bloodBank"]["id"], s.other.id.as_str());
    assert_eq!(out["donor"]["id"], donor.as_str());
    assert_eq!(out["donor"]["totalDonations"], 1);
    assert_eq!(out["units"].as_array().map(Vec::len), Some(1));
    // Having collected from them, the bank now knows them by id: the next attempt is
    // refused for the interval, not hidden.
    let again = record(
        &app,
        &s.other.admin.access,
        donation(&s.other.id, by_id(&donor), 13.5, "CARD-2"),
    )
    .await;
    assert_eq!(again.code(), Some("BAD_USER_INPUT"), "{}", again.body);
    assert_eq!(reason(&again), Some("INTERVAL"));
    assert_eq!(again.field(), Some("input.donorId"));
    // A code nobody holds is not found; something that is not a code is bad input.
    let r = record(
        &app,
        &s.other.admin.access,
        donation(&s.other.id, by_code("ZZZZ-ZZZZ-ZZZZ"), 13.5, "CARD-3"),
    )
    .await;
    assert_eq!(r.code(), Some("NOT_FOUND"), "{}", r.body);
    let r = record(
        &app,
        &s.other.admin.access,
        donation(&s.other.id, by_code("not a code"), 13.5, "CARD-4"),
    )
    .await;
    assert_eq!(r.field(), Some("input.donorCode"), "{}", r.body);
    let both = json!({"donorId": donor, "donorCode": code});
    let r = record(
        &app,
        &s.other.admin.access,
        donation(&s.other.id, both, 13.5, "CARD-5"),
    )
    .await;
    assert_eq!(r.code(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert_eq!(app.count("SELECT COUNT(*) FROM donations").await, 1);
}

#[tokio::test]
async fn a_low_hemoglobin_is_refused_naming_the_rule_hemoglobin_and_nothing_is_written() {
    // Arrange: a walk-in donor the bank registered.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let donor = register_donor(
        &app,
        &net.bank_staff,
        donor_input(Some(&net.bank.id), "Ravi Kumar", "+919800000103"),
    )
    .await;

    // Act
    let r = record(
        &app,
        &net.bank_staff.access,
        donation(&net.bank.id, by_id(&donor), 9.4, "HB-1"),
    )
    .await;

    // Assert
    assert_eq!(r.code(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert_eq!(reason(&r), Some("HEMOGLOBIN"));
    assert_eq!(r.field(), Some("input.hemoglobin"));
    assert!(!message(&r).contains("9.4"), "{}", r.body);
    assert_eq!(app.count("SELECT COUNT(*) FROM donations").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM blood_units").await, 0);
    let after = snapshot(&app, &net.bank_staff, &donor).await;
    assert_eq!(after["totalDonations"], 0);
    assert_eq!(after["eligibilityStatus"], "ELIGIBLE");
}

#[tokio::test]
async fn a_deferred_donor_is_refused_naming_the_rule_deferred_and_never_the_deferrals_notes() {
    // Arrange: the NGO defers its donor with a clinical note; the donor's card is shown at a
    // bank, and the bank that registered another deferred donor asks by id.
    let app = spawn_app().await;
    let s = scene(&app).await;
    let note = "hepatitis B exposure, follow-up at the liver clinic";
    let defer = |donor: &str, org: &str| {
        json!({"i": {"donorId": donor, "organizationId": org,
                     "addDeferral": {"reason": note, "until": date_in(30)}}})
    };
    let update = "mutation($i: UpdateDonorInput!) { updateDonor(input: $i) { donor { eligibilityStatus } } }";
    let ngos = ngo_donor(&app, &s.ngo, "Kavya N", "+919800000104").await;
    let r = app
        .gql(Some(&s.ngo.admin.access), update, defer(&ngos, &s.ngo.id))
        .await;
    assert_eq!(
        r.data()["updateDonor"]["donor"]["eligibilityStatus"],
        "DEFERRED"
    );
    let code = card_code(&app, &s.ngo.admin, &ngos).await;
    let walk_in = register_donor(
        &app,
        &s.net.bank_staff,
        donor_input(Some(&s.net.bank.id), "Imran Sheikh", "+919800000105"),
    )
    .await;
    app.gql(
        Some(&s.net.bank_staff.access),
        update,
        defer(&walk_in, &s.net.bank.id),
    )
    .await
    .data();

    // Act: a low hemoglobin too, as a prober would send to be sure nothing is written.
    let at_other = record(
        &app,
        &s.other.admin.access,
        donation(&s.other.id, by_code(&code), 9.0, "DEF-1"),
    )
    .await;
    let at_own = record(
        &app,
        &s.net.bank_staff.access,
        donation(&s.net.bank.id, by_id(&walk_in), 14.0, "DEF-2"),
    )
    .await;

    // Assert
    for (r, field) in [(&at_other, "input.donorCode"), (&at_own, "input.donorId")] {
        assert_eq!(r.code(), Some("BAD_USER_INPUT"), "{}", r.body);
        assert_eq!(reason(r), Some("DEFERRED"));
        assert_eq!(r.field(), Some(field));
        let body = r.body.to_string();
        assert!(
            !body.contains("hepatitis") && !body.contains("clinic"),
            "{body}"
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM donations").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM blood_units").await, 0);
}

#[tokio::test]
async fn a_bank_sees_only_its_own_donations_of_a_donor_and_the_donor_sees_them_all() {
    // Arrange: a donor with an account gives at two banks, showing their card at both.
    let app = spawn_app().await;
    let s = scene(&app).await;
    let me = app.signed_in("priya@donor.example").await;
    let donor = register_donor(&app, &me, donor_input(None, "Priya Das", "+919800000106")).await;
    let code = my_card_code(&app, &me).await;
    gives_at_both_banks(&app, &s, &donor, &code).await;

    // Act
    let seen_by_bank = donation_banks(&app, &s.net.bank_staff, &donor).await;
    let seen_by_other = donation_banks(&app, &s.other.admin, &donor).await;
    let r = app
        .gql(
            Some(&me.access),
            "{ myDonorProfile { donorCode donations { bloodBank { id } } } }",
            json!({}),
        )
        .await;

    // Assert
    assert_eq!(seen_by_bank, [s.net.bank.id.as_str()]);
    assert_eq!(seen_by_other, [s.other.id.as_str()]);
    let mine = &r.data()["myDonorProfile"];
    assert_eq!(mine["donations"].as_array().map(Vec::len), Some(2));
    assert_eq!(mine["donorCode"], code.as_str());
    // Banks that only collected from the donor do not read the card's code.
    for who in [&s.net.bank_staff, &s.other.admin] {
        let r = app
            .gql(
                Some(&who.access),
                "query($id: ID!) { donor(id: $id) { donorCode } }",
                json!({"id": donor}),
            )
            .await;
        assert_eq!(r.data()["donor"]["donorCode"], Value::Null);
    }
}

#[tokio::test]
async fn an_ngo_sees_every_donation_of_its_donor_and_a_bank_only_its_own() {
    // Arrange: the NGO prints its donor's card; the donor gives at two banks.
    let app = spawn_app().await;
    let s = scene(&app).await;
    let donor = ngo_donor(&app, &s.ngo, "Lakshmi Iyer", "+919800000107").await;
    let code = card_code(&app, &s.ngo.admin, &donor).await;
    gives_at_both_banks(&app, &s, &donor, &code).await;

    // Act
    let seen_by_ngo = donation_banks(&app, &s.ngo.admin, &donor).await;
    let seen_by_bank = donation_banks(&app, &s.net.bank.admin, &donor).await;

    // Assert
    let mut both = vec![s.net.bank.id.clone(), s.other.id.clone()];
    both.sort();
    assert_eq!(seen_by_ngo, both);
    assert_eq!(seen_by_bank, [s.net.bank.id.as_str()]);
}

const CALLERS: [&str; 8] = [
    "anonymous",
    "plain user",
    "the donor's NGO ADMIN",
    "bank ADMIN (collected before)",
    "bank STAFF (collected before)",
    "other bank's ADMIN",
    "other bank's API client (stock:write)",
    "super admin",
];

#[tokio::test]
async fn every_caller_against_a_donor_one_bank_knows_and_another_does_not() {
    // Arrange: an NGO's donor who gave at the bank today (so every allowed donation below is
    // refused for the interval and writes nothing).
    let app = spawn_app().await;
    let s = scene(&app).await;
    let donor = ngo_donor(&app, &s.ngo, "Neha Joshi", "+919800000108").await;
    let code = card_code(&app, &s.ngo.admin, &donor).await;
    record(
        &app,
        &s.net.bank_staff.access,
        donation(&s.net.bank.id, by_code(&code), 13.8, "MTX-0"),
    )
    .await
    .data();
    let client = api_client(&app, &s.other.admin, &s.other.id, "LIMS", &["stock:write"])
        .await
        .token;
    let plain = app.signed_in("plain@x.example").await;
    let tokens = vec![
        None,
        Some(plain.access.clone()),
        Some(s.ngo.admin.access.clone()),
        Some(s.net.bank.admin.access.clone()),
        Some(s.net.bank_staff.access.clone()),
        Some(s.other.admin.access.clone()),
        Some(client),
        Some(s.net.root.access.clone()),
    ];
    let (bank, other) = (&s.net.bank.id, &s.other.id);
    let record_doc = mutation("recordDonation", "RecordDonationInput", "donation { id }");
    let read = "query($id: ID!) { donor(id: $id) { id } }";
    let update = mutation("updateDonor", "UpdateDonorInput", "donor { id }");

    //  anon user NGO B-ADM B-STF other client SA
    let matrix: Vec<Row<8>> = vec![
        (
            "recordDonation by id at the bank that knows them",
            record_doc.clone(),
            donation(bank, by_id(&donor), 14.0, "MTX-1"),
            [U, F, F, A, A, F, F, F],
        ),
        (
            "recordDonation by id at a bank that does not",
            record_doc.clone(),
            donation(other, by_id(&donor), 14.0, "MTX-2"),
            [U, F, F, F, F, N, N, F],
        ),
        (
            "recordDonation by card code at a bank that does not",
            record_doc.clone(),
            donation(other, by_code(&code), 14.0, "MTX-3"),
            [U, F, F, F, F, A, A, F],
        ),
        (
            "recordDonation by an unknown card code",
            record_doc,
            donation(other, by_code("ZZZZ-ZZZZ-ZZZZ"), 14.0, "MTX-4"),
            [U, F, F, F, F, N, N, F],
        ),
        (
            "donor",
            read.into(),
            json!({"id": donor}),
            [U, N, A, A, A, N, F, A],
        ),
        (
            "updateDonor for the bank that does not know them",
            update,
            json!({"i": {"donorId": donor, "organizationId": other, "weightKg": 10.0}}),
            [U, F, F, F, F, N, F, F],
        ),
    ];

    // Act and assert
    Matrix::new(CALLERS, tokens)
        .telling_not_found_apart()
        .assert(&app, &matrix)
        .await;
    assert_eq!(app.count("SELECT COUNT(*) FROM donations").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM blood_units").await, 1);
}

#[tokio::test]
async fn donors_registered_before_card_codes_existed_get_one_that_a_bank_can_use() {
    use migration::{Migrator, MigratorTrait};
    use sea_orm::{
        ConnectionTrait, Database,
        sea_query::{Alias, Query},
    };

    // Arrange: a database migrated up to just before card codes, with two donors in it.
    let test_db = std::sync::Arc::new(TestDb::create().await);
    let db = Database::connect(&test_db.url).await.expect("connect");
    let before = Migrator::migrations()
        .iter()
        .position(|m| m.name() == "m20261201_000001_donor_codes")
        .expect("the card-code migration");
    Migrator::up(&db, Some(u32::try_from(before).expect("count")))
        .await
        .expect("migrate to before card codes");
    let now = chrono::Utc::now();
    for i in 0..2 {
        let dob = chrono::NaiveDate::from_ymd_opt(1990, 1, 1).expect("date");
        let insert = Query::insert()
            .into_table(Alias::new("donors"))
            .columns(
                [
                    "id",
                    "full_name",
                    "date_of_birth",
                    "blood_group",
                    "weight_kg",
                    "phone",
                    "city",
                    "total_donations",
                    "eligibility_status",
                    "deferrals",
                    "created_at",
                    "updated_at",
                ]
                .map(Alias::new),
            )
            .values_panic([
                uuid::Uuid::now_v7().into(),
                format!("Old Donor {i}").into(),
                dob.into(),
                "A_POS".into(),
                65.0.into(),
                format!("+91980000020{i}").into(),
                "Bengaluru".into(),
                0.into(),
                "ELIGIBLE".into(),
                json!([]).into(),
                now.into(),
                now.into(),
            ])
            .to_owned();
        db.execute(&insert).await.expect("insert an old donor");
    }
    db.close().await.ok();

    // Act: the server starts and runs the remaining migrations.
    let app = spawn_on(test_db, &[]).await;

    // Assert: distinct codes, and a bank that never met the donor records with one.
    let donors: Vec<(uuid::Uuid, String)> = {
        use sea_orm::EntityTrait;
        entity::donor::Entity::find()
            .all(&app.db)
            .await
            .expect("donors")
            .into_iter()
            .map(|d| (d.id, d.donor_code))
            .collect()
    };
    assert_eq!(donors.len(), 2);
    assert_ne!(donors[0].1, donors[1].1);
    assert!(donors.iter().all(|(_, c)| c.len() == 12), "{donors:?}");
    let root = app.super_admin().await;
    let bank = org_north(
        &app,
        &root,
        "BANK-CITY",
        "BLOOD_BANK",
        "admin@bank.example",
        2.0,
    )
    .await;
    let r = record(
        &app,
        &bank.admin.access,
        donation(&bank.id, by_code(&donors[0].1), 13.7, "OLD-1"),
    )
    .await;
    assert_eq!(
        r.data()["recordDonation"]["donor"]["id"],
        donors[0].0.to_string().as_str()
    );
}

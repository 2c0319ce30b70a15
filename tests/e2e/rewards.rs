//! Donor rewards (DESIGN §7.6): points written with their cause and only once, even when
//! retries race (on the database the test runs on: SQLite by default, Postgres with
//! `TEST_DATABASE_URL`); tiers and badges at their boundaries; leaderboards that list only
//! donors who opted in, by the name they chose; who may read what.

use chrono::Utc;
use entity::{RewardSource, reward_point};
use lifeflow_tests::{
    fixtures::{blood::*, camps::*, donors::*, *},
    matrix::{Matrix, Outcome::*, Row, mutation},
    *,
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use serde_json::{Value, json};
use uuid::Uuid;

const RECORD: &str = "mutation($i: RecordDonationInput!) { recordDonation(input: $i) {
  donation { id } donor { id totalDonations } } }";

const MY_REWARDS: &str = "{ myRewards { points lifetimePoints tier badges showOnLeaderboard
  displayName history(first: 50) { totalCount edges { node { source sourceId points } } } } }";

const LEADERBOARD: &str =
    "query($s: LeaderboardScope!, $p: LeaderboardPeriod!, $c: String, $o: ID) {
  leaderboard(scope: $s, period: $p, city: $c, organizationId: $o) { rank displayName points } }";

const PREFERENCE: &str = "mutation($i: LeaderboardPreferenceInput!) {
  setLeaderboardPreference(input: $i) { showOnLeaderboard displayName } }";

/// A whole-blood donation at `bank` by the donor whose card code is `code`.
fn donation(bank: &str, code: &str, unit: &str, key: Option<&str>) -> Value {
    json!({"i": {"bloodBankId": bank, "donorCode": code, "donationType": "WHOLE_BLOOD",
        "volumeMl": 450, "hemoglobin": 13.8, "idempotencyKey": key,
        "units": [{"unitNumber": unit, "isLocalBarcode": true, "component": "RED_CELLS", "volumeMl": 280}]}})
}

/// A donor with an account of their own: their session, donor id and card code.
async fn self_donor(
    app: &TestApp,
    email: &str,
    phone: &str,
    group: &str,
) -> (Session, String, String) {
    let me = app.signed_in(email).await;
    let mut input = donor_input(None, "Full Legal Name", phone);
    input["bloodGroup"] = json!(group);
    let id = register_donor(app, &me, input).await;
    let code = my_card_code(app, &me).await;
    (me, id, code)
}

async fn my_rewards(app: &TestApp, me: &Session) -> Value {
    app.gql(Some(&me.access), MY_REWARDS, json!({}))
        .await
        .data()["myRewards"]
        .clone()
}

async fn leaderboard(app: &TestApp, who: &Session, vars: Value) -> Vec<Value> {
    let r = app.gql(Some(&who.access), LEADERBOARD, vars).await;
    r.data()["leaderboard"]
        .as_array()
        .expect("leaderboard")
        .clone()
}

async fn prefer(app: &TestApp, me: &Session, show: bool, name: Option<&str>) -> Gql {
    app.gql(
        Some(&me.access),
        PREFERENCE,
        json!({"i": {"showOnLeaderboard": show, "displayName": name}}),
    )
    .await
}

/// Credits `points` to a donor straight into the ledger (a cause the API has no shortcut to).
async fn credit(app: &TestApp, donor: &str, kind: RewardSource, points: i32) {
    reward_point::ActiveModel {
        source_kind: Set(kind),
        source_id: Set(Uuid::now_v7()),
        donor_id: Set(Uuid::parse_str(donor).expect("donor id")),
        points: Set(points),
        earned_at: Set(Utc::now()),
    }
    .insert(&app.db)
    .await
    .expect("ledger row");
}

#[tokio::test]
async fn a_donation_recorded_by_racing_retries_with_one_key_grants_100_points_once() {
    // Arrange
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let (me, donor, code) = self_donor(&app, "race@donor.example", "+919811000001", "O_POS").await;

    // Act: eight identical retries at once.
    let vars = donation(&net.bank.id, &code, "RACE-1", Some("donation-42"));
    let answers = futures_util::future::join_all(
        (0..8).map(|_| app.gql(Some(&net.bank_staff.access), RECORD, vars.clone())),
    )
    .await;

    // Assert: every retry is answered with the one donation, which earned 100 points once.
    let ids: Vec<&Value> = answers
        .iter()
        .map(|r| &r.data()["recordDonation"]["donation"]["id"])
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(app.count("SELECT COUNT(*) FROM donations").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM reward_points").await, 1);
    let mine = my_rewards(&app, &me).await;
    assert_eq!(mine["points"], 100);
    assert_eq!(mine["lifetimePoints"], 100);
    assert_eq!(mine["tier"], "BRONZE");
    assert_eq!(mine["badges"], json!(["FIRST_DONATION"]));
    let history = &mine["history"];
    assert_eq!(history["totalCount"], 1);
    assert_eq!(history["edges"][0]["node"]["source"], "DONATION");
    assert_eq!(history["edges"][0]["node"]["sourceId"], *ids[0]);
    assert_eq!(history["edges"][0]["node"]["points"], 100);
    assert_ne!(donor, "");
}

#[tokio::test]
async fn a_failed_donation_grants_nothing() {
    // Arrange: a donor who gave today cannot give again (the interval).
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let (me, _, code) = self_donor(&app, "twice@donor.example", "+919811000002", "O_POS").await;
    app.gql(
        Some(&net.bank_staff.access),
        RECORD,
        donation(&net.bank.id, &code, "TW-1", None),
    )
    .await
    .data();

    // Act
    let again = app
        .gql(
            Some(&net.bank_staff.access),
            RECORD,
            donation(&net.bank.id, &code, "TW-2", None),
        )
        .await;

    // Assert
    assert_eq!(again.code(), Some("BAD_USER_INPUT"), "{}", again.body);
    assert_eq!(my_rewards(&app, &me).await["lifetimePoints"], 100);
}

#[tokio::test]
async fn camp_attendance_earns_50_and_a_referred_donors_first_donation_earns_the_referrer_50() {
    // Arrange: a camp; a donor registers, referred by another donor.
    let app = spawn_app().await;
    let net = CampNet::new(&app).await;
    let (referrer_me, referrer, _) =
        self_donor(&app, "referrer@donor.camp", "+919811000003", "A_POS").await;
    let (me, donor, _) = self_donor(&app, "new@donor.camp", "+919811000004", "B_NEG").await;
    let camp = net.camp(&app, net.camp_input(5)).await;
    let r = app
        .gql(
            Some(&me.access),
            "mutation($i: RegisterForCampInput!) { registerForCamp(input: $i) { registration { id } } }",
            json!({"i": {"slotId": slot_id(&camp, 0), "donorId": donor, "referredBy": referrer}}),
        )
        .await;
    let registration = registration_id(&r);
    camp_op(
        &app,
        &net.ngo_staff,
        "startCamp",
        json!({"campId": camp["id"]}),
        "camp { status }",
    )
    .await
    .data();

    // Act
    camp_op(&app, &net.bank_staff, "recordCampAttendance",
        json!({"registrationId": registration, "outcome": "ATTENDED", "donation": camp_donation(&din_checked(8100))}),
        "registration { status }").await.data();

    // Assert: 100 for the donation and 50 for coming; the referrer 50 for the first gift.
    let mine = my_rewards(&app, &me).await;
    assert_eq!(mine["lifetimePoints"], 150);
    assert_eq!(mine["badges"], json!(["FIRST_DONATION", "RARE_GROUP_HERO"]));
    let sources: Vec<&Value> = nodes_of(&mine["history"]).map(|n| &n["source"]).collect();
    assert!(sources.contains(&&json!("CAMP_ATTENDANCE")), "{sources:?}");
    assert!(sources.contains(&&json!("DONATION")), "{sources:?}");
    let theirs = my_rewards(&app, &referrer_me).await;
    assert_eq!(theirs["lifetimePoints"], 50);
    assert_eq!(
        nodes_of(&theirs["history"]).next().expect("entry")["source"],
        "REFERRAL"
    );
    assert_eq!(theirs["badges"], json!([]));
}

fn nodes_of(conn: &Value) -> impl Iterator<Item = &Value> {
    conn["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["node"])
}

#[tokio::test]
async fn tiers_and_badges_change_exactly_at_their_thresholds() {
    // Arrange: an AB− donor with 499 points, four donations and two camps.
    let app = spawn_app().await;
    let (me, donor, _) = self_donor(&app, "tiers@donor.example", "+919811000005", "AB_NEG").await;
    for _ in 0..4 {
        credit(&app, &donor, RewardSource::Donation, 100).await;
    }
    credit(&app, &donor, RewardSource::CampAttendance, 50).await;
    credit(&app, &donor, RewardSource::CampAttendance, 49).await;
    let before = my_rewards(&app, &me).await;

    // Act: one point, a fifth donation, a third camp, a call-out answered.
    credit(&app, &donor, RewardSource::Referral, 1).await;
    let silver = my_rewards(&app, &me).await;
    credit(&app, &donor, RewardSource::Donation, 100).await;
    credit(&app, &donor, RewardSource::CampAttendance, 50).await;
    credit(&app, &donor, RewardSource::CalloutResponse, 850).await;
    let gold = my_rewards(&app, &me).await;

    // Assert
    assert_eq!(before["lifetimePoints"], 499);
    assert_eq!(before["tier"], "BRONZE");
    assert_eq!(
        before["badges"],
        json!(["FIRST_DONATION", "RARE_GROUP_HERO"])
    );
    assert_eq!(silver["lifetimePoints"], 500);
    assert_eq!(silver["tier"], "SILVER");
    assert_eq!(gold["lifetimePoints"], 1_500);
    assert_eq!(gold["tier"], "GOLD");
    assert_eq!(
        gold["badges"],
        json!([
            "FIRST_DONATION",
            "FIVE_DONATIONS",
            "RARE_GROUP_HERO",
            "EMERGENCY_RESPONDER",
            "CAMP_REGULAR"
        ])
    );
}

#[tokio::test]
async fn a_donor_who_did_not_opt_in_never_appears_on_a_leaderboard() {
    // Arrange: two donors who gave; only one opts in, under a name of their choosing.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let (shy, _, shy_code) = self_donor(&app, "shy@donor.example", "+919811000006", "O_POS").await;
    let (proud, _, proud_code) =
        self_donor(&app, "proud@donor.example", "+919811000007", "O_POS").await;
    for (code, unit) in [(&shy_code, "LB-1"), (&proud_code, "LB-2")] {
        app.gql(
            Some(&net.bank_staff.access),
            RECORD,
            donation(&net.bank.id, code, unit, None),
        )
        .await
        .data();
    }
    let no_name = prefer(&app, &proud, true, None).await;
    let opted = prefer(&app, &proud, true, Some("Asha R.")).await;

    // Act: every scope and period.
    let mut boards = Vec::new();
    for scope in ["NETWORK", "CITY"] {
        for period in ["MONTH", "YEAR", "ALL_TIME"] {
            boards.push(leaderboard(&app, &shy, json!({"s": scope, "p": period})).await);
        }
    }
    let elsewhere = leaderboard(
        &app,
        &shy,
        json!({"s": "CITY", "p": "ALL_TIME", "c": "Mysuru"}),
    )
    .await;
    prefer(&app, &proud, false, None).await.data();
    let after_opt_out = leaderboard(&app, &shy, json!({"s": "NETWORK", "p": "ALL_TIME"})).await;

    // Assert
    assert_eq!(no_name.code(), Some("BAD_USER_INPUT"), "{}", no_name.body);
    assert_eq!(no_name.field(), Some("input.displayName"));
    assert_eq!(
        opted.data()["setLeaderboardPreference"]["displayName"],
        "Asha R."
    );
    for board in &boards {
        assert_eq!(
            board,
            &vec![json!({"rank": 1, "displayName": "Asha R.", "points": 100})]
        );
    }
    assert!(elsewhere.is_empty());
    assert!(after_opt_out.is_empty());
    assert!(!format!("{boards:?}").contains("Full Legal Name"));
    let _ = shy;
}

const CALLERS: [&str; 5] = [
    "anonymous",
    "user without a donor record",
    "donor",
    "API client",
    "super admin",
];

#[tokio::test]
async fn every_caller_against_rewards_and_leaderboards() {
    // Arrange
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let (donor, _, _) = self_donor(&app, "matrix@donor.example", "+919811000008", "O_POS").await;
    let plain = app.signed_in("plain@x.example").await;
    let client = api_client(
        &app,
        &net.bank.admin,
        &net.bank.id,
        "LIMS",
        &["stock:write"],
    )
    .await
    .token;
    let tokens = vec![
        None,
        Some(plain.access.clone()),
        Some(donor.access.clone()),
        Some(client),
        Some(net.root.access.clone()),
    ];
    let network = json!({"s": "NETWORK", "p": "ALL_TIME"});
    //  anon plain donor client SA
    let rows: Vec<Row<5>> = vec![
        ("myRewards", MY_REWARDS.into(), json!({}), [U, N, A, F, N]),
        (
            "leaderboard of the network",
            LEADERBOARD.into(),
            network,
            [U, A, A, F, A],
        ),
        (
            "setLeaderboardPreference",
            mutation(
                "setLeaderboardPreference",
                "LeaderboardPreferenceInput",
                "showOnLeaderboard",
            ),
            json!({"i": {"showOnLeaderboard": false}}),
            [U, N, A, F, N],
        ),
    ];

    // Act and assert
    Matrix::new(CALLERS, tokens)
        .telling_not_found_apart()
        .assert(&app, &rows)
        .await;
}

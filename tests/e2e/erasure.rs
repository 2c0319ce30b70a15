//! `eraseDonor` (DESIGN §7.5): personal fields become tombstones, donations and units stay
//! traceable on the anonymous record, the account is deactivated and its sessions end.

use lifeflow_tests::{
    fixtures::{blood::*, donors::*},
    *,
};
use sea_orm::ConnectionTrait;
use serde_json::json;

const ERASE: &str = "mutation($i: EraseDonorInput!) { eraseDonor(input: $i) { donorId erasedAt } }";
const PHONE: &str = "+919876500011";

/// A donor with an account who gave blood once at the network's bank: (the donor's session,
/// their donor id, the donation's unit number).
async fn donor_who_gave(app: &TestApp, net: &Network) -> (Session, String, String) {
    let me = app.signed_in("giver@erase.example").await;
    let mut input = donor_input(None, "Meera Giver", PHONE);
    input["address"] = json!("12 Secret Lane");
    let id = register_donor(app, &me, input).await;
    let code = my_card_code(app, &me).await;
    let unit = "ERASE-UNIT-1".to_string();
    app.gql(
        Some(&net.bank_staff.access),
        "mutation($i: RecordDonationInput!) { recordDonation(input: $i) { donation { id } } }",
        json!({"i": {"bloodBankId": net.bank.id, "donorCode": code, "donationType": "WHOLE_BLOOD",
            "volumeMl": 450, "hemoglobin": 14.0,
            "units": [{"unitNumber": unit, "isLocalBarcode": true, "component": "RED_CELLS", "volumeMl": 280}]}}),
    )
    .await
    .data();
    (me, id, unit)
}

#[tokio::test]
async fn a_donor_erases_themself_leaving_no_plaintext_and_their_donations_traceable() {
    // Arrange
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let (me, donor, unit) = donor_who_gave(&app, &net).await;

    // Act
    let erased = app
        .gql(Some(&me.access), ERASE, json!({"i": {"donorId": donor}}))
        .await;
    let again = app
        .gql(
            Some(&net.root.access),
            ERASE,
            json!({"i": {"donorId": donor}}),
        )
        .await;

    // Assert: the raw row holds none of what the donor wrote.
    assert_eq!(erased.data()["eraseDonor"]["donorId"], donor.as_str());
    let row = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            String::from(
                "SELECT CAST(full_name AS TEXT) || '|' || COALESCE(CAST(phone AS TEXT), '') || '|' || \
                 COALESCE(CAST(address AS TEXT), '') || '|' || COALESCE(email, '') || '|' || \
                 COALESCE(phone_index, '') || '|' || city || '|' || \
                 CASE WHEN user_id IS NULL THEN 'no-user' ELSE 'user' END \
                 FROM donors WHERE erased_at IS NOT NULL"
            ),
        ))
        .await
        .expect("query")
        .expect("row")
        .try_get_by_index::<String>(0)
        .expect("text");
    for secret in [
        "Meera",
        "Giver",
        PHONE,
        "9876500011",
        "Secret Lane",
        "Bengaluru",
    ] {
        assert!(!row.contains(secret), "{secret} left in {row}");
    }
    assert!(row.starts_with("Erased donor|"), "{row}");
    assert!(row.ends_with("|no-user"), "{row}");
    // The donation and its unit still point at the (anonymous) record.
    let linked = app
        .count(&format!(
            "SELECT COUNT(*) FROM donations d JOIN donors o ON o.id = d.donor_id \
             JOIN blood_units u ON u.donation_id = d.id \
             WHERE o.erased_at IS NOT NULL AND u.unit_number = '{unit}'"
        ))
        .await;
    assert_eq!(linked, 1);
    // The account is gone: tokens refused, login refused, the email free again.
    let me_now = app.gql(Some(&me.access), "{ me { id } }", json!({})).await;
    assert_eq!(me_now.code(), Some("UNAUTHENTICATED"));
    assert_eq!(
        app.try_login(&me.email, PASSWORD).await.code(),
        Some("UNAUTHENTICATED")
    );
    let free = app
        .count("SELECT COUNT(*) FROM users WHERE email = 'giver@erase.example'")
        .await;
    assert_eq!(free, 0);
    app.signed_in("giver@erase.example").await;
    // A second erasure is refused.
    assert_eq!(again.code(), Some("CONFLICT"));
    let audited = app
        .count(
            "SELECT COUNT(*) FROM audit_logs WHERE action = 'donor.erase' AND outcome = 'SUCCESS'",
        )
        .await;
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn erasure_by_anyone_but_the_donor_or_a_super_admin_is_refused() {
    // Arrange
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let (me, donor, _) = donor_who_gave(&app, &net).await;
    let stranger = app.signed_in("stranger@erase.example").await;

    // Act
    let by_stranger = app
        .gql(
            Some(&stranger.access),
            ERASE,
            json!({"i": {"donorId": donor}}),
        )
        .await;
    let by_bank = app
        .gql(
            Some(&net.bank.admin.access),
            ERASE,
            json!({"i": {"donorId": donor}}),
        )
        .await;
    let by_nobody = app.gql(None, ERASE, json!({"i": {"donorId": donor}})).await;
    let by_root = app
        .gql(
            Some(&net.root.access),
            ERASE,
            json!({"i": {"donorId": donor}}),
        )
        .await;

    // Assert
    assert_eq!(by_stranger.code(), Some("FORBIDDEN"));
    assert_eq!(by_bank.code(), Some("FORBIDDEN"));
    assert_eq!(by_nobody.code(), Some("UNAUTHENTICATED"));
    assert!(by_root.data()["eraseDonor"]["erasedAt"].is_string());
    let gone = app.gql(Some(&me.access), "{ me { id } }", json!({})).await;
    assert_eq!(gone.code(), Some("UNAUTHENTICATED"));
}

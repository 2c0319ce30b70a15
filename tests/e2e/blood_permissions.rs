//! The permission matrix of the blood operations: every kind of caller against every
//! operation, including what must be refused. "Allowed" means the caller got past the
//! permission layer: inputs are chosen so that allowed calls then fail harmlessly on a
//! business rule (an empty batch, an unknown request, an implausible weight), leaving the
//! state unchanged for the next row.

use lifeflow_tests::{
    fixtures::{blood::*, *},
    matrix::{Matrix, Outcome::*, Row, mutation},
    *,
};
use serde_json::json;

const CALLERS: [&str; 11] = [
    "anonymous",
    "plain user",
    "hospital ADMIN",
    "hospital DOCTOR",
    "hospital STAFF",
    "bank ADMIN",
    "bank STAFF",
    "other bank's ADMIN",
    "NGO ADMIN",
    "super admin",
    "hospital API client (blood-requests:write)",
];

#[tokio::test]
async fn every_caller_against_every_blood_operation() {
    // Arrange
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let other_bank = org_north(
        &app,
        &net.root,
        "BANK-OTHER",
        "BLOOD_BANK",
        "other@bank.example",
        3.0,
    )
    .await;
    let ngo = org_north(&app, &net.root, "NGO-CITY", "NGO", "admin@ngo.example", 1.0).await;
    net.stock(&app, units("ONE", "O_POS", "RED_CELLS", 2)).await;
    add_units(
        &app,
        &other_bank.admin,
        &other_bank.id,
        units("TWO", "O_POS", "RED_CELLS", 2),
    )
    .await;
    let client = api_client(
        &app,
        &net.hospital.admin,
        &net.hospital.id,
        "HIS",
        &["blood-requests:write"],
    )
    .await
    .token;
    let plain = app.signed_in("plain@x.example").await;
    // A refused caller hears FORBIDDEN, never what is wrong with the panel.
    let mut positive_unit = unit("PERM-POS", "O_POS", "RED_CELLS");
    positive_unit["tests"]["hiv"] = json!("POSITIVE");
    let tokens: Vec<Option<String>> = vec![
        None,
        Some(plain.access.clone()),
        Some(net.hospital.admin.access.clone()),
        Some(net.doctor.access.clone()),
        Some(net.nurse.access.clone()),
        Some(net.bank.admin.access.clone()),
        Some(net.bank_staff.access.clone()),
        Some(other_bank.admin.access.clone()),
        Some(ngo.admin.access.clone()),
        Some(net.root.access.clone()),
        Some(client),
    ];
    let nobody = uuid::Uuid::new_v4().to_string();
    let (hospital, bank, ngo_id) = (&net.hospital.id, &net.bank.id, &ngo.id);
    let mut bad_request = request_input(hospital, "O_POS", "RED_CELLS", 0);
    bad_request["urgency"] = json!("EMERGENCY");
    let donor = |org: Option<&str>| {
        json!({"i": {"organizationId": org, "fullName": "D", "dateOfBirth": "1990-01-01",
                     "bloodGroup": "O_POS", "weightKg": 10.0, "phone": "+919800000009", "city": "Bengaluru"}})
    };
    let find = json!({"i": {"bloodGroup": "O_POS", "component": "RED_CELLS", "units": 1,
                            "near": {"latitude": HERE.0, "longitude": HERE.1}}});
    let units_of = "query($b: ID!) { bloodUnits(filter: {bloodBankId: $b}) { totalCount } }";
    let payload = "bloodRequest { id }";

    //  anon user H-ADM H-DOC H-STF B-ADM B-STF other NGO  SA  client
    let matrix: Vec<Row<11>> = vec![
        ("createBloodRequest", mutation("createBloodRequest", "CreateBloodRequestInput", payload),
            json!({"i": bad_request}), [U, F, A, A, A, F, F, F, F, F, A]),
        ("cancelBloodRequest", mutation("cancelBloodRequest", "CancelBloodRequestInput", payload),
            json!({"i": {"requestId": nobody, "hospitalId": hospital, "reason": "r"}}), [U, F, A, A, A, F, F, F, F, F, A]),
        ("acceptBloodRequest", mutation("acceptBloodRequest", "AcceptBloodRequestInput", payload),
            json!({"i": {"requestId": nobody, "bloodBankId": bank}}), [U, F, F, F, F, A, A, F, F, F, F]),
        ("fulfillBloodRequest", mutation("fulfillBloodRequest", "FulfillBloodRequestInput", payload),
            json!({"i": {"requestId": nobody, "bloodBankId": bank}}), [U, F, F, F, F, A, A, F, F, F, F]),
        ("rejectBloodRequest", mutation("rejectBloodRequest", "BankResponseInput", payload),
            json!({"i": {"requestId": nobody, "bloodBankId": bank, "reason": "r"}}), [U, F, F, F, F, A, A, F, F, F, F]),
        ("addBloodUnits", mutation("addBloodUnits", "AddBloodUnitsInput", "units { id }"),
            json!({"i": {"bloodBankId": bank, "units": []}}), [U, F, F, F, F, A, A, F, F, F, F]),
        ("addBloodUnits (AVAILABLE, a positive panel)", mutation("addBloodUnits", "AddBloodUnitsInput", "units { id }"),
            json!({"i": {"bloodBankId": bank, "units": [positive_unit.clone()]}}), [U, F, F, F, F, A, A, F, F, F, F]),
        ("releaseBloodUnits", mutation("releaseBloodUnits", "ReleaseBloodUnitsInput", "units { id }"),
            json!({"i": {"bloodBankId": bank, "unitIds": []}}), [U, F, F, F, F, A, A, F, F, F, F]),
        ("setStockThreshold", mutation("setStockThreshold", "SetStockThresholdInput", "threshold { criticalThreshold }"),
            json!({"i": {"bloodBankId": bank, "bloodGroup": "O_POS", "component": "RED_CELLS", "criticalThreshold": -1}}),
            [U, F, F, F, F, A, F, F, F, F, F]),
        ("bloodUnits of the bank", units_of.into(), json!({"b": bank}), [U, F, F, F, F, A, A, F, F, A, F]),
        ("bloodUnits of the other bank", units_of.into(), json!({"b": other_bank.id}), [U, F, F, F, F, F, F, A, F, A, F]),
        ("stockLevels", "{ stockLevels { available } }".into(), json!({}), [U, F, A, A, A, A, A, A, F, A, F]),
        ("findCompatibleStock", "query($i: FindCompatibleStockInput!) { findCompatibleStock(input: $i) { totalUnits } }".into(),
            find, [U, F, A, A, A, A, A, A, F, A, F]),
        ("bloodRequests", "{ bloodRequests { totalCount } }".into(), json!({}), [U, F, A, A, A, A, A, A, F, A, A]),
        ("registerDonor for the NGO", mutation("registerDonor", "RegisterDonorInput", "donor { id }"),
            donor(Some(ngo_id)), [U, F, F, F, F, F, F, F, A, F, F]),
        ("registerDonor for the bank", mutation("registerDonor", "RegisterDonorInput", "donor { id }"),
            donor(Some(bank)), [U, F, F, F, F, A, A, F, F, F, F]),
        ("registerDonor for the hospital", mutation("registerDonor", "RegisterDonorInput", "donor { id }"),
            donor(Some(hospital)), [U, F, F, F, F, F, F, F, F, F, F]),
        ("registerDonor for oneself", mutation("registerDonor", "RegisterDonorInput", "donor { id }"),
            donor(None), [U, A, A, A, A, A, A, A, A, A, F]),
        ("recordDonation", mutation("recordDonation", "RecordDonationInput", "donation { id }"),
            json!({"i": {"bloodBankId": bank, "donorId": nobody, "donationType": "WHOLE_BLOOD", "volumeMl": 450, "hemoglobin": 14.0}}),
            [U, F, F, F, F, A, A, F, F, F, F]),
        ("recordDonation by card code", mutation("recordDonation", "RecordDonationInput", "donation { id }"),
            json!({"i": {"bloodBankId": bank, "donorCode": "ZZZZ-ZZZZ-ZZZZ", "donationType": "WHOLE_BLOOD", "volumeMl": 450, "hemoglobin": 14.0}}),
            [U, F, F, F, F, A, A, F, F, F, F]),
    ];

    // Act and assert
    Matrix::new(CALLERS, tokens).assert(&app, &matrix).await;
    // Nothing in the matrix changed anything.
    assert_eq!(count_requests(&app).await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM blood_units").await, 4);
    assert_eq!(app.count("SELECT COUNT(*) FROM donors").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM donations").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM stock_thresholds").await, 0);
}

#[tokio::test]
async fn a_bank_sees_its_own_units_and_levels_but_not_another_banks() {
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let other = net.second_bank(&app).await;
    net.stock(&app, units("ONE", "A_POS", "RED_CELLS", 2)).await;
    add_units(
        &app,
        &other.admin,
        &other.id,
        units("TWO", "A_POS", "RED_CELLS", 3),
    )
    .await;

    let r = app
        .gql(
            Some(&net.bank_staff.access),
            "query($b: ID!) { bloodUnits(filter: {bloodBankId: $b}) { totalCount } }",
            json!({"b": other.id}),
        )
        .await;

    assert_eq!(r.code(), Some("FORBIDDEN"));
    // Its levels are its own; a hospital sees every approved bank's.
    let levels = |who: &Session| {
        let token = who.access.clone();
        let app = &app;
        async move {
            let r = app
                .gql(
                    Some(&token),
                    "{ stockLevels { available bloodBank { id } } }",
                    json!({}),
                )
                .await;
            let mut v: Vec<(String, i64)> = r.data()["stockLevels"]
                .as_array()
                .expect("levels")
                .iter()
                .map(|l| {
                    (
                        l["bloodBank"]["id"].as_str().expect("id").to_string(),
                        l["available"].as_i64().expect("n"),
                    )
                })
                .collect();
            v.sort();
            v
        }
    };
    assert_eq!(levels(&net.bank_staff).await, [(net.bank.id.clone(), 2)]);
    let mut both = vec![(net.bank.id.clone(), 2), (other.id.clone(), 3)];
    both.sort();
    assert_eq!(levels(&net.nurse).await, both);
    // Asking for another bank's levels by id gives nothing.
    let r = app
        .gql(
            Some(&net.bank_staff.access),
            "query($b: ID!) { stockLevels(filter: {bloodBankIds: [$b]}) { available } }",
            json!({"b": other.id}),
        )
        .await;
    assert_eq!(r.data()["stockLevels"], json!([]));
}

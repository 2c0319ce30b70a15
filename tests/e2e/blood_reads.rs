//! Reading the blood network: who sees a request's patient fields (and the audit of every such
//! read), and SQL statement counts that depend on a query's depth, never on its length.

use lifeflow_tests::{
    fixtures::{blood::*, care::signed_in_with_phone, *},
    *,
};
use serde_json::{Value, json};

const PATIENT: &str = "query($id: ID!) { bloodRequest(id: $id) { id patientName medicalNotes } }";

const PATIENT_PAGE: &str =
    "{ bloodRequests(first: 50) { totalCount edges { node { id patientName medicalNotes } } } }";

fn with_patient(hospital: &str) -> Value {
    let mut i = request_input(hospital, "O_NEG", "RED_CELLS", 1);
    i["urgency"] = json!("EMERGENCY");
    i["patientName"] = json!("Asha Rao");
    i["medicalNotes"] = json!("post-partum haemorrhage, Hb 6.1");
    i
}

#[tokio::test]
async fn patient_fields_are_shown_only_to_the_requesting_hospital_and_super_admins_and_each_read_is_audited()
 {
    // Arrange: the bank is within the request's radius and sees it; a doctor of another
    // hospital also works shifts at the bank.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let other = org_north(
        &app,
        &net.root,
        "HOSP-TWO",
        "HOSPITAL",
        "admin@two.example",
        1.0,
    )
    .await;
    let moonlighter = member(&app, &other, "doctor@two.example", "DOCTOR").await;
    app.add_member(&net.bank.admin, &net.bank.id, &moonlighter.email, "STAFF")
        .await;
    let id = create_request(&app, &net.doctor, with_patient(&net.hospital.id)).await;
    let reads = || audit_rows(&app, "blood_request.read_patient", Some(&id));

    // Act and assert: the hospital's members and super admins see the fields, and each
    // read leaves one audit row.
    for (n, who) in [&net.nurse, &net.hospital.admin, &net.root]
        .into_iter()
        .enumerate()
    {
        let r = app.gql(Some(&who.access), PATIENT, json!({"id": id})).await;
        assert_eq!(
            r.data()["bloodRequest"]["patientName"],
            "Asha Rao",
            "{}",
            who.email
        );
        assert_eq!(
            r.data()["bloodRequest"]["medicalNotes"],
            "post-partum haemorrhage, Hb 6.1"
        );
        let rows = reads().await;
        assert_eq!(rows.len(), n + 1, "one audit row per read");
        let row = rows
            .iter()
            .find(|r| r.actor_user_id.map(|u| u.to_string()) == Some(who.user_id.clone()))
            .expect("a row for this reader");
        assert_eq!(
            row.organization_id.map(|o| o.to_string()),
            Some(net.hospital.id.clone())
        );
    }
    // The bank, and a member of another hospital who reaches the request through the bank,
    // see nulls, and nothing is audited.
    for who in [&net.bank_staff, &net.bank.admin, &moonlighter] {
        let r = app.gql(Some(&who.access), PATIENT, json!({"id": id})).await;
        let req = &r.data()["bloodRequest"];
        assert_eq!(req["id"], id.as_str(), "{}", who.email);
        assert!(req["patientName"].is_null(), "{}", who.email);
        assert!(req["medicalNotes"].is_null(), "{}", who.email);
    }
    assert_eq!(reads().await.len(), 3);
    // Another hospital's admin does not see the request at all.
    let r = app
        .gql(Some(&other.admin.access), PATIENT, json!({"id": id}))
        .await;
    assert_eq!(r.code(), Some("NOT_FOUND"));
    let r = app
        .gql(Some(&other.admin.access), PATIENT_PAGE, json!({}))
        .await;
    assert_eq!(r.data()["bloodRequests"]["totalCount"], 0);
    assert_eq!(reads().await.len(), 3);
}

#[tokio::test]
async fn a_page_of_requests_audits_its_patient_reads_in_one_statement_whatever_its_length() {
    // Arrange
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    for _ in 0..2 {
        create_request(&app, &net.doctor, with_patient(&net.hospital.id)).await;
    }
    let total_reads = || async {
        audit_rows(&app, "blood_request.read_patient", None)
            .await
            .len()
    };

    // Act: a page of 2, then a page of 10.
    let two = app
        .gql(Some(&net.nurse.access), PATIENT_PAGE, json!({}))
        .await;
    let after_two = total_reads().await;
    for _ in 0..8 {
        create_request(&app, &net.doctor, with_patient(&net.hospital.id)).await;
    }
    let ten = app
        .gql(Some(&net.nurse.access), PATIENT_PAGE, json!({}))
        .await;
    let after_ten = total_reads().await;

    // Assert
    let listed = nodes(ten.data(), "bloodRequests");
    assert_eq!(listed.len(), 10);
    assert!(listed.iter().all(|n| n["patientName"] == "Asha Rao"));
    assert_eq!(nodes(two.data(), "bloodRequests").len(), 2);
    assert_eq!(after_two, 2);
    assert_eq!(after_ten, 12);
    assert_eq!(
        two.statements(),
        ten.statements(),
        "reading 10 patients must cost what reading 2 does"
    );
}

/// Creates requests `start..start + n` by two people, accepting some at each bank.
async fn grow(app: &TestApp, net: &Network, second: &Org, start: usize, n: usize) {
    for i in start..start + n {
        let who = if i % 2 == 0 { &net.nurse } else { &net.doctor };
        let id = create_request(
            app,
            who,
            request_input(&net.hospital.id, "O_POS", "RED_CELLS", 1),
        )
        .await;
        if i % 10 == 1 {
            accept(app, &net.bank_staff, &id, &net.bank.id).await.data();
        } else if i % 10 == 3 {
            accept(app, &second.admin, &id, &second.id).await.data();
        }
    }
}

const REQUEST_PAGE: &str = "{ bloodRequests(first: 50) { edges { node {
  hospital { name } bloodBank { name } requestedBy { fullName } } } } }";

#[tokio::test]
async fn a_page_of_requests_with_their_hospital_bank_and_requester_costs_the_same_for_5_and_50() {
    // Arrange: two banks, requests by two people, some accepted at each bank.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let second = net.second_bank(&app).await;
    net.stock(&app, units("ONE", "O_POS", "RED_CELLS", 10))
        .await;
    add_units(
        &app,
        &second.admin,
        &second.id,
        units("TWO", "O_POS", "RED_CELLS", 10),
    )
    .await;
    grow(&app, &net, &second, 0, 5).await;

    // Act
    let small = app
        .gql(Some(&net.hospital.admin.access), REQUEST_PAGE, json!({}))
        .await;
    let small_bank = app
        .gql(Some(&net.bank_staff.access), REQUEST_PAGE, json!({}))
        .await;
    grow(&app, &net, &second, 5, 45).await;
    let large = app
        .gql(Some(&net.hospital.admin.access), REQUEST_PAGE, json!({}))
        .await;
    let large_bank = app
        .gql(Some(&net.bank_staff.access), REQUEST_PAGE, json!({}))
        .await;

    // Assert
    let listed = nodes(large.data(), "bloodRequests");
    assert_eq!(listed.len(), 50);
    assert_eq!(nodes(small.data(), "bloodRequests").len(), 5);
    let banks: std::collections::HashSet<&str> = listed
        .iter()
        .filter_map(|n| n["bloodBank"]["name"].as_str())
        .collect();
    assert_eq!(banks.len(), 2, "accepted at both banks");
    assert!(
        listed
            .iter()
            .all(|n| n["hospital"]["name"] == "HOSP-CITY Centre")
    );
    assert!(
        listed
            .iter()
            .all(|n| n["requestedBy"]["fullName"].is_string())
    );
    assert_eq!(small.statements(), large.statements(), "hospital view");
    assert!(
        nodes(large_bank.data(), "bloodRequests").len()
            > nodes(small_bank.data(), "bloodRequests").len()
    );
    assert_eq!(
        small_bank.statements(),
        large_bank.statements(),
        "bank view"
    );
}

#[tokio::test]
async fn stock_levels_with_their_banks_cost_the_same_for_1_and_5_banks() {
    // Arrange
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let query = "{ stockLevels { bloodBank { name } available status } }";
    let mut stock = units("ONE-A", "A_POS", "RED_CELLS", 3);
    stock.extend(units("ONE-O", "O_NEG", "PLASMA", 2));
    net.stock(&app, stock).await;
    let one = app.gql(Some(&net.nurse.access), query, json!({})).await;
    for i in 0..4 {
        let bank = org_north(
            &app,
            &net.root,
            &format!("BANK-{i}"),
            "BLOOD_BANK",
            &format!("admin{i}@banks.example"),
            1.0 + i as f64,
        )
        .await;
        let mut stock = units(&format!("B{i}-A"), "A_POS", "RED_CELLS", 1 + i);
        stock.extend(units(&format!("B{i}-B"), "B_NEG", "PLATELETS", 1));
        add_units(&app, &bank.admin, &bank.id, stock).await;
    }

    // Act
    let five = app.gql(Some(&net.nurse.access), query, json!({})).await;

    // Assert
    let levels = five.data()["stockLevels"].as_array().expect("levels");
    let banks: std::collections::HashSet<&str> = levels
        .iter()
        .map(|l| l["bloodBank"]["name"].as_str().expect("bank name"))
        .collect();
    assert_eq!(banks.len(), 5);
    assert_eq!(levels.len(), 10);
    assert_eq!(
        one.data()["stockLevels"].as_array().expect("levels").len(),
        2
    );
    assert_eq!(one.statements(), five.statements());
}

#[tokio::test]
async fn a_bank_sees_who_requested_blood_but_not_their_phone_or_email() {
    // Arrange: a hospital doctor with a phone raises an emergency the bank nearby sees.
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let resident = signed_in_with_phone(&app, "resident@hospital.example", "+919800000003").await;
    app.add_member(
        &net.hospital.admin,
        &net.hospital.id,
        &resident.email,
        "DOCTOR",
    )
    .await;
    let id = create_request(&app, &resident, with_patient(&net.hospital.id)).await;
    let requested_by = async |who: &Session| {
        let r = app
            .gql(
                Some(&who.access),
                "query($id: ID!) { bloodRequest(id: $id) { requestedBy { fullName email phone } } }",
                json!({"id": id}),
            )
            .await;
        r.data()["bloodRequest"]["requestedBy"].clone()
    };

    // Act
    let by_bank = [
        requested_by(&net.bank.admin).await,
        requested_by(&net.bank_staff).await,
    ];
    let by_hospital = [
        requested_by(&net.hospital.admin).await,
        requested_by(&net.nurse).await,
        requested_by(&resident).await,
    ];

    // Assert
    for seen in &by_bank {
        assert_eq!(seen["fullName"], "Phone Person");
        assert!(seen["phone"].is_null() && seen["email"].is_null(), "{seen}");
    }
    for seen in &by_hospital {
        assert_eq!(seen["phone"], "+919800000003");
        assert_eq!(seen["email"], "resident@hospital.example");
    }
}

#[tokio::test]
async fn the_request_list_decodes_every_column_as_the_derived_model_does() {
    use entity::{Component, RequestStatus, Urgency, api_client, blood_request, sealed::Sealed};
    use sea_orm::{
        ActiveValue::Set, ConnectionTrait, EntityTrait, FromQueryResult, QueryOrder, QueryTrait,
    };
    // Arrange: one request with every column set, one with every optional column empty.
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let admin = app.signed_in("decode@reads.example").await;
    let org = |id: String| uuid::Uuid::parse_str(&id).expect("uuid");
    let hospital = org(app
        .approved_org(&root, &admin, "DECODE-H", "HOSPITAL")
        .await);
    let bank = org(app
        .approved_org(&root, &admin, "DECODE-B", "BLOOD_BANK")
        .await);
    let token = app
        .gql(
            Some(&admin.access),
            "mutation($i: CreateApiClientInput!) { createApiClient(input: $i) { apiClient { id } } }",
            json!({"i": {"organizationId": hospital.to_string(), "name": "HIS", "scopes": ["blood-requests:read"]}}),
        )
        .await;
    let client = api_client::Entity::find()
        .one(&app.db)
        .await
        .expect("client")
        .unwrap_or_else(|| panic!("no API client: {}", token.body));
    let user = org(admin.user_id.clone());
    let at = chrono::Utc::now();
    let row = |id: uuid::Uuid, full: bool| blood_request::ActiveModel {
        id: Set(id),
        hospital_id: Set(hospital),
        requested_by_user_id: Set(full.then_some(user)),
        requested_by_api_client_id: Set(full.then_some(client.id)),
        patient_reference: Set("MRN-DECODE".into()),
        patient_name: Set(full.then(|| Sealed("Ana Decode".to_string()))),
        blood_group: Set(entity::BloodGroup::AbNeg),
        component: Set(Component::Platelets),
        units_required: Set(3),
        urgency: Set(Urgency::Critical),
        urgency_rank: Set(Urgency::Critical.rank()),
        needed_by: Set(at),
        medical_notes: Set(full.then(|| Sealed("notes, with \"quotes\"".to_string()))),
        status: Set(RequestStatus::Fulfilled),
        target_bank_id: Set(full.then_some(bank)),
        blood_bank_id: Set(full.then_some(bank)),
        latitude: Set(12.971_598_7),
        longitude: Set(-77.594_562_5),
        radius_km: Set(12.5),
        escalation_level: Set(2),
        allow_emergency_override: Set(full),
        override_reason: Set(full.then(|| "override".into())),
        hold_until: Set(full.then_some(at)),
        accepted_at: Set(full.then_some(at)),
        fulfilled_at: Set(full.then_some(at)),
        rejected_at: Set(full.then_some(at)),
        cancelled_at: Set(full.then_some(at)),
        expired_at: Set(full.then_some(at)),
        rejection_reason: Set(full.then(|| "rejected".into())),
        cancellation_reason: Set(full.then(|| "cancelled".into())),
        created_at: Set(at),
        updated_at: Set(at),
    };
    blood_request::Entity::insert_many([
        row(uuid::Uuid::now_v7(), true),
        row(uuid::Uuid::now_v7(), false),
    ])
    .exec(&app.db)
    .await
    .expect("insert");

    // Act
    let backend = app.db.get_database_backend();
    let rows = app
        .db
        .query_all_raw(
            blood_request::Entity::find()
                .order_by_asc(blood_request::Column::Id)
                .build(backend),
        )
        .await
        .expect("rows");

    // Assert
    assert_eq!(rows.len(), 2);
    for r in &rows {
        let derived = blood_request::Model::from_query_result(r, "").expect("derived");
        let decoded = blood_request::decode(r).expect("decoded");
        assert_eq!(decoded, derived);
        // For a page that shows no patient data: the same row, its sealed columns unread.
        let without = blood_request::decode_without_sealed(r).expect("decoded without");
        assert_eq!(
            without,
            blood_request::Model {
                patient_name: None,
                medical_notes: None,
                ..derived
            }
        );
    }
    let full = blood_request::decode(&rows[0]).expect("decoded");
    assert_eq!(
        full.patient_name.as_deref().map(String::as_str),
        Some("Ana Decode")
    );
    assert_eq!(full.requested_by_api_client_id, Some(client.id));
    assert!(
        blood_request::decode(&rows[1])
            .expect("decoded")
            .hold_until
            .is_none()
    );
}

#[tokio::test]
async fn a_page_decrypts_patient_fields_only_when_asked_and_shows_them_however_they_are_asked() {
    // Arrange
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    create_request(&app, &net.doctor, with_patient(&net.hospital.id)).await;
    let page = |q: &'static str| {
        let app = &app;
        let who = net.nurse.access.clone();
        async move { app.gql(Some(&who), q, json!({})).await }
    };

    // Act: without patient fields, then through an alias, a named and an inline fragment.
    let plain = page("{ bloodRequests(first: 50) { edges { node { id urgency } } } }").await;
    let asked = page(
        "{ bloodRequests(first: 50) { edges { node { id who: patientName ...F \
         ... on BloodRequest { medicalNotes } } } } } \
         fragment F on BloodRequest { patientName }",
    )
    .await;
    let via_nodes = page(
        "{ bloodRequests(first: 50) { nodes { ... on BloodRequest { ...F } } } } \
         fragment F on BloodRequest { medicalNotes }",
    )
    .await;

    // Assert
    assert_eq!(nodes(plain.data(), "bloodRequests").len(), 1);
    let n = &nodes(asked.data(), "bloodRequests")[0];
    assert_eq!(n["who"], "Asha Rao");
    assert_eq!(n["patientName"], "Asha Rao");
    assert_eq!(n["medicalNotes"], "post-partum haemorrhage, Hb 6.1");
    assert_eq!(
        via_nodes.data()["bloodRequests"]["nodes"][0]["medicalNotes"],
        "post-partum haemorrhage, Hb 6.1"
    );
}

#[tokio::test]
async fn organizations_decode_by_position_as_the_derived_model_does() {
    use entity::organization;
    use sea_orm::{ConnectionTrait, EntityTrait, FromQueryResult, QueryOrder, QueryTrait};
    // Arrange: an approved organization (approval set, suspension empty) and a pending one.
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let admin = app.signed_in("orgs@reads.example").await;
    app.approved_org(&root, &admin, "DECODE-ORG", "BLOOD_BANK")
        .await;
    app.pending_org(&admin, "DECODE-PENDING", "HOSPITAL").await;

    // Act
    let rows = app
        .db
        .query_all_raw(
            organization::Entity::find()
                .order_by_asc(organization::Column::Code)
                .build(app.db.get_database_backend()),
        )
        .await
        .expect("rows");

    // Assert
    assert_eq!(rows.len(), 2);
    for r in &rows {
        let derived = organization::Model::from_query_result(r, "").expect("derived");
        assert_eq!(organization::decode(r).expect("decoded"), derived);
    }
    let approved = organization::decode(&rows[0]).expect("decoded");
    assert!(approved.approved_at.is_some() && approved.suspended_at.is_none());
}

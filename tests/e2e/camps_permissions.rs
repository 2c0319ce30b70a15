//! The permission matrix of camps and drives: every kind of caller against every new
//! operation. "Allowed" means the caller got past the permission layer; inputs are chosen so
//! an allowed mutation then fails on a business rule (a cancelled camp, a rejected drive, a
//! partner of the wrong kind) and leaves the state as it was for the next row. A donor or
//! drive the caller may not act on is `NOT_FOUND`, as an unknown id.

use lifeflow_tests::{
    fixtures::{camps::*, donors::*, *},
    matrix::{Matrix, Outcome::*, Row, mutation},
    *,
};
use serde_json::json;

const CALLERS: [&str; 8] = [
    "anonymous",
    "user",
    "NGO staff",
    "bank staff",
    "hospital staff",
    "other NGO staff",
    "hospital admin",
    "super admin",
];

#[tokio::test]
async fn every_caller_against_every_camp_and_drive_operation() {
    // Arrange: a live camp, a cancelled camp holding a withdrawn registration, and a
    // rejected drive.
    let app = spawn_app().await;
    let net = CampNet::new(&app).await;
    let other = org_north(&app, &net.root, "NGO-OTHER", "NGO", "a@other.ngo", 3.0).await;
    let other_staff = member(&app, &other, "staff@other.ngo", "STAFF").await;
    let user = app.signed_in("plain@camp.example").await;
    let live = net.camp(&app, net.camp_input(5)).await;
    let dead = net.camp(&app, net.camp_input(5)).await;
    let donor = register_donor(
        &app,
        &net.ngo_staff,
        donor_input(Some(&net.ngo.id), "D", "+919845000777"),
    )
    .await;
    let reg = registration_id(
        &register_for(&app, &net.ngo_staff.access, &slot_id(&dead, 0), &donor).await,
    );
    camp_op(
        &app,
        &net.ngo_staff,
        "cancelCamp",
        json!({"campId": dead["id"], "reason": "test"}),
        "camp { id }",
    )
    .await
    .data();
    let proposed = camp_op(
        &app,
        &net.hospital_staff,
        "proposeDrive",
        json!({"hospitalId": net.hospital.id, "ngoId": net.ngo.id, "type": "SCHEDULED",
               "targetUnits": 5, "date": local_date(3)}),
        "drive { id }",
    )
    .await;
    let drive = proposed.data()["proposeDrive"]["drive"]["id"].clone();
    camp_op(
        &app,
        &net.ngo_staff,
        "rejectDrive",
        json!({"driveId": drive, "reason": "busy"}),
        "drive { id }",
    )
    .await
    .data();
    let tokens = vec![
        None,
        Some(user.access.clone()),
        Some(net.ngo_staff.access.clone()),
        Some(net.bank_staff.access.clone()),
        Some(net.hospital_staff.access.clone()),
        Some(other_staff.access.clone()),
        Some(net.hospital.admin.access.clone()),
        Some(net.root.access.clone()),
    ];
    let mut bad_bank = net.camp_input(5);
    bad_bank["bloodBankId"] = json!(net.hospital.id);
    let dead_id = dead["id"].clone();
    let camp_query = "query($id: ID!) { camp(id: $id) { id slots { remaining } } }";
    let registrations = "query($id: ID!) { camp(id: $id) { registrations { id } } }";
    let rows: Vec<Row<8>> = vec![
        (
            "createCamp",
            mutation("createCamp", "CreateCampInput", "camp { id }"),
            json!({"i": bad_bank}),
            [U, F, A, F, F, F, F, F],
        ),
        (
            "updateCamp",
            mutation("updateCamp", "UpdateCampInput", "camp { id }"),
            json!({"i": {"campId": dead_id, "expectedDonors": 5}}),
            [U, F, A, F, F, F, F, F],
        ),
        (
            "startCamp",
            mutation("startCamp", "CampActionInput", "camp { id }"),
            json!({"i": {"campId": dead_id}}),
            [U, F, A, F, F, F, F, F],
        ),
        (
            "completeCamp",
            mutation("completeCamp", "CampActionInput", "camp { id }"),
            json!({"i": {"campId": dead_id}}),
            [U, F, A, F, F, F, F, F],
        ),
        (
            "cancelCamp",
            mutation("cancelCamp", "CancelCampInput", "camp { id }"),
            json!({"i": {"campId": dead_id, "reason": "again"}}),
            [U, F, A, F, F, F, F, F],
        ),
        (
            "registerForCamp",
            mutation(
                "registerForCamp",
                "RegisterForCampInput",
                "registration { id }",
            ),
            json!({"i": {"slotId": slot_id(&dead, 1), "donorId": donor}}),
            [U, N, A, N, N, N, N, N],
        ),
        (
            "cancelCampRegistration",
            mutation(
                "cancelCampRegistration",
                "CampRegistrationActionInput",
                "registration { id }",
            ),
            json!({"i": {"registrationId": reg}}),
            [U, N, A, N, N, N, N, N],
        ),
        (
            "recordCampAttendance",
            mutation(
                "recordCampAttendance",
                "RecordCampAttendanceInput",
                "registration { id }",
            ),
            json!({"i": {"registrationId": reg, "outcome": "NOT_ATTENDED"}}),
            [U, F, A, A, F, F, F, F],
        ),
        (
            "proposeDrive as a hospital",
            mutation("proposeDrive", "ProposeDriveInput", "drive { id }"),
            json!({"i": {"hospitalId": net.hospital.id, "ngoId": net.bank.id, "type": "SCHEDULED",
                         "targetUnits": 1, "date": local_date(2)}}),
            [U, F, F, F, A, F, A, F],
        ),
        (
            "proposeDrive as an NGO",
            mutation("proposeDrive", "ProposeDriveInput", "drive { id }"),
            json!({"i": {"hospitalId": net.bank.id, "ngoId": net.ngo.id, "type": "SCHEDULED",
                         "targetUnits": 1, "date": local_date(2)}}),
            [U, F, A, F, F, F, F, F],
        ),
        (
            "acceptDrive",
            mutation("acceptDrive", "DriveActionInput", "drive { id }"),
            json!({"i": {"driveId": drive}}),
            [U, N, A, N, A, N, A, N],
        ),
        (
            "rejectDrive",
            mutation("rejectDrive", "RejectDriveInput", "drive { id }"),
            json!({"i": {"driveId": drive, "reason": "no"}}),
            [U, N, A, N, A, N, A, N],
        ),
        (
            "cancelDrive",
            mutation("cancelDrive", "CancelDriveInput", "drive { id }"),
            json!({"i": {"driveId": drive}}),
            [U, N, A, N, A, N, A, N],
        ),
        (
            "completeDrive",
            mutation("completeDrive", "CompleteDriveInput", "drive { id }"),
            json!({"i": {"driveId": drive, "unitsCollected": 1}}),
            [U, N, A, N, A, N, A, N],
        ),
        (
            "camps",
            "{ camps(first: 5) { edges { node { id } } } }".into(),
            json!({}),
            [U, A, A, A, A, A, A, A],
        ),
        (
            "camp",
            camp_query.into(),
            json!({"id": live["id"]}),
            [U, A, A, A, A, A, A, A],
        ),
        (
            "Camp.registrations",
            registrations.into(),
            json!({"id": live["id"]}),
            [U, F, A, A, F, F, F, A],
        ),
        (
            "drives",
            "{ drives { totalCount } }".into(),
            json!({}),
            [U, A, A, A, A, A, A, A],
        ),
    ];

    // Act / Assert
    Matrix::new(CALLERS, tokens)
        .telling_not_found_apart()
        .assert(&app, &rows)
        .await;
}

#[tokio::test]
async fn drives_are_seen_by_both_sides_only() {
    // Arrange: a drive between the hospital and the NGO.
    let app = spawn_app().await;
    let net = CampNet::new(&app).await;
    let other = org_north(&app, &net.root, "NGO-ELSE", "NGO", "a@else.ngo", 3.0).await;
    camp_op(
        &app,
        &net.ngo_staff,
        "proposeDrive",
        json!({"hospitalId": net.hospital.id, "ngoId": net.ngo.id, "type": "EMERGENCY",
               "targetUnits": 4, "date": local_date(1)}),
        "drive { id }",
    )
    .await
    .data();
    // Act / Assert
    assert_eq!(drive_count(&app, &net.hospital_staff).await, Some(1));
    assert_eq!(drive_count(&app, &net.ngo_staff).await, Some(1));
    assert_eq!(drive_count(&app, &net.bank_staff).await, Some(0));
    assert_eq!(drive_count(&app, &other.admin).await, Some(0));
}

async fn drive_count(app: &TestApp, who: &Session) -> Option<i64> {
    let r = app
        .gql(Some(&who.access), "{ drives { totalCount } }", json!({}))
        .await;
    r.data()["drives"]["totalCount"].as_i64()
}

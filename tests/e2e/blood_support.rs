//! Fixtures shared by the blood-network tests: organizations at given places, unit numbers,
//! units, requests, and the GraphQL operations the tests repeat.

use lifeflow_tests::*;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use std::time::Duration;
use uuid::Uuid;

/// Where `approved_org` puts every organization, and where the test hospitals are.
pub const HERE: (f64, f64) = (12.97, 77.59);

/// The latitude `km` kilometres north of [`HERE`] (same longitude).
pub fn km_north(km: f64) -> f64 {
    HERE.0 + km / 111.195
}

/// An approved organization and its admin.
pub struct Org {
    /// Its id.
    pub id: String,
    /// Its admin.
    pub admin: Session,
}

/// Registers an organization `km` north of [`HERE`] with a new admin `email`, and approves
/// it as `root`.
pub async fn org_north(
    app: &TestApp,
    root: &Session,
    code: &str,
    kind: &str,
    email: &str,
    km: f64,
) -> Org {
    let admin = app.signed_in(email).await;
    let mut input = org_input(code, kind);
    input["latitude"] = json!(km_north(km));
    input["longitude"] = json!(HERE.1);
    let r = app
        .gql(
            Some(&admin.access),
            "mutation($i: RegisterOrganizationInput!) { registerOrganization(input: $i) { organization { id } } }",
            json!({"i": input}),
        )
        .await;
    let id = r.data()["registerOrganization"]["organization"]["id"]
        .as_str()
        .expect("org id")
        .to_string();
    app.gql(
        Some(&root.access),
        "mutation($i: OrganizationStatusInput!) { approveOrganization(input: $i) { organization { status } } }",
        json!({"i": {"organizationId": id}}),
    )
    .await
    .data();
    Org { id, admin }
}

/// A new account `email` added to `org` with `role`.
pub async fn member(app: &TestApp, org: &Org, email: &str, role: &str) -> Session {
    let s = app.signed_in(email).await;
    app.add_member(&org.admin, &org.id, email, role).await;
    s
}

/// A 13-character ISBT 128 DIN (facility W1234, year 26) without its check character.
pub fn din(seq: u32) -> String {
    format!("W123426{seq:06}")
}

/// The same DIN followed by its ISO 7064 mod 37-2 check character, as staff type it.
pub fn din_checked(seq: u32) -> String {
    let d = din(seq);
    let c = lifeflow::blood::isbt::check_character(&d).expect("check character");
    format!("{d}{c}")
}

/// An RFC 3339 instant `days` days from now.
pub fn in_days(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days)).to_rfc3339()
}

/// A date `days` days from today.
pub fn date_in(days: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(days)).to_string()
}

/// A new AVAILABLE unit with a local barcode, collected today; change fields as needed.
pub fn unit(number: &str, group: &str, component: &str) -> Value {
    json!({"unitNumber": number, "isLocalBarcode": true, "component": component,
           "bloodGroup": group, "volumeMl": 300, "collectedOn": date_in(0), "status": "AVAILABLE"})
}

/// The same with an explicit expiry `days` from now.
pub fn unit_expiring(number: &str, group: &str, component: &str, days: i64) -> Value {
    let mut u = unit(number, group, component);
    u["expiresAt"] = json!(in_days(days));
    u
}

/// An AVAILABLE unit that expired yesterday (collected 40 days ago): still marked available,
/// as if the expiry sweep had not run yet.
pub fn expired_unit(number: &str, group: &str, component: &str) -> Value {
    let mut u = unit(number, group, component);
    u["collectedOn"] = json!(date_in(-40));
    u["expiresAt"] = json!(in_days(-1));
    u
}

/// `n` AVAILABLE units `{prefix}-{i}` of one group and component.
pub fn units(prefix: &str, group: &str, component: &str, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| unit(&format!("{prefix}-{i:03}"), group, component))
        .collect()
}

/// The `addBloodUnits` mutation.
pub const ADD_UNITS: &str = "mutation($i: AddBloodUnitsInput!) {
  addBloodUnits(input: $i) { units { id unitNumber status bloodGroup component expiresAt donationId } } }";

/// Attempts to add units to a bank.
pub async fn try_add_units(app: &TestApp, who: &Session, bank: &str, units: Vec<Value>) -> Gql {
    app.gql(
        Some(&who.access),
        ADD_UNITS,
        json!({"i": {"bloodBankId": bank, "units": units}}),
    )
    .await
}

/// Adds units to a bank and returns them (id, unitNumber, status, …); panics on errors.
pub async fn add_units(app: &TestApp, who: &Session, bank: &str, units: Vec<Value>) -> Vec<Value> {
    let r = try_add_units(app, who, bank, units).await;
    r.data()["addBloodUnits"]["units"]
        .as_array()
        .expect("units")
        .clone()
}

/// A `CreateBloodRequestInput` for an open ROUTINE request needed in 6 hours.
pub fn request_input(hospital: &str, group: &str, component: &str, units: i32) -> Value {
    json!({"hospitalId": hospital, "patientReference": "MRN-0001", "bloodGroup": group,
           "component": component, "unitsRequired": units, "urgency": "ROUTINE",
           "neededBy": in_days(1)})
}

/// The fields the tests read of a request.
pub const REQUEST_FIELDS: &str = "id status bloodGroup unitsRequired holdUntil acceptedAt fulfilledAt
  rejectedAt rejectionReason cancelledAt cancellationReason requestedByApiClientId
  requestedBy { id } bloodBank { id } units { id unitNumber bloodGroup status expiresAt reservedForRequestId }";

/// Attempts `createBloodRequest`.
pub async fn try_create_request(app: &TestApp, token: &str, input: Value) -> Gql {
    app.gql(
        Some(token),
        &format!(
            "mutation($i: CreateBloodRequestInput!) {{ createBloodRequest(input: $i) {{ bloodRequest {{ {REQUEST_FIELDS} }} }} }}"
        ),
        json!({"i": input}),
    )
    .await
}

/// Creates a request and returns its id; panics on errors.
pub async fn create_request(app: &TestApp, who: &Session, input: Value) -> String {
    let r = try_create_request(app, &who.access, input).await;
    r.data()["createBloodRequest"]["bloodRequest"]["id"]
        .as_str()
        .expect("request id")
        .to_string()
}

/// Runs one of the request mutations (`acceptBloodRequest`, `fulfillBloodRequest`,
/// `rejectBloodRequest`, `declineBloodRequest`, `cancelBloodRequest`) with `input`.
pub async fn act(app: &TestApp, who: &Session, mutation: &str, input: Value) -> Gql {
    let input_type = match mutation {
        "acceptBloodRequest" => "AcceptBloodRequestInput",
        "fulfillBloodRequest" => "FulfillBloodRequestInput",
        "rejectBloodRequest" | "declineBloodRequest" => "BankResponseInput",
        "cancelBloodRequest" => "CancelBloodRequestInput",
        other => panic!("unknown mutation {other}"),
    };
    app.gql(
        Some(&who.access),
        &format!(
            "mutation($i: {input_type}!) {{ {mutation}(input: $i) {{ bloodRequest {{ {REQUEST_FIELDS} }} }} }}"
        ),
        json!({"i": input}),
    )
    .await
}

/// A bank accepts a request.
pub async fn accept(app: &TestApp, who: &Session, request: &str, bank: &str) -> Gql {
    act(
        app,
        who,
        "acceptBloodRequest",
        json!({"requestId": request, "bloodBankId": bank}),
    )
    .await
}

/// The request a mutation returned.
pub fn request_of<'a>(r: &'a Gql, mutation: &str) -> &'a Value {
    &r.data()[mutation]["bloodRequest"]
}

/// The unit numbers of a request's units, sorted.
pub fn unit_numbers(request: &Value) -> Vec<String> {
    let mut v: Vec<String> = request["units"]
        .as_array()
        .expect("units")
        .iter()
        .map(|u| u["unitNumber"].as_str().expect("unitNumber").to_string())
        .collect();
    v.sort();
    v
}

/// Reads one request as `who`.
pub async fn read_request(app: &TestApp, who: &Session, id: &str) -> Gql {
    app.gql(
        Some(&who.access),
        &format!("query($id: ID!) {{ bloodRequest(id: $id) {{ {REQUEST_FIELDS} }} }}"),
        json!({"id": id}),
    )
    .await
}

/// A bank's units with the given status, as the bank's member `who` sees them.
pub async fn units_with_status(
    app: &TestApp,
    who: &Session,
    bank: &str,
    status: &str,
) -> Vec<Value> {
    let r = app
        .gql(
            Some(&who.access),
            "query($f: BloodUnitFilter) { bloodUnits(filter: $f, first: 100) {
               edges { node { id unitNumber status bloodGroup reservedForRequestId reservedUntil } } } }",
            json!({"f": {"bloodBankId": bank, "statuses": [status]}}),
        )
        .await;
    r.data()["bloodUnits"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

/// Units in the whole database with `status`.
pub async fn count_units(app: &TestApp, status: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) FROM blood_units WHERE status = '{status}'"
    ))
    .await
}

/// Audit rows with `action`, optionally about one entity.
pub async fn audit_rows(
    app: &TestApp,
    action: &str,
    entity: Option<&str>,
) -> Vec<entity::audit_log::Model> {
    let mut q =
        entity::audit_log::Entity::find().filter(entity::audit_log::Column::Action.eq(action));
    if let Some(e) = entity {
        q = q.filter(entity::audit_log::Column::EntityId.eq(Uuid::parse_str(e).expect("uuid")));
    }
    q.all(&app.db).await.expect("audit rows")
}

/// Rows in `blood_requests`.
pub async fn count_requests(app: &TestApp) -> u64 {
    entity::blood_request::Entity::find()
        .count(&app.db)
        .await
        .expect("count")
}

/// Polls `check` every 50 ms until it returns `Some`, or panics with `what` after `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A hospital with an admin, a doctor and a staff member; a blood bank with an admin and a
/// staff member; both at [`HERE`] unless placed otherwise.
pub struct Network {
    /// A super admin.
    pub root: Session,
    /// The hospital.
    pub hospital: Org,
    /// A DOCTOR of the hospital.
    pub doctor: Session,
    /// A STAFF member of the hospital.
    pub nurse: Session,
    /// The bank.
    pub bank: Org,
    /// A STAFF member of the bank.
    pub bank_staff: Session,
}

impl Network {
    /// The hospital at [`HERE`] and the bank `bank_km` north of it.
    pub async fn new(app: &TestApp, bank_km: f64) -> Self {
        let root = app.super_admin().await;
        let hospital = org_north(
            app,
            &root,
            "HOSP-CITY",
            "HOSPITAL",
            "admin@hospital.example",
            0.0,
        )
        .await;
        let doctor = member(app, &hospital, "doctor@hospital.example", "DOCTOR").await;
        let nurse = member(app, &hospital, "nurse@hospital.example", "STAFF").await;
        let bank = org_north(
            app,
            &root,
            "BANK-CITY",
            "BLOOD_BANK",
            "admin@bank.example",
            bank_km,
        )
        .await;
        let bank_staff = member(app, &bank, "staff@bank.example", "STAFF").await;
        Self {
            root,
            hospital,
            doctor,
            nurse,
            bank,
            bank_staff,
        }
    }

    /// Another approved bank, 3 km north (`BANK-TWO`).
    pub async fn second_bank(&self, app: &TestApp) -> Org {
        org_north(
            app,
            &self.root,
            "BANK-TWO",
            "BLOOD_BANK",
            "two@bank.example",
            3.0,
        )
        .await
    }

    /// Adds units to the bank as its admin; returns them.
    pub async fn stock(&self, app: &TestApp, units: Vec<Value>) -> Vec<Value> {
        add_units(app, &self.bank.admin, &self.bank.id, units).await
    }

    /// The nurse asks the hospital for `n` units; returns the request's id.
    pub async fn nurse_request(
        &self,
        app: &TestApp,
        group: &str,
        component: &str,
        n: i32,
    ) -> String {
        create_request(
            app,
            &self.nurse,
            request_input(&self.hospital.id, group, component, n),
        )
        .await
    }
}

//! Fixtures shared by the alert tests: organizations at given places, blood requests, units,
//! and polling with a deadline.

use lifeflow_tests::*;
use serde_json::{Value, json};
use std::{future::Future, time::Duration};

/// Where `approved_org` puts everything: the hospital and the banks next to it.
pub const HERE: (f64, f64) = (12.97, 77.59);

/// The latitude `km` kilometres north of [`HERE`] (same longitude).
pub fn km_north(km: f64) -> f64 {
    HERE.0 + km / 111.195
}

/// The alert fields every subscription test selects.
pub const ALERT_RAISED: &str = "subscription($f: AlertSubscriptionFilter) {
  alertRaised(filter: $f) { id kind severity title bloodGroup relatedEntityId status } }";

/// A root account and a hospital with a staff member.
pub struct Network {
    /// A super admin.
    pub root: Session,
    /// The hospital's id.
    pub hospital: String,
    /// A STAFF member of the hospital.
    pub hospital_staff: Session,
}

impl Network {
    /// A super admin and an approved hospital at [`HERE`] with an admin and a staff member.
    pub async fn new(app: &TestApp) -> Self {
        let root = app.super_admin().await;
        let hospital_admin = app.signed_in("admin@hospital.example").await;
        let hospital = app
            .approved_org(&root, &hospital_admin, "HOSP-CITY", "HOSPITAL")
            .await;
        let hospital_staff = app.signed_in("nurse@hospital.example").await;
        app.add_member(&hospital_admin, &hospital, &hospital_staff.email, "STAFF")
            .await;
        Self {
            root,
            hospital,
            hospital_staff,
        }
    }

    /// An approved organization at (`lat`, `lon`) whose admin is a new account `email`;
    /// returns the organization's id and its admin.
    pub async fn org_at(
        &self,
        app: &TestApp,
        code: &str,
        kind: &str,
        email: &str,
        lat: f64,
        lon: f64,
    ) -> (String, Session) {
        let admin = app.signed_in(email).await;
        let id = register_org_at(app, &admin, code, kind, lat, lon).await;
        app.gql(
            Some(&self.root.access),
            "mutation($i: OrganizationStatusInput!) { approveOrganization(input: $i) { organization { status } } }",
            json!({"i": {"organizationId": id}}),
        )
        .await
        .data();
        (id, admin)
    }

    /// An approved blood bank at the hospital's door (`BB-NEAR`) and its admin.
    pub async fn near_bank(&self, app: &TestApp) -> (String, Session) {
        self.org_at(
            app,
            "BB-NEAR",
            "BLOOD_BANK",
            "a@near.example",
            HERE.0,
            HERE.1,
        )
        .await
    }

    /// A hospital request as its staff member; returns its id.
    pub async fn request(&self, app: &TestApp, r: NewRequest<'_>) -> String {
        create_request(app, &self.hospital_staff, &self.hospital, r).await
    }
}

/// Registers an organization at (`lat`, `lon`) as `admin` (still PENDING); returns its id.
pub async fn register_org_at(
    app: &TestApp,
    admin: &Session,
    code: &str,
    kind: &str,
    lat: f64,
    lon: f64,
) -> String {
    let mut input = org_input(code, kind);
    input["latitude"] = json!(lat);
    input["longitude"] = json!(lon);
    let r = app
        .gql(
            Some(&admin.access),
            "mutation($i: RegisterOrganizationInput!) { registerOrganization(input: $i) { organization { id } } }",
            json!({"i": input}),
        )
        .await;
    r.data()["registerOrganization"]["organization"]["id"]
        .as_str()
        .expect("org id")
        .to_string()
}

/// What a test changes in a blood request.
#[derive(Clone, Copy)]
pub struct NewRequest<'a> {
    /// Urgency.
    pub urgency: &'a str,
    /// Group.
    pub group: &'a str,
    /// Component.
    pub component: &'a str,
    /// Units.
    pub units: i32,
    /// Radius (the server's default when `None`).
    pub radius_km: Option<f64>,
    /// Addressed bank.
    pub bank: Option<&'a str>,
}

impl Default for NewRequest<'_> {
    fn default() -> Self {
        Self {
            urgency: "EMERGENCY",
            group: "A_POS",
            component: "RED_CELLS",
            units: 2,
            radius_km: None,
            bank: None,
        }
    }
}

/// Creates a blood request for `hospital` as `who`; returns its id.
pub async fn create_request(
    app: &TestApp,
    who: &Session,
    hospital: &str,
    r: NewRequest<'_>,
) -> String {
    let needed_by = (chrono::Utc::now() + chrono::Duration::hours(6)).to_rfc3339();
    let mut input = json!({
        "hospitalId": hospital, "patientReference": "MRN-0001",
        "bloodGroup": r.group, "component": r.component, "unitsRequired": r.units,
        "urgency": r.urgency, "neededBy": needed_by,
    });
    if let Some(km) = r.radius_km {
        input["radiusKm"] = json!(km);
    }
    if let Some(b) = r.bank {
        input["bloodBankId"] = json!(b);
    }
    let resp = app
        .gql(
            Some(&who.access),
            "mutation($i: CreateBloodRequestInput!) { createBloodRequest(input: $i) { bloodRequest { id status } } }",
            json!({"i": input}),
        )
        .await;
    resp.data()["createBloodRequest"]["bloodRequest"]["id"]
        .as_str()
        .expect("request id")
        .to_string()
}

/// Adds `n` AVAILABLE units with local barcodes `{prefix}-{i}` to a bank.
pub async fn add_units(
    app: &TestApp,
    who: &Session,
    bank: &str,
    group: &str,
    component: &str,
    n: usize,
    prefix: &str,
) {
    let today = chrono::Utc::now().date_naive();
    let units: Vec<Value> = (0..n)
        .map(|i| {
            json!({"unitNumber": format!("{prefix}-{i:03}"), "isLocalBarcode": true,
                   "component": component, "bloodGroup": group, "volumeMl": 350,
                   "collectedOn": today.to_string(), "status": "AVAILABLE"})
        })
        .collect();
    app.gql(
        Some(&who.access),
        "mutation($i: AddBloodUnitsInput!) { addBloodUnits(input: $i) { units { id } } }",
        json!({"i": {"bloodBankId": bank, "units": units}}),
    )
    .await
    .data();
}

/// Accepts a request for a bank; returns the response.
pub async fn accept(app: &TestApp, who: &Session, request: &str, bank: &str) -> Gql {
    app.gql(
        Some(&who.access),
        "mutation($i: AcceptBloodRequestInput!) { acceptBloodRequest(input: $i) { bloodRequest { id status } } }",
        json!({"i": {"requestId": request, "bloodBankId": bank}}),
    )
    .await
}

/// The caller's alerts (`alerts(filter: $f)`), newest first.
pub async fn alerts_of(app: &TestApp, who: &Session, filter: Value) -> Vec<Value> {
    let r = app
        .gql(
            Some(&who.access),
            "query($f: AlertFilter) { alerts(filter: $f, first: 100) { nodes { id kind status relatedEntityId createdAt } } }",
            json!({"f": filter}),
        )
        .await;
    r.data()["alerts"]["nodes"]
        .as_array()
        .expect("nodes")
        .clone()
}

/// Polls `check` every 50 ms until it returns `Some`, or panics with `what` after `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
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

/// `/readyz` as (status, body).
pub async fn readyz(app: &TestApp) -> (u16, Value) {
    let r = app
        .http
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .expect("readyz");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

/// A UUID as an SQL literal for this back end (SQLite stores UUIDs as 16-byte blobs).
pub fn id_lit(app: &TestApp, id: &str) -> String {
    if app.test_db.is_postgres() {
        format!("'{id}'")
    } else {
        format!("X'{}'", id.replace('-', ""))
    }
}

/// A blood request's status as `who` sees it.
pub async fn request_status(app: &TestApp, token: &str, id: &str) -> String {
    let r = app
        .gql(
            Some(token),
            "query($id: ID!) { bloodRequest(id: $id) { status } }",
            json!({"id": id}),
        )
        .await;
    r.data()["bloodRequest"]["status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

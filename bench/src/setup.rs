//! Starting the server in-process and seeding the data set over HTTP.

use crate::{Scenario, load::Request};
use futures_util::{StreamExt, TryStreamExt, stream};
use lifeflow::{app::Application, config::Config};
use serde_json::{Value, json};
use std::{collections::HashMap, time::Duration};
use tokio::{sync::oneshot, task::JoinHandle};

/// The error type of setup steps.
pub type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The password of every seeded account.
pub const PASSWORD: &str = "correct horse battery staple";

/// Setup requests in flight at once (hashing is bounded by the server anyway).
const SEED_CONCURRENCY: usize = 8;

/// The page the `org-list` scenario asks for, with two levels of relations.
pub const ORG_LIST_QUERY: &str =
    "{ organizations(first: 50) { edges { node { id name members { role user { email } } } } } }";

/// The `me` scenario's query.
pub const ME_QUERY: &str = "{ me { id email } }";

/// The `typename` scenario's query: no token, no resolver, no statement.
pub const TYPENAME_QUERY: &str = "{ __typename }";

/// The `login` scenario's mutation.
pub const LOGIN_MUTATION: &str = "mutation($i: LoginInput!) { login(input: $i) { accessToken } }";

/// The real server, running on a task of this process.
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The settings it runs with.
    pub config: Config,
    db: sea_orm::DatabaseConnection,
    state: lifeflow::state::AppState,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Builds the application (connects, migrates, binds) and serves it on a spawned task.
    pub async fn start(settings: &HashMap<String, String>) -> Res<Self> {
        let config = Config::from_map(settings)?;
        let app = Application::build(config.clone()).await?;
        let addr = app.local_addr()?;
        if !addr.ip().is_loopback() {
            return Err(format!("refusing to benchmark a non-loopback address: {addr}").into());
        }
        let db = app.state().db.clone();
        let state = app.state().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        Ok(Self {
            base: format!("http://{addr}"),
            config,
            db,
            state,
            stop,
            task,
        })
    }

    /// The server's own database handle.
    pub fn db(&self) -> &sea_orm::DatabaseConnection {
        &self.db
    }

    /// The server's shared state (its event bus, for what a use case publishes).
    pub fn state(&self) -> &lifeflow::state::AppState {
        &self.state
    }

    /// Shuts the server down gracefully (bounded wait) and closes its pool.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
        let _ = self.db.close().await;
    }
}

/// Posts one GraphQL operation and returns `data`, or an error naming the GraphQL errors.
pub async fn gql(
    http: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Res<Value> {
    let mut req = http
        .post(format!("{base}/graphql"))
        .json(&json!({"query": query, "variables": variables}));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await?;
    let status = resp.status();
    let body: Value = resp.json().await?;
    match body.get("errors") {
        Some(e) if e.as_array().is_some_and(|a| !a.is_empty()) => {
            Err(format!("HTTP {status}, errors: {e}").into())
        }
        _ if !status.is_success() => Err(format!("HTTP {status}: {body}").into()),
        _ => Ok(body.get("data").cloned().unwrap_or(Value::Null)),
    }
}

/// Signs in and returns the access token.
pub async fn login(http: &reqwest::Client, base: &str, email: &str) -> Res<String> {
    let data = gql(
        http,
        base,
        None,
        LOGIN_MUTATION,
        json!({"i": {"email": email, "password": PASSWORD}}),
    )
    .await?;
    data.pointer("/login/accessToken")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("no access token for {email}").into())
}

/// Registers an account.
pub async fn register(http: &reqwest::Client, base: &str, email: &str, name: &str) -> Res<()> {
    gql(
        http,
        base,
        None,
        "mutation($i: RegisterInput!) { register(input: $i) { user { id } } }",
        json!({"i": {"email": email, "password": PASSWORD, "fullName": name}}),
    )
    .await
    .map(drop)
}

/// Registers `admin` and their organization in Bengaluru, approved by the super admin `root`;
/// returns the admin's token and the organization's id.
pub async fn approved_org(
    http: &reqwest::Client,
    base: &str,
    root: &str,
    admin: &str,
    code: &str,
    name: &str,
    kind: &str,
) -> Res<(String, String)> {
    register(http, base, admin, &format!("{code} Admin")).await?;
    let token = login(http, base, admin).await?;
    let data = gql(
        http,
        base,
        Some(&token),
        "mutation($i: RegisterOrganizationInput!) { registerOrganization(input: $i) { organization { id } } }",
        json!({"i": {"code": code, "name": name, "kind": kind,
                     "city": "Bengaluru", "country": "IN", "latitude": 12.97, "longitude": 77.59}}),
    )
    .await?;
    let id = data
        .pointer("/registerOrganization/organization/id")
        .and_then(Value::as_str)
        .ok_or("registerOrganization: no id")?
        .to_string();
    gql(
        http,
        base,
        Some(root),
        "mutation($i: OrganizationStatusInput!) { approveOrganization(input: $i) { organization { id } } }",
        json!({"i": {"organizationId": id}}),
    )
    .await?;
    Ok((token, id))
}

/// The seeded accounts the scenarios use.
pub struct BenchData {
    root_token: String,
    member_token: String,
    login_email: String,
}

impl BenchData {
    /// The request a scenario repeats (only the scenarios of this data set).
    pub fn request(&self, scenario: Scenario) -> Res<Request> {
        Ok(match scenario {
            Scenario::OrgList => Request::new(ORG_LIST_QUERY, json!({}), Some(&self.root_token)),
            Scenario::Me => Request::new(ME_QUERY, json!({}), Some(&self.member_token)),
            Scenario::Typename => Request::new(TYPENAME_QUERY, json!({}), None),
            Scenario::TypenameAuth => {
                Request::new(TYPENAME_QUERY, json!({}), Some(&self.member_token))
            }
            Scenario::Login => Request::new(
                LOGIN_MUTATION,
                json!({"i": {"email": self.login_email, "password": PASSWORD}}),
                None,
            ),
            other => return Err(format!("{} does not run on this data set", other.label()).into()),
        })
    }
}

const MEMBER_ROLES: [&str; 4] = ["DOCTOR", "STAFF", "RADIOLOGIST", "ADMIN"];

/// Seeds `orgs` approved organizations with `members` active members each (the registering
/// admin plus `members - 1` added accounts), a super admin and a login account, all through
/// the public API except the super admin (made the way the `create-admin` command does it).
/// Then checks that the `org-list` page has the expected shape.
pub async fn seed(
    server: &Server,
    http: &reqwest::Client,
    orgs: usize,
    members: usize,
) -> Res<BenchData> {
    let base = server.base.as_str();
    let root_email = "root@bench.lifeflow.example";
    lifeflow::seed::create_admin(
        &server.config,
        &server.db,
        root_email,
        PASSWORD,
        "Bench Root",
    )
    .await
    .map_err(|e| format!("create_admin: {e:?}"))?;
    let root_token = login(http, base, root_email).await?;
    let login_email = "login@bench.lifeflow.example".to_string();
    register(http, base, &login_email, "Login Bench").await?;

    let admin_tokens: Vec<String> = stream::iter(0..orgs)
        .map(|i| {
            let root_token = root_token.as_str();
            async move { seed_org(http, base, root_token, i, members).await }
        })
        .buffered(SEED_CONCURRENCY)
        .try_collect()
        .await?;
    let member_token = admin_tokens
        .into_iter()
        .next()
        .ok_or("no organization seeded")?;

    // The page must hold every organization with all its members, or the figures mean little.
    let data = gql(http, base, Some(&root_token), ORG_LIST_QUERY, json!({})).await?;
    let edges = data
        .pointer("/organizations/edges")
        .and_then(Value::as_array)
        .ok_or("org-list: no edges")?;
    let expected = orgs.min(50);
    if edges.len() != expected {
        return Err(format!(
            "org-list: {} organizations, expected {expected}",
            edges.len()
        )
        .into());
    }
    for e in edges {
        let n = e
            .pointer("/node/members")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if n != members {
            return Err(
                format!("org-list: an organization has {n} members, expected {members}").into(),
            );
        }
    }
    Ok(BenchData {
        root_token,
        member_token,
        login_email,
    })
}

/// Registers admin `i`, its organization (approved by the super admin) and its members;
/// returns the admin's access token.
async fn seed_org(
    http: &reqwest::Client,
    base: &str,
    root_token: &str,
    i: usize,
    members: usize,
) -> Res<String> {
    let admin_email = format!("admin{i}@bench.lifeflow.example");
    register(http, base, &admin_email, &format!("Admin {i}")).await?;
    let token = login(http, base, &admin_email).await?;
    let code = format!("BENCH-{i:04}");
    let kind = ["HOSPITAL", "BLOOD_BANK", "NGO"][i % 3];
    let data = gql(
        http,
        base,
        Some(&token),
        "mutation($i: RegisterOrganizationInput!) { registerOrganization(input: $i) { organization { id } } }",
        json!({"i": {
            "code": code, "name": format!("Bench Centre {i}"),
            "kind": kind,
            "city": "Bengaluru", "country": "IN", "latitude": 12.97, "longitude": 77.59,
        }}),
    )
    .await?;
    let org_id = data
        .pointer("/registerOrganization/organization/id")
        .and_then(Value::as_str)
        .ok_or("registerOrganization: no id")?
        .to_string();
    gql(
        http,
        base,
        Some(root_token),
        "mutation($i: OrganizationStatusInput!) { approveOrganization(input: $i) { organization { id } } }",
        json!({"i": {"organizationId": org_id}}),
    )
    .await?;
    for j in 1..members {
        let email = format!("member{i}-{j}@bench.lifeflow.example");
        register(http, base, &email, &format!("Member {i}-{j}")).await?;
        gql(
            http,
            base,
            Some(&token),
            "mutation($i: AddMemberInput!) { addMember(input: $i) { membership { id } } }",
            json!({"i": {
                "organizationId": org_id, "email": email,
                "role": MEMBER_ROLES[(j - 1) % MEMBER_ROLES.len()],
            }}),
        )
        .await?;
    }
    Ok(token)
}

//! Test harness: starts the real server on `127.0.0.1:0` over a fresh database (SQLite by
//! default, Postgres when `TEST_DATABASE_URL` is set) and talks to it over real HTTP.
//!
//! Around it: [`fixtures`] arrange scenarios, [`matrix`] runs permission matrices, [`logs`]
//! captures what the servers log, and [`ws`] speaks the websocket protocols.

pub mod fixtures;
pub mod logs;
pub mod mail;
pub mod matrix;
pub mod ws;

use lifeflow::{app::Application, config::Config};
use reqwest::header::{HeaderMap, HeaderValue};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};
use std::{collections::HashMap, path::PathBuf};
use uuid::Uuid;

/// The password every test account uses.
pub const PASSWORD: &str = "correct horse battery staple";

/// The signing key the test servers use, so tests can forge tokens deliberately.
pub const JWT_SECRET: &str = "test-signing-key-that-is-long-enough-0123456789";

/// A fresh database for one test, removed when dropped.
pub struct TestDb {
    /// The URL the server uses.
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(PathBuf),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    /// Creates a database with a unique name.
    pub async fn create() -> Self {
        let tag = Uuid::new_v4().simple().to_string();
        match std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| u.starts_with("postgres"))
        {
            Some(admin_url) => {
                let name = format!("lifeflow_test_{tag}");
                let admin = Database::connect(&admin_url)
                    .await
                    .expect("connect to TEST_DATABASE_URL");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(b, _)| b)
                    .unwrap_or(&admin_url);
                Self {
                    url: format!("{base}/{name}"),
                    cleanup: Cleanup::Postgres { admin_url, name },
                }
            }
            None => {
                let path = std::env::temp_dir().join(format!("lifeflow-test-{tag}.db"));
                Self {
                    url: format!("sqlite://{}?mode=rwc", path.display()),
                    cleanup: Cleanup::Sqlite(path),
                }
            }
        }
    }

    /// True on Postgres.
    pub fn is_postgres(&self) -> bool {
        matches!(self.cleanup, Cleanup::Postgres { .. })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Postgres { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop runs inside the test's runtime; a thread with its own runtime can block.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build();
                    if let Ok(rt) = rt {
                        rt.block_on(async {
                            if let Ok(admin) = Database::connect(&admin_url).await {
                                let _ = admin
                                    .execute_unprepared(&format!(
                                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                                    ))
                                    .await;
                                admin.close().await.ok();
                            }
                        });
                    }
                })
                .join();
            }
        }
    }
}

/// A running server and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// HTTP client.
    pub http: reqwest::Client,
    /// The server's own pool, for arranging and asserting on rows.
    pub db: DatabaseConnection,
    /// The config the server runs with.
    pub config: Config,
    /// Keeps the database alive for the test.
    pub test_db: std::sync::Arc<TestDb>,
}

/// The settings every test server gets.
pub fn test_settings(db_url: &str) -> HashMap<String, String> {
    let mut m = HashMap::new();
    m.insert("DATABASE_URL".into(), db_url.to_string());
    m.insert("PORT".into(), "0".into());
    m.insert("JWT_SECRET".into(), JWT_SECRET.into());
    m.insert(
        "RATE_LIMIT_PREFIX".into(),
        format!("test-{}", Uuid::new_v4().simple()),
    );
    m.insert("DB_MAX_CONNECTIONS".into(), "4".into());
    // Every test registers its accounts from 127.0.0.1; the limit has tests of its own.
    m.insert("REGISTER_MAX_PER_IP".into(), "100000".into());
    m.insert("CORS_ORIGINS".into(), "https://app.lifeflow.example".into());
    // Most tests sign in as super admins who never enrol in MFA; the tests of MFA itself
    // run with the production default (`MFA_REQUIRED_ROLES` unset: SUPER_ADMIN).
    m.insert("MFA_REQUIRED_ROLES".into(), String::new());
    // One keyring for every test server (it is process-wide): `t2` encrypts, `t1` is an
    // older key still read (the rotation test seals values under it).
    m.insert(
        "ENCRYPTION_KEYS".into(),
        format!("t2:{},t1:{}", TEST_KEY_T2, TEST_KEY_T1),
    );
    m.insert("BLIND_INDEX_KEY".into(), TEST_BLIND_INDEX_KEY.into());
    m
}

/// The current field-encryption key of test servers (base64 of 32 bytes).
pub const TEST_KEY_T2: &str = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";
/// The older key test servers still read.
pub const TEST_KEY_T1: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
/// The blind-index key of test servers.
pub const TEST_BLIND_INDEX_KEY: &str = "CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=";

/// Starts a server on a fresh database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts a server on a fresh database with some settings changed.
pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    let test_db = std::sync::Arc::new(TestDb::create().await);
    spawn_on(test_db, overrides).await
}

/// Starts another server on an existing database (several instances, one database).
pub async fn spawn_on(test_db: std::sync::Arc<TestDb>, overrides: &[(&str, &str)]) -> TestApp {
    let mut settings = test_settings(&test_db.url);
    for (k, v) in overrides {
        settings.insert((*k).to_string(), (*v).to_string());
    }
    let config = Config::from_map(&settings).expect("test config");
    logs::capture();
    let app = Application::build(config.clone()).await.expect("build app");
    let addr = app.local_addr().expect("addr");
    let db = app.state().db.clone();
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp {
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
        db,
        config,
        test_db,
    }
}

/// A GraphQL response as the client saw it.
#[derive(Debug)]
pub struct Gql {
    /// HTTP status.
    pub status: u16,
    /// Parsed body.
    pub body: Value,
    /// Response headers.
    pub headers: HeaderMap,
}

impl Gql {
    /// `data`, or panics with the errors.
    pub fn data(&self) -> &Value {
        match self.body.get("errors") {
            Some(e) if !e.as_array().is_some_and(|a| a.is_empty()) => {
                let id = e.pointer("/0/extensions/requestId").and_then(Value::as_str);
                let logs = id.map(logs::lines_with).unwrap_or_default();
                panic!("unexpected errors: {e:#}\nserver log: {logs:#?}")
            }
            _ => &self.body["data"],
        }
    }

    /// The first error's `extensions.code`.
    pub fn code(&self) -> Option<&str> {
        self.body
            .pointer("/errors/0/extensions/code")
            .and_then(Value::as_str)
    }

    /// The first error's `extensions.field`.
    pub fn field(&self) -> Option<&str> {
        self.body
            .pointer("/errors/0/extensions/field")
            .and_then(Value::as_str)
    }

    /// SQL statements the request ran (from `x-sql-statements`).
    pub fn statements(&self) -> u64 {
        self.headers
            .get("x-sql-statements")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .expect("x-sql-statements header")
    }
}

/// A signed-in user.
#[derive(Debug, Clone)]
pub struct Session {
    /// User id.
    pub user_id: String,
    /// Email.
    pub email: String,
    /// Access token.
    pub access: String,
    /// Refresh token.
    pub refresh: String,
}

impl TestApp {
    /// Posts a GraphQL operation as JSON, asking for `application/graphql-response+json`.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Gql {
        let mut req = self
            .http
            .post(format!("{}/graphql", self.base))
            .header("accept", "application/graphql-response+json")
            .json(&json!({"query": query, "variables": variables}));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        into_gql(req.send().await.expect("request")).await
    }

    /// Posts a raw body with a content type.
    pub async fn post_raw(&self, content_type: &str, body: impl Into<reqwest::Body>) -> Gql {
        let resp = self
            .http
            .post(format!("{}/graphql", self.base))
            .header("content-type", content_type)
            .header("accept", "application/graphql-response+json")
            .body(body)
            .send()
            .await
            .expect("request");
        into_gql(resp).await
    }

    /// Registers an account and signs in.
    pub async fn signed_in(&self, email: &str) -> Session {
        let r = self
            .gql(
                None,
                "mutation($i: RegisterInput!) { register(input: $i) { user { id } } }",
                json!({"i": {"email": email, "password": PASSWORD, "fullName": "Test Person"}}),
            )
            .await;
        r.data();
        self.login(email, PASSWORD).await
    }

    /// Signs in and returns the session; panics on failure.
    pub async fn login(&self, email: &str, password: &str) -> Session {
        let r = self.try_login(email, password).await;
        let p = &r.data()["login"];
        Session {
            user_id: p["user"]["id"].as_str().expect("id").to_string(),
            email: email.to_string(),
            access: p["accessToken"].as_str().expect("access").to_string(),
            refresh: p["refreshToken"].as_str().expect("refresh").to_string(),
        }
    }

    /// Attempts a login.
    pub async fn try_login(&self, email: &str, password: &str) -> Gql {
        self.gql(
            None,
            "mutation($i: LoginInput!) { login(input: $i) { accessToken refreshToken user { id email } } }",
            json!({"i": {"email": email, "password": password}}),
        )
        .await
    }

    /// A super admin, created the way the `create-admin` command does it.
    pub async fn super_admin(&self) -> Session {
        let email = format!(
            "root-{}@lifeflow.example",
            &Uuid::new_v4().simple().to_string()[..8]
        );
        lifeflow::seed::create_admin(&self.config, &self.db, &email, PASSWORD, "Root")
            .await
            .expect("create admin");
        self.login(&email, PASSWORD).await
    }

    /// Registers an organization as `admin` and returns its id (still PENDING).
    pub async fn pending_org(&self, admin: &Session, code: &str, kind: &str) -> String {
        let r = self
            .gql(
                Some(&admin.access),
                "mutation($i: RegisterOrganizationInput!) { registerOrganization(input: $i) { organization { id status } } }",
                json!({"i": org_input(code, kind)}),
            )
            .await;
        r.data()["registerOrganization"]["organization"]["id"]
            .as_str()
            .expect("org id")
            .to_string()
    }

    /// Registers and approves an organization with `admin` as its admin.
    pub async fn approved_org(
        &self,
        root: &Session,
        admin: &Session,
        code: &str,
        kind: &str,
    ) -> String {
        let id = self.pending_org(admin, code, kind).await;
        self.gql(
            Some(&root.access),
            "mutation($i: OrganizationStatusInput!) { approveOrganization(input: $i) { organization { status } } }",
            json!({"i": {"organizationId": id}}),
        )
        .await
        .data();
        id
    }

    /// Adds an existing account to an organization.
    pub async fn add_member(&self, admin: &Session, org: &str, email: &str, role: &str) {
        self.gql(
            Some(&admin.access),
            "mutation($i: AddMemberInput!) { addMember(input: $i) { membership { id } } }",
            json!({"i": {"organizationId": org, "email": email, "role": role}}),
        )
        .await
        .data();
    }

    /// The server's `/metrics` text (on the API port, as in development).
    pub async fn metrics(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text")
    }

    /// Runs a SQL query on the server's database and returns the first column of each row as
    /// a string, for assertions.
    pub async fn count(&self, sql: &str) -> i64 {
        let backend = self.db.get_database_backend();
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(backend, sql.to_string()))
            .await
            .expect("query")
            .expect("row");
        row.try_get_by_index::<i64>(0).expect("count")
    }
}

/// A valid `RegisterOrganizationInput` in Bengaluru.
pub fn org_input(code: &str, kind: &str) -> Value {
    json!({
        "code": code, "name": format!("{code} Centre"), "kind": kind,
        "city": "Bengaluru", "country": "IN", "latitude": 12.97, "longitude": 77.59,
    })
}

async fn into_gql(resp: reqwest::Response) -> Gql {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Gql {
        status,
        body,
        headers,
    }
}

/// A header value, for building requests.
pub fn hv(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).expect("header value")
}

//! GraphQL over HTTP, with the hardening the async-graphql adapter leaves to us:
//! JSON-only POST bodies (415 otherwise: an HTML form can post `text/plain` cross-site),
//! mutations refused over GET (405), bodies and batches capped (413 / 400), a time limit and
//! a complexity budget shared by a batch's operations, and the status codes and media type
//! of the GraphQL-over-HTTP spec.

use super::client::RequestMeta;
use crate::{
    auth::Viewer,
    db::Db,
    error::AppResult,
    graphql::{
        context::RequestCtx,
        limits::Budget,
        loaders::Loaders,
        observe::{CheckOnly, Outcome},
    },
    schema::AppSchema,
    state::AppState,
};
use async_graphql::{
    BatchRequest, Request as GqlRequest, http::GraphiQLSource, parser::types::OperationType,
};
use axum::{
    body::{Body, Bytes},
    extract::{Extension, RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use serde_json::{Value, json};
use std::{collections::HashMap, sync::Arc, time::Instant};

/// The GraphQL-over-HTTP media type.
pub const GQL_RESPONSE: &str = "application/graphql-response+json";

/// Shared by the HTTP handlers.
#[derive(Clone)]
pub struct GqlState {
    pub app: AppState,
    /// Checks HTTP operations and runs websocket ones (`schema::builder`).
    pub schema: AppSchema,
    /// Runs HTTP operations once checked (`schema::runner`).
    pub runner: AppSchema,
    /// Websocket connection counters.
    pub ws: Arc<super::ws::WsCounters>,
    /// The shared subscription feeds.
    pub feeds: Arc<super::feeds::Feeds>,
}

fn essence(v: Option<&HeaderValue>) -> Option<String> {
    v.and_then(|v| v.to_str().ok()).map(|s| {
        s.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    })
}

fn wants_gql_response(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains(GQL_RESPONSE))
}

/// Why a request is refused before any GraphQL runs.
enum Refused {
    /// Not `application/json`: an HTML form can post `text/plain` cross-site.
    MediaType,
    BodyTooLarge,
    NotGraphQl,
    BatchSize(usize),
    /// A mutation in a URL: a GET can be triggered cross-site by a link or an image.
    MutationOverGet,
    NoQuery,
    BadVariables,
}

impl Refused {
    /// The response, counted under its reason in the metrics.
    fn respond(self, app: &AppState, request_id: &str) -> Response {
        let (status, code, reason, message) = match self {
            Self::MediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                "unsupported_media_type",
                "send the request as application/json".to_string(),
            ),
            Self::BodyTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                "payload_too_large",
                "the request body is too large".to_string(),
            ),
            Self::NotGraphQl => (
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "bad_request",
                "the body is not a GraphQL request in JSON".to_string(),
            ),
            Self::BatchSize(max) => (
                StatusCode::BAD_REQUEST,
                "BATCH_TOO_LARGE",
                "batch_too_large",
                format!("a batch holds 1 to {max} operations"),
            ),
            Self::MutationOverGet => (
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                "mutation_over_get",
                "mutations must be sent with POST".to_string(),
            ),
            Self::NoQuery => (
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "bad_request",
                "give a query parameter".to_string(),
            ),
            Self::BadVariables => (
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "bad_request",
                "variables must be JSON".to_string(),
            ),
        };
        app.metrics.record_refused(reason);
        refusal(status, code, &message, request_id)
    }
}

/// A refusal before any GraphQL runs: a status and one error with a code.
pub fn refusal(status: StatusCode, code: &str, message: &str, request_id: &str) -> Response {
    let body = json!({"errors": [{"message": message, "extensions": {"code": code, "requestId": request_id}}]});
    let mut resp = (status, axum::Json(body)).into_response();
    if status == StatusCode::METHOD_NOT_ALLOWED {
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
    }
    resp
}

/// `POST /graphql`.
pub async fn post(
    State(st): State<GqlState>,
    Extension(meta): Extension<RequestMeta>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let app = &st.app;
    if essence(headers.get(header::CONTENT_TYPE)).as_deref() != Some("application/json") {
        return Refused::MediaType.respond(app, &meta.id);
    }
    let bytes: Bytes = match axum::body::to_bytes(body, app.config.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => return Refused::BodyTooLarge.respond(app, &meta.id),
    };
    let batch: BatchRequest = match serde_json::from_slice(&bytes) {
        Ok(b) => b,
        Err(_) => return Refused::NotGraphQl.respond(app, &meta.id),
    };
    let (requests, is_batch) = match batch {
        BatchRequest::Single(r) => (vec![r], false),
        BatchRequest::Batch(v) => (v, true),
    };
    if requests.is_empty() || requests.len() > app.config.max_batch_size {
        return Refused::BatchSize(app.config.max_batch_size).respond(app, &meta.id);
    }
    execute(&st, &meta, &headers, requests, is_batch).await
}

/// `GET /graphql`: GraphiQL for a browser outside production, else a query in the URL.
pub async fn get(
    State(st): State<GqlState>,
    Extension(meta): Extension<RequestMeta>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let app = &st.app;
    let params: HashMap<String, String> = raw
        .as_deref()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let Some(query) = params.get("query") else {
        let browser = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));
        if browser && !app.config.is_production() {
            return Html(
                GraphiQLSource::build()
                    .endpoint("/graphql")
                    .subscription_endpoint("/graphql/ws")
                    .finish(),
            )
            .into_response();
        }
        return Refused::NoQuery.respond(app, &meta.id);
    };
    let op_name = params
        .get("operationName")
        .filter(|s| !s.is_empty())
        .cloned();
    if let Ok(doc) = async_graphql::parser::parse_query(query) {
        let op = match &op_name {
            Some(n) => doc
                .operations
                .iter()
                .find(|(name, _)| name.map(|x| x.as_str()) == Some(n.as_str())),
            None => doc.operations.iter().next(),
        };
        if let Some((_, op)) = op
            && op.node.ty != OperationType::Query
        {
            return Refused::MutationOverGet.respond(app, &meta.id);
        }
    }
    let mut req = GqlRequest::new(query.clone());
    if let Some(n) = op_name {
        req = req.operation_name(n);
    }
    if let Some(v) = params.get("variables").filter(|s| !s.is_empty()) {
        match serde_json::from_str::<Value>(v) {
            Ok(v) => req = req.variables(async_graphql::Variables::from_json(v)),
            Err(_) => return Refused::BadVariables.respond(app, &meta.id),
        }
    }
    execute(&st, &meta, &headers, vec![req], false).await
}

/// The viewer a request's `Authorization` header names: anonymous without one, a rejected
/// anonymous viewer (whom every rule refuses) when it is not a bearer token. Loaded on the
/// pool, not on a request's counting `Db`: whether the viewer was cached says nothing about
/// the operation, so `x-sql-statements` counts the operation's statements only.
pub(crate) async fn request_viewer(app: &AppState, headers: &HeaderMap) -> AppResult<Viewer> {
    match bearer(headers) {
        Err(()) => Ok(Viewer::Anonymous { rejected: true }),
        Ok(token) => {
            let viewer = app
                .viewers
                .viewer(&app.db, &app.keys, token.as_deref())
                .await?;
            if let Viewer::Client(c) = &viewer
                && app.viewers.client_use_due(c.id)
            {
                record_client_use(app, c.id);
            }
            Ok(viewer)
        }
    }
}

/// Writes an API client's `last_used_at` off the request's path (at most once a minute per
/// client per instance; `apiClients` shows it).
fn record_client_use(app: &AppState, id: uuid::Uuid) {
    use entity::api_client;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let db = app.db.clone();
    tokio::spawn(async move {
        let r = api_client::Entity::update_many()
            .col_expr(
                api_client::Column::LastUsedAt,
                Expr::value(crate::db::now()),
            )
            .filter(api_client::Column::Id.eq(id))
            .exec(&db)
            .await;
        if let Err(e) = r {
            tracing::warn!(error = %e, client = %id, "could not record an API client's use");
        }
    });
}

/// The bearer token of a request: `Err` when the header is there but not a bearer token.
fn bearer(headers: &HeaderMap) -> Result<Option<String>, ()> {
    match headers.get(header::AUTHORIZATION) {
        None => Ok(None),
        Some(v) => {
            let s = v.to_str().map_err(|_| ())?;
            let (scheme, token) = s.split_once(' ').ok_or(())?;
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() {
                Ok(Some(token.trim().to_string()))
            } else {
                Err(())
            }
        }
    }
}

/// Checks an operation on the schema with extensions (parse, MFA gate, limits, validation,
/// stopping where execution would begin), then runs the document it parsed on the schema
/// without them, whose fields resolve without passing through the extensions' hooks. An
/// operation the check refuses answers with the check's errors and never runs.
async fn check_then_run(
    st: &GqlState,
    req: GqlRequest,
    ctx: Arc<RequestCtx>,
    outcome: Arc<Outcome>,
    budget: Arc<Budget>,
) -> async_graphql::Response {
    let mut check = GqlRequest::new(req.query.clone());
    check.operation_name.clone_from(&req.operation_name);
    check.variables = req.variables.clone();
    // Parsed once: a document that does not parse is left for the check to refuse.
    let parsed = check.parsed_query().ok().cloned();
    let check = check
        .data(ctx.clone())
        .data(outcome.clone())
        .data(budget.clone())
        .data(CheckOnly);
    let checked = st.schema.execute(check).await;
    if !checked.errors.is_empty() || !outcome.get().executed {
        return checked;
    }
    let mut run = req.data(ctx).data(outcome.clone()).data(budget);
    if let Some(doc) = parsed {
        run.set_parsed_query(doc);
    }
    let mut resp = st.runner.execute(run).await;
    crate::graphql::limits::code_uncoded_errors(&mut resp, &outcome.get().arguments);
    resp
}

async fn execute(
    st: &GqlState,
    meta: &RequestMeta,
    headers: &HeaderMap,
    requests: Vec<GqlRequest>,
    is_batch: bool,
) -> Response {
    let app = &st.app;
    let started = Instant::now();
    let db = if app.config.db_one_connection_per_query {
        Db::per_request(app.db.clone())
    } else {
        Db::new(app.db.clone())
    };
    let viewer = match request_viewer(app, headers).await {
        Ok(v) => v,
        Err(e) => {
            let err: async_graphql::Error = e.into();
            tracing::debug!(?err, "viewer could not be loaded");
            return refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "internal error",
                &meta.id,
            );
        }
    };
    let gql_media = wants_gql_response(headers);
    let mut bodies = Vec::with_capacity(requests.len());
    let mut status = StatusCode::OK;
    // The operations of a batch share one time limit and one complexity budget, so a batch
    // costs no more than a single request could.
    let deadline = tokio::time::Instant::now() + app.config.request_timeout;
    let budget = Budget::new(app.config.max_complexity);
    for req in requests {
        let outcome = Arc::new(Outcome::default());
        let ctx = Arc::new(RequestCtx {
            request_id: meta.id.clone(),
            ip: meta.ip,
            user_agent: meta.user_agent.clone(),
            viewer: viewer.clone(),
            db: db.clone(),
            loaders: Loaders::new(&db),
            reads: Arc::default(),
        });
        let op_started = Instant::now();
        let resp = tokio::time::timeout_at(
            deadline,
            check_then_run(st, req, ctx.clone(), outcome.clone(), budget.clone()),
        )
        .await;
        crate::audit::record::flush_reads(&ctx.db, ctx.origin(), &ctx.viewer, &ctx.reads).await;
        // The connection a query held goes back before its answer is serialized.
        db.release().await;
        let o = outcome.get();
        // An answer without errors is serialized once, straight to bytes, in the order of
        // its selection; only an answer with errors goes through a JSON tree, to be patched.
        if let Ok(r) = &resp
            && r.errors.is_empty()
            && let Ok(bytes) = serde_json::to_vec(r)
        {
            app.metrics.record_operation(
                o.op_type.unwrap_or("unknown"),
                o.op_name.as_deref(),
                op_started.elapsed(),
                &[],
                db.statements(),
            );
            bodies.push(bytes);
            continue;
        }
        let mut body = match resp {
            Ok(r) => serde_json::to_value(&r)
                .unwrap_or_else(|_| json!({"errors": [{"message": "internal error"}]})),
            Err(_) => {
                tracing::warn!(request_id = %meta.id, "request timed out");
                status = StatusCode::SERVICE_UNAVAILABLE;
                json!({"errors": [{"message": "the request took too long", "extensions": {"code": "INTERNAL", "requestId": meta.id}}]})
            }
        };
        // Errors raised before execution (parse, validation, limits) carry no code from
        // async-graphql; give them one, and drop `data`, as the spec has it for request errors.
        let request_error = !o.executed
            && body
                .get("errors")
                .is_some_and(|e| e.as_array().is_some_and(|a| !a.is_empty()));
        if request_error {
            let code = if o.op_type.is_none() {
                "GRAPHQL_PARSE_FAILED"
            } else {
                "GRAPHQL_VALIDATION_FAILED"
            };
            if let Some(errors) = body.get_mut("errors").and_then(Value::as_array_mut) {
                for e in errors {
                    if e.get("extensions").and_then(|x| x.get("code")).is_none() {
                        e["extensions"]["code"] = json!(code);
                    }
                }
            }
            if let Some(obj) = body.as_object_mut() {
                obj.remove("data");
            }
            if gql_media && !is_batch {
                status = StatusCode::BAD_REQUEST;
            }
        }
        let codes: Vec<String> = body
            .get("errors")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|e| {
                        e.pointer("/extensions/code")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                    })
                    .collect()
            })
            .unwrap_or_default();
        app.metrics.record_operation(
            o.op_type
                .unwrap_or(if request_error { "invalid" } else { "unknown" }),
            o.op_name.as_deref(),
            op_started.elapsed(),
            &codes,
            db.statements(),
        );
        bodies.push(serde_json::to_vec(&body).unwrap_or_else(|_| b"null".to_vec()));
    }
    let body = if is_batch {
        let mut all = Vec::with_capacity(bodies.iter().map(|b| b.len() + 1).sum::<usize>() + 1);
        all.push(b'[');
        for (i, b) in bodies.iter().enumerate() {
            if i > 0 {
                all.push(b',');
            }
            all.extend_from_slice(b);
        }
        all.push(b']');
        all
    } else {
        bodies.pop().unwrap_or_else(|| b"null".to_vec())
    };
    let ct = if gql_media {
        GQL_RESPONSE
    } else {
        "application/json"
    };
    let mut resp = (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(ct))],
        body,
    )
        .into_response();
    if app.config.expose_sql_count
        && let Ok(v) = HeaderValue::from_str(&db.statements().to_string())
    {
        resp.headers_mut().insert("x-sql-statements", v);
    }
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        statements = db.statements(),
        "graphql request"
    );
    resp
}

//! `GET /exports/audit.csv`: the audit rows `auditLogs` would give the bearer of the token,
//! with the same filter as query parameters (`from`, `to` as RFC 3339 instants, `entityType`,
//! `organizationId`, `entityId`, `actorUserId`, `action`, `outcome`), streamed as CSV.

use super::graphql::refusal;
use crate::{
    audit::{query, types::AuditLogFilter},
    error::AppError,
    http::client::RequestMeta,
    state::AppState,
};
use async_graphql::ID;
use axum::{
    Extension,
    body::Body,
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

fn instant(raw: Option<&String>, field: &'static str) -> Result<Option<DateTime<Utc>>, AppError> {
    raw.map(|s| {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| AppError::bad_input(field, "must be an RFC 3339 instant"))
    })
    .transpose()
}

fn filter(p: &HashMap<String, String>) -> Result<AuditLogFilter, AppError> {
    let id = |k: &str| p.get(k).map(|v| ID(v.clone()));
    let outcome = match p.get("outcome").map(String::as_str) {
        None => None,
        Some("SUCCESS") => Some(entity::AuditOutcome::Success),
        Some("FAILURE") => Some(entity::AuditOutcome::Failure),
        Some(_) => return Err(AppError::bad_input("outcome", "SUCCESS or FAILURE")),
    };
    Ok(AuditLogFilter {
        organization_id: id("organizationId"),
        actions: p.get("action").map(|a| vec![a.clone()]),
        outcome,
        entity_id: id("entityId"),
        actor_user_id: id("actorUserId"),
        entity_type: p.get("entityType").cloned(),
        from: instant(p.get("from"), "from")?,
        to: instant(p.get("to"), "to")?,
    })
}

fn refused(e: &AppError, request_id: &str) -> Response {
    let status = match e {
        AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        AppError::BadInput { .. } => StatusCode::BAD_REQUEST,
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(request_id, error = ?e, "audit export refused");
    }
    refusal(status, e.code(), &e.public_message(), request_id)
}

/// The handler.
pub async fn audit_csv(
    State(app): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let viewer = match super::graphql::request_viewer(&app, &headers).await {
        Ok(v) => v,
        Err(e) => return refused(&e, &meta.id),
    };
    let rows = match filter(&params).and_then(|f| query::filtered(&viewer, &f)) {
        Ok(q) => q,
        Err(e) => return refused(&e, &meta.id),
    };
    let body = Body::from_stream(query::csv_stream(app.db.clone(), viewer, rows));
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"audit.csv\""),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

//! `/healthz`, `/readyz` and `/metrics`.

use crate::state::AppState;
use axum::{
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;
use std::time::Duration;

/// Alive: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready: 503 only when the database is unreachable. Redis's state is reported, not
/// required: an instance without Redis still serves.
pub async fn readyz(State(app): State<AppState>) -> Response {
    let db_ok = matches!(
        tokio::time::timeout(Duration::from_secs(2), app.db.ping()).await,
        Ok(Ok(()))
    );
    let redis = match &app.redis {
        None => "disabled",
        Some(link) if link.ping().await && app.events.transport_state() == "up" => "up",
        Some(_) => "down",
    };
    let status = if db_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if db_ok { "ready" } else { "unavailable" },
        "database": if db_ok { "up" } else { "down" },
        "redis": redis,
    });
    (status, axum::Json(body)).into_response()
}

/// Prometheus text exposition.
pub async fn metrics(State(app): State<AppState>) -> Response {
    let mut body = app.metrics.render();
    super::metrics::write_password_work(&mut body, app.hasher.work());
    app.outbox.counters.render(&mut body);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

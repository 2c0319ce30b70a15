//! The HTTP surface: routes, middleware, CORS, panic handling.

pub mod client;
pub mod exports;
pub mod feeds;
pub mod graphql;
pub mod health;
pub mod metrics;
pub mod ws;

use crate::{
    config::MetricsEndpoint, error::current_request_id, schema::AppSchema, state::AppState,
};
use axum::{
    Router,
    http::{HeaderName, HeaderValue, Method, StatusCode, header},
    middleware,
    response::{IntoResponse, Response},
    routing::get,
};
use std::{any::Any, time::Duration};
use tower_http::{
    catch_panic::CatchPanicLayer,
    cors::{AllowOrigin, CorsLayer},
};

/// Builds the router.
pub fn router(app: AppState, schema: AppSchema, runner: AppSchema) -> Router {
    let gql = graphql::GqlState {
        app: app.clone(),
        schema,
        runner,
        ws: Default::default(),
        feeds: Default::default(),
    };
    let graphql_routes = Router::new()
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route("/graphql/ws", get(ws::handler))
        .with_state(gql);
    let mut ops = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/exports/audit.csv", get(exports::audit_csv));
    if app.config.metrics == MetricsEndpoint::ApiPort {
        ops = ops.route("/metrics", get(health::metrics));
    }
    let ops = ops.with_state(app.clone());
    Router::new()
        .merge(graphql_routes)
        .merge(ops)
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn_with_state(
            app.clone(),
            client::request_meta,
        ))
        .layer(cors(&app.config.cors_origins))
}

/// `/metrics` alone, for a listener of its own (`METRICS_ADDR`), away from the public port.
pub fn metrics_router(app: AppState) -> Router {
    Router::new()
        .route("/metrics", get(health::metrics))
        .with_state(app)
}

fn cors(origins: &[String]) -> CorsLayer {
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(list))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([HeaderName::from_static("x-request-id")])
        .max_age(Duration::from_secs(600))
}

/// A panic anywhere in a request is answered like any internal error: a code, a plain
/// message and the request id; the panic itself goes to the logs.
fn panic_response(err: Box<dyn Any + Send + 'static>) -> Response {
    let detail = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    let id = current_request_id().unwrap_or_default();
    tracing::error!(request_id = %id, panic = %detail, "request panicked");
    graphql::refusal(
        StatusCode::INTERNAL_SERVER_ERROR,
        "INTERNAL",
        "internal error",
        &id,
    )
    .into_response()
}

//! Per-request context: the caller, the counting connection, the loaders.

use super::loaders::Loaders;
use crate::{
    auth::{Rule, Viewer, authorize},
    db::Db,
    error::{AppError, AppResult},
    state::AppState,
};
use async_graphql::Context;
use std::net::IpAddr;

/// Everything a resolver needs to know about the request it serves.
pub struct RequestCtx {
    /// Correlates logs, errors and audit rows.
    pub request_id: String,
    /// Client IP (from `X-Forwarded-For` only behind a trusted proxy).
    pub ip: Option<IpAddr>,
    /// Client user agent.
    pub user_agent: Option<String>,
    pub viewer: Viewer,
    /// The request's counting view of the pool.
    pub db: Db,
    /// This request's dataloaders; never shared with another request or viewer.
    pub loaders: Loaders,
    /// Reads of health data to audit when the request ends.
    pub reads: std::sync::Arc<crate::audit::ReadBuffer>,
}

/// Typed access to the request and app state from a resolver.
pub trait CtxExt {
    fn req(&self) -> AppResult<&RequestCtx>;
    fn app(&self) -> AppResult<&AppState>;
    /// The request, once its caller satisfies `rule` (a query's coarse gate; rows are then
    /// filtered by the domain's rules in `auth/`).
    fn authorized(&self, rule: Rule) -> AppResult<&RequestCtx>;
}

impl CtxExt for Context<'_> {
    fn req(&self) -> AppResult<&RequestCtx> {
        self.data::<std::sync::Arc<RequestCtx>>()
            .map(|c| c.as_ref())
            .map_err(|_| AppError::internal("request context missing"))
    }

    fn app(&self) -> AppResult<&AppState> {
        self.data::<AppState>()
            .map_err(|_| AppError::internal("app state missing"))
    }

    fn authorized(&self, rule: Rule) -> AppResult<&RequestCtx> {
        let req = self.req()?;
        authorize(&req.viewer, rule)?;
        Ok(req)
    }
}

impl RequestCtx {
    /// Where the request came from, for audit rows.
    pub fn origin(&self) -> crate::audit::Origin<'_> {
        crate::audit::Origin {
            request_id: &self.request_id,
            ip: self.ip,
            user_agent: self.user_agent.as_deref(),
        }
    }
}

//! The `auditLogs` query, filtered by `auth::audit`. There is deliberately no mutation here:
//! audit rows are only ever inserted by the pipeline ([`super::record`]).

use super::types::*;
use crate::{
    error::AppResult,
    graphql::{
        context::CtxExt,
        pagination::{Conn, Keyset, PageArgs, SortDirection, fetch_selected},
    },
};
use async_graphql::{Context, Object};
use entity::audit_log;

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The audit trail: everything for super admins; an organization's rows for its admins.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, last, child_complexity)")]
    async fn audit_logs(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditLogFilter>,
        order_by: Option<AuditLogOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<Conn<AuditLog>> {
        let f = filter.unwrap_or_default();
        let viewer = &ctx.req()?.viewer;
        let q = super::query::filtered(viewer, &f)?;
        let keyset = Keyset::<audit_log::Entity> {
            key: None,
            id: audit_log::Column::Id,
            id_of: |m| m.id,
            direction: order_by.map_or(SortDirection::Desc, |o| o.direction),
        };
        let args = PageArgs::new(first, after, last, before);
        let page = fetch_selected(ctx, q, &keyset, &args).await?;
        Ok(page.into_connection(|m| AuditLog::seen_by(viewer, m)))
    }
}

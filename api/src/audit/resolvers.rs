//! The `auditLogs` query. There is deliberately no mutation here: audit rows are only ever
//! inserted by [`super::service`].

use super::types::*;
use crate::{
    auth::{Rule, Viewer, authorize, policy::ADMIN},
    error::{AppError, AppResult},
    graphql::{
        context::CtxExt,
        ids::parse_id,
        pagination::{Conn, Keyset, PageArgs, SortDirection, fetch_selected},
    },
};
use async_graphql::{Context, Object};
use entity::{OrgRole, audit_log};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

/// Audit queries.
#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The audit trail: everything for super admins; an organization's rows for its admins.
    #[allow(clippy::too_many_arguments)]
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
        let req = ctx.req()?;
        let f = filter.unwrap_or_default();
        let org = f
            .organization_id
            .as_ref()
            .map(|id| parse_id(id, "filter.organizationId"))
            .transpose()?;
        let mut q = audit_log::Entity::find();
        match org {
            Some(org) => {
                authorize(
                    &req.viewer,
                    Rule::ReadOrg {
                        org,
                        roles: ADMIN,
                        scope: None,
                    },
                )?;
                q = q.filter(audit_log::Column::OrganizationId.eq(org));
            }
            None if req.viewer.is_super_admin() => {}
            None => {
                authorize(&req.viewer, Rule::SignedIn)?;
                let mine: Vec<Uuid> = match &req.viewer {
                    Viewer::User(u) => u
                        .grants
                        .iter()
                        .filter(|g| g.role == OrgRole::Admin)
                        .map(|g| g.organization_id)
                        .collect(),
                    _ => Vec::new(),
                };
                if mine.is_empty() {
                    return Err(AppError::Forbidden(
                        "only super admins and organization admins read the audit trail",
                    ));
                }
                q = q.filter(audit_log::Column::OrganizationId.is_in(mine));
            }
        }
        if let Some(actions) = f.actions {
            q = q.filter(audit_log::Column::Action.is_in(actions));
        }
        if let Some(o) = f.outcome {
            q = q.filter(audit_log::Column::Outcome.eq(o));
        }
        if let Some(e) = f.entity_id {
            q = q.filter(audit_log::Column::EntityId.eq(parse_id(&e, "filter.entityId")?));
        }
        if let Some(a) = f.actor_user_id {
            q = q.filter(audit_log::Column::ActorUserId.eq(parse_id(&a, "filter.actorUserId")?));
        }
        let keyset = Keyset::<audit_log::Entity> {
            key: None,
            id: audit_log::Column::Id,
            id_of: |m| m.id,
            direction: order_by.map(|o| o.direction).unwrap_or(SortDirection::Desc),
        };
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let page = fetch_selected(ctx, q, &keyset, &args).await?;
        Ok(page.into_connection(AuditLog::from))
    }
}

//! Alert and notification resolvers: queries filtered by `auth::alerts`, mutations run as
//! commands.

use super::{commands::*, service, types::*};
use crate::{
    auth::{Rule, alerts::reader},
    error::{AppError, AppResult},
    graphql::{
        context::CtxExt,
        ids::parse_id,
        pagination::{Conn, Keyset, PageArgs, SortDirection, fetch_selected},
    },
    pipeline,
};
use async_graphql::{Context, Object};
use entity::{AlertStatus, alert, alert_recipient, notification};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait, Query},
};
use uuid::Uuid;

fn addressed_to(orgs: Vec<Uuid>, ack: Option<bool>) -> Expr {
    let mut q = Query::select();
    q.column(alert_recipient::Column::AlertId)
        .from(alert_recipient::Entity)
        .and_where(Expr::col(alert_recipient::Column::OrganizationId).is_in(orgs));
    match ack {
        Some(true) => {
            q.and_where(Expr::col(alert_recipient::Column::AcknowledgedAt).is_not_null());
        }
        Some(false) => {
            q.and_where(Expr::col(alert_recipient::Column::AcknowledgedAt).is_null());
        }
        None => {}
    }
    alert::Column::Id.in_subquery(q.to_owned())
}

#[derive(Default)]
pub struct AlertQuery;

#[Object]
impl AlertQuery {
    /// Alerts addressed to the caller's organizations (super admins: all), newest first.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, last, child_complexity)")]
    async fn alerts(
        &self,
        ctx: &Context<'_>,
        filter: Option<AlertFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<Conn<Alert>> {
        let req = ctx.authorized(Rule::Authenticated)?;
        let f = filter.unwrap_or_default();
        let only = (f.organization_id.as_ref())
            .map(|o| parse_id(o, "filter.organizationId"))
            .transpose()?;
        let reader = reader(&req.viewer, only)?;
        let orgs = reader.orgs;
        let mut q = alert::Entity::find();
        if !reader.all {
            q = q.filter(addressed_to(orgs.clone(), None));
        }
        if let Some(k) = f.kinds {
            q = q.filter(alert::Column::Kind.is_in(k));
        }
        if let Some(s) = f.severities {
            q = q.filter(alert::Column::Severity.is_in(s));
        }
        if let Some(statuses) = f.statuses {
            let mut any = Condition::any();
            for s in statuses {
                any = match (s, reader.all) {
                    (AlertStatus::Resolved, _) | (_, true) => any.add(alert::Column::Status.eq(s)),
                    (AlertStatus::Open, false) => any.add(
                        Condition::all()
                            .add(alert::Column::Status.ne(AlertStatus::Resolved))
                            .add(addressed_to(orgs.clone(), Some(false))),
                    ),
                    (AlertStatus::Acknowledged, false) => any.add(
                        Condition::all()
                            .add(alert::Column::Status.ne(AlertStatus::Resolved))
                            .add(addressed_to(orgs.clone(), Some(true))),
                    ),
                };
            }
            q = q.filter(any);
        }
        if let Some(t) = f.created_after {
            q = q.filter(alert::Column::CreatedAt.gte(t));
        }
        if let Some(t) = f.created_before {
            q = q.filter(alert::Column::CreatedAt.lt(t));
        }
        let keyset = Keyset::<alert::Entity> {
            key: None,
            id: alert::Column::Id,
            id_of: |m| m.id,
            direction: SortDirection::Desc,
        };
        let args = PageArgs::new(first, after, last, before);
        let page = fetch_selected(ctx, q, &keyset, &args).await?;
        // The caller's acknowledgements for the page, in one query.
        let acks = if orgs.is_empty() || page.rows.is_empty() {
            Default::default()
        } else {
            service::acknowledgements(&req.db, page.rows.iter().map(|(_, m)| m.id), &orgs).await?
        };
        Ok(page.into_connection(|m| {
            let ack = acks.get(&m.id).copied();
            Alert::from_model(m, ack)
        }))
    }

    /// The caller's notifications, newest first.
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, None, child_complexity)")]
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] unread_only: bool,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Conn<Notification>> {
        let req = ctx.authorized(Rule::SignedIn)?;
        let me = req
            .viewer
            .user_id()
            .ok_or(AppError::Unauthenticated("sign in first"))?;
        let mut q = notification::Entity::find().filter(notification::Column::UserId.eq(me));
        if unread_only {
            q = q.filter(notification::Column::ReadAt.is_null());
        }
        let keyset = Keyset::<notification::Entity> {
            key: None,
            id: notification::Column::Id,
            id_of: |m| m.id,
            direction: SortDirection::Desc,
        };
        let args = PageArgs {
            first,
            after,
            last: None,
            before: None,
        };
        let page = fetch_selected(ctx, q, &keyset, &args).await?;
        if crate::graphql::prelude::node_selects(ctx, &["deliveries"]) {
            // Every row of the page is the caller's own.
            crate::graphql::prelude::prime(
                &req.loaders.deliveries_by_notification,
                page.rows.iter().map(|(_, m)| m.id),
            )
            .await?;
        }
        Ok(page.into_connection(Notification::from))
    }
}

#[derive(Default)]
pub struct AlertMutation;

#[Object]
impl AlertMutation {
    /// Acknowledges an alert for one organization; other recipients still see it open.
    async fn acknowledge_alert(
        &self,
        ctx: &Context<'_>,
        input: AlertActionInput,
    ) -> AppResult<AlertPayload> {
        let (a, ack) = pipeline::run::<AcknowledgeAlert>(ctx, input).await?;
        Ok(AlertPayload {
            alert: Alert::from_model(a, ack),
        })
    }

    /// Resolves an alert for everyone (its organization's members or a super admin).
    async fn resolve_alert(
        &self,
        ctx: &Context<'_>,
        input: AlertActionInput,
    ) -> AppResult<AlertPayload> {
        let (a, ack) = pipeline::run::<ResolveAlert>(ctx, input).await?;
        Ok(AlertPayload {
            alert: Alert::from_model(a, ack),
        })
    }

    /// Marks the caller's notifications read.
    async fn mark_notifications_read(
        &self,
        ctx: &Context<'_>,
        input: MarkNotificationsReadInput,
    ) -> AppResult<MarkNotificationsReadPayload> {
        let marked = pipeline::run::<MarkNotificationsRead>(ctx, input).await?;
        Ok(MarkNotificationsReadPayload { marked })
    }
}

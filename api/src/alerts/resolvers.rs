//! Alert and notification resolvers.

use super::{service, types::*};
use crate::auth::scope::Scope;
use crate::{
    audit::{AuditAction, Change},
    auth::{Rule, Viewer, authorize, policy::ANY_ROLE},
    db::now,
    error::{AppError, AppResult},
    graphql::{
        context::CtxExt,
        ids::parse_id,
        pagination::{Conn, Keyset, PageArgs, SortDirection, fetch_selected},
    },
    pipeline::mutate,
};
use async_graphql::{Context, Object};
use entity::{AlertStatus, OrgStatus, alert, alert_recipient, notification};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait, Query},
};
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

/// The organizations whose alerts a caller sees: its approved memberships (every role: staff
/// screens exist for this), or an API client's organization.
pub fn alert_orgs(viewer: &Viewer) -> Vec<Uuid> {
    match viewer {
        Viewer::User(u) => u
            .grants
            .iter()
            .filter(|g| g.org_status == OrgStatus::Approved)
            .map(|g| g.organization_id)
            .collect(),
        Viewer::Client(c)
            if c.org_status == OrgStatus::Approved && c.scopes.contains(&Scope::AlertsRead) =>
        {
            vec![c.organization_id]
        }
        _ => Vec::new(),
    }
}

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

/// Alert queries.
#[derive(Default)]
pub struct AlertQuery;

#[Object]
impl AlertQuery {
    /// Alerts addressed to the caller's organizations (super admins: all), newest first.
    #[allow(clippy::too_many_arguments)]
    async fn alerts(
        &self,
        ctx: &Context<'_>,
        filter: Option<AlertFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<Conn<Alert>> {
        let req = ctx.req()?;
        authorize(&req.viewer, Rule::Authenticated)?;
        let f = filter.unwrap_or_default();
        let sa = req.viewer.is_super_admin();
        let mut orgs = alert_orgs(&req.viewer);
        if let Some(o) = &f.organization_id {
            let o = parse_id(o, "filter.organizationId")?;
            if !sa && !orgs.contains(&o) {
                return Err(AppError::Forbidden(
                    "you are not a member of that organization",
                ));
            }
            orgs = vec![o];
        }
        if !sa && orgs.is_empty() {
            return Err(AppError::Forbidden(
                "alerts are for organization members and super admins",
            ));
        }
        let mut q = alert::Entity::find();
        if !sa || f.organization_id.is_some() {
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
                any = match (s, sa && f.organization_id.is_none()) {
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
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let page = fetch_selected(ctx, q, &keyset, &args).await?;
        // The caller's acknowledgements for the page, in one query.
        let mut acks: HashMap<Uuid, chrono::DateTime<chrono::Utc>> = HashMap::new();
        if !orgs.is_empty() && !page.rows.is_empty() {
            let rows = alert_recipient::Entity::find()
                .filter(alert_recipient::Column::AlertId.is_in(page.rows.iter().map(|(_, m)| m.id)))
                .filter(alert_recipient::Column::OrganizationId.is_in(orgs))
                .filter(alert_recipient::Column::AcknowledgedAt.is_not_null())
                .all(&req.db)
                .await?;
            for r in rows {
                if let Some(t) = r.acknowledged_at {
                    acks.insert(r.alert_id, t);
                }
            }
        }
        Ok(page.into_connection(|m| {
            let ack = acks.get(&m.id).copied();
            Alert::from_model(m, ack)
        }))
    }

    /// The caller's notifications, newest first.
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] unread_only: bool,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Conn<Notification>> {
        let req = ctx.req()?;
        authorize(&req.viewer, Rule::SignedIn)?;
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
        Ok(page.into_connection(Notification::from))
    }
}

/// Alert mutations.
#[derive(Default)]
pub struct AlertMutation;

async fn alert_action(
    ctx: &Context<'_>,
    input: AlertActionInput,
    resolve: bool,
) -> AppResult<AlertPayload> {
    let id = parse_id(&input.alert_id, "input.alertId");
    let org = input
        .organization_id
        .as_ref()
        .map(|o| parse_id(o, "input.organizationId"));
    let rule = match &org {
        Some(o) => Rule::act_for(o, ANY_ROLE, Some(Scope::AlertsRead), None),
        None => Rule::SuperAdmin,
    };
    let name = if resolve {
        "alert.resolve"
    } else {
        "alert.acknowledge"
    };
    let what = AuditAction::new(name, "alert").on_parsed(&id);
    let (a, ack) = mutate(ctx, what, rule, move |txn, actor| {
        Box::pin(async move {
            let id = id?;
            let org = org.transpose()?;
            let by = actor.user_id.or(actor.api_client_id).unwrap_or_default();
            if let Some(o) = org {
                let addressed = alert_recipient::Entity::find()
                    .filter(alert_recipient::Column::AlertId.eq(id))
                    .filter(alert_recipient::Column::OrganizationId.eq(o))
                    .one(txn)
                    .await?
                    .is_some();
                let about = alert::Entity::find_by_id(id)
                    .one(txn)
                    .await?
                    .is_some_and(|a| a.organization_id == Some(o));
                if !(addressed || about) {
                    return Err(AppError::NotFound("alert"));
                }
                // Resolving hides the alert from every recipient: only the organization it
                // is about may (a bank that cannot help acknowledges it for itself instead).
                if resolve && !about {
                    return Err(AppError::Forbidden(
                        "only the organization an alert is about can resolve it; acknowledge it instead",
                    ));
                }
            }
            let a = if resolve {
                let before = alert::Entity::find_by_id(id)
                    .one(txn)
                    .await?
                    .ok_or(AppError::NotFound("alert"))?;
                if before.status == AlertStatus::Resolved {
                    return Err(AppError::InvalidTransition {
                        from: "RESOLVED".into(),
                        to: "resolve".into(),
                    });
                }
                alert::Entity::update_many()
                    .col_expr(alert::Column::Status, Expr::value(AlertStatus::Resolved))
                    .col_expr(alert::Column::ResolvedAt, Expr::value(Some(now())))
                    .filter(alert::Column::Id.eq(id))
                    .exec(txn)
                    .await?;
                alert::Entity::find_by_id(id)
                    .one(txn)
                    .await?
                    .ok_or(AppError::NotFound("alert"))?
            } else {
                service::acknowledge(txn, id, org, by).await?
            };
            let ack = if org.is_some() && !resolve {
                Some(now())
            } else {
                None
            };
            let change = Change {
                new: Some(json!({"status": a.status, "organizationId": org})),
                organization_id: org,
                ..Change::default()
            };
            Ok(((a, ack), change))
        })
    })
    .await?;
    Ok(AlertPayload {
        alert: Alert::from_model(a, ack),
    })
}

#[Object]
impl AlertMutation {
    /// Acknowledges an alert for one organization; other recipients still see it open.
    async fn acknowledge_alert(
        &self,
        ctx: &Context<'_>,
        input: AlertActionInput,
    ) -> AppResult<AlertPayload> {
        alert_action(ctx, input, false).await
    }

    /// Resolves an alert for everyone (its organization's members or a super admin).
    async fn resolve_alert(
        &self,
        ctx: &Context<'_>,
        input: AlertActionInput,
    ) -> AppResult<AlertPayload> {
        alert_action(ctx, input, true).await
    }

    /// Marks the caller's notifications read.
    async fn mark_notifications_read(
        &self,
        ctx: &Context<'_>,
        input: MarkNotificationsReadInput,
    ) -> AppResult<MarkNotificationsReadPayload> {
        let marked = mutate(
            ctx,
            AuditAction::new("notification.mark_read", "notification"),
            Rule::SignedIn,
            move |txn, actor| {
                Box::pin(async move {
                    let me = actor
                        .user_id
                        .ok_or(AppError::Unauthenticated("sign in first"))?;
                    let mut q = notification::Entity::update_many()
                        .col_expr(notification::Column::ReadAt, Expr::value(Some(now())))
                        .filter(notification::Column::UserId.eq(me))
                        .filter(notification::Column::ReadAt.is_null());
                    match (&input.ids, input.all) {
                        (Some(ids), false) => {
                            let ids = ids
                                .iter()
                                .map(|i| parse_id(i, "input.ids"))
                                .collect::<AppResult<Vec<_>>>()?;
                            q = q.filter(notification::Column::Id.is_in(ids));
                        }
                        (None, true) => {}
                        _ => {
                            return Err(AppError::bad_input("input.ids", "give ids, or all: true"));
                        }
                    }
                    let n = q.exec(txn).await?.rows_affected;
                    Ok((
                        n,
                        Change {
                            new: Some(json!({"marked": n})),
                            ..Change::default()
                        },
                    ))
                })
            },
        )
        .await?;
        Ok(MarkNotificationsReadPayload { marked })
    }
}

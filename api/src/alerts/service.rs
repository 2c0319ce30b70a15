//! Raising, resolving and acknowledging alerts; notifications for their recipients.

pub use crate::events::AlertContent;
use crate::{
    audit::Change,
    auth::alerts::may_act,
    blood::{compatibility, geo},
    db::now,
    error::{AppError, AppResult},
    events::{AlertEvent, Event, NotificationEvent, RequestEvent},
};
use chrono::{DateTime, Utc};
use entity::{
    AlertKind, AlertStatus, Audience, BloodGroup, Component, NotificationKind, OrgKind, OrgRole,
    OrgStatus, PlatformRole, Severity, Urgency, WireName, alert, alert_recipient, blood_request,
    membership, notification, organization, stock_threshold, user,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QuerySelect, Statement, Value, sea_query::Expr,
};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Who an alert goes to.
#[derive(Debug, Clone)]
pub enum Target {
    Orgs(Vec<Uuid>),
    /// Approved organizations of a kind within a radius of a point.
    Within {
        kind: OrgKind,
        lat: f64,
        lon: f64,
        radius_km: f64,
    },
    /// These organizations, with notifications only to their members in these roles (clinical
    /// alerts go to doctors and admins, not to every screen of the organization).
    OrgRoles(Vec<Uuid>, &'static [OrgRole]),
    SuperAdmins,
}

/// An alert to raise.
#[derive(Debug, Clone)]
pub struct NewAlert {
    pub content: AlertContent,
    /// The organization it is about.
    pub organization_id: Option<Uuid>,
    pub location: Option<(f64, f64)>,
    pub radius_km: Option<f64>,
    pub related: Option<(&'static str, Uuid)>,
    pub target: Target,
}

async fn recipients<C: ConnectionTrait>(db: &C, target: &Target) -> AppResult<Vec<Uuid>> {
    Ok(match target {
        Target::Orgs(ids) | Target::OrgRoles(ids, _) => ids.clone(),
        Target::SuperAdmins => Vec::new(),
        Target::Within {
            kind,
            lat,
            lon,
            radius_km,
        } => {
            // The box pre-filters with slack: `within_km` may reach up to 0.5 % past the
            // great-circle radius the box is drawn for.
            let b = geo::BoundingBox::around(*lat, *lon, *radius_km * 1.01);
            organization::Entity::find()
                .filter(organization::Column::Kind.eq(*kind))
                .filter(organization::Column::Status.eq(OrgStatus::Approved))
                .filter(organization::Column::Latitude.between(b.min_lat, b.max_lat))
                .filter(organization::Column::Longitude.between(b.min_lon, b.max_lon))
                .all(db)
                .await?
                .into_iter()
                .filter(|o| geo::within_km((*lat, *lon), (o.latitude, o.longitude), *radius_km))
                .map(|o| o.id)
                .collect()
        }
    })
}

/// Stores an alert, its recipients and one notification per recipient user; returns the
/// events to publish after the transaction commits.
pub async fn raise<C: ConnectionTrait>(db: &C, new: NewAlert) -> AppResult<Vec<Event>> {
    let t = now();
    let orgs = recipients(db, &new.target).await?;
    let super_admins = matches!(new.target, Target::SuperAdmins);
    let content = new.content;
    let a = alert::Model {
        id: Uuid::now_v7(),
        kind: content.kind,
        severity: content.severity,
        title: content.title.clone(),
        message: content.message.clone(),
        blood_group: content.blood_group,
        component: content.component,
        organization_id: new.organization_id,
        latitude: new.location.map(|l| l.0),
        longitude: new.location.map(|l| l.1),
        radius_km: new.radius_km,
        audience: if super_admins {
            Audience::SuperAdmins
        } else {
            Audience::Organizations
        },
        related_entity_type: new.related.map(|r| r.0.to_string()),
        related_entity_id: new.related.map(|r| r.1),
        status: AlertStatus::Open,
        acknowledged_by: None,
        acknowledged_at: None,
        resolved_at: None,
        created_at: t,
    };
    alert::Entity::insert(alert::ActiveModel::from(a.clone()))
        .exec(db)
        .await?;
    for chunk in orgs.chunks(500) {
        let rows: Vec<alert_recipient::ActiveModel> = chunk
            .iter()
            .map(|o| alert_recipient::ActiveModel {
                id: Set(Uuid::now_v7()),
                alert_id: Set(a.id),
                organization_id: Set(*o),
                acknowledged_by: Set(None),
                acknowledged_at: Set(None),
                created_at: Set(t),
            })
            .collect();
        alert_recipient::Entity::insert_many(rows).exec(db).await?;
    }
    let users: Vec<Uuid> = if super_admins {
        user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .filter(user::Column::PlatformRole.eq(PlatformRole::SuperAdmin))
            .filter(user::Column::IsActive.eq(true))
            .into_tuple()
            .all(db)
            .await?
    } else if orgs.is_empty() {
        Vec::new()
    } else {
        let mut q = membership::Entity::find()
            .select_only()
            .column(membership::Column::UserId)
            .filter(membership::Column::OrganizationId.is_in(orgs.clone()))
            .filter(membership::Column::IsActive.eq(true));
        if let Target::OrgRoles(_, roles) = &new.target {
            q = q.filter(membership::Column::Role.is_in(roles.iter().copied()));
        }
        let mut ids: Vec<Uuid> = q.into_tuple().all(db).await?;
        let mut seen = HashSet::new();
        ids.retain(|u| seen.insert(*u));
        ids
    };
    let mut events = vec![Event::Alert(AlertEvent {
        id: a.id,
        content,
        organization_id: a.organization_id,
        latitude: a.latitude,
        longitude: a.longitude,
        radius_km: a.radius_km,
        recipients: orgs,
        super_admins,
        related_entity_type: a.related_entity_type.clone(),
        related_entity_id: a.related_entity_id,
        created_at: t,
    })];
    let notes: Vec<notification::Model> = users
        .into_iter()
        .map(|u| notification::Model {
            id: Uuid::now_v7(),
            user_id: u,
            kind: a.kind.into(),
            priority: a.severity,
            title: a.title.clone(),
            body: a.message.clone(),
            alert_id: Some(a.id),
            related_entity_type: a.related_entity_type.clone(),
            related_entity_id: a.related_entity_id,
            read_at: None,
            created_at: t,
        })
        .collect();
    events.extend(insert_notifications(db, notes).await?);
    Ok(events)
}

/// A message to one user about something that concerns them (their consultation, their
/// report), not tied to an alert.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub user_id: Uuid,
    pub kind: NotificationKind,
    pub priority: Severity,
    pub title: String,
    /// Body (no health data: notifications are shown on lock screens and staff screens).
    pub body: String,
    pub related: Option<(&'static str, Uuid)>,
}

/// Stores notifications to single users; returns the events to publish after commit.
pub async fn notify<C: ConnectionTrait>(
    db: &C,
    notes: Vec<NewNotification>,
) -> AppResult<Vec<Event>> {
    let t = now();
    let rows = notes
        .into_iter()
        .map(|n| notification::Model {
            id: Uuid::now_v7(),
            user_id: n.user_id,
            kind: n.kind,
            priority: n.priority,
            title: n.title,
            body: n.body,
            alert_id: None,
            related_entity_type: n.related.map(|r| r.0.to_string()),
            related_entity_id: n.related.map(|r| r.1),
            read_at: None,
            created_at: t,
        })
        .collect();
    insert_notifications(db, rows).await
}

/// Inserts notification rows in chunks and turns them into events.
async fn insert_notifications<C: ConnectionTrait>(
    db: &C,
    notes: Vec<notification::Model>,
) -> AppResult<Vec<Event>> {
    for chunk in notes.chunks(500) {
        notification::Entity::insert_many(
            chunk
                .iter()
                .cloned()
                .map(notification::ActiveModel::from)
                .collect::<Vec<_>>(),
        )
        .exec(db)
        .await?;
    }
    crate::notifications::fanout::queue_notifications(db, &notes).await?;
    Ok(notes
        .into_iter()
        .map(|n| {
            Event::Notification(NotificationEvent {
                id: n.id,
                user_id: n.user_id,
                kind: n.kind,
                priority: n.priority,
                title: n.title,
                body: n.body,
                alert_id: n.alert_id,
                related_entity_type: n.related_entity_type,
                related_entity_id: n.related_entity_id,
                created_at: n.created_at,
            })
        })
        .collect())
}

/// Resolves the open alerts of these kinds about an entity (their cause is gone).
pub async fn resolve_related<C: ConnectionTrait>(
    db: &C,
    entity: Uuid,
    kinds: &[AlertKind],
) -> AppResult<u64> {
    let t = now();
    let r = alert::Entity::update_many()
        .col_expr(alert::Column::Status, Expr::value(AlertStatus::Resolved))
        .col_expr(alert::Column::ResolvedAt, Expr::value(Some(t)))
        .filter(alert::Column::RelatedEntityId.eq(entity))
        .filter(alert::Column::Kind.is_in(kinds.iter().copied()))
        .filter(alert::Column::Status.ne(AlertStatus::Resolved))
        .exec(db)
        .await?;
    Ok(r.rows_affected)
}

/// The event of a request's new state.
pub fn request_event(r: &blood_request::Model) -> Event {
    Event::RequestChanged(RequestEvent {
        request_id: r.id,
        hospital_id: r.hospital_id,
        blood_bank_id: r.blood_bank_id,
        status: r.status,
        escalation_level: r.escalation_level,
        at: now(),
    })
}

/// A component as people write it in a title ("red cells"), not its Rust name ("RedCells").
pub fn component_name(c: Component) -> &'static str {
    match c {
        Component::WholeBlood => "whole blood",
        Component::RedCells => "red cells",
        Component::Plasma => "plasma",
        Component::Platelets => "platelets",
        Component::Cryoprecipitate => "cryoprecipitate",
    }
}

fn urgency_name(u: Urgency) -> &'static str {
    match u {
        Urgency::Critical => "CRITICAL",
        Urgency::Emergency => "EMERGENCY",
        Urgency::Urgent => "URGENT",
        Urgency::Routine => "ROUTINE",
    }
}

/// The emergency alert of a request: to its addressed bank, or to approved banks within
/// `radius_km` of the hospital. Only EMERGENCY and CRITICAL requests raise one.
pub async fn emergency_alert<C: ConnectionTrait>(
    db: &C,
    r: &blood_request::Model,
    radius_km: f64,
    kind: OrgKind,
) -> AppResult<Vec<Event>> {
    if !matches!(r.urgency, Urgency::Emergency | Urgency::Critical) {
        return Ok(Vec::new());
    }
    let target = match (r.target_bank_id, kind) {
        (Some(bank), OrgKind::BloodBank) => Target::Orgs(vec![bank]),
        _ => Target::Within {
            kind,
            lat: r.latitude,
            lon: r.longitude,
            radius_km,
        },
    };
    let groups: Vec<String> =
        compatibility::donors_for(r.blood_group, r.component, r.allow_emergency_override)
            .iter()
            .map(|g| compatibility::label(*g).to_string())
            .collect();
    let (title, message) = if kind == OrgKind::Ngo {
        (
            format!(
                "Mobilize donors: {} {}",
                compatibility::label(r.blood_group),
                component_name(r.component)
            ),
            format!(
                "Emergency request {} of {} units is still unanswered; donors of groups {} are \
                 needed within {radius_km} km. Answer it with a drive (proposeDrive with this \
                 bloodRequestId).",
                r.id,
                r.units_required,
                groups.join(", ")
            ),
        )
    } else {
        (
            format!(
                "{} request: {} units of {} {}",
                urgency_name(r.urgency),
                r.units_required,
                compatibility::label(r.blood_group),
                component_name(r.component)
            ),
            format!(
                "Needed by {}; compatible groups {}; within {radius_km} km.",
                r.needed_by.format("%Y-%m-%d %H:%M UTC"),
                groups.join(", ")
            ),
        )
    };
    raise(
        db,
        NewAlert {
            content: AlertContent::new(
                AlertKind::EmergencyRequest,
                if r.urgency == Urgency::Critical {
                    Severity::Critical
                } else {
                    Severity::Warning
                },
                title,
                message,
            )
            .about(r.blood_group, r.component),
            organization_id: Some(r.hospital_id),
            location: Some((r.latitude, r.longitude)),
            radius_km: Some(radius_km),
            related: Some(("blood_request", r.id)),
            target,
        },
    )
    .await
}

/// A bank's available units of a group and component that have not expired at `t`: the
/// count kept in `blood_stock_counts` (it moves in the transaction of every unit change,
/// this one's included) less the available units already past their expiry, which the
/// sweep has not marked yet (an index range it keeps short). One statement, so one
/// snapshot; its cost does not grow with the bank's stock. The same reading as
/// `stock::service::find_compatible`'s, for one key.
async fn available_unexpired<C: ConnectionTrait>(
    db: &C,
    bank: Uuid,
    group: BloodGroup,
    component: Component,
    t: DateTime<Utc>,
) -> AppResult<i64> {
    let backend = db.get_database_backend();
    let p = |i: usize| {
        if backend == DbBackend::Postgres {
            format!("${i}")
        } else {
            "?".to_string()
        }
    };
    let sql = format!(
        "SELECT c.available - (SELECT COUNT(*) FROM blood_units u \
           WHERE u.blood_bank_id = c.blood_bank_id AND u.component = c.component \
           AND u.status = 'AVAILABLE' AND u.blood_group = c.blood_group \
           AND u.expires_at <= {}) AS n \
         FROM blood_stock_counts c \
         WHERE c.blood_bank_id = {} AND c.component = {} AND c.blood_group = {}",
        p(1),
        p(2),
        p(3),
        p(4)
    );
    let values: [Value; 4] = [
        t.into(),
        bank.into(),
        component.wire_name().into(),
        group.wire_name().into(),
    ];
    let row = db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    Ok(row
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0))
}

/// Raises STOCK_CRITICAL for each (group, component) of a bank that fell below its
/// threshold, once per crossing; resolves the alert and re-arms when stock is back.
pub async fn check_stock<C: ConnectionTrait>(
    db: &C,
    bank: Uuid,
    combos: &[(BloodGroup, Component)],
) -> AppResult<Vec<Event>> {
    if combos.is_empty() {
        return Ok(Vec::new());
    }
    let thresholds = stock_threshold::Entity::find()
        .filter(stock_threshold::Column::BloodBankId.eq(bank))
        .all(db)
        .await?;
    let mut events = Vec::new();
    let t = now();
    for th in thresholds
        .into_iter()
        .filter(|th| combos.contains(&(th.blood_group, th.component)))
    {
        let available = available_unexpired(db, bank, th.blood_group, th.component, t).await?;
        let below = available < i64::from(th.critical_threshold);
        if below && !th.in_alert {
            // Conditional, so two writers crossing at once raise one alert.
            let flipped = stock_threshold::Entity::update_many()
                .col_expr(stock_threshold::Column::InAlert, Expr::value(true))
                .filter(stock_threshold::Column::Id.eq(th.id))
                .filter(stock_threshold::Column::InAlert.eq(false))
                .exec(db)
                .await?;
            if flipped.rows_affected == 1 {
                events.extend(
                    raise(
                        db,
                        NewAlert {
                            content: AlertContent::new(
                                AlertKind::StockCritical,
                                Severity::Critical,
                                format!(
                                    "{} {} below threshold",
                                    compatibility::label(th.blood_group),
                                    component_name(th.component)
                                ),
                                format!(
                                    "{available} available, threshold {}",
                                    th.critical_threshold
                                ),
                            )
                            .about(th.blood_group, th.component),
                            organization_id: Some(bank),
                            location: None,
                            radius_km: None,
                            related: Some(("stock_threshold", th.id)),
                            target: Target::Orgs(vec![bank]),
                        },
                    )
                    .await?,
                );
            }
        } else if !below && th.in_alert {
            stock_threshold::Entity::update_many()
                .col_expr(stock_threshold::Column::InAlert, Expr::value(false))
                .filter(stock_threshold::Column::Id.eq(th.id))
                .exec(db)
                .await?;
            resolve_related(db, th.id, &[AlertKind::StockCritical]).await?;
        }
    }
    Ok(events)
}

/// Acknowledges an alert for one organization (or, for super-admin alerts, for the platform).
pub async fn acknowledge<C: ConnectionTrait>(
    db: &C,
    alert_id: Uuid,
    org: Option<Uuid>,
    by: Uuid,
) -> AppResult<alert::Model> {
    let a = alert::Entity::find_by_id(alert_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("alert"))?;
    if a.status == AlertStatus::Resolved {
        return Err(AppError::InvalidTransition {
            from: "RESOLVED".into(),
            to: "acknowledge".into(),
        });
    }
    let t = now();
    match org {
        Some(org) => {
            let r = alert_recipient::Entity::update_many()
                .col_expr(
                    alert_recipient::Column::AcknowledgedBy,
                    Expr::value(Some(by)),
                )
                .col_expr(
                    alert_recipient::Column::AcknowledgedAt,
                    Expr::value(Some(t)),
                )
                .filter(alert_recipient::Column::AlertId.eq(alert_id))
                .filter(alert_recipient::Column::OrganizationId.eq(org))
                .exec(db)
                .await?;
            if r.rows_affected == 0 {
                return Err(AppError::NotFound("alert"));
            }
        }
        None => {
            alert::Entity::update_many()
                .col_expr(alert::Column::AcknowledgedBy, Expr::value(Some(by)))
                .col_expr(alert::Column::AcknowledgedAt, Expr::value(Some(t)))
                .col_expr(
                    alert::Column::Status,
                    Expr::value(AlertStatus::Acknowledged),
                )
                .filter(alert::Column::Id.eq(alert_id))
                .exec(db)
                .await?;
        }
    }
    alert::Entity::find_by_id(alert_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("alert"))
}

/// Acknowledges (for `org`) or resolves (for everyone) an alert, on behalf of `org` (`None`:
/// a super admin acting on a platform alert), as the user or API client `by`.
pub async fn act_on<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    org: Option<Uuid>,
    resolve: bool,
    by: Uuid,
) -> AppResult<((alert::Model, Option<DateTime<Utc>>), Change)> {
    if let Some(o) = org {
        let addressed = alert_recipient::Entity::find()
            .filter(alert_recipient::Column::AlertId.eq(id))
            .filter(alert_recipient::Column::OrganizationId.eq(o))
            .one(db)
            .await?
            .is_some();
        let a = alert::Entity::find_by_id(id).one(db).await?;
        may_act(a.as_ref(), o, addressed, resolve)?;
    }
    let a = if resolve {
        resolve_one(db, id).await?
    } else {
        acknowledge(db, id, org, by).await?
    };
    let ack = (org.is_some() && !resolve).then(now);
    let change = Change {
        new: Some(json!({"status": a.status, "organizationId": org})),
        organization_id: org,
        ..Change::default()
    };
    Ok(((a, ack), change))
}

/// Resolves an alert for every recipient.
async fn resolve_one<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<alert::Model> {
    let find = || async {
        alert::Entity::find_by_id(id)
            .one(db)
            .await?
            .ok_or(AppError::NotFound("alert"))
    };
    if find().await?.status == AlertStatus::Resolved {
        return Err(AppError::InvalidTransition {
            from: "RESOLVED".into(),
            to: "resolve".into(),
        });
    }
    alert::Entity::update_many()
        .col_expr(alert::Column::Status, Expr::value(AlertStatus::Resolved))
        .col_expr(alert::Column::ResolvedAt, Expr::value(Some(now())))
        .filter(alert::Column::Id.eq(id))
        .exec(db)
        .await?;
    find().await
}

/// Marks a user's unread notifications read: these (`ids`) or all of them.
pub async fn mark_read<C: ConnectionTrait>(
    db: &C,
    user: Uuid,
    ids: Option<Vec<Uuid>>,
) -> AppResult<(u64, Change)> {
    let mut q = notification::Entity::update_many()
        .col_expr(notification::Column::ReadAt, Expr::value(Some(now())))
        .filter(notification::Column::UserId.eq(user))
        .filter(notification::Column::ReadAt.is_null());
    if let Some(ids) = ids {
        q = q.filter(notification::Column::Id.is_in(ids));
    }
    let n = q.exec(db).await?.rows_affected;
    let change = Change {
        new: Some(json!({"marked": n})),
        ..Change::default()
    };
    Ok((n, change))
}

/// When each of `orgs` acknowledged each of these alerts (for a page of `alerts`).
pub async fn acknowledgements<C: ConnectionTrait>(
    db: &C,
    alerts: impl Iterator<Item = Uuid>,
    orgs: &[Uuid],
) -> AppResult<HashMap<Uuid, DateTime<Utc>>> {
    let rows = alert_recipient::Entity::find()
        .filter(alert_recipient::Column::AlertId.is_in(alerts))
        .filter(alert_recipient::Column::OrganizationId.is_in(orgs.iter().copied()))
        .filter(alert_recipient::Column::AcknowledgedAt.is_not_null())
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| Some((r.alert_id, r.acknowledged_at?)))
        .collect())
}

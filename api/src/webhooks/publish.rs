//! Events become webhook deliveries in the transaction of their cause: the pipeline (after a
//! command's use case) and the sweep (before its commit) hand what happened to
//! [`enqueue_for`], which writes one outbox row per (event, subscribed enabled endpoint of an
//! organization concerned). The row's id is the `LifeFlow-Event-Id`: stable for that event
//! and endpoint, across retries and redeliveries.
//!
//! Which organizations an event concerns:
//! - `BLOOD_REQUEST_CHANGED`: the requesting hospital and the accepting bank;
//! - `ALERT_RAISED`: the organization it is about and those whose members it was sent to;
//! - `DRIVE_CHANGED`: the drive's hospital and NGO;
//! - `REPORT_REVIEWED`: the report's organization;
//! - `CONSULTATION_CHANGED`: the organization of the consultation's doctor.
//!
//! Payloads carry ids, kinds and states only, never patient fields: the partner reads details
//! with its API client.

use crate::{
    db::now,
    error::AppResult,
    events::Event,
    notifications::outbox::{self, NewDelivery},
};
use entity::{
    DeliveryStatus, WebhookEvent, WireName, consultation, drive, medical_report, membership,
    outbox_delivery, webhook_endpoint,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, sea_query::Expr,
};
use serde_json::{Value, json};
use std::collections::HashSet;
use uuid::Uuid;

/// One event for the partners concerned.
#[derive(Debug, Clone)]
pub struct HookEvent {
    pub kind: WebhookEvent,
    /// The organizations concerned (their endpoints receive it).
    pub orgs: Vec<Uuid>,
    /// Users it went to, whose organizations are concerned too (an alert's recipients).
    pub users: Vec<Uuid>,
    /// The `data` of the body: ids, kinds and states.
    pub data: Value,
}

/// The webhook events in what a mutation or the sweep did: its bus events, and for the
/// domains that publish none on the bus, its audit action and entity.
pub async fn events_of<C: ConnectionTrait>(
    db: &C,
    action: &str,
    entity: &str,
    entity_id: Option<Uuid>,
    events: &[Event],
    wanted: &[WebhookEvent],
) -> AppResult<Vec<HookEvent>> {
    let mut out = Vec::new();
    for e in events {
        match e {
            Event::RequestChanged(r) => out.push(HookEvent {
                kind: WebhookEvent::BloodRequestChanged,
                orgs: std::iter::once(r.hospital_id)
                    .chain(r.blood_bank_id)
                    .collect(),
                users: Vec::new(),
                data: json!({"bloodRequestId": r.request_id, "status": r.status,
                             "escalationLevel": r.escalation_level,
                             "hospitalId": r.hospital_id, "bloodBankId": r.blood_bank_id}),
            }),
            Event::Alert(a) => out.push(HookEvent {
                kind: WebhookEvent::AlertRaised,
                orgs: a.organization_id.into_iter().collect(),
                users: a.recipients.clone(),
                data: json!({"alertId": a.id, "kind": a.content.kind,
                             "severity": a.content.severity,
                             "bloodGroup": a.content.blood_group,
                             "component": a.content.component,
                             "organizationId": a.organization_id,
                             "relatedEntityType": a.related_entity_type,
                             "relatedEntityId": a.related_entity_id}),
            }),
            _ => {}
        }
    }
    out.retain(|h| wanted.contains(&h.kind));
    let Some(id) = entity_id else {
        return Ok(out);
    };
    let wants = |k| wanted.contains(&k);
    if entity == "drive"
        && wants(WebhookEvent::DriveChanged)
        && let Some(d) = drive::Entity::find_by_id(id).one(db).await?
    {
        out.push(HookEvent {
            kind: WebhookEvent::DriveChanged,
            orgs: vec![d.hospital_id, d.ngo_id],
            users: Vec::new(),
            data: json!({"driveId": d.id, "status": d.status, "type": d.drive_type,
                         "hospitalId": d.hospital_id, "ngoId": d.ngo_id,
                         "bloodRequestId": d.blood_request_id}),
        });
    } else if action == "medical_report.review"
        && wants(WebhookEvent::ReportReviewed)
        && let Some(r) = medical_report::Entity::find_by_id(id).one(db).await?
    {
        out.push(HookEvent {
            kind: WebhookEvent::ReportReviewed,
            orgs: vec![r.organization_id],
            users: Vec::new(),
            data: json!({"reportId": r.id, "status": r.status,
                         "organizationId": r.organization_id}),
        });
    } else if entity == "consultation"
        && action.starts_with("consultation.")
        && wants(WebhookEvent::ConsultationChanged)
        && let Some(c) = consultation::Entity::find_by_id(id).one(db).await?
        && let Some(org) = c.organization_id
    {
        out.push(HookEvent {
            kind: WebhookEvent::ConsultationChanged,
            orgs: vec![org],
            users: Vec::new(),
            data: json!({"consultationId": c.id, "status": c.status,
                         "type": c.consultation_type, "organizationId": org,
                         "doctorId": c.doctor_id}),
        });
    }
    Ok(out)
}

/// The kinds of webhook event what happened may be, before anything is read.
fn candidate_kinds(action: &str, entity: &str, events: &[Event]) -> Vec<WebhookEvent> {
    let mut kinds = Vec::new();
    let mut add = |k| {
        if !kinds.contains(&k) {
            kinds.push(k);
        }
    };
    for e in events {
        match e {
            Event::RequestChanged(_) => add(WebhookEvent::BloodRequestChanged),
            Event::Alert(_) => add(WebhookEvent::AlertRaised),
            _ => {}
        }
    }
    if entity == "drive" {
        add(WebhookEvent::DriveChanged);
    } else if action == "medical_report.review" {
        add(WebhookEvent::ReportReviewed);
    } else if entity == "consultation" && action.starts_with("consultation.") {
        add(WebhookEvent::ConsultationChanged);
    }
    kinds
}

/// The enabled endpoints subscribed to any of `kinds` (one query).
async fn subscribed<C: ConnectionTrait>(
    db: &C,
    kinds: &[WebhookEvent],
) -> AppResult<Vec<webhook_endpoint::Model>> {
    let mut any = Condition::any();
    for k in kinds {
        any = any.add(webhook_endpoint::Column::Events.like(format!("%,{},%", k.wire_name())));
    }
    Ok(webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::DisabledAt.is_null())
        .filter(any)
        .all(db)
        .await?)
}

/// Writes the deliveries of what happened, in the caller's transaction, and adds the event
/// that wakes the outbox workers once it commits. Nothing that could be an event: no query;
/// no endpoint subscribed to what it could be: one.
pub async fn enqueue_for<C: ConnectionTrait>(
    db: &C,
    action: &str,
    entity: &str,
    entity_id: Option<Uuid>,
    events: &mut Vec<Event>,
) -> AppResult<()> {
    let kinds = candidate_kinds(action, entity, events);
    if kinds.is_empty() {
        return Ok(());
    }
    let endpoints = subscribed(db, &kinds).await?;
    let wanted: Vec<WebhookEvent> = kinds
        .into_iter()
        .filter(|k| {
            let tag = format!(",{},", k.wire_name());
            endpoints.iter().any(|e| e.events.contains(&tag))
        })
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let hooks = events_of(db, action, entity, entity_id, events, &wanted).await?;
    if deliver(db, &hooks, &endpoints).await? {
        events.push(outbox::queued());
    }
    Ok(())
}

/// Writes one outbox row per (event, subscribed enabled endpoint of an organization
/// concerned): one query for the endpoints, one for alert recipients' organizations when an
/// alert is subscribed to, and the inserts. Whether anything was queued.
pub async fn enqueue<C: ConnectionTrait>(db: &C, hooks: &[HookEvent]) -> AppResult<bool> {
    if hooks.is_empty() {
        return Ok(false);
    }
    let mut kinds: Vec<WebhookEvent> = hooks.iter().map(|h| h.kind).collect();
    kinds.dedup();
    let endpoints = subscribed(db, &kinds).await?;
    deliver(db, hooks, &endpoints).await
}

/// The rows of [`enqueue`], for endpoints already read.
async fn deliver<C: ConnectionTrait>(
    db: &C,
    hooks: &[HookEvent],
    endpoints: &[webhook_endpoint::Model],
) -> AppResult<bool> {
    if hooks.is_empty() || endpoints.is_empty() {
        return Ok(false);
    }
    // Which subscribed organizations have members among the alerts' recipients.
    let recipients: Vec<Uuid> = hooks.iter().flat_map(|h| h.users.iter().copied()).collect();
    let mut members: HashSet<(Uuid, Uuid)> = HashSet::new();
    if !recipients.is_empty() {
        let orgs: Vec<Uuid> = endpoints.iter().map(|e| e.organization_id).collect();
        for chunk in recipients.chunks(500) {
            let rows: Vec<(Uuid, Uuid)> = membership::Entity::find()
                .select_only()
                .column(membership::Column::OrganizationId)
                .column(membership::Column::UserId)
                .filter(membership::Column::OrganizationId.is_in(orgs.clone()))
                .filter(membership::Column::UserId.is_in(chunk.to_vec()))
                .filter(membership::Column::IsActive.eq(true))
                .into_tuple()
                .all(db)
                .await?;
            members.extend(rows);
        }
    }
    let t = now();
    let mut rows = Vec::new();
    for h in hooks {
        let kind = h.kind.wire_name();
        for e in endpoints {
            let concerned = h.orgs.contains(&e.organization_id)
                || h.users
                    .iter()
                    .any(|u| members.contains(&(e.organization_id, *u)));
            if !concerned || !e.events.contains(&format!(",{kind},")) {
                continue;
            }
            // The body names its delivery: the id is the `LifeFlow-Event-Id` too.
            let id = Uuid::now_v7();
            let body = json!({"id": id, "type": kind, "createdAt": t,
                              "organizationId": e.organization_id, "data": h.data});
            rows.push(NewDelivery::webhook(e.id, kind.clone(), body.to_string()).with_id(id));
        }
    }
    let queued = !rows.is_empty();
    outbox::enqueue_many(db, rows).await?;
    Ok(queued)
}

/// Stops what was queued for a disabled endpoint: its rows not yet sent end `DEAD`.
pub async fn drop_pending<C: ConnectionTrait>(db: &C, endpoint: Uuid) -> AppResult<()> {
    let t = now();
    outbox_delivery::Entity::update_many()
        .col_expr(
            outbox_delivery::Column::Status,
            Expr::value(DeliveryStatus::Dead),
        )
        .col_expr(
            outbox_delivery::Column::LastError,
            Expr::value("the endpoint was disabled"),
        )
        .col_expr(outbox_delivery::Column::UpdatedAt, Expr::value(t))
        .filter(outbox_delivery::Column::WebhookEndpointId.eq(endpoint))
        .filter(
            outbox_delivery::Column::Status
                .is_in([DeliveryStatus::Pending, DeliveryStatus::Failed]),
        )
        .exec(db)
        .await?;
    Ok(())
}

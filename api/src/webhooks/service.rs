//! Webhook endpoint use cases: create (the secret returned once), rotate the secret, disable.

use crate::{
    audit::Change,
    auth::Actor,
    db::now,
    error::{AppError, AppResult},
};
use entity::{
    DeliveryChannel, DeliveryStatus, WebhookEvent, WireName, outbox_delivery, webhook_endpoint,
    webhook_response,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, Set,
    sea_query::Expr,
};
use serde_json::json;
use url::Url;
use uuid::Uuid;

/// Most endpoints one organization may keep (enabled or not).
pub const MAX_ENDPOINTS: u64 = 20;

/// Events as stored (`,ALERT_RAISED,DRIVE_CHANGED,`), sorted and without repeats.
pub fn events_text(events: &[WebhookEvent]) -> String {
    let mut names: Vec<String> = events.iter().map(WireName::wire_name).collect();
    names.sort();
    names.dedup();
    format!(",{},", names.join(","))
}

/// Events as stored, read back.
pub fn parse_events(text: &str) -> Vec<WebhookEvent> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .filter_map(|s| serde_json::from_value(json!(s)).ok())
        .collect()
}

/// A new endpoint, parsed.
pub struct NewEndpoint {
    pub organization_id: Uuid,
    pub url: Url,
    pub events: Vec<WebhookEvent>,
}

fn endpoint_json(e: &webhook_endpoint::Model) -> serde_json::Value {
    // Never the secret.
    json!({"url": e.url, "events": parse_events(&e.events), "disabledAt": e.disabled_at})
}

/// Registers an endpoint; returns it with its secret, which is never shown again.
pub async fn create<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    new: NewEndpoint,
) -> AppResult<((webhook_endpoint::Model, String), Change)> {
    use sea_orm::PaginatorTrait;
    let existing = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::OrganizationId.eq(new.organization_id))
        .count(db)
        .await?;
    if existing >= MAX_ENDPOINTS {
        return Err(AppError::Conflict(format!(
            "an organization keeps at most {MAX_ENDPOINTS} webhook endpoints"
        )));
    }
    let created_by = actor.user_id.ok_or(AppError::Forbidden(
        "only a signed-in admin creates endpoints",
    ))?;
    let t = now();
    let secret = super::sign::new_secret();
    let row = webhook_endpoint::ActiveModel::from(webhook_endpoint::Model {
        id: Uuid::now_v7(),
        organization_id: new.organization_id,
        url: new.url.to_string(),
        events: events_text(&new.events),
        secret: secret.clone(),
        created_by,
        disabled_at: None,
        secret_rotated_at: t,
        created_at: t,
        updated_at: t,
    })
    .insert(db)
    .await?;
    let change = Change {
        entity_id: Some(row.id),
        organization_id: Some(row.organization_id),
        new: Some(endpoint_json(&row)),
        ..Change::default()
    };
    Ok(((row, secret), change))
}

/// The organization of an endpoint, for the rule of a command that names only the endpoint.
pub async fn endpoint_org<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<Option<Uuid>> {
    Ok(webhook_endpoint::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(|e| e.organization_id))
}

async fn held<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<webhook_endpoint::Model> {
    webhook_endpoint::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("webhook endpoint"))
}

/// A new secret for an endpoint; the old one stops signing at once.
pub async fn rotate<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
) -> AppResult<((webhook_endpoint::Model, String), Change)> {
    let e = held(db, id).await?;
    let secret = super::sign::new_secret();
    let t = now();
    let mut am: webhook_endpoint::ActiveModel = e.into();
    am.secret = Set(secret.clone());
    am.secret_rotated_at = Set(t);
    am.updated_at = Set(t);
    let row = am.update(db).await?;
    let change = Change {
        entity_id: Some(row.id),
        organization_id: Some(row.organization_id),
        new: Some(json!({"secretRotatedAt": row.secret_rotated_at})),
        ..Change::default()
    };
    Ok(((row, secret), change))
}

/// Disables an endpoint: no event is queued for it any more, and what was queued and not yet
/// sent is not sent.
pub async fn disable<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
) -> AppResult<(webhook_endpoint::Model, Change)> {
    let e = held(db, id).await?;
    if e.disabled_at.is_some() {
        return Err(AppError::InvalidTransition {
            from: "DISABLED".into(),
            to: "DISABLED".into(),
        });
    }
    let old = endpoint_json(&e);
    let t = now();
    let mut am: webhook_endpoint::ActiveModel = e.into();
    am.disabled_at = Set(Some(t));
    am.updated_at = Set(t);
    let row = am.update(db).await?;
    super::publish::drop_pending(db, row.id).await?;
    let change = Change {
        entity_id: Some(row.id),
        organization_id: Some(row.organization_id),
        old: Some(old),
        new: Some(endpoint_json(&row)),
        ..Change::default()
    };
    Ok((row, change))
}

/// The endpoint behind a webhook delivery, for the rule of `redeliverWebhook`.
pub async fn delivery_org<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<Option<Uuid>> {
    let Some(d) = outbox_delivery::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    match d.webhook_endpoint_id {
        Some(e) => endpoint_org(db, e).await,
        None => Ok(None),
    }
}

/// Sends a delivery again, with the same `LifeFlow-Event-Id` and body (signed anew with the
/// endpoint's current secret): the row is due again now. One being sent is `CONFLICT`.
pub async fn redeliver<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
) -> AppResult<(outbox_delivery::Model, Change)> {
    let d = outbox_delivery::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|d| d.channel == DeliveryChannel::Webhook)
        .ok_or(AppError::NotFound("webhook delivery"))?;
    let endpoint = held(db, d.webhook_endpoint_id.unwrap_or_default()).await?;
    if endpoint.disabled_at.is_some() {
        return Err(AppError::InvalidTransition {
            from: "DISABLED".into(),
            to: "REDELIVER".into(),
        });
    }
    let t = now();
    // Not while a worker holds it: its lease says so.
    let moved = outbox_delivery::Entity::update_many()
        .col_expr(
            outbox_delivery::Column::Status,
            Expr::value(DeliveryStatus::Pending),
        )
        .col_expr(outbox_delivery::Column::NextAttemptAt, Expr::value(t))
        .col_expr(
            outbox_delivery::Column::LockedUntil,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .col_expr(outbox_delivery::Column::UpdatedAt, Expr::value(t))
        .filter(outbox_delivery::Column::Id.eq(id))
        .filter(
            Condition::any()
                .add(outbox_delivery::Column::LockedUntil.is_null())
                .add(outbox_delivery::Column::LockedUntil.lt(t)),
        )
        .exec(db)
        .await?;
    if moved.rows_affected != 1 {
        return Err(AppError::Conflict("the delivery is being sent now".into()));
    }
    let row = outbox_delivery::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("webhook delivery"))?;
    let change = Change {
        entity_id: Some(row.id),
        organization_id: Some(endpoint.organization_id),
        old: Some(json!({"status": d.status, "attempts": d.attempts})),
        new: Some(json!({"status": row.status})),
        events: vec![crate::notifications::outbox::queued()],
        ..Change::default()
    };
    Ok((row, change))
}

/// What targets answered to these deliveries' last attempts, in one query.
pub async fn responses<C: ConnectionTrait>(
    db: &C,
    ids: Vec<Uuid>,
) -> AppResult<std::collections::HashMap<Uuid, Option<i32>>> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    Ok(webhook_response::Entity::find()
        .filter(webhook_response::Column::DeliveryId.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.delivery_id, r.status_code))
        .collect())
}

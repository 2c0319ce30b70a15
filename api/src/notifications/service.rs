//! Use cases and queries of notification preferences and deliveries.

use super::{commands::UpdateNotificationPreferences, fanout::store_channels};
use crate::{
    audit::Change,
    db::now,
    error::{AppError, AppResult},
};
use entity::{DeliveryChannel, WireName, notification_preference as np, user};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder,
};
use serde_json::json;
use uuid::Uuid;

/// A user's preferences, the default (no kind) first, then by kind.
pub async fn preferences<C: ConnectionTrait>(db: &C, user: Uuid) -> AppResult<Vec<np::Model>> {
    let mut rows = np::Entity::find()
        .filter(np::Column::UserId.eq(user))
        .order_by_asc(np::Column::Kind)
        .all(db)
        .await?;
    rows.sort_by(|a, b| {
        a.kind
            .is_some()
            .cmp(&b.kind.is_some())
            .then(a.kind.cmp(&b.kind))
    });
    Ok(rows)
}

/// Sets the user's preference for one kind (or their default) as a whole.
pub async fn update_preference<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    p: UpdateNotificationPreferences,
) -> AppResult<(np::Model, Change)> {
    // The user's row, locked on Postgres: one user's preference writes queue, so two first
    // writes of one kind cannot both insert.
    let me = crate::db::find_locked::<user::Entity, _>(db, user_id)
        .await?
        .ok_or(AppError::NotFound("no such user"))?;
    if p.channels.contains(&DeliveryChannel::Sms) {
        let phone = me.phone.filter(|p| !p.trim().is_empty());
        if phone.is_none() {
            return Err(AppError::bad_input(
                "input.channels",
                "SMS needs a phone number on your account",
            ));
        }
    }
    let kind = p.kind.map(|k| k.wire_name());
    let mut existing = np::Entity::find().filter(np::Column::UserId.eq(user_id));
    existing = match &kind {
        Some(k) => existing.filter(np::Column::Kind.eq(k.clone())),
        None => existing.filter(np::Column::Kind.is_null()),
    };
    let old = existing.one(db).await?;
    let t = now();
    let (start, end, zone) = match p.quiet {
        Some(q) => (
            Some(q.start),
            Some(q.end),
            Some(q.zone.0.name().to_string()),
        ),
        None => (None, None, None),
    };
    let channels = store_channels(&p.channels);
    let saved = match &old {
        Some(o) => {
            let mut a: np::ActiveModel = o.clone().into();
            a.channels = Set(channels);
            a.quiet_hours_start = Set(start);
            a.quiet_hours_end = Set(end);
            a.time_zone = Set(zone);
            a.updated_at = Set(t);
            a.update(db).await?
        }
        None => {
            np::ActiveModel {
                id: Set(Uuid::now_v7()),
                user_id: Set(user_id),
                kind: Set(kind.clone()),
                channels: Set(channels),
                quiet_hours_start: Set(start),
                quiet_hours_end: Set(end),
                time_zone: Set(zone),
                created_at: Set(t),
                updated_at: Set(t),
            }
            .insert(db)
            .await?
        }
    };
    let view = |m: &np::Model| {
        json!({
            "kind": m.kind, "channels": m.channels,
            "quietHoursStart": m.quiet_hours_start.map(|t| t.to_string()),
            "quietHoursEnd": m.quiet_hours_end.map(|t| t.to_string()),
            "timeZone": m.time_zone,
        })
    };
    let change = Change {
        entity_id: Some(saved.id),
        old: old.as_ref().map(view),
        new: Some(view(&saved)),
        ..Default::default()
    };
    Ok((saved, change))
}

//! Every notification also goes out through its recipient's channels: the delivery rows are
//! written by the same transaction as the notifications (`alerts::service` calls
//! [`queue_notifications`] where it inserts them), so a notification that commits is sent and
//! one that rolls back is not.
//!
//! Channels: the user's preference for the kind, else their default preference (`kind`
//! null), else email, plus SMS for `CRITICAL` ones when the user has a phone. Quiet hours
//! hold non-`CRITICAL` deliveries until they end; `CRITICAL` ones go at once.

use super::{
    outbox::{self, NewDelivery},
    quiet::QuietHours,
    templates,
};
use crate::{db::now, error::AppResult};
use entity::{DeliveryChannel, Severity, WireName, notification, notification_preference, user};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use std::collections::HashMap;
use uuid::Uuid;

/// Ids per `IN (…)` list.
const CHUNK: usize = 500;

/// How one user wants one kind of notification delivered.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub channels: Vec<DeliveryChannel>,
    pub quiet: Option<QuietHours>,
}

/// Parses a stored channel list (`,EMAIL,SMS,`).
pub fn parse_channels(stored: &str) -> Vec<DeliveryChannel> {
    use sea_orm::ActiveEnum;
    stored
        .split(',')
        .filter(|s| !s.is_empty())
        .filter_map(|s| DeliveryChannel::try_from_value(&s.to_string()).ok())
        .collect()
}

/// Stores a channel list (`,EMAIL,SMS,`).
pub fn store_channels(channels: &[DeliveryChannel]) -> String {
    let mut s = String::from(",");
    for c in channels {
        s.push_str(&c.wire_name());
        s.push(',');
    }
    s
}

/// The route of a stored preference.
pub fn route_of(p: &notification_preference::Model) -> Route {
    let quiet = match (p.quiet_hours_start, p.quiet_hours_end, &p.time_zone) {
        (Some(start), Some(end), Some(zone)) => {
            zone.parse()
                .ok()
                .map(|zone| QuietHours { start, end, zone })
        }
        _ => None,
    };
    Route {
        channels: parse_channels(&p.channels),
        quiet,
    }
}

/// The route without any preference.
pub fn default_route(priority: Severity, has_phone: bool) -> Route {
    let mut channels = vec![DeliveryChannel::Email];
    if priority == Severity::Critical && has_phone {
        channels.push(DeliveryChannel::Sms);
    }
    Route {
        channels,
        quiet: None,
    }
}

/// Queues the deliveries of freshly inserted notifications (same transaction).
pub async fn queue_notifications<C: ConnectionTrait>(
    db: &C,
    notes: &[notification::Model],
) -> AppResult<()> {
    if notes.is_empty() {
        return Ok(());
    }
    let mut ids: Vec<Uuid> = notes.iter().map(|n| n.user_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut users: HashMap<Uuid, (String, Option<String>)> = HashMap::new();
    let mut prefs: HashMap<(Uuid, Option<String>), notification_preference::Model> = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(Uuid, String, Option<String>)> = user::Entity::find()
            .select_only()
            .columns([user::Column::Id, user::Column::Email, user::Column::Phone])
            .filter(user::Column::Id.is_in(chunk.iter().copied()))
            .filter(user::Column::IsActive.eq(true))
            .into_tuple()
            .all(db)
            .await?;
        for (id, email, phone) in rows {
            users.insert(id, (email, phone.filter(|p| !p.trim().is_empty())));
        }
        for p in notification_preference::Entity::find()
            .filter(notification_preference::Column::UserId.is_in(chunk.iter().copied()))
            .all(db)
            .await?
        {
            prefs.insert((p.user_id, p.kind.clone()), p);
        }
    }
    let t = now();
    let mut out = Vec::new();
    for n in notes {
        let Some((email, phone)) = users.get(&n.user_id) else {
            continue; // deactivated: the in-app notification only
        };
        let kind = n.kind.wire_name();
        let route = prefs
            .get(&(n.user_id, Some(kind.clone())))
            .or_else(|| prefs.get(&(n.user_id, None)))
            .map(route_of)
            .unwrap_or_else(|| default_route(n.priority, phone.is_some()));
        let not_before = match (&route.quiet, n.priority) {
            (Some(q), p) if p != Severity::Critical => Some(q.release(t)),
            _ => None,
        };
        let text = templates::notification(n.kind, n.priority, templates::LOCALES[0]);
        let link = format!("/notifications/{}", n.id);
        for channel in route.channels {
            let d = match (channel, phone) {
                (DeliveryChannel::Email, _) => NewDelivery::email(
                    email.clone(),
                    kind.clone(),
                    text.subject.clone(),
                    text.body.clone(),
                ),
                (DeliveryChannel::Sms, Some(phone)) => {
                    NewDelivery::sms(phone.clone(), kind.clone(), text.sms.clone())
                }
                _ => continue,
            };
            let mut d = d
                .for_user(n.user_id)
                .for_notification(n.id)
                .with_locale(text.locale)
                .with_link(link.clone());
            if let Some(at) = not_before.filter(|at| *at > t) {
                d = d.not_before(at);
            }
            out.push(d);
        }
    }
    outbox::enqueue_many(db, out).await?;
    Ok(())
}

//! The transactional outbox (DESIGN §7.4): a delivery is a row written by [`enqueue`] in the
//! same transaction as its cause, so it exists exactly when its cause committed; the workers
//! ([`super::worker`]) of every instance claim due rows, send them through their channel's
//! [`super::transport::Transport`] and record the outcome.
//!
//! A row is claimed by one worker at a time: [`claim`] selects due rows `FOR UPDATE SKIP
//! LOCKED` on Postgres (concurrent claimers take different rows) and moves them with a
//! conditional update that sets a lease (`locked_until`, `claimed_by`); SQLite's write
//! transactions run one at a time, so the conditional update alone decides there. A worker
//! that crashes mid-send leaves its rows leased; once the lease passes another worker sends
//! them again, so a delivery is sent at least once and the receiver dedupes on its id.

use crate::{
    db::{self, now},
    error::AppResult,
    events::Event,
};
use chrono::{DateTime, Utc};
use entity::{DeliveryChannel, DeliveryStatus, outbox_delivery as od};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use std::time::Duration;
use uuid::Uuid;

/// The locale of every message until there are others.
pub const DEFAULT_LOCALE: &str = "en";

/// Rows one multi-row insert writes (well below either database's bound-parameter limit).
const INSERT_CHUNK: usize = 500;

/// Stored error texts are cut to this many characters.
const ERROR_CHARS: usize = 500;

/// A delivery to queue. Build one with [`NewDelivery::email`], [`NewDelivery::sms`] or
/// [`NewDelivery::webhook`], then the `with_*`/`for_*` setters.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub channel: DeliveryChannel,
    /// What it is about: a notification kind's wire name (`EMERGENCY_REQUEST`), an account
    /// email's kind (`EMAIL_VERIFICATION`), a webhook event (`BLOOD_REQUEST_CHANGED`).
    pub kind: String,
    pub locale: String,
    /// An email address, a phone number (E.164), or `None` for a webhook (its endpoint's URL
    /// is read at send time).
    pub recipient: Option<String>,
    /// The user it is for, when it is for one (who may read its status).
    pub user_id: Option<Uuid>,
    pub notification_id: Option<Uuid>,
    pub webhook_endpoint_id: Option<Uuid>,
    /// The email subject.
    pub subject: Option<String>,
    /// The rendered message; for a webhook, the JSON body to sign and POST.
    pub body: String,
    /// A path under `PUBLIC_APP_URL` (`/alerts/…`); `{link}` in the subject or body becomes
    /// the full URL at send time (see [`with_link`](Self::with_link)).
    pub link: Option<String>,
    /// Not sent before this (the end of quiet hours); `None`: at once.
    pub not_before: Option<DateTime<Utc>>,
    /// The id to store; `None` picks a fresh one. Set it when the id must be known before
    /// the insert (a webhook event id that its body carries).
    pub id: Option<Uuid>,
}

impl NewDelivery {
    fn new(channel: DeliveryChannel, kind: impl Into<String>, body: impl Into<String>) -> Self {
        Self {
            channel,
            kind: kind.into(),
            locale: DEFAULT_LOCALE.into(),
            recipient: None,
            user_id: None,
            notification_id: None,
            webhook_endpoint_id: None,
            subject: None,
            body: body.into(),
            link: None,
            not_before: None,
            id: None,
        }
    }

    /// An email to `to`.
    pub fn email(
        to: impl Into<String>,
        kind: impl Into<String>,
        subject: impl Into<String>,
        body: impl Into<String>,
    ) -> Self {
        Self {
            recipient: Some(to.into()),
            subject: Some(subject.into()),
            ..Self::new(DeliveryChannel::Email, kind, body)
        }
    }

    /// A text message to the phone number `to`.
    pub fn sms(to: impl Into<String>, kind: impl Into<String>, body: impl Into<String>) -> Self {
        Self {
            recipient: Some(to.into()),
            ..Self::new(DeliveryChannel::Sms, kind, body)
        }
    }

    /// A POST of `body` (JSON) to a webhook endpoint.
    pub fn webhook(endpoint_id: Uuid, event: impl Into<String>, body: impl Into<String>) -> Self {
        Self {
            webhook_endpoint_id: Some(endpoint_id),
            ..Self::new(DeliveryChannel::Webhook, event, body)
        }
    }

    /// The user the message is for.
    pub fn for_user(mut self, user_id: Uuid) -> Self {
        self.user_id = Some(user_id);
        self
    }

    /// The notification the message carries.
    pub fn for_notification(mut self, notification_id: Uuid) -> Self {
        self.notification_id = Some(notification_id);
        self
    }

    /// Not sent before `t`.
    pub fn not_before(mut self, t: DateTime<Utc>) -> Self {
        self.not_before = Some(t);
        self
    }

    /// The locale it was rendered in.
    pub fn with_locale(mut self, locale: impl Into<String>) -> Self {
        self.locale = locale.into();
        self
    }

    /// The path (under `PUBLIC_APP_URL`, starting with `/`) that `{link}` in the subject and
    /// body stands for; the full URL is made at send time, so messages queued before a change
    /// of `PUBLIC_APP_URL` carry the new one.
    pub fn with_link(mut self, path: impl Into<String>) -> Self {
        self.link = Some(path.into());
        self
    }

    /// A chosen id (see [`NewDelivery::id`]).
    pub fn with_id(mut self, id: Uuid) -> Self {
        self.id = Some(id);
        self
    }

    fn into_row(self, t: DateTime<Utc>) -> od::ActiveModel {
        od::ActiveModel {
            id: Set(self.id.unwrap_or_else(Uuid::now_v7)),
            channel: Set(self.channel),
            kind: Set(self.kind),
            locale: Set(self.locale),
            recipient: Set(self.recipient),
            user_id: Set(self.user_id),
            notification_id: Set(self.notification_id),
            webhook_endpoint_id: Set(self.webhook_endpoint_id),
            subject: Set(self.subject),
            body: Set(self.body),
            link: Set(self.link),
            status: Set(DeliveryStatus::Pending),
            attempts: Set(0),
            last_error: Set(None),
            next_attempt_at: Set(self.not_before.map_or(t, |n| Ord::max(n, t))),
            locked_until: Set(None),
            claimed_by: Set(None),
            sent_at: Set(None),
            created_at: Set(t),
            updated_at: Set(t),
        }
    }
}

/// Queues one delivery. Call it with the transaction of the change that causes it, and put
/// [`queued`] among that change's events so that the workers wake after the commit.
pub async fn enqueue<C: ConnectionTrait>(db: &C, delivery: NewDelivery) -> AppResult<Uuid> {
    let ids = enqueue_many(db, vec![delivery]).await?;
    Ok(ids[0])
}

/// Queues deliveries with multi-row inserts; returns their ids in order. Same rules as
/// [`enqueue`].
pub async fn enqueue_many<C: ConnectionTrait>(
    db: &C,
    deliveries: Vec<NewDelivery>,
) -> AppResult<Vec<Uuid>> {
    let t = now();
    let rows: Vec<od::ActiveModel> = deliveries.into_iter().map(|d| d.into_row(t)).collect();
    let ids = rows
        .iter()
        .map(|r| match &r.id {
            sea_orm::ActiveValue::Set(id) | sea_orm::ActiveValue::Unchanged(id) => *id,
            sea_orm::ActiveValue::NotSet => Uuid::nil(),
        })
        .collect();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(INSERT_CHUNK).collect();
        od::Entity::insert_many(chunk)
            .exec_without_returning(db)
            .await?;
    }
    Ok(ids)
}

/// The event that wakes the outbox workers (here at once, elsewhere through Redis) once the
/// change that queued deliveries has committed. Notifications wake them by themselves.
pub fn queued() -> Event {
    Event::OutboxQueued
}

/// Rows that may be claimed now: not finished, due, and not under a live lease.
fn due(t: DateTime<Utc>, channels: &[DeliveryChannel]) -> sea_orm::Condition {
    sea_orm::Condition::all()
        // Literal, so that the planner can use the partial index `ix_outbox_due_channel`.
        .add(Expr::cust("status IN ('PENDING', 'FAILED')"))
        .add(od::Column::NextAttemptAt.lte(t))
        .add(
            sea_orm::Condition::any()
                .add(od::Column::LockedUntil.is_null())
                .add(od::Column::LockedUntil.lte(t)),
        )
        .add(od::Column::Channel.is_in(channels.iter().copied()))
}

/// Claims up to `limit` due rows of these channels for `instance` until `lease` has passed,
/// counting an attempt on each; returns them as claimed (attempts already counted).
pub async fn claim(
    db: &DatabaseConnection,
    instance: Uuid,
    channels: &[DeliveryChannel],
    limit: u64,
    lease: Duration,
) -> AppResult<Vec<od::Model>> {
    if channels.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    let t = now();
    // A look without the write lock first: an idle poll must not queue behind writers.
    let any = od::Entity::find()
        .select_only()
        .column(od::Column::Id)
        .filter(due(t, channels))
        .limit(1)
        .into_tuple::<Uuid>()
        .one(db)
        .await?;
    if any.is_none() {
        return Ok(Vec::new());
    }
    let until = t + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(5));
    let txn = db::begin_write(db).await?;
    let candidates = od::Entity::find()
        .filter(due(t, channels))
        .order_by_asc(od::Column::NextAttemptAt)
        .limit(limit);
    let update = od::Entity::update_many()
        .col_expr(od::Column::LockedUntil, Expr::value(Some(until)))
        .col_expr(od::Column::ClaimedBy, Expr::value(Some(instance)))
        .col_expr(od::Column::Attempts, Expr::col(od::Column::Attempts).add(1))
        .col_expr(od::Column::UpdatedAt, Expr::value(t))
        .filter(due(t, channels));
    let (rows, moved) = db::claim(&txn, candidates, od::Column::Id, |r| r.id, update).await?;
    txn.commit().await?;
    if moved as usize != rows.len() {
        // Cannot happen under the lock (SKIP LOCKED rows stay ours; SQLite writes one at a
        // time); if it ever does, sending none is safe and the rows come back after the lease.
        tracing::warn!(
            selected = rows.len(),
            moved,
            "outbox claim moved another number of rows than it selected; sending none"
        );
        return Ok(Vec::new());
    }
    Ok(rows
        .into_iter()
        .map(|mut r| {
            r.attempts += 1;
            r.locked_until = Some(until);
            r.claimed_by = Some(instance);
            r.updated_at = t;
            r
        })
        .collect())
}

/// Records a sent delivery (if `instance` still holds its claim).
pub async fn mark_sent(db: &DatabaseConnection, id: Uuid, instance: Uuid) -> AppResult<bool> {
    Ok(mark_sent_many(db, &[id], instance).await? == 1)
}

/// Records sent deliveries in one statement (those `instance` still holds); returns how many.
pub async fn mark_sent_many(
    db: &DatabaseConnection,
    ids: &[Uuid],
    instance: Uuid,
) -> AppResult<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let t = now();
    let moved = od::Entity::update_many()
        .col_expr(od::Column::Status, Expr::value(DeliveryStatus::Sent))
        .col_expr(od::Column::SentAt, Expr::value(Some(t)))
        .col_expr(od::Column::LastError, Expr::value(Option::<String>::None))
        .col_expr(
            od::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(od::Column::UpdatedAt, Expr::value(t))
        .filter(od::Column::Id.is_in(ids.iter().copied()))
        .filter(od::Column::ClaimedBy.eq(instance))
        .filter(od::Column::Status.is_in([DeliveryStatus::Pending, DeliveryStatus::Failed]))
        .exec(db)
        .await?
        .rows_affected;
    Ok(moved)
}

/// The outcome of a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Another attempt is scheduled at this time.
    Retry(DateTime<Utc>),
    /// No further attempt.
    Dead,
}

/// Records a failed attempt of a claimed row: `FAILED` with the next attempt after
/// [`backoff`], or `DEAD` when `permanent` or its attempts reached `max_attempts`.
pub async fn mark_failed(
    db: &DatabaseConnection,
    row: &od::Model,
    instance: Uuid,
    error: &str,
    permanent: bool,
    settings: &crate::config::OutboxSettings,
) -> AppResult<Failure> {
    let t = now();
    let outcome = if permanent || row.attempts >= settings.max_attempts {
        Failure::Dead
    } else {
        let wait = backoff(
            row.attempts,
            settings.retry_base,
            settings.retry_cap,
            rand::random::<f64>(),
        );
        Failure::Retry(t + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::zero()))
    };
    let (status, next) = match outcome {
        Failure::Dead => (DeliveryStatus::Dead, row.next_attempt_at),
        Failure::Retry(at) => (DeliveryStatus::Failed, at),
    };
    let error: String = error.chars().take(ERROR_CHARS).collect();
    od::Entity::update_many()
        .col_expr(od::Column::Status, Expr::value(status))
        .col_expr(od::Column::LastError, Expr::value(Some(error)))
        .col_expr(od::Column::NextAttemptAt, Expr::value(next))
        .col_expr(
            od::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(od::Column::UpdatedAt, Expr::value(t))
        .filter(od::Column::Id.eq(row.id))
        .filter(od::Column::ClaimedBy.eq(instance))
        .filter(od::Column::Status.is_in([DeliveryStatus::Pending, DeliveryStatus::Failed]))
        .exec(db)
        .await?;
    Ok(outcome)
}

/// The row as its transport sends it: `{link}` in the subject and body replaced by
/// `public_app_url` + the row's `link`.
pub fn resolve_link(mut row: od::Model, public_app_url: &str) -> od::Model {
    if let Some(path) = &row.link {
        let url = format!("{}{}", public_app_url.trim_end_matches('/'), path);
        row.body = row.body.replace("{link}", &url);
        row.subject = row.subject.map(|s| s.replace("{link}", &url));
    }
    row
}

/// The wait before the attempt after `attempts` failed ones: `base · 2^(attempts-1)`, at
/// most `cap`, of which the upper half is random (`jitter` in `[0, 1)`), so that rows that
/// failed together do not all come back together.
pub fn backoff(attempts: i32, base: Duration, cap: Duration, jitter: f64) -> Duration {
    let exp = attempts.saturating_sub(1).clamp(0, 30) as u32;
    let full = base.saturating_mul(1u32 << exp).min(cap);
    let half = full / 2;
    half + half.mul_f64(jitter.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap_with_jitter_in_the_upper_half() {
        let base = Duration::from_secs(30);
        let cap = Duration::from_secs(3600);
        assert_eq!(backoff(1, base, cap, 0.0), Duration::from_secs(15));
        assert_eq!(backoff(1, base, cap, 0.999_999).as_secs(), 29);
        assert_eq!(backoff(2, base, cap, 0.0), Duration::from_secs(30));
        assert_eq!(backoff(3, base, cap, 0.5), Duration::from_secs(90));
        assert_eq!(backoff(20, base, cap, 0.0), Duration::from_secs(1800));
        assert_eq!(backoff(i32::MAX, base, cap, 1.0), cap);
    }
}

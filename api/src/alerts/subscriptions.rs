//! Subscriptions. Each event is filtered in memory against the subscriber's session (built
//! once, in `connection_init`): no database query per subscriber per event.

use super::types::*;
use crate::{
    auth::{Rule, Scope, alerts::reader, authorize, policy::ANY_ROLE},
    blood::geo,
    error::{AppError, AppResult},
    events::{
        AlertEvent, Event,
        session::{Admission, Session, StreamClass, lagged_message},
    },
    graphql::ids::{parse_id, to_id},
    state::AppState,
};
use async_graphql::{Context, ID, Subscription};
use entity::blood_request;
use futures_util::{Stream, StreamExt as _, stream};
use sea_orm::EntityTrait;
use std::sync::Arc;
use tokio::sync::broadcast::{self, error::RecvError};

pub(crate) fn session<'a>(ctx: &Context<'a>) -> AppResult<&'a Session> {
    ctx.data::<Session>()
        .map_err(|_| AppError::Unauthenticated("authenticate in connection_init"))
}

pub(crate) fn app<'a>(ctx: &Context<'a>) -> AppResult<&'a AppState> {
    ctx.data::<AppState>()
        .map_err(|_| AppError::internal("app state missing"))
}

/// The bus as a stream for one subscriber: events in order; if the subscriber falls more
/// than the buffer behind, it gets one error telling it so and the stream ends (it can
/// resubscribe and fetch what it missed with `alerts(filter: {createdAfter})`).
fn events(rx: broadcast::Receiver<Arc<Event>>) -> impl Stream<Item = Result<Arc<Event>, u64>> {
    stream::unfold((rx, false), |(mut rx, done)| async move {
        if done {
            return None;
        }
        match rx.recv().await {
            Ok(e) => Some((Ok(e), (rx, false))),
            Err(RecvError::Lagged(n)) => Some((Err(n), (rx, true))),
            Err(RecvError::Closed) => None,
        }
    })
}

/// Opens a stream for a session: counts it against the connection's cap and ends it when
/// the token expires. `class` is what `pick` reads of the viewer: when the transport serves
/// the stream from a shared feed (an [`Admission`] in the request), the stream stops here,
/// its checks passed, and hands over its slot and class.
pub(crate) fn open<T, F>(
    ctx: &Context<'_>,
    s: &Session,
    app: &AppState,
    class: StreamClass,
    pick: F,
) -> AppResult<impl Stream<Item = async_graphql::Result<T>> + use<T, F>>
where
    T: Send + 'static,
    F: Fn(&Event) -> Option<T> + Send + 'static,
{
    let slot = s.take_slot().ok_or(AppError::RateLimited {
        retry_after_secs: 1,
    })?;
    if let Ok(admission) = ctx.data::<Arc<Admission>>() {
        admission.admit(slot, class);
        return Ok(stream::empty().left_stream());
    }
    let until = s.lifetime();
    let rx = app.events.subscribe();
    let s = events(rx)
        .filter_map(move |item| {
            let _slot = &slot;
            let out = match item {
                Ok(e) => pick(&e).map(Ok),
                Err(n) => Some(Err(async_graphql::Error::new(lagged_message(n)))),
            };
            futures_util::future::ready(out)
        })
        .take_until(tokio::time::sleep(until));
    Ok(s.right_stream())
}

/// Whether an alert matches a subscription filter.
pub fn matches(f: &AlertSubscriptionFilter, a: &AlertEvent) -> bool {
    if f.kinds
        .as_ref()
        .is_some_and(|k| !k.contains(&a.content.kind))
    {
        return false;
    }
    if let Some(groups) = &f.blood_groups
        && !a.content.blood_group.is_some_and(|g| groups.contains(&g))
    {
        return false;
    }
    if f.min_severity.is_some_and(|m| a.content.severity < m) {
        return false;
    }
    if let (Some(p), Some(r)) = (f.near, f.radius_km) {
        match (a.latitude, a.longitude) {
            (Some(lat), Some(lon)) => geo::haversine_km(p.latitude, p.longitude, lat, lon) <= r,
            _ => false,
        }
    } else {
        true
    }
}

#[derive(Default)]
pub struct AlertSubscription;

#[Subscription]
impl AlertSubscription {
    /// New alerts the caller may see: emergencies to banks (and, once escalated, NGOs) in
    /// their radius, stock alerts to that bank, platform alerts to super admins.
    async fn alert_raised(
        &self,
        ctx: &Context<'_>,
        filter: Option<AlertSubscriptionFilter>,
    ) -> Result<impl Stream<Item = async_graphql::Result<Alert>>, AppError> {
        let s = session(ctx)?;
        authorize(&s.viewer, Rule::Authenticated)?;
        let f = filter.unwrap_or_default();
        if f.near.is_some() != f.radius_km.is_some() {
            return Err(AppError::bad_input(
                "filter.radiusKm",
                "give near and radiusKm together",
            ));
        }
        let reader = reader(&s.viewer, None)?;
        open(ctx, s, app(ctx)?, reader.class(), move |e| match e {
            Event::Alert(a) if reader.sees(a) && matches(&f, a) => Some(Alert::from_event(a)),
            _ => None,
        })
    }

    /// A request's transitions, for its hospital's members and super admins.
    async fn blood_request_changed(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<impl Stream<Item = async_graphql::Result<BloodRequestChange>>, AppError> {
        let s = session(ctx)?;
        let app = app(ctx)?;
        let id = parse_id(&id, "id")?;
        // One query at subscribe time, none per event.
        let r = blood_request::Entity::find_by_id(id)
            .one(&app.db)
            .await?
            .ok_or(AppError::NotFound("blood request"))?;
        authorize(
            &s.viewer,
            Rule::ReadOrg {
                org: r.hospital_id,
                roles: ANY_ROLE,
                scope: Some(Scope::BloodRequestsRead),
            },
        )
        .map_err(|_| AppError::NotFound("blood request"))?;
        // Once admitted, every subscriber sees the same transitions: the filter reads the id.
        open(ctx, s, app, StreamClass::Admitted, move |e| match e {
            Event::RequestChanged(c) if c.request_id == id => Some(BloodRequestChange {
                request_id: to_id(c.request_id),
                status: c.status,
                blood_bank_id: c.blood_bank_id.map(to_id),
                escalation_level: c.escalation_level,
                at: c.at,
            }),
            _ => None,
        })
    }

    /// The caller's own notifications as they are sent.
    async fn notification_received(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = async_graphql::Result<Notification>>, AppError> {
        let s = session(ctx)?;
        authorize(&s.viewer, Rule::SignedIn)?;
        let me = s
            .viewer
            .user_id()
            .ok_or(AppError::Unauthenticated("sign in first"))?;
        open(ctx, s, app(ctx)?, StreamClass::User(me), move |e| match e {
            Event::Notification(n) if n.user_id == me => Some(Notification {
                id: to_id(n.id),
                user_id: n.user_id,
                kind: n.kind,
                priority: n.priority,
                title: n.title.clone(),
                body: n.body.clone(),
                alert_id: n.alert_id.map(to_id),
                related_entity_type: n.related_entity_type.clone(),
                related_entity_id: n.related_entity_id.map(to_id),
                read_at: None,
                created_at: n.created_at,
            }),
            _ => None,
        })
    }
}

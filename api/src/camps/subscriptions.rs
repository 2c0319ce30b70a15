//! `campChanged`: a camp's slot availability for open registration pages, filtered in memory
//! (no query per event).

use super::types::CampChange;
use crate::{
    alerts::subscriptions::{app, open, session},
    auth::{Rule, authorize},
    error::AppError,
    events::{Event, session::StreamClass},
    graphql::ids::{parse_id, to_id},
};
use async_graphql::{Context, ID, Subscription};
use entity::camp;
use futures_util::Stream;
use sea_orm::EntityTrait;

#[derive(Default)]
pub struct CampSubscription;

#[Subscription]
impl CampSubscription {
    /// A camp's changes as they commit: a slot's places taken or given back, the camp
    /// started, completed or cancelled. For every signed-in user, as camps are.
    async fn camp_changed(
        &self,
        ctx: &Context<'_>,
        camp_id: ID,
    ) -> Result<impl Stream<Item = async_graphql::Result<CampChange>>, AppError> {
        let s = session(ctx)?;
        authorize(&s.viewer, Rule::SignedIn)?;
        let app = app(ctx)?;
        let id = parse_id(&camp_id, "campId")?;
        // One query at subscribe time, none per event.
        camp::Entity::find_by_id(id)
            .one(&app.db)
            .await?
            .ok_or(AppError::NotFound("camp"))?;
        // The filter reads only the camp's id: every subscriber sees the same events.
        open(ctx, s, app, StreamClass::Admitted, move |e| match e {
            Event::CampChanged(c) if c.camp_id == id => Some(CampChange {
                camp_id: to_id(c.camp_id),
                status: c.status,
                slot_id: c.slot.map(|p| to_id(p.slot_id)),
                booked: c.slot.map(|p| p.booked),
                capacity: c.slot.map(|p| p.capacity),
                remaining: c.slot.map(|p| (p.capacity - p.booked).max(0)),
                at: c.at,
            }),
            _ => None,
        })
    }
}

//! `deliveryTracked`: a request's delivery as it moves, filtered in memory (no query per
//! event); the stream ends with the delivery.

use super::types::DeliveryUpdate;
use crate::{
    alerts::subscriptions::{app, open, session},
    auth::deliveries::sees,
    error::AppError,
    events::{Event, session::StreamClass},
    graphql::ids::parse_id,
};
use async_graphql::{Context, ID, Subscription};
use entity::{blood_request, delivery};
use futures_util::{Stream, StreamExt as _, stream};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

#[derive(Default)]
pub struct DeliverySubscription;

#[Subscription]
impl DeliverySubscription {
    /// A request's delivery as it happens: dispatch, each reported position in the order
    /// reported, then `DELIVERED` or `FAILED`, after which the stream completes. For the
    /// requesting hospital's members, the supplying bank's and super admins. A delivery
    /// already over completes at once (read `delivery(requestId)` for where it went).
    async fn delivery_tracked(
        &self,
        ctx: &Context<'_>,
        request_id: ID,
    ) -> Result<impl Stream<Item = async_graphql::Result<DeliveryUpdate>>, AppError> {
        let s = session(ctx)?;
        let app = app(ctx)?;
        let id = parse_id(&request_id, "requestId")?;
        // Queries at subscribe time only, none per event.
        let r = blood_request::Entity::find_by_id(id)
            .one(&app.db)
            .await?
            .ok_or(AppError::NotFound("blood request"))?;
        if !sees(&s.viewer, r.hospital_id, r.blood_bank_id) {
            return Err(AppError::NotFound("blood request"));
        }
        let over = delivery::Entity::find()
            .filter(delivery::Column::RequestId.eq(id))
            .one(&app.db)
            .await?
            .is_some_and(|d| d.status.is_final());
        if over {
            return Ok(stream::empty().left_stream());
        }
        // Once admitted, every subscriber sees the same updates: the filter reads the id.
        let updates = open(ctx, s, app, StreamClass::Admitted, move |e| match e {
            Event::DeliveryTracked(d) if d.request_id == id => Some(DeliveryUpdate::from(d)),
            _ => None,
        })?;
        // The final update is sent, then the stream ends at once (without waiting for
        // another event).
        let ending = stream::unfold((Box::pin(updates), false), |(mut s, done)| async move {
            if done {
                return None;
            }
            let item = s.next().await?;
            let end = matches!(&item, Ok(u) if u.status.is_final());
            Some((item, (s, end)))
        });
        Ok(ending.right_stream())
    }
}

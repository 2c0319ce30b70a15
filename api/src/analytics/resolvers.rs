//! The `networkStats` query.

use super::{service, types::*};
use crate::{auth, graphql::prelude::*, validation::Text};

#[derive(Default)]
pub struct AnalyticsQuery;

#[Object]
impl AnalyticsQuery {
    /// Requests, wastage, collections, camps and stock over a period: the network for super
    /// admins, an organization's own figures for its members.
    async fn network_stats(
        &self,
        ctx: &Context<'_>,
        input: NetworkStatsInput,
    ) -> AppResult<NetworkStats> {
        let organization = input
            .organization_id
            .as_ref()
            .map(|o| parse_id(o, "input.organizationId"))
            .transpose()?;
        let req = ctx.authorized(auth::analytics::stats_rule(organization))?;
        if input.to <= input.from {
            return Err(AppError::bad_input("input.to", "must be after from"));
        }
        let scope = service::Scope {
            from: input.from,
            to: input.to,
            organization,
            city: Text::parse_opt(input.city.as_deref(), "input.city", 100)?.map(Text::into_inner),
        };
        // Every figure from one snapshot, so they agree with each other.
        let txn = req.db.begin_read().await?;
        let stats = service::stats(&txn, &scope).await?;
        txn.commit().await?;
        let named = Named::load(req, &stats).await?;
        Ok(NetworkStats::new(stats, &named))
    }
}

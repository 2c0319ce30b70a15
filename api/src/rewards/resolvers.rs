//! Rewards resolvers: the caller's own rewards, the opt-in leaderboard, and the one mutation.

use super::{commands::*, service, types::*};
use crate::{audit::ReadRecord, auth::Rule, graphql::prelude::*, pipeline, validation::Text};

#[derive(Default)]
pub struct RewardsQuery;

#[Object]
impl RewardsQuery {
    /// The signed-in donor's points, tier, badges and ledger.
    async fn my_rewards(&self, ctx: &Context<'_>) -> AppResult<Rewards> {
        let req = ctx.authorized(Rule::SignedIn)?;
        let user = crate::auth::rewards::own_donor_user(&req.viewer)?;
        let donor = service::donor_of(&req.db, user)
            .await?
            .ok_or(AppError::NotFound("donor"))?;
        let summary = service::summary(&req.db, donor.id).await?;
        let settings = service::settings(&req.db, donor.id).await?;
        req.reads.record(ReadRecord {
            action: "donor.read_rewards",
            entity_type: "donor",
            entity_id: donor.id,
            organization_id: donor.ngo_id,
        });
        Ok(Rewards {
            donor,
            summary,
            settings,
        })
    }

    /// The donors with the most points in a period, among those who opted in, by the name
    /// they chose; `first` of them (default 10, at most 100).
    #[graphql(complexity = "crate::graphql::limits::list_cost(child_complexity)")]
    async fn leaderboard(
        &self,
        ctx: &Context<'_>,
        scope: LeaderboardScope,
        period: LeaderboardPeriod,
        city: Option<String>,
        organization_id: Option<ID>,
        first: Option<i32>,
    ) -> AppResult<Vec<LeaderboardEntry>> {
        let req = ctx.authorized(Rule::SignedIn)?;
        let limit = match first.unwrap_or(10) {
            n @ 1..=100 => n as u64,
            _ => return Err(AppError::bad_input("first", "must be between 1 and 100")),
        };
        let city = Text::parse_opt(city.as_deref(), "city", 100)?.map(Text::into_inner);
        let ngo = organization_id
            .as_ref()
            .map(|o| parse_id(o, "organizationId"))
            .transpose()?;
        let me = match (scope, &city, ngo, req.viewer.user_id()) {
            (LeaderboardScope::City, None, _, Some(u))
            | (LeaderboardScope::Ngo, _, None, Some(u)) => service::donor_of(&req.db, u).await?,
            _ => None,
        };
        let ranked = crate::auth::rewards::ranked(scope, city, ngo, me.as_ref())?;
        let period = match period {
            LeaderboardPeriod::Month => service::Period::Month,
            LeaderboardPeriod::Year => service::Period::Year,
            LeaderboardPeriod::AllTime => service::Period::AllTime,
        };
        let since = service::period_start(period, chrono::Utc::now());
        let lines = service::leaderboard(&req.db, &ranked, since, limit).await?;
        Ok(lines
            .into_iter()
            .zip(1..)
            .map(|(l, rank)| LeaderboardEntry {
                rank,
                display_name: l.display_name,
                points: l.points,
            })
            .collect())
    }
}

pipeline::command_mutations! {
    RewardsMutation {
        /// The signed-in donor opts in to leaderboards (with the name they show) or out.
        set_leaderboard_preference(LeaderboardPreferenceInput) -> LeaderboardPreferencePayload = SetLeaderboardPreference;
    }
}

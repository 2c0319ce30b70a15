//! Rewards' GraphQL types.

use super::service::{Badge, Summary, Tier};
use crate::graphql::prelude::*;
use async_graphql::{Enum, InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{RewardSource, donor, donor_reward_setting, reward_point};
use serde::Serialize;

/// A donor's points, tier and badges.
pub struct Rewards {
    pub donor: donor::Model,
    pub summary: Summary,
    pub settings: Option<donor_reward_setting::Model>,
}

#[Object]
impl Rewards {
    /// Points to spend: every entry of the ledger added up.
    async fn points(&self) -> i64 {
        self.summary.points
    }

    /// Every point ever earned; the tier follows it.
    async fn lifetime_points(&self) -> i64 {
        self.summary.lifetime_points
    }

    async fn tier(&self) -> Tier {
        self.summary.tier()
    }

    async fn badges(&self) -> Vec<Badge> {
        self.summary.badges(self.donor.blood_group)
    }

    /// Whether the donor appears on leaderboards (off until they opt in).
    async fn show_on_leaderboard(&self) -> bool {
        self.settings
            .as_ref()
            .is_some_and(|s| s.show_on_leaderboard)
    }

    /// The name leaderboards show.
    async fn display_name(&self) -> Option<&str> {
        self.settings
            .as_ref()
            .and_then(|s| s.display_name.as_deref())
    }

    /// The ledger, newest first.
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, last, child_complexity)")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<Conn<RewardEntry>> {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let q =
            reward_point::Entity::find().filter(reward_point::Column::DonorId.eq(self.donor.id));
        let keyset = Keyset::<reward_point::Entity>::new(
            Some((reward_point::Column::EarnedAt, |m: &reward_point::Model| {
                SortValue::Time(m.earned_at)
            })),
            reward_point::Column::SourceId,
            |m| m.source_id,
            SortDirection::Desc,
        );
        let args = PageArgs::new(first, after, last, before);
        let page = fetch_selected(ctx, q, &keyset, &args).await?;
        Ok(page.into_connection(RewardEntry::from))
    }
}

/// One entry of a donor's points ledger.
#[derive(SimpleObject)]
pub struct RewardEntry {
    pub source: RewardSource,
    /// The donation, camp registration, referred donor or call-out response that earned it.
    pub source_id: ID,
    pub points: i32,
    pub earned_at: DateTime<Utc>,
}

impl From<reward_point::Model> for RewardEntry {
    fn from(m: reward_point::Model) -> Self {
        Self {
            source: m.source_kind,
            source_id: ID(m.source_id.to_string()),
            points: m.points,
            earned_at: m.earned_at,
        }
    }
}

/// Which donors a leaderboard ranks.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum LeaderboardScope {
    /// Donors of one city (`city`, or the caller's own).
    City,
    /// Donors one NGO manages (`organizationId`, or the caller's own NGO).
    Ngo,
    Network,
}

/// The points a leaderboard adds up.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum LeaderboardPeriod {
    /// Since the first of this month (UTC).
    Month,
    /// Since the first of January (UTC).
    Year,
    AllTime,
}

/// A donor on a leaderboard, by the name they chose.
#[derive(SimpleObject)]
pub struct LeaderboardEntry {
    pub rank: i32,
    pub display_name: String,
    pub points: i64,
}

/// Input of `setLeaderboardPreference`.
#[derive(InputObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaderboardPreferenceInput {
    pub show_on_leaderboard: bool,
    /// Up to 40 characters; needed to opt in (your full name appears only if you type it).
    pub display_name: Option<String>,
}

/// Result of `setLeaderboardPreference`.
#[derive(SimpleObject)]
pub struct LeaderboardPreferencePayload {
    pub show_on_leaderboard: bool,
    pub display_name: Option<String>,
}

impl From<donor_reward_setting::Model> for LeaderboardPreferencePayload {
    fn from(m: donor_reward_setting::Model) -> Self {
        Self {
            show_on_leaderboard: m.show_on_leaderboard,
            display_name: m.display_name,
        }
    }
}

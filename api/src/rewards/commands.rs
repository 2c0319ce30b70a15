//! Rewards mutations as typed commands. Points themselves are never granted by a mutation
//! of their own: the use case of each cause writes them ([`super::service`]).

use super::{service, types::LeaderboardPreferenceInput};
use crate::{
    audit::Change,
    auth::{Rule, rewards},
    error::{AppError, AppResult},
    pipeline::{Command, Exec},
    validation::Text,
};
use entity::donor_reward_setting;

/// `setLeaderboardPreference`, parsed.
pub struct SetLeaderboardPreference {
    pub show: bool,
    pub display_name: Option<String>,
}

impl TryFrom<LeaderboardPreferenceInput> for SetLeaderboardPreference {
    type Error = AppError;

    fn try_from(i: LeaderboardPreferenceInput) -> AppResult<Self> {
        Ok(Self {
            show: i.show_on_leaderboard,
            display_name: Text::parse_opt(i.display_name.as_deref(), "input.displayName", 40)?
                .map(Text::into_inner),
        })
    }
}

impl Command for SetLeaderboardPreference {
    type Input = LeaderboardPreferenceInput;
    type Output = donor_reward_setting::Model;
    const ACTION: &'static str = "donor_reward_setting.set";
    const ENTITY: &'static str = "donor_reward_setting";
    const RULE: Rule = Rule::SignedIn;

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        let user = rewards::own_donor_user(exec.viewer)?;
        service::set_preference(exec.txn, user, self.show, self.display_name).await
    }
}

//! Notification preferences: the caller's own, read and replaced.

use super::{commands::UpdateNotificationPreferences, service, types::*};
use crate::{auth::Rule, graphql::prelude::*, pipeline};

#[derive(Default)]
pub struct NotificationPreferenceQuery;

#[Object]
impl NotificationPreferenceQuery {
    /// The caller's notification preferences: the default (no kind) and each kind set apart.
    async fn notification_preferences(
        &self,
        ctx: &Context<'_>,
    ) -> AppResult<Vec<NotificationPreference>> {
        let req = ctx.authorized(Rule::SignedIn)?;
        let me = crate::auth::notifications::own_user(&req.viewer)?;
        Ok(service::preferences(&req.db, me)
            .await?
            .into_iter()
            .map(NotificationPreference::from)
            .collect())
    }
}

pipeline::command_mutations! {
    NotificationPreferenceMutation {
        /// Sets how one kind of notification (or, without a kind, every kind without its own
        /// preference) reaches the caller by email and SMS, and their quiet hours.
        update_notification_preferences(UpdateNotificationPreferencesInput)
            -> NotificationPreferencePayload = UpdateNotificationPreferences;
    }
}

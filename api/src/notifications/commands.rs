//! Notification preference mutations as typed commands (see [`crate::pipeline`]).

use super::{service, types::*};
use crate::{
    audit::Change,
    auth::Rule,
    error::{AppError, AppResult},
    pipeline::{Command, Exec},
    validation::IanaZone,
};
use entity::{DeliveryChannel, NotificationKind, notification_preference};

/// Quiet hours as given: start and end local times in a zone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuietInput {
    pub start: chrono::NaiveTime,
    pub end: chrono::NaiveTime,
    pub zone: IanaZone,
}

/// `updateNotificationPreferences`, parsed.
#[derive(Debug, Clone)]
pub struct UpdateNotificationPreferences {
    pub kind: Option<NotificationKind>,
    pub channels: Vec<DeliveryChannel>,
    pub quiet: Option<QuietInput>,
}

impl TryFrom<UpdateNotificationPreferencesInput> for UpdateNotificationPreferences {
    type Error = AppError;

    fn try_from(i: UpdateNotificationPreferencesInput) -> AppResult<Self> {
        let mut channels = Vec::new();
        for c in i.channels {
            if !matches!(c, DeliveryChannel::Email | DeliveryChannel::Sms) {
                return Err(AppError::bad_input(
                    "input.channels",
                    "notifications go by EMAIL or SMS",
                ));
            }
            if !channels.contains(&c) {
                channels.push(c);
            }
        }
        let quiet = match (
            i.quiet_hours_start,
            i.quiet_hours_end,
            i.time_zone.as_deref(),
        ) {
            (None, None, None) => None,
            (Some(start), Some(end), Some(zone)) => {
                if start == end {
                    return Err(AppError::bad_input(
                        "input.quietHoursEnd",
                        "must differ from quietHoursStart",
                    ));
                }
                Some(QuietInput {
                    start,
                    end,
                    zone: IanaZone::parse(zone, "input.timeZone")?,
                })
            }
            (None, _, _) => {
                return Err(AppError::bad_input(
                    "input.quietHoursStart",
                    "give quietHoursStart, quietHoursEnd and timeZone together",
                ));
            }
            (_, None, _) => {
                return Err(AppError::bad_input(
                    "input.quietHoursEnd",
                    "give quietHoursStart, quietHoursEnd and timeZone together",
                ));
            }
            (_, _, None) => {
                return Err(AppError::bad_input(
                    "input.timeZone",
                    "give quietHoursStart, quietHoursEnd and timeZone together",
                ));
            }
        };
        Ok(Self {
            kind: i.kind,
            channels,
            quiet,
        })
    }
}

impl Command for UpdateNotificationPreferences {
    type Input = UpdateNotificationPreferencesInput;
    type Output = notification_preference::Model;
    const ACTION: &'static str = "notification_preference.update";
    const ENTITY: &'static str = "notification_preference";
    const RULE: Rule = Rule::SignedIn;

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        let me = crate::auth::notifications::own_user(exec.viewer)?;
        service::update_preference(exec.txn, me, self).await
    }
}

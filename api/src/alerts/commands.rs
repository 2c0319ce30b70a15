//! Alert and notification mutations as typed commands: each input parsed once (`TryFrom`),
//! each command run by [`crate::pipeline`] with its rule from [`crate::auth::alerts`] and its
//! use case in [`super::service`].

use super::{service, types::*};
use crate::{
    audit::Change,
    auth::{Rule, alerts as rules},
    error::{AppError, AppResult},
    graphql::ids::parse_id,
    pipeline::{Command, Exec},
};
use chrono::{DateTime, Utc};
use entity::alert;
use uuid::Uuid;

/// What an organization does to an alert: `resolveAlert` (for everyone) or
/// `acknowledgeAlert` (for itself; other recipients still see it open).
pub struct AlertAction<const RESOLVE: bool> {
    pub alert_id: Uuid,
    /// The organization acted for; `None` for a super admin acting on a platform alert.
    pub organization_id: Option<Uuid>,
}

/// `acknowledgeAlert`, parsed.
pub type AcknowledgeAlert = AlertAction<false>;
/// `resolveAlert`, parsed.
pub type ResolveAlert = AlertAction<true>;

impl<const RESOLVE: bool> TryFrom<AlertActionInput> for AlertAction<RESOLVE> {
    type Error = AppError;

    fn try_from(input: AlertActionInput) -> AppResult<Self> {
        Ok(Self {
            alert_id: parse_id(&input.alert_id, "input.alertId")?,
            organization_id: (input.organization_id.as_ref())
                .map(|o| parse_id(o, "input.organizationId"))
                .transpose()?,
        })
    }
}

impl<const RESOLVE: bool> Command for AlertAction<RESOLVE> {
    type Input = AlertActionInput;
    /// The alert and when the organization acknowledged it (if it just did).
    type Output = (alert::Model, Option<DateTime<Utc>>);
    const ACTION: &'static str = if RESOLVE {
        "alert.resolve"
    } else {
        "alert.acknowledge"
    };
    const ENTITY: &'static str = "alert";

    fn authority(input: &Self::Input) -> Rule {
        match &input.organization_id {
            None => rules::act_rule(None),
            Some(org) => parse_id(org, "input.organizationId")
                .map_or(Rule::Authenticated, |org| rules::act_rule(Some(org))),
        }
    }

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.alert_id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        let by = (exec.actor.user_id.or(exec.actor.api_client_id)).unwrap_or_default();
        service::act_on(exec.txn, self.alert_id, self.organization_id, RESOLVE, by).await
    }
}

/// `markNotificationsRead`, parsed.
pub struct MarkNotificationsRead {
    /// These notifications, or `None` for every unread one.
    pub ids: Option<Vec<Uuid>>,
}

impl TryFrom<MarkNotificationsReadInput> for MarkNotificationsRead {
    type Error = AppError;

    fn try_from(input: MarkNotificationsReadInput) -> AppResult<Self> {
        let ids = match (input.ids, input.all) {
            (Some(ids), false) => Some(
                ids.iter()
                    .map(|i| parse_id(i, "input.ids"))
                    .collect::<AppResult<_>>()?,
            ),
            (None, true) => None,
            _ => return Err(AppError::bad_input("input.ids", "give ids, or all: true")),
        };
        Ok(Self { ids })
    }
}

impl Command for MarkNotificationsRead {
    type Input = MarkNotificationsReadInput;
    type Output = u64;
    const ACTION: &'static str = "notification.mark_read";
    const ENTITY: &'static str = "notification";
    const RULE: Rule = Rule::SignedIn;

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        let me = (exec.actor.user_id).ok_or(AppError::Unauthenticated("sign in first"))?;
        service::mark_read(exec.txn, me, self.ids).await
    }
}

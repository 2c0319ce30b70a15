//! GraphQL types of alerts and notifications.

use crate::{
    events::{AlertContent, AlertEvent},
    graphql::ids::to_id,
};
use async_graphql::{ID, InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{AlertKind, AlertStatus, BloodGroup, NotificationKind, Severity, alert, notification};

/// An alert, as the caller's organization sees it (acknowledgement is per organization).
#[derive(SimpleObject, Clone)]
pub struct Alert {
    pub id: ID,
    #[graphql(flatten)]
    pub content: AlertContent,
    /// The organization it is about (an emergency's hospital, a low-stock bank).
    pub organization_id: Option<ID>,
    /// Where it happens (an emergency: the hospital), if it has a place.
    pub latitude: Option<f64>,
    /// See `latitude`.
    pub longitude: Option<f64>,
    /// The radius, in km around the location, of the organizations it was sent to.
    pub radius_km: Option<f64>,
    /// Kind of the related entity.
    pub related_entity_type: Option<String>,
    /// The related entity (e.g. the blood request).
    pub related_entity_id: Option<ID>,
    /// OPEN, ACKNOWLEDGED (by your organization) or RESOLVED.
    pub status: AlertStatus,
    /// When your organization acknowledged it.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// When it was resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl Alert {
    /// From a stored alert and the caller's acknowledgement.
    pub fn from_model(m: alert::Model, ack: Option<DateTime<Utc>>) -> Self {
        let status = match (m.status, ack) {
            (AlertStatus::Resolved, _) => AlertStatus::Resolved,
            (_, Some(_)) => AlertStatus::Acknowledged,
            (s, None) => s,
        };
        Self {
            id: to_id(m.id),
            content: AlertContent {
                kind: m.kind,
                severity: m.severity,
                title: m.title,
                message: m.message,
                blood_group: m.blood_group,
                component: m.component,
            },
            organization_id: m.organization_id.map(to_id),
            latitude: m.latitude,
            longitude: m.longitude,
            radius_km: m.radius_km,
            related_entity_type: m.related_entity_type,
            related_entity_id: m.related_entity_id.map(to_id),
            status,
            acknowledged_at: ack.or(m.acknowledged_at),
            resolved_at: m.resolved_at,
            created_at: m.created_at,
        }
    }

    /// From a bus event (a new alert is open).
    pub fn from_event(e: &AlertEvent) -> Self {
        Self {
            id: to_id(e.id),
            content: e.content.clone(),
            organization_id: e.organization_id.map(to_id),
            latitude: e.latitude,
            longitude: e.longitude,
            radius_km: e.radius_km,
            related_entity_type: e.related_entity_type.clone(),
            related_entity_id: e.related_entity_id.map(to_id),
            status: AlertStatus::Open,
            acknowledged_at: None,
            resolved_at: None,
            created_at: e.created_at,
        }
    }
}

/// A message to one user.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Notification {
    pub id: ID,
    /// The recipient (who alone may read the deliveries).
    #[graphql(skip)]
    pub user_id: uuid::Uuid,
    pub kind: NotificationKind,
    pub priority: Severity,
    pub title: String,
    pub body: String,
    /// The alert that caused it, if an alert did.
    pub alert_id: Option<ID>,
    /// Kind of the related entity.
    pub related_entity_type: Option<String>,
    pub related_entity_id: Option<ID>,
    pub read_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<notification::Model> for Notification {
    fn from(m: notification::Model) -> Self {
        Self {
            id: to_id(m.id),
            user_id: m.user_id,
            kind: m.kind,
            priority: m.priority,
            title: m.title,
            body: m.body,
            alert_id: m.alert_id.map(to_id),
            related_entity_type: m.related_entity_type,
            related_entity_id: m.related_entity_id.map(to_id),
            read_at: m.read_at,
            created_at: m.created_at,
        }
    }
}

/// Filter of `alerts`.
#[derive(InputObject, Default)]
pub struct AlertFilter {
    pub kinds: Option<Vec<AlertKind>>,
    pub severities: Option<Vec<Severity>>,
    /// Statuses (as your organization sees them).
    pub statuses: Option<Vec<AlertStatus>>,
    /// Alerts addressed to this organization.
    pub organization_id: Option<ID>,
    /// Raised at or after (a reconnecting client asks for what it missed).
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
}

/// A point on the map, in degrees.
#[derive(InputObject, Clone, Copy)]
pub struct NearInput {
    pub latitude: f64,
    pub longitude: f64,
}

/// Filter of the `alertRaised` subscription.
#[derive(InputObject, Default, Clone)]
pub struct AlertSubscriptionFilter {
    pub kinds: Option<Vec<AlertKind>>,
    /// Groups (alerts with no group are left out when given).
    pub blood_groups: Option<Vec<BloodGroup>>,
    /// Alerts at least this severe (INFO < WARNING < CRITICAL).
    pub min_severity: Option<Severity>,
    /// Centre of a distance filter (alerts with no location are left out when given).
    pub near: Option<NearInput>,
    /// Radius around `near`, in km (give both or neither).
    pub radius_km: Option<f64>,
}

/// Input of `acknowledgeAlert` and `resolveAlert`.
#[derive(InputObject)]
pub struct AlertActionInput {
    pub alert_id: ID,
    /// The organization acted for (leave out as a super admin for platform alerts).
    pub organization_id: Option<ID>,
}

/// Result of alert mutations.
#[derive(SimpleObject)]
pub struct AlertPayload {
    /// The alert after the change.
    pub alert: Alert,
}

/// Input of `markNotificationsRead`.
#[derive(InputObject)]
pub struct MarkNotificationsReadInput {
    /// These notifications; leave out with `all: true` for every unread one.
    pub ids: Option<Vec<ID>>,
    /// Mark all unread notifications.
    #[graphql(default)]
    pub all: bool,
}

/// Result of `markNotificationsRead`.
#[derive(SimpleObject)]
pub struct MarkNotificationsReadPayload {
    /// How many were marked.
    pub marked: u64,
}

/// A blood request's new state, streamed to its hospital.
#[derive(SimpleObject, Clone)]
pub struct BloodRequestChange {
    pub request_id: ID,
    pub status: entity::RequestStatus,
    /// The accepting bank, if any.
    pub blood_bank_id: Option<ID>,
    pub escalation_level: i32,
    pub at: DateTime<Utc>,
}

#[async_graphql::ComplexObject]
impl Notification {
    /// How the notification went out by email and SMS; for its recipient only.
    async fn deliveries(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> crate::error::AppResult<Vec<crate::notifications::types::NotificationDelivery>> {
        use crate::graphql::context::CtxExt;
        let req = ctx.req()?;
        if !crate::auth::notifications::sees_deliveries(&req.viewer, self.user_id) {
            return Err(crate::error::AppError::Forbidden(
                "only the recipient sees a notification's deliveries",
            ));
        }
        let id = crate::graphql::ids::parse_id(&self.id, "id")?;
        let rows =
            crate::graphql::loaders::load_children(&req.loaders.deliveries_by_notification, id)
                .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}

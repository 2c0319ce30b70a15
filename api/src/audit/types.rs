//! GraphQL types of the audit trail.

use crate::{
    auth::{self, Viewer},
    graphql::{ids::to_id, pagination::SortDirection},
};
use async_graphql::{ID, InputObject, Json, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{AuditOutcome, audit_log};

/// One audited event.
#[derive(SimpleObject)]
pub struct AuditLog {
    /// Time-ordered: a later row has a greater id.
    pub id: ID,
    pub actor_user_id: Option<ID>,
    /// The acting API client.
    pub actor_api_client_id: Option<ID>,
    /// `SUPER_ADMIN`, `USER`, `API_CLIENT`, `ANONYMOUS` or the organization role acted in.
    pub actor_role: String,
    pub organization_id: Option<ID>,
    /// What was attempted, e.g. `organization.approve`.
    pub action: String,
    /// The kind of entity, e.g. `organization`.
    pub entity_type: Option<String>,
    pub entity_id: Option<ID>,
    /// The changed values before the change (null on health data for all but the
    /// organization's admins).
    pub old_values: Option<Json<serde_json::Value>>,
    /// The changed values after it (null where `oldValues` is hidden).
    pub new_values: Option<Json<serde_json::Value>>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub outcome: AuditOutcome,
    /// A failure's `extensions.code`, e.g. `FORBIDDEN`.
    pub error_code: Option<String>,
    /// The request id, as in the logs and in error extensions.
    pub request_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl AuditLog {
    /// A row as `viewer` reads it: without its values when they are health data the viewer
    /// may not see.
    pub fn seen_by(viewer: &Viewer, mut m: audit_log::Model) -> Self {
        if !auth::audit::sees_values(viewer, &m) {
            m.old_values = None;
            m.new_values = None;
        }
        Self::from(m)
    }
}

impl From<audit_log::Model> for AuditLog {
    fn from(m: audit_log::Model) -> Self {
        Self {
            id: to_id(m.id),
            actor_user_id: m.actor_user_id.map(to_id),
            actor_api_client_id: m.actor_api_client_id.map(to_id),
            actor_role: m.actor_role,
            organization_id: m.organization_id.map(to_id),
            action: m.action,
            entity_type: m.entity_type,
            entity_id: m.entity_id.map(to_id),
            old_values: m.old_values.map(Json),
            new_values: m.new_values.map(Json),
            ip: m.ip,
            user_agent: m.user_agent,
            outcome: m.outcome,
            error_code: m.error_code,
            request_id: m.request_id,
            created_at: m.created_at,
        }
    }
}

/// Filter of `auditLogs`.
#[derive(InputObject, Default)]
pub struct AuditLogFilter {
    /// Only this organization's rows. Without it, organization admins read the rows of
    /// every organization they administer, and super admins every row.
    pub organization_id: Option<ID>,
    /// Only these actions.
    pub actions: Option<Vec<String>>,
    /// Only this outcome.
    pub outcome: Option<AuditOutcome>,
    /// Only rows about this entity.
    pub entity_id: Option<ID>,
    /// Only rows by this user.
    pub actor_user_id: Option<ID>,
    /// Only rows about this kind of entity, e.g. `blood_request`.
    pub entity_type: Option<String>,
    /// Only rows written at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Only rows written before this instant.
    pub to: Option<DateTime<Utc>>,
}

/// Order of `auditLogs`: by time (newest first by default).
#[derive(InputObject)]
pub struct AuditLogOrder {
    pub direction: SortDirection,
}

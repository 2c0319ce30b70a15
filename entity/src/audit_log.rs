//! `audit_logs`: append-only record of every mutation and every read of health data.

use crate::AuditOutcome;
use sea_orm::entity::prelude::*;

/// One audited event. Rows are inserted, never updated or deleted.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_logs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub actor_user_id: Option<Uuid>,
    pub actor_api_client_id: Option<Uuid>,
    /// `ANONYMOUS`, `SUPER_ADMIN`, `USER`, an organization role, or `API_CLIENT`.
    pub actor_role: String,
    pub organization_id: Option<Uuid>,
    pub action: String,
    pub entity_type: Option<String>,
    pub entity_id: Option<Uuid>,
    pub old_values: Option<Json>,
    pub new_values: Option<Json>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub outcome: AuditOutcome,
    pub error_code: Option<String>,
    pub request_id: Option<String>,
    pub created_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

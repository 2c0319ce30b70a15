//! Audit rows: what a mutation changed (written by [`crate::pipeline`] in the mutation's
//! transaction), what a refused or failed one attempted, and the buffered reads of health
//! data. Nothing here updates or deletes a row.

use crate::{
    auth::{Actor, Viewer},
    db,
    error::AppError,
};
use entity::{AuditOutcome, audit_log};
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use uuid::Uuid;

/// What is being attempted, known before the attempt (so a refusal can be recorded).
#[derive(Debug, Clone)]
pub struct AuditAction {
    /// Dotted name, e.g. `organization.approve`.
    pub action: &'static str,
    /// The kind of entity touched.
    pub entity_type: &'static str,
    /// The entity, when the input names it.
    pub entity_id: Option<Uuid>,
}

impl AuditAction {
    /// An action on a kind of entity.
    pub fn new(action: &'static str, entity_type: &'static str) -> Self {
        Self {
            action,
            entity_type,
            entity_id: None,
        }
    }

    /// The entity the input names.
    pub fn on(mut self, id: Uuid) -> Self {
        self.entity_id = Some(id);
        self
    }
}

/// What a successful mutation changed, for its audit row.
#[derive(Debug, Default, Clone)]
pub struct Change {
    /// The entity changed (defaults to the one named by the action).
    pub entity_id: Option<Uuid>,
    /// The organization the change belongs to, if the actor's doesn't say.
    pub organization_id: Option<Uuid>,
    pub old: Option<serde_json::Value>,
    pub new: Option<serde_json::Value>,
    /// The acting user, when only the mutation establishes it (register, login).
    pub actor_user_id: Option<Uuid>,
    /// The role the actor acted in, when only the work establishes it (a consultation's
    /// patient or doctor).
    pub actor_role: Option<String>,
    /// Events to publish once the transaction has committed (never before).
    pub events: Vec<crate::events::Event>,
}

/// Where a request came from, as every audit row records it.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// The request id (also in the logs and in error extensions).
    pub request_id: &'a str,
    /// The client IP (from `X-Forwarded-For` only behind a trusted proxy).
    pub ip: Option<std::net::IpAddr>,
    /// The client's user agent.
    pub user_agent: Option<&'a str>,
}

/// Writes the FAILURE row of a refused or failed attempt, in a statement of its own (after
/// the attempt's transaction rolled back). A failure to write it is logged, never returned:
/// it must not hide the original error.
pub async fn record_failure<C: ConnectionTrait>(
    db: &C,
    origin: Origin<'_>,
    what: &AuditAction,
    actor: &Actor,
    org: Option<Uuid>,
    err: &AppError,
) {
    let change = Change {
        organization_id: org,
        ..Change::default()
    };
    insert_failure(db, origin, what, actor, err, change).await;
}

/// Writes the FAILURE row of a request refused before any operation ran (the MFA enrolment
/// gate, `auth/mfa.rs`), with what it asked for (`attempted`, e.g. its root fields), in a
/// statement of its own. Like [`record_failure`], a failure to write it is only logged.
pub async fn record_refusal<C: ConnectionTrait>(
    db: &C,
    origin: Origin<'_>,
    what: &AuditAction,
    actor: &Actor,
    err: &AppError,
    attempted: serde_json::Value,
) {
    let change = Change {
        new: Some(attempted),
        ..Change::default()
    };
    insert_failure(db, origin, what, actor, err, change).await;
}

async fn insert_failure<C: ConnectionTrait>(
    db: &C,
    origin: Origin<'_>,
    what: &AuditAction,
    actor: &Actor,
    err: &AppError,
    change: Change,
) {
    let row = row(
        origin,
        what,
        actor,
        AuditOutcome::Failure,
        Some(err.code()),
        change,
    );
    if let Err(e) = audit_log::Entity::insert(row).exec(db).await {
        tracing::error!(request_id = origin.request_id, error = %e, action = what.action, "could not write FAILURE audit row");
    }
}

/// The SUCCESS row of a mutation, to insert in its transaction.
pub fn success_row(
    origin: Origin<'_>,
    what: &AuditAction,
    actor: &Actor,
    change: Change,
) -> audit_log::ActiveModel {
    row(origin, what, actor, AuditOutcome::Success, None, change)
}

fn row(
    origin: Origin<'_>,
    what: &AuditAction,
    actor: &Actor,
    outcome: AuditOutcome,
    code: Option<&str>,
    change: Change,
) -> audit_log::ActiveModel {
    audit_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        actor_user_id: Set(change.actor_user_id.or(actor.user_id)),
        actor_api_client_id: Set(actor.api_client_id),
        actor_role: Set(change
            .actor_role
            .clone()
            .unwrap_or_else(|| actor.role.clone())),
        organization_id: Set(change.organization_id.or(actor.organization_id)),
        action: Set(what.action.to_string()),
        entity_type: Set(Some(what.entity_type.to_string())),
        entity_id: Set(change.entity_id.or(what.entity_id)),
        old_values: Set(change.old),
        new_values: Set(change.new),
        ip: Set(origin.ip.map(|ip| ip.to_string())),
        user_agent: Set(origin.user_agent.map(|ua| ua.chars().take(512).collect())),
        outcome: Set(outcome),
        error_code: Set(code.map(str::to_string)),
        request_id: Set(Some(origin.request_id.to_string())),
        created_at: Set(db::now()),
    }
}

/// Reads of protected health data made during one request, written as one multi-row insert
/// when the request ends (so a page of 50 costs one statement, not 50).
#[derive(Default, Debug)]
pub struct ReadBuffer {
    reads: std::sync::Mutex<Vec<ReadRecord>>,
}

/// One audited read.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadRecord {
    /// e.g. `blood_request.read_patient`.
    pub action: &'static str,
    /// Kind of entity read.
    pub entity_type: &'static str,
    pub entity_id: Uuid,
    pub organization_id: Option<Uuid>,
}

impl ReadBuffer {
    /// Notes a read; the same entity read twice in one request is recorded once.
    pub fn record(&self, r: ReadRecord) {
        if let Ok(mut v) = self.reads.lock()
            && !v.contains(&r)
        {
            v.push(r);
        }
    }

    fn take(&self) -> Vec<ReadRecord> {
        self.reads
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }
}

/// Writes the buffered reads of a request in one statement.
pub async fn flush_reads<C: ConnectionTrait>(
    db: &C,
    origin: Origin<'_>,
    viewer: &Viewer,
    buffer: &ReadBuffer,
) {
    let reads = buffer.take();
    if reads.is_empty() {
        return;
    }
    let actor = Actor::of(viewer);
    let rows: Vec<audit_log::ActiveModel> = reads
        .into_iter()
        .map(|r| {
            let what = AuditAction {
                action: r.action,
                entity_type: r.entity_type,
                entity_id: Some(r.entity_id),
            };
            let change = Change {
                organization_id: r.organization_id,
                ..Change::default()
            };
            row(origin, &what, &actor, AuditOutcome::Success, None, change)
        })
        .collect();
    if let Err(e) = audit_log::Entity::insert_many(rows).exec(db).await {
        // The cause, not the public "internal error": this line is for whoever fixes it.
        tracing::error!(request_id = origin.request_id, error = %e, "could not write read audit rows");
    }
}

//! Writing audit rows, and the transaction wrapper every mutation runs in.

use crate::{
    auth::{Actor, Rule, authorize},
    db,
    error::{AppError, AppResult},
    graphql::context::{CtxExt, RequestCtx},
};
use async_graphql::Context;
use entity::{AuditOutcome, audit_log};
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use std::{future::Future, pin::Pin};
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

    /// The entity the input names, if its id parsed (a malformed one is refused later, in
    /// the work, and the attempt is still recorded).
    pub fn on_parsed(self, id: &AppResult<Uuid>) -> Self {
        match id {
            Ok(id) => self.on(*id),
            Err(_) => self,
        }
    }
}

/// What a successful mutation changed, for its audit row.
#[derive(Debug, Default, Clone)]
pub struct Change {
    /// The entity changed (defaults to the one named by the action).
    pub entity_id: Option<Uuid>,
    /// The organization the change belongs to, if the actor's doesn't say.
    pub organization_id: Option<Uuid>,
    /// Values before.
    pub old: Option<serde_json::Value>,
    /// Values after.
    pub new: Option<serde_json::Value>,
    /// The acting user, when only the mutation establishes it (register, login).
    pub actor_user_id: Option<Uuid>,
    /// The role the actor acted in, when only the work establishes it (a consultation's
    /// patient or doctor).
    pub actor_role: Option<String>,
    /// Events to publish once the transaction has committed (never before).
    pub events: Vec<crate::events::Event>,
}

/// The work of a mutation, run inside its transaction.
pub type Work<'c, T> = Pin<Box<dyn Future<Output = AppResult<(T, Change)>> + Send + 'c>>;

/// Runs a mutation: checks `rule`, opens a write transaction, runs `work`, writes the
/// SUCCESS audit row in the same transaction and commits. On refusal or failure nothing
/// of the work is kept and a FAILURE row is written in a transaction of its own.
pub async fn mutate<T, F>(ctx: &Context<'_>, what: AuditAction, rule: Rule, work: F) -> AppResult<T>
where
    T: Send,
    F: for<'c> FnOnce(&'c db::CountedTxn, &'c Actor) -> Work<'c, T> + Send,
{
    let req = ctx.req()?;
    let actor = match authorize(&req.viewer, rule) {
        Ok(a) => a,
        Err(e) => {
            let actor = Actor::of(&req.viewer);
            record_failure(req, &what, &actor, rule_org(rule), &e).await;
            return Err(e);
        }
    };
    let result = async {
        let txn = req.db.begin_write().await?;
        let (value, mut change) = work(&txn, &actor).await?;
        let events = std::mem::take(&mut change.events);
        let row = row(req, &what, &actor, AuditOutcome::Success, None, change);
        audit_log::Entity::insert(row).exec(&txn).await?;
        txn.commit().await?;
        if !events.is_empty() {
            ctx.app()?.events.publish(events).await;
        }
        Ok::<T, AppError>(value)
    }
    .await;
    if let Err(e) = &result {
        // The transaction was dropped, which rolled it back; now record the attempt.
        record_failure(req, &what, &actor, actor.organization_id, e).await;
    }
    result
}

fn rule_org(rule: Rule) -> Option<Uuid> {
    match rule {
        Rule::ActFor { org, .. } | Rule::ReadOrg { org, .. } => Some(org),
        _ => None,
    }
}

async fn record_failure(
    req: &RequestCtx,
    what: &AuditAction,
    actor: &Actor,
    org: Option<Uuid>,
    err: &AppError,
) {
    let change = Change {
        organization_id: org,
        ..Change::default()
    };
    let row = row(
        req,
        what,
        actor,
        AuditOutcome::Failure,
        Some(err.code()),
        change,
    );
    // A failure to audit a failure must not hide the original error; it is logged loudly.
    if let Err(e) = audit_log::Entity::insert(row).exec(&req.db).await {
        tracing::error!(request_id = %req.request_id, error = %e, action = what.action, "could not write FAILURE audit row");
    }
}

fn row(
    req: &RequestCtx,
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
        ip: Set(req.ip.map(|ip| ip.to_string())),
        user_agent: Set(req
            .user_agent
            .clone()
            .map(|ua| ua.chars().take(512).collect())),
        outcome: Set(outcome),
        error_code: Set(code.map(str::to_string)),
        request_id: Set(Some(req.request_id.clone())),
        created_at: Set(db::now()),
    }
}

/// Writes several audit rows (reads of health data) in one multi-row insert.
pub async fn insert_many<C: ConnectionTrait>(
    db: &C,
    rows: Vec<audit_log::ActiveModel>,
) -> AppResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    audit_log::Entity::insert_many(rows).exec(db).await?;
    Ok(())
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
    /// The entity.
    pub entity_id: Uuid,
    /// Its organization.
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
pub async fn flush_reads(req: &RequestCtx) {
    let reads = req.reads.take();
    if reads.is_empty() {
        return;
    }
    let actor = Actor::of(&req.viewer);
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
            row(req, &what, &actor, AuditOutcome::Success, None, change)
        })
        .collect();
    if let Err(e) = insert_many(&req.db, rows).await {
        tracing::error!(request_id = %req.request_id, error = e.public_message(), "could not write read audit rows");
    }
}

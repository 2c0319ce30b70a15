//! The mutation pipeline. Every mutation is a typed [`Command`]: its GraphQL input parsed
//! once into a validated value (`TryFrom<…Input>`), then handed to [`run`], which
//!
//! 1. authorizes the caller once against the command's [`Rule`] (a refusal is audited, unless
//!    the caller is anonymous: that is only logged and counted);
//! 2. answers a retry that carries a known idempotency key with the first result;
//! 3. opens the write transaction (`BEGIN IMMEDIATE` on SQLite) and runs the command's use
//!    case, which does the whole workflow (alerts, stock checks, notifications);
//! 4. queues the webhook deliveries of what happened (`webhooks::publish`), remembers the
//!    idempotency key, writes the SUCCESS audit row, commits;
//! 5. publishes the events the use case collected, only after the commit.
//!
//! On any failure the transaction rolls back and a FAILURE row is written on its own. The
//! one race policy: identical retries racing each other all get the first result (the
//! losers roll back, find the winner's key and answer from it).
//!
//! Use cases live in each domain's `service.rs` and take a transaction and plain values, so
//! jobs, `seed`, the benchmarks and tests call the same functions.

use crate::{
    audit::{AuditAction, Change, record},
    auth::{Actor, Rule, Viewer, authorize},
    db::{CountedTxn, Db},
    error::{AppError, AppResult},
    graphql::context::{CtxExt, RequestCtx},
    idempotency::{IdemKey, RetryKey},
    state::AppState,
};
use async_graphql::Context;
use sea_orm::EntityTrait;
use std::future::Future;
use uuid::Uuid;

/// What a use case may use: the transaction, who acts, and the shared state.
pub struct Exec<'a> {
    /// The mutation's write transaction.
    pub txn: &'a CountedTxn,
    /// Who acts, in which role, for which organization (as the audit row records it).
    pub actor: &'a Actor,
    /// The caller, for row-level rules decided once the row is held (`auth::care`).
    pub viewer: &'a Viewer,
    /// Settings, keys and the event bus.
    pub app: &'a AppState,
}

impl Exec<'_> {
    /// The user acting, for a use case only a user (not an API client) performs.
    pub fn user(&self) -> AppResult<Uuid> {
        self.actor
            .user_id
            .ok_or(AppError::Forbidden("only users do this"))
    }
}

/// A mutation, parsed and validated, ready to run.
pub trait Command: Sized + Send + TryFrom<Self::Input, Error = AppError> {
    /// The GraphQL input it is parsed from.
    type Input: Send;
    /// What the mutation returns to its resolver.
    type Output: Send;
    /// The audit action, e.g. `blood_request.accept`.
    const ACTION: &'static str;
    /// The kind of entity it touches, e.g. `blood_request`.
    const ENTITY: &'static str;
    /// Who may run it, when that does not depend on the input.
    const RULE: Rule = Rule::Authenticated;

    /// Who may run it, read from the input as sent (the organization it names), so that
    /// authorization comes before validation: a caller who may not act for that
    /// organization is refused whatever else is wrong with the input. Defaults to
    /// [`Command::RULE`].
    fn authority(_input: &Self::Input) -> Rule {
        Self::RULE
    }

    /// Who may run it once parsed and located, when that says more than the input did (a
    /// report's organization, found by [`Command::locate`]).
    fn rule(&self) -> Option<Rule> {
        None
    }

    /// Reads what the rule depends on when the input does not say it (the organization of
    /// the report a review names), after parsing and before authorization. A row that does
    /// not exist leaves the command as it is: its rule then asks only for a known caller,
    /// and its use case answers `NOT_FOUND`.
    fn locate(self, _db: &Db) -> impl Future<Output = AppResult<Self>> + Send {
        async { Ok(self) }
    }

    /// The entity the input names, for the audit row of a refused attempt.
    fn entity_id(&self) -> Option<Uuid> {
        None
    }

    /// The caller's idempotency key, for mutations partners retry.
    fn retry_key(&self) -> Option<&RetryKey> {
        None
    }

    /// The operation a retry key belongs to (its GraphQL name).
    fn operation(&self) -> &'static str {
        Self::ACTION
    }

    /// Work done after authorization and before the write transaction, such as hashing a
    /// password, so it does not hold the write lock.
    fn prepare(self, _app: &AppState) -> impl Future<Output = AppResult<Self>> + Send {
        async { Ok(self) }
    }

    /// The use case, inside the write transaction: the result and what changed.
    fn execute(
        self,
        exec: &Exec<'_>,
    ) -> impl Future<Output = AppResult<(Self::Output, Change)>> + Send;

    /// The id a retry is answered from (idempotent commands only).
    fn result_id(_output: &Self::Output) -> Option<Uuid> {
        None
    }

    /// Loads the answer of a remembered first attempt (idempotent commands only).
    fn replay(_db: &Db, _id: Uuid) -> impl Future<Output = AppResult<Self::Output>> + Send {
        async { Err(AppError::internal("this command keeps no idempotency keys")) }
    }
}

/// Parses an input into its command and runs it through the pipeline.
pub async fn run<C: Command>(ctx: &Context<'_>, input: C::Input) -> AppResult<C::Output> {
    let req = ctx.req()?;
    let app = ctx.app()?;
    let authority = C::authority(&input);
    let parsed = match C::try_from(input) {
        Ok(cmd) => cmd.locate(&req.db).await,
        Err(e) => Err(e),
    };
    let mut what = AuditAction::new(C::ACTION, C::ENTITY);
    what.entity_id = parsed.as_ref().ok().and_then(C::entity_id);
    let rule = parsed
        .as_ref()
        .ok()
        .and_then(Command::rule)
        .unwrap_or(authority);
    let actor = match authorize(&req.viewer, rule) {
        Ok(actor) => actor,
        // Anyone can send these by the thousand, naming any organization: a row each would
        // let strangers fill the audit trail and organizations' views of it.
        Err(e) if matches!(req.viewer, Viewer::Anonymous { .. }) => {
            tracing::info!(
                request_id = %req.request_id,
                action = C::ACTION,
                organization = ?rule_org(rule),
                code = e.code(),
                "anonymous mutation refused"
            );
            app.metrics.record_anonymous_refusal(C::ACTION);
            return Err(e);
        }
        Err(e) => {
            let actor = Actor::of(&req.viewer);
            fail(req, &what, &actor, rule_org(rule), &e).await;
            return Err(e);
        }
    };
    let cmd = match parsed {
        Ok(cmd) => cmd,
        Err(e) => {
            fail(req, &what, &actor, actor.organization_id, &e).await;
            return Err(e);
        }
    };
    let key = cmd
        .retry_key()
        .and_then(|k| IdemKey::scoped(&req.viewer, cmd.operation(), k));
    if let Some(k) = &key
        && let Some(id) = k.lookup(&req.db).await?
    {
        return C::replay(&req.db, id).await;
    }
    let result = attempt(req, app, &what, &actor, cmd, key.as_ref()).await;
    let Err(e) = result else {
        return result;
    };
    // The transaction was dropped, which rolled it back; now record the attempt.
    fail(req, &what, &actor, actor.organization_id, &e).await;
    // An identical attempt that won a race leaves this one with a taken key, or with the
    // state the winner moved on (INVALID_TRANSITION, CONFLICT): answer with its result.
    if let Some(k) = &key
        && let Ok(Some(id)) = k.lookup(&req.db).await
    {
        return C::replay(&req.db, id).await;
    }
    Err(e)
}

/// Declares a domain's mutation root when every one of its mutations is a command answered
/// with its payload ([`respond`]), so the root reads as a table of
/// `/// description` and `fieldName(Input) -> Payload = Command;`.
macro_rules! command_mutations {
    (
        $(#[$root_meta:meta])*
        $root:ident {
            $( $(#[$meta:meta])* $field:ident($input:ty) -> $payload:ty = $command:ty; )*
        }
    ) => {
        $(#[$root_meta])*
        #[derive(Default)]
        pub struct $root;

        #[async_graphql::Object]
        impl $root {
            $(
                $(#[$meta])*
                async fn $field(
                    &self,
                    ctx: &async_graphql::Context<'_>,
                    input: $input,
                ) -> $crate::error::AppResult<$payload> {
                    $crate::pipeline::respond::<$command, _>(ctx, input).await
                }
            )*
        }
    };
}
pub(crate) use command_mutations;

/// Runs a command and answers with its mutation's payload (`From` the command's output).
pub async fn respond<C: Command, P: From<C::Output>>(
    ctx: &Context<'_>,
    input: C::Input,
) -> AppResult<P> {
    run::<C>(ctx, input).await.map(P::from)
}

async fn attempt<C: Command>(
    req: &RequestCtx,
    app: &AppState,
    what: &AuditAction,
    actor: &Actor,
    cmd: C,
    key: Option<&IdemKey>,
) -> AppResult<C::Output> {
    let cmd = cmd.prepare(app).await?;
    let txn = req.db.begin_write().await?;
    let exec = Exec {
        txn: &txn,
        actor,
        viewer: &req.viewer,
        app,
    };
    let (value, mut change) = cmd.execute(&exec).await?;
    if let Some(k) = key
        && let Some(id) = C::result_id(&value)
    {
        k.remember(&txn, id, app.config.idempotency_ttl).await?;
    }
    let mut events = std::mem::take(&mut change.events);
    // Partners' webhooks hear of it in the same transaction (`webhooks::publish`).
    crate::webhooks::publish::enqueue_for(
        &txn,
        C::ACTION,
        C::ENTITY,
        change.entity_id.or(what.entity_id),
        &mut events,
    )
    .await?;
    entity::audit_log::Entity::insert(record::success_row(req.origin(), what, actor, change))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    if !events.is_empty() {
        // Before answering, so that the caller's next request here sees the change; other
        // instances apply it when the event arrives.
        app.viewers.revoke_all_in(&events);
        app.events.publish(events).await;
    }
    Ok(value)
}

fn rule_org(rule: Rule) -> Option<Uuid> {
    match rule {
        Rule::ActFor { org, .. } | Rule::ReadOrg { org, .. } => Some(org),
        _ => None,
    }
}

async fn fail(
    req: &RequestCtx,
    what: &AuditAction,
    actor: &Actor,
    org: Option<Uuid>,
    e: &AppError,
) {
    record::record_failure(&req.db, req.origin(), what, actor, org, e).await;
}

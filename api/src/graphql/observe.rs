//! An extension that tells the HTTP layer what happened to a request: which operation it
//! was, and whether execution started (a request that failed to parse or validate never
//! executes, and the GraphQL-over-HTTP spec answers it with 400); and the request's
//! connection handle whether a query's statements may share one connection. With
//! [`CheckOnly`] in the request's data it stops the request where execution would begin.

use async_graphql::{
    Pos, ServerResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery},
    parser::types::{ExecutableDocument, OperationType},
};
use std::sync::{Arc, Mutex};

/// What the HTTP layer learns about one executed GraphQL request.
#[derive(Default, Debug)]
pub struct Outcome {
    inner: Mutex<OutcomeInner>,
}

#[derive(Default, Debug, Clone)]
pub struct OutcomeInner {
    /// `query`, `mutation` or `subscription`, once parsed.
    pub op_type: Option<&'static str>,
    /// The operation's name, if it has one.
    pub op_name: Option<String>,
    /// True once validation passed and execution began.
    pub executed: bool,
    /// Where each argument's value starts in the document, with the argument's name
    /// (recorded by `Limits`), to name the argument of an error async-graphql raises
    /// without a code.
    pub arguments: Vec<(Pos, String)>,
}

/// In a request's data: check the request (parse, MFA gate, limits, validation) and stop
/// where execution would begin, answering nothing. The HTTP layer then runs the checked
/// document on the schema without extensions (`schema::runner`).
pub struct CheckOnly;

impl Outcome {
    /// A snapshot of what was recorded.
    pub fn get(&self) -> OutcomeInner {
        self.inner.lock().map(|g| g.clone()).unwrap_or_default()
    }

    pub(crate) fn update(&self, f: impl FnOnce(&mut OutcomeInner)) {
        if let Ok(mut g) = self.inner.lock() {
            f(&mut g);
        }
    }
}

pub struct Observe;

impl ExtensionFactory for Observe {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ObserveExt)
    }
}

struct ObserveExt;

#[async_trait::async_trait]
impl Extension for ObserveExt {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        // Only a query's statements share one connection (see `Db::hold_reads`); a document
        // that also holds a mutation or subscription does not.
        if let Some(req) = ctx.data_opt::<Arc<crate::graphql::context::RequestCtx>>() {
            let queries_only = doc
                .operations
                .iter()
                .all(|(_, op)| op.node.ty == OperationType::Query);
            req.db.hold_reads(queries_only);
        }
        if let Some(outcome) = ctx.data_opt::<Arc<Outcome>>() {
            let (name, op) = match doc.operations.iter().next() {
                Some((name, op)) => (name.map(|n| n.to_string()), Some(op.node.ty)),
                None => (None, None),
            };
            outcome.update(|o| {
                o.op_type = op.map(op_type_name);
                o.op_name = name;
            });
        }
        Ok(doc)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> async_graphql::Response {
        if let Some(outcome) = ctx.data_opt::<Arc<Outcome>>() {
            outcome.update(|o| o.executed = true);
        }
        if ctx.data_opt::<CheckOnly>().is_some() {
            return async_graphql::Response::default();
        }
        next.run(ctx, operation_name).await
    }
}

/// The name of an operation type.
pub fn op_type_name(t: OperationType) -> &'static str {
    match t {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    }
}

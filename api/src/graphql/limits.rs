//! The query limits that count what a request may return, not only how it is written.
//!
//! async-graphql's own limits leave three holes: its complexity counts a list as one field
//! whatever its length, it never visits `__typename` (so a thousand aliases of it are free),
//! and its depth limit also applies to the standard introspection query, whose `ofType` chain
//! is nine levels deep. So the schema runs this extension instead of `limit_depth` and
//! `limit_complexity`:
//!
//! - a document may select at most `MAX_QUERY_FIELDS` fields, aliases and `__typename`
//!   included, counted through its fragments before async-graphql validates it;
//! - depth is `MAX_QUERY_DEPTH`; outside production the `ofType` chain inside `__schema` and
//!   `__type` does not count, so GraphiQL and schema tools can load the schema;
//! - complexity multiplies every list by the rows it may return (the cost functions below,
//!   named by the list fields' `complexity` attributes), and adds each `__typename` and each
//!   `totalCount` (a COUNT over the filter); the operations of one HTTP request share one
//!   budget of `MAX_QUERY_COMPLEXITY` ([`Budget`]).
//!
//! Once a query ran, an error async-graphql raised without a code (a variable that does not
//! coerce to its argument's type) gets `BAD_USER_INPUT` and the argument as its `field`.

use crate::graphql::pagination::DEFAULT_PAGE_SIZE;
use async_graphql::{
    ErrorExtensionValues, Pos, Request, Response, ServerError, ServerResult, ValidationResult,
    Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery,
        NextPrepareRequest, NextValidation,
    },
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};
use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

/// What one `totalCount` costs: a COUNT over everything the filter matches, whatever the page.
pub const TOTAL_COUNT_COST: usize = 100;

/// Rows assumed for a list that takes no `first`: the default page.
pub const UNPAGED_LIST_ROWS: usize = DEFAULT_PAGE_SIZE as usize;

/// No single cost goes above this, so sums of costs never overflow.
const COST_CEILING: usize = 1 << 40;

/// The cost of a connection: its selection once per row it may return (`first` or `last`,
/// else the default page), plus one.
pub fn page_cost(first: Option<i32>, last: Option<i32>, child: usize) -> usize {
    let rows = first
        .or(last)
        .map_or(UNPAGED_LIST_ROWS, |n| usize::try_from(n).unwrap_or(0))
        .max(1);
    scaled(rows, child)
}

/// The cost of a list without paging arguments: its selection once per row of a default page.
pub fn list_cost(child: usize) -> usize {
    scaled(UNPAGED_LIST_ROWS, child)
}

/// The cost of `openSlots`: its selection once per slot the window can hold.
pub fn slots_cost(
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
    duration_minutes: i32,
    child: usize,
) -> usize {
    let window = usize::try_from((to - from).num_minutes()).unwrap_or(0);
    let step = usize::try_from(duration_minutes).unwrap_or(1).max(1);
    scaled((window / step).max(1), child)
}

fn scaled(rows: usize, child: usize) -> usize {
    rows.saturating_mul(child)
        .saturating_add(1)
        .min(COST_CEILING)
}

/// The complexity budget the operations of one HTTP request share.
#[derive(Debug)]
pub struct Budget {
    left: AtomicUsize,
}

impl Budget {
    /// A budget of `total`.
    pub fn new(total: usize) -> Arc<Self> {
        Arc::new(Self {
            left: AtomicUsize::new(total),
        })
    }

    /// Takes `cost` from the budget if it is there.
    fn spend(&self, cost: usize) -> bool {
        self.left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(cost)
            })
            .is_ok()
    }
}

/// The extension's settings, from the config.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `MAX_QUERY_FIELDS`.
    pub max_fields: usize,
    /// `MAX_QUERY_DEPTH`.
    pub max_depth: usize,
    /// `MAX_QUERY_COMPLEXITY`: per operation, and per HTTP request when [`Budget`] is given.
    pub max_complexity: usize,
    /// Whether introspection's `ofType` chain is exempt from the depth limit.
    pub introspection_depth_exempt: bool,
}

impl ExtensionFactory for Limits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(LimitsExt {
            limits: *self,
            state: Mutex::default(),
        })
    }
}

#[derive(Default)]
struct State {
    operation_name: Option<String>,
    /// What async-graphql's complexity leaves out.
    extra_cost: usize,
    /// Where each argument's value starts, to name the argument of an uncoded error.
    arguments: Vec<(Pos, String)>,
}

struct LimitsExt {
    limits: Limits,
    state: Mutex<State>,
}

impl LimitsExt {
    fn with_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> Option<T> {
        self.state.lock().ok().map(|mut s| f(&mut s))
    }
}

/// A request refused by a limit, with the code of a validation failure.
fn refused(message: &str) -> ServerError {
    let mut e = ServerError::new(message, None);
    let mut ext = ErrorExtensionValues::default();
    ext.set("code", "GRAPHQL_VALIDATION_FAILED");
    e.extensions = Some(ext);
    e
}

#[async_trait::async_trait]
impl Extension for LimitsExt {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let name = request.operation_name.clone();
        self.with_state(|s| s.operation_name = name);
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        let name = self.with_state(|s| s.operation_name.clone()).flatten();
        let mut walk = Walk {
            doc: &doc,
            exempt: self.limits.introspection_depth_exempt,
            memo: HashMap::new(),
            arguments: Vec::new(),
        };
        let mut stats = Stats::default();
        for (op_name, op) in doc.operations.iter() {
            if name.is_some() && op_name.map(|n| n.as_str()) != name.as_deref() {
                continue;
            }
            stats = stats.beside(walk.set(&op.node.selection_set.node, Place::Root));
        }
        if stats.fields > self.limits.max_fields {
            return Err(refused(&format!(
                "Query selects too many fields: at most {} are allowed, aliases and __typename included.",
                self.limits.max_fields
            )));
        }
        if stats.depth > self.limits.max_depth {
            return Err(refused("Query is nested too deep."));
        }
        let mut arguments = walk.arguments;
        // Over HTTP the operation runs on the schema without extensions, and the HTTP layer
        // codes its errors from the outcome; elsewhere this extension's `execute` does.
        if let Some(outcome) = ctx.data_opt::<Arc<crate::graphql::observe::Outcome>>() {
            outcome.update(|o| o.arguments = std::mem::take(&mut arguments));
        }
        self.with_state(|s| {
            s.extra_cost = stats
                .typenames
                .saturating_add(stats.totals.saturating_mul(TOTAL_COUNT_COST));
            s.arguments = arguments;
        });
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let mut result = next.run(ctx).await?;
        let extra = self.with_state(|s| s.extra_cost).unwrap_or(0);
        result.complexity = result.complexity.saturating_add(extra);
        if result.complexity > self.limits.max_complexity {
            return Err(vec![refused(&format!(
                "Query is too complex: it may return {} values, at most {} are allowed (a list counts its `first`, 20 by default).",
                result.complexity, self.limits.max_complexity
            ))]);
        }
        if let Some(budget) = ctx.data_opt::<Arc<Budget>>()
            && !budget.spend(result.complexity)
        {
            return Err(vec![refused(&format!(
                "The batch is too complex: its operations share one budget of {} values.",
                self.limits.max_complexity
            ))]);
        }
        Ok(result)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut resp = next.run(ctx, operation_name).await;
        let arguments = self
            .with_state(|s| std::mem::take(&mut s.arguments))
            .unwrap_or_default();
        code_uncoded_errors(&mut resp, &arguments);
        resp
    }
}

/// Gives a code to each error async-graphql raised without one while running: a variable
/// that does not coerce to its argument's type is `BAD_USER_INPUT` with the argument (found
/// by where its value starts, from `arguments`) as its `field`; anything else, such as a
/// subscription sent over HTTP, is `BAD_REQUEST`.
pub fn code_uncoded_errors(resp: &mut Response, arguments: &[(Pos, String)]) {
    for e in resp.errors.iter_mut().filter(|e| code_of(e).is_none()) {
        let argument = e
            .locations
            .first()
            .and_then(|pos| arguments.iter().find(|(p, _)| p == pos))
            .map(|(_, name)| name.clone());
        let ext = e.extensions.get_or_insert_with(Default::default);
        match argument {
            Some(field) => {
                ext.set("code", "BAD_USER_INPUT");
                ext.set("field", field);
            }
            None => ext.set("code", "BAD_REQUEST"),
        }
    }
}

fn code_of(e: &ServerError) -> Option<&async_graphql::Value> {
    e.extensions.as_ref().and_then(|x| x.get("code"))
}

/// What a selection set holds, fragments expanded.
#[derive(Debug, Default, Clone, Copy)]
struct Stats {
    fields: usize,
    depth: usize,
    typenames: usize,
    totals: usize,
}

impl Stats {
    fn beside(self, o: Stats) -> Stats {
        Stats {
            fields: self.fields.saturating_add(o.fields),
            depth: self.depth.max(o.depth),
            typenames: self.typenames.saturating_add(o.typenames),
            totals: self.totals.saturating_add(o.totals),
        }
    }
}

/// Where a selection set sits: at the root, inside introspection, or elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Place {
    Root,
    Introspection,
    Data,
}

struct Walk<'a> {
    doc: &'a ExecutableDocument,
    exempt: bool,
    /// Each fragment is counted once per place; `None` while it is being counted, so a
    /// cycle (which validation refuses anyway) counts as nothing instead of looping.
    memo: HashMap<(&'a str, Place), Option<Stats>>,
    arguments: Vec<(Pos, String)>,
}

impl<'a> Walk<'a> {
    fn set(&mut self, set: &'a SelectionSet, place: Place) -> Stats {
        let mut stats = Stats::default();
        for item in &set.items {
            let s = match &item.node {
                Selection::Field(f) => {
                    let f = &f.node;
                    let name = f.name.node.as_str();
                    for (arg, value) in &f.arguments {
                        self.arguments.push((value.pos, arg.node.to_string()));
                    }
                    let inner = match place {
                        Place::Root if name == "__schema" || name == "__type" => {
                            Place::Introspection
                        }
                        Place::Root => Place::Data,
                        p => p,
                    };
                    let sub = self.set(&f.selection_set.node, inner);
                    // The `ofType` chain of a type reference is as deep as the deepest
                    // wrapping (`[[T!]!]!`), not something a client can amplify.
                    let level = usize::from(
                        !(self.exempt && inner == Place::Introspection && name == "ofType"),
                    );
                    Stats {
                        fields: sub.fields.saturating_add(1),
                        depth: sub.depth + level,
                        typenames: sub.typenames + usize::from(name == "__typename"),
                        totals: sub.totals + usize::from(name == "totalCount"),
                    }
                }
                Selection::FragmentSpread(spread) => {
                    self.fragment(spread.node.fragment_name.node.as_str(), place)
                }
                Selection::InlineFragment(inline) => {
                    self.set(&inline.node.selection_set.node, place)
                }
            };
            stats = stats.beside(s);
        }
        stats
    }

    fn fragment(&mut self, name: &'a str, place: Place) -> Stats {
        match self.memo.get(&(name, place)) {
            Some(Some(stats)) => return *stats,
            Some(None) => return Stats::default(),
            None => {}
        }
        let Some(fragment) = self
            .doc
            .fragments
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, f)| f)
        else {
            return Stats::default();
        };
        self.memo.insert((name, place), None);
        let stats = self.set(&fragment.node.selection_set.node, place);
        self.memo.insert((name, place), Some(stats));
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_costs_its_rows_times_its_selection() {
        assert_eq!(page_cost(None, None, 5), 101);
        assert_eq!(page_cost(Some(100), None, 5), 501);
        assert_eq!(page_cost(None, Some(3), 5), 16);
        // An empty or negative page still costs its selection once (totalCount runs).
        assert_eq!(page_cost(Some(0), None, 5), 6);
        assert_eq!(page_cost(Some(-4), None, 5), 6);
        assert_eq!(page_cost(Some(i32::MAX), None, usize::MAX), COST_CEILING);
    }

    #[test]
    fn slots_cost_the_slots_the_window_can_hold() {
        let from = chrono::DateTime::parse_from_rfc3339("2027-03-01T00:00:00Z")
            .expect("date")
            .with_timezone(&chrono::Utc);
        let to = from + chrono::Duration::days(7);
        assert_eq!(slots_cost(from, to, 30, 2), 7 * 48 * 2 + 1);
        // A reversed window returns nothing and costs one slot.
        assert_eq!(slots_cost(to, from, 30, 2), 3);
    }
}

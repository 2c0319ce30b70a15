//! Relay cursor connections with keyset pagination, used by every list.
//!
//! A cursor holds the row's sort key and id, so a page boundary is a `WHERE (key, id) > (…)`
//! predicate rather than an OFFSET: pages stay stable when rows are inserted while a client
//! walks them, and deep pages cost the same as the first.

use crate::error::{AppError, AppResult};
use async_graphql::{
    Enum, OutputType, SimpleObject,
    connection::{Connection, Edge},
};
use base64::Engine as _;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, Order,
    PaginatorTrait, QueryFilter, QueryOrder, QueryResult, QuerySelect, QueryTrait, Select, Value,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Default page size when neither `first` nor `last` is given.
pub const DEFAULT_PAGE_SIZE: u64 = 20;

/// Sort direction of an `orderBy` input.
#[derive(Enum, Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum SortDirection {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

/// Extra fields of every connection.
#[derive(SimpleObject, Debug, Default)]
pub struct ConnectionFields {
    /// How many rows match the filter, across all pages. Costs one query, so it is only
    /// computed when selected.
    pub total_count: u64,
}

/// The connection type every list returns.
pub type Conn<N> = Connection<String, N, ConnectionFields>;

/// `first`/`after`/`last`/`before` as a client sent them.
#[derive(Debug, Default, Clone)]
pub struct PageArgs {
    /// Page forward: this many rows.
    pub first: Option<i32>,
    /// Page forward: after this cursor.
    pub after: Option<String>,
    /// Page backward: this many rows.
    pub last: Option<i32>,
    /// Page backward: before this cursor.
    pub before: Option<String>,
}

impl PageArgs {
    /// The four paging arguments of a list field, as its resolver received them.
    pub fn new(
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Self {
        Self {
            first,
            after,
            last,
            before,
        }
    }
}

/// A sort key value as stored in a cursor.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "t", content = "v")]
pub enum SortValue {
    Time(chrono::DateTime<chrono::Utc>),
    Text(String),
    Int(i64),
    Float(f64),
}

impl From<SortValue> for Value {
    fn from(v: SortValue) -> Self {
        match v {
            SortValue::Time(t) => t.into(),
            SortValue::Text(s) => s.into(),
            SortValue::Int(i) => i.into(),
            SortValue::Float(f) => f.into(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct CursorData {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    k: Option<SortValue>,
    id: Uuid,
}

fn encode_cursor(k: Option<SortValue>, id: Uuid) -> String {
    let json = serde_json::to_vec(&CursorData { k, id }).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

fn decode_cursor(s: &str, field: &str) -> AppResult<CursorData> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| AppError::bad_input(field, "not a cursor from this list"))
}

/// A sort column with the function that reads its value from a row.
pub type SortKey<E> = (
    <E as EntityTrait>::Column,
    fn(&<E as EntityTrait>::Model) -> SortValue,
);

/// How a list is sorted: an optional key column (with how to read it from a row), always
/// followed by the id column so the order is total.
pub struct Keyset<E: EntityTrait> {
    /// The sort column, or `None` to sort by id alone (ids are UUIDv7: creation order).
    pub key: Option<SortKey<E>>,
    pub id: E::Column,
    /// Reads the id of a row.
    pub id_of: fn(&E::Model) -> Uuid,
    pub direction: SortDirection,
}

impl<E: EntityTrait> Keyset<E> {
    /// Sorted by `key` (`None`: creation order), then by the id column `id` read by `id_of`.
    pub fn new(
        key: Option<SortKey<E>>,
        id: E::Column,
        id_of: fn(&E::Model) -> Uuid,
        direction: SortDirection,
    ) -> Self {
        Self {
            key,
            id,
            id_of,
            direction,
        }
    }
}

/// One fetched page.
pub struct Page<M> {
    /// Rows with their cursors, in the requested order.
    pub rows: Vec<(String, M)>,
    /// Whether there are rows before the first one.
    pub has_previous: bool,
    /// Whether there are rows after the last one.
    pub has_next: bool,
    /// Total rows matching, when asked for.
    pub total: Option<u64>,
}

impl<M> Page<M> {
    /// Turns the page into a connection, mapping each row to its GraphQL node.
    pub fn into_connection<N: OutputType>(self, f: impl Fn(M) -> N) -> Conn<N> {
        let mut conn = Connection::with_additional_fields(
            self.has_previous,
            self.has_next,
            ConnectionFields {
                total_count: self.total.unwrap_or(0),
            },
        );
        conn.edges
            .extend(self.rows.into_iter().map(|(c, m)| Edge::new(c, f(m))));
        conn
    }
}

/// Decodes a row of `Entity::find()` into its model.
pub type Decode<E> = fn(&QueryResult) -> Result<<E as EntityTrait>::Model, DbErr>;

/// Fetches one page of `select` (already filtered) in the keyset's order, each row decoded by
/// `decode` (the derive's, or one written for a list whose rows cost enough to decode by hand,
/// such as `blood_request::decode`).
///
/// Costs one statement, plus one `COUNT` when `with_total` is set.
#[allow(clippy::too_many_arguments)]
pub async fn fetch_page<E, C>(
    db: &C,
    select: Select<E>,
    keyset: &Keyset<E>,
    args: &PageArgs,
    max_page_size: u64,
    with_total: bool,
    decode: Decode<E>,
) -> AppResult<Page<E::Model>>
where
    E: EntityTrait,
    E::Model: Send + Sync,
    C: ConnectionTrait,
{
    let (size, backward) = match (args.first, args.last) {
        (Some(_), Some(_)) => {
            return Err(AppError::bad_input("first", "give first or last, not both"));
        }
        (Some(n), None) => (check_size(n, "first", max_page_size)?, false),
        (None, Some(n)) => (check_size(n, "last", max_page_size)?, true),
        (None, None) => (DEFAULT_PAGE_SIZE.min(max_page_size), args.before.is_some()),
    };
    let total = if with_total {
        Some(select.clone().count(db).await?)
    } else {
        None
    };
    let mut q = select;
    if let Some(after) = &args.after {
        let c = decode_cursor(after, "after")?;
        q = q.filter(boundary(keyset, c, true)?);
    }
    if let Some(before) = &args.before {
        let c = decode_cursor(before, "before")?;
        q = q.filter(boundary(keyset, c, false)?);
    }
    // Walking backward reads the reverse order and flips the page afterwards.
    let forward_order = match keyset.direction {
        SortDirection::Asc => Order::Asc,
        SortDirection::Desc => Order::Desc,
    };
    let order = if backward {
        flip(forward_order)
    } else {
        forward_order
    };
    if let Some((col, _)) = &keyset.key {
        q = q.order_by(*col, order.clone());
    }
    q = q.order_by(keyset.id, order).limit(size + 1);
    let mut rows = db
        .query_all_raw(q.build(db.get_database_backend()))
        .await?
        .iter()
        .map(decode)
        .collect::<Result<Vec<_>, _>>()?;
    let more = rows.len() as u64 > size;
    rows.truncate(size as usize);
    if backward {
        rows.reverse();
    }
    let rows = rows
        .into_iter()
        .map(|m| {
            let k = keyset.key.as_ref().map(|(_, get)| get(&m));
            (encode_cursor(k, (keyset.id_of)(&m)), m)
        })
        .collect();
    let (has_previous, has_next) = if backward {
        (more, args.before.is_some())
    } else {
        (args.after.is_some(), more)
    };
    Ok(Page {
        rows,
        has_previous,
        has_next,
        total,
    })
}

fn check_size(n: i32, field: &str, max: u64) -> AppResult<u64> {
    if n < 0 || n as u64 > max {
        return Err(AppError::bad_input(
            field,
            format!("must be between 0 and {max}"),
        ));
    }
    Ok(n as u64)
}

fn flip(o: Order) -> Order {
    match o {
        Order::Asc => Order::Desc,
        _ => Order::Asc,
    }
}

/// `(key, id) > (k, id0)` for rows after a cursor, `<` for rows before it, in the list's
/// direction.
fn boundary<E: EntityTrait>(
    keyset: &Keyset<E>,
    c: CursorData,
    after: bool,
) -> AppResult<Condition> {
    let greater = after == (keyset.direction == SortDirection::Asc);
    let id_cmp = |id: Uuid| {
        if greater {
            keyset.id.gt(id)
        } else {
            keyset.id.lt(id)
        }
    };
    match (&keyset.key, c.k) {
        (None, _) => Ok(Condition::all().add(id_cmp(c.id))),
        (Some((col, _)), Some(k)) => {
            let v: Value = k.into();
            let key_cmp = if greater {
                col.gt(v.clone())
            } else {
                col.lt(v.clone())
            };
            Ok(Condition::any()
                .add(key_cmp)
                .add(Condition::all().add(col.eq(v)).add(id_cmp(c.id))))
        }
        (Some(_), None) => Err(AppError::bad_input(
            if after { "after" } else { "before" },
            "cursor belongs to another ordering",
        )),
    }
}

/// Whether a connection's nodes select `path` (through `edges { node { … } }` or
/// `nodes { … }`), so a list resolver can load that relation for its whole page at once.
pub fn node_selects(ctx: &async_graphql::Context<'_>, path: &[&str]) -> bool {
    let look = ctx.look_ahead();
    let mut via_edges = look.field("edges").field("node");
    let mut via_nodes = look.field("nodes");
    for p in path {
        via_edges = via_edges.field(p);
        via_nodes = via_nodes.field(p);
    }
    via_edges.exists() || via_nodes.exists()
}

/// The page a list resolver was asked for: on the request's counting connection, capped at
/// `MAX_PAGE_SIZE`, with `totalCount` computed only when the query selects it.
pub async fn fetch_selected<E>(
    ctx: &async_graphql::Context<'_>,
    select: Select<E>,
    keyset: &Keyset<E>,
    args: &PageArgs,
) -> AppResult<Page<E::Model>>
where
    E: EntityTrait,
    E::Model: Send + Sync,
{
    let derived: Decode<E> = |r| <E::Model as FromQueryResult>::from_query_result(r, "");
    fetch_selected_decoded(ctx, select, keyset, args, derived).await
}

/// [`fetch_selected`] with the rows decoded by `decode`.
pub async fn fetch_selected_decoded<E>(
    ctx: &async_graphql::Context<'_>,
    select: Select<E>,
    keyset: &Keyset<E>,
    args: &PageArgs,
    decode: Decode<E>,
) -> AppResult<Page<E::Model>>
where
    E: EntityTrait,
    E::Model: Send + Sync,
{
    use crate::graphql::context::CtxExt as _;
    let with_total = ctx.look_ahead().field("totalCount").exists();
    let max = ctx.app()?.config.max_page_size;
    let db = &ctx.req()?.db;
    fetch_page(db, select, keyset, args, max, with_total, decode).await
}

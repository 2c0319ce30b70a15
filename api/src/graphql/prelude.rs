//! What every domain's query resolvers use, imported as `use crate::graphql::prelude::*;`:
//! the request context, ids, the loaders' priming helpers, pagination and the error type.

pub use super::{
    context::{CtxExt, RequestCtx},
    ids::parse_id,
    loaders::{prime, prime_orgs, prime_users},
    pagination::{
        Conn, Keyset, Page, PageArgs, SortDirection, SortValue, fetch_selected, node_selects,
    },
};
pub use crate::error::{AppError, AppResult};
pub use async_graphql::{Context, ID, Object};

//! The kit every domain shares: request context, IDs, pagination, loaders, observation,
//! query limits.
//! It imports no domain but those whose types its loaders return (entities, mostly).

pub mod context;
pub mod ids;
pub mod limits;
pub mod loaders;
pub mod observe;
pub mod pagination;
pub mod prelude;

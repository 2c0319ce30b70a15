//! Blood-network rules shared by donors, stock and requests: compatibility, eligibility, ISBT 128 unit numbers, distances.

pub mod compatibility;
pub mod eligibility;
pub mod geo;
pub mod isbt;
pub mod screening;
pub mod shelf_life;

pub use shelf_life::{default_expires_at, shelf_life};

//! Audit: every mutation leaves a row, in the same transaction as its change; a refused or
//! failed one leaves a FAILURE row written after the rollback. Rows are never updated or
//! deleted: this module has no path that does either.

pub mod query;
pub mod record;
pub mod resolvers;
pub mod types;

pub use record::{AuditAction, Change, Origin, ReadBuffer, ReadRecord};

//! Network analytics (DESIGN §7.6): `networkStats`, every figure an aggregate computed by the
//! database over the period's rows (no row is loaded into Rust), the same on SQLite and
//! Postgres. There is no mutation here.

pub mod resolvers;
pub mod rollups;
pub mod service;
pub mod types;

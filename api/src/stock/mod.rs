//! Stock: one row per physical unit, its history, thresholds, derived stock levels, and the
//! search for compatible stock across banks.

pub mod commands;
pub mod resolvers;
pub mod service;
pub mod types;

//! Blood requests: a hospital asks, a bank accepts (reserving units atomically), issues them,
//! or rejects; the hospital may cancel; holds lapse.

pub mod commands;
pub mod resolvers;
pub mod service;
pub mod types;

//! Identity: users, sign-in, rotating refresh sessions, login rate limits.

pub mod commands;
pub mod rate_limit;
pub mod resolvers;
pub mod service;
pub mod types;

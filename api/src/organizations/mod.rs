//! Organizations: registration and approval, memberships, API clients.

pub mod resolvers;
pub mod service;
pub mod types;

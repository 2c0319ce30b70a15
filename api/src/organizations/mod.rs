//! Organizations: registration and approval, memberships, API clients.

pub mod commands;
pub mod invitations;
pub mod resolvers;
pub mod service;
pub mod types;

//! Alerts and notifications: raised by the services and jobs, stored with their recipients,
//! acknowledged per organization, resolved when their cause is, and streamed to
//! subscribers.

pub mod commands;
pub mod resolvers;
pub mod service;
pub mod subscriptions;
pub mod types;

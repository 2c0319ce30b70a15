//! Deliveries of fulfilled requests: dispatched by the supplying bank, tracked live by the
//! hospital (`deliveryTracked`), received with a cold-chain check; units returned to stock
//! inside the return window.

pub mod commands;
pub mod resolvers;
pub mod service;
pub mod subscriptions;
pub mod types;

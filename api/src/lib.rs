//! LifeFlow: one GraphQL API for a health network — blood banks, hospitals and NGOs moving
//! blood to patients, donors, telehealth and imaging reports.
//!
//! [`app::Application::build`] assembles everything from a [`config::Config`]; `main` only
//! parses the command line.

// The merged mutation root nests one level per domain object; the default limit (128) is
// reached at 17 of them.
#![recursion_limit = "256"]

pub mod account_tokens;
pub mod alerts;
pub mod analytics;
pub mod app;
pub mod audit;
pub mod auth;
pub mod blood;
pub mod callouts;
pub mod camps;
pub mod care;
pub mod cli;
pub mod config;
pub mod consultations;
pub mod db;
pub mod deliveries;
pub mod donors;
pub mod drives;
pub mod error;
pub mod events;
pub mod graphql;
pub mod http;
pub mod idempotency;
pub mod identity;
pub mod insurance;
pub mod jobs;
pub mod mfa;
pub mod notifications;
pub mod organizations;
pub mod pipeline;
pub mod redis_link;
pub mod reports;
pub mod requests;
pub mod rewards;
pub mod schema;
pub mod sealing;
pub mod seed;
pub mod state;
pub mod stock;
pub mod telemetry;
pub mod transfusions;
pub mod validation;
pub mod webhooks;

//! Authentication (tokens, passwords, the per-request [`Viewer`]) and authorization: the
//! rule every command and query declares, checked in [`policy`], and each domain's rules of
//! which rows and fields a caller sees and who may act on a row once it is held, in the
//! module named for the domain (built on [`policy`]). Nowhere else.

pub mod accounts;
pub mod alerts;
pub mod analytics;
pub mod audit;
pub mod callouts;
pub mod camps;
pub mod care;
pub mod deliveries;
pub mod donors;
pub mod insurance;
pub mod mfa;
pub mod notifications;
pub mod organizations;
pub mod password;
pub mod policy;
pub mod reports;
pub mod requests;
pub mod revocation;
pub mod rewards;
pub mod scope;
pub mod stock;
pub mod tokens;
pub mod transfusions;
pub mod viewer;
pub mod viewer_cache;
pub mod webhooks;

pub use policy::{Actor, Rule, authorize};
pub use scope::Scope;
pub use viewer::Viewer;

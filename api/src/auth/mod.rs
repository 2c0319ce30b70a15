//! Authentication (tokens, passwords, the per-request [`Viewer`]) and authorization (the
//! rules every resolver declares, checked in [`policy`] and, for the parties to a
//! consultation and for medical reports, in [`care`] and [`reports`], which build on it;
//! nowhere else).

pub mod care;
pub mod donors;
pub mod password;
pub mod policy;
pub mod reports;
pub mod requests;
pub mod scope;
pub mod stock;
pub mod tokens;
pub mod viewer;

pub use policy::{Actor, Rule, authorize};
pub use scope::Scope;
pub use viewer::Viewer;

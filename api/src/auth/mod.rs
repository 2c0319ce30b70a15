//! Authentication (tokens, passwords, the per-request [`Viewer`]) and authorization (the
//! rules every resolver declares, checked in [`policy`] — and, for medical reports, in
//! [`reports`], which builds on it — and nowhere else).

pub mod password;
pub mod policy;
pub mod reports;
pub mod tokens;
pub mod viewer;

pub use policy::{Actor, Rule, authorize};
pub use viewer::Viewer;

//! Care management (DESIGN §7.8): patients' medical history, the organization's risk-flag
//! worklist and care calls. Consultations, ratings and video links are in
//! [`crate::consultations`]; who may see and act is `auth::care`.

pub mod commands;
pub mod resolvers;
pub mod service;
pub mod types;

//! Drives: a hospital asks an NGO for donors (or an NGO offers a drive), the other side
//! accepts or rejects, and a camp may answer it (DESIGN §7.3).

pub mod commands;
pub mod resolvers;
pub mod service;
pub mod types;

//! Donors: registration (by an NGO, a blood bank or the donor themself), eligibility from
//! the configured rule set, and donations that can add their units to stock.

pub mod commands;
pub mod erasure;
pub mod resolvers;
pub mod service;
pub mod types;

//! Camps: an NGO's blood donation camps with a partner bank, their slots in the camp's time
//! zone, donors' registrations and attendance (DESIGN §7.3).

pub mod commands;
pub mod resolvers;
pub mod service;
pub mod subscriptions;
pub mod types;

//! Telehealth consultations: doctors and their weekly availability, booking without
//! double-booking, the consultation state machine, prescriptions, payments and risk flags.

pub mod commands;
pub mod fees;
pub mod resolvers;
pub mod service;
pub mod slots;
pub mod types;

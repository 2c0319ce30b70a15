//! Insurance (DESIGN §7.8): the plan catalogue, patients' coverages, doctors' accepted plans.
//! Booking under a coverage is checked by [`service::check_booking`] (called by
//! `consultations::service::book`); the fee split of a covered payment is
//! `consultations::fees`. Who may see and act is `auth::insurance`.

pub mod commands;
pub mod resolvers;
pub mod service;
pub mod types;

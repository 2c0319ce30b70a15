//! Medical reports: radiologists upload imaging studies, a partner's AI service claims and
//! scores them, doctors review them in order of risk, and a critical finding reaches the
//! patient's doctor at once.
//!
//! States: `PENDING → ANALYZING → ANALYZED → REVIEWED → ARCHIVED`. A claim moves `PENDING`
//! to `ANALYZING`; an analysis moves `ANALYZING` to `ANALYZED` (an analysis is only accepted
//! for a claimed report); a review moves `ANALYZED` to `REVIEWED`; a report is archived from
//! `ANALYZED` or `REVIEWED` (a study withdrawn after analysis need not be reviewed first).
//! Anything else is `INVALID_TRANSITION`.

pub mod commands;
pub mod deidentify;
pub mod resolvers;
pub mod service;
pub mod types;

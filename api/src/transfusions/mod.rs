//! Transfusion outcomes and traceability: the receiving hospital records what happened to
//! each unit (a serious reaction alerts the supplying bank, haemovigilance); the bank reads
//! a unit's trace donor → unit → request → delivery → transfusion.

pub mod commands;
pub mod resolvers;
pub mod service;
pub mod types;

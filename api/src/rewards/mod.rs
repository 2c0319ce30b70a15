//! Donor rewards (DESIGN §7.6): the points ledger the use cases write in the transaction of
//! each cause, tiers and badges derived from it, `myRewards` and the opt-in `leaderboard`.

pub mod commands;
pub mod resolvers;
pub mod service;
pub mod types;

//! Donor call-outs (DESIGN §7.4): an organization calls the opted-in donors who are eligible
//! now, compatible with the need and within a radius, each at most once per
//! `CALLOUT_MIN_HOURS`; donors answer `COMING` or `CANNOT`; a reminder when a donor may give
//! again.

pub mod commands;
pub mod resolvers;
pub mod service;
pub mod types;

//! TOTP MFA (DESIGN §7.5): enrolment, recovery codes, the second step of a login, turning
//! it off. Which accounts must have it before doing anything else is `auth::mfa`.

pub mod commands;
pub mod resolvers;
pub mod service;
pub mod totp;
pub mod types;

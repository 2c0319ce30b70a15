//! Account emails (DESIGN §7.5): email verification and password reset, each by a
//! single-use token mailed through the outbox. Tokens are 256 random bits; only their
//! SHA-256 is stored (`account_tokens`), they expire (`EMAIL_VERIFICATION_TTL_SECS`,
//! `PASSWORD_RESET_TTL_SECS`) and a conditional update redeems each once.

pub mod commands;
pub mod resolvers;
pub mod service;
pub mod types;

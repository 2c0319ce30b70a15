//! Signed webhooks for partner systems (DESIGN §7.4): an organization's admins register
//! endpoints for events; each event the organization is concerned in becomes one outbox
//! delivery per subscribed endpoint, written in the cause's transaction ([`publish`]), sent
//! by the outbox workers through [`transport`] (SSRF-checked at send time, [`target`]) and
//! signed ([`sign`]).

pub mod commands;
pub mod publish;
pub mod resolvers;
pub mod sender;
pub mod service;
pub mod sign;
pub mod target;
pub mod transport;
pub mod types;

//! End-to-end tests: each starts the real server on `127.0.0.1:0` over its own database.

mod accounts;
mod audit;
mod organizations;
mod pagination;
mod permissions;
mod skeleton;

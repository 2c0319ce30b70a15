//! End-to-end tests: each starts the real server on `127.0.0.1:0` over its own database.

mod accounts;
mod accounts_limits;
mod alerts;
mod alerts_escalation;
mod alerts_redis;
mod alerts_stock;
mod alerts_ws;
mod audit;
mod blood;
mod blood_concurrency;
mod blood_permissions;
mod blood_reads;
mod consultations;
mod consultations_load;
mod database;
mod donors;
mod limits;
mod organizations;
mod pagination;
mod permissions;
mod reports;
mod reports_permissions;
mod skeleton;
mod streams;
mod ws_feeds;

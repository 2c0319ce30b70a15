//! LifeFlow's migrations, one per domain step. A migration that has landed is never edited:
//! a change is a new migration.

pub use sea_orm_migration::prelude::*;

mod names;

#[allow(missing_docs)]
mod m20261123_000001_identity;
#[allow(missing_docs)]
mod m20261123_000002_organizations;
#[allow(missing_docs)]
mod m20261123_000003_audit;
#[allow(missing_docs)]
mod m20261123_000004_blood_network;
#[allow(missing_docs)]
mod m20261123_000005_alerts;
#[allow(missing_docs)]
mod m20261123_000006_consultations;
#[allow(missing_docs)]
mod m20261123_000007_medical_reports;
#[allow(missing_docs)]
mod m20261201_000001_donor_codes;
#[allow(missing_docs)]
mod m20261201_000002_care;
#[allow(missing_docs)]
mod m20261201_000009_references;
#[allow(missing_docs)]
mod m20261202_000001_stock_counts;
#[allow(missing_docs)]
mod m20261203_000001_camps;
#[allow(missing_docs)]
mod m20261204_000201_stock_soonest;
#[allow(missing_docs)]
mod m20261205_000001_outbox;
#[allow(missing_docs)]
mod m20261206_000001_hooks;
#[allow(missing_docs)]
mod m20261207_000001_field_encryption;
#[allow(missing_docs)]
mod m20261208_000001_rewards;
#[allow(missing_docs)]
mod m20261208_000002_analytics_indexes;
#[allow(missing_docs)]
mod m20261209_000101_mfa_sessions;
#[allow(missing_docs)]
mod m20261209_000201_account_mail;
#[allow(missing_docs)]
mod m20261209_000301_analytics_rollups;
#[allow(missing_docs)]
mod m20261210_000101_blood_gates;
#[allow(missing_docs)]
mod m20261210_000201_deliveries;
#[allow(missing_docs)]
mod m20261211_000301_ratings;
#[allow(missing_docs)]
mod m20261211_000302_medical_history;
#[allow(missing_docs)]
mod m20261211_000303_risk_flag_worklist;
#[allow(missing_docs)]
mod m20261211_000304_care_calls;
#[allow(missing_docs)]
mod m20261211_000401_analytics_monthly_rollups;
#[allow(missing_docs)]
mod m20261212_000101_availability_exceptions;
#[allow(missing_docs)]
mod m20261212_000201_insurance;
#[allow(missing_docs)]
mod m20261212_000301_request_minute_buckets;
mod m20261213_000101_percentile_minute_index;
mod m20261213_000201_sweep_indexes;
mod m20261214_000101_available_expiry_index;

/// Applies every migration in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_identity::Migration),
            Box::new(m20261123_000002_organizations::Migration),
            Box::new(m20261123_000003_audit::Migration),
            Box::new(m20261123_000004_blood_network::Migration),
            Box::new(m20261123_000005_alerts::Migration),
            Box::new(m20261123_000006_consultations::Migration),
            Box::new(m20261123_000007_medical_reports::Migration),
            Box::new(m20261201_000001_donor_codes::Migration),
            Box::new(m20261201_000009_references::Migration),
            Box::new(m20261201_000002_care::Migration),
            Box::new(m20261202_000001_stock_counts::Migration),
            Box::new(m20261203_000001_camps::Migration),
            Box::new(m20261204_000201_stock_soonest::Migration),
            Box::new(m20261205_000001_outbox::Migration),
            Box::new(m20261206_000001_hooks::Migration),
            Box::new(m20261207_000001_field_encryption::Migration),
            Box::new(m20261208_000001_rewards::Migration),
            Box::new(m20261208_000002_analytics_indexes::Migration),
            Box::new(m20261209_000101_mfa_sessions::Migration),
            Box::new(m20261209_000201_account_mail::Migration),
            Box::new(m20261209_000301_analytics_rollups::Migration),
            Box::new(m20261210_000101_blood_gates::Migration),
            Box::new(m20261210_000201_deliveries::Migration),
            Box::new(m20261211_000301_ratings::Migration),
            Box::new(m20261211_000302_medical_history::Migration),
            Box::new(m20261211_000303_risk_flag_worklist::Migration),
            Box::new(m20261211_000304_care_calls::Migration),
            Box::new(m20261211_000401_analytics_monthly_rollups::Migration),
            Box::new(m20261212_000101_availability_exceptions::Migration),
            Box::new(m20261212_000201_insurance::Migration),
            Box::new(m20261212_000301_request_minute_buckets::Migration),
            Box::new(m20261213_000101_percentile_minute_index::Migration),
            Box::new(m20261213_000201_sweep_indexes::Migration),
            Box::new(m20261214_000101_available_expiry_index::Migration),
        ]
    }
}

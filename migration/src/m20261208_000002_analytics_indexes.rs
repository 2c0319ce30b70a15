//! Indexes `networkStats` reads through (DESIGN §7.6): every figure is a GROUP BY over a
//! period, so each table it aggregates is reached by its time column (and, for an
//! organization's figures, by the organization first).

use crate::names::index;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (name, table, columns).
const INDEXES: &[(&str, &str, &[&str])] = &[
    // Requests count in the period of their creation: the network's, a hospital's, a bank's.
    ("ix_requests_created", "blood_requests", &["created_at"]),
    (
        "ix_requests_hospital_created",
        "blood_requests",
        &["hospital_id", "created_at"],
    ),
    (
        "ix_requests_bank_created",
        "blood_requests",
        &["blood_bank_id", "created_at"],
    ),
    // Wastage: the units that became EXPIRED or DISCARDED in the period.
    (
        "ix_unit_events_status_created",
        "blood_unit_events",
        &["to_status", "created_at"],
    ),
    // Collections by month, and the units of each donation.
    ("ix_donations_collected", "donations", &["collected_at"]),
    (
        "ix_donations_bank_collected",
        "donations",
        &["blood_bank_id", "collected_at"],
    ),
    ("ix_blood_units_donation", "blood_units", &["donation_id"]),
    // An audit export by period and entity type.
    ("ix_audit_logs_created", "audit_logs", &["created_at", "id"]),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, cols) in INDEXES {
            m.create_index(index(name, table, cols)).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, _) in INDEXES {
            m.drop_index(
                Index::drop()
                    .name(*name)
                    .table(crate::names::a(table))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}

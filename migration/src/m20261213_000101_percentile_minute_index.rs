//! The minutes of a crossed hour bucket, read by the percentiles' second step, from the
//! index alone whatever plan Postgres keeps (issue 18).
//!
//! `ix_rollup_request_minutes_monthly_rank` (kind, urgency, minutes) left the months to the
//! table: once Postgres switched the prepared statement to its generic plan (after five
//! runs), it read the months' range through the primary key instead, once per crossed
//! bucket (8 × 4 ms). With the month and the count in the index, both plans take the index
//! and never visit the table.

use crate::names::{a, index};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "rollup_request_minutes_monthly";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(index(
            "ix_rollup_request_minutes_monthly_ranked",
            TABLE,
            &["kind", "urgency", "minutes", "month", "n"],
        ))
        .await?;
        m.drop_index(
            Index::drop()
                .name("ix_rollup_request_minutes_monthly_rank")
                .table(a(TABLE))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(index(
            "ix_rollup_request_minutes_monthly_rank",
            TABLE,
            &["kind", "urgency", "minutes"],
        ))
        .await?;
        m.drop_index(
            Index::drop()
                .name("ix_rollup_request_minutes_monthly_ranked")
                .table(a(TABLE))
                .to_owned(),
        )
        .await
    }
}

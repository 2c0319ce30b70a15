//! `ix_blood_units_available_expiry`: the available units past their expiry that the sweep
//! has not yet marked, for the compatible-stock search (issue 14), which subtracts them from
//! the kept counts.
//!
//! Found by `EXPLAIN (ANALYZE, BUFFERS)` of the search at 500 and 5,000 units per bank: the
//! planner estimates thousands of such units (it takes status and expiry as independent;
//! there are none, the sweep keeps them few) and read them through `ix_blood_units_search`,
//! walking every available unit of the component (326 buffers at 500 per bank, 1,205 at
//! 5,000): the one part of the search that grew with the stock. A partial index led by the
//! expiry, carrying the columns the count groups by, answers it with one index-only range
//! of exactly those units.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX ix_blood_units_available_expiry ON blood_units \
                 (expires_at, blood_bank_id, component, blood_group) WHERE status = 'AVAILABLE'",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("DROP INDEX ix_blood_units_available_expiry")
            .await?;
        Ok(())
    }
}

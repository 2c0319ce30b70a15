//! Indexes that keep the sweep's and the outbox's polls to the rows they want (issue 14),
//! found on the `seed --scale 200 --history-days 365` data set, where each read every row
//! of its table on every pass:
//!
//! - `ix_requests_overdue` (status, needed_by, id): the overdue pending requests in the
//!   order the sweep expires them; ordered by id alone it walked every request (70 ms).
//! - `ix_outbox_due_channel` replaces `ix_outbox_due` with the channel first: a worker polls
//!   its own channels, and with the index on the due time alone a backlog of another
//!   channel (182,000 pending e-mails) was read on each poll (up to 760 ms).

use crate::names::{a, index};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(index(
            "ix_requests_overdue",
            "blood_requests",
            &["status", "needed_by", "id"],
        ))
        .await?;
        let db = m.get_connection();
        db.execute_unprepared(
            "CREATE INDEX ix_outbox_due_channel ON outbox_deliveries (channel, next_attempt_at) \
             WHERE status IN ('PENDING', 'FAILED')",
        )
        .await?;
        db.execute_unprepared("DROP INDEX ix_outbox_due").await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared(
            "CREATE INDEX ix_outbox_due ON outbox_deliveries (next_attempt_at) \
             WHERE status IN ('PENDING', 'FAILED')",
        )
        .await?;
        db.execute_unprepared("DROP INDEX ix_outbox_due_channel")
            .await?;
        m.drop_index(
            Index::drop()
                .name("ix_requests_overdue")
                .table(a("blood_requests"))
                .to_owned(),
        )
        .await
    }
}

//! Percentiles of the request durations in two steps (issue 18): hour buckets per month,
//! then the minutes of only the bucket a percentile falls in.
//!
//! `rollup_request_buckets_monthly` holds, per month, kind (`ACCEPT`, `FULFIL`) and urgency,
//! the requests counted per hour bucket (`minutes / 60`, truncated as both dialects divide
//! integers) of `rollup_request_minutes_monthly`, rebuilt with it. A year of the network is
//! a few hundred bucket rows instead of tens of thousands of minute rows; the minute rows a
//! percentile then needs are found through `ix_rollup_request_minutes_monthly_rank`.
//!
//! The live part of each request figure (the requests of today and of the partial first
//! day) is read from indexes alone: the requests that reached acceptance (fulfilment) by
//! creation, with their urgency and that instant, and every request by creation with what
//! the counts group by. A day's pending requests are then never read to time the others.

use crate::names::{a, index};
use sea_orm_migration::sea_query::Expr;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(a("rollup_request_buckets_monthly"))
                .col(string_len(a("month"), 32))
                .col(string_len(a("kind"), 32))
                .col(string_len(a("urgency"), 32))
                .col(big_integer(a("bucket")))
                .col(big_integer(a("n")))
                .primary_key(
                    Index::create()
                        .col(a("month"))
                        .col(a("kind"))
                        .col(a("urgency"))
                        .col(a("bucket")),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_rollup_request_minutes_monthly_rank",
            "rollup_request_minutes_monthly",
            &["kind", "urgency", "minutes"],
        ))
        .await?;
        for (name, at) in [
            ("ix_requests_accepted_created", "accepted_at"),
            ("ix_requests_fulfilled_created", "fulfilled_at"),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(a("blood_requests"))
                    .col(a("created_at"))
                    .col(a("urgency"))
                    .col(a(at))
                    .and_where(Expr::col(a(at)).is_not_null())
                    .to_owned(),
            )
            .await?;
        }
        m.create_index(index(
            "ix_requests_created_figures",
            "blood_requests",
            &["created_at", "status", "urgency", "escalation_level"],
        ))
        .await?;
        m.get_connection()
            .execute_unprepared(
                "INSERT INTO rollup_request_buckets_monthly (month, kind, urgency, bucket, n) \
                 SELECT month, kind, urgency, minutes / 60, CAST(SUM(n) AS BIGINT) \
                 FROM rollup_request_minutes_monthly GROUP BY month, kind, urgency, minutes / 60",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for name in [
            "ix_requests_accepted_created",
            "ix_requests_fulfilled_created",
            "ix_requests_created_figures",
        ] {
            m.drop_index(
                Index::drop()
                    .name(name)
                    .table(a("blood_requests"))
                    .to_owned(),
            )
            .await?;
        }
        m.drop_index(
            Index::drop()
                .name("ix_rollup_request_minutes_monthly_rank")
                .table(a("rollup_request_minutes_monthly"))
                .to_owned(),
        )
        .await?;
        m.drop_table(
            Table::drop()
                .table(a("rollup_request_buckets_monthly"))
                .to_owned(),
        )
        .await
    }
}

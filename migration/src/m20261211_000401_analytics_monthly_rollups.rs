//! Monthly rollups of the network's analytics figures (issue 18): for each daily rollup
//! table of `m20261209_000301_analytics_rollups`, a twin `<table>_monthly` with the same
//! columns, `month` (text `YYYY-MM`) instead of `day`, keyed like the daily one. Each holds
//! the sums of the daily rows of the UTC months wholly before `rolled_through`, so that
//! `networkStats` over a year reads twelve rows per group rather than 365. Kept by the rollup
//! job with the days; filled here from the daily rollups a database already has.

use crate::names::{a, index};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Each daily table, the columns that key it besides the day, and the counts it holds.
const TABLES: &[(&str, &[&str], &[&str])] = &[
    (
        "rollup_requests",
        &["status", "urgency"],
        &["n", "escalated"],
    ),
    (
        "rollup_request_minutes",
        &["kind", "urgency", "minutes"],
        &["n"],
    ),
    (
        "rollup_wastage",
        &["blood_bank_id", "component"],
        &["expired", "discarded"],
    ),
    ("rollup_issues", &["blood_group", "component"], &["issued"]),
    (
        "rollup_collections",
        &["blood_bank_id", "camp_id"],
        &["donations", "units"],
    ),
    ("rollup_camps", &[], &["registrations", "attended"]),
];

fn column(name: &str) -> ColumnDef {
    let mut c = ColumnDef::new(a(name));
    match name {
        "blood_bank_id" => c.uuid().not_null(),
        "camp_id" => c.uuid().null(),
        "minutes" => c.big_integer().not_null(),
        _ => c.string_len(32).not_null(),
    };
    c.to_owned()
}

fn count(name: &str) -> ColumnDef {
    ColumnDef::new(a(name)).big_integer().not_null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (daily, keys, counts) in TABLES {
            let name = format!("{daily}_monthly");
            let mut t = Table::create();
            t.table(a(&name)).col(column("month"));
            for k in *keys {
                t.col(column(k));
            }
            for c in *counts {
                t.col(count(c));
            }
            // Collections have no key (a donation outside a camp has no camp), like the daily
            // table: an index on the month instead.
            if !keys.contains(&"camp_id") {
                let mut pk = Index::create();
                pk.col(a("month"));
                for k in *keys {
                    pk.col(a(k));
                }
                t.primary_key(&mut pk);
            }
            m.create_table(t.to_owned()).await?;
            if keys.contains(&"camp_id") {
                m.create_index(index(
                    "ix_rollup_collections_monthly_month",
                    &name,
                    &["month"],
                ))
                .await?;
            }
            // The months the daily rollups already hold whole.
            let keys_sql = keys.iter().map(|k| format!(", {k}")).collect::<String>();
            let sums = counts
                .iter()
                .map(|c| format!(", CAST(SUM({c}) AS BIGINT)"))
                .collect::<String>();
            let cols = counts.iter().map(|c| format!(", {c}")).collect::<String>();
            m.get_connection()
                .execute_unprepared(&format!(
                    "INSERT INTO {name} (month{keys_sql}{cols}) \
                     SELECT substr(day, 1, 7){keys_sql}{sums} FROM {daily} \
                     WHERE day < (SELECT substr(rolled_through, 1, 7) || '-01' \
                     FROM analytics_rollup_state WHERE id = 1) \
                     GROUP BY substr(day, 1, 7){keys_sql}"
                ))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (daily, _, _) in TABLES {
            m.drop_table(
                Table::drop()
                    .table(a(&format!("{daily}_monthly")))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}

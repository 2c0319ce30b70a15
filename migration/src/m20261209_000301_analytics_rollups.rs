//! Daily rollups of the network's analytics figures (DESIGN §7.6, issue 18): per UTC day
//! (`day`, text `YYYY-MM-DD`), the counts `networkStats` of the whole network sums, so its
//! cost follows days × groups rather than rows. Kept by the rollup job
//! (`api/src/jobs/rollups.rs`) for closed days; `analytics_rollup_state` holds how far they
//! go (`rolled_through`, exclusive) and when the job last ran. The tables start empty: the
//! job's first run backfills every closed day of an existing database.
//!
//! Also the indexes the job finds changed days through (`updated_at` of requests and camp
//! registrations, `created_at` of donations).

use crate::names::{a, index};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: &[&str] = &[
    "rollup_requests",
    "rollup_request_minutes",
    "rollup_wastage",
    "rollup_issues",
    "rollup_collections",
    "rollup_camps",
    "analytics_rollup_state",
];

const INDEXES: &[(&str, &str, &[&str])] = &[
    ("ix_requests_updated", "blood_requests", &["updated_at"]),
    (
        "ix_camp_registrations_updated",
        "camp_registrations",
        &["updated_at"],
    ),
    ("ix_donations_created", "donations", &["created_at"]),
    ("ix_rollup_collections_day", "rollup_collections", &["day"]),
];

fn text(name: &str) -> ColumnDef {
    ColumnDef::new(a(name)).string_len(32).not_null().to_owned()
}

fn count(name: &str) -> ColumnDef {
    ColumnDef::new(a(name)).big_integer().not_null().to_owned()
}

fn table(name: &str, cols: Vec<ColumnDef>, key: &[&str]) -> TableCreateStatement {
    let mut t = Table::create();
    t.table(a(name));
    for mut c in cols {
        t.col(&mut c);
    }
    if !key.is_empty() {
        let mut pk = Index::create();
        for k in key {
            pk.col(a(k));
        }
        t.primary_key(&mut pk);
    }
    t.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let bank = || {
            ColumnDef::new(a("blood_bank_id"))
                .uuid()
                .not_null()
                .to_owned()
        };
        // Requests created that day, by their status now.
        m.create_table(table(
            "rollup_requests",
            vec![
                text("day"),
                text("status"),
                text("urgency"),
                count("n"),
                count("escalated"),
            ],
            &["day", "status", "urgency"],
        ))
        .await?;
        // Requests created that day and accepted (`kind` ACCEPT) or fulfilled (FULFIL), by the
        // whole minutes it took (rounded to the nearest).
        m.create_table(table(
            "rollup_request_minutes",
            vec![
                text("day"),
                text("kind"),
                text("urgency"),
                count("minutes"),
                count("n"),
            ],
            &["day", "kind", "urgency", "minutes"],
        ))
        .await?;
        // Units that became EXPIRED or DISCARDED that day, by bank and component.
        m.create_table(table(
            "rollup_wastage",
            vec![
                text("day"),
                bank(),
                text("component"),
                count("expired"),
                count("discarded"),
            ],
            &["day", "blood_bank_id", "component"],
        ))
        .await?;
        // Units issued that day, by group and component (days of stock).
        m.create_table(table(
            "rollup_issues",
            vec![
                text("day"),
                text("blood_group"),
                text("component"),
                count("issued"),
            ],
            &["day", "blood_group", "component"],
        ))
        .await?;
        // Donations collected that day and their units, by bank and camp (none outside one).
        m.create_table(table(
            "rollup_collections",
            vec![
                text("day"),
                bank(),
                ColumnDef::new(a("camp_id")).uuid().null().to_owned(),
                count("donations"),
                count("units"),
            ],
            &[],
        ))
        .await?;
        // Registrations and attendances of the camps starting that day.
        m.create_table(table(
            "rollup_camps",
            vec![text("day"), count("registrations"), count("attended")],
            &["day"],
        ))
        .await?;
        m.create_table(table(
            "analytics_rollup_state",
            vec![
                ColumnDef::new(a("id")).integer().not_null().to_owned(),
                ColumnDef::new(a("rolled_through"))
                    .string_len(32)
                    .null()
                    .to_owned(),
                ColumnDef::new(a("last_run_at"))
                    .timestamp_with_time_zone()
                    .null()
                    .to_owned(),
            ],
            &["id"],
        ))
        .await?;
        m.exec_stmt(
            Query::insert()
                .into_table(a("analytics_rollup_state"))
                .columns([a("id")])
                .values_panic([1.into()])
                .to_owned(),
        )
        .await?;
        for (name, table, cols) in INDEXES {
            m.create_index(index(name, table, cols)).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, _) in INDEXES {
            if table.starts_with("rollup_") {
                continue;
            }
            m.drop_index(Index::drop().name(*name).table(a(table)).to_owned())
                .await?;
        }
        for t in TABLES {
            m.drop_table(Table::drop().table(a(t)).to_owned()).await?;
        }
        Ok(())
    }
}

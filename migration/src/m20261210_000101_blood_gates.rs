//! Blood after release, part one (DESIGN §7.7, issue 19): screening panels that gate
//! release, component separation and transfers between banks.
//!
//! - `blood_unit_tests`: one panel per unit (its key), replaced when tests are recorded
//!   again; release reads it.
//! - `blood_units.parent_unit_id`: the whole-blood unit a component was separated from
//!   (its DIN is the parent's). The new unit states `PROCESSED` and `IN_TRANSIT` need no
//!   schema change: the status column holds 16 characters, and the kept counts
//!   (`m20261202_000001_stock_counts`) count `AVAILABLE` only, so neither state is stock.
//! - `blood_transfers` and `blood_transfer_units`: what was sent where, and its units.

use crate::names::{a, fk, index};
use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(a("blood_unit_tests"))
                .col(uuid(a("unit_id")).primary_key())
                .col(uuid(a("blood_bank_id")))
                .col(string_len(a("hiv"), 16))
                .col(string_len(a("hbv"), 16))
                .col(string_len(a("hcv"), 16))
                .col(string_len(a("syphilis"), 16))
                .col(string_len(a("malaria"), 16))
                .col(boolean(a("abo_confirmed")))
                .col(boolean(a("rh_confirmed")))
                .col(uuid_null(a("recorded_by_user_id")))
                .col(uuid_null(a("recorded_by_api_client_id")))
                .col(timestamp_with_time_zone(a("recorded_at")))
                .foreign_key(&mut fk("blood_unit_tests", "unit_id", "blood_units"))
                .foreign_key(&mut fk(
                    "blood_unit_tests",
                    "blood_bank_id",
                    "organizations",
                ))
                .foreign_key(&mut fk("blood_unit_tests", "recorded_by_user_id", "users"))
                .foreign_key(&mut fk(
                    "blood_unit_tests",
                    "recorded_by_api_client_id",
                    "api_clients",
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(a("blood_transfers"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("from_bank_id")))
                .col(uuid(a("to_bank_id")))
                .col(string_len(a("status"), 16))
                .col(integer(a("unit_count")))
                .col(uuid_null(a("sent_by_user_id")))
                .col(uuid_null(a("sent_by_api_client_id")))
                .col(uuid_null(a("received_by_user_id")))
                .col(uuid_null(a("received_by_api_client_id")))
                .col(timestamp_with_time_zone(a("sent_at")))
                .col(timestamp_with_time_zone_null(a("received_at")))
                .foreign_key(&mut fk("blood_transfers", "from_bank_id", "organizations"))
                .foreign_key(&mut fk("blood_transfers", "to_bank_id", "organizations"))
                .foreign_key(&mut fk("blood_transfers", "sent_by_user_id", "users"))
                .foreign_key(&mut fk(
                    "blood_transfers",
                    "sent_by_api_client_id",
                    "api_clients",
                ))
                .foreign_key(&mut fk("blood_transfers", "received_by_user_id", "users"))
                .foreign_key(&mut fk(
                    "blood_transfers",
                    "received_by_api_client_id",
                    "api_clients",
                ))
                .to_owned(),
        )
        .await?;
        // A bank's transfers, either way, newest first (ids are v7, so time-ordered).
        m.create_index(index(
            "ix_blood_transfers_from",
            "blood_transfers",
            &["from_bank_id", "id"],
        ))
        .await?;
        m.create_index(index(
            "ix_blood_transfers_to",
            "blood_transfers",
            &["to_bank_id", "id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(a("blood_transfer_units"))
                .col(uuid(a("transfer_id")))
                .col(uuid(a("unit_id")))
                .primary_key(
                    Index::create()
                        .name("pk_blood_transfer_units")
                        .col(a("transfer_id"))
                        .col(a("unit_id")),
                )
                .foreign_key(&mut fk(
                    "blood_transfer_units",
                    "transfer_id",
                    "blood_transfers",
                ))
                .foreign_key(&mut fk("blood_transfer_units", "unit_id", "blood_units"))
                .to_owned(),
        )
        .await?;
        // A unit's transfers (its history).
        m.create_index(index(
            "ix_blood_transfer_units_unit",
            "blood_transfer_units",
            &["unit_id"],
        ))
        .await?;

        let db = m.get_connection();
        match m.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared(
                    "ALTER TABLE blood_units ADD COLUMN parent_unit_id uuid NULL \
                     CONSTRAINT fk_blood_units_parent_unit_id REFERENCES blood_units (id)",
                )
                .await?;
            }
            _ => {
                // SQLite may add a column with a reference when its default is NULL.
                db.execute_unprepared(
                    "ALTER TABLE blood_units ADD COLUMN parent_unit_id uuid_text NULL \
                     REFERENCES blood_units (id)",
                )
                .await?;
            }
        }
        // A unit's children.
        m.create_index(index(
            "ix_blood_units_parent",
            "blood_units",
            &["parent_unit_id"],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ix_blood_units_parent")
                .table(a("blood_units"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(a("blood_units"))
                .drop_column(a("parent_unit_id"))
                .to_owned(),
        )
        .await?;
        for t in [
            "blood_transfer_units",
            "blood_transfers",
            "blood_unit_tests",
        ] {
            m.drop_table(Table::drop().table(a(t)).to_owned()).await?;
        }
        Ok(())
    }
}

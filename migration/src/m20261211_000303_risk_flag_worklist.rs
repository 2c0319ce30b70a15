//! Risk flags as an organization's worklist (DESIGN §7.8, issue 20): a flag is OPEN until
//! someone resolves it, once, with a note (sealed: clinical free text), recorded with who and
//! when. `resolved_by` is a foreign key on both databases (SQLite takes a column-level
//! `REFERENCES` in `ADD COLUMN` when its default is null).

use crate::names::{a, index};
use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            string_len(a("status"), 32).default("OPEN").to_owned(),
            timestamp_with_time_zone_null(a("resolved_at")),
            text_null(a("resolution_note")),
        ] {
            m.alter_table(
                Table::alter()
                    .table(a("risk_flags"))
                    .add_column(col)
                    .to_owned(),
            )
            .await?;
        }
        let uuid_type = match m.get_database_backend() {
            DbBackend::Postgres => "uuid",
            _ => "uuid_text",
        };
        m.get_connection()
            .execute_unprepared(&format!(
                "ALTER TABLE risk_flags ADD COLUMN resolved_by {uuid_type} NULL REFERENCES users (id)"
            ))
            .await?;
        // The worklist: an organization's flags by state, newest first.
        m.create_index(index(
            "ix_risk_flags_worklist",
            "risk_flags",
            &["organization_id", "status", "id"],
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ix_risk_flags_worklist")
                .table(a("risk_flags"))
                .to_owned(),
        )
        .await?;
        for c in ["resolved_by", "resolution_note", "resolved_at", "status"] {
            m.alter_table(
                Table::alter()
                    .table(a("risk_flags"))
                    .drop_column(a(c))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}

//! Care calls (DESIGN §7.8, seed 002 `call_records`): outreach and follow-up calls an
//! organization's care staff schedule with a patient and record once made (status, times,
//! duration, sealed notes, outcome, follow-up date). Every reference is a foreign key.

use crate::names::{a, fk, index};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(a("care_calls"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("organization_id")))
                .col(uuid(a("patient_id")))
                .col(string_len(a("call_type"), 32))
                .col(string_len(a("status"), 32))
                .col(timestamp_with_time_zone(a("scheduled_at")))
                .col(timestamp_with_time_zone_null(a("started_at")))
                .col(timestamp_with_time_zone_null(a("ended_at")))
                .col(integer_null(a("duration_seconds")))
                .col(text_null(a("notes")))
                .col(string_len_null(a("outcome"), 32))
                .col(date_null(a("follow_up_date")))
                .col(uuid_null(a("scheduled_by")))
                .col(uuid_null(a("recorded_by")))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone(a("updated_at")))
                .foreign_key(&mut fk("care_calls", "organization_id", "organizations"))
                .foreign_key(&mut fk("care_calls", "patient_id", "users"))
                .foreign_key(&mut fk("care_calls", "scheduled_by", "users"))
                .foreign_key(&mut fk("care_calls", "recorded_by", "users"))
                .to_owned(),
        )
        .await?;
        // An organization's calls by time; a patient's calls.
        m.create_index(index(
            "ix_care_calls_org",
            "care_calls",
            &["organization_id", "scheduled_at", "id"],
        ))
        .await?;
        m.create_index(index(
            "ix_care_calls_patient",
            "care_calls",
            &["patient_id", "id"],
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(a("care_calls")).to_owned())
            .await
    }
}

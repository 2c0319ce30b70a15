//! Patients' medical history (DESIGN §7.8, issue 20): one row per patient, its four lists
//! (allergies, conditions, medications, surgeries) sealed like every other free-text health
//! field. One row a patient is held by a unique index, so two first writes racing leave one.

use crate::names::{a, fk, index};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(a("medical_histories"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("patient_id")))
                .col(text(a("allergies")))
                .col(text(a("conditions")))
                .col(text(a("medications")))
                .col(text(a("surgeries")))
                .col(uuid_null(a("updated_by")))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone(a("updated_at")))
                .foreign_key(&mut fk("medical_histories", "patient_id", "users"))
                .foreign_key(&mut fk("medical_histories", "updated_by", "users"))
                .to_owned(),
        )
        .await?;
        let mut one = index(
            "ux_medical_histories_patient",
            "medical_histories",
            &["patient_id"],
        );
        one.unique();
        m.create_index(one).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(a("medical_histories")).to_owned())
            .await
    }
}

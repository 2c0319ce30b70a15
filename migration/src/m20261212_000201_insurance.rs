//! Insurance (DESIGN §7.8, issue 20): plans, patients' coverages, doctors' accepted plans,
//! the coverage a consultation is booked under and the fee split of its payment.
//!
//! What the database holds by itself:
//! - a plan code is unique (`insurance_plans_plan_code_key`);
//! - a patient has at most one primary coverage not terminated
//!   (`ux_coverages_primary_active`, a partial unique index), whatever the race;
//! - a coverage percentage is 0 to 100 (a check constraint);
//! - a doctor accepts a plan once (the pair is the primary key of `doctor_accepted_plans`);
//! - `consultations.coverage_id` and `payments.insurance_plan_id` are foreign keys on both
//!   databases (SQLite takes a column-level `REFERENCES` in `ADD COLUMN` when its default is
//!   null). `coverages.member_number` is stored sealed.

use crate::names::{a, fk, index};
use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(a("insurance_plans"))
                .col(uuid(a("id")).primary_key())
                .col(string_len(a("plan_code"), 32).unique_key())
                .col(string_len(a("name"), 200))
                .col(string_len(a("plan_type"), 32))
                .col(text_null(a("coverage_details")))
                .col(big_integer(a("premium_minor")))
                .col(big_integer(a("deductible_minor")))
                .col(big_integer(a("copay_minor")))
                .col(string_len(a("currency"), 3))
                .col(date(a("active_from")))
                .col(date_null(a("active_until")))
                .col(uuid_null(a("created_by")))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone(a("updated_at")))
                .foreign_key(&mut fk("insurance_plans", "created_by", "users"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(a("coverages"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("patient_id")))
                .col(uuid(a("plan_id")))
                .col(boolean(a("is_primary")))
                .col(
                    integer(a("coverage_percent"))
                        .check(Expr::col(a("coverage_percent")).between(0, 100)),
                )
                .col(text(a("member_number")))
                .col(date(a("enrolled_on")))
                .col(date_null(a("terminated_on")))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone(a("updated_at")))
                .foreign_key(&mut fk("coverages", "patient_id", "users"))
                .foreign_key(&mut fk("coverages", "plan_id", "insurance_plans"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_coverages_patient",
            "coverages",
            &["patient_id", "id"],
        ))
        .await?;
        let db = m.get_connection();
        db.execute_unprepared(
            "CREATE UNIQUE INDEX ux_coverages_primary_active ON coverages (patient_id) \
             WHERE is_primary AND terminated_on IS NULL",
        )
        .await?;
        m.create_table(
            Table::create()
                .table(a("doctor_accepted_plans"))
                .col(uuid(a("doctor_id")))
                .col(uuid(a("plan_id")))
                .col(timestamp_with_time_zone(a("created_at")))
                .primary_key(Index::create().col(a("doctor_id")).col(a("plan_id")))
                .foreign_key(&mut fk("doctor_accepted_plans", "doctor_id", "doctors"))
                .foreign_key(&mut fk(
                    "doctor_accepted_plans",
                    "plan_id",
                    "insurance_plans",
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_doctor_accepted_plans_plan",
            "doctor_accepted_plans",
            &["plan_id"],
        ))
        .await?;
        let uuid_type = match m.get_database_backend() {
            DbBackend::Postgres => "uuid",
            _ => "uuid_text",
        };
        db.execute_unprepared(&format!(
            "ALTER TABLE consultations ADD COLUMN coverage_id {uuid_type} NULL REFERENCES coverages (id)"
        ))
        .await?;
        db.execute_unprepared(&format!(
            "ALTER TABLE payments ADD COLUMN insurance_plan_id {uuid_type} NULL REFERENCES insurance_plans (id)"
        ))
        .await?;
        for col in ["insurer_share_minor", "patient_share_minor"] {
            m.alter_table(
                Table::alter()
                    .table(a("payments"))
                    .add_column(big_integer_null(a(col)))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for c in [
            "patient_share_minor",
            "insurer_share_minor",
            "insurance_plan_id",
        ] {
            m.alter_table(
                Table::alter()
                    .table(a("payments"))
                    .drop_column(a(c))
                    .to_owned(),
            )
            .await?;
        }
        m.alter_table(
            Table::alter()
                .table(a("consultations"))
                .drop_column(a("coverage_id"))
                .to_owned(),
        )
        .await?;
        for t in ["doctor_accepted_plans", "coverages", "insurance_plans"] {
            m.drop_table(Table::drop().table(a(t)).to_owned()).await?;
        }
        Ok(())
    }
}

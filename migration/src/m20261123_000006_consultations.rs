//! Telehealth consultations: doctors, weekly availability, bookings, prescriptions, payments
//! and risk flags. A doctor is never double-booked and a patient never holds two overlapping
//! consultations: on Postgres by exclusion constraints over the active bookings' time
//! ranges, on SQLite by triggers (writes there are serialized by `BEGIN IMMEDIATE`).

use crate::names::{a, fk, index};
use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The statuses in which a consultation holds its time (see `ConsultationStatus::holds_slot`).
const HOLDS_SLOT: &str = "status NOT IN ('CANCELLED', 'NO_SHOW')";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(a("doctors"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("user_id")).unique_key())
                .col(uuid_null(a("organization_id")))
                .col(string_len(a("license_number"), 64).unique_key())
                .col(string_len(a("specialization"), 100))
                .col(integer(a("experience_years")))
                .col(string_len_null(a("qualification"), 200))
                .col(string_len_null(a("bio"), 2000))
                .col(big_integer(a("consultation_fee_minor")))
                .col(string_len(a("currency"), 3))
                .col(double(a("rating")))
                .col(integer(a("rating_count")))
                .col(boolean(a("is_verified")))
                .col(timestamp_with_time_zone_null(a("verified_at")))
                .col(uuid_null(a("verified_by")))
                .col(boolean(a("is_available")))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone(a("updated_at")))
                .foreign_key(&mut fk("doctors", "user_id", "users"))
                .foreign_key(&mut fk("doctors", "organization_id", "organizations"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_doctors_fee",
            "doctors",
            &["consultation_fee_minor", "id"],
        ))
        .await?;
        m.create_index(index("ix_doctors_rating", "doctors", &["rating", "id"]))
            .await?;
        m.create_index(index(
            "ix_doctors_org",
            "doctors",
            &["organization_id", "id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(a("availability_rules"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("doctor_id")))
                .col(string_len(a("day_of_week"), 16))
                .col(time(a("start_time")))
                .col(time(a("end_time")))
                .col(string_len(a("time_zone"), 64))
                .col(date(a("valid_from")))
                .col(date_null(a("valid_until")))
                .col(timestamp_with_time_zone(a("created_at")))
                .foreign_key(&mut fk("availability_rules", "doctor_id", "doctors"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_availability_doctor",
            "availability_rules",
            &["doctor_id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(a("consultations"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("patient_id")))
                .col(uuid(a("doctor_id")))
                // The doctor's user, so who may act on a consultation is read from its row.
                .col(uuid(a("doctor_user_id")))
                .col(uuid_null(a("organization_id")))
                .col(timestamp_with_time_zone(a("scheduled_at")))
                .col(timestamp_with_time_zone(a("ends_at")))
                .col(integer(a("duration_minutes")))
                .col(string_len(a("consultation_type"), 16))
                .col(string_len(a("status"), 16))
                .col(text_null(a("symptoms")))
                .col(text_null(a("diagnosis")))
                .col(text_null(a("notes")))
                .col(string_len_null(a("cancellation_reason"), 500))
                .col(uuid_null(a("cancelled_by")))
                .col(uuid_null(a("rescheduled_from_id")))
                .col(uuid_null(a("rescheduled_to_id")))
                .col(timestamp_with_time_zone_null(a("confirmed_at")))
                .col(timestamp_with_time_zone_null(a("started_at")))
                .col(timestamp_with_time_zone_null(a("completed_at")))
                .col(timestamp_with_time_zone_null(a("cancelled_at")))
                .col(timestamp_with_time_zone_null(a("no_show_at")))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone(a("updated_at")))
                .check(Expr::cust("ends_at > scheduled_at"))
                .foreign_key(&mut fk("consultations", "patient_id", "users"))
                .foreign_key(&mut fk("consultations", "doctor_id", "doctors"))
                .foreign_key(&mut fk("consultations", "organization_id", "organizations"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_consultations_doctor",
            "consultations",
            &["doctor_id", "scheduled_at"],
        ))
        .await?;
        m.create_index(index(
            "ix_consultations_patient",
            "consultations",
            &["patient_id", "scheduled_at"],
        ))
        .await?;
        m.create_index(index(
            "ix_consultations_org",
            "consultations",
            &["organization_id", "scheduled_at"],
        ))
        .await?;

        let db = m.get_connection();
        match m.get_database_backend() {
            DbBackend::Postgres => {
                // btree_gist lets a GiST exclusion constraint compare the uuid with `=`.
                db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS btree_gist")
                    .await?;
                for who in ["doctor", "patient"] {
                    db.execute_unprepared(&format!(
                        "ALTER TABLE consultations ADD CONSTRAINT ex_consultations_{who}_overlap \
                         EXCLUDE USING gist ({who}_id WITH =, tstzrange(scheduled_at, ends_at, '[)') WITH &&) \
                         WHERE ({HOLDS_SLOT})"
                    ))
                    .await?;
                }
            }
            _ => {
                for (event, when) in [
                    ("INSERT", "BEFORE INSERT ON consultations"),
                    (
                        "UPDATE",
                        "BEFORE UPDATE OF status, scheduled_at, ends_at, doctor_id, patient_id ON consultations",
                    ),
                ] {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER tr_consultations_overlap_{} {when} \
                         WHEN NEW.{HOLDS_SLOT} AND EXISTS (\
                           SELECT 1 FROM consultations c WHERE c.id <> NEW.id AND c.{HOLDS_SLOT} \
                           AND (c.doctor_id = NEW.doctor_id OR c.patient_id = NEW.patient_id) \
                           AND c.scheduled_at < NEW.ends_at AND NEW.scheduled_at < c.ends_at) \
                         BEGIN SELECT RAISE(ABORT, 'ex_consultations_overlap'); END",
                        event.to_lowercase()
                    ))
                    .await?;
                }
            }
        }

        m.create_table(
            Table::create()
                .table(a("prescriptions"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("consultation_id")))
                .col(uuid(a("doctor_id")))
                .col(uuid(a("patient_id")))
                .col(json(a("medications")))
                .col(text_null(a("instructions")))
                .col(date_null(a("follow_up_date")))
                .col(timestamp_with_time_zone(a("created_at")))
                .foreign_key(&mut fk("prescriptions", "consultation_id", "consultations"))
                .foreign_key(&mut fk("prescriptions", "doctor_id", "doctors"))
                .foreign_key(&mut fk("prescriptions", "patient_id", "users"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_prescriptions_consultation",
            "prescriptions",
            &["consultation_id"],
        ))
        .await?;
        m.create_index(index(
            "ix_prescriptions_patient",
            "prescriptions",
            &["patient_id", "id"],
        ))
        .await?;
        m.create_index(index(
            "ix_prescriptions_doctor",
            "prescriptions",
            &["doctor_id", "id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(a("payments"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("consultation_id")))
                .col(uuid(a("patient_id")))
                .col(uuid(a("doctor_id")))
                .col(big_integer(a("amount_minor")))
                .col(string_len(a("currency"), 3))
                .col(string_len(a("method"), 16))
                .col(string_len(a("status"), 16))
                .col(string_len_null(a("transaction_reference"), 128))
                .col(uuid_null(a("recorded_by")))
                .col(timestamp_with_time_zone_null(a("refunded_at")))
                .col(string_len_null(a("refund_reason"), 500))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone(a("updated_at")))
                .check(Expr::cust("amount_minor > 0"))
                .foreign_key(&mut fk("payments", "consultation_id", "consultations"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_payments_consultation",
            "payments",
            &["consultation_id"],
        ))
        .await?;
        // One successful payment per consultation, whatever the race.
        db.execute_unprepared(
            "CREATE UNIQUE INDEX ux_payments_one_succeeded ON payments (consultation_id) \
             WHERE status = 'SUCCEEDED'",
        )
        .await?;

        m.create_table(
            Table::create()
                .table(a("risk_flags"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("consultation_id")))
                .col(uuid(a("patient_id")))
                .col(uuid(a("doctor_id")))
                .col(uuid_null(a("organization_id")))
                .col(string_len(a("risk_type"), 16))
                .col(string_len(a("severity"), 16))
                .col(string_len(a("description"), 2000))
                .col(uuid_null(a("alert_id")))
                .col(timestamp_with_time_zone(a("created_at")))
                .foreign_key(&mut fk("risk_flags", "consultation_id", "consultations"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_risk_flags_consultation",
            "risk_flags",
            &["consultation_id"],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "risk_flags",
            "payments",
            "prescriptions",
            "consultations",
            "availability_rules",
            "doctors",
        ] {
            m.drop_table(Table::drop().table(a(t)).to_owned()).await?;
        }
        Ok(())
    }
}

//! Availability exceptions, buffers and minimum notice (DESIGN §7.8, issue 20).
//!
//! What the database holds by itself:
//! - a doctor's consultations never overlap once each is extended by the buffer that
//!   followed it when it was booked: `consultations.blocked_until` (the end plus the
//!   doctor's `buffer_minutes` at booking time) is what the doctor's no-overlap rule
//!   compares, by the exclusion constraint on Postgres and the triggers on SQLite; a
//!   patient's rule still compares the consultations themselves (a buffer is the doctor's);
//! - an exception is a positive interval of a kind.
//!
//! The buffer is copied onto each booking rather than read from the profile so that the
//! constraint only looks at one row's columns (an exclusion constraint cannot join), and a
//! profile change never makes bookings already taken collide.

use crate::names::{a, fk, index};
use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The statuses in which a consultation holds its time (as in the consultations migration).
const HOLDS_SLOT: &str = "status NOT IN ('CANCELLED', 'NO_SHOW')";

/// The SQLite triggers standing in for the exclusion constraints, with the doctor's side
/// compared over `[scheduled_at, blocked_until)`.
fn sqlite_triggers(doctor_end: &str) -> Vec<String> {
    [
        ("insert", "BEFORE INSERT ON consultations".to_owned()),
        (
            "update",
            format!(
                "BEFORE UPDATE OF status, scheduled_at, ends_at, doctor_id, patient_id{} ON consultations",
                if doctor_end == "blocked_until" { ", blocked_until" } else { "" }
            ),
        ),
    ]
    .into_iter()
    .map(|(event, when)| {
        format!(
            "CREATE TRIGGER tr_consultations_overlap_{event} {when} \
             WHEN NEW.{HOLDS_SLOT} AND EXISTS (\
               SELECT 1 FROM consultations c WHERE c.id <> NEW.id AND c.{HOLDS_SLOT} \
               AND ((c.doctor_id = NEW.doctor_id \
                     AND c.scheduled_at < NEW.{doctor_end} AND NEW.scheduled_at < c.{doctor_end}) \
                 OR (c.patient_id = NEW.patient_id \
                     AND c.scheduled_at < NEW.ends_at AND NEW.scheduled_at < c.ends_at))) \
             BEGIN SELECT RAISE(ABORT, 'ex_consultations_overlap'); END"
        )
    })
    .collect()
}

/// Drops and recreates the triggers in one call, so on one connection: a pooled SQLite
/// connection that did not see the drop would still hold the old triggers in its cached
/// schema and refuse the new ones as existing.
async fn replace_sqlite_triggers(
    db: &SchemaManagerConnection<'_>,
    doctor_end: &str,
) -> Result<(), DbErr> {
    let mut sql = String::from(
        "DROP TRIGGER tr_consultations_overlap_insert; DROP TRIGGER tr_consultations_overlap_update;",
    );
    for t in sqlite_triggers(doctor_end) {
        sql.push(' ');
        sql.push_str(&t);
        sql.push(';');
    }
    db.execute_unprepared(&sql).await?;
    Ok(())
}

fn doctor_constraint(end: &str) -> String {
    format!(
        "ALTER TABLE consultations ADD CONSTRAINT ex_consultations_doctor_overlap \
         EXCLUDE USING gist (doctor_id WITH =, tstzrange(scheduled_at, {end}, '[)') WITH &&) \
         WHERE ({HOLDS_SLOT})"
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(a("availability_exceptions"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("doctor_id")))
                .col(string_len(a("kind"), 16))
                .col(timestamp_with_time_zone(a("starts_at")))
                .col(timestamp_with_time_zone(a("ends_at")))
                .col(string_len_null(a("note"), 500))
                .col(uuid(a("created_by")))
                .col(timestamp_with_time_zone(a("created_at")))
                .check(Expr::cust("ends_at > starts_at"))
                .foreign_key(&mut fk("availability_exceptions", "doctor_id", "doctors"))
                .foreign_key(&mut fk("availability_exceptions", "created_by", "users"))
                .to_owned(),
        )
        .await?;
        // A doctor's exceptions that end after an instant (the slots and booking reads).
        m.create_index(index(
            "ix_availability_exceptions_doctor",
            "availability_exceptions",
            &["doctor_id", "ends_at"],
        ))
        .await?;
        // One column an ALTER: SQLite takes one change a statement.
        for column in ["buffer_minutes", "min_notice_minutes"] {
            m.alter_table(
                Table::alter()
                    .table(a("doctors"))
                    .add_column(integer(a(column)).default(0))
                    .to_owned(),
            )
            .await?;
        }
        m.alter_table(
            Table::alter()
                .table(a("consultations"))
                .add_column(
                    timestamp_with_time_zone(a("blocked_until"))
                        .default("1970-01-01 00:00:00+00:00"),
                )
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        db.execute_unprepared("UPDATE consultations SET blocked_until = ends_at")
            .await?;
        match m.get_database_backend() {
            DbBackend::Postgres => {
                for sql in [
                    "ALTER TABLE consultations ALTER COLUMN blocked_until DROP DEFAULT",
                    "ALTER TABLE consultations ADD CONSTRAINT ck_consultations_blocked_until \
                     CHECK (blocked_until >= ends_at)",
                    "ALTER TABLE consultations DROP CONSTRAINT ex_consultations_doctor_overlap",
                    &doctor_constraint("blocked_until"),
                ] {
                    db.execute_unprepared(sql).await?;
                }
            }
            _ => replace_sqlite_triggers(db, "blocked_until").await?,
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        match m.get_database_backend() {
            DbBackend::Postgres => {
                for sql in [
                    "ALTER TABLE consultations DROP CONSTRAINT ex_consultations_doctor_overlap",
                    &doctor_constraint("ends_at"),
                    "ALTER TABLE consultations DROP CONSTRAINT ck_consultations_blocked_until",
                ] {
                    db.execute_unprepared(sql).await?;
                }
            }
            _ => replace_sqlite_triggers(db, "ends_at").await?,
        }
        m.alter_table(
            Table::alter()
                .table(a("consultations"))
                .drop_column(a("blocked_until"))
                .to_owned(),
        )
        .await?;
        for column in ["buffer_minutes", "min_notice_minutes"] {
            m.alter_table(
                Table::alter()
                    .table(a("doctors"))
                    .drop_column(a(column))
                    .to_owned(),
            )
            .await?;
        }
        m.drop_table(Table::drop().table(a("availability_exceptions")).to_owned())
            .await
    }
}

//! The references the code assumes, enforced by the database (DESIGN §7.2), and audit rows
//! that the application cannot change or remove.
//!
//! Postgres gets real foreign keys, added `NOT VALID` and then validated, so a table is not
//! locked against writes while its rows are checked. SQLite cannot add a constraint to an
//! existing table without rebuilding it, so there the same rule is three triggers per
//! reference: the child's insert and update are refused when the parent is missing, and the
//! parent's delete is refused while a child names it (no parent row is ever deleted today).
//!
//! Not references, on purpose: `audit_logs.*` (the trail outlives, and records attempts on,
//! whatever it mentions), `alerts.related_entity_id`, `notifications.related_entity_id` and
//! `idempotency_keys.result_id` (they point at rows of several tables, named by a type
//! column), `sessions.family_id` (a token family, not a row) and `donations.camp_id` (camps
//! arrive with their own table and migration).

use sea_orm_migration::{prelude::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (table, column, referenced table): every referenced table's key is `id`.
const REFERENCES: &[(&str, &str, &str)] = &[
    ("ai_analyses", "api_client_id", "api_clients"),
    ("ai_analyses", "organization_id", "organizations"),
    ("alert_recipients", "acknowledged_by", "users"),
    ("alert_recipients", "alert_id", "alerts"),
    ("alert_recipients", "organization_id", "organizations"),
    ("alerts", "acknowledged_by", "users"),
    ("alerts", "organization_id", "organizations"),
    ("api_clients", "created_by", "users"),
    ("blood_request_declines", "blood_bank_id", "organizations"),
    ("blood_request_declines", "declined_by", "users"),
    ("blood_request_declines", "request_id", "blood_requests"),
    ("blood_requests", "blood_bank_id", "organizations"),
    (
        "blood_requests",
        "requested_by_api_client_id",
        "api_clients",
    ),
    ("blood_requests", "requested_by_user_id", "users"),
    ("blood_requests", "target_bank_id", "organizations"),
    ("blood_unit_events", "actor_api_client_id", "api_clients"),
    ("blood_unit_events", "actor_user_id", "users"),
    ("blood_unit_events", "blood_bank_id", "organizations"),
    ("blood_unit_events", "request_id", "blood_requests"),
    ("blood_unit_events", "unit_id", "blood_units"),
    ("blood_units", "donation_id", "donations"),
    ("blood_units", "reserved_for_request_id", "blood_requests"),
    ("consultations", "cancelled_by", "users"),
    ("consultations", "doctor_user_id", "users"),
    ("consultations", "rescheduled_from_id", "consultations"),
    ("consultations", "rescheduled_to_id", "consultations"),
    ("doctors", "verified_by", "users"),
    ("donations", "recorded_by", "users"),
    ("donors", "registered_by_org_id", "organizations"),
    ("medical_reports", "claimed_by_api_client_id", "api_clients"),
    ("notifications", "alert_id", "alerts"),
    ("notifications", "user_id", "users"),
    ("payments", "doctor_id", "doctors"),
    ("payments", "patient_id", "users"),
    ("payments", "recorded_by", "users"),
    ("report_reviews", "organization_id", "organizations"),
    ("risk_flags", "alert_id", "alerts"),
    ("risk_flags", "doctor_id", "doctors"),
    ("risk_flags", "organization_id", "organizations"),
    ("risk_flags", "patient_id", "users"),
    ("stock_thresholds", "blood_bank_id", "organizations"),
];

fn name(table: &str, column: &str) -> String {
    format!("fk_{table}_{column}")
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        // Rows that already break a rule stop the migration with their count, rather than
        // a constraint that cannot be added or a trigger that only guards new rows.
        for (table, column, parent) in REFERENCES {
            let orphans = db
                .query_one_raw(sea_orm_migration::sea_orm::Statement::from_string(
                    m.get_database_backend(),
                    format!(
                        "SELECT COUNT(*) AS n FROM {table} WHERE {column} IS NOT NULL \
                         AND {column} NOT IN (SELECT id FROM {parent})"
                    ),
                ))
                .await?
                .map(|r| r.try_get::<i64>("", "n"))
                .transpose()?
                .unwrap_or(0);
            if orphans > 0 {
                return Err(DbErr::Migration(format!(
                    "{orphans} rows of {table}.{column} name a missing {parent} row; \
                     repair them before this migration"
                )));
            }
        }
        match m.get_database_backend() {
            DatabaseBackend::Postgres => {
                for (table, column, parent) in REFERENCES {
                    let fk = name(table, column);
                    db.execute_unprepared(&format!(
                        "ALTER TABLE {table} ADD CONSTRAINT {fk} FOREIGN KEY ({column}) \
                         REFERENCES {parent} (id) NOT VALID; \
                         ALTER TABLE {table} VALIDATE CONSTRAINT {fk};"
                    ))
                    .await?;
                }
                db.execute_unprepared(
                    "CREATE FUNCTION audit_logs_append_only() RETURNS trigger \
                     LANGUAGE plpgsql AS $$ BEGIN \
                     RAISE EXCEPTION 'audit rows are append-only' \
                     USING ERRCODE = 'insufficient_privilege'; END $$; \
                     CREATE TRIGGER audit_logs_append_only \
                     BEFORE UPDATE OR DELETE ON audit_logs \
                     FOR EACH ROW EXECUTE FUNCTION audit_logs_append_only(); \
                     CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON audit_logs \
                     FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_append_only();",
                )
                .await?;
            }
            _ => {
                for (table, column, parent) in REFERENCES {
                    let fk = name(table, column);
                    let missing = format!(
                        "NEW.{column} IS NOT NULL AND NOT EXISTS \
                         (SELECT 1 FROM {parent} WHERE id = NEW.{column})"
                    );
                    let refuse = "SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed');";
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {fk}_insert BEFORE INSERT ON {table} \
                         WHEN {missing} BEGIN {refuse} END; \
                         CREATE TRIGGER {fk}_update BEFORE UPDATE OF {column} ON {table} \
                         WHEN {missing} BEGIN {refuse} END; \
                         CREATE TRIGGER {fk}_parent BEFORE DELETE ON {parent} \
                         WHEN EXISTS (SELECT 1 FROM {table} WHERE {column} = OLD.id) \
                         BEGIN {refuse} END;"
                    ))
                    .await?;
                }
                db.execute_unprepared(
                    "CREATE TRIGGER audit_logs_no_update BEFORE UPDATE ON audit_logs \
                     BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END; \
                     CREATE TRIGGER audit_logs_no_delete BEFORE DELETE ON audit_logs \
                     BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;",
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        match m.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared(
                    "DROP TRIGGER audit_logs_no_truncate ON audit_logs; \
                     DROP TRIGGER audit_logs_append_only ON audit_logs; \
                     DROP FUNCTION audit_logs_append_only();",
                )
                .await?;
                for (table, column, _) in REFERENCES {
                    db.execute_unprepared(&format!(
                        "ALTER TABLE {table} DROP CONSTRAINT {};",
                        name(table, column)
                    ))
                    .await?;
                }
            }
            _ => {
                db.execute_unprepared(
                    "DROP TRIGGER audit_logs_no_update; DROP TRIGGER audit_logs_no_delete;",
                )
                .await?;
                for (table, column, _) in REFERENCES {
                    let fk = name(table, column);
                    db.execute_unprepared(&format!(
                        "DROP TRIGGER {fk}_insert; DROP TRIGGER {fk}_update; \
                         DROP TRIGGER {fk}_parent;"
                    ))
                    .await?;
                }
            }
        }
        Ok(())
    }
}

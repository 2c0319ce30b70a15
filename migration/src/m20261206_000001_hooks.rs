//! Signed webhooks and donor call-outs (DESIGN §7.4).
//!
//! What the database holds by itself, whatever code writes:
//! - a donor is called at most once per `CALLOUT_MIN_HOURS`: `donors.last_called_at` is
//!   moved by one conditional update (`last_called_at IS NULL OR last_called_at <= cutoff`)
//!   that also selects the donors, so of two call-outs racing for a donor only one moves it
//!   (Postgres re-checks the condition on the row the other committed; SQLite has one
//!   writer); and one answer row per (call-out, donor): a unique index;
//! - a donor is reminded once per eligibility date: `donors.reminded_for` is set to the date
//!   by a conditional update;
//! - every reference, as foreign keys declared with the tables, and the outbox's
//!   `webhook_endpoint_id`, which its migration left unchecked until endpoints had a table.
//!
//! A webhook's events are kept as wire names between commas (`,ALERT_RAISED,DRIVE_CHANGED,`),
//! so "endpoints subscribed to E" is one `LIKE` on either database.

use crate::names::{a, fk, index};
use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(a("webhook_endpoints"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("organization_id")))
                .col(string_len(a("url"), 2048))
                .col(string_len(a("events"), 300))
                .col(string_len(a("secret"), 128))
                .col(uuid(a("created_by")))
                .col(timestamp_with_time_zone_null(a("disabled_at")))
                .col(timestamp_with_time_zone(a("secret_rotated_at")))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone(a("updated_at")))
                .foreign_key(&mut fk(
                    "webhook_endpoints",
                    "organization_id",
                    "organizations",
                ))
                .foreign_key(&mut fk("webhook_endpoints", "created_by", "users"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_webhook_endpoints_org",
            "webhook_endpoints",
            &["organization_id", "id"],
        ))
        .await?;

        for col in [
            boolean(a("accepts_callouts")).default(false).to_owned(),
            timestamp_with_time_zone_null(a("last_called_at")).to_owned(),
            date_null(a("reminded_for")).to_owned(),
        ] {
            m.alter_table(Table::alter().table(a("donors")).add_column(col).to_owned())
                .await?;
        }
        m.create_index(index(
            "ix_donors_callouts",
            "donors",
            &["accepts_callouts", "latitude"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(a("callouts"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("organization_id")))
                .col(uuid_null(a("blood_request_id")))
                .col(string_len(a("blood_groups"), 100))
                .col(string_len(a("donor_groups"), 100))
                .col(string_len(a("component"), 32))
                .col(double(a("latitude")))
                .col(double(a("longitude")))
                .col(double(a("radius_km")))
                .col(string_len(a("message"), 500))
                .col(uuid_null(a("started_by")))
                .col(integer(a("notified")))
                .col(timestamp_with_time_zone(a("created_at")))
                .check(Expr::cust("radius_km > 0"))
                .check(Expr::cust("notified >= 0"))
                .foreign_key(&mut fk("callouts", "organization_id", "organizations"))
                .foreign_key(&mut fk("callouts", "blood_request_id", "blood_requests"))
                .foreign_key(&mut fk("callouts", "started_by", "users"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_callouts_org",
            "callouts",
            &["organization_id", "id"],
        ))
        .await?;
        m.create_index(index(
            "ix_callouts_request",
            "callouts",
            &["blood_request_id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(a("callout_answers"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("callout_id")))
                .col(uuid(a("donor_id")))
                .col(string_len_null(a("response"), 16))
                .col(integer_null(a("eta_minutes")))
                .col(timestamp_with_time_zone(a("notified_at")))
                .col(timestamp_with_time_zone_null(a("responded_at")))
                .check(Expr::cust("eta_minutes IS NULL OR eta_minutes >= 0"))
                .foreign_key(&mut fk("callout_answers", "callout_id", "callouts"))
                .foreign_key(&mut fk("callout_answers", "donor_id", "donors"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "ux_callout_answers_donor",
                "callout_answers",
                &["callout_id", "donor_id"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_callout_answers_donor",
            "callout_answers",
            &["donor_id"],
        ))
        .await?;

        // What a webhook target answered to a delivery's last attempt (the outbox row keeps
        // status, attempts, last error and times).
        m.create_table(
            Table::create()
                .table(a("webhook_responses"))
                .col(uuid(a("delivery_id")).primary_key())
                .col(integer_null(a("status_code")))
                .col(timestamp_with_time_zone(a("answered_at")))
                .foreign_key(&mut fk(
                    "webhook_responses",
                    "delivery_id",
                    "outbox_deliveries",
                ))
                .to_owned(),
        )
        .await?;

        // outbox_deliveries.webhook_endpoint_id, left unchecked by the outbox's migration until
        // endpoints had a table: a foreign key on Postgres, triggers on SQLite (which cannot
        // add a constraint to an existing table), as m20261203_000001_camps does.
        let db = m.get_connection();
        match m.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "ALTER TABLE outbox_deliveries ADD CONSTRAINT \
                     fk_outbox_deliveries_webhook_endpoint_id FOREIGN KEY (webhook_endpoint_id) \
                     REFERENCES webhook_endpoints (id)",
                )
                .await?;
            }
            _ => {
                let missing = "NEW.webhook_endpoint_id IS NOT NULL AND NOT EXISTS \
                               (SELECT 1 FROM webhook_endpoints WHERE id = NEW.webhook_endpoint_id)";
                let refuse = "SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed');";
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER fk_outbox_deliveries_webhook_endpoint_id_insert BEFORE INSERT \
                     ON outbox_deliveries WHEN {missing} BEGIN {refuse} END; \
                     CREATE TRIGGER fk_outbox_deliveries_webhook_endpoint_id_update BEFORE UPDATE \
                     OF webhook_endpoint_id ON outbox_deliveries WHEN {missing} \
                     BEGIN {refuse} END; \
                     CREATE TRIGGER fk_outbox_deliveries_webhook_endpoint_id_parent BEFORE DELETE \
                     ON webhook_endpoints WHEN EXISTS (SELECT 1 FROM outbox_deliveries \
                     WHERE webhook_endpoint_id = OLD.id) BEGIN {refuse} END;"
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        match m.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "ALTER TABLE outbox_deliveries \
                     DROP CONSTRAINT fk_outbox_deliveries_webhook_endpoint_id",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "DROP TRIGGER fk_outbox_deliveries_webhook_endpoint_id_insert; \
                     DROP TRIGGER fk_outbox_deliveries_webhook_endpoint_id_update; \
                     DROP TRIGGER fk_outbox_deliveries_webhook_endpoint_id_parent;",
                )
                .await?;
            }
        }
        for t in [
            "webhook_responses",
            "callout_answers",
            "callouts",
            "webhook_endpoints",
        ] {
            m.drop_table(Table::drop().table(a(t)).to_owned()).await?;
        }
        m.drop_index(
            Index::drop()
                .name("ix_donors_callouts")
                .table(a("donors"))
                .to_owned(),
        )
        .await?;
        for c in ["accepts_callouts", "last_called_at", "reminded_for"] {
            m.alter_table(
                Table::alter()
                    .table(a("donors"))
                    .drop_column(a(c))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}

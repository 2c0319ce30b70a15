//! The notification outbox (DESIGN §7.4): one row per delivery (a notification × a channel,
//! an account email, an event × a webhook endpoint), written in the same transaction as its
//! cause and sent afterwards by the workers of every instance.
//!
//! What the database holds by itself, whatever code writes:
//! - `status` is one of `PENDING | SENT | FAILED | DEAD`, and a `SENT` row has its `sent_at`;
//! - `attempts >= 0`;
//! - the references to `users` and `notifications` (foreign keys). `webhook_endpoint_id` is
//!   left unchecked here: its table comes with the webhooks, whose migration checks it.
//!
//! `notification_preferences`: a user's channels and quiet hours, per notification kind or
//! (`kind` NULL) for every kind without its own; channels are kept as their wire names
//! between commas (`,EMAIL,SMS,`), like the camps' blood groups.
//!
//! Workers claim due rows (`status IN ('PENDING', 'FAILED') AND next_attempt_at <= now` and
//! no live lease) through the partial index `ix_outbox_due`, which holds only the rows still
//! to send, so the claim stays cheap however many rows were sent before.

use crate::names::{a, fk, index};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(a("outbox_deliveries"))
                .col(uuid(a("id")).primary_key())
                .col(string_len(a("channel"), 16))
                .col(string_len(a("kind"), 64))
                .col(string_len(a("locale"), 16))
                .col(text_null(a("recipient")))
                .col(uuid_null(a("user_id")))
                .col(uuid_null(a("notification_id")))
                .col(uuid_null(a("webhook_endpoint_id")))
                .col(text_null(a("subject")))
                .col(text(a("body")))
                .col(text_null(a("link")))
                .col(string_len(a("status"), 16))
                .col(integer(a("attempts")))
                .col(text_null(a("last_error")))
                .col(timestamp_with_time_zone(a("next_attempt_at")))
                .col(timestamp_with_time_zone_null(a("locked_until")))
                .col(uuid_null(a("claimed_by")))
                .col(timestamp_with_time_zone_null(a("sent_at")))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone(a("updated_at")))
                .check(Expr::cust(
                    "status IN ('PENDING', 'SENT', 'FAILED', 'DEAD')",
                ))
                .check(Expr::cust("status <> 'SENT' OR sent_at IS NOT NULL"))
                .check(Expr::cust("attempts >= 0"))
                .foreign_key(&mut fk("outbox_deliveries", "user_id", "users"))
                .foreign_key(&mut fk(
                    "outbox_deliveries",
                    "notification_id",
                    "notifications",
                ))
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        db.execute_unprepared(
            "CREATE INDEX ix_outbox_due ON outbox_deliveries (next_attempt_at) \
             WHERE status IN ('PENDING', 'FAILED')",
        )
        .await?;
        m.create_index(index(
            "ix_outbox_notification",
            "outbox_deliveries",
            &["notification_id"],
        ))
        .await?;
        m.create_index(index(
            "ix_outbox_user",
            "outbox_deliveries",
            &["user_id", "created_at"],
        ))
        .await?;
        m.create_index(index(
            "ix_outbox_webhook_endpoint",
            "outbox_deliveries",
            &["webhook_endpoint_id", "created_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(a("notification_preferences"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("user_id")))
                .col(string_len_null(a("kind"), 32))
                .col(string_len(a("channels"), 100))
                .col(time_null(a("quiet_hours_start")))
                .col(time_null(a("quiet_hours_end")))
                .col(string_len_null(a("time_zone"), 64))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone(a("updated_at")))
                .check(Expr::cust(
                    "(quiet_hours_start IS NULL AND quiet_hours_end IS NULL AND time_zone IS NULL) \
                     OR (quiet_hours_start IS NOT NULL AND quiet_hours_end IS NOT NULL \
                         AND time_zone IS NOT NULL)",
                ))
                .foreign_key(&mut fk("notification_preferences", "user_id", "users"))
                .to_owned(),
        )
        .await?;
        // One preference per (user, kind), and one default (kind NULL) per user.
        db.execute_unprepared(
            "CREATE UNIQUE INDEX ux_notification_preferences_kind \
             ON notification_preferences (user_id, kind) WHERE kind IS NOT NULL",
        )
        .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX ux_notification_preferences_default \
             ON notification_preferences (user_id) WHERE kind IS NULL",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["notification_preferences", "outbox_deliveries"] {
            m.drop_table(Table::drop().table(a(t)).to_owned()).await?;
        }
        Ok(())
    }
}

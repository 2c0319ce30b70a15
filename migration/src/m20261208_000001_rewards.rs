//! Donor rewards (DESIGN §7.6): the points ledger and each donor's leaderboard choice.
//!
//! What the database holds by itself:
//! - a cause grants its points once: the ledger's primary key is (source kind, source id,
//!   donor), and the use cases insert with `ON CONFLICT DO NOTHING` in the transaction of
//!   the cause;
//! - a donor is on no leaderboard until they opt in (`show_on_leaderboard` defaults to
//!   false; a donor without a settings row has not opted in).
//!
//! Donations and camp attendance recorded before this migration are credited here, once,
//! at the time they were recorded.

use crate::names::{a, fk, index};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(a("reward_points"))
                .col(string_len(a("source_kind"), 32))
                .col(uuid(a("source_id")))
                .col(uuid(a("donor_id")))
                .col(integer(a("points")))
                .col(timestamp_with_time_zone(a("earned_at")))
                .primary_key(
                    Index::create()
                        .name("pk_reward_points")
                        .col(a("source_kind"))
                        .col(a("source_id"))
                        .col(a("donor_id")),
                )
                .foreign_key(&mut fk("reward_points", "donor_id", "donors"))
                .to_owned(),
        )
        .await?;
        // A donor's history (newest first) and totals.
        m.create_index(index(
            "ix_reward_points_donor",
            "reward_points",
            &["donor_id", "earned_at", "source_id"],
        ))
        .await?;
        // Leaderboards of a month or a year: the rows earned since.
        m.create_index(index(
            "ix_reward_points_earned",
            "reward_points",
            &["earned_at", "donor_id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(a("donor_reward_settings"))
                .col(uuid(a("donor_id")).primary_key())
                .col(boolean(a("show_on_leaderboard")).default(false))
                .col(string_len_null(a("display_name"), 40))
                .col(timestamp_with_time_zone(a("updated_at")))
                .foreign_key(&mut fk("donor_reward_settings", "donor_id", "donors"))
                .to_owned(),
        )
        .await?;

        let db = m.get_connection();
        db.execute_unprepared(
            "INSERT INTO reward_points (source_kind, source_id, donor_id, points, earned_at) \
             SELECT 'DONATION', id, donor_id, 100, created_at FROM donations",
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO reward_points (source_kind, source_id, donor_id, points, earned_at) \
             SELECT 'CAMP_ATTENDANCE', id, donor_id, 50, COALESCE(outcome_at, updated_at) \
             FROM camp_registrations WHERE status = 'ATTENDED'",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(a("donor_reward_settings")).to_owned())
            .await?;
        m.drop_table(Table::drop().table(a("reward_points")).to_owned())
            .await
    }
}

//! Accounts (DESIGN §7.5): TOTP MFA, session details, profile settings.
//!
//! - `users.mfa_secret` holds the TOTP secret sealed (never in clear); `mfa_enabled_at` is
//!   set once a first code confirmed it; `mfa_last_step` is the last accepted time step, so
//!   a code is accepted once (a conditional update moves it forward only).
//! - `mfa_recovery_codes`: ten per account, only their SHA-256 kept; used once.
//! - `mfa_challenges`: the second step of a login, only the token's SHA-256 kept; five
//!   minutes, single use.
//! - `sessions.started_at` (when the family began, carried through rotation) and
//!   `last_used_at` (its last refresh).
//! - `users.locale`, `users.time_zone`: set by `updateMe`.

use crate::names::{a, fk, index};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            text_null(a("mfa_secret")).to_owned(),
            timestamp_with_time_zone_null(a("mfa_enabled_at")).to_owned(),
            big_integer_null(a("mfa_last_step")).to_owned(),
            string_len_null(a("locale"), 35).to_owned(),
            string_len_null(a("time_zone"), 64).to_owned(),
        ] {
            m.alter_table(Table::alter().table(a("users")).add_column(col).to_owned())
                .await?;
        }
        for col in [
            timestamp_with_time_zone_null(a("started_at")).to_owned(),
            timestamp_with_time_zone_null(a("last_used_at")).to_owned(),
        ] {
            m.alter_table(
                Table::alter()
                    .table(a("sessions"))
                    .add_column(col)
                    .to_owned(),
            )
            .await?;
        }
        m.get_connection()
            .execute_unprepared(
                "UPDATE sessions SET started_at = created_at, last_used_at = created_at",
            )
            .await?;

        m.create_table(
            Table::create()
                .table(a("mfa_recovery_codes"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("user_id")))
                .col(string_len(a("code_hash"), 64))
                .col(timestamp_with_time_zone_null(a("used_at")))
                .col(timestamp_with_time_zone(a("created_at")))
                .foreign_key(&mut fk("mfa_recovery_codes", "user_id", "users"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "ux_mfa_recovery_codes_user_hash",
                "mfa_recovery_codes",
                &["user_id", "code_hash"],
            )
            .unique()
            .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(a("mfa_challenges"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("user_id")))
                .col(string_len(a("token_hash"), 64).unique_key())
                .col(timestamp_with_time_zone(a("expires_at")))
                .col(timestamp_with_time_zone_null(a("used_at")))
                .col(string_len_null(a("ip"), 64))
                .col(string_len_null(a("user_agent"), 512))
                .col(timestamp_with_time_zone(a("created_at")))
                .foreign_key(&mut fk("mfa_challenges", "user_id", "users"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_mfa_challenges_user",
            "mfa_challenges",
            &["user_id"],
        ))
        .await?;
        m.create_index(index(
            "ix_sessions_user_live",
            "sessions",
            &["user_id", "revoked_at", "rotated_at"],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ix_sessions_user_live")
                .table(a("sessions"))
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(a("mfa_challenges")).to_owned())
            .await?;
        m.drop_table(Table::drop().table(a("mfa_recovery_codes")).to_owned())
            .await?;
        for c in ["started_at", "last_used_at"] {
            m.alter_table(
                Table::alter()
                    .table(a("sessions"))
                    .drop_column(a(c))
                    .to_owned(),
            )
            .await?;
        }
        for c in [
            "mfa_secret",
            "mfa_enabled_at",
            "mfa_last_step",
            "locale",
            "time_zone",
        ] {
            m.alter_table(
                Table::alter()
                    .table(a("users"))
                    .drop_column(a(c))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}

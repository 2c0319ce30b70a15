//! Account emails and erasure (DESIGN §7.5): single-use tokens for email verification and
//! password resets, organization invitations, when a user's email was verified, since when
//! their access tokens count (a password reset refuses older ones), and when a donor was
//! erased.
//!
//! What the database holds by itself:
//! - a token is found by its SHA-256 hash (unique), never by its text, which is not stored;
//! - a token or an invitation is redeemed once: the use cases mark `used_at`/`accepted_at`
//!   with a conditional update (`… WHERE used_at IS NULL`), so of two redemptions racing
//!   exactly one changes the row;
//! - every reference is a foreign key (created with the tables, on both back ends).

use crate::names::{a, fk, index};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(a("account_tokens"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("user_id")))
                .col(string_len(a("purpose"), 32))
                .col(string_len(a("token_hash"), 64).unique_key())
                .col(timestamp_with_time_zone(a("expires_at")))
                .col(timestamp_with_time_zone_null(a("used_at")))
                .col(timestamp_with_time_zone(a("created_at")))
                .foreign_key(&mut fk("account_tokens", "user_id", "users"))
                .to_owned(),
        )
        .await?;
        // A user's live tokens of a purpose (a new reset supersedes the older ones).
        m.create_index(index(
            "ix_account_tokens_user",
            "account_tokens",
            &["user_id", "purpose"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(a("invitations"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("organization_id")))
                .col(string_len(a("email"), 320))
                .col(string_len(a("role"), 32))
                .col(string_len(a("token_hash"), 64).unique_key())
                .col(uuid(a("invited_by")))
                .col(timestamp_with_time_zone(a("expires_at")))
                .col(timestamp_with_time_zone_null(a("accepted_at")))
                .col(uuid_null(a("accepted_by")))
                .col(timestamp_with_time_zone(a("created_at")))
                .foreign_key(&mut fk("invitations", "organization_id", "organizations"))
                .foreign_key(&mut fk("invitations", "invited_by", "users"))
                .foreign_key(&mut fk("invitations", "accepted_by", "users"))
                .to_owned(),
        )
        .await?;
        // An organization's invitations, newest first.
        m.create_index(index(
            "ix_invitations_org",
            "invitations",
            &["organization_id", "created_at", "id"],
        ))
        .await?;

        m.alter_table(
            Table::alter()
                .table(a("users"))
                .add_column(timestamp_with_time_zone_null(a("email_verified_at")))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(a("users"))
                .add_column(timestamp_with_time_zone_null(a("credentials_changed_at")))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(a("donors"))
                .add_column(timestamp_with_time_zone_null(a("erased_at")))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(a("donors"))
                .drop_column(a("erased_at"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(a("users"))
                .drop_column(a("email_verified_at"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(a("users"))
                .drop_column(a("credentials_changed_at"))
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(a("invitations")).to_owned())
            .await?;
        m.drop_table(Table::drop().table(a("account_tokens")).to_owned())
            .await
    }
}

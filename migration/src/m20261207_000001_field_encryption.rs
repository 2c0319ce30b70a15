//! Field encryption (issue 17): the columns that hold sealed values (`entity::sealed`) become
//! `text` on Postgres (a ciphertext is longer than the plain value, and a date or JSON value
//! is no longer a date or JSON to the database), and donors get `phone_index`, the blind
//! index that uniqueness and equality lookups use now that the phone itself is encrypted with
//! a fresh nonce per value.
//!
//! A migration cannot know the keys, so it encrypts nothing: existing rows keep their plain
//! text, which the application reads as is, until `lifeflow rotate-keys` seals them and fills
//! `phone_index`. The index is therefore nullable (NULLs never collide).
//!
//! SQLite stores any text in any column, so only the new column and its index are added
//! there; the unique constraint on the plain phone stays (it cannot be dropped without
//! rebuilding the table), harmless since two ciphertexts never repeat.

use sea_orm_migration::{prelude::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES_UP: &[&str] = &[
    "ALTER TABLE donors \
       ALTER COLUMN date_of_birth TYPE text USING date_of_birth::text, \
       ALTER COLUMN phone TYPE text, \
       ALTER COLUMN address TYPE text, \
       DROP CONSTRAINT IF EXISTS donors_phone_key, \
       ADD COLUMN phone_index varchar(64) NULL",
    "CREATE UNIQUE INDEX ux_donors_phone_index ON donors (phone_index)",
    "ALTER TABLE blood_requests \
       ALTER COLUMN patient_name TYPE text, \
       ALTER COLUMN medical_notes TYPE text",
    "ALTER TABLE prescriptions ALTER COLUMN medications TYPE text USING medications::text",
];

const SQLITE_UP: &[&str] = &[
    "ALTER TABLE donors ADD COLUMN phone_index varchar(64) NULL",
    "CREATE UNIQUE INDEX ux_donors_phone_index ON donors (phone_index)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let statements = match m.get_database_backend() {
            DatabaseBackend::Postgres => POSTGRES_UP,
            _ => SQLITE_UP,
        };
        let db = m.get_connection();
        for s in statements {
            db.execute_unprepared(s).await?;
        }
        Ok(())
    }
}

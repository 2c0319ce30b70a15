//! Donor card codes (DESIGN §7.2, "Donors are found, not guessed"): every donor gets a
//! unique random code they show at a bank, which admits that bank to them. Existing donors
//! get theirs here.

use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{DbBackend, prelude::Uuid},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The API's `DonorCode` alphabet and length (Crockford's base 32, 60 bits), copied: a
/// migration keeps its own copy of what it uses.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const LEN: usize = 12;

fn new_code() -> String {
    use rand::Rng as _;
    let mut rng = rand::rng();
    (0..LEN)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let donors = Alias::new("donors");
        let code = Alias::new("donor_code");
        let id = Alias::new("id");
        m.alter_table(
            Table::alter()
                .table(donors.clone())
                .add_column(string_len_null(code.clone(), 16))
                .to_owned(),
        )
        .await?;

        let db = m.get_connection();
        let backend = m.get_database_backend();
        let rows = db
            .query_all(
                &Query::select()
                    .column(id.clone())
                    .from(donors.clone())
                    .to_owned(),
            )
            .await?;
        for row in rows {
            let donor: Uuid = row.try_get("", "id")?;
            db.execute(
                &Query::update()
                    .table(donors.clone())
                    .value(code.clone(), new_code())
                    .and_where(Expr::col(id.clone()).eq(donor))
                    .to_owned(),
            )
            .await?;
        }

        m.create_index(
            Index::create()
                .name("ux_donors_donor_code")
                .table(donors)
                .col(code)
                .unique()
                .to_owned(),
        )
        .await?;
        match backend {
            DbBackend::Postgres => {
                db.execute_unprepared("ALTER TABLE donors ALTER COLUMN donor_code SET NOT NULL")
                    .await?;
            }
            _ => {
                // SQLite cannot make an added column NOT NULL; these triggers refuse a null.
                for (event, when) in [
                    ("insert", "BEFORE INSERT ON donors"),
                    ("update", "BEFORE UPDATE OF donor_code ON donors"),
                ] {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER tr_donors_code_required_{event} {when} \
                         WHEN NEW.donor_code IS NULL \
                         BEGIN SELECT RAISE(ABORT, 'donors.donor_code is required'); END"
                    ))
                    .await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        if m.get_database_backend() != DbBackend::Postgres {
            for event in ["insert", "update"] {
                db.execute_unprepared(&format!(
                    "DROP TRIGGER IF EXISTS tr_donors_code_required_{event}"
                ))
                .await?;
            }
        }
        m.drop_index(
            Index::drop()
                .name("ux_donors_donor_code")
                .table(Alias::new("donors"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Alias::new("donors"))
                .drop_column(Alias::new("donor_code"))
                .to_owned(),
        )
        .await
    }
}

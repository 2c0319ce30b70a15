//! Ratings of completed consultations (DESIGN §7.8, issue 20).
//!
//! What the database holds by itself:
//! - a consultation is rated at most once (`ux_consultation_ratings_consultation`), so a
//!   retry or a race of two ratings leaves one row;
//! - a rating is 1 to 5 (a check constraint);
//! - `doctors.rating_total` is the sum of a doctor's ratings, kept with `rating_count` by one
//!   atomic update in the rating's transaction, so `rating` (the mean) is the exact quotient
//!   of two integers whatever the order of concurrent ratings.

use crate::names::{a, fk, index};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(a("consultation_ratings"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("consultation_id")))
                .col(uuid(a("doctor_id")))
                .col(uuid(a("patient_id")))
                .col(integer(a("rating")).check(Expr::col(a("rating")).between(1, 5)))
                .col(text_null(a("comment")))
                .col(timestamp_with_time_zone(a("created_at")))
                .foreign_key(&mut fk(
                    "consultation_ratings",
                    "consultation_id",
                    "consultations",
                ))
                .foreign_key(&mut fk("consultation_ratings", "doctor_id", "doctors"))
                .foreign_key(&mut fk("consultation_ratings", "patient_id", "users"))
                .to_owned(),
        )
        .await?;
        let mut once = index(
            "ux_consultation_ratings_consultation",
            "consultation_ratings",
            &["consultation_id"],
        );
        once.unique();
        m.create_index(once).await?;
        m.create_index(index(
            "ix_consultation_ratings_doctor",
            "consultation_ratings",
            &["doctor_id", "id"],
        ))
        .await?;
        m.alter_table(
            Table::alter()
                .table(a("doctors"))
                .add_column(big_integer(a("rating_total")).default(0))
                .to_owned(),
        )
        .await?;
        // Ratings written before this table existed (seeds) keep their mean.
        m.get_connection()
            .execute_unprepared(
                "UPDATE doctors SET rating_total = CAST(ROUND(rating * rating_count) AS BIGINT)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(a("doctors"))
                .drop_column(a("rating_total"))
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(a("consultation_ratings")).to_owned())
            .await
    }
}

//! Camps and drives (DESIGN §7.3): drives between hospitals and NGOs, camps an NGO runs with a
//! partner bank, their slots and the donors' registrations.
//!
//! What the database holds by itself, whatever code writes:
//! - a slot's `0 <= booked <= capacity` (a check constraint; bookings take a place with a
//!   conditional update, `booked < capacity`, so a full slot refuses the next one);
//! - one active registration (`REGISTERED` or `ATTENDED`) per donor and camp: a partial unique
//!   index, which both Postgres and SQLite support;
//! - every reference, as foreign keys declared with the tables; and `donations.camp_id`, left
//!   unchecked by `m20261201_000009_references` until camps had a table, the way that
//!   migration checks references: a foreign key on Postgres, triggers on SQLite (which
//!   cannot add a constraint to an existing table).
//!
//! Blood groups are kept as their wire names between commas (`,A_POS,O_NEG,`; empty for any
//! group), so `camps(filter: {bloodGroups})` is one `LIKE` per group on either database.

use crate::names::{a, fk, index};
use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The registrations that hold a donor's place in a camp.
const ACTIVE: &str = "status IN ('REGISTERED', 'ATTENDED')";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(a("drives"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("hospital_id")))
                .col(uuid(a("ngo_id")))
                .col(uuid(a("proposed_by_org_id")))
                .col(uuid(a("proposed_by")))
                .col(string_len(a("drive_type"), 16))
                .col(string_len(a("blood_groups"), 100))
                .col(string_len_null(a("component"), 32))
                .col(integer(a("target_units")))
                .col(date(a("drive_date")))
                .col(uuid_null(a("blood_request_id")))
                .col(text_null(a("notes")))
                .col(string_len(a("status"), 16))
                .col(string_len_null(a("reason"), 500))
                .col(integer_null(a("units_collected")))
                .col(uuid_null(a("responded_by")))
                .col(timestamp_with_time_zone_null(a("accepted_at")))
                .col(timestamp_with_time_zone_null(a("rejected_at")))
                .col(timestamp_with_time_zone_null(a("completed_at")))
                .col(timestamp_with_time_zone_null(a("cancelled_at")))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone(a("updated_at")))
                .check(Expr::cust("target_units > 0"))
                .check(Expr::cust(
                    "units_collected IS NULL OR units_collected >= 0",
                ))
                .foreign_key(&mut fk("drives", "hospital_id", "organizations"))
                .foreign_key(&mut fk("drives", "ngo_id", "organizations"))
                .foreign_key(&mut fk("drives", "proposed_by_org_id", "organizations"))
                .foreign_key(&mut fk("drives", "proposed_by", "users"))
                .foreign_key(&mut fk("drives", "blood_request_id", "blood_requests"))
                .foreign_key(&mut fk("drives", "responded_by", "users"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_drives_hospital",
            "drives",
            &["hospital_id", "id"],
        ))
        .await?;
        m.create_index(index("ix_drives_ngo", "drives", &["ngo_id", "id"]))
            .await?;

        m.create_table(
            Table::create()
                .table(a("camps"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("organization_id")))
                .col(uuid(a("blood_bank_id")))
                .col(uuid_null(a("drive_id")))
                .col(string_len(a("name"), 200))
                .col(text_null(a("description")))
                .col(string_len(a("venue"), 200))
                .col(string_len_null(a("address"), 300))
                .col(string_len(a("city"), 100))
                .col(double(a("latitude")))
                .col(double(a("longitude")))
                .col(string_len(a("time_zone"), 64))
                .col(date(a("starts_on")))
                .col(date(a("ends_on")))
                .col(time(a("daily_start")))
                .col(time(a("daily_end")))
                .col(integer(a("slot_minutes")))
                .col(integer(a("slot_capacity")))
                .col(timestamp_with_time_zone(a("starts_at")))
                .col(timestamp_with_time_zone(a("ends_at")))
                .col(string_len(a("blood_groups_needed"), 100))
                .col(integer_null(a("expected_donors")))
                .col(integer_null(a("actual_donors")))
                .col(integer_null(a("actual_units")))
                .col(string_len(a("status"), 16))
                .col(string_len_null(a("cancellation_reason"), 500))
                .col(uuid(a("created_by")))
                .col(timestamp_with_time_zone_null(a("started_at")))
                .col(timestamp_with_time_zone_null(a("completed_at")))
                .col(timestamp_with_time_zone_null(a("cancelled_at")))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone(a("updated_at")))
                .check(Expr::cust("ends_on >= starts_on"))
                .check(Expr::cust("daily_end > daily_start"))
                .check(Expr::cust("slot_minutes > 0 AND slot_capacity > 0"))
                .check(Expr::cust("ends_at > starts_at"))
                .foreign_key(&mut fk("camps", "organization_id", "organizations"))
                .foreign_key(&mut fk("camps", "blood_bank_id", "organizations"))
                .foreign_key(&mut fk("camps", "drive_id", "drives"))
                .foreign_key(&mut fk("camps", "created_by", "users"))
                .to_owned(),
        )
        .await?;
        // `camps(filter: {near, radiusKm, from, to})`: a bounding box on latitude, then the
        // dates; the list is sorted by start.
        m.create_index(index(
            "ix_camps_lat_lon",
            "camps",
            &["latitude", "longitude"],
        ))
        .await?;
        m.create_index(index("ix_camps_starts_at", "camps", &["starts_at", "id"]))
            .await?;
        m.create_index(index(
            "ix_camps_org",
            "camps",
            &["organization_id", "starts_at"],
        ))
        .await?;
        m.create_index(index("ix_camps_bank", "camps", &["blood_bank_id"]))
            .await?;
        m.create_index(index("ix_camps_drive", "camps", &["drive_id"]))
            .await?;

        m.create_table(
            Table::create()
                .table(a("camp_slots"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("camp_id")))
                .col(timestamp_with_time_zone(a("starts_at")))
                .col(timestamp_with_time_zone(a("ends_at")))
                .col(integer(a("capacity")))
                .col(integer(a("booked")))
                .col(timestamp_with_time_zone(a("created_at")))
                .check(Expr::cust("capacity > 0"))
                .check(Expr::cust("booked >= 0 AND booked <= capacity"))
                .check(Expr::cust("ends_at > starts_at"))
                .foreign_key(&mut fk("camp_slots", "camp_id", "camps"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_camp_slots_camp",
            "camp_slots",
            &["camp_id", "starts_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(a("camp_registrations"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("camp_id")))
                .col(uuid(a("slot_id")))
                .col(uuid(a("donor_id")))
                .col(string_len(a("status"), 16))
                .col(integer(a("units_collected")))
                .col(uuid_null(a("referred_by")))
                .col(uuid(a("registered_by")))
                .col(uuid_null(a("donation_id")))
                .col(uuid_null(a("recorded_by")))
                .col(timestamp_with_time_zone_null(a("outcome_at")))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone(a("updated_at")))
                .check(Expr::cust("units_collected >= 0"))
                .foreign_key(&mut fk("camp_registrations", "camp_id", "camps"))
                .foreign_key(&mut fk("camp_registrations", "slot_id", "camp_slots"))
                .foreign_key(&mut fk("camp_registrations", "donor_id", "donors"))
                .foreign_key(&mut fk("camp_registrations", "referred_by", "donors"))
                .foreign_key(&mut fk("camp_registrations", "registered_by", "users"))
                .foreign_key(&mut fk("camp_registrations", "donation_id", "donations"))
                .foreign_key(&mut fk("camp_registrations", "recorded_by", "users"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_camp_registrations_camp",
            "camp_registrations",
            &["camp_id", "id"],
        ))
        .await?;
        m.create_index(index(
            "ix_camp_registrations_slot",
            "camp_registrations",
            &["slot_id"],
        ))
        .await?;
        m.create_index(index(
            "ix_camp_registrations_donor",
            "camp_registrations",
            &["donor_id"],
        ))
        .await?;
        let db = m.get_connection();
        db.execute_unprepared(&format!(
            "CREATE UNIQUE INDEX ux_camp_registrations_active \
             ON camp_registrations (camp_id, donor_id) WHERE {ACTIVE}"
        ))
        .await?;

        // donations.camp_id, as m20261201_000009_references checks every other reference.
        let orphans = db
            .query_one_raw(sea_orm_migration::sea_orm::Statement::from_string(
                m.get_database_backend(),
                "SELECT COUNT(*) AS n FROM donations WHERE camp_id IS NOT NULL".to_string(),
            ))
            .await?
            .map(|r| r.try_get::<i64>("", "n"))
            .transpose()?
            .unwrap_or(0);
        if orphans > 0 {
            return Err(DbErr::Migration(format!(
                "{orphans} donations name a camp, and no camp existed before this migration; \
                 repair them first"
            )));
        }
        match m.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "ALTER TABLE donations ADD CONSTRAINT fk_donations_camp_id \
                     FOREIGN KEY (camp_id) REFERENCES camps (id)",
                )
                .await?;
            }
            _ => {
                let missing = "NEW.camp_id IS NOT NULL AND NOT EXISTS \
                               (SELECT 1 FROM camps WHERE id = NEW.camp_id)";
                let refuse = "SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed');";
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER fk_donations_camp_id_insert BEFORE INSERT ON donations \
                     WHEN {missing} BEGIN {refuse} END; \
                     CREATE TRIGGER fk_donations_camp_id_update BEFORE UPDATE OF camp_id \
                     ON donations WHEN {missing} BEGIN {refuse} END; \
                     CREATE TRIGGER fk_donations_camp_id_parent BEFORE DELETE ON camps \
                     WHEN EXISTS (SELECT 1 FROM donations WHERE camp_id = OLD.id) \
                     BEGIN {refuse} END;"
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
                db.execute_unprepared("ALTER TABLE donations DROP CONSTRAINT fk_donations_camp_id")
                    .await?;
            }
            _ => {
                db.execute_unprepared(
                    "DROP TRIGGER fk_donations_camp_id_insert; \
                     DROP TRIGGER fk_donations_camp_id_update; \
                     DROP TRIGGER fk_donations_camp_id_parent;",
                )
                .await?;
            }
        }
        for t in ["camp_registrations", "camp_slots", "camps", "drives"] {
            m.drop_table(Table::drop().table(a(t)).to_owned()).await?;
        }
        Ok(())
    }
}

//! Blood after release (DESIGN §7.7, issue 19): deliveries of fulfilled requests with their
//! positions, units returned by hospitals, and transfusion outcomes.
//!
//! What the database holds by itself:
//! - a request has at most one delivery (`ux_deliveries_request`);
//! - a unit is returned at most once per request (`ux_unit_returns_unit_request`), so a
//!   second return of the same unit is a unique violation even if two race;
//! - a unit is transfused at most once (`ux_transfusions_unit`);
//! - every reference is a foreign key.

use crate::names::{a, fk, index};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn unique(name: &str, table: &str, cols: &[&str]) -> IndexCreateStatement {
    let mut i = index(name, table, cols);
    i.unique();
    i
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(a("deliveries"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("request_id")))
                .col(uuid(a("blood_bank_id")))
                .col(uuid(a("hospital_id")))
                .col(string_len(a("component"), 32))
                .col(string_len(a("courier_name"), 200))
                .col(string_len_null(a("vehicle"), 100))
                .col(string_len(a("status"), 32))
                .col(timestamp_with_time_zone_null(a("eta")))
                .col(double_null(a("last_latitude")))
                .col(double_null(a("last_longitude")))
                .col(timestamp_with_time_zone_null(a("last_recorded_at")))
                .col(timestamp_with_time_zone_null(a("excursion_at")))
                .col(boolean_null(a("temperature_ok")))
                .col(uuid_null(a("dispatched_by")))
                .col(uuid_null(a("received_by")))
                .col(timestamp_with_time_zone(a("dispatched_at")))
                .col(timestamp_with_time_zone_null(a("delivered_at")))
                .col(timestamp_with_time_zone_null(a("failed_at")))
                .col(string_len_null(a("failure_reason"), 500))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone(a("updated_at")))
                .foreign_key(&mut fk("deliveries", "request_id", "blood_requests"))
                .foreign_key(&mut fk("deliveries", "blood_bank_id", "organizations"))
                .foreign_key(&mut fk("deliveries", "hospital_id", "organizations"))
                .foreign_key(&mut fk("deliveries", "dispatched_by", "users"))
                .foreign_key(&mut fk("deliveries", "received_by", "users"))
                .to_owned(),
        )
        .await?;
        m.create_index(unique(
            "ux_deliveries_request",
            "deliveries",
            &["request_id"],
        ))
        .await?;
        // Lists of a bank's or a hospital's deliveries, newest first.
        m.create_index(index(
            "ix_deliveries_bank",
            "deliveries",
            &["blood_bank_id", "id"],
        ))
        .await?;
        m.create_index(index(
            "ix_deliveries_hospital",
            "deliveries",
            &["hospital_id", "id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(a("delivery_positions"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("delivery_id")))
                .col(double(a("latitude")))
                .col(double(a("longitude")))
                .col(timestamp_with_time_zone(a("recorded_at")))
                .col(double_null(a("temperature_c")))
                .col(timestamp_with_time_zone(a("created_at")))
                .foreign_key(&mut fk("delivery_positions", "delivery_id", "deliveries"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_delivery_positions_delivery",
            "delivery_positions",
            &["delivery_id", "recorded_at", "id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(a("unit_returns"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("unit_id")))
                .col(uuid(a("request_id")))
                .col(uuid(a("hospital_id")))
                .col(uuid(a("blood_bank_id")))
                .col(boolean(a("cold_chain_kept")))
                .col(string_len(a("outcome"), 32))
                .col(uuid_null(a("returned_by")))
                .col(timestamp_with_time_zone(a("created_at")))
                .foreign_key(&mut fk("unit_returns", "unit_id", "blood_units"))
                .foreign_key(&mut fk("unit_returns", "request_id", "blood_requests"))
                .foreign_key(&mut fk("unit_returns", "hospital_id", "organizations"))
                .foreign_key(&mut fk("unit_returns", "blood_bank_id", "organizations"))
                .foreign_key(&mut fk("unit_returns", "returned_by", "users"))
                .to_owned(),
        )
        .await?;
        m.create_index(unique(
            "ux_unit_returns_unit_request",
            "unit_returns",
            &["unit_id", "request_id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(a("transfusions"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("unit_id")))
                .col(uuid(a("request_id")))
                .col(uuid(a("hospital_id")))
                .col(uuid(a("blood_bank_id")))
                .col(text(a("patient_reference")))
                .col(string_len(a("reaction"), 32))
                .col(string_len(a("severity"), 32))
                .col(uuid_null(a("recorded_by")))
                .col(uuid_null(a("recorded_by_api_client_id")))
                .col(timestamp_with_time_zone(a("created_at")))
                .foreign_key(&mut fk("transfusions", "unit_id", "blood_units"))
                .foreign_key(&mut fk("transfusions", "request_id", "blood_requests"))
                .foreign_key(&mut fk("transfusions", "hospital_id", "organizations"))
                .foreign_key(&mut fk("transfusions", "blood_bank_id", "organizations"))
                .foreign_key(&mut fk("transfusions", "recorded_by", "users"))
                .foreign_key(&mut fk(
                    "transfusions",
                    "recorded_by_api_client_id",
                    "api_clients",
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(unique("ux_transfusions_unit", "transfusions", &["unit_id"]))
            .await?;
        m.create_index(index(
            "ix_transfusions_bank",
            "transfusions",
            &["blood_bank_id", "id"],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "transfusions",
            "unit_returns",
            "delivery_positions",
            "deliveries",
        ] {
            m.drop_table(Table::drop().table(a(t)).to_owned()).await?;
        }
        Ok(())
    }
}

//! What the database enforces by itself, whatever code writes to it: the references the code
//! assumes, and an audit trail the application cannot rewrite.

use entity::{audit_log, blood_request};
use lifeflow_tests::{fixtures::blood::Network, *};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement, sea_query::Expr};
use uuid::Uuid;

/// Columns that hold an id but are not a reference, each for a reason the migration gives.
const NOT_REFERENCES: &[&str] = &[
    "alerts.related_entity_id",
    "notifications.related_entity_id",
    "idempotency_keys.result_id",
    "sessions.family_id",
    // Analytics rollups: derived counts the rollup job rebuilds from the base tables
    // (the base rows hold the references).
    "rollup_wastage.blood_bank_id",
    "rollup_collections.blood_bank_id",
    "rollup_collections.camp_id",
    // Their monthly sums, rebuilt from the daily rollups.
    "rollup_wastage_monthly.blood_bank_id",
    "rollup_collections_monthly.blood_bank_id",
    "rollup_collections_monthly.camp_id",
    // The instance holding a delivery's claim, not a row.
    "outbox_deliveries.claimed_by",
    "reward_points.source_id",
];

#[tokio::test]
async fn a_blood_request_cannot_name_a_bank_or_a_requester_that_does_not_exist() {
    // Arrange
    let app = spawn_app().await;
    let net = Network::new(&app, 2.0).await;
    let request = net.nurse_request(&app, "O_POS", "RED_CELLS", 1).await;
    let id = Uuid::parse_str(&request).expect("request id");
    let bank = Uuid::parse_str(&net.bank.id).expect("bank id");
    let set = |column: blood_request::Column, value: Uuid| {
        blood_request::Entity::update_many()
            .col_expr(column, Expr::value(value))
            .filter(blood_request::Column::Id.eq(id))
            .exec(&app.db)
    };

    // Act / Assert: every reference refuses a row that does not exist...
    for column in [
        blood_request::Column::TargetBankId,
        blood_request::Column::BloodBankId,
        blood_request::Column::RequestedByUserId,
        blood_request::Column::RequestedByApiClientId,
    ] {
        let refused = set(column, Uuid::now_v7()).await;
        assert!(refused.is_err(), "{column:?} took a missing row");
    }
    // ...and takes one that does.
    set(blood_request::Column::TargetBankId, bank)
        .await
        .expect("a real bank is a valid target");
}

#[tokio::test]
async fn audit_rows_cannot_be_changed_or_removed_by_the_application() {
    // Arrange: approving an organization leaves audit rows.
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let admin = app.signed_in("admin@db.example").await;
    app.approved_org(&root, &admin, "HOSP-DB", "HOSPITAL").await;
    let before = app.count("SELECT COUNT(*) FROM audit_logs").await;
    assert!(before > 0);

    // Act
    let rewritten = audit_log::Entity::update_many()
        .col_expr(audit_log::Column::Outcome, Expr::value("SUCCESS"))
        .exec(&app.db)
        .await;
    let removed = audit_log::Entity::delete_many().exec(&app.db).await;

    // Assert
    assert!(rewritten.is_err(), "an audit row was rewritten");
    assert!(removed.is_err(), "an audit row was deleted");
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_logs").await, before);
}

#[tokio::test]
async fn every_column_that_names_a_row_is_a_checked_reference() {
    // Arrange: every `…_id` and `…_by` column outside the audit trail.
    let app = spawn_app().await;
    let postgres = app.test_db.is_postgres();
    let columns = id_columns(&app, postgres).await;
    assert!(columns.len() > 40, "found only {columns:?}");

    // Act: those without a foreign key (Postgres) or reference triggers (SQLite).
    let mut unchecked = Vec::new();
    for (table, column) in &columns {
        let name = format!("{table}.{column}");
        if NOT_REFERENCES.contains(&name.as_str()) {
            continue;
        }
        let checked = if postgres {
            app.count(&format!(
                "SELECT COUNT(*) FROM information_schema.key_column_usage k \
                 JOIN information_schema.table_constraints c \
                 ON c.constraint_name = k.constraint_name AND c.constraint_type = 'FOREIGN KEY' \
                 WHERE k.table_name = '{table}' AND k.column_name = '{column}'"
            ))
            .await
        } else {
            app.count(&format!(
                "SELECT (SELECT COUNT(*) FROM pragma_foreign_key_list('{table}') \
                 WHERE \"from\" = '{column}') + (SELECT COUNT(*) FROM sqlite_master \
                 WHERE type = 'trigger' AND name = 'fk_{table}_{column}_insert')"
            ))
            .await
        };
        if checked == 0 {
            unchecked.push(name);
        }
    }

    // Assert
    assert!(unchecked.is_empty(), "not enforced: {unchecked:?}");
}

async fn id_columns(app: &TestApp, postgres: bool) -> Vec<(String, String)> {
    let backend = app.db.get_database_backend();
    let sql = if postgres {
        "SELECT table_name AS t, column_name AS c FROM information_schema.columns \
         WHERE table_schema = 'public' AND data_type = 'uuid'"
    } else {
        "SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND p.type = 'uuid_text'"
    };
    app.db
        .query_all_raw(Statement::from_string(backend, sql))
        .await
        .expect("columns")
        .into_iter()
        .map(|r| {
            (
                r.try_get::<String>("", "t").expect("table"),
                r.try_get::<String>("", "c").expect("column"),
            )
        })
        .filter(|(t, c)| {
            t != "audit_logs"
                && t != "seaql_migrations"
                && c != "id"
                && (c.ends_with("_id") || c.ends_with("_by"))
        })
        .collect()
}

//! Kept counts of available units per bank, component and group (`blood_stock_counts`), so
//! the compatible-stock search reads one row per bank and group instead of one index entry
//! per unit (issue 14).
//!
//! The counts are kept by triggers on `blood_units`, not by the application: every path that
//! changes a unit (adding, releasing, discarding, reserving, issuing, returning to stock, the
//! sweep's expiry, the seeders, a hand-written fix in psql) is a statement on that table, so
//! the count moves in the same transaction as the unit whatever code ran it, and a path
//! added later cannot forget it.
//!
//! `available` counts units whose status is `AVAILABLE`, expired or not: time passing changes
//! no row, so no trigger could follow it. Readers subtract the available units already past
//! `expires_at` (an index range the sweep keeps short; see `stock::service::find_compatible`).
//!
//! Postgres: one statement-level trigger per event, reading the statement's transition
//! tables, adds each key's net change with one upsert whose rows come in key order. A
//! statement therefore locks the count rows it changes in one global order, so two statements
//! changing units of several groups at one bank cannot deadlock on them (a row-level trigger
//! would lock them in the order the update happens to visit the units). Keys whose net change
//! is zero (an update that leaves a unit available, such as the expiry-alert flag) are not
//! written, so they take no lock.
//!
//! SQLite: row-level triggers with an upsert; its write transactions run one at a time.
//!
//! The table and the triggers are created, and the counts backfilled, in one transaction
//! (Postgres runs every migration in one; this one asks for it on SQLite too). On Postgres,
//! `CREATE TRIGGER` takes a lock on `blood_units` that keeps writers out until the commit, so
//! no unit changes between the backfill and the first counted change.

use sea_orm_migration::{prelude::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const BACKFILL: &str = "INSERT INTO blood_stock_counts (blood_bank_id, component, blood_group, available) \
     SELECT blood_bank_id, component, blood_group, COUNT(*) FROM blood_units \
     WHERE status = 'AVAILABLE' GROUP BY blood_bank_id, component, blood_group";

const POSTGRES_UP: &str = "
CREATE TABLE blood_stock_counts (
    blood_bank_id uuid NOT NULL,
    component varchar(24) NOT NULL,
    blood_group varchar(8) NOT NULL,
    available bigint NOT NULL,
    PRIMARY KEY (blood_bank_id, component, blood_group),
    CONSTRAINT fk_blood_stock_counts_blood_bank_id
        FOREIGN KEY (blood_bank_id) REFERENCES organizations (id)
);

CREATE FUNCTION blood_stock_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO blood_stock_counts AS c (blood_bank_id, component, blood_group, available)
        SELECT blood_bank_id, component, blood_group, COUNT(*) FROM new_units
        WHERE status = 'AVAILABLE'
        GROUP BY blood_bank_id, component, blood_group
        ORDER BY blood_bank_id, component, blood_group
        ON CONFLICT (blood_bank_id, component, blood_group)
        DO UPDATE SET available = c.available + EXCLUDED.available;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO blood_stock_counts AS c (blood_bank_id, component, blood_group, available)
        SELECT blood_bank_id, component, blood_group, -COUNT(*) FROM old_units
        WHERE status = 'AVAILABLE'
        GROUP BY blood_bank_id, component, blood_group
        ORDER BY blood_bank_id, component, blood_group
        ON CONFLICT (blood_bank_id, component, blood_group)
        DO UPDATE SET available = c.available + EXCLUDED.available;
    ELSE
        INSERT INTO blood_stock_counts AS c (blood_bank_id, component, blood_group, available)
        SELECT blood_bank_id, component, blood_group, SUM(n) FROM (
            SELECT blood_bank_id, component, blood_group, -1 AS n FROM old_units
            WHERE status = 'AVAILABLE'
            UNION ALL
            SELECT blood_bank_id, component, blood_group, 1 AS n FROM new_units
            WHERE status = 'AVAILABLE'
        ) d
        GROUP BY blood_bank_id, component, blood_group
        HAVING SUM(n) <> 0
        ORDER BY blood_bank_id, component, blood_group
        ON CONFLICT (blood_bank_id, component, blood_group)
        DO UPDATE SET available = c.available + EXCLUDED.available;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER blood_stock_counts_insert AFTER INSERT ON blood_units
    REFERENCING NEW TABLE AS new_units
    FOR EACH STATEMENT EXECUTE FUNCTION blood_stock_counts_apply();
CREATE TRIGGER blood_stock_counts_update AFTER UPDATE ON blood_units
    REFERENCING OLD TABLE AS old_units NEW TABLE AS new_units
    FOR EACH STATEMENT EXECUTE FUNCTION blood_stock_counts_apply();
CREATE TRIGGER blood_stock_counts_delete AFTER DELETE ON blood_units
    REFERENCING OLD TABLE AS old_units
    FOR EACH STATEMENT EXECUTE FUNCTION blood_stock_counts_apply();
";

const SQLITE_UP: &str = "
CREATE TABLE blood_stock_counts (
    blood_bank_id uuid_text NOT NULL REFERENCES organizations (id),
    component varchar(24) NOT NULL,
    blood_group varchar(8) NOT NULL,
    available bigint NOT NULL,
    PRIMARY KEY (blood_bank_id, component, blood_group)
);

CREATE TRIGGER blood_stock_counts_insert AFTER INSERT ON blood_units
WHEN NEW.status = 'AVAILABLE'
BEGIN
    INSERT INTO blood_stock_counts (blood_bank_id, component, blood_group, available)
    VALUES (NEW.blood_bank_id, NEW.component, NEW.blood_group, 1)
    ON CONFLICT (blood_bank_id, component, blood_group) DO UPDATE SET available = available + 1;
END;

CREATE TRIGGER blood_stock_counts_delete AFTER DELETE ON blood_units
WHEN OLD.status = 'AVAILABLE'
BEGIN
    UPDATE blood_stock_counts SET available = available - 1
    WHERE blood_bank_id = OLD.blood_bank_id AND component = OLD.component
      AND blood_group = OLD.blood_group;
END;

CREATE TRIGGER blood_stock_counts_update_old
AFTER UPDATE OF status, blood_bank_id, component, blood_group ON blood_units
WHEN OLD.status = 'AVAILABLE' AND (NEW.status IS NOT 'AVAILABLE'
    OR NEW.blood_bank_id IS NOT OLD.blood_bank_id OR NEW.component IS NOT OLD.component
    OR NEW.blood_group IS NOT OLD.blood_group)
BEGIN
    UPDATE blood_stock_counts SET available = available - 1
    WHERE blood_bank_id = OLD.blood_bank_id AND component = OLD.component
      AND blood_group = OLD.blood_group;
END;

CREATE TRIGGER blood_stock_counts_update_new
AFTER UPDATE OF status, blood_bank_id, component, blood_group ON blood_units
WHEN NEW.status = 'AVAILABLE' AND (OLD.status IS NOT 'AVAILABLE'
    OR NEW.blood_bank_id IS NOT OLD.blood_bank_id OR NEW.component IS NOT OLD.component
    OR NEW.blood_group IS NOT OLD.blood_group)
BEGIN
    INSERT INTO blood_stock_counts (blood_bank_id, component, blood_group, available)
    VALUES (NEW.blood_bank_id, NEW.component, NEW.blood_group, 1)
    ON CONFLICT (blood_bank_id, component, blood_group) DO UPDATE SET available = available + 1;
END;
";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        match m.get_database_backend() {
            DatabaseBackend::Postgres => db.execute_unprepared(POSTGRES_UP).await?,
            _ => db.execute_unprepared(SQLITE_UP).await?,
        };
        db.execute_unprepared(BACKFILL).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        match m.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared(
                    "DROP TRIGGER blood_stock_counts_insert ON blood_units; \
                     DROP TRIGGER blood_stock_counts_update ON blood_units; \
                     DROP TRIGGER blood_stock_counts_delete ON blood_units; \
                     DROP FUNCTION blood_stock_counts_apply(); \
                     DROP TABLE blood_stock_counts;",
                )
                .await?
            }
            _ => {
                db.execute_unprepared(
                    "DROP TRIGGER blood_stock_counts_insert; \
                     DROP TRIGGER blood_stock_counts_delete; \
                     DROP TRIGGER blood_stock_counts_update_old; \
                     DROP TRIGGER blood_stock_counts_update_new; \
                     DROP TABLE blood_stock_counts;",
                )
                .await?
            }
        };
        Ok(())
    }
}

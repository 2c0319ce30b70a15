//! The soonest expiry of each kept count (`blood_stock_counts.soonest_expiry`), so the
//! compatible-stock search answers from the count rows alone instead of seeking into
//! `blood_units` once per (bank, group) for the soonest expiry (issue 14, second pass: that
//! seek in an index ten times larger was what still grew with the stock).
//!
//! `soonest_expiry` is the earliest `expires_at` among the key's `AVAILABLE` units, expired or
//! not (like `available`: time passing changes no row), NULL when it has none. The triggers of
//! `m20261202_000001_stock_counts` keep it in the transaction of every unit change: a unit
//! entering a key lowers it (`LEAST`), a unit leaving it (status, bank, component, group or
//! expiry changed, or deleted) recomputes it with one seek into `ix_blood_units_match` only
//! when the leaving unit held it. Readers still treat a kept value at or before `now` as
//! unknown (an expired unit the sweep has not marked yet holds it) and seek for those keys.
//!
//! Postgres: the function of the statement-level triggers is replaced. Its first statement
//! upserts every changed key in key order (as before; it now also lowers the soonest expiry),
//! which locks those rows; its second statement recomputes the soonest expiry of the keys a
//! holder left. Under READ COMMITTED that second statement takes a new snapshot after the
//! locks are held, so it sees every transaction that changed the key's row before this one;
//! one that changes units of the key later waits for the lock and corrects the value itself
//! (`LEAST` for a unit entering, a recompute for a holder leaving). An update that changes
//! neither a unit's key, nor its expiry, nor whether it is available still writes no row.
//!
//! SQLite: the row-level triggers are recreated with the soonest expiry in them (and fire on
//! a change of `expires_at` too); its write transactions run one at a time.
//!
//! Backfilled in the migration's transaction, after `blood_units` is locked against writers
//! (Postgres) so no unit changes between the backfill and the new function.

use sea_orm_migration::{prelude::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const BACKFILL: &str = "UPDATE blood_stock_counts SET soonest_expiry = (\
     SELECT MIN(u.expires_at) FROM blood_units u \
     WHERE u.blood_bank_id = blood_stock_counts.blood_bank_id \
     AND u.component = blood_stock_counts.component AND u.status = 'AVAILABLE' \
     AND u.blood_group = blood_stock_counts.blood_group)";

const POSTGRES_UP: &str = "
LOCK TABLE blood_units IN SHARE ROW EXCLUSIVE MODE;
ALTER TABLE blood_stock_counts ADD COLUMN soonest_expiry timestamp with time zone;

CREATE OR REPLACE FUNCTION blood_stock_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO blood_stock_counts AS c
            (blood_bank_id, component, blood_group, available, soonest_expiry)
        SELECT blood_bank_id, component, blood_group, COUNT(*), MIN(expires_at) FROM new_units
        WHERE status = 'AVAILABLE'
        GROUP BY blood_bank_id, component, blood_group
        ORDER BY blood_bank_id, component, blood_group
        ON CONFLICT (blood_bank_id, component, blood_group)
        DO UPDATE SET available = c.available + EXCLUDED.available,
            soonest_expiry = LEAST(c.soonest_expiry, EXCLUDED.soonest_expiry);
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO blood_stock_counts AS c (blood_bank_id, component, blood_group, available)
        SELECT blood_bank_id, component, blood_group, -COUNT(*) FROM old_units
        WHERE status = 'AVAILABLE'
        GROUP BY blood_bank_id, component, blood_group
        ORDER BY blood_bank_id, component, blood_group
        ON CONFLICT (blood_bank_id, component, blood_group)
        DO UPDATE SET available = c.available + EXCLUDED.available;
        -- A new statement, so a new snapshot, taken with the rows above locked.
        UPDATE blood_stock_counts c SET soonest_expiry = (
            SELECT MIN(u.expires_at) FROM blood_units u
            WHERE u.blood_bank_id = c.blood_bank_id AND u.component = c.component
            AND u.status = 'AVAILABLE' AND u.blood_group = c.blood_group)
        FROM (SELECT blood_bank_id, component, blood_group, MIN(expires_at) AS gone
              FROM old_units WHERE status = 'AVAILABLE'
              GROUP BY blood_bank_id, component, blood_group) g
        WHERE c.blood_bank_id = g.blood_bank_id AND c.component = g.component
        AND c.blood_group = g.blood_group
        AND (c.soonest_expiry IS NULL OR g.gone <= c.soonest_expiry);
    ELSE
        -- Units that left or entered an available key: paired by id, so an update that
        -- leaves a unit available in the same key with the same expiry is neither.
        INSERT INTO blood_stock_counts AS c
            (blood_bank_id, component, blood_group, available, soonest_expiry)
        SELECT blood_bank_id, component, blood_group, SUM(n),
               MIN(expires_at) FILTER (WHERE n = 1)
        FROM (
            SELECT o.blood_bank_id, o.component, o.blood_group, o.expires_at, -1 AS n
            FROM old_units o
            WHERE o.status = 'AVAILABLE' AND NOT EXISTS (
                SELECT 1 FROM new_units k WHERE k.id = o.id AND k.status = 'AVAILABLE'
                AND k.blood_bank_id = o.blood_bank_id AND k.component = o.component
                AND k.blood_group = o.blood_group AND k.expires_at = o.expires_at)
            UNION ALL
            SELECT w.blood_bank_id, w.component, w.blood_group, w.expires_at, 1 AS n
            FROM new_units w
            WHERE w.status = 'AVAILABLE' AND NOT EXISTS (
                SELECT 1 FROM old_units k WHERE k.id = w.id AND k.status = 'AVAILABLE'
                AND k.blood_bank_id = w.blood_bank_id AND k.component = w.component
                AND k.blood_group = w.blood_group AND k.expires_at = w.expires_at)
        ) d
        GROUP BY blood_bank_id, component, blood_group
        ORDER BY blood_bank_id, component, blood_group
        ON CONFLICT (blood_bank_id, component, blood_group)
        DO UPDATE SET available = c.available + EXCLUDED.available,
            soonest_expiry = LEAST(c.soonest_expiry, EXCLUDED.soonest_expiry);
        -- A new statement, so a new snapshot, taken with the rows above locked.
        UPDATE blood_stock_counts c SET soonest_expiry = (
            SELECT MIN(u.expires_at) FROM blood_units u
            WHERE u.blood_bank_id = c.blood_bank_id AND u.component = c.component
            AND u.status = 'AVAILABLE' AND u.blood_group = c.blood_group)
        FROM (SELECT o.blood_bank_id, o.component, o.blood_group, MIN(o.expires_at) AS gone
              FROM old_units o
              WHERE o.status = 'AVAILABLE' AND NOT EXISTS (
                  SELECT 1 FROM new_units k WHERE k.id = o.id AND k.status = 'AVAILABLE'
                  AND k.blood_bank_id = o.blood_bank_id AND k.component = o.component
                  AND k.blood_group = o.blood_group AND k.expires_at = o.expires_at)
              GROUP BY o.blood_bank_id, o.component, o.blood_group) g
        WHERE c.blood_bank_id = g.blood_bank_id AND c.component = g.component
        AND c.blood_group = g.blood_group
        AND (c.soonest_expiry IS NULL OR g.gone <= c.soonest_expiry);
    END IF;
    RETURN NULL;
END $$;
";

/// The count's change for a unit entering a key (`NEW`) or leaving it (`OLD`), as SQLite
/// trigger bodies.
const SQLITE_ENTER: &str = "
    INSERT INTO blood_stock_counts
        (blood_bank_id, component, blood_group, available, soonest_expiry)
    VALUES (NEW.blood_bank_id, NEW.component, NEW.blood_group, 1, NEW.expires_at)
    ON CONFLICT (blood_bank_id, component, blood_group) DO UPDATE SET
        available = available + 1,
        soonest_expiry = CASE WHEN soonest_expiry IS NULL OR excluded.soonest_expiry < soonest_expiry
            THEN excluded.soonest_expiry ELSE soonest_expiry END;";

const SQLITE_LEAVE: &str = "
    UPDATE blood_stock_counts SET
        available = available - 1,
        soonest_expiry = CASE WHEN soonest_expiry IS NULL OR OLD.expires_at <= soonest_expiry
            THEN (SELECT MIN(u.expires_at) FROM blood_units u
                  WHERE u.blood_bank_id = OLD.blood_bank_id AND u.component = OLD.component
                  AND u.status = 'AVAILABLE' AND u.blood_group = OLD.blood_group)
            ELSE soonest_expiry END
    WHERE blood_bank_id = OLD.blood_bank_id AND component = OLD.component
      AND blood_group = OLD.blood_group;";

/// A unit that is available before and after an update but changed key or expiry.
const SQLITE_MOVED: &str = "(NEW.blood_bank_id IS NOT OLD.blood_bank_id \
    OR NEW.component IS NOT OLD.component OR NEW.blood_group IS NOT OLD.blood_group \
    OR NEW.expires_at IS NOT OLD.expires_at)";

fn sqlite_up() -> String {
    format!(
        "
ALTER TABLE blood_stock_counts ADD COLUMN soonest_expiry timestamp_with_timezone_text;
DROP TRIGGER blood_stock_counts_insert;
DROP TRIGGER blood_stock_counts_delete;
DROP TRIGGER blood_stock_counts_update_old;
DROP TRIGGER blood_stock_counts_update_new;

CREATE TRIGGER blood_stock_counts_insert AFTER INSERT ON blood_units
WHEN NEW.status = 'AVAILABLE'
BEGIN{SQLITE_ENTER}
END;

CREATE TRIGGER blood_stock_counts_delete AFTER DELETE ON blood_units
WHEN OLD.status = 'AVAILABLE'
BEGIN{SQLITE_LEAVE}
END;

CREATE TRIGGER blood_stock_counts_update_old
AFTER UPDATE OF status, blood_bank_id, component, blood_group, expires_at ON blood_units
WHEN OLD.status = 'AVAILABLE' AND (NEW.status IS NOT 'AVAILABLE' OR {SQLITE_MOVED})
BEGIN{SQLITE_LEAVE}
END;

CREATE TRIGGER blood_stock_counts_update_new
AFTER UPDATE OF status, blood_bank_id, component, blood_group, expires_at ON blood_units
WHEN NEW.status = 'AVAILABLE' AND (OLD.status IS NOT 'AVAILABLE' OR {SQLITE_MOVED})
BEGIN{SQLITE_ENTER}
END;
"
    )
}

/// The triggers of `m20261202_000001_stock_counts`, for `down` on SQLite.
const SQLITE_DOWN: &str = "
DROP TRIGGER blood_stock_counts_insert;
DROP TRIGGER blood_stock_counts_delete;
DROP TRIGGER blood_stock_counts_update_old;
DROP TRIGGER blood_stock_counts_update_new;
ALTER TABLE blood_stock_counts DROP COLUMN soonest_expiry;

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

/// The function of `m20261202_000001_stock_counts`, for `down` on Postgres.
const POSTGRES_DOWN: &str = "
CREATE OR REPLACE FUNCTION blood_stock_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
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
ALTER TABLE blood_stock_counts DROP COLUMN soonest_expiry;
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
            _ => db.execute_unprepared(&sqlite_up()).await?,
        };
        db.execute_unprepared(BACKFILL).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        match m.get_database_backend() {
            DatabaseBackend::Postgres => db.execute_unprepared(POSTGRES_DOWN).await?,
            _ => db.execute_unprepared(SQLITE_DOWN).await?,
        };
        Ok(())
    }
}

//! Database connections: the pool, migrations, and the per-request counting wrapper.

use crate::config::Config;
use sea_orm::{
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DatabaseTransaction, DbBackend, DbErr, EntityTrait, ExecResult, PrimaryKeyTrait, QueryFilter,
    QueryResult, QuerySelect, Select, SqliteTransactionMode, Statement, TransactionOptions,
    TransactionTrait, UpdateMany,
    sea_query::{LockBehavior, LockType},
    sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous},
};
use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

/// Opens the pool for the configured database with its timeouts.
pub async fn connect(config: &Config) -> Result<DatabaseConnection, DbErr> {
    let mut opt = ConnectOptions::new(config.database_url.clone());
    opt.max_connections(config.db_max_connections)
        .min_connections(1)
        .acquire_timeout(config.db_acquire_timeout)
        .sqlx_logging(false)
        .statement_timeout(config.db_statement_timeout)
        // A ping on every checkout doubles the round trips of a one-statement checkout (each
        // statement of a request takes its own); only a connection idle for a while may have
        // been dropped by the server or a proxy, so only it is checked.
        .test_before_acquire_if_idle_for(std::time::Duration::from_secs(30));
    // Postgres keeps its default plan cache (`plan_cache_mode = auto`): sqlx prepares and
    // caches each statement per connection, and after five runs Postgres may reuse a generic
    // plan instead of planning again. The one statement whose generic plan was bad, the
    // compatible-stock search, now has a shape whose generic plan is the good one
    // (`stock::service::compatible_stock`), so no connection-wide setting is needed.
    let busy = config.db_statement_timeout;
    // SQLite: WAL lets readers run beside the one writer; the busy timeout makes a second
    // writer wait for the lock instead of failing with "database is locked".
    opt.map_sqlx_sqlite_opts(move |o| {
        o.journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(busy)
            .foreign_keys(true)
    });
    Database::connect(opt).await
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    use migration::MigratorTrait;
    migration::Migrator::up(db, None).await
}

/// Begins a write transaction. On SQLite it is `BEGIN IMMEDIATE`, so two writers queue on
/// the lock instead of both reading and then failing to upgrade; on Postgres a plain `BEGIN`.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        isolation_level: None,
        access_mode: None,
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
    })
    .await
}

/// Finds a row by id; on Postgres it stays locked (`FOR UPDATE`) until the transaction ends,
/// so writers of one row queue instead of racing. SQLite needs no row lock: its write
/// transactions (`BEGIN IMMEDIATE`) already run one at a time.
pub async fn find_locked<E, C>(db: &C, id: uuid::Uuid) -> Result<Option<E::Model>, DbErr>
where
    E: EntityTrait,
    C: ConnectionTrait,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<uuid::Uuid>,
{
    let mut q = E::find_by_id(id);
    if db.get_database_backend() == DbBackend::Postgres {
        q = q.lock_exclusive();
    }
    q.one(db).await
}

/// Selects rows to claim: on Postgres `FOR UPDATE SKIP LOCKED`, so concurrent claimers (other
/// instances, other workers) take different rows instead of queueing on the same ones. SQLite
/// needs no lock: its write transactions (`BEGIN IMMEDIATE`) already run one at a time.
pub fn skip_locked<E: EntityTrait>(db: &impl ConnectionTrait, q: Select<E>) -> Select<E> {
    if db.get_database_backend() == DbBackend::Postgres {
        q.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
    } else {
        q
    }
}

/// Claims rows: selects the candidates (see [`skip_locked`]) and applies `update` to them.
/// `update` carries its own condition (still `PENDING`, not yet alerted, …): a conditional
/// update, so a row another claimer moved meanwhile is left alone. Returns the candidates and
/// how many rows the update moved.
pub async fn claim<E, C>(
    db: &C,
    candidates: Select<E>,
    id: E::Column,
    id_of: impl Fn(&E::Model) -> uuid::Uuid,
    update: UpdateMany<E>,
) -> Result<(Vec<E::Model>, u64), DbErr>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    let rows = skip_locked(db, candidates).all(db).await?;
    if rows.is_empty() {
        return Ok((rows, 0));
    }
    let moved = update
        .filter(id.is_in(rows.iter().map(id_of)))
        .exec(db)
        .await?
        .rows_affected;
    Ok((rows, moved))
}

/// A request's view of the pool that counts the statements it runs.
///
/// Loaders run their batches on spawned tasks, so a task-local counter would miss them; the
/// counter travels with this handle instead, which every loader of the request holds.
#[derive(Clone, Debug)]
pub struct Db {
    conn: DatabaseConnection,
    statements: Arc<AtomicU64>,
}

impl Db {
    /// Wraps the pool for one request.
    pub fn new(conn: DatabaseConnection) -> Self {
        Self {
            conn,
            statements: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Statements run through this handle so far.
    pub fn statements(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// The underlying pool, for transactions.
    pub fn pool(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// Begins a write transaction (see [`begin_write`]) whose statements, `BEGIN` and
    /// `COMMIT` included, count towards this request's total.
    pub async fn begin_write(&self) -> Result<CountedTxn, DbErr> {
        let txn = begin_write(&self.conn).await?;
        self.tick();
        Ok(CountedTxn {
            txn,
            statements: self.statements.clone(),
        })
    }

    fn tick(&self) {
        self.statements.fetch_add(1, Ordering::Relaxed);
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Db {
    fn get_database_backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.tick();
        self.conn.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.tick();
        self.conn.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.tick();
        self.conn.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.tick();
        self.conn.query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.conn.support_returning()
    }
}

/// A write transaction of a request, counting its statements into the request's total (so
/// `x-sql-statements` covers mutations too). Dropped without [`CountedTxn::commit`], it
/// rolls back.
pub struct CountedTxn {
    txn: DatabaseTransaction,
    statements: Arc<AtomicU64>,
}

impl std::fmt::Debug for CountedTxn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CountedTxn").finish_non_exhaustive()
    }
}

impl CountedTxn {
    pub async fn commit(self) -> Result<(), DbErr> {
        self.tick();
        self.txn.commit().await
    }

    fn tick(&self) {
        self.statements.fetch_add(1, Ordering::Relaxed);
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for CountedTxn {
    fn get_database_backend(&self) -> DbBackend {
        self.txn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.tick();
        self.txn.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.tick();
        self.txn.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.tick();
        self.txn.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.tick();
        self.txn.query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.txn.support_returning()
    }
}

/// Now, truncated to microseconds so a value reads back equal from either database.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}

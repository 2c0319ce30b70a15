//! Database connections: the pool, migrations, and the per-request counting wrapper.

use crate::config::Config;
use sea_orm::{
    AccessMode, ColumnTrait, ConnAcquireErr, ConnectOptions, ConnectionTrait, Database,
    DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, EntityTrait, ExecResult,
    IsolationLevel, PrimaryKeyTrait, QueryFilter, QueryResult, QuerySelect, RuntimeErr, Select,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait, UpdateMany,
    sea_query::{LockBehavior, LockType, Values},
    sqlx::{
        self, PgConnection, Postgres,
        pool::PoolConnection,
        sqlite::{SqliteJournalMode, SqliteSynchronous},
    },
};
use sea_query_sqlx::SqlxValues;
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

/// Finds a row by id; on Postgres it stays share-locked (`FOR SHARE`) until the transaction
/// ends: holders do not wait for each other, but a writer taking the row `FOR UPDATE` waits
/// for them and they for it. SQLite needs no lock (see [`find_locked`]).
pub async fn find_shared<E, C>(db: &C, id: uuid::Uuid) -> Result<Option<E::Model>, DbErr>
where
    E: EntityTrait,
    C: ConnectionTrait,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<uuid::Uuid>,
{
    let mut q = E::find_by_id(id);
    if db.get_database_backend() == DbBackend::Postgres {
        q = q.lock_shared();
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
///
/// On Postgres a query operation's reads share one pooled connection (see
/// [`Db::hold_reads`]): taking a connection from sqlx's pool and giving it back costs a
/// spawned task and a ping round trip per statement otherwise.
#[derive(Clone, Debug)]
pub struct Db {
    conn: DatabaseConnection,
    statements: Arc<AtomicU64>,
    held: Option<Arc<Held>>,
}

/// The connection a request's reads share, taken at its first statement.
#[derive(Debug, Default)]
struct Held {
    /// Whether statements use the held connection (a query operation is running).
    on: std::sync::atomic::AtomicBool,
    slot: tokio::sync::Mutex<Option<PoolConnection<Postgres>>>,
}

impl Db {
    /// Wraps the pool for one request; every statement takes its own pooled connection.
    pub fn new(conn: DatabaseConnection) -> Self {
        Self {
            conn,
            statements: Arc::new(AtomicU64::new(0)),
            held: None,
        }
    }

    /// Wraps the pool for one request whose query operations may share one connection
    /// (Postgres only; on SQLite the same as [`Db::new`]). Off until [`Db::hold_reads`].
    pub fn per_request(conn: DatabaseConnection) -> Self {
        let held =
            (conn.get_database_backend() == DbBackend::Postgres).then(|| Arc::new(Held::default()));
        Self {
            conn,
            statements: Arc::new(AtomicU64::new(0)),
            held,
        }
    }

    /// Whether the statements of the operation about to run share one pooled connection.
    /// Only a query's: a mutation's use case opens its own transaction (and some read through
    /// the pool), so holding a connection there would take two per request and could wait on
    /// a pool that requests like it have emptied. The held connection goes back to the pool
    /// at [`Db::release`] or when the last clone of this handle is dropped.
    pub fn hold_reads(&self, on: bool) {
        if let Some(h) = &self.held {
            h.on.store(on, Ordering::Relaxed);
            if !on && let Ok(mut slot) = h.slot.try_lock() {
                slot.take();
            }
        }
    }

    /// Gives the held connection back to the pool (the end of an operation).
    pub async fn release(&self) {
        if let Some(h) = &self.held {
            h.on.store(false, Ordering::Relaxed);
            h.slot.lock().await.take();
        }
    }

    /// The held slot, if this operation's statements share a connection.
    fn holding(&self) -> Option<&Held> {
        self.held
            .as_deref()
            .filter(|h| h.on.load(Ordering::Relaxed))
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
    /// `COMMIT` included, count towards this request's total. A held connection goes back
    /// first, so a request never holds two.
    pub async fn begin_write(&self) -> Result<CountedTxn, DbErr> {
        self.release().await;
        let txn = begin_write(&self.conn).await?;
        self.tick();
        Ok(CountedTxn {
            txn,
            statements: self.statements.clone(),
        })
    }

    /// Begins a read-only transaction that sees one snapshot (`REPEATABLE READ` on Postgres;
    /// a deferred transaction on SQLite, which reads one snapshot too), counted like
    /// [`Db::begin_write`], for a read whose statements must agree with each other.
    pub async fn begin_read(&self) -> Result<CountedTxn, DbErr> {
        self.release().await;
        let postgres = self.conn.get_database_backend() == DbBackend::Postgres;
        let txn = self
            .conn
            .begin_with_options(TransactionOptions {
                isolation_level: postgres.then_some(IsolationLevel::RepeatableRead),
                access_mode: postgres.then_some(AccessMode::ReadOnly),
                sqlite_transaction_mode: None,
            })
            .await?;
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

impl Held {
    /// Runs `f` on the held connection, taking one from `pool` first if none is held. The
    /// lock is only held across the statement (and the checkout before the first), never
    /// across anything that waits for another connection.
    async fn with<T>(
        &self,
        pool: &DatabaseConnection,
        f: impl AsyncFnOnce(&mut PgConnection) -> Result<T, sqlx::Error>,
        err: fn(sqlx::Error) -> DbErr,
    ) -> Result<T, DbErr> {
        let mut slot = self.slot.lock().await;
        let conn = match &mut *slot {
            Some(c) => c,
            empty => empty.insert(
                pool.get_postgres_connection_pool()
                    .acquire()
                    .await
                    .map_err(acquire_err)?,
            ),
        };
        match f(&mut **conn).await {
            Ok(v) => Ok(v),
            Err(e) => {
                // A connection that failed below the SQL level is not reused.
                if !matches!(e, sqlx::Error::Database(_) | sqlx::Error::RowNotFound) {
                    slot.take();
                }
                Err(err(e))
            }
        }
    }
}

/// The statement with its values, as sea-orm's own Postgres driver binds it.
fn pg_query(stmt: &Statement) -> sqlx::query::Query<'_, Postgres, SqlxValues> {
    let values = stmt.values.clone().unwrap_or(Values(Vec::new()));
    sqlx::query_with(sqlx::AssertSqlSafe(stmt.sql.as_str()), SqlxValues(values))
}

fn query_err(e: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(Arc::new(e)))
}

fn exec_err(e: sqlx::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::SqlxError(Arc::new(e)))
}

/// As sea-orm maps a failed checkout.
fn acquire_err(e: sqlx::Error) -> DbErr {
    match e {
        sqlx::Error::PoolTimedOut => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
        sqlx::Error::PoolClosed => DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
        e => DbErr::Conn(RuntimeErr::SqlxError(Arc::new(e))),
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Db {
    fn get_database_backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.tick();
        match self.holding() {
            Some(h) => {
                h.with(
                    &self.conn,
                    async |c| pg_query(&stmt).execute(c).await.map(ExecResult::from),
                    exec_err,
                )
                .await
            }
            None => self.conn.execute_raw(stmt).await,
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.tick();
        match self.holding() {
            Some(h) => {
                h.with(
                    &self.conn,
                    async |c| {
                        sqlx::Executor::execute(c, sqlx::AssertSqlSafe(sql.to_owned()))
                            .await
                            .map(ExecResult::from)
                    },
                    exec_err,
                )
                .await
            }
            None => self.conn.execute_unprepared(sql).await,
        }
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.tick();
        match self.holding() {
            Some(h) => {
                h.with(
                    &self.conn,
                    async |c| {
                        pg_query(&stmt)
                            .fetch_optional(c)
                            .await
                            .map(|r| r.map(QueryResult::from))
                    },
                    query_err,
                )
                .await
            }
            None => self.conn.query_one_raw(stmt).await,
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.tick();
        match self.holding() {
            Some(h) => {
                h.with(
                    &self.conn,
                    async |c| {
                        pg_query(&stmt)
                            .fetch_all(c)
                            .await
                            .map(|rows| rows.into_iter().map(QueryResult::from).collect())
                    },
                    query_err,
                )
                .await
            }
            None => self.conn.query_all_raw(stmt).await,
        }
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

//! A request's connection handle (`db::Db`): on Postgres a query's statements share one pooled
//! connection, which goes back to the pool when the query ends or a write begins; and however
//! many queries and mutations arrive at once, a small pool serves them all (a request never
//! holds one connection while waiting for another).

use lifeflow::db::Db;
use lifeflow_tests::{fixtures::blood::*, *};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::json;

async fn backend_pid(db: &Db) -> i32 {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT pg_backend_pid() AS pid",
        ))
        .await
        .expect("pg_backend_pid")
        .expect("a row");
    row.try_get("", "pid").expect("pid")
}

#[tokio::test]
async fn a_querys_statements_share_one_connection_which_goes_back_when_it_ends() {
    // Arrange: a pool of two connections (the second is taken away below).
    let app = spawn_app_with(&[
        ("DB_MAX_CONNECTIONS", "2"),
        ("DB_ACQUIRE_TIMEOUT_MS", "3000"),
    ])
    .await;
    if app.db.get_database_backend() != DbBackend::Postgres {
        return; // SQLite takes a connection per statement; nothing is held.
    }
    let pool = app.db.get_postgres_connection_pool().clone();
    let db = Db::per_request(app.db.clone());
    db.hold_reads(true);

    // Act: the first statement takes a connection; the pool's other one is then taken by
    // someone else, so a second statement that went to the pool would wait and time out.
    let first = backend_pid(&db).await;
    let other = pool.acquire().await.expect("the pool's other connection");
    let second = backend_pid(&db).await;
    let statements = db.statements();
    db.release().await;
    let back = tokio::time::timeout(std::time::Duration::from_secs(2), pool.acquire()).await;

    // Assert
    assert_eq!(first, second, "both statements ran on the held connection");
    assert_eq!(
        statements, 2,
        "statements on the held connection are counted"
    );
    assert!(
        matches!(back, Ok(Ok(_))),
        "the held connection went back to the pool"
    );
    drop(other);
}

#[tokio::test]
async fn a_write_gives_the_held_connection_back_before_it_begins() {
    // Arrange: a pool of one connection, held by a query's read.
    let app = spawn_app_with(&[
        ("DB_MAX_CONNECTIONS", "1"),
        ("DB_ACQUIRE_TIMEOUT_MS", "3000"),
    ])
    .await;
    if app.db.get_database_backend() != DbBackend::Postgres {
        return;
    }
    let db = Db::per_request(app.db.clone());
    db.hold_reads(true);
    backend_pid(&db).await;

    // Act: a write transaction needs the pool's only connection.
    let txn = tokio::time::timeout(std::time::Duration::from_secs(2), db.begin_write()).await;

    // Assert
    let txn = txn
        .expect("begin_write did not wait for the held connection")
        .expect("a transaction");
    txn.commit().await.expect("commit");
}

const PAGE: &str = "{ bloodRequests(first: 50) { totalCount edges { node { id patientName
  hospital { name } bloodBank { name } requestedBy { fullName } } } } }";

#[tokio::test]
async fn many_pages_and_mutations_at_once_are_all_served_by_a_pool_of_two() {
    // Arrange: a pool of two, a short wait for a connection, and requests to list (their
    // patient fields are audited: each page also writes).
    let app = spawn_app_with(&[
        ("DB_MAX_CONNECTIONS", "2"),
        ("DB_ACQUIRE_TIMEOUT_MS", "10000"),
    ])
    .await;
    let net = Network::new(&app, 2.0).await;
    for _ in 0..5 {
        let mut input = request_input(&net.hospital.id, "O_POS", "RED_CELLS", 1);
        input["patientName"] = json!("Asha Rao");
        create_request(&app, &net.nurse, input).await;
    }

    // Act: 48 pages and 16 new requests at once.
    let pages = (0..48).map(|_| app.gql(Some(&net.nurse.access), PAGE, json!({})));
    let writes = (0..16).map(|_| {
        try_create_request(
            &app,
            &net.nurse.access,
            request_input(&net.hospital.id, "A_POS", "RED_CELLS", 1),
        )
    });
    let (pages, writes) = tokio::join!(
        futures_util::future::join_all(pages),
        futures_util::future::join_all(writes)
    );

    // Assert: every page answered in full, every request was created.
    for p in &pages {
        let total = p.data()["bloodRequests"]["totalCount"]
            .as_u64()
            .expect("totalCount");
        assert!((5..=21).contains(&total), "{total}");
        assert!(
            p.data()["bloodRequests"]["edges"][0]["node"]["hospital"]["name"].is_string(),
            "{:?}",
            p.body
        );
    }
    for w in &writes {
        assert!(w.data()["createBloodRequest"].is_object(), "{:?}", w.body);
    }
    assert_eq!(count_requests(&app).await, 21);
}

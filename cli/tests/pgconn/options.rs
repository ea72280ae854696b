//! The ways to describe a connection, on the shared test server, each with
//! the schema placement: a `key=value` string, a `tokio_postgres::Config`
//! and an application's `deadpool_postgres::Pool`.

use crate::insert_and_claim;
use crate::support::{database_url, fresh_schema, pg_client};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use durable_execution::storage::{
    PoolOptions, PostgresConfig, PostgresStorage, Storage, StorageError, StorageEvent,
};
use std::time::Duration;

/// The test server as a `tokio_postgres::Config`.
fn base_config() -> tokio_postgres::Config {
    database_url().parse().expect("DATABASE_URL parses")
}

/// The test server as a libpq `key=value` string.
fn base_conninfo() -> String {
    let base = base_config();
    let host = match base.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        _ => "127.0.0.1".to_owned(),
    };
    let port = base.get_ports().first().copied().unwrap_or(5432);
    let user = base.get_user().unwrap_or("postgres");
    let dbname = base.get_dbname().unwrap_or("test");
    format!("host={host} port={port} user={user} dbname={dbname}")
}

/// Whether the table was created in `schema` (and nowhere else by this test).
async fn table_in(schema: &str) -> bool {
    let client = pg_client(&database_url()).await;
    client
        .query_one(
            "SELECT count(*) FROM information_schema.tables \
             WHERE table_schema = $1 AND table_name = 'task_executions'",
            &[&schema],
        )
        .await
        .expect("information_schema")
        .get::<_, i64>(0)
        == 1
}

fn pool_for(config: tokio_postgres::Config) -> Pool {
    let manager = Manager::from_config(
        config,
        tokio_postgres::NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager).max_size(4).build().expect("pool")
}

#[tokio::test]
async fn key_value_string_with_a_schema() {
    let (schema, _guard) = fresh_schema().await;
    let config = PostgresConfig::new(format!("{} application_name='kv test'", base_conninfo()))
        .schema(&schema)
        .migrate(true);
    let storage = PostgresStorage::connect(config)
        .await
        .expect("connect with key=value");
    insert_and_claim(&storage, "te_kv").await;
    assert!(table_in(&schema).await);
}

#[tokio::test]
async fn tokio_config_with_a_schema() {
    let (schema, _guard) = fresh_schema().await;
    let storage = PostgresStorage::connect(
        PostgresConfig::from_tokio_config(base_config())
            .schema(&schema)
            .migrate(true),
    )
    .await
    .expect("connect with a tokio config");
    insert_and_claim(&storage, "te_tokio").await;
    assert!(table_in(&schema).await);
}

/// An application's pool whose connections put the schema on their
/// `search_path`; the listener from its own configuration delivers another
/// handle's notification.
#[tokio::test]
async fn from_pool_with_the_schema_in_the_pool_config() {
    let (schema, _guard) = fresh_schema().await;
    let mut config = base_config();
    config.options(format!("-c search_path={schema}"));
    let listener = PostgresConfig::new(database_url()).schema(&schema);
    let storage = PostgresStorage::from_pool(
        pool_for(config),
        PoolOptions::default()
            .schema(&schema)
            .migrate(true)
            .listener(listener),
    )
    .await
    .expect("from_pool");
    assert!(table_in(&schema).await);
    let mut events = storage.subscribe();
    crate::listener_up(&mut events).await;
    let other = PostgresStorage::connect(
        PostgresConfig::new(database_url())
            .schema(&schema)
            .listen(false),
    )
    .await
    .expect("second handle");
    other
        .insert(&[crate::exec("te_pool_notify")])
        .await
        .expect("insert");
    let woken = tokio::time::timeout(Duration::from_secs(30), events.recv())
        .await
        .expect("a NOTIFY arrived within 30 s")
        .expect("event");
    assert_eq!(woken, StorageEvent::ReadyWork);
    let claimed = storage
        .claim_ready("executor", crate::T0 + 10, 10, 250, 3_600_000)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1, "the other handle's execution");
    insert_and_claim(&storage, "te_pool").await;
    // The pool is still the application's: its connections see the table.
    let client = storage.pool().get().await.expect("checkout");
    let count: i64 = client
        .query_one("SELECT count(*) FROM task_executions", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(count, 2);
}

/// A pool whose connections do not have the schema first is refused with a
/// message saying how to build it; the storage never changes the
/// application's connections.
#[tokio::test]
async fn from_pool_refuses_a_pool_without_the_schema() {
    let (schema, _guard) = fresh_schema().await;
    let err = PostgresStorage::from_pool(
        pool_for(base_config()),
        PoolOptions::default().schema(&schema).migrate(true),
    )
    .await
    .expect_err("the pool's search_path does not name the schema");
    assert!(
        matches!(&err, StorageError::Config(m) if m.contains(&format!("-c search_path={schema}"))),
        "{err:?}"
    );
    assert!(!table_in(&schema).await, "nothing was created");
}

/// Without a listener configuration, `from_pool` runs no `LISTEN`
/// connection but the storage still works and its own changes still wake
/// its subscribers (executors poll for other processes' work).
#[tokio::test]
async fn from_pool_without_a_listener() {
    let (schema, _guard) = fresh_schema().await;
    let mut config = base_config();
    config.options(format!("-c search_path={schema}"));
    let storage = PostgresStorage::from_pool(
        pool_for(config),
        PoolOptions::default().schema(&schema).migrate(true),
    )
    .await
    .expect("from_pool");
    let mut events = storage.subscribe();
    insert_and_claim(&storage, "te_pool_nolisten").await;
    assert_eq!(events.try_recv().ok(), Some(StorageEvent::ReadyWork));
}

/// A password never shows in `PostgresConfig`'s `Debug` nor in a
/// connection string error, in either form.
#[tokio::test]
async fn passwords_stay_hidden() {
    for url in [
        "postgres://u:hunter2@127.0.0.1:1/db",
        "postgres://127.0.0.1:1/db?password=hunter2",
        "host=127.0.0.1 port=1 password=hunter2",
        "host=127.0.0.1 password='hunter2 x' nonsense=1",
        "host=127.0.0.1 password=hunter2 sslmode=bogus",
    ] {
        let config = PostgresConfig::new(url).listen(false);
        assert!(!format!("{config:?}").contains("hunter2"), "{config:?}");
        if let Ok(parsed) = url.parse::<tokio_postgres::Config>() {
            let from_tokio = PostgresConfig::from_tokio_config(parsed);
            assert!(
                !format!("{from_tokio:?}").contains("hunter2"),
                "{from_tokio:?}"
            );
        }
        let err = PostgresStorage::connect(config)
            .await
            .expect_err("cannot connect");
        for text in [err.to_string(), format!("{err:?}")] {
            assert!(!text.contains("hunter2"), "{url}: {text}");
        }
    }
}

/// The storage's own connections still get the schema from the config
/// (`search_path` startup option), so raw SQL on its pool sees the table.
#[tokio::test]
async fn url_with_a_schema_keeps_working() {
    let (schema, _guard) = fresh_schema().await;
    let storage = PostgresStorage::connect(
        PostgresConfig::new(database_url())
            .schema(&schema)
            .migrate(true),
    )
    .await
    .expect("connect");
    insert_and_claim(&storage as &dyn Storage, "te_url").await;
    assert!(table_in(&schema).await);
}

/// Storages in two schemas of one database have their own notification
/// channels: a listener in one schema never hears the other's wake-ups.
/// (With one database-wide channel, every test schema on the shared server
/// woke every other's listeners.) PostgreSQL delivers notifications in
/// commit order, so the first event after the other schema's committed
/// insert is this schema's own notification.
#[tokio::test]
async fn schemas_have_their_own_event_channel() {
    let (mine, _mine_guard) = fresh_schema().await;
    let (theirs, _theirs_guard) = fresh_schema().await;
    let listening = PostgresStorage::connect(
        PostgresConfig::new(database_url())
            .schema(&mine)
            .migrate(true),
    )
    .await
    .expect("listening storage");
    let mut events = listening.subscribe();
    crate::listener_up(&mut events).await;

    let other = PostgresStorage::connect(
        PostgresConfig::new(database_url())
            .schema(&theirs)
            .migrate(true)
            .listen(false),
    )
    .await
    .expect("storage in the other schema");
    // `insert_in` sends its NOTIFY inside the transaction: delivered at commit.
    let mut client = other.pool().get().await.expect("checkout");
    let tx = client.transaction().await.expect("begin");
    PostgresStorage::insert_in(&tx, &[crate::exec("te_other_schema")])
        .await
        .expect("insert in the other schema");
    tx.commit().await.expect("commit");

    // Then a `changed` notification on this schema's own channel.
    let mut config = base_config();
    config.options(format!("-c search_path={mine}"));
    let (own, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    own.batch_execute("SELECT pg_notify('task_executions_events_' || current_schema(), 'changed')")
        .await
        .expect("notify on this schema's channel");
    let heard = tokio::time::timeout(Duration::from_secs(30), events.recv())
        .await
        .expect("this schema's notification arrived within 30 s")
        .expect("event");
    assert_eq!(
        heard,
        StorageEvent::Changed,
        "the other schema's ReadyWork was delivered to this schema's listener"
    );
}

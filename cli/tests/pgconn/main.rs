//! PostgreSQL connection options: TLS against a private TLS-only cluster
//! ([`tls`]) and the ways to describe a connection (URL, `key=value`,
//! `tokio_postgres::Config`, an application's pool) with schema placement
//! on the shared test server ([`options`]).
//!
//! ```text
//! cargo test --test pgconn
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

#[path = "../../../tests/support/mod.rs"]
mod support;

mod cluster;
mod options;
mod tls;

use durable_execution::model::{Millis, NewExecution, RetryOptions};

/// A fixed clock.
pub const T0: Millis = 1_700_000_000_123;

/// A ready execution of task `t`.
pub fn exec(id: &str) -> NewExecution {
    NewExecution {
        execution_id: id.to_owned(),
        task_id: "t".to_owned(),
        root: None,
        parent: None,
        retry_options: RetryOptions::default(),
        sleep_ms_before_run: 0,
        timeout_ms: 1_000,
        input: "null".to_owned(),
        created_at: T0,
        sleeping_key: None,
    }
}

/// Inserts `id` and claims it back: the storage really works.
pub async fn insert_and_claim(storage: &dyn durable_execution::storage::Storage, id: &str) {
    storage.insert(&[exec(id)]).await.expect("insert");
    let claimed = storage
        .claim_ready("executor", T0 + 10, 10, 250, 3_600_000)
        .await
        .expect("claim");
    let ids: Vec<&str> = claimed
        .iter()
        .map(|l| l.as_ref().expect("a readable row").execution_id.as_str())
        .collect();
    assert_eq!(ids, [id]);
}

/// Waits until a fresh subscriber of a listening PostgreSQL storage has
/// seen its listener come up, then drains the rest of the announcement:
/// the listener sends one event per kind (`ReadyWork` first), so what
/// comes after 200 ms of quiet is a notification.
pub async fn listener_up(
    events: &mut tokio::sync::broadcast::Receiver<durable_execution::storage::StorageEvent>,
) {
    let first = tokio::time::timeout(std::time::Duration::from_secs(30), events.recv())
        .await
        .expect("the listener came up within 30 s")
        .expect("event");
    assert_eq!(first, durable_execution::storage::StorageEvent::ReadyWork);
    while let Ok(Ok(_)) =
        tokio::time::timeout(std::time::Duration::from_millis(200), events.recv()).await
    {}
}

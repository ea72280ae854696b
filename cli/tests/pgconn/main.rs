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

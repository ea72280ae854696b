//! TLS against a private cluster that accepts `hostssl` connections only,
//! with a CA and a `localhost` server certificate generated for the run.
//!
//! One test runs every case on one cluster (creating a cluster takes
//! seconds, and the port range is small); each case says what it checks.

use crate::cluster::TlsCluster;
use crate::insert_and_claim;
use durable_execution::storage::postgres::{LISTENER_APPLICATION_NAME, RootCertificates};
use durable_execution::storage::{
    PostgresConfig, PostgresStorage, SslMode, Storage, StorageError, StorageEvent, TlsFailure,
};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A libpq `key=value` string for the cluster.
fn conninfo(cluster: &TlsCluster, host: &str, extra: &str) -> String {
    format!(
        "host={host} port={} user=postgres dbname=postgres {extra}",
        cluster.port
    )
}

fn with_ca(cluster: &TlsCluster, host: &str, mode: &str) -> String {
    conninfo(
        cluster,
        host,
        &format!("sslmode={mode} sslrootcert='{}'", cluster.ca_file.display()),
    )
}

async fn connect_err(config: PostgresConfig) -> StorageError {
    match PostgresStorage::connect(config).await {
        Ok(_) => panic!("the connection was expected to fail"),
        Err(e) => e,
    }
}

/// Whether the client's own connection is encrypted.
async fn is_encrypted(client: &tokio_postgres::Client) -> bool {
    client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .expect("pg_stat_ssl")
        .get(0)
}

#[test]
fn tls_modes_against_a_tls_only_cluster() {
    let cluster = TlsCluster::start();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        verify_full_with_the_ca_works_including_the_listener(&cluster).await;
        verify_full_rejects_a_host_name_not_on_the_certificate(&cluster).await;
        verify_full_without_the_ca_rejects_an_unknown_ca(&cluster).await;
        disable_is_refused_by_a_tls_only_server(&cluster).await;
        require_and_verify_ca_skip_what_they_should(&cluster).await;
        prefer_encrypts_when_the_server_offers_tls(&cluster).await;
        tokio_config_and_setters_carry_the_tls_settings(&cluster).await;
        errors_never_show_the_password(&cluster).await;
    });
    drop(runtime);
    cli_uses_the_same_tls_settings(&cluster);
}

/// `verify-full` with the CA and `host=localhost`: migrate, insert, claim;
/// the `LISTEN` connection is encrypted too and delivers another handle's
/// notification.
async fn verify_full_with_the_ca_works_including_the_listener(cluster: &TlsCluster) {
    let url = with_ca(cluster, "localhost", "verify-full");
    let storage = PostgresStorage::connect(PostgresConfig::new(&url).migrate(true))
        .await
        .unwrap_or_else(|e| panic!("verify-full with the CA: {e}"));
    let mut events = storage.subscribe();
    // The listener announces itself once LISTEN is active.
    crate::listener_up(&mut events).await;

    // Another handle (no listener of its own) inserts: only the first
    // handle's listener can turn that into an event.
    let other = PostgresStorage::connect(PostgresConfig::new(&url).listen(false))
        .await
        .expect("second handle");
    other
        .insert(&[crate::exec("te_tls_notify")])
        .await
        .expect("insert");
    // The listener's announcement sends one event per kind, and the rest
    // of it may still arrive after the drain above: wait for the insert's
    // `ReadyWork` itself.
    tokio::time::timeout(Duration::from_secs(30), async {
        while events.recv().await.expect("event") != StorageEvent::ReadyWork {}
    })
    .await
    .expect("a NOTIFY arrived over the TLS listener within 30 s");
    let claimed = storage
        .claim_ready("executor", crate::T0 + 10, 10, 250, 3_600_000)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    insert_and_claim(&storage, "te_tls_full").await;

    let client = PostgresConfig::new(&url)
        .connect_client()
        .await
        .expect("a single client with the same settings");
    assert!(is_encrypted(&client).await);
    let listeners: Vec<bool> = client
        .query(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE a.application_name = $1",
            &[&LISTENER_APPLICATION_NAME],
        )
        .await
        .expect("listener connections")
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(listeners, [true], "one encrypted listener connection");
}

/// `verify-full` checks the host name: the certificate names only
/// `localhost`, so `127.0.0.1` fails with a host name error.
async fn verify_full_rejects_a_host_name_not_on_the_certificate(cluster: &TlsCluster) {
    let err = connect_err(PostgresConfig::new(with_ca(
        cluster,
        "127.0.0.1",
        "verify-full",
    )))
    .await;
    match &err {
        StorageError::Tls {
            sslmode: SslMode::VerifyFull,
            host,
            failure: TlsFailure::HostNameMismatch { host: named },
            ..
        } => {
            assert_eq!(host, "127.0.0.1");
            assert_eq!(named, "127.0.0.1");
        }
        other => panic!("expected a host name mismatch, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("sslmode=verify-full")
            && message.contains("not valid for host name `127.0.0.1`"),
        "{message}"
    );
}

/// Without the CA only the system roots are used, which do not know it.
async fn verify_full_without_the_ca_rejects_an_unknown_ca(cluster: &TlsCluster) {
    let err = connect_err(PostgresConfig::new(conninfo(
        cluster,
        "localhost",
        "sslmode=verify-full",
    )))
    .await;
    assert!(
        matches!(
            &err,
            StorageError::Tls {
                sslmode: SslMode::VerifyFull,
                failure: TlsFailure::UnknownCa {
                    roots: RootCertificates::System(_)
                },
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("not signed by a trusted CA") && message.contains("sslrootcert"),
        "{message}"
    );
}

/// `sslmode=disable` against `hostssl`-only `pg_hba.conf`: the server's
/// refusal is reported as "requires TLS".
async fn disable_is_refused_by_a_tls_only_server(cluster: &TlsCluster) {
    let err = connect_err(PostgresConfig::new(conninfo(
        cluster,
        "localhost",
        "sslmode=disable",
    )))
    .await;
    assert!(
        matches!(
            &err,
            StorageError::Tls {
                sslmode: SslMode::Disable,
                failure: TlsFailure::ServerRequiresTls,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("requires TLS"), "{err}");
}

/// `require` encrypts without verifying (any host, no CA); `require` with
/// a root file is `verify-ca`; `verify-ca` checks the chain but not the
/// host name.
async fn require_and_verify_ca_skip_what_they_should(cluster: &TlsCluster) {
    let storage = PostgresStorage::connect(
        PostgresConfig::new(conninfo(cluster, "127.0.0.1", "sslmode=require")).listen(false),
    )
    .await
    .unwrap_or_else(|e| panic!("require without a CA: {e}"));
    insert_and_claim(&storage, "te_tls_require").await;

    for mode in ["require", "verify-ca"] {
        PostgresStorage::connect(
            PostgresConfig::new(with_ca(cluster, "127.0.0.1", mode)).listen(false),
        )
        .await
        .unwrap_or_else(|e| panic!("{mode} with the CA on 127.0.0.1: {e}"));
    }
    let err = connect_err(
        PostgresConfig::new(conninfo(cluster, "127.0.0.1", "sslmode=verify-ca")).listen(false),
    )
    .await;
    assert!(
        matches!(
            &err,
            StorageError::Tls {
                sslmode: SslMode::VerifyCa,
                failure: TlsFailure::UnknownCa { .. },
                ..
            }
        ),
        "verify-ca still checks the chain: {err:?}"
    );
}

/// No `sslmode` is libpq's `prefer`: encrypted when the server offers TLS.
async fn prefer_encrypts_when_the_server_offers_tls(cluster: &TlsCluster) {
    let client = PostgresConfig::new(conninfo(cluster, "localhost", ""))
        .connect_client()
        .await
        .unwrap_or_else(|e| panic!("prefer: {e}"));
    assert!(is_encrypted(&client).await);
}

/// A `tokio_postgres::Config` and the `PostgresConfig` setters (which win
/// over the connection string) reach the same TLS settings.
async fn tokio_config_and_setters_carry_the_tls_settings(cluster: &TlsCluster) {
    let base: tokio_postgres::Config = conninfo(cluster, "localhost", "")
        .parse()
        .expect("tokio config");
    let storage = PostgresStorage::connect(
        PostgresConfig::from_tokio_config(base.clone())
            .ssl_mode(SslMode::VerifyFull)
            .root_certificate_file(&cluster.ca_file)
            .listen(false),
    )
    .await
    .unwrap_or_else(|e| panic!("tokio config with verify-full: {e}"));
    insert_and_claim(&storage, "te_tls_tokio").await;

    let err = connect_err(
        PostgresConfig::from_tokio_config(base)
            .ssl_mode(SslMode::VerifyFull)
            .listen(false),
    )
    .await;
    assert!(
        matches!(
            &err,
            StorageError::Tls {
                failure: TlsFailure::UnknownCa { .. },
                ..
            }
        ),
        "{err:?}"
    );

    // The setter wins over the string's sslmode.
    let err = connect_err(
        PostgresConfig::new(with_ca(cluster, "localhost", "verify-full"))
            .ssl_mode(SslMode::Disable)
            .listen(false),
    )
    .await;
    assert!(
        matches!(
            &err,
            StorageError::Tls {
                failure: TlsFailure::ServerRequiresTls,
                ..
            }
        ),
        "{err:?}"
    );

    // A missing root file is a configuration error naming the file.
    let err = connect_err(
        PostgresConfig::new(conninfo(cluster, "localhost", "sslmode=verify-full"))
            .root_certificate_file("/nonexistent/ca.pem"),
    )
    .await;
    assert!(
        matches!(&err, StorageError::Config(m) if m.contains("/nonexistent/ca.pem")),
        "{err:?}"
    );
}

/// TLS errors carry no password, in `Display` or `Debug`.
async fn errors_never_show_the_password(cluster: &TlsCluster) {
    for extra in [
        "password=hunter2 sslmode=verify-full",
        "password=hunter2 sslmode=disable",
    ] {
        let config = PostgresConfig::new(conninfo(cluster, "127.0.0.1", extra));
        assert!(!format!("{config:?}").contains("hunter2"));
        let err = connect_err(config).await;
        assert!(matches!(err, StorageError::Tls { .. }), "{err:?}");
        for text in [err.to_string(), format!("{err:?}")] {
            assert!(!text.contains("hunter2"), "{text}");
        }
    }
}

/// The `durable` program: `migrate` (its own client) and `status` (the
/// storage) over verify-full; the failures are one clear line each.
fn cli_uses_the_same_tls_settings(cluster: &TlsCluster) {
    let dir = tempfile::tempdir().expect("tempdir");
    let durable = |database: &str, command: &str| {
        Command::new(env!("CARGO_BIN_EXE_durable"))
            .args(["--database", database, command])
            .current_dir(dir.path())
            .env_remove("DATABASE_URL")
            .stdin(Stdio::null())
            .output()
            .expect("the durable binary runs")
    };
    let good = with_ca(cluster, "localhost", "verify-full");
    for command in ["migrate", "status"] {
        let output = durable(&good, command);
        assert!(
            output.status.success(),
            "durable {command} over verify-full: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let cases = [
        (
            with_ca(cluster, "127.0.0.1", "verify-full"),
            "not valid for host name `127.0.0.1`",
        ),
        (
            conninfo(cluster, "localhost", "sslmode=verify-full"),
            "not signed by a trusted CA",
        ),
        (
            conninfo(cluster, "localhost", "sslmode=disable password=hunter2"),
            "requires TLS",
        ),
    ];
    for (database, expected) in cases {
        for command in ["migrate", "status"] {
            let output = durable(&database, command);
            let err = String::from_utf8_lossy(&output.stderr).into_owned();
            assert_eq!(output.status.code(), Some(1), "{command} {database}: {err}");
            let lines: Vec<&str> = err.lines().collect();
            assert_eq!(lines.len(), 1, "one error line: {err}");
            assert!(lines[0].starts_with("error: "), "{err}");
            assert!(lines[0].contains(expected), "{command} {database}: {err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }
}

//! A private PostgreSQL cluster for tests that must stop, restart or
//! reconfigure a server: never the shared test server.
//!
//! [`PrivateCluster::create`] runs `pg_createcluster <version>
//! <prefix><pid> --port <port>` (Debian's postgresql-common, as on the CI
//! machine) on a free port of the caller's range, lets
//! the caller adjust `postgresql.conf` and `pg_hba.conf`, starts it and waits
//! until it accepts connections. [`PrivateCluster::stop`] and
//! [`PrivateCluster::start`] use `pg_ctlcluster`. Dropping it runs
//! `pg_dropcluster --stop`, also when the test panics. Leftover clusters of
//! the same prefix whose test process is gone (it was killed) are dropped
//! first.
//!
//! Each test that uses one picks its own prefix and port range, so that
//! test binaries running at the same time never share a cluster. The test fails,
//! with the command's output, when a cluster cannot be created: it is never
//! skipped.

use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A PostgreSQL cluster owned by one test.
#[derive(Debug)]
pub struct PrivateCluster {
    version: String,
    name: String,
    port: u16,
}

fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {program}: {e} (is postgresql-common installed?)"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() {
        Ok(text)
    } else {
        Err(format!(
            "`{program} {}` failed ({}): {text}",
            args.join(" "),
            output.status
        ))
    }
}

/// The installed PostgreSQL major version (the only directory of
/// `/etc/postgresql`, or the highest one).
fn installed_version() -> String {
    let mut versions: Vec<String> = std::fs::read_dir("/etc/postgresql")
        .expect("PostgreSQL server packages are installed (/etc/postgresql)")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.chars().all(|c| c.is_ascii_digit()))
        .collect();
    versions.sort_by_key(|v| v.parse::<u32>().unwrap_or(0));
    versions
        .pop()
        .expect("a PostgreSQL version under /etc/postgresql")
}

/// `(name, port)` of every cluster of `version`.
fn clusters(version: &str) -> Vec<(String, u16)> {
    run("pg_lsclusters", &["-h"])
        .unwrap_or_else(|e| panic!("{e}"))
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields.as_slice() {
                [v, name, port, ..] if *v == version => {
                    Some(((*name).to_owned(), port.parse().ok()?))
                }
                _ => None,
            }
        })
        .collect()
}

/// Drops clusters named `<prefix><pid>` whose test process is gone (a run
/// that was killed before its `Drop`).
fn drop_stale(version: &str, prefix: &str) {
    for (name, _) in clusters(version) {
        let Some(pid) = name.strip_prefix(prefix) else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = run("pg_dropcluster", &["--stop", version, &name]);
        }
    }
}

/// A port of `ports` that no cluster uses and nothing listens on.
fn free_port(version: &str, ports: &RangeInclusive<u16>) -> u16 {
    let taken: Vec<u16> = clusters(version).into_iter().map(|(_, p)| p).collect();
    ports
        .clone()
        .find(|port| {
            !taken.contains(port) && std::net::TcpListener::bind(("127.0.0.1", *port)).is_ok()
        })
        .unwrap_or_else(|| panic!("no free port in {ports:?} for a private PostgreSQL cluster"))
}

impl PrivateCluster {
    /// Creates and starts cluster `<prefix><pid>` on a free port of
    /// `ports` (each test picks its own prefix and range). `configure` gets
    /// the cluster's configuration directory before the first start
    /// (append to `postgresql.conf`, replace `pg_hba.conf`, place
    /// certificates).
    pub fn create(prefix: &str, ports: RangeInclusive<u16>, configure: impl FnOnce(&Path)) -> Self {
        let version = installed_version();
        drop_stale(&version, prefix);
        let name = format!("{prefix}{}", std::process::id());
        let port = free_port(&version, &ports);
        let port_text = port.to_string();
        if let Err(e) = run(
            "pg_createcluster",
            &[&version, &name, "--port", &port_text, "--", "--auth=trust"],
        ) {
            panic!("cannot create the private PostgreSQL cluster {name}: {e}");
        }
        let cluster = Self {
            version,
            name,
            port,
        };
        // Keep it small and quick; nothing it holds must survive.
        cluster.append_conf(
            "\n# durable-execution test cluster\nmax_connections = 50\nshared_buffers = 16MB\n\
             fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n",
        );
        configure(&cluster.config_dir());
        cluster.start();
        cluster
    }

    /// The configuration directory (`/etc/postgresql/<version>/<name>`).
    pub fn config_dir(&self) -> PathBuf {
        PathBuf::from(format!("/etc/postgresql/{}/{}", self.version, self.name))
    }

    /// Appends lines to `postgresql.conf`.
    pub fn append_conf(&self, lines: &str) {
        use std::io::Write as _;
        let path = self.config_dir().join("postgresql.conf");
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
        file.write_all(lines.as_bytes()).unwrap();
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A URL for `database` on this cluster (user `postgres`, trust auth).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Starts the cluster and waits until it accepts connections.
    pub fn start(&self) {
        if let Err(e) = run(
            "pg_ctlcluster",
            &[
                "--skip-systemctl-redirect",
                &self.version,
                &self.name,
                "start",
            ],
        ) {
            panic!(
                "cannot start the private PostgreSQL cluster {}: {e}",
                self.name
            );
        }
        self.wait_ready(Duration::from_secs(30));
    }

    /// Stops the cluster (fast shutdown: open connections are terminated).
    pub fn stop(&self) {
        if let Err(e) = run(
            "pg_ctlcluster",
            &[
                "--skip-systemctl-redirect",
                &self.version,
                &self.name,
                "stop",
                "-m",
                "fast",
            ],
        ) {
            panic!(
                "cannot stop the private PostgreSQL cluster {}: {e}",
                self.name
            );
        }
    }

    fn wait_ready(&self, timeout: Duration) {
        let started = Instant::now();
        let port = self.port.to_string();
        loop {
            if run("pg_isready", &["-q", "-h", "127.0.0.1", "-p", &port]).is_ok() {
                return;
            }
            assert!(
                started.elapsed() < timeout,
                "the private PostgreSQL cluster {} did not accept connections within {timeout:?}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = run("pg_dropcluster", &["--stop", &self.version, &self.name]);
    }
}

//! A private PostgreSQL cluster that accepts TLS connections only.
//!
//! [`TlsCluster::start`] generates a CA and a server certificate for
//! `localhost` (`openssl` command), creates a cluster `wt_tls_<pid>` on a
//! free port in 5460–5469 (`pg_createcluster`), configures `ssl = on` with
//! that certificate and a `pg_hba.conf` with `hostssl` entries only (plus
//! `local … peer`), and starts it. Dropping it (also while a test panics)
//! drops the cluster. Clusters left by killed runs (their pid gone) are
//! dropped first. Any failure panics with the reason: these tests are
//! never skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

const NAME_PREFIX: &str = "wt_tls_";
const PORTS: std::ops::RangeInclusive<u16> = 5460..=5469;

/// A running private cluster.
pub struct TlsCluster {
    version: String,
    name: String,
    /// Its TCP port.
    pub port: u16,
    /// The CA that signed the server certificate (PEM).
    pub ca_file: PathBuf,
    /// Holds the generated files.
    _dir: tempfile::TempDir,
}

/// Runs a command, panicking with its output when it fails.
fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run `{program}` ({e}); is it installed? (.ci/run installs it)")
        });
    assert!(
        output.status.success(),
        "`{program} {}` failed ({}):\nstdout: {}\nstderr: {}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The installed PostgreSQL major version (the first in /etc/postgresql).
fn version() -> String {
    let mut versions: Vec<String> = std::fs::read_dir("/etc/postgresql")
        .unwrap_or_else(|e| panic!("no /etc/postgresql ({e}): PostgreSQL is not installed"))
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect();
    versions.sort();
    versions
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("/etc/postgresql lists no PostgreSQL version"))
}

/// `(name, port)` of every cluster of `version`.
fn clusters(version: &str) -> Vec<(String, u16)> {
    run("pg_lsclusters", &["-h"])
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

/// Drops the `wt_tls_<pid>` clusters whose process is gone.
fn drop_stale(version: &str) {
    for (name, _) in clusters(version) {
        let Some(pid) = name.strip_prefix(NAME_PREFIX) else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new(&format!("/proc/{pid}")).exists() {
            run("pg_dropcluster", &["--stop", version, &name]);
        }
    }
}

fn free_port(version: &str) -> u16 {
    let taken: Vec<u16> = clusters(version).into_iter().map(|(_, p)| p).collect();
    PORTS
        .clone()
        .find(|port| {
            !taken.contains(port) && std::net::TcpListener::bind(("127.0.0.1", *port)).is_ok()
        })
        .unwrap_or_else(|| panic!("no free port in {PORTS:?} for a private TLS cluster"))
}

/// Generates `ca.crt` and `server.crt`/`server.key` (for `localhost`
/// only) in `dir`.
fn generate_certificates(dir: &Path) {
    let p = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
    let mut ca = vec!["req", "-x509", "-nodes", "-days", "2"];
    ca.extend_from_slice(&ec);
    let (ca_key, ca_crt) = (p("ca.key"), p("ca.crt"));
    ca.extend_from_slice(&[
        "-keyout",
        &ca_key,
        "-out",
        &ca_crt,
        "-subj",
        "/CN=durable-execution test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    run("openssl", &ca);
    let (key, csr, crt, ext) = (
        p("server.key"),
        p("server.csr"),
        p("server.crt"),
        p("server.ext"),
    );
    let mut req = vec!["req", "-nodes"];
    req.extend_from_slice(&ec);
    req.extend_from_slice(&["-keyout", &key, "-out", &csr, "-subj", "/CN=localhost"]);
    run("openssl", &req);
    std::fs::write(
        &ext,
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost\n",
    )
    .expect("write the certificate extensions");
    run(
        "openssl",
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca_crt,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &ext,
            "-out",
            &crt,
        ],
    );
}

impl TlsCluster {
    /// Creates and starts the cluster (see the module docs).
    pub fn start() -> Self {
        let version = version();
        drop_stale(&version);
        let dir = tempfile::tempdir().expect("temp dir");
        generate_certificates(dir.path());
        let name = format!("{NAME_PREFIX}{}", std::process::id());
        let port = free_port(&version);
        run(
            "pg_createcluster",
            &[&version, &name, "--port", &port.to_string()],
        );
        // From here on, Drop removes the cluster whatever fails next.
        let cluster = Self {
            version,
            name,
            port,
            ca_file: dir.path().join("ca.crt"),
            _dir: dir,
        };
        cluster.configure();
        run(
            "pg_ctlcluster",
            &[
                "--skip-systemctl-redirect",
                &cluster.version,
                &cluster.name,
                "start",
            ],
        );
        cluster
    }

    fn configure(&self) {
        let conf_dir = PathBuf::from(format!("/etc/postgresql/{}/{}", self.version, self.name));
        let source = self._dir.path();
        for file in ["server.crt", "server.key"] {
            std::fs::copy(source.join(file), conf_dir.join(file))
                .unwrap_or_else(|e| panic!("copy {file} into {}: {e}", conf_dir.display()));
            let target = conf_dir.join(file).to_string_lossy().into_owned();
            run("chown", &["postgres:postgres", &target]);
            run("chmod", &["0600", &target]);
        }
        let mut conf = std::fs::read_to_string(conf_dir.join("postgresql.conf"))
            .expect("read postgresql.conf");
        conf.push_str(&format!(
            "\n# durable-execution TLS test\nlisten_addresses = 'localhost'\nssl = on\n\
             ssl_cert_file = '{0}/server.crt'\nssl_key_file = '{0}/server.key'\n\
             ssl_ca_file = ''\nmax_connections = 40\n",
            conf_dir.display()
        ));
        std::fs::write(conf_dir.join("postgresql.conf"), conf).expect("write postgresql.conf");
        std::fs::write(
            conf_dir.join("pg_hba.conf"),
            "local all all peer\n\
             hostssl all all 127.0.0.1/32 trust\n\
             hostssl all all ::1/128 trust\n",
        )
        .expect("write pg_hba.conf");
    }
}

impl Drop for TlsCluster {
    fn drop(&mut self) {
        let result = Command::new("pg_dropcluster")
            .args(["--stop", &self.version, &self.name])
            .output();
        match result {
            Ok(output) if output.status.success() => {}
            Ok(output) => eprintln!(
                "pg_dropcluster {} failed: {}",
                self.name,
                String::from_utf8_lossy(&output.stderr)
            ),
            Err(e) => eprintln!("cannot run pg_dropcluster: {e}"),
        }
    }
}

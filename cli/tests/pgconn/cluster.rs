//! A private PostgreSQL cluster that accepts TLS connections only.
//!
//! [`TlsCluster::start`] generates a CA and a server certificate for
//! `localhost` (`openssl` command), creates a cluster `durable_tls_<pid>` on
//! a free port in 5460–5469 (through the shared `tests/support/cluster.rs`),
//! configures `ssl = on` with that certificate and a `pg_hba.conf` with
//! `hostssl` entries only (plus `local … peer`), and starts it. Dropping it
//! (also while a test panics) drops the cluster; clusters left by killed
//! runs are dropped first. Any failure panics with the reason: these tests
//! are never skipped.

use crate::support::cluster::PrivateCluster;
use std::path::{Path, PathBuf};
use std::process::Command;

const NAME_PREFIX: &str = "durable_tls_";
const PORTS: std::ops::RangeInclusive<u16> = 5460..=5469;

/// A private TLS-only cluster (see the module docs).
pub struct TlsCluster {
    /// Dropping it drops the cluster.
    _cluster: PrivateCluster,
    pub port: u16,
    pub ca_file: PathBuf,
    _dir: tempfile::TempDir,
}

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
    /// Generates the certificates and starts the cluster.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        generate_certificates(dir.path());
        let source = dir.path().to_path_buf();
        let cluster = PrivateCluster::create(NAME_PREFIX, PORTS, |conf_dir| {
            configure(conf_dir, &source);
        });
        Self {
            port: cluster.port(),
            _cluster: cluster,
            ca_file: dir.path().join("ca.crt"),
            _dir: dir,
        }
    }
}

/// Server certificate and key (owned by `postgres`, mode 0600), `ssl = on`,
/// and a `pg_hba.conf` with `hostssl` lines only: no plain TCP access.
fn configure(conf_dir: &Path, source: &Path) {
    for file in ["server.crt", "server.key"] {
        std::fs::copy(source.join(file), conf_dir.join(file))
            .unwrap_or_else(|e| panic!("copy {file} into {}: {e}", conf_dir.display()));
        let target = conf_dir.join(file).to_string_lossy().into_owned();
        run("chown", &["postgres:postgres", &target]);
        run("chmod", &["0600", &target]);
    }
    let mut conf =
        std::fs::read_to_string(conf_dir.join("postgresql.conf")).expect("read postgresql.conf");
    conf.push_str(&format!(
        "\n# durable-execution TLS test\nlisten_addresses = 'localhost'\nssl = on\n\
         ssl_cert_file = '{0}/server.crt'\nssl_key_file = '{0}/server.key'\n\
         ssl_ca_file = ''\n",
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

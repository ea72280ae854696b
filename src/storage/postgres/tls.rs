//! TLS for PostgreSQL connections over rustls (`ring` provider), with
//! libpq's `sslmode` meanings, and the classification of TLS failures into
//! [`TlsFailure`].

use super::conninfo::SslMode;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_postgres_rustls::MakeRustlsConnect;

/// Where the root certificates that verify the server came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RootCertificates {
    /// No verification (`disable`, `prefer`, `require` without a root file).
    NotVerified,
    /// The PEM file given with `sslrootcert` or
    /// [`PostgresConfig::root_certificate_file`](super::PostgresConfig::root_certificate_file).
    File(PathBuf),
    /// The operating system's store (this many usable certificates).
    System(usize),
}

impl fmt::Display for RootCertificates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotVerified => f.write_str("no root certificates (not verified)"),
            Self::File(path) => write!(f, "the root certificates of {}", path.display()),
            Self::System(0) => f.write_str("the system root certificates (none found)"),
            Self::System(n) => write!(f, "the system root certificates ({n} found)"),
        }
    }
}

/// Why a PostgreSQL connection failed at its TLS layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsFailure {
    /// The server certificate does not chain to a trusted root.
    #[error(
        "the server certificate is not signed by a trusted CA (checked against {roots}); \
         give the server's CA with `sslrootcert=<file>` or `PostgresConfig::root_certificate_file`"
    )]
    UnknownCa {
        /// The roots it was checked against.
        roots: RootCertificates,
    },
    /// The server certificate is valid but not for the host name connected
    /// to (`verify-full` only).
    #[error(
        "the server certificate is not valid for host name `{host}`; connect with a name \
         the certificate lists, or use sslmode=verify-ca to skip the host name check"
    )]
    HostNameMismatch {
        /// The host name connected to.
        host: String,
    },
    /// Another problem with the server certificate (expired, not a server
    /// certificate, …).
    #[error("the server certificate is not acceptable: {0}")]
    BadCertificate(String),
    /// The server refused a connection without TLS (`pg_hba.conf` has only
    /// `hostssl` entries for this client).
    #[error(
        "the server requires TLS for this connection (pg_hba.conf has no entry without \
         encryption); use sslmode=require, verify-ca or verify-full"
    )]
    ServerRequiresTls,
    /// The server does not offer TLS (`ssl = off`) but the mode requires it.
    #[error("the server does not support TLS (ssl = off); TLS is required by this sslmode")]
    ServerWithoutTls,
    /// The TLS handshake failed for another reason.
    #[error("TLS handshake failed: {0}")]
    Handshake(String),
}

/// What a connection's TLS errors are reported against.
#[derive(Debug, Clone)]
pub(crate) struct TlsContext {
    /// The effective mode (`require` with a root file reads `verify-ca`).
    pub(crate) mode: SslMode,
    /// The first TCP host of the configuration.
    pub(crate) host: String,
    /// The roots used for verification.
    pub(crate) roots: RootCertificates,
}

/// A connector for `mode` and the context its errors are classified in.
#[derive(Debug, Clone)]
pub(crate) struct Tls {
    pub(crate) connector: MakeRustlsConnectDebug,
    pub(crate) context: TlsContext,
}

/// [`MakeRustlsConnect`] with a `Debug` implementation.
#[derive(Clone)]
pub(crate) struct MakeRustlsConnectDebug(pub(crate) MakeRustlsConnect);

impl fmt::Debug for MakeRustlsConnectDebug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MakeRustlsConnect")
    }
}

/// Why the TLS settings cannot be built.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TlsSetupError {
    /// The root certificate file cannot be read or holds no certificate.
    #[error("root certificate file {path}: {message}")]
    RootFile {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Rustls(String),
}

/// Builds the connector. `require` with a root certificate file behaves as
/// `verify-ca` (libpq's rule); `verify-ca`/`verify-full` without one use the
/// system roots.
///
/// The system roots come from `rustls-native-certs` (the operating
/// system's store, read when connecting) rather than a compiled-in bundle:
/// database servers are often signed by an organisation's own CA, which
/// administrators install in the system store, and that store is what
/// libpq's `sslrootcert=system` uses too.
pub(crate) fn build(
    mode: SslMode,
    root_file: Option<&Path>,
    host: String,
) -> Result<Tls, TlsSetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mode = match (mode, root_file) {
        (SslMode::Require, Some(_)) => SslMode::VerifyCa,
        (mode, _) => mode,
    };
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsSetupError::Rustls(e.to_string()))?;
    let (verifier, roots): (Arc<dyn ServerCertVerifier>, RootCertificates) = if mode
        .verifies_chain()
    {
        let (store, roots) = match root_file {
            Some(path) => (
                load_root_file(path)?,
                RootCertificates::File(path.to_owned()),
            ),
            None => {
                let mut store = RootCertStore::empty();
                let (added, _ignored) =
                    store.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
                (store, RootCertificates::System(added))
            }
        };
        let verifier: Arc<dyn ServerCertVerifier> = if store.is_empty() {
            Arc::new(NoRoots {
                provider: Arc::clone(&provider),
            })
        } else {
            let webpki =
                WebPkiServerVerifier::builder_with_provider(Arc::new(store), Arc::clone(&provider))
                    .build()
                    .map_err(|e| TlsSetupError::Rustls(e.to_string()))?;
            if mode == SslMode::VerifyCa {
                Arc::new(SkipHostName { inner: webpki })
            } else {
                webpki
            }
        };
        (verifier, roots)
    } else {
        (
            Arc::new(NoVerification {
                provider: Arc::clone(&provider),
            }),
            RootCertificates::NotVerified,
        )
    };
    let config = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Tls {
        connector: MakeRustlsConnectDebug(MakeRustlsConnect::new(config)),
        context: TlsContext { mode, host, roots },
    })
}

fn load_root_file(path: &Path) -> Result<RootCertStore, TlsSetupError> {
    let err = |message: String| TlsSetupError::RootFile {
        path: path.to_owned(),
        message,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err("no PEM certificate in the file".to_owned()));
    }
    let mut store = RootCertStore::empty();
    for cert in certs {
        store.add(cert).map_err(|e| err(e.to_string()))?;
    }
    Ok(store)
}

/// The tokio-postgres mode for `mode`: verification happens in rustls, so
/// every verifying mode is tokio-postgres' `require`.
pub(crate) fn driver_mode(mode: SslMode) -> tokio_postgres::config::SslMode {
    match mode {
        SslMode::Disable => tokio_postgres::config::SslMode::Disable,
        SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
            tokio_postgres::config::SslMode::Require
        }
    }
}

/// The [`TlsFailure`] behind a connection error, if it is one.
pub(crate) fn classify(error: &tokio_postgres::Error, context: &TlsContext) -> Option<TlsFailure> {
    if let Some(db) = error.as_db_error() {
        let refused_plain = *db.code()
            == tokio_postgres::error::SqlState::INVALID_AUTHORIZATION_SPECIFICATION
            && db.message().contains("no encryption");
        return refused_plain.then_some(TlsFailure::ServerRequiresTls);
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(e) = source {
        if let Some(rustls_error) = as_rustls(e) {
            return Some(match rustls_error {
                rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
                    TlsFailure::UnknownCa {
                        roots: context.roots.clone(),
                    }
                }
                rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName
                    | CertificateError::NotValidForNameContext { .. },
                ) => TlsFailure::HostNameMismatch {
                    host: context.host.clone(),
                },
                rustls::Error::InvalidCertificate(other) => {
                    TlsFailure::BadCertificate(format!("{other:?}"))
                }
                other => TlsFailure::Handshake(other.to_string()),
            });
        }
        if e.to_string() == "server does not support TLS" {
            return Some(TlsFailure::ServerWithoutTls);
        }
        source = e.source();
    }
    None
}

/// The rustls error inside `e` (directly, or inside an `io::Error`, whose
/// `source` skips the error it wraps).
fn as_rustls<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(r) = e.downcast_ref::<rustls::Error>() {
        return Some(r);
    }
    e.downcast_ref::<std::io::Error>()
        .and_then(std::io::Error::get_ref)
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
}

/// `verify-ca`: the chain is verified by webpki; only a host name mismatch
/// (reported after the chain was found valid) is ignored.
#[derive(Debug)]
struct SkipHostName {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for SkipHostName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// `prefer` and `require` without a root file: encryption without
/// verifying who the server is (libpq's meaning of these modes). The
/// handshake signatures are still checked.
#[derive(Debug)]
struct NoVerification {
    provider: Arc<CryptoProvider>,
}

/// A verifying mode with an empty root store: every certificate is from an
/// unknown CA.
#[derive(Debug)]
struct NoRoots {
    provider: Arc<CryptoProvider>,
}

macro_rules! signatures_from_provider {
    () => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.provider
                .signature_verification_algorithms
                .supported_schemes()
        }
    };
}

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    signatures_from_provider!();
}

impl ServerCertVerifier for NoRoots {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Err(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer,
        ))
    }

    signatures_from_provider!();
}

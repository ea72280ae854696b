//! Connection strings: both libpq forms (`postgres://…` URLs and
//! `key=value` strings), the TLS keys tokio-postgres does not know
//! (`sslmode=verify-ca|verify-full`, `sslrootcert`), and password redaction.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// How TLS is used on PostgreSQL connections, with libpq's `sslmode`
/// meanings (see [`PostgresConfig`](super::PostgresConfig) for the details).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SslMode {
    /// Plain connections only.
    Disable,
    /// TLS when the server offers it (certificate not verified), else plain.
    /// libpq's default, and the default here.
    #[default]
    Prefer,
    /// TLS, certificate not verified, unless a root certificate is given:
    /// then as [`SslMode::VerifyCa`] (as in libpq).
    Require,
    /// TLS, certificate chain verified against the root certificates; the
    /// host name is not checked.
    VerifyCa,
    /// TLS, certificate chain verified and the host name checked against it.
    VerifyFull,
}

impl SslMode {
    /// The libpq spelling (`verify-full`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }

    /// Whether the server certificate's chain is verified.
    pub fn verifies_chain(self) -> bool {
        matches!(self, Self::VerifyCa | Self::VerifyFull)
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An `sslmode` value that is not one of the supported libpq modes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported sslmode `{0}` (use disable, prefer, require, verify-ca or verify-full)")]
pub struct UnknownSslMode(pub String);

impl FromStr for SslMode {
    type Err = UnknownSslMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "disable" => Ok(Self::Disable),
            "prefer" => Ok(Self::Prefer),
            "require" => Ok(Self::Require),
            "verify-ca" => Ok(Self::VerifyCa),
            "verify-full" => Ok(Self::VerifyFull),
            other => Err(UnknownSslMode(other.to_owned())),
        }
    }
}

/// The libpq connection keywords: a `key=value` string whose first key is
/// one of these is a PostgreSQL connection string.
const LIBPQ_KEYWORDS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "passfile",
    "require_auth",
    "channel_binding",
    "connect_timeout",
    "client_encoding",
    "options",
    "application_name",
    "fallback_application_name",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "replication",
    "gssencmode",
    "sslmode",
    "sslnegotiation",
    "sslcompression",
    "sslcert",
    "sslkey",
    "sslpassword",
    "sslcertmode",
    "sslrootcert",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "requirepeer",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "krbsrvname",
    "gsslib",
    "gssdelegation",
    "service",
    "target_session_attrs",
    "load_balance_hosts",
];

/// Whether `value` is a PostgreSQL connection string: a `postgres://` or
/// `postgresql://` URL, or a libpq `key=value` string whose first key, or
/// any key once it parses, is a libpq connection keyword (`host=…
/// dbname=…`; `usr=app password=…` too, so that a typo in the first key
/// still reads as PostgreSQL and its password stays hidden).
pub fn is_connection_string(value: &str) -> bool {
    let value = value.trim_start();
    if value.starts_with("postgres://") || value.starts_with("postgresql://") {
        return true;
    }
    let first_is_keyword = value
        .split_once('=')
        .is_some_and(|(key, _)| LIBPQ_KEYWORDS.contains(&key.trim()));
    first_is_keyword
        || parse_key_values(value)
            .is_ok_and(|pairs| pairs.iter().any(|(key, _)| LIBPQ_KEYWORDS.contains(key)))
}

/// The connection string with every password replaced by `***`: the
/// password of a URL's user info, a `password=` URL query parameter and a
/// `password=` key of a `key=value` string. A `key=value` string that
/// cannot be parsed but mentions a password is hidden whole.
pub fn redact_connection_string(value: &str) -> String {
    if let Some((prefix, rest)) = split_url_prefix(value) {
        return redact_url(prefix, rest);
    }
    match parse_key_values(value) {
        Ok(pairs) => pairs
            .iter()
            .map(|(key, value)| {
                if *key == "password" {
                    format!("{key}=***")
                } else {
                    format!("{key}={}", quote(value))
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
        Err(_) if value.to_ascii_lowercase().contains("password") => {
            "(connection string hidden: it names a password and cannot be parsed)".to_owned()
        }
        Err(_) => value.to_owned(),
    }
}

fn split_url_prefix(value: &str) -> Option<(&str, &str)> {
    ["postgresql://", "postgres://"]
        .into_iter()
        .find_map(|prefix| value.strip_prefix(prefix).map(|rest| (prefix, rest)))
}

/// Redacts a URL after its `postgres://` prefix. The user info ends at the
/// last `@` before the query (or in the whole string when the part before
/// the first `?` has none), so a password holding `/`, `:` or `@` stays
/// hidden; too much hidden is better than a leak.
fn redact_url(prefix: &str, rest: &str) -> String {
    let before_query = rest.split('?').next().unwrap_or(rest);
    let userinfo_end = before_query.rfind('@').or_else(|| rest.rfind('@'));
    let (authority_and_path, query) = match userinfo_end {
        Some(at) => {
            let (userinfo, after) = rest.split_at(at);
            let userinfo = match userinfo.split_once(':') {
                Some((user, _)) => format!("{user}:***"),
                None => userinfo.to_owned(),
            };
            let (host_path, query) = split_query(after);
            (format!("{userinfo}{host_path}"), query)
        }
        None => {
            let (host_path, query) = split_query(rest);
            (host_path.to_owned(), query)
        }
    };
    let query = query.map(|q| {
        q.split('&')
            .map(|param| match param.split_once('=') {
                Some((key, _)) if percent_decode(key).eq_ignore_ascii_case("password") => {
                    format!("{key}=***")
                }
                _ => param.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&")
    });
    match query {
        Some(q) => format!("{prefix}{authority_and_path}?{q}"),
        None => format!("{prefix}{authority_and_path}"),
    }
}

fn split_query(s: &str) -> (&str, Option<&str>) {
    match s.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (s, None),
    }
}

/// A connection string with the keys tokio-postgres cannot parse taken out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stripped {
    /// The rest of the connection string, for `tokio_postgres::Config`.
    pub(crate) rest: String,
    /// Its `sslmode`, if any.
    pub(crate) ssl_mode: Option<SslMode>,
    /// Its `sslrootcert`, if any.
    pub(crate) root_certificate: Option<PathBuf>,
}

/// Why a connection string cannot be used (never quoting a password).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ConnInfoError {
    /// The `key=value` syntax is broken.
    #[error("{0}")]
    Syntax(String),
    /// `sslmode` has an unsupported value.
    #[error(transparent)]
    SslMode(#[from] UnknownSslMode),
}

/// Takes `sslmode` and `sslrootcert` out of a URL or `key=value` string.
pub(crate) fn strip_tls_keys(value: &str) -> Result<Stripped, ConnInfoError> {
    let mut ssl_mode = None;
    let mut root_certificate = None;
    let mut take = |key: &str, value: &str| -> Result<bool, ConnInfoError> {
        match key {
            "sslmode" => {
                ssl_mode = Some(value.parse::<SslMode>()?);
                Ok(true)
            }
            "sslrootcert" => {
                root_certificate = Some(PathBuf::from(value));
                Ok(true)
            }
            _ => Ok(false),
        }
    };
    let rest = if let Some((prefix, rest)) = split_url_prefix(value) {
        let (head, query) = split_query(rest);
        let mut kept = Vec::new();
        for param in query.into_iter().flat_map(|q| q.split('&')) {
            if param.is_empty() {
                continue;
            }
            let taken = match param.split_once('=') {
                Some((key, value)) => take(&percent_decode(key), &percent_decode(value))?,
                None => false,
            };
            if !taken {
                kept.push(param);
            }
        }
        if kept.is_empty() {
            format!("{prefix}{head}")
        } else {
            format!("{prefix}{head}?{}", kept.join("&"))
        }
    } else {
        let mut kept = Vec::new();
        for (key, value) in parse_key_values(value)? {
            if !take(key, &value)? {
                kept.push(format!("{key}={}", quote(&value)));
            }
        }
        kept.join(" ")
    };
    Ok(Stripped {
        rest,
        ssl_mode,
        root_certificate,
    })
}

/// Quotes a `key=value` value the way libpq (and tokio-postgres) read it.
fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// Parses a libpq `key=value` string: keys and values separated by
/// whitespace, optional whitespace around `=`, values plain (backslash
/// escapes) or single-quoted (`\'` and `\\` escapes).
fn parse_key_values(s: &str) -> Result<Vec<(&str, String)>, ConnInfoError> {
    let mut pairs = Vec::new();
    let mut it = s.char_indices().peekable();
    loop {
        while it.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(start, _)) = it.peek() else {
            return Ok(pairs);
        };
        let mut end = s.len();
        while let Some(&(i, c)) = it.peek() {
            if c.is_whitespace() || c == '=' {
                end = i;
                break;
            }
            it.next();
        }
        let key = &s[start..end];
        while it.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        if it.next_if(|(_, c)| *c == '=').is_none() {
            return Err(ConnInfoError::Syntax(format!(
                "connection string: expected `=` after `{key}`"
            )));
        }
        while it.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if it.next_if(|(_, c)| *c == '\'').is_some() {
            loop {
                match it.next() {
                    Some((_, '\'')) => break,
                    Some((_, '\\')) => {
                        if let Some((_, c)) = it.next() {
                            value.push(c);
                        }
                    }
                    Some((_, c)) => value.push(c),
                    None => {
                        return Err(ConnInfoError::Syntax(format!(
                            "connection string: unterminated quoted value of `{key}`"
                        )));
                    }
                }
            }
        } else {
            while let Some((_, c)) = it.next_if(|(_, c)| !c.is_whitespace()) {
                if c == '\\' {
                    if let Some((_, c)) = it.next() {
                        value.push(c);
                    }
                } else {
                    value.push(c);
                }
            }
            if value.is_empty() {
                return Err(ConnInfoError::Syntax(format!(
                    "connection string: `{key}` has no value"
                )));
            }
        }
        pairs.push((key, value));
    }
}

/// Decodes `%XX` escapes (invalid escapes are kept as written).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_connection_strings() {
        assert!(is_connection_string("postgres://u@h/db"));
        assert!(is_connection_string("postgresql://h"));
        assert!(is_connection_string("host=h user=u password=p"));
        assert!(is_connection_string("  dbname = app"));
        assert!(is_connection_string("usr=u password=p"));
        assert!(!is_connection_string("a=b.db"));
        assert!(!is_connection_string("jobs.sqlite3"));
        assert!(!is_connection_string("sqlite://x=y"));
    }

    #[test]
    fn redacts_every_password_form() {
        let cases = [
            ("postgres://u:pw@h:5/db", "postgres://u:***@h:5/db"),
            ("postgres://u@h/db", "postgres://u@h/db"),
            ("postgresql://u:p/w@h/db", "postgresql://u:***@h/db"),
            ("postgres://u:p@w@h/db?x=1", "postgres://u:***@h/db?x=1"),
            (
                "postgres://h/db?user=u&password=pw&sslmode=require",
                "postgres://h/db?user=u&password=***&sslmode=require",
            ),
            (
                "host=h password=pw user=u",
                "host='h' password=*** user='u'",
            ),
            (
                "host=h password = 'p w\\' x' dbname=d",
                "host='h' password=*** dbname='d'",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(redact_connection_string(input), expected, "{input}");
        }
        let broken = redact_connection_string("host=h password='unterminated");
        assert!(!broken.contains("unterminated"), "{broken}");
    }

    #[test]
    fn strips_the_tls_keys() {
        let s = strip_tls_keys(
            "postgres://u@h/db?application_name=a&sslmode=verify-full&sslrootcert=%2Ftmp%2Fca.pem",
        )
        .unwrap();
        assert_eq!(s.rest, "postgres://u@h/db?application_name=a");
        assert_eq!(s.ssl_mode, Some(SslMode::VerifyFull));
        assert_eq!(s.root_certificate, Some(PathBuf::from("/tmp/ca.pem")));

        let s =
            strip_tls_keys("host=h sslmode=verify-ca sslrootcert='/a b/ca.pem' user=u").unwrap();
        assert_eq!(s.rest, "host='h' user='u'");
        assert_eq!(s.ssl_mode, Some(SslMode::VerifyCa));
        assert_eq!(s.root_certificate, Some(PathBuf::from("/a b/ca.pem")));
        let config: tokio_postgres::Config = s.rest.parse().unwrap();
        assert_eq!(config.get_user(), Some("u"));

        let s = strip_tls_keys("postgres://h/db").unwrap();
        assert_eq!(s.rest, "postgres://h/db");
        assert_eq!(s.ssl_mode, None);

        assert!(matches!(
            strip_tls_keys("host=h sslmode=allow"),
            Err(ConnInfoError::SslMode(_))
        ));
        assert!(matches!(
            strip_tls_keys("host=h user"),
            Err(ConnInfoError::Syntax(_))
        ));
    }
}

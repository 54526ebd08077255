//! Where a project lives: a file (`*.cairn`) or a PostgreSQL database (`postgres://…`). A server
//! location is resolved the way `psql` resolves it — the URL first, then `PGHOST`, `PGPORT`,
//! `PGUSER`, `PGDATABASE`, `PGPASSWORD`, `PGSSLMODE`, then the password file (`PGPASSFILE` or
//! `~/.pgpass`) — and is only ever shown without its password.

use crate::error::{Result, StoreError};
use crate::tls::{TlsMode, TlsSettings};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A project's place, and how it is shown in messages (never with a password).
#[derive(Clone, Debug)]
pub struct Location {
    shown: PathBuf,
    kind: LocationKind,
}

#[derive(Clone, Debug)]
pub(crate) enum LocationKind {
    File(PathBuf),
    Server(Box<ServerTarget>),
}

/// A server to connect to: the driver's settings, and the TLS ones it does not know.
#[derive(Clone, Debug)]
pub(crate) struct ServerTarget {
    pub config: postgres::Config,
    pub tls: TlsSettings,
}

/// Whether `text` names a server rather than a file.
pub fn is_server_url(text: &str) -> bool {
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

impl Location {
    /// A file path, or a `postgres://` / `postgresql://` URL.
    pub fn parse(text: impl AsRef<Path>) -> Result<Location> {
        let path = text.as_ref();
        match path.to_str() {
            Some(url) if is_server_url(url) => Location::server(url),
            _ => Ok(Location { shown: path.to_owned(), kind: LocationKind::File(path.to_owned()) }),
        }
    }

    fn server(url: &str) -> Result<Location> {
        let bad = |reason: String| StoreError::BadLocation { location: redact_url(url), reason };
        let (url, mut tls) = take_tls_parameters(url).map_err(bad)?;
        // The parser's message never repeats the URL, so it cannot leak the password.
        let mut config = postgres::Config::from_str(&url).map_err(|e| bad(e.to_string()))?;
        fill_from_environment(&mut config);
        if let Some(mode) = env("PGSSLMODE").filter(|_| tls.mode_from_url.is_none()) {
            tls.settings.mode = TlsMode::parse(&mode).ok_or_else(|| bad(format!("PGSSLMODE={mode} is not an sslmode")))?;
        }
        if tls.settings.root_cert.is_none() {
            tls.settings.root_cert = env("PGSSLROOTCERT").map(PathBuf::from);
        }
        config.ssl_mode(tls.settings.mode.driver_mode());
        let shown = PathBuf::from(describe(&config));
        Ok(Location { shown, kind: LocationKind::Server(Box::new(ServerTarget { config, tls: tls.settings })) })
    }

    /// How the location appears in messages: the path, or `postgres://user@host:port/db`.
    pub fn as_path(&self) -> &Path {
        &self.shown
    }

    pub fn is_server(&self) -> bool {
        matches!(self.kind, LocationKind::Server(_))
    }

    pub(crate) fn kind(&self) -> &LocationKind {
        &self.kind
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.shown.display())
    }
}

/// A URL with any password replaced, for messages about a URL that did not parse.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            format!("{scheme}://{user}@{host}{tail}")
        }
        None => url.to_owned(),
    }
    .split('?')
    .next()
    .unwrap_or_default()
    .to_owned()
}

struct UrlTls {
    settings: TlsSettings,
    mode_from_url: Option<TlsMode>,
}

/// Takes `sslmode` and `sslrootcert` out of the URL's query: the driver knows neither the
/// verifying modes nor root certificates, so they are ours to apply.
fn take_tls_parameters(url: &str) -> std::result::Result<(String, UrlTls), String> {
    let mut tls = UrlTls { settings: TlsSettings::default(), mode_from_url: None };
    let Some((base, query)) = url.split_once('?') else { return Ok((url.to_owned(), tls)) };
    let mut kept = Vec::new();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("sslmode", mode)) => {
                let mode =
                    TlsMode::parse(mode).ok_or_else(|| format!("sslmode={mode} is not one of disable, prefer, require, verify-ca, verify-full"))?;
                tls.settings.mode = mode;
                tls.mode_from_url = Some(mode);
            }
            Some(("sslrootcert", path)) => tls.settings.root_cert = Some(PathBuf::from(path)),
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
    Ok((url, tls))
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// What the URL left out, from the environment and the password file, as `psql` does.
fn fill_from_environment(config: &mut postgres::Config) {
    if config.get_hosts().is_empty() {
        match env("PGHOST") {
            Some(host) => {
                config.host(&host);
            }
            None => {
                config.host("/var/run/postgresql");
            }
        }
    }
    if config.get_ports().is_empty()
        && let Some(port) = env("PGPORT").and_then(|p| p.parse().ok())
    {
        config.port(port);
    }
    if config.get_user().is_none() {
        let user = env("PGUSER").or_else(|| env("USER")).unwrap_or_else(|| "postgres".into());
        config.user(&user);
    }
    if config.get_dbname().is_none()
        && let Some(db) = env("PGDATABASE")
    {
        config.dbname(&db);
    }
    if config.get_password().is_none() {
        if let Some(password) = env("PGPASSWORD") {
            config.password(password);
        } else if let Some(password) = password_file_entry(config) {
            config.password(password);
        }
    }
}

fn first_host(config: &postgres::Config) -> String {
    match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    }
}

fn port(config: &postgres::Config) -> u16 {
    config.get_ports().first().copied().unwrap_or(5432)
}

fn describe(config: &postgres::Config) -> String {
    let user = config.get_user().unwrap_or("postgres");
    let db = config.get_dbname().unwrap_or(user);
    let host = first_host(config);
    if host.starts_with('/') {
        format!("postgres://{user}@/{db}?host={host}&port={}", port(config))
    } else {
        format!("postgres://{user}@{host}:{}/{db}", port(config))
    }
}

/// The password for this host, port, database and user from the password file, as libpq reads it:
/// `host:port:database:user:password` lines, `*` matching anything, `\:` and `\\` escaped; a file
/// others can read is ignored.
fn password_file_entry(config: &postgres::Config) -> Option<String> {
    let file = env("PGPASSFILE").map(PathBuf::from).or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pgpass")))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            return None;
        }
    }
    let text = std::fs::read_to_string(&file).ok()?;
    let host = first_host(config);
    // libpq matches a socket connection against "localhost".
    let host = if host.starts_with('/') { "localhost".to_owned() } else { host };
    let port = port(config).to_string();
    let user = config.get_user().unwrap_or("postgres").to_owned();
    let db = config.get_dbname().map(str::to_owned).unwrap_or_else(|| user.clone());
    password_lookup(&text, [&host, &port, &db, &user])
}

pub(crate) fn password_lookup(text: &str, wanted: [&str; 4]) -> Option<String> {
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = split_escaped(line);
        if fields.len() < 5 {
            continue;
        }
        if fields[..4].iter().zip(wanted).all(|(field, want)| field == "*" || field == want) {
            return Some(fields[4..].join(":"));
        }
    }
    None
}

fn split_escaped(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    fields.last_mut().expect("one field at least").push(next);
                }
            }
            ':' => fields.push(String::new()),
            other => fields.last_mut().expect("one field at least").push(other),
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        let location = Location::parse("postgres://ann:s3cret@db.example:6543/labels?sslmode=disable").unwrap();
        assert_eq!(location.to_string(), "postgres://ann@db.example:6543/labels");
        assert!(!format!("{location:?}").contains("s3cret"), "{location:?}");
        assert_eq!(redact_url("postgresql://ann:s3cret@host/db?password=x"), "postgresql://ann@host/db");
        let bad = Location::parse("postgres://ann:s3cret@host:notaport/db").unwrap_err().to_string();
        assert!(!bad.contains("s3cret"), "{bad}");
        assert!(bad.contains("postgres://ann@host:notaport/db"), "{bad}");
    }

    #[test]
    fn sslmode_and_root_certificates_are_read_as_libpq_reads_them() {
        let server = |url: &str| match Location::parse(url).unwrap().kind {
            LocationKind::Server(target) => *target,
            LocationKind::File(_) => panic!("a server"),
        };
        let target = server("postgres://ann@db/x?sslmode=verify-full&sslrootcert=/etc/ca.pem&application_name=t");
        assert_eq!(target.tls.mode, TlsMode::VerifyFull);
        assert_eq!(target.tls.root_cert.as_deref(), Some(Path::new("/etc/ca.pem")));
        assert_eq!(target.config.get_ssl_mode(), postgres::config::SslMode::Require);
        assert_eq!(target.config.get_application_name(), Some("t"));
        assert_eq!(server("postgres://ann@db/x?sslmode=disable").config.get_ssl_mode(), postgres::config::SslMode::Disable);
        let err = Location::parse("postgres://ann:pw@db/x?sslmode=sometimes").unwrap_err().to_string();
        assert!(err.contains("sslmode=sometimes") && !err.contains("pw@"), "{err}");
    }

    #[test]
    fn files_stay_paths() {
        let location = Location::parse("team.cairn").unwrap();
        assert!(!location.is_server());
        assert_eq!(location.as_path(), Path::new("team.cairn"));
    }

    #[test]
    fn password_file_lines_match_as_libpq_reads_them() {
        let file = "# comment\nother:5432:*:ann:nope\n*:5432:labels:ann:pa\\:ss:word\nlocalhost:*:*:*:fallback\n";
        assert_eq!(password_lookup(file, ["db", "5432", "labels", "ann"]).as_deref(), Some("pa:ss:word"));
        assert_eq!(password_lookup(file, ["localhost", "7000", "x", "bob"]).as_deref(), Some("fallback"));
        assert_eq!(password_lookup(file, ["db", "5433", "labels", "ann"]), None);
    }
}

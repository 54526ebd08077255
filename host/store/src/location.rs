//! Where a project lives: a file (`*.cairn`) or a PostgreSQL database (`postgres://…`). A server
//! location is resolved the way `psql` resolves it — the URL first, then `PGHOST`, `PGPORT`,
//! `PGUSER`, `PGDATABASE`, `PGPASSWORD`, `PGSSLMODE`, then the password file (`PGPASSFILE` or
//! `~/.pgpass`) — and is only ever shown without its password.

use crate::error::{Result, StoreError};
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
    Server(Box<postgres::Config>),
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
        let mut config = postgres::Config::from_str(url).map_err(|e| StoreError::BadLocation {
            // The parser's message never repeats the URL, so it cannot leak the password.
            location: redact_url(url),
            reason: e.to_string(),
        })?;
        fill_from_environment(&mut config);
        let shown = PathBuf::from(describe(&config));
        Ok(Location { shown, kind: LocationKind::Server(Box::new(config)) })
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
    if env("PGSSLMODE").as_deref() == Some("require") && config.get_ssl_mode() != postgres::config::SslMode::Require {
        config.ssl_mode(postgres::config::SslMode::Require);
    }
    if env("PGSSLMODE").as_deref() == Some("disable") {
        config.ssl_mode(postgres::config::SslMode::Disable);
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

//! Fresh, throwaway project locations for tests on either engine, so that one test body runs on
//! both. PostgreSQL tests take the server from `CAIRN_TEST_POSTGRES` (a URL whose database the role
//! may create databases beside; `.ci/postgres start` prints one). Without it they fail under
//! `CI=true` and say so elsewhere, so a CI run can never pass with them left out.

use crate::db::Engine;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

/// The variable naming the test server.
pub const TEST_SERVER_VARIABLE: &str = "CAIRN_TEST_POSTGRES";

/// A location no project is at yet: a path in a temporary directory, or an empty database created
/// on the test server (dropped again, connections and all, when this is dropped).
pub struct Scratch {
    pub location: PathBuf,
    _dir: Option<tempfile::TempDir>,
    database: Option<(String, String)>,
}

/// The test server's URL; None when there is none (and this is not CI, where that is a failure).
pub fn test_server() -> Option<String> {
    match std::env::var(TEST_SERVER_VARIABLE) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") => {
            panic!("{TEST_SERVER_VARIABLE} is not set, and CI must run the PostgreSQL tests (.ci/postgres start prints the URL)")
        }
        _ => {
            eprintln!("PostgreSQL part not run: {TEST_SERVER_VARIABLE} is not set (.ci/postgres start prints a URL for it)");
            None
        }
    }
}

impl Scratch {
    /// A fresh location on `engine`; None for PostgreSQL when no test server is configured.
    pub fn new(engine: Engine, file_name: &str) -> Option<Scratch> {
        match engine {
            Engine::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                Some(Scratch { location: dir.path().join(file_name), _dir: Some(dir), database: None })
            }
            Engine::Postgres => Some(Scratch::on_server(&test_server()?, "cairn_test").expect("a database on the test server")),
        }
    }

    /// A new, empty database `<prefix>_<pid>_<n>` on `server` (a URL whose role may create
    /// databases), dropped again with this.
    pub fn on_server(server: &str, prefix: &str) -> Result<Scratch, postgres::Error> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!("{prefix}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let mut admin = postgres::Client::connect(server, postgres::NoTls)?;
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
        admin.batch_execute(&format!("CREATE DATABASE {name}"))?;
        let location = PathBuf::from(with_database(server, &name));
        Ok(Scratch { location, _dir: None, database: Some((server.to_owned(), name)) })
    }

    pub fn url(&self) -> &str {
        self.location.to_str().expect("test locations are UTF-8")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some((server, name)) = &self.database
            && let Ok(mut admin) = postgres::Client::connect(server, postgres::NoTls)
        {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// The server URL with its database replaced.
pub fn with_database(server: &str, database: &str) -> String {
    let (base, query) = server.split_once('?').map_or((server, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

/// Runs a test body once per engine: `on_both_engines!(fn name(location) { … })` makes a module
/// `name` with tests `sqlite` and `postgres`; `location` is a fresh `Scratch`.
#[macro_export]
macro_rules! on_both_engines {
    ($(#[$meta:meta])* fn $name:ident($scratch:ident) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn run($scratch: $crate::testing::Scratch) $body

            #[test]
            fn sqlite() {
                run($crate::testing::Scratch::new($crate::Engine::Sqlite, "p.cairn").expect("a temporary file"));
            }

            #[test]
            fn postgres() {
                if let Some(scratch) = $crate::testing::Scratch::new($crate::Engine::Postgres, "p.cairn") {
                    run(scratch);
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_names_are_swapped_in_urls() {
        assert_eq!(super::with_database("postgres://u:p@h:5/postgres", "x"), "postgres://u:p@h:5/x");
        assert_eq!(super::with_database("postgres://u@h/postgres?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
        assert_eq!(super::with_database("postgres://h", "x"), "postgres://h/x");
    }
}

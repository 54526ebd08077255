//! Exit codes scripts can rely on.

use cairn_import::ImportError;
use cairn_store::StoreError;

pub const OK: i32 = 0;
/// Anything unexpected: I/O failures, bugs.
pub const FAILURE: i32 = 1;
/// Bad command-line usage (clap's own code).
#[allow(dead_code)]
pub const USAGE: i32 = 2;
/// The input data was refused (malformed record, bad header, invalid annotation).
pub const BAD_INPUT: i32 = 3;
/// The project file cannot be used: missing, not a project, newer schema, damaged, already exists.
pub const PROJECT: i32 = 4;
/// A plugin was refused or failed; the project is unchanged and no output was written.
pub const PLUGIN: i32 = 5;
/// The project's server cannot be reached or refused the login; nothing was changed.
pub const SERVER: i32 = 6;

pub const EXIT_CODES_HELP: &str = "Exit codes: 0 success, 1 failure, 2 usage error, 3 input refused (nothing stored), \
4 project file unusable (missing, not a Cairn project, newer schema, damaged, already exists), \
5 plugin refused or failed (project unchanged, no output written), \
6 server unreachable or login refused (nothing changed).";

/// A signal (Ctrl+C, SIGTERM) stopped the command; what it was writing was removed.
pub const STOPPED: i32 = 130;

/// Marks a command stopped by a signal.
#[derive(Debug, thiserror::Error)]
#[error("stopped by a signal; {0}")]
pub struct Stopped(pub String);

/// Marks a `cairn check` that found damage.
#[derive(Debug, thiserror::Error)]
#[error("{0}: the project file is damaged")]
pub struct Damaged(pub String);

pub fn code_for(err: &anyhow::Error) -> i32 {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<ImportError>() {
            return match e {
                ImportError::Store(s) => store_code(s),
                e if e.is_bad_input() => BAD_INPUT,
                _ => FAILURE,
            };
        }
        if let Some(e) = cause.downcast_ref::<StoreError>() {
            return store_code(e);
        }
        if cause.downcast_ref::<cairn_plugin_host::PluginError>().is_some() {
            return PLUGIN;
        }
        if cause.downcast_ref::<Damaged>().is_some() {
            return PROJECT;
        }
        if cause.downcast_ref::<Stopped>().is_some() {
            return STOPPED;
        }
    }
    FAILURE
}

fn store_code(e: &StoreError) -> i32 {
    match e {
        StoreError::Missing { .. }
        | StoreError::AlreadyExists { .. }
        | StoreError::NotAProject { .. }
        | StoreError::NewerSchema { .. }
        | StoreError::Corrupt { .. }
        | StoreError::BadItem { .. }
        | StoreError::BadJson { .. }
        | StoreError::BadLocation { .. }
        | StoreError::Schema { .. } => PROJECT,
        StoreError::Unreachable { .. } => SERVER,
        // Authentication failures (SQLSTATE class 28) and a database that does not exist.
        StoreError::Postgres { source, .. }
            if source.code().is_some_and(|c| c.code().starts_with("28") || *c == postgres::error::SqlState::UNDEFINED_DATABASE) =>
        {
            SERVER
        }
        StoreError::Invalid { .. } => BAD_INPUT,
        _ => FAILURE,
    }
}

/// True when the error comes from writing into a pipe the reader closed (`cairn export | head`).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == BrokenPipe)
            || c.downcast_ref::<serde_json::Error>().is_some_and(|e| e.io_error_kind() == Some(BrokenPipe))
    })
}

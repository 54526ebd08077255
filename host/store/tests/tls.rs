//! TLS to the test server, with `sslmode` as libpq reads it. The server's certificate chains to
//! the authority named by `CAIRN_TEST_POSTGRES_ROOT_CERT` (`.ci/postgres root-cert`) and names
//! 127.0.0.1; `other-ca.crt` beside it is an authority it does not chain to.

use cairn_store::testing::{Scratch, test_server};
use cairn_store::{Engine, Project, StoreError};
use std::path::PathBuf;

fn root_cert() -> Option<PathBuf> {
    test_server()?;
    match std::env::var("CAIRN_TEST_POSTGRES_ROOT_CERT") {
        Ok(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") => {
            panic!("CAIRN_TEST_POSTGRES_ROOT_CERT is not set (.ci/postgres root-cert)")
        }
        _ => {
            eprintln!("TLS part not run: CAIRN_TEST_POSTGRES_ROOT_CERT is not set");
            None
        }
    }
}

#[test]
fn connections_are_encrypted_and_verified_as_sslmode_asks() {
    let Some(root) = root_cert() else { return };
    let scratch = Scratch::new(Engine::Postgres, "unused").unwrap();
    drop(Project::create(&scratch.location).unwrap());
    let with = |query: &str| format!("{}?{query}", scratch.url());
    let encrypted = |url: &str| Project::open(url).unwrap().connection_encrypted().unwrap();

    assert_eq!(encrypted(&with("sslmode=disable")), Some(false));
    assert_eq!(encrypted(&with("sslmode=prefer")), Some(true), "the server offers TLS");
    assert_eq!(encrypted(&with("sslmode=require")), Some(true));
    let root = root.display().to_string();
    assert_eq!(encrypted(&with(&format!("sslmode=verify-full&sslrootcert={root}"))), Some(true));
    assert_eq!(encrypted(&with(&format!("sslmode=verify-ca&sslrootcert={root}"))), Some(true));

    // A certificate that does not chain to the given authority is refused, and said so.
    let other = std::path::Path::new(&root).with_file_name("other-ca.crt").display().to_string();
    for mode in ["verify-full", "verify-ca", "require"] {
        let Err(err) = Project::open(with(&format!("sslmode={mode}&sslrootcert={other}"))) else {
            panic!("{mode} connected to a server whose certificate another authority signed")
        };
        assert!(matches!(err, StoreError::Unreachable { .. }), "{mode}: {err:?}");
        assert!(err.to_string().contains("certificate"), "{mode}: {err}");
    }
    // The verifying modes need an authority to verify against.
    let Err(err) = Project::open(with("sslmode=verify-full")) else { panic!("verified without a root certificate") };
    assert!(err.to_string().contains("sslrootcert"), "{err}");
}

//! Projects on a PostgreSQL server through the real `cairn` binary: every command takes the URL,
//! `cairn copy` moves a project there and back with the same export and statistics, and a server
//! that cannot be used is a clear error with an exit code, nothing created or changed, and never a
//! password in the output.

use cairn_e2e::*;
use cairn_store::testing::Scratch;
use cairn_store::{Engine, Project};

const PROJECT: i32 = 4;
const SERVER: i32 = 6;

fn scratch() -> Option<Scratch> {
    Scratch::new(Engine::Postgres, "unused")
}

/// The scratch URL with a password that must never be printed.
fn with_password(scratch: &Scratch, password: &str) -> String {
    scratch.url().replacen("cairn:cairn-test@", &format!("cairn:{password}@"), 1)
}

#[test]
fn a_project_copied_to_a_server_and_back_exports_the_same() {
    let Some(server) = scratch() else { return };
    let (dir, file) = new_project();
    let data = dir.path().join("prefs.jsonl");
    let lines: Vec<_> = (0..40).map(|i| comparison_line(&format!("id{i}"), &format!("question {i}"))).collect();
    std::fs::write(&data, lines.join("\n")).unwrap();
    expect_code(&cairn(&["import", path_str(&file), path_str(&data)]), 0);
    let url = server.url();
    let out = cairn(&["copy", path_str(&file), url]);
    expect_code(&out, 0);
    assert!(!stdout(&out).contains("cairn-test"), "the password was printed: {}", stdout(&out));
    // Work goes on on the server: an import there, and every command reads it.
    let more = dir.path().join("more.jsonl");
    std::fs::write(&more, comparison_line("extra", "one more question")).unwrap();
    expect_code(&cairn(&["import", url, path_str(&more)]), 0);
    expect_code(&cairn(&["import", path_str(&file), path_str(&more)]), 0);
    expect_code(&cairn(&["check", url]), 0);
    let back = dir.path().join("back.cairn");
    expect_code(&cairn(&["copy", url, path_str(&back)]), 0);
    for args in [["export", "--format", "jsonl"], ["stats", "--json", ""], ["status", "--json", ""]] {
        let run = |project: &str| {
            let mut a = vec![args[0], project];
            a.extend(args[1..].iter().filter(|s| !s.is_empty()));
            let out = cairn(&a);
            expect_code(&out, 0);
            stdout(&out).replace(project, "P")
        };
        let (original, served, returned) = (run(path_str(&file)), run(url), run(path_str(&back)));
        if args[0] == "status" {
            // Names differ (file stem, database name): the counts must not.
            let counts = |s: &str| s.lines().filter(|l| !l.contains("\"name\"") && !l.contains("created_at")).map(str::to_owned).collect::<Vec<_>>();
            assert_eq!(counts(&original), counts(&served));
            assert_eq!(counts(&original), counts(&returned));
        } else {
            assert_eq!(original, served, "{}", args[0]);
            assert_eq!(original, returned, "{}", args[0]);
        }
    }
}

#[test]
fn a_server_that_cannot_be_used_is_a_clear_error_and_nothing_changes() {
    let Some(server) = scratch() else { return };
    // A wrong password: refused by the server, and never repeated.
    let wrong = with_password(&server, "not-the-password");
    let out = cairn(&["status", &wrong]);
    expect_code(&out, SERVER);
    let err = stderr(&out);
    assert!(err.contains("password authentication failed") && !err.contains("not-the-password"), "{err}");
    // Nothing listens on this port.
    let out = cairn(&["init", "postgres://cairn:s3cret@127.0.0.1:9/x"]);
    expect_code(&out, SERVER);
    let err = stderr(&out);
    assert!(err.contains("cannot reach the server") && err.contains("postgres://cairn@127.0.0.1:9/x") && !err.contains("s3cret"), "{err}");
    // An empty database is not a project until `init` makes it one.
    let out = cairn(&["status", server.url()]);
    expect_code(&out, PROJECT);
    assert!(stderr(&out).contains("the database is empty"), "{}", stderr(&out));
    // A database of another program's tables is refused, and left alone.
    let mut admin = postgres::Client::connect(server.url(), postgres::NoTls).unwrap();
    admin.batch_execute("CREATE TABLE invoices (id int); INSERT INTO invoices VALUES (7)").unwrap();
    for args in [vec!["init", server.url()], vec!["status", server.url()]] {
        let out = cairn(&args);
        expect_code(&out, PROJECT);
        assert!(stderr(&out).contains("holds other tables"), "{}", stderr(&out));
    }
    let tables: i64 = admin.query_one("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'", &[]).unwrap().get(0);
    assert_eq!(tables, 1, "nothing was created beside it");
    admin.batch_execute("DROP TABLE invoices").unwrap();
    // A project from a newer Cairn is refused untouched.
    drop(Project::create(server.url()).unwrap());
    admin.batch_execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'").unwrap();
    let out = cairn(&["import", server.url(), "/nonexistent.jsonl"]);
    expect_code(&out, PROJECT);
    assert!(stderr(&out).contains("written by a newer Cairn (project schema 99"), "{}", stderr(&out));
    let version: String = admin.query_one("SELECT value FROM meta WHERE key = 'schema_version'", &[]).unwrap().get(0);
    assert_eq!(version, "99");
}

//! Opening: file and memory, migrations, refusal of newer or foreign files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

mod common;

use common::cid;
use order_journal::{Journal, JournalError, JournalIdentity, OrderQuery};

#[test]
fn a_new_file_is_created_in_wal_mode_and_migrated_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    let j = Journal::open(&path).unwrap();
    assert_eq!(j.schema_version().unwrap(), 7);
    assert_eq!(j.path(), Some(path.as_path()));
    j.record_intent(&common::order(1)).unwrap();
    drop(j);
    // Reopening applies nothing twice and keeps the data.
    let j = Journal::open(&path).unwrap();
    assert_eq!(j.schema_version().unwrap(), 7);
    assert_eq!(j.list(&OrderQuery::default()).unwrap().items.len(), 1);
    let c = rusqlite::Connection::open(&path).unwrap();
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let applied: i64 = c
        .query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(applied, 7);
}

#[test]
fn a_schema_1_journal_is_migrated_to_the_latest_with_its_orders() {
    // A journal written by the first release: only 0001 applied, one order in it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch(include_str!("../migrations/0001_init.sql"))
        .unwrap();
    c.execute_batch(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,
             applied_at INTEGER NOT NULL) STRICT;
         INSERT INTO schema_migrations VALUES (1, '0001_init', 0);
         INSERT INTO orders (created_at, operator, consumer_id, product_id, station_id,
             issuance_type, pan_last4, card_id, issuer_request_id, correlation_id, state,
             updated_at)
         VALUES (1000, 'op', 'C-1', 'P', 'S', 'NEW', '1234', 'card-old', 'r', 'c', 'intent', 1000);",
    )
    .unwrap();
    drop(c);
    let j = Journal::open(&path).unwrap();
    assert_eq!(j.schema_version().unwrap(), 7);
    assert_eq!(j.in_flight().unwrap()[0].card_id, "card-old");
    assert!(j.integrity_check().unwrap().is_empty());
    let c = rusqlite::Connection::open(&path).unwrap();
    let created: String = c
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'orders_created'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(created.contains("consumer_id, pan_last4"), "{created}");
    let both: i64 = c
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'orders_station_operator'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(both, 1);
}

#[test]
fn in_memory_journals_are_private() {
    let a = Journal::open_in_memory().unwrap();
    let b = Journal::open_in_memory().unwrap();
    a.record_intent(&common::order(1)).unwrap();
    assert_eq!(a.path(), None);
    assert!(b.list(&OrderQuery::default()).unwrap().items.is_empty());
    assert_eq!(
        a.clone().list(&OrderQuery::default()).unwrap().items.len(),
        1
    );
}

#[test]
fn a_missing_folder_is_a_clear_open_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/folder/journal.sqlite");
    let err = Journal::open(&path).unwrap_err();
    assert!(matches!(err, JournalError::Open { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("no/such/folder"), "{msg}");
    assert!(msg.contains("writable"), "{msg}");
}

#[test]
fn a_file_that_is_not_a_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    std::fs::write(
        &path,
        b"this is not an SQLite database, just some text ........",
    )
    .unwrap();
    let err = Journal::open(&path).unwrap_err();
    assert!(
        matches!(err, JournalError::Open { .. } | JournalError::Storage(_)),
        "{err:?}"
    );
    assert!(err.to_string().contains("journal"), "{err}");
}

#[test]
fn a_journal_from_a_newer_version_is_not_touched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    drop(Journal::open(&path).unwrap());
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (8, '0008_future', 0)",
        [],
    )
    .unwrap();
    drop(c);
    let err = Journal::open(&path).unwrap_err();
    match &err {
        JournalError::NewerSchema { found, known } => assert_eq!((*found, *known), (8, 7)),
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string().contains("install the newer version"),
        "{err}"
    );
}

#[test]
fn the_database_refuses_what_the_types_refuse() {
    // Even bypassing the API, the schema itself refuses a longer "last 4" and unknown states.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    let j = Journal::open(&path).unwrap();
    j.record_intent(&common::order(1)).unwrap();
    let c = rusqlite::Connection::open(&path).unwrap();
    assert!(
        c.execute("UPDATE orders SET pan_last4 = '4000056655665556'", [])
            .is_err()
    );
    assert!(
        c.execute("UPDATE orders SET pan_last4 = '12a4'", [])
            .is_err()
    );
    assert!(
        c.execute("UPDATE orders SET state = 'printed'", [])
            .is_err()
    );
    drop(c);
    assert!(j.integrity_check().unwrap().is_empty());
}

fn identity(environment: &str, issuer: &str) -> JournalIdentity {
    JournalIdentity {
        environment: environment.into(),
        issuer_id: issuer.into(),
    }
}

#[test]
fn a_journal_belongs_to_one_d1_and_refuses_another() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    let production = identity("production", "BANK000001");
    let j = Journal::open_for(&path, &production).unwrap();
    j.record_intent(&common::order(1)).unwrap();
    assert_eq!(j.identity().unwrap(), Some(production.clone()));
    drop(j);
    for other in [
        identity("training", "BANK000001"),
        identity("production", "BANK000002"),
    ] {
        let err = Journal::open_for(&path, &other).unwrap_err();
        match &err {
            JournalError::OtherD1 { found, expected } => {
                assert_eq!((found, expected), (&production, &other))
            }
            e => panic!("{e:?}"),
        }
        assert!(err.to_string().contains("production / BANK000001"), "{err}");
    }
    // Refusing did not change the file; the right D1 opens it with its order.
    let j = Journal::open_for(&path, &production).unwrap();
    assert_eq!(j.list(&OrderQuery::default()).unwrap().items.len(), 1);
}

#[test]
fn one_desk_writer_per_journal_until_it_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    let id = identity("training", "TRAINING01");
    let first = Journal::open_for(&path, &id).unwrap();
    let clone = first.clone();
    let err = Journal::open_for(&path, &id).unwrap_err();
    assert!(matches!(err, JournalError::InUse { .. }), "{err:?}");
    assert!(
        err.to_string().contains("another Issuance Desk window"),
        "{err}"
    );
    drop(first);
    assert!(
        matches!(
            Journal::open_for(&path, &id),
            Err(JournalError::InUse { .. })
        ),
        "a clone still holds the lock"
    );
    drop(clone);
    let again = Journal::open_for(&path, &id).unwrap();
    assert!(order_journal::lock_path(&path).exists());
    drop(again);
}

#[test]
fn a_schema_1_journal_keeps_its_orders_and_history_when_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(include_str!("../migrations/0001_init.sql"))
            .unwrap();
        c.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,
                 applied_at INTEGER NOT NULL) STRICT;
             INSERT INTO schema_migrations VALUES (1, '0001_init', 0);
             INSERT INTO orders (id, created_at, operator, consumer_id, product_id, station_id,
                 issuance_type, pan_last4, card_id, issuer_request_id, correlation_id, state,
                 updated_at)
             VALUES (1, 10, 'ana', 'CUST-C1', 'P', 'S', 'CREATION', '1234', 'card-1', 'req-1',
                 'corr-1', 'outcome_unknown', 20);
             INSERT INTO order_events (order_id, at, state) VALUES (1, 10, 'intent');
             INSERT INTO order_events (order_id, at, state) VALUES (1, 15, 'sending');
             INSERT INTO order_events (order_id, at, state, detail)
                 VALUES (1, 20, 'outcome_unknown', 'timeout');",
        )
        .unwrap();
    }
    let j = Journal::open(&path).unwrap();
    assert_eq!(j.schema_version().unwrap(), 7);
    let detail = j.detail(&cid("card-1")).unwrap();
    assert_eq!(detail.history.len(), 3, "the history survived the rebuild");
    // The consumer search index (schema 7) holds the orders that were there before it.
    let found = j
        .list(&OrderQuery {
            search: Some(order_journal::Search {
                text: "st-c1".into(),
                mode: order_journal::MatchMode::Exact,
            }),
            ..OrderQuery::default()
        })
        .unwrap();
    assert_eq!(found.items.len(), 1);
    j.record_no_record(&cid("card-1"), "no record after 10 minutes")
        .unwrap();
    assert_eq!(
        j.detail(&cid("card-1")).unwrap().order.state,
        order_journal::OrderState::NoRecord
    );
    assert!(j.integrity_check().unwrap().is_empty());
}

/// Runs `child` of this test binary under `umask 0`, so only the journal's own modes count.
#[cfg(unix)]
fn run_with_umask_zero(child: &str, dir: &std::path::Path) {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("umask 0; exec \"$0\" --exact \"$1\" --nocapture --test-threads=1")
        .arg(&exe)
        .arg(child)
        .env("JOURNAL_MODE_CHILD_DIR", dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && text.contains("1 passed"), "{text}");
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[cfg(unix)]
#[test]
fn the_journal_and_its_wal_and_shm_are_0600_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    run_with_umask_zero("child_open_and_write_under_umask_zero", dir.path());
    let base = dir.path().join("journal.sqlite3");
    assert_eq!(mode(&base), 0o600);
    // The child keeps its journal open while it checks -wal and -shm; they are gone or 0600.
    for suffix in ["-wal", "-shm"] {
        let side = dir.path().join(format!("journal.sqlite3{suffix}"));
        if side.exists() {
            assert_eq!(mode(&side), 0o600, "{suffix}");
        }
    }
}

#[cfg(unix)]
#[test]
fn child_open_and_write_under_umask_zero() {
    let Some(dir) = std::env::var_os("JOURNAL_MODE_CHILD_DIR") else {
        return;
    };
    let path = std::path::Path::new(&dir).join("journal.sqlite3");
    let journal = Journal::open(&path).unwrap();
    journal.record_intent(&common::order(1)).unwrap();
    for name in [
        "journal.sqlite3",
        "journal.sqlite3-wal",
        "journal.sqlite3-shm",
    ] {
        let p = std::path::Path::new(&dir).join(name);
        assert!(p.exists(), "{name} exists while the journal is open");
        assert_eq!(mode(&p), 0o600, "{name} under umask 0");
    }
}

#[cfg(unix)]
#[test]
fn a_journal_left_readable_by_others_is_narrowed_when_opened() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite3");
    {
        let journal = Journal::open(&path).unwrap();
        journal.record_intent(&common::order(1)).unwrap();
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let journal = Journal::open(&path).unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(journal.list(&OrderQuery::default()).unwrap().items.len(), 1);
}

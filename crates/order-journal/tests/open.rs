//! Opening: file and memory, migrations, refusal of newer or foreign files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

mod common;

use order_journal::{Journal, JournalError, OrderQuery};

#[test]
fn a_new_file_is_created_in_wal_mode_and_migrated_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    let j = Journal::open(&path).unwrap();
    assert_eq!(j.schema_version().unwrap(), 2);
    assert_eq!(j.path(), Some(path.as_path()));
    j.record_intent(&common::order(1)).unwrap();
    drop(j);
    // Reopening applies nothing twice and keeps the data.
    let j = Journal::open(&path).unwrap();
    assert_eq!(j.schema_version().unwrap(), 2);
    assert_eq!(j.list(&OrderQuery::default()).unwrap().items.len(), 1);
    let c = rusqlite::Connection::open(&path).unwrap();
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let applied: i64 = c
        .query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(applied, 2);
}

#[test]
fn a_schema_1_journal_is_migrated_to_2_with_its_orders() {
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
    assert_eq!(j.schema_version().unwrap(), 2);
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
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (7, '0007_future', 0)",
        [],
    )
    .unwrap();
    drop(c);
    let err = Journal::open(&path).unwrap_err();
    match &err {
        JournalError::NewerSchema { found, known } => assert_eq!((*found, *known), (7, 2)),
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

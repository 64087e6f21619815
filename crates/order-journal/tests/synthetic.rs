//! The synthetic journal the benchmarks use is a journal like any other: its consumer search
//! index holds every order (it is filled per batch, not by its trigger), and the trigger is back
//! for the orders written after it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

mod common;

use std::time::Duration;

use order_journal::{Journal, Timestamp, synthetic};

/// More orders than one bulk transaction holds, so the index is filled in two batches.
const ORDERS: u64 = 50_100;

/// The orders whose consumer id holds `?1` (lower case, at most 16 characters), from the search
/// index.
const INDEXED: &str = "SELECT DISTINCT id FROM orders_consumer_suffix
                       WHERE suffix >= ?1 AND suffix < ?1 || '~'";

fn ids(c: &rusqlite::Connection, sql: &str, arg: &str) -> Vec<i64> {
    let mut stmt = c.prepare(sql).unwrap();
    let mut ids: Vec<i64> = stmt
        .query_map([arg], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    ids.sort_unstable();
    ids
}

#[test]
fn the_consumer_search_index_holds_every_generated_order_and_keeps_its_trigger() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    let j = Journal::open(&path).unwrap();
    synthetic::generate(
        &j,
        ORDERS,
        7,
        Timestamp::from_millis(1_795_564_800_000),
        Duration::from_secs(30 * 86_400),
    )
    .unwrap();

    let c = rusqlite::Connection::open(&path).unwrap();
    let orders: i64 = c
        .query_row("SELECT count(*) FROM orders", [], |r| r.get(0))
        .unwrap();
    assert_eq!(orders, i64::try_from(ORDERS).unwrap());
    // This also checks the index against the orders table, entry by entry.
    assert_eq!(j.integrity_check().unwrap(), Vec::<String>::new());
    // The first order's and the last one's consumer (one per batch), parts of them, and parts
    // of ids spread over both batches.
    let consumer = |id: i64| -> String {
        c.query_row("SELECT consumer_id FROM orders WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .unwrap()
    };
    let (first, last) = (consumer(1), consumer(i64::try_from(ORDERS).unwrap()));
    for part in [&first, &last, &first[2..7], &last[4..], "C0000", "1234"] {
        let found = ids(&c, INDEXED, &part.to_ascii_lowercase());
        let scanned = ids(
            &c,
            "SELECT id FROM orders WHERE consumer_id LIKE '%' || ?1 || '%'",
            part,
        );
        assert!(!scanned.is_empty(), "{part}: the data should hold it");
        assert_eq!(found, scanned, "{part}");
    }

    // An order written after the bulk insert is indexed by the trigger again.
    j.record_intent(&common::order(1)).unwrap();
    let found = ids(&c, INDEXED, "cust00001");
    assert_eq!(found.len(), 1);
    assert_eq!(j.integrity_check().unwrap(), Vec::<String>::new());
}

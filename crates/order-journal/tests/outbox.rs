//! The ledger's outbox: every change queued with its order change, numbered without gaps,
//! self-contained, removed only once acknowledged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

mod common;

use common::*;
use order_journal::{ForeignChange, Journal, OperationStatus, OrderState};

fn life(j: &Journal, i: u32) {
    j.record_intent(&order(i)).unwrap();
    j.mark_sending(&card(i)).unwrap();
    j.record_accepted(&card(i), &op(&format!("op-{i}")))
        .unwrap();
    j.record_production_status(
        &card(i),
        "CARD_PROD_DONE",
        OperationStatus::Successful,
        None,
    )
    .unwrap();
}

#[test]
fn every_change_is_queued_in_order_with_what_the_ledger_needs() {
    let (j, clock) = mem();
    life(&j, 1);
    clock.advance(1000);
    j.record_intent(&order(2)).unwrap();
    j.mark_sending(&card(2)).unwrap();
    j.record_not_sent(&card(2), "not sent: connection").unwrap();
    j.mark_sending(&card(2)).unwrap();
    j.record_rejected(&card(2), "FIELD_INVALID_VALUE", "refused")
        .unwrap();

    let events = j.outbox_after(0, 100).unwrap();
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=9).collect::<Vec<_>>(), "no gaps");
    let states: Vec<OrderState> = events.iter().map(|e| e.state).collect();
    use OrderState::*;
    assert_eq!(
        states,
        [
            Intent, Sending, Accepted, Done, Intent, Sending, Intent, Sending, Rejected
        ]
    );
    let intent = events[0]
        .intent
        .as_ref()
        .expect("the first event carries the labels");
    assert_eq!(intent.consumer_id, "CUST00001");
    assert_eq!(intent.pan_last4.as_str(), order(1).pan_last4.as_str());
    assert_eq!(events[0].operator, order(1).operator);
    assert_eq!(
        events[2].operation_id.as_ref().map(|o| o.as_str()),
        Some("op-1")
    );
    assert_eq!(events[3].d1_status.as_deref(), Some("CARD_PROD_DONE"));
    assert!(
        events[6].intent.is_none(),
        "a not-sent transition carries no labels"
    );
    assert_eq!(events[6].detail.as_deref(), Some("not sent: connection"));
    assert_eq!(events[8].error_code.as_deref(), Some("FIELD_INVALID_VALUE"));
    assert_eq!(events[4].at.as_millis(), T0 + 1000);
    // Reading in pages.
    assert_eq!(
        j.outbox_after(3, 2)
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect::<Vec<_>>(),
        [4, 5]
    );
    assert!(j.outbox_after(0, 0).is_err());
    assert!(j.outbox_after(0, 1001).is_err());
}

#[test]
fn acknowledged_changes_leave_and_numbering_never_restarts() {
    let (j, clock) = mem();
    life(&j, 1);
    let backlog = j.outbox_backlog().unwrap();
    assert_eq!((backlog.count, backlog.last_seq), (4, 4));
    assert_eq!(backlog.oldest.map(|t| t.as_millis()), Some(T0));
    assert_eq!(j.outbox_ack(2).unwrap(), 2);
    assert_eq!(j.outbox_after(0, 10).unwrap()[0].seq, 3);
    assert_eq!(j.outbox_ack(4).unwrap(), 2);
    let empty = j.outbox_backlog().unwrap();
    assert_eq!((empty.count, empty.oldest, empty.last_seq), (0, None, 4));
    clock.advance(5);
    j.record_intent(&order(2)).unwrap();
    assert_eq!(
        j.outbox_after(0, 10).unwrap()[0].seq,
        5,
        "after an empty queue, 5 — not 1"
    );
    // Acknowledging again (a replayed answer) removes nothing more.
    assert_eq!(j.outbox_ack(4).unwrap(), 0);
}

#[test]
fn a_reinstalled_desk_continues_after_what_the_ledger_holds() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(dir.path().join("j.sqlite3")).unwrap();
    j.outbox_continue_after(41).unwrap();
    j.record_intent(&order(1)).unwrap();
    assert_eq!(j.outbox_after(0, 10).unwrap()[0].seq, 42);
    j.outbox_continue_after(10).unwrap(); // never backwards
    j.mark_sending(&card(1)).unwrap();
    assert_eq!(j.outbox_after(42, 10).unwrap()[0].seq, 43);
}

#[test]
fn another_desks_order_is_queued_for_the_ledger_only() {
    let (j, _) = mem();
    let seq = j
        .queue_foreign(&ForeignChange {
            card_id: cid("their-card"),
            operator: "supervisor".into(),
            state: OrderState::InProduction,
            d1_status: Some("CARD_PROD_READY".into()),
            operation_id: Some(op("op-9")),
            error_code: None,
            error_message: None,
            detail: Some(format!("refreshed; pan {CANARY}")),
        })
        .unwrap();
    assert_eq!(seq, 1);
    let e = &j.outbox_after(0, 1).unwrap()[0];
    assert_eq!(e.card_id, "their-card");
    assert!(
        !e.detail.as_deref().unwrap().contains(CANARY),
        "free text scrubbed"
    );
    assert!(
        j.detail(&cid("their-card")).is_err(),
        "not an order of this journal"
    );
    let refused = j.queue_foreign(&ForeignChange {
        card_id: cid(CANARY),
        operator: "supervisor".into(),
        state: OrderState::Done,
        d1_status: None,
        operation_id: None,
        error_code: None,
        error_message: None,
        detail: None,
    });
    assert!(refused.is_err(), "a PAN-shaped card id is refused");
}

#[test]
fn history_written_before_the_outbox_is_queued_when_the_journal_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.sqlite3");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(include_str!("../migrations/0001_init.sql"))
            .unwrap();
        c.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,
                 applied_at INTEGER NOT NULL) STRICT;
             INSERT INTO schema_migrations VALUES (1, '0001_init', 0);
             INSERT INTO orders (id, created_at, operator, consumer_id, product_id, station_id,
                 issuance_type, pan_last4, card_id, issuer_request_id, correlation_id,
                 operation_id, state, d1_status, error_code, error_message, updated_at)
             VALUES (1, 10, 'ana', 'C1', 'P', 'S', 'CREATION', '1234', 'card-1', 'req-1',
                 'corr-1', 'op-1', 'failed', 'CARD_PROD_EXCEPTION', 'CARD_PROD_EXCEPTION',
                 'printer jam', 40);
             INSERT INTO order_events (order_id, at, state) VALUES (1, 10, 'intent');
             INSERT INTO order_events (order_id, at, state) VALUES (1, 20, 'sending');
             INSERT INTO order_events (order_id, at, state, detail)
                 VALUES (1, 30, 'accepted', 'operation op-1');
             INSERT INTO order_events (order_id, at, state, d1_status, detail)
                 VALUES (1, 40, 'failed', 'CARD_PROD_EXCEPTION', 'printer jam');",
        )
        .unwrap();
    }
    let j = Journal::open(&path).unwrap();
    let events = j.outbox_after(0, 10).unwrap();
    assert_eq!(events.len(), 4);
    assert!(events[0].intent.is_some() && events[1..].iter().all(|e| e.intent.is_none()));
    assert_eq!(
        events[0].intent.as_ref().unwrap().pan_last4.as_str(),
        "1234"
    );
    assert_eq!(events[1].operation_id, None, "not known while sending");
    assert_eq!(
        events[2].operation_id.as_ref().map(|o| o.as_str()),
        Some("op-1")
    );
    assert_eq!(events[3].error_message.as_deref(), Some("printer jam"));
    j.record_intent(&order(2)).unwrap();
    assert_eq!(j.outbox_backlog().unwrap().last_seq, 5);
}

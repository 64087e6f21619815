//! Spoiled cards and reissues in the journal: only a finished order, once, with a reason from
//! the list; the report and the reissue's link go to the ledger through the outbox, whose
//! numbering survives the migration that made room for them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

mod common;

use common::*;
use order_journal::{
    ForeignSpoiled, Journal, JournalError, OperationStatus, OrderState, PanLast4, Timestamp,
};

fn done(j: &Journal, i: u32) {
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

fn rule(e: JournalError) -> &'static str {
    match e {
        JournalError::SpoiledRule { reason, .. } => reason,
        other => panic!("expected a spoiled-card rule, got {other:?}"),
    }
}

#[test]
fn a_finished_orders_card_is_reported_spoiled_once_and_queued_with_its_last_4() {
    let (j, clock) = mem();
    done(&j, 1);
    clock.advance(60_000);
    j.record_spoiled(&card(1), "jane", "misprint").unwrap();

    let links = j.counter_links(&card(1)).unwrap();
    assert_eq!(
        links.spoiled,
        Some((Timestamp::from_millis(T0 + 60_000), "misprint".to_owned()))
    );
    let detail = j.detail(&card(1)).unwrap();
    assert_eq!(detail.order.state, OrderState::Done, "the order stays done");
    let last = detail.history.last().unwrap();
    assert_eq!(
        last.detail.as_deref(),
        Some("spoiled: misprint (reported by jane)")
    );

    let events = j.outbox_after(0, 100).unwrap();
    let report = events.last().unwrap();
    assert_eq!(report.seq, 5, "numbered after the order's four changes");
    assert_eq!(report.operator, "jane");
    assert_eq!(report.state, OrderState::Done);
    let spoiled = report.spoiled.as_ref().unwrap();
    assert_eq!(spoiled.reason_code, "misprint");
    assert_eq!(spoiled.pan_last4, order(1).pan_last4);
    assert!(report.intent.is_none());

    let e = j.record_spoiled(&card(1), "bob", "damaged").unwrap_err();
    assert!(rule(e).contains("already"));
    assert_eq!(j.outbox_after(5, 10).unwrap().len(), 0, "nothing queued");
}

#[test]
fn an_unfinished_or_refused_order_unknown_card_or_bad_reason_is_refused() {
    let (j, _clock) = mem();
    j.record_intent(&order(1)).unwrap();
    j.mark_sending(&card(1)).unwrap();
    j.record_accepted(&card(1), &op("op-1")).unwrap();
    let e = j.record_spoiled(&card(1), "jane", "misprint").unwrap_err();
    assert!(rule(e).contains("finished"));
    j.record_intent(&order(2)).unwrap();
    j.mark_sending(&card(2)).unwrap();
    j.record_rejected(&card(2), "FIELD_INVALID_VALUE", "no")
        .unwrap();
    let e = j.record_spoiled(&card(2), "jane", "misprint").unwrap_err();
    assert!(
        rule(e).contains("finished"),
        "D1 refused it: no card was drawn"
    );
    // A production exception: a card may have been drawn.
    j.record_intent(&order(3)).unwrap();
    j.mark_sending(&card(3)).unwrap();
    j.record_accepted(&card(3), &op("op-3")).unwrap();
    j.record_production_status(
        &card(3),
        "CARD_PROD_EXCEPTION",
        OperationStatus::Failed,
        Some("ribbon"),
    )
    .unwrap();
    j.record_spoiled(&card(3), "jane", "damaged").unwrap();

    let e = j
        .record_spoiled(&cid("card-none"), "jane", "misprint")
        .unwrap_err();
    assert!(matches!(e, JournalError::NotFound { .. }), "{e}");
    done(&j, 4);
    for (operator, reason, field) in [
        ("jane", "Misprint", "reason_code"),
        ("jane", "", "reason_code"),
        ("jane", "wrong data", "reason_code"),
        ("", "misprint", "operator"),
        (CANARY, "misprint", "operator"),
    ] {
        match j.record_spoiled(&card(4), operator, reason).unwrap_err() {
            JournalError::InvalidInput { field: f, .. } => assert_eq!(f, field),
            other => panic!("{other:?}"),
        }
    }
    let before = j.outbox_backlog().unwrap().last_seq;
    assert_eq!(j.outbox_after(before, 10).unwrap().len(), 0);
}

#[test]
fn a_reissue_is_linked_to_its_spoiled_original_and_queued_with_the_link() {
    let (j, _clock) = mem();
    done(&j, 1);
    // Not spoiled yet: no reissue.
    let e = j.record_reissue_intent(&order(2), &card(1)).unwrap_err();
    assert!(rule(e).contains("report it spoiled first"));
    let e = j.record_reissue_intent(&order(2), &card(2)).unwrap_err();
    assert!(rule(e).contains("itself"));
    let e = j
        .record_reissue_intent(&order(2), &cid(CANARY))
        .unwrap_err();
    assert!(matches!(
        e,
        JournalError::InvalidInput {
            field: "reissue_of",
            ..
        }
    ));
    assert!(j.detail(&card(2)).is_err(), "nothing was recorded");

    j.record_spoiled(&card(1), "jane", "wrong_data").unwrap();
    j.record_reissue_intent(&order(2), &card(1)).unwrap();
    assert_eq!(j.counter_links(&card(2)).unwrap().reissue_of, Some(card(1)));
    assert_eq!(j.counter_links(&card(1)).unwrap().reissued_by, [card(2)]);
    let intent = j.outbox_after(5, 10).unwrap().remove(0);
    assert_eq!(intent.card_id, card(2));
    assert_eq!(intent.intent.unwrap().reissue_of, Some(card(1)));
    // Another desk's order (not in this journal): the ledger checks it.
    j.record_reissue_intent(&order(3), &cid("card-of-desk-2"))
        .unwrap();
    assert!(j.counter_links(&cid("card-none")).is_err());
}

#[test]
fn another_desks_spoiled_card_is_queued_for_the_ledger_only() {
    let (j, _clock) = mem();
    let report = ForeignSpoiled {
        card_id: cid("card-of-desk-2"),
        operator: "sup".into(),
        state: OrderState::Done,
        reason_code: "test_card".into(),
        pan_last4: PanLast4::new("5556").unwrap(),
    };
    j.queue_foreign_spoiled(&report).unwrap();
    let queued = j.outbox_after(0, 10).unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].spoiled.as_ref().unwrap().reason_code, "test_card");
    assert!(
        j.detail(&cid("card-of-desk-2")).is_err(),
        "not a journal order"
    );
    let mut busy = report.clone();
    busy.state = OrderState::InProduction;
    assert!(j.queue_foreign_spoiled(&busy).is_err());
    let mut bad = report;
    bad.reason_code = "Test".into();
    assert!(j.queue_foreign_spoiled(&bad).is_err());
}

#[test]
fn the_outbox_numbering_continues_across_the_migration_even_when_it_was_empty() {
    // A schema-4 journal whose outbox handed events 1..=3 to the ledger and is now empty.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    let c = rusqlite::Connection::open(&path).unwrap();
    for sql in [
        include_str!("../migrations/0001_init.sql"),
        include_str!("../migrations/0002_no_record_identity.sql"),
        include_str!("../migrations/0003_ledger_outbox.sql"),
        include_str!("../migrations/0004_cold_indexes.sql"),
    ] {
        c.execute_batch(sql).unwrap();
    }
    c.execute_batch(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,
             applied_at INTEGER NOT NULL) STRICT;
         INSERT INTO schema_migrations VALUES (1, '0001_init', 0), (2, '0002_no_record_identity', 0),
             (3, '0003_ledger_outbox', 0), (4, '0004_cold_indexes', 0);
         INSERT INTO ledger_outbox (at, card_id, operator, kind, state) VALUES
             (1, 'a', 'op', 'transition', 'sending'), (2, 'a', 'op', 'transition', 'done'),
             (3, 'b', 'op', 'transition', 'done');
         DELETE FROM ledger_outbox;",
    )
    .unwrap();
    drop(c);

    let j = Journal::open(&path).unwrap();
    assert_eq!(j.schema_version().unwrap(), 7);
    assert_eq!(j.outbox_backlog().unwrap().last_seq, 3);
    j.record_intent(&order(1)).unwrap();
    assert_eq!(j.outbox_after(0, 10).unwrap()[0].seq, 4);
    assert!(j.integrity_check().unwrap().is_empty());
}

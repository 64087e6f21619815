//! The write API: every call with valid, boundary and invalid input, and the transition rules.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

mod common;

use common::{CANARY, T0, card, cid, mem, op, order};
use desk_domain::{CardId, ConsumerId, CorrelationId, IssuerRequestId};
use order_journal::{
    JournalError, NewOrder, OperationStatus, OrderState, PanLast4, sanitize::REMOVED,
};

fn state(j: &order_journal::Journal, i: u32) -> OrderState {
    j.detail(&card(i)).unwrap().order.state
}

#[test]
fn pan_last4_accepts_exactly_four_ascii_digits() {
    assert_eq!(PanLast4::new("0000").unwrap().as_str(), "0000");
    assert_eq!(PanLast4::new("5556").unwrap().masked(), "•••• 5556");
    for bad in [
        "",
        "1",
        "123",
        "12345",
        CANARY,
        "12a4",
        " 123",
        "123 ",
        "١٢٣٤",
        "１２３４",
        "-123",
    ] {
        let err = PanLast4::new(bad).unwrap_err();
        assert_eq!(
            (err.path.as_str(), err.code),
            ("panLast4", desk_domain::FieldErrorCode::Pattern),
            "{bad:?}"
        );
    }
    assert!(PanLast4::try_from("9999").is_ok());
}

#[test]
fn record_intent_stores_every_field_and_a_first_history_entry() {
    let (j, _) = mem();
    let id = j.record_intent(&order(1)).unwrap();
    let d = j.detail(&card(1)).unwrap();
    let o = &d.order;
    assert_eq!(o.id, id);
    assert_eq!(o.created_at.as_millis(), T0);
    assert_eq!(o.updated_at.as_millis(), T0);
    assert_eq!(o.operator, "teller1");
    assert_eq!(o.consumer_id.as_str(), "CUST00001");
    assert_eq!(o.product_id, "PRODUCT_1");
    assert_eq!(o.station_id, "STATION-1");
    assert_eq!(o.issuance_type, "REPLACEMENT");
    assert_eq!(o.pan_last4.as_str(), "0037");
    assert_eq!(o.issuer_request_id.as_str(), "req-00001");
    assert_eq!(o.correlation_id.as_str(), "corr-00001");
    assert_eq!(o.operation_id, None);
    assert_eq!(o.state, OrderState::Intent);
    assert_eq!(o.d1_status, None);
    assert_eq!(d.history.len(), 1);
    assert_eq!(d.history[0].state, OrderState::Intent);
}

#[test]
fn record_intent_boundary_lengths_are_accepted() {
    let (j, _) = mem();
    let o = NewOrder {
        operator: "o".repeat(256),
        consumer_id: ConsumerId::parse("c".repeat(64)).unwrap(),
        product_id: "p".repeat(128),
        station_id: "s".repeat(128),
        issuance_type: "i".repeat(128),
        pan_last4: PanLast4::new("0000").unwrap(),
        card_id: cid(&"k".repeat(48)),
        issuer_request_id: IssuerRequestId::parse("r".repeat(64)).unwrap(),
        correlation_id: CorrelationId::parse("x".repeat(64)).unwrap(),
    };
    j.record_intent(&o).unwrap();
    let min = NewOrder {
        operator: "o".into(),
        consumer_id: ConsumerId::parse("c").unwrap(),
        product_id: "p".into(),
        station_id: "s".into(),
        issuance_type: "i".into(),
        pan_last4: PanLast4::new("9999").unwrap(),
        card_id: cid("k"),
        issuer_request_id: IssuerRequestId::parse("r").unwrap(),
        correlation_id: CorrelationId::parse("x").unwrap(),
    };
    j.record_intent(&min).unwrap();
    assert_eq!(j.detail(&cid("k")).unwrap().order.consumer_id.as_str(), "c");
}

#[test]
fn record_intent_refuses_each_invalid_field_by_name() {
    let (j, _) = mem();
    type Edit = fn(&mut NewOrder);
    let cases: &[(&str, Edit)] = &[
        ("operator", |o| o.operator = String::new()),
        ("operator", |o| o.operator = "o".repeat(257)),
        ("operator", |o| o.operator = "a\nb".into()),
        ("product_id", |o| o.product_id = "  ".into()),
        ("product_id", |o| o.product_id = "p".repeat(129)),
        ("station_id", |o| o.station_id = String::new()),
        ("station_id", |o| o.station_id = "tab\there".into()),
        ("issuance_type", |o| o.issuance_type = String::new()),
    ];
    for (field, edit) in cases {
        let mut o = order(7);
        edit(&mut o);
        match j.record_intent(&o) {
            Err(JournalError::InvalidInput { field: f, .. }) => assert_eq!(f, *field),
            other => panic!("{field}: expected InvalidInput, got {other:?}"),
        }
    }
    assert!(j.in_flight().unwrap().is_empty(), "nothing was stored");
    // Ids that are not D1 ids cannot even be made: their types refuse them, with D1's limits
    // (a card id has at most 48 characters, the others 64).
    assert!(ConsumerId::parse("").is_err());
    assert!(ConsumerId::parse("c".repeat(65)).is_err());
    assert!(ConsumerId::parse("c d").is_err());
    assert!(ConsumerId::parse("Ünïcode").is_err());
    assert!(CardId::parse("").is_err());
    assert!(CardId::parse("card/1").is_err());
    assert!(CardId::parse("k".repeat(49)).is_err());
    assert!(IssuerRequestId::parse("r r").is_err());
    assert!(CorrelationId::parse("").is_err());
}

#[test]
fn record_intent_refuses_a_duplicate_card_id_and_keeps_the_first() {
    let (j, _) = mem();
    j.record_intent(&order(1)).unwrap();
    let mut again = order(2);
    again.card_id = card(1);
    let err = j.record_intent(&again).unwrap_err();
    assert!(matches!(err, JournalError::DuplicateCardId { .. }));
    assert!(err.to_string().contains("new card id"));
    assert_eq!(j.detail(&card(1)).unwrap().order.consumer_id, "CUST00001");
}

#[test]
fn happy_path_walks_every_state_and_keeps_a_timeline() {
    let (j, clock) = mem();
    j.record_intent(&order(1)).unwrap();
    clock.advance(10);
    j.mark_sending(&card(1)).unwrap();
    clock.advance(10);
    j.record_accepted(&card(1), &op("op-1")).unwrap();
    clock.advance(10);
    let s = j
        .record_production_status(
            &card(1),
            "CARD_PROD_REQUESTED",
            OperationStatus::Pending,
            None,
        )
        .unwrap();
    assert_eq!(s, OrderState::InProduction);
    // Polling the same status again adds nothing.
    j.record_production_status(
        &card(1),
        "CARD_PROD_REQUESTED",
        OperationStatus::Pending,
        None,
    )
    .unwrap();
    clock.advance(10);
    j.record_production_status(&card(1), "CARD_PROD_READY", OperationStatus::Pending, None)
        .unwrap();
    clock.advance(10);
    let s = j
        .record_production_status(
            &card(1),
            "CARD_PROD_DONE",
            OperationStatus::Successful,
            None,
        )
        .unwrap();
    assert_eq!(s, OrderState::Done);
    let d = j.detail(&card(1)).unwrap();
    assert_eq!(d.order.operation_id, Some(op("op-1")));
    assert_eq!(d.order.d1_status.as_deref(), Some("CARD_PROD_DONE"));
    assert_eq!(d.order.updated_at.as_millis(), T0 + 50);
    let states: Vec<_> = d.history.iter().map(|h| h.state).collect();
    assert_eq!(
        states,
        [
            OrderState::Intent,
            OrderState::Sending,
            OrderState::Accepted,
            OrderState::InProduction,
            OrderState::InProduction,
            OrderState::Done
        ]
    );
    assert_eq!(d.history[4].d1_status.as_deref(), Some("CARD_PROD_READY"));
    assert!(j.in_flight().unwrap().is_empty());
}

#[test]
fn done_is_final_and_says_so() {
    let (j, _) = mem();
    j.record_intent(&order(1)).unwrap();
    j.mark_sending(&card(1)).unwrap();
    j.record_accepted(&card(1), &op("op-1")).unwrap();
    j.record_production_status(
        &card(1),
        "CARD_PROD_DONE",
        OperationStatus::Successful,
        None,
    )
    .unwrap();
    // The same final answer again (a second poll) is harmless.
    assert_eq!(
        j.record_production_status(
            &card(1),
            "CARD_PROD_DONE",
            OperationStatus::Successful,
            None
        )
        .unwrap(),
        OrderState::Done
    );
    let err = j
        .record_production_status(&card(1), "CARD_PROD_READY", OperationStatus::Pending, None)
        .unwrap_err();
    match &err {
        JournalError::InvalidTransition { from, to, .. } => {
            assert_eq!((*from, *to), (OrderState::Done, OrderState::InProduction));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("finished"), "{err}");
    assert!(j.mark_sending(&card(1)).is_err());
    assert!(j.record_abandoned(&card(1), "x").is_err());
    assert!(j.record_rejected(&card(1), "400", "x").is_err());
    assert!(j.record_outcome_unknown(&card(1), "x").is_err());
    assert_eq!(state(&j, 1), OrderState::Done);
}

#[test]
fn failure_from_production_keeps_the_reason() {
    let (j, _) = mem();
    j.record_intent(&order(1)).unwrap();
    j.mark_sending(&card(1)).unwrap();
    j.record_accepted(&card(1), &op("op-1")).unwrap();
    let s = j
        .record_production_status(
            &card(1),
            "CARD_PROD_EXCEPTION",
            OperationStatus::Failed,
            Some("printer jammed"),
        )
        .unwrap();
    assert_eq!(s, OrderState::Failed);
    let o = j.detail(&card(1)).unwrap().order;
    assert_eq!(o.error_code.as_deref(), Some("CARD_PROD_EXCEPTION"));
    assert_eq!(o.error_message.as_deref(), Some("printer jammed"));
}

#[test]
fn unknown_d1_status_values_are_stored_as_they_come() {
    let (j, _) = mem();
    j.record_intent(&order(1)).unwrap();
    j.mark_sending(&card(1)).unwrap();
    j.record_accepted(&card(1), &op("op-1")).unwrap();
    j.record_production_status(
        &card(1),
        "CARD_SHIPPED_BY_DRONE",
        OperationStatus::Pending,
        None,
    )
    .unwrap();
    let o = j.detail(&card(1)).unwrap().order;
    assert_eq!(o.d1_status.as_deref(), Some("CARD_SHIPPED_BY_DRONE"));
    assert_eq!(o.state, OrderState::InProduction);
    assert!(matches!(
        j.record_production_status(&card(1), "  ", OperationStatus::Pending, None),
        Err(JournalError::InvalidInput {
            field: "d1_status",
            ..
        })
    ));
    assert_eq!(
        OperationStatus::from_d1("PENDING"),
        Some(OperationStatus::Pending)
    );
    assert_eq!(
        OperationStatus::from_d1("SUCCESSFUL"),
        Some(OperationStatus::Successful)
    );
    assert_eq!(
        OperationStatus::from_d1("FAILED"),
        Some(OperationStatus::Failed)
    );
    assert_eq!(OperationStatus::from_d1("pending"), None);
}

#[test]
fn outcome_unknown_then_reconciled_by_production_status() {
    let (j, _) = mem();
    j.record_intent(&order(1)).unwrap();
    j.mark_sending(&card(1)).unwrap();
    j.record_outcome_unknown(&card(1), "connection reset after sending")
        .unwrap();
    // Repeating is harmless.
    j.record_outcome_unknown(&card(1), "again").unwrap();
    // A status without the operation id first is refused with what to do.
    let err = j
        .record_production_status(&card(1), "CARD_PROD_READY", OperationStatus::Pending, None)
        .unwrap_err();
    assert!(err.to_string().contains("record_accepted"), "{err}");
    j.record_accepted(&card(1), &op("op-9")).unwrap();
    j.record_production_status(&card(1), "CARD_PROD_READY", OperationStatus::Pending, None)
        .unwrap();
    let d = j.detail(&card(1)).unwrap();
    assert_eq!(d.order.state, OrderState::InProduction);
    assert_eq!(
        d.history
            .iter()
            .filter(|h| h.state == OrderState::OutcomeUnknown)
            .count(),
        1
    );
}

#[test]
fn outcome_unknown_then_not_found_resends_with_the_same_ids() {
    let (j, _) = mem();
    j.record_intent(&order(1)).unwrap();
    j.mark_sending(&card(1)).unwrap();
    j.record_outcome_unknown(&card(1), "timeout").unwrap();
    j.mark_sending(&card(1)).unwrap();
    let d = j.detail(&card(1)).unwrap();
    assert_eq!(d.order.state, OrderState::Sending);
    assert_eq!(d.order.issuer_request_id, "req-00001");
    assert_eq!(
        d.history.last().unwrap().detail.as_deref(),
        Some("resent with the same card id")
    );
}

#[test]
fn record_accepted_is_idempotent_and_refuses_a_second_operation_id() {
    let (j, _) = mem();
    j.record_intent(&order(1)).unwrap();
    // Not sent yet: refused.
    assert!(matches!(
        j.record_accepted(&card(1), &op("op-1")),
        Err(JournalError::InvalidTransition {
            from: OrderState::Intent,
            ..
        })
    ));
    j.mark_sending(&card(1)).unwrap();
    j.record_accepted(&card(1), &op("op-1")).unwrap();
    j.record_accepted(&card(1), &op("op-1")).unwrap();
    assert_eq!(j.detail(&card(1)).unwrap().history.len(), 3);
    assert!(matches!(
        j.record_accepted(&card(1), &op("op-2")),
        Err(JournalError::OperationIdMismatch { .. })
    ));
    // Not an operation id at all: the type refuses it.
    for bad in ["", "op 1", &"o".repeat(65)] {
        assert!(desk_domain::OperationId::parse(bad).is_err(), "{bad}");
    }
    // An operation id that looks like a card number is refused by the journal.
    assert!(matches!(
        j.record_accepted(&card(1), &op(CANARY)),
        Err(JournalError::InvalidInput {
            field: "operation_id",
            ..
        })
    ));
    assert!(
        j.record_accepted(&card(1), &op(&"o".repeat(64))).is_err(),
        "mismatch"
    );
    // Once accepted it can no longer be abandoned or re-sent.
    assert!(j.record_abandoned(&card(1), "x").is_err());
    let err = j.mark_sending(&card(1)).unwrap_err();
    assert!(err.to_string().contains("never send it again"), "{err}");
}

#[test]
fn rejected_keeps_code_and_message_and_is_final() {
    let (j, _) = mem();
    j.record_intent(&order(1)).unwrap();
    assert!(
        j.record_rejected(&card(1), "400", "x").is_err(),
        "not sent yet"
    );
    j.mark_sending(&card(1)).unwrap();
    j.record_rejected(
        &card(1),
        "FIELD_INVALID_FORMAT",
        "consumer.name has a bad format",
    )
    .unwrap();
    let o = j.detail(&card(1)).unwrap().order;
    assert_eq!(o.state, OrderState::Rejected);
    assert_eq!(o.error_code.as_deref(), Some("FIELD_INVALID_FORMAT"));
    assert_eq!(
        o.error_message.as_deref(),
        Some("consumer.name has a bad format")
    );
    assert!(j.mark_sending(&card(1)).is_err());
    // Empty code and message are stored as absent, not as empty strings.
    j.record_intent(&order(2)).unwrap();
    j.mark_sending(&card(2)).unwrap();
    j.record_rejected(&card(2), "", "").unwrap();
    let o = j.detail(&card(2)).unwrap().order;
    assert_eq!((o.error_code, o.error_message), (None, None));
}

#[test]
fn abandon_only_what_never_left_the_desk() {
    let (j, _) = mem();
    for i in 1..=3 {
        j.record_intent(&order(i)).unwrap();
    }
    j.record_abandoned(&card(1), "teller cancelled").unwrap();
    assert_eq!(state(&j, 1), OrderState::Abandoned);
    assert_eq!(
        j.detail(&card(1)).unwrap().order.error_message.as_deref(),
        Some("teller cancelled")
    );
    // Once it may have been sent, a 404 is not proof: the desk never abandons it.
    j.mark_sending(&card(2)).unwrap();
    j.mark_sending(&card(3)).unwrap();
    j.record_outcome_unknown(&card(3), "timeout").unwrap();
    for i in [2, 3] {
        let err = j
            .record_abandoned(&card(i), "productionStatus: 404")
            .unwrap_err();
        assert!(
            matches!(
                err,
                JournalError::InvalidTransition {
                    to: OrderState::Abandoned,
                    ..
                }
            ),
            "{err:?}"
        );
    }
    assert_eq!(state(&j, 2), OrderState::Sending);
    assert_eq!(state(&j, 3), OrderState::OutcomeUnknown);
}

#[test]
fn no_record_needs_a_person_but_a_late_answer_still_wins() {
    let (j, _) = mem();
    for i in 1..=3 {
        j.record_intent(&order(i)).unwrap();
        j.mark_sending(&card(i)).unwrap();
    }
    j.record_outcome_unknown(&card(2), "connection lost")
        .unwrap();
    j.record_no_record(&card(1), "no record after 10 minutes")
        .unwrap();
    j.record_no_record(&card(2), "no record after 10 minutes")
        .unwrap();
    j.record_no_record(&card(2), "again").unwrap(); // a no-op
    for i in [1, 2] {
        let o = j.detail(&card(i)).unwrap().order;
        assert_eq!(o.state, OrderState::NoRecord);
        assert!(!o.state.is_final());
        assert_eq!(o.error_code.as_deref(), Some("no_record"));
    }
    assert_eq!(
        j.detail(&card(2)).unwrap().history.len(),
        4,
        "the no-op added nothing"
    );
    assert!(j.in_flight().unwrap().iter().any(|o| o.card_id == card(1)));
    assert!(
        j.exceptions(&order_journal::ExceptionQuery::default())
            .unwrap()
            .iter()
            .any(|o| o.card_id == card(1)),
        "a person must look"
    );
    // D1 answers late: the order is accepted after all, and followed to the end.
    j.record_accepted(&card(1), &op("op-1")).unwrap();
    j.record_production_status(
        &card(1),
        "CARD_PROD_DONE",
        OperationStatus::Successful,
        None,
    )
    .unwrap();
    assert_eq!(state(&j, 1), OrderState::Done);
    // The same order may be sent again from the desk that still holds it.
    j.mark_sending(&card(2)).unwrap();
    assert_eq!(state(&j, 2), OrderState::Sending);
    // Neither from an order that was never sent, nor from a final or accepted one.
    j.record_intent(&order(4)).unwrap();
    for (i, from) in [(4, OrderState::Intent), (1, OrderState::Done)] {
        let err = j.record_no_record(&card(i), "x").unwrap_err();
        assert!(
            matches!(err, JournalError::InvalidTransition { from: f, .. } if f == from),
            "{err:?}"
        );
    }
    j.record_accepted(&card(3), &op("op-3")).unwrap();
    assert!(j.record_no_record(&card(3), "x").is_err());
}

#[test]
fn not_sent_returns_a_first_attempt_to_intent_and_nothing_later() {
    let (j, _) = mem();
    j.record_intent(&order(1)).unwrap();
    j.mark_sending(&card(1)).unwrap();
    j.record_not_sent(&card(1), "could not connect to D1")
        .unwrap();
    assert_eq!(state(&j, 1), OrderState::Intent);
    // It can be sent again, and fail again before leaving.
    j.mark_sending(&card(1)).unwrap();
    j.record_not_sent(&card(1), "could not connect to D1")
        .unwrap();
    // After an attempt that may have reached D1, nothing later proves it did not.
    j.mark_sending(&card(1)).unwrap();
    j.record_outcome_unknown(&card(1), "timeout").unwrap();
    j.mark_sending(&card(1)).unwrap();
    let err = j
        .record_not_sent(&card(1), "could not connect")
        .unwrap_err();
    assert!(
        matches!(err, JournalError::InvalidTransition { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("productionStatus"), "{err}");
    let err = j
        .record_rejected(&card(1), "OPERATION_NOT_ALLOWED", "refused")
        .unwrap_err();
    assert!(
        matches!(err, JournalError::InvalidTransition { .. }),
        "{err:?}"
    );
    assert_eq!(state(&j, 1), OrderState::Sending);
    // Nor from anything but sending.
    j.record_intent(&order(2)).unwrap();
    assert!(j.record_not_sent(&card(2), "x").is_err());
}

#[test]
fn unknown_or_malformed_card_ids_are_not_found() {
    let (j, _) = mem();
    // A malformed card id is not a card id: the type refuses it before any lookup.
    for bad in ["", &"k".repeat(200)] {
        assert!(CardId::parse(bad).is_err());
    }
    for c in [cid("nope"), cid(&"k".repeat(48))] {
        assert!(
            matches!(j.mark_sending(&c), Err(JournalError::NotFound { .. })),
            "{c}"
        );
        assert!(matches!(
            j.record_abandoned(&c, "x"),
            Err(JournalError::NotFound { .. })
        ));
        assert!(matches!(j.detail(&c), Err(JournalError::NotFound { .. })));
    }
    let err = j.mark_sending(&cid("nope")).unwrap_err();
    assert_eq!(err.to_string(), "no order with card id nope in the journal");
}

#[test]
fn free_text_is_scrubbed_of_long_digit_runs_and_capped() {
    let (j, _) = mem();
    j.record_intent(&order(1)).unwrap();
    j.mark_sending(&card(1)).unwrap();
    j.record_rejected(
        &card(1),
        &format!("E{CANARY}"),
        &format!(
            "card 4000 0566 5566 5556 refused, retry in 30 s\n{}",
            "x".repeat(5000)
        ),
    )
    .unwrap();
    let o = j.detail(&card(1)).unwrap().order;
    let msg = o.error_message.unwrap();
    assert!(
        msg.starts_with(&format!("card {REMOVED} refused, retry in 30 s")),
        "{msg}"
    );
    assert_eq!(msg.chars().count(), 1000);
    assert_eq!(
        o.error_code.as_deref(),
        Some(format!("E{REMOVED}").as_str())
    );
}

#[test]
fn clones_share_the_journal_across_threads() {
    let (j, _) = mem();
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let j = j.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    let n = t * 100 + i;
                    j.record_intent(&order(n)).unwrap();
                    j.mark_sending(&card(n)).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(j.in_flight().unwrap().len(), 100);
    fn assert_send_sync<T: Clone + Send + Sync + 'static>() {}
    assert_send_sync::<order_journal::Journal>();
}

//! Appending a desk's stream: acknowledgements, heartbeats, each desk's sync state, and how the
//! orders projection follows events from several desks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use branch_ledger::{BranchId, Event, LedgerError};
use common::{Server, at, cid, full_order, opid, order};
use order_journal::OrderState;

#[tokio::test]
async fn append_acknowledges_the_highest_sequence_number_and_the_projection_follows() {
    let mut ledger = Server::from_env().ledger().await;
    let desk = ledger.desk("teller", "B1").await;
    let api = desk.connect().await;
    assert_eq!(api.identity().desk_id, desk.desk_id);
    assert_eq!(api.identity().branch_id.as_str(), "B1");
    assert_eq!(api.last_seq().await.unwrap(), 0);

    let events = full_order(1, "card-1", 0);
    assert_eq!(api.append(&events[..1]).await.unwrap(), 1);
    let branch = BranchId::parse("B1").unwrap();
    let detail = api.detail(&branch, &cid("card-1")).await.unwrap();
    assert_eq!(detail.order.state, OrderState::Intent);
    assert_eq!(detail.order.desk_id, desk.desk_id);
    assert_eq!(detail.order.created_at, at(0));
    assert_eq!(detail.order.pan_last4.as_str(), "5556");
    assert_eq!(detail.order.consumer_id, "C-card-1");

    assert_eq!(api.append(&events[1..]).await.unwrap(), 4);
    let detail = api.detail(&branch, &cid("card-1")).await.unwrap();
    assert_eq!(detail.order.state, OrderState::Done);
    assert_eq!(
        detail.order.operation_id.as_ref().map(|o| o.as_str()),
        Some("op-card-1")
    );
    assert_eq!(detail.order.d1_status.as_deref(), Some("CARD_PROD_DONE"));
    assert_eq!(detail.order.updated_at, at(1));
    let states: Vec<_> = detail.history.iter().map(|h| h.state).collect();
    assert_eq!(
        states,
        [
            OrderState::Intent,
            OrderState::Sending,
            OrderState::Accepted,
            OrderState::Done
        ]
    );
    assert!(detail.history.iter().all(|h| h.desk_id == desk.desk_id));
    assert_eq!(
        detail.history.iter().map(|h| h.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert_eq!(detail.history[0].kind, "intent");
    assert!(detail.history[3].received_at >= detail.history[0].received_at);
    assert_eq!(api.last_seq().await.unwrap(), 4);
}

#[tokio::test]
async fn an_empty_append_is_a_heartbeat_and_every_desk_of_the_branch_shows_its_last_sync() {
    let mut ledger = Server::from_env().ledger().await;
    let a = ledger.desk("a", "B1").await;
    let b = ledger.desk("b", "B1").await;
    let other = ledger.desk("other", "B2").await;
    let api_a = a.connect().await;
    let api_b = b.connect().await;

    let report = api_a.desk_sync_state().await.unwrap();
    assert_eq!(report.desks.len(), 2, "only branch B1's desks");
    assert!(report.desks.iter().all(|d| d.last_sync_at.is_none()));
    assert!(
        report
            .desks
            .iter()
            .all(|d| report.since_last_sync_ms(d).is_none())
    );

    assert_eq!(api_b.append(&[]).await.unwrap(), 0);
    api_a.append(&full_order(1, "card-1", 0)).await.unwrap();
    let report = api_b.desk_sync_state().await.unwrap();
    let row = |id: &branch_ledger::DeskId| {
        report
            .desks
            .iter()
            .find(|d| &d.desk_id == id)
            .cloned()
            .unwrap()
    };
    let (sa, sb) = (row(&a.desk_id), row(&b.desk_id));
    assert_eq!(sa.last_seq, 4);
    assert_eq!(sa.last_event_at, Some(at(1)));
    assert!(sa.last_sync_at.is_some());
    assert_eq!(sb.last_seq, 0);
    assert_eq!(sb.last_event_at, None);
    let since = report.since_last_sync_ms(&sb).unwrap();
    assert!((0..60_000).contains(&since), "{since}");
    assert!(report.desks.iter().all(|d| d.desk_id != other.desk_id));

    // A later heartbeat moves last_sync_at, not last_seq.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert_eq!(api_a.append(&[]).await.unwrap(), 4);
    let later = api_a.desk_sync_state().await.unwrap();
    let a_later = later.desks.iter().find(|d| d.desk_id == a.desk_id).unwrap();
    assert_eq!(a_later.last_seq, 4);
    assert!(a_later.last_sync_at > sa.last_sync_at);
}

#[tokio::test]
async fn a_supervisors_refresh_from_another_desk_joins_the_timeline_and_a_final_state_sticks() {
    let mut ledger = Server::from_env().ledger().await;
    let teller = ledger.desk("teller", "B1").await;
    let supervisor = ledger.desk("sup", "B1").await;
    let t = teller.connect().await;
    let s = supervisor.connect().await;
    let events = full_order(1, "card-1", 0);
    t.append(&events[..3]).await.unwrap(); // accepted at minute 0

    // The supervisor's desk refreshes and learns it is done (its own stream, seq 1).
    s.append(&[
        Event::transition(1, at(5), &cid("card-1"), "boss", OrderState::Done)
            .with(|x| x.d1_status = Some("CARD_PROD_DONE".into())),
    ])
    .await
    .unwrap();
    // The teller's desk was offline and only now sends an older in-production status.
    t.append(&[
        Event::transition(4, at(3), &cid("card-1"), "jane", OrderState::InProduction)
            .with(|x| x.d1_status = Some("CARD_PROD_READY".into())),
    ])
    .await
    .unwrap();

    let detail = s
        .detail(&BranchId::parse("B1").unwrap(), &cid("card-1"))
        .await
        .unwrap();
    assert_eq!(
        detail.order.state,
        OrderState::Done,
        "a final state is never undone"
    );
    assert_eq!(detail.order.d1_status.as_deref(), Some("CARD_PROD_DONE"));
    assert_eq!(detail.order.updated_at, at(5));
    assert_eq!(
        detail.order.desk_id, teller.desk_id,
        "the order stays the teller's"
    );
    let timeline: Vec<_> = detail
        .history
        .iter()
        .map(|h| (h.desk_id.clone(), h.state, h.operator.clone()))
        .collect();
    assert_eq!(timeline.len(), 5);
    assert_eq!(
        timeline[3].1,
        OrderState::InProduction,
        "by the desks' time"
    );
    assert_eq!(
        timeline[4],
        (supervisor.desk_id.clone(), OrderState::Done, "boss".into())
    );
}

#[tokio::test]
async fn a_failure_records_its_error_and_a_later_non_final_event_leaves_it() {
    let mut ledger = Server::from_env().ledger().await;
    let desk = ledger.desk("teller", "B1").await;
    let api = desk.connect().await;
    let branch = BranchId::parse("B1").unwrap();
    api.append(&[
        Event::intent(1, at(0), &order("card-1")),
        Event::transition(2, at(0), &cid("card-1"), "jane", OrderState::Sending),
        Event::transition(3, at(1), &cid("card-1"), "jane", OrderState::Rejected).with(|t| {
            t.error_code = Some("FIELD_INVALID_FORMAT".into());
            t.error_message = Some("the consumer id is not valid".into());
            t.detail = Some("the consumer id is not valid".into());
        }),
        // A late duplicate of "sending" by the same desk's clock: history only.
        Event::transition(4, at(0), &cid("card-1"), "jane", OrderState::Sending),
    ])
    .await
    .unwrap();
    let detail = api.detail(&branch, &cid("card-1")).await.unwrap();
    assert_eq!(detail.order.state, OrderState::Rejected);
    assert_eq!(
        detail.order.error_code.as_deref(),
        Some("FIELD_INVALID_FORMAT")
    );
    assert_eq!(
        detail.order.error_message.as_deref(),
        Some("the consumer id is not valid")
    );
    assert_eq!(detail.history.len(), 4);

    // An operation id carried by an older event is still learned.
    api.append(&[
        Event::intent(5, at(10), &order("card-2")),
        Event::transition(
            6,
            at(12),
            &cid("card-2"),
            "jane",
            OrderState::OutcomeUnknown,
        ),
        Event::transition(7, at(11), &cid("card-2"), "jane", OrderState::Accepted)
            .with(|t| t.operation_id = Some(opid("op-2"))),
    ])
    .await
    .unwrap();
    let detail = api.detail(&branch, &cid("card-2")).await.unwrap();
    assert_eq!(detail.order.state, OrderState::OutcomeUnknown);
    assert_eq!(
        detail.order.operation_id.as_ref().map(|o| o.as_str()),
        Some("op-2")
    );
}

#[tokio::test]
async fn refusals_of_the_stream_are_typed_and_say_what_to_do() {
    let mut ledger = Server::from_env().ledger().await;
    let desk = ledger.desk("teller", "B1").await;
    let api = desk.connect().await;
    api.append(&full_order(1, "card-1", 0)).await.unwrap();

    let e = api
        .append(&[Event::intent(5, at(3), &order("card-1"))])
        .await
        .unwrap_err();
    assert!(matches!(e, LedgerError::DuplicateOrder(_)), "{e}");
    assert!(e.to_string().contains("new card id"), "{e}");

    let e = api
        .append(&[Event::transition(
            5,
            at(3),
            &cid("card-404"),
            "jane",
            OrderState::Done,
        )])
        .await
        .unwrap_err();
    assert!(matches!(e, LedgerError::UnknownOrder(_)), "{e}");
    assert!(e.to_string().contains("append its intent first"), "{e}");
    assert!(!e.is_transient());

    // Checked before sending: nothing reaches the server.
    let e = api
        .append(&[Event::transition(
            0,
            at(3),
            &cid("card-1"),
            "jane",
            OrderState::Done,
        )])
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            LedgerError::InvalidEvent {
                seq: 0,
                field: "seq",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(api.last_seq().await.unwrap(), 4);

    let e = api
        .detail(&BranchId::parse("B1").unwrap(), &cid("card-404"))
        .await
        .unwrap_err();
    assert!(matches!(e, LedgerError::NotFound { .. }), "{e}");
    // An id longer than D1's cannot even be asked for: its type refuses it.
    assert!(desk_domain::CardId::parse("x".repeat(65)).is_err());
}

#[tokio::test]
async fn a_thousand_events_append_in_one_call_and_two_connections_of_one_desk_do_not_interleave() {
    let mut ledger = Server::from_env().ledger().await;
    let desk = ledger.desk("teller", "B1").await;
    let api = desk.connect().await;
    let events: Vec<Event> = (0..250)
        .flat_map(|i| full_order(i * 4 + 1, &format!("card-{i}"), i))
        .collect();
    assert_eq!(events.len(), 1000);
    assert_eq!(api.append(&events).await.unwrap(), 1000);

    // Two connections of the same desk send the same next events at once: both acknowledge,
    // the ledger holds them once.
    let second = desk.connect().await;
    let next: Vec<Event> = full_order(1001, "card-x", 999);
    let (r1, r2) = tokio::join!(api.append(&next), second.append(&next));
    assert_eq!(r1.unwrap(), 1004);
    assert_eq!(r2.unwrap(), 1004);
    let count: i64 = ledger
        .admin_sql()
        .await
        .query_one("SELECT count(*) FROM ledger.order_events", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 1004);
}

#[tokio::test]
async fn a_not_sent_attempt_and_no_record_follow_the_journals_order_truth() {
    let mut ledger = Server::from_env().ledger().await;
    let desk = ledger.desk("truth", "B1").await;
    let api = desk.connect().await;
    let branch = BranchId::parse("B1").unwrap();
    let intent = full_order(1, "card-t", 0).remove(0);
    let events = [
        intent,
        Event::transition(2, at(1), &cid("card-t"), "jane", OrderState::Sending),
        // The attempt certainly did not leave the desk: back to intent.
        Event::transition(3, at(2), &cid("card-t"), "jane", OrderState::Intent)
            .with(|t| t.detail = Some("not sent: connection".into())),
        Event::transition(4, at(3), &cid("card-t"), "jane", OrderState::Sending),
        Event::transition(5, at(4), &cid("card-t"), "jane", OrderState::OutcomeUnknown),
        Event::transition(6, at(5), &cid("card-t"), "jane", OrderState::NoRecord)
            .with(|t| t.error_code = Some("no_record".into())),
    ];
    assert_eq!(api.append(&events).await.unwrap(), 6);
    let detail = api.detail(&branch, &cid("card-t")).await.unwrap();
    assert_eq!(detail.order.state, OrderState::NoRecord);
    assert_eq!(detail.history[2].state, OrderState::Intent);
    assert_eq!(detail.history[2].kind, "transition");
    // No record is not final: D1's late answer still wins.
    let late = [
        Event::transition(7, at(6), &cid("card-t"), "jane", OrderState::Accepted)
            .with(|t| t.operation_id = Some(opid("op-late"))),
    ];
    assert_eq!(api.append(&late).await.unwrap(), 7);
    let detail = api.detail(&branch, &cid("card-t")).await.unwrap();
    assert_eq!(detail.order.state, OrderState::Accepted);
    assert_eq!(
        detail.order.operation_id.as_ref().map(|o| o.as_str()),
        Some("op-late")
    );
}

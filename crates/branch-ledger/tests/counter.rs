//! Spoiled cards and reissues, exceptions that get resolved, counter time and the end-of-day
//! balance, on the real server: each rule the ledger enforces is tried and refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use branch_ledger::{CaseEventKind, Event, LedgerError, Rule, Scope, Spoiled};
use common::{Server, at, cid, full_order, order};
use order_journal::{ExceptionQuery, OrderState, PanLast4, TimeRange, Timestamp};

fn refused(e: &LedgerError) -> Rule {
    match e {
        LedgerError::Refused { rule, .. } => *rule,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn spoiled(reason: &str, last4: &str) -> Spoiled {
    Spoiled {
        state: OrderState::Done,
        reason_code: reason.into(),
        pan_last4: PanLast4::new(last4).unwrap(),
    }
}

fn sqlstate(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map(|d| d.code().code().to_owned())
        .unwrap_or_else(|| format!("not a server error: {e}"))
}

#[tokio::test]
async fn a_spoiled_card_is_recorded_and_its_reissue_linked_to_it() {
    let mut ledger = Server::from_env().ledger().await;
    let desk = ledger.desk("teller", "B1").await;
    let d = desk.connect().await;
    d.append(&full_order(1, "card-1", 0)).await.unwrap();
    d.append(&[Event::spoiled(
        5,
        at(2),
        &cid("card-1"),
        "jane",
        spoiled("misprint", "5556"),
    )])
    .await
    .unwrap();

    let detail = d.detail(&desk.branch_id, &cid("card-1")).await.unwrap();
    assert_eq!(detail.order.state, OrderState::Done, "the state is kept");
    assert_eq!(detail.spoiled, Some((at(2), "misprint".to_owned())));
    let event = detail.history.last().unwrap();
    assert_eq!(event.kind, "spoiled");
    assert_eq!(event.operator, "jane");
    assert_eq!(event.reason_code.as_deref(), Some("misprint"));
    assert_eq!(event.at, at(2));

    // The reissue: a new order naming the spoiled one.
    d.append(&[Event::intent(6, at(3), &order("card-2")).reissuing(&cid("card-1"))])
        .await
        .unwrap();
    let new = d.detail(&desk.branch_id, &cid("card-2")).await.unwrap();
    assert_eq!(new.reissue_of, Some(cid("card-1")));
    let old = d.detail(&desk.branch_id, &cid("card-1")).await.unwrap();
    assert_eq!(old.reissued_by, ["card-2"]);

    // A replay of the spoiled event changes nothing.
    d.append(&[Event::spoiled(
        5,
        at(2),
        &cid("card-1"),
        "jane",
        spoiled("misprint", "5556"),
    )])
    .await
    .unwrap();
    let e = d
        .append(&[Event::spoiled(
            5,
            at(2),
            &cid("card-1"),
            "jane",
            spoiled("damaged", "5556"),
        )])
        .await
        .unwrap_err();
    assert!(matches!(e, LedgerError::Conflict(_)), "{e}");
}

#[tokio::test]
async fn only_a_finished_order_is_spoiled_once_and_a_reissue_needs_a_spoiled_original() {
    let mut ledger = Server::from_env().ledger().await;
    let desk = ledger.desk("teller", "B1").await;
    let stranger = ledger.desk("stranger", "B2").await;
    let d = desk.connect().await;
    d.append(&full_order(1, "card-done", 0)).await.unwrap();
    d.append(&full_order(5, "card-busy", 0)[..3]).await.unwrap();
    d.append(&[
        Event::intent(8, at(0), &order("card-rej")),
        Event::transition(9, at(0), &cid("card-rej"), "jane", OrderState::Rejected),
        Event::intent(10, at(0), &order("card-fail")),
        Event::transition(11, at(0), &cid("card-fail"), "jane", OrderState::Failed)
            .with(|t| t.d1_status = Some("CARD_PROD_EXCEPTION".into())),
    ])
    .await
    .unwrap();
    let next = 12;

    // In production, or rejected by D1 (no card was drawn): not finished for this purpose.
    let mut busy = spoiled("damaged", "5556");
    busy.state = OrderState::Done; // the desk may believe so; the ledger decides
    let e = d
        .append(&[Event::spoiled(next, at(1), &cid("card-busy"), "jane", busy)])
        .await
        .unwrap_err();
    assert_eq!(refused(&e), Rule::NotFinished);
    let e = d
        .append(&[Event::spoiled(
            next,
            at(1),
            &cid("card-rej"),
            "jane",
            spoiled("damaged", "5556"),
        )])
        .await
        .unwrap_err();
    assert_eq!(refused(&e), Rule::NotFinished);
    // Unknown order, another branch's order.
    let e = d
        .append(&[Event::spoiled(
            next,
            at(1),
            &cid("card-x"),
            "jane",
            spoiled("damaged", "5556"),
        )])
        .await
        .unwrap_err();
    assert!(matches!(e, LedgerError::UnknownOrder(_)), "{e}");
    stranger
        .connect()
        .await
        .append(&full_order(1, "card-b2", 0))
        .await
        .unwrap();
    let e = d
        .append(&[Event::spoiled(
            next,
            at(1),
            &cid("card-b2"),
            "jane",
            spoiled("damaged", "5556"),
        )])
        .await
        .unwrap_err();
    assert!(matches!(e, LedgerError::UnknownOrder(_)), "{e}");
    // Not this order's last 4.
    let e = d
        .append(&[Event::spoiled(
            next,
            at(1),
            &cid("card-done"),
            "jane",
            spoiled("damaged", "1234"),
        )])
        .await
        .unwrap_err();
    assert!(matches!(e, LedgerError::InvalidEvent { .. }), "{e}");
    assert_eq!(
        d.last_seq().await.unwrap(),
        next - 1,
        "nothing of a refused batch is kept"
    );

    // A failed production (a card may have been drawn) and a done order: spoiled once each.
    let mut failed = spoiled("damaged", "5556");
    failed.state = OrderState::Failed;
    d.append(&[
        Event::spoiled(next, at(1), &cid("card-fail"), "jane", failed),
        Event::spoiled(
            next + 1,
            at(1),
            &cid("card-done"),
            "jane",
            spoiled("wrong_data", "5556"),
        ),
    ])
    .await
    .unwrap();
    let e = d
        .append(&[Event::spoiled(
            next + 2,
            at(2),
            &cid("card-done"),
            "bob",
            spoiled("damaged", "5556"),
        )])
        .await
        .unwrap_err();
    assert_eq!(refused(&e), Rule::AlreadySpoiled);

    // A reissue must replace a spoiled order of the same branch.
    for original in ["card-busy", "card-rej", "card-nothing", "card-b2"] {
        let e = d
            .append(&[Event::intent(next + 2, at(3), &order("card-new")).reissuing(&cid(original))])
            .await
            .unwrap_err();
        assert_eq!(refused(&e), Rule::NotSpoiled, "{original}");
    }
    d.append(&[Event::intent(next + 2, at(3), &order("card-new")).reissuing(&cid("card-done"))])
        .await
        .unwrap();

    // What the server refuses whatever the desk's checks: a reason outside the pattern, a
    // reason on a transition, labels on a spoiled event.
    d.append(&full_order(next + 3, "card-spare", 4))
        .await
        .unwrap();
    let next = next + 4;
    let sql = desk.sql().await;
    for (event, code) in [
        (
            serde_json::json!({"seq": next + 3, "at": "2026-11-25T08:10:00Z", "card_id": "card-spare",
                "kind": "spoiled", "state": "done", "operator": "jane", "pan_last4": "5556",
                "reason_code": "Mis print"}),
            "23514",
        ),
        (
            serde_json::json!({"seq": next + 3, "at": "2026-11-25T08:10:00Z", "card_id": "card-new",
                "kind": "spoiled", "state": "done", "operator": "jane", "pan_last4": "5556"}),
            "LD002",
        ),
        (
            serde_json::json!({"seq": next + 3, "at": "2026-11-25T08:10:00Z", "card_id": "card-new",
                "kind": "transition", "state": "sending", "operator": "jane",
                "reason_code": "misprint"}),
            "LD002",
        ),
        (
            serde_json::json!({"seq": next + 3, "at": "2026-11-25T08:10:00Z", "card_id": "card-new",
                "kind": "spoiled", "state": "done", "operator": "jane", "pan_last4": "5556",
                "reason_code": "misprint", "consumer_id": "C-9"}),
            "LD002",
        ),
        (
            serde_json::json!({"seq": next + 3, "at": "2026-11-25T08:10:00Z", "card_id": "card-new",
                "kind": "transition", "state": "sending", "operator": "jane",
                "reissue_of": "card-done"}),
            "LD002",
        ),
    ] {
        let e = sql
            .query_one(
                "SELECT ledger.append_events($1::jsonb)",
                &[&serde_json::json!([event])],
            )
            .await
            .unwrap_err();
        assert_eq!(sqlstate(&e), code, "{event}");
    }
}

#[tokio::test]
async fn an_exception_is_taken_commented_and_resolved_by_its_owner_then_leaves_the_queue() {
    let mut ledger = Server::from_env().ledger().await;
    let teller = ledger.desk("teller", "B1").await;
    let sup = ledger.desk("sup", "B1").await;
    let stranger = ledger.desk("stranger", "B2").await;
    let t = teller.connect().await;
    let s = sup.connect().await;
    t.append(&full_order(1, "card-ok", 0)).await.unwrap();
    t.append(&[
        Event::intent(5, at(1), &order("card-bad")),
        Event::transition(6, at(1), &cid("card-bad"), "jane", OrderState::Failed)
            .with(|e| e.d1_status = Some("DATA_EXCEPTION".into())),
        Event::intent(7, at(2), &order("card-lost")),
        Event::transition(8, at(2), &cid("card-lost"), "jane", OrderState::NoRecord),
    ])
    .await
    .unwrap();
    let q = ExceptionQuery::default();
    let scope = Scope::default();

    let queue = s.exception_queue(&q, &scope).await.unwrap();
    let cards: Vec<&str> = queue.iter().map(|c| c.order.card_id.as_str()).collect();
    assert_eq!(
        cards,
        ["card-lost", "card-bad"],
        "no_record is an exception too"
    );
    assert!(queue.iter().all(|c| c.owner.is_none()));

    // Resolving needs an owner; a done order is no exception; an unknown order is refused.
    let e = s
        .resolve_exception(&cid("card-bad"), "bob", "reordered")
        .await
        .unwrap_err();
    assert_eq!(refused(&e), Rule::NotOwner);
    let e = s.take_exception(&cid("card-ok"), "bob").await.unwrap_err();
    assert_eq!(refused(&e), Rule::NotAnException);
    let e = s
        .take_exception(&cid("card-none"), "bob")
        .await
        .unwrap_err();
    assert!(matches!(e, LedgerError::UnknownOrder(_)), "{e}");
    let e = stranger
        .connect()
        .await
        .take_exception(&cid("card-bad"), "eve")
        .await
        .unwrap_err();
    assert!(
        matches!(e, LedgerError::UnknownOrder(_)),
        "another branch: {e}"
    );

    // Jane takes it (twice: nothing new), Bob comments, only the owner may resolve.
    let taken = s.take_exception(&cid("card-bad"), "jane").await.unwrap();
    assert_eq!(
        s.take_exception(&cid("card-bad"), " Jane").await.unwrap(),
        taken
    );
    s.comment_exception(&cid("card-bad"), "bob", "customer called back")
        .await
        .unwrap();
    let queue = s.exception_queue(&q, &scope).await.unwrap();
    let case = queue
        .iter()
        .find(|c| c.order.card_id == "card-bad")
        .unwrap();
    assert_eq!(case.owner.as_deref(), Some("jane"));
    assert_eq!(case.taken_at, Some(taken));
    assert_eq!(case.last_comment.as_deref(), Some("customer called back"));
    let e = s
        .resolve_exception(&cid("card-bad"), "bob", "reordered")
        .await
        .unwrap_err();
    assert_eq!(refused(&e), Rule::NotOwner);
    let e = s
        .resolve_exception(&cid("card-bad"), "jane", " \n")
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            LedgerError::InvalidEvent {
                field: "resolution",
                ..
            }
        ),
        "{e}"
    );
    let e = s
        .comment_exception(&cid("card-bad"), "bob", "")
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            LedgerError::InvalidEvent {
                field: "comment",
                ..
            }
        ),
        "{e}"
    );

    // Bob takes it over and resolves it; it leaves the queue and stays in the history.
    s.take_exception(&cid("card-bad"), "bob").await.unwrap();
    let e = s
        .resolve_exception(&cid("card-bad"), "jane", "done")
        .await
        .unwrap_err();
    assert_eq!(
        refused(&e),
        Rule::NotOwner,
        "the previous owner no longer owns it"
    );
    let resolved = s
        .resolve_exception(&cid("card-bad"), "bob", "data corrected, reordered")
        .await
        .unwrap();
    assert_eq!(
        s.resolve_exception(&cid("card-bad"), "bob", "data corrected, reordered")
            .await
            .unwrap(),
        resolved,
        "a retry"
    );
    let queue = s.exception_queue(&q, &scope).await.unwrap();
    assert_eq!(
        queue
            .iter()
            .map(|c| c.order.card_id.as_str())
            .collect::<Vec<_>>(),
        ["card-lost"]
    );
    let e = s
        .take_exception(&cid("card-bad"), "carol")
        .await
        .unwrap_err();
    assert_eq!(refused(&e), Rule::Resolved);
    let e = s
        .comment_exception(&cid("card-bad"), "carol", "hm")
        .await
        .unwrap_err();
    assert_eq!(refused(&e), Rule::Resolved);
    let e = s
        .resolve_exception(&cid("card-bad"), "bob", "other words")
        .await
        .unwrap_err();
    assert_eq!(refused(&e), Rule::Resolved);

    let detail = t.detail(&teller.branch_id, &cid("card-bad")).await.unwrap();
    let steps: Vec<(CaseEventKind, &str)> = detail
        .case
        .iter()
        .map(|c| (c.kind, c.operator.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            (CaseEventKind::Taken, "jane"),
            (CaseEventKind::Commented, "bob"),
            (CaseEventKind::Taken, "bob"),
            (CaseEventKind::Resolved, "bob"),
        ]
    );
    assert_eq!(
        detail.case[3].comment.as_deref(),
        Some("data corrected, reordered")
    );
    assert_eq!(detail.case[3].desk_id, sup.desk_id);

    // Straight to the functions: the same rules, and no other way to write.
    let sql = sup.sql().await;
    for (statement, code) in [
        (
            "SELECT ledger.resolve_exception('card-lost', 'bob', 'x')",
            "LD017",
        ),
        (
            "SELECT ledger.comment_exception('card-lost', 'bob', '  ')",
            "LD002",
        ),
        ("SELECT ledger.take_exception('card-ok', 'bob')", "LD015"),
        ("SELECT ledger.take_exception('card-bad', 'bob')", "LD016"),
        (
            "UPDATE ledger.exception_events SET operator = 'eve'",
            "42501",
        ),
        ("DELETE FROM ledger.exception_events", "42501"),
    ] {
        let e = sql.batch_execute(statement).await.unwrap_err();
        assert_eq!(sqlstate(&e), code, "{statement}: {e}");
    }
}

/// An order of `desk` sent at `sent` and done `seconds` later (events `seq..seq+4`).
fn timed_order(
    seq: i64,
    card_id: &str,
    station: &str,
    sent: Timestamp,
    seconds: i64,
) -> Vec<Event> {
    let mut o = order(card_id);
    o.station_id = station.into();
    let done = Timestamp::from_millis(sent.as_millis() + seconds * 1000);
    vec![
        Event::intent(seq, sent, &o),
        Event::transition(seq + 1, sent, &cid(card_id), "jane", OrderState::Sending),
        Event::transition(seq + 2, sent, &cid(card_id), "jane", OrderState::Accepted),
        Event::transition(seq + 3, done, &cid(card_id), "jane", OrderState::Done)
            .with(|t| t.d1_status = Some("CARD_PROD_DONE".into())),
    ]
}

fn day_range(from_minutes: i64, to_minutes: i64) -> TimeRange {
    TimeRange {
        from: at(from_minutes),
        to: at(to_minutes),
    }
}

#[tokio::test]
async fn counter_time_has_median_and_p95_per_desk_station_and_day_and_the_slowest_orders() {
    let mut ledger = Server::from_env().ledger().await;
    let a = ledger.desk("a", "B1").await;
    let b = ledger.desk("b", "B1").await;
    let stranger = ledger.desk("stranger", "B2").await;
    let la = a.connect().await;
    let lb = b.connect().await;
    // Desk a, station S1: 60, 120, 180, 240 s on day 1 (2026-11-25, from 08:00Z).
    let mut events = Vec::new();
    for (i, secs) in [60, 120, 180, 240].into_iter().enumerate() {
        let first = 1 + 4 * i as i64;
        events.extend(timed_order(
            first,
            &format!("a-{i}"),
            "S1",
            at(i as i64 * 10),
            secs,
        ));
    }
    la.append(&events).await.unwrap();
    // Desk b, station S2: 30 s on day 2; and an order never done (left out).
    lb.append(&timed_order(1, "b-0", "S2", at(24 * 60), 30))
        .await
        .unwrap();
    lb.append(&full_order(5, "b-open", 24 * 60)[..3])
        .await
        .unwrap();
    // Another branch's slow order is not ours.
    stranger
        .connect()
        .await
        .append(&timed_order(1, "x-0", "S1", at(5), 3600))
        .await
        .unwrap();

    let report = la
        .counter_time(day_range(0, 2 * 24 * 60), 0, 3, &Scope::default())
        .await
        .unwrap();
    let overall = report.overall.unwrap();
    assert_eq!(overall.orders, 5);
    assert_eq!(overall.median_ms, 120_000.0);
    // percentile_cont over 30, 60, 120, 180, 240 s: 0.95 × 4 = 3.8 → 180 + 0.8 × 60 = 228 s.
    assert_eq!(overall.p95_ms, 228_000.0);
    let desk_a = report
        .by_desk
        .iter()
        .find(|s| s.key == a.desk_id.as_str())
        .unwrap();
    assert_eq!(
        (desk_a.orders, desk_a.median_ms, desk_a.p95_ms),
        (4, 150_000.0, 231_000.0)
    );
    let stations: Vec<(&str, u64)> = report
        .by_station
        .iter()
        .map(|s| (s.key.as_str(), s.orders))
        .collect();
    assert_eq!(stations, [("S1", 4), ("S2", 1)]);
    let days: Vec<(&str, f64)> = report
        .by_day
        .iter()
        .map(|s| (s.key.as_str(), s.median_ms))
        .collect();
    assert_eq!(days, [("2026-11-25", 150_000.0), ("2026-11-26", 30_000.0)]);
    let slowest: Vec<(&str, i64)> = report
        .slowest
        .iter()
        .map(|o| (o.card_id.as_str(), o.counter_ms))
        .collect();
    assert_eq!(
        slowest,
        [("a-3", 240_000), ("a-2", 180_000), ("a-1", 120_000)]
    );

    // A desk's scope; the branch's day 9 hours behind UTC moves the 08:00Z orders to the
    // evening before.
    let only_b = Scope {
        desk: Some(b.desk_id.clone()),
        ..Scope::default()
    };
    let report = la
        .counter_time(day_range(0, 2 * 24 * 60), -9 * 60, 0, &only_b)
        .await
        .unwrap();
    assert_eq!(report.overall.unwrap().orders, 1);
    assert!(report.slowest.is_empty());
    let report = la
        .counter_time(day_range(0, 60), -9 * 60, 0, &Scope::default())
        .await
        .unwrap();
    assert_eq!(report.by_day[0].key, "2026-11-24");
    // Nothing in the period: no figures, not zeros.
    let empty = la
        .counter_time(day_range(-600, -60), 0, 5, &Scope::default())
        .await
        .unwrap();
    assert!(empty.overall.is_none() && empty.by_desk.is_empty() && empty.slowest.is_empty());

    for (range, offset, slowest) in [
        (day_range(10, 10), 0, 0),
        (day_range(0, 60), 15 * 60, 0),
        (day_range(0, 60), 0, branch_ledger::MAX_SLOWEST + 1),
        (day_range(0, 401 * 24 * 60), 0, 0),
    ] {
        let e = la
            .counter_time(range, offset, slowest, &Scope::default())
            .await
            .unwrap_err();
        assert!(matches!(e, LedgerError::InvalidQuery(_)), "{e}");
    }
}

#[tokio::test]
async fn the_end_of_day_balance_counts_issued_spoiled_and_reissued_per_station_and_day() {
    let mut ledger = Server::from_env().ledger().await;
    let desk = ledger.desk("teller", "B1").await;
    let d = desk.connect().await;
    let mut events = timed_order(1, "c-1", "S1", at(0), 60);
    events.extend(timed_order(5, "c-2", "S1", at(10), 60));
    events.extend(timed_order(9, "c-3", "S2", at(20), 60));
    d.append(&events).await.unwrap();
    d.append(&[Event::spoiled(
        13,
        at(30),
        &cid("c-2"),
        "jane",
        spoiled("misprint", "5556"),
    )])
    .await
    .unwrap();
    let mut reissue = timed_order(14, "c-4", "S1", at(40), 60);
    reissue[0] = reissue[0].clone().reissuing(&cid("c-2"));
    d.append(&reissue).await.unwrap();
    // The next day: one more on S2.
    d.append(&timed_order(18, "c-5", "S2", at(24 * 60), 60))
        .await
        .unwrap();

    let balance = d
        .day_balance(day_range(0, 2 * 24 * 60), 0, &Scope::default())
        .await
        .unwrap();
    let rows: Vec<(&str, &str, u64, u64, u64)> = balance
        .iter()
        .map(|r| {
            (
                r.day.as_str(),
                r.station_id.as_str(),
                r.issued,
                r.spoiled,
                r.reissued,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("2026-11-25", "S1", 3, 1, 1),
            ("2026-11-25", "S2", 1, 0, 0),
            ("2026-11-26", "S2", 1, 0, 0),
        ]
    );
    // One day only.
    let today = d
        .day_balance(day_range(24 * 60, 2 * 24 * 60), 0, &Scope::default())
        .await
        .unwrap();
    assert_eq!(today.len(), 1);
    let e = d
        .day_balance(day_range(60, 0), 0, &Scope::default())
        .await
        .unwrap_err();
    assert!(matches!(e, LedgerError::InvalidQuery(_)), "{e}");
}

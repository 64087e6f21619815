//! Dual control on the real server: another person approves, the requester never can (refused
//! by the ledger's own function, called directly as the desk's role), nothing is decided after
//! expiry or twice, and an order whose request was not approved cannot be recorded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use branch_ledger::{
    ApprovalRequest, ApprovalStatus, CounterChanges, CounterKind, Decision, Event, Ledger,
    LedgerError, Rule,
};
use common::{CANARY_PAN, Server, TestDesk, at, cid, order};
use desk_domain::ConsumerId;
use order_journal::{OrderState, PanLast4};

fn request(card_id: &str, operator: &str) -> ApprovalRequest {
    ApprovalRequest {
        card_id: cid(card_id),
        operator: operator.into(),
        consumer_id: ConsumerId::parse(format!("C-{card_id}")).unwrap(),
        product_id: "VISA_CLASSIC".into(),
        station_id: "STATION-1".into(),
        issuance_type: "REPLACEMENT".into(),
        pan_last4: PanLast4::new("5556").unwrap(),
        reason: "card stolen".into(),
        timeout: Duration::from_secs(300),
    }
}

fn sqlstate(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map(|d| d.code().code().to_owned())
        .unwrap_or_else(|| format!("not a server error: {e}"))
}

fn refused(e: &LedgerError) -> Rule {
    match e {
        LedgerError::Refused { rule, .. } => *rule,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Calls `ledger.decide_approval` directly as the desk's role (what no window does).
async fn decide_directly(desk: &TestDesk, card_id: &str, operator: &str, decision: &str) -> String {
    let sql = desk.sql().await;
    match sql
        .query_one(
            "SELECT ledger.decide_approval($1, $2, $3, NULL)",
            &[&card_id, &operator, &decision],
        )
        .await
    {
        Ok(_) => "ok".into(),
        Err(e) => sqlstate(&e),
    }
}

#[tokio::test]
async fn another_person_approves_and_the_requester_is_refused_by_the_ledger() {
    let mut ledger = Server::from_env().ledger().await;
    let teller = ledger.desk("teller", "B1").await;
    let sup = ledger.desk("sup", "B1").await;
    let t = teller.connect().await;
    let s = sup.connect().await;

    let asked = t
        .request_approval(&request("card-1", "jane"))
        .await
        .unwrap();
    assert_eq!(asked.status, ApprovalStatus::Pending);
    assert_eq!(asked.requested_by, "jane");
    assert_eq!(asked.desk_id, teller.desk_id);
    assert_eq!(asked.pan_last4.as_str(), "5556");
    assert_eq!(
        asked.expires_at.as_millis() - asked.requested_at.as_millis(),
        300_000
    );
    assert!(asked.remaining() > Duration::from_secs(290));
    // Asking again (a lost answer) returns the stored request; another request for the same
    // card id is a conflict.
    let again = t
        .request_approval(&request("card-1", "jane"))
        .await
        .unwrap();
    assert_eq!(again.requested_at, asked.requested_at);
    let e = t
        .request_approval(&request("card-1", "jane").with_reason("other"))
        .await
        .unwrap_err();
    assert!(matches!(e, LedgerError::Conflict(_)), "{e}");

    // The requester, on their own desk or on another, directly or through the API, under any
    // spelling of their name: refused by the ledger.
    assert_eq!(
        decide_directly(&teller, "card-1", "jane", "approved").await,
        "LD008"
    );
    assert_eq!(
        decide_directly(&sup, "card-1", " JANE ", "approved").await,
        "LD008"
    );
    assert_eq!(
        decide_directly(&sup, "card-1", "Jane", "declined").await,
        "LD008"
    );
    let e = s
        .decide_approval(&cid("card-1"), "jane", Decision::Approve, None)
        .await
        .unwrap_err();
    assert_eq!(refused(&e), Rule::SelfApproval);
    assert_eq!(e.kind(), "self_approval");
    assert_eq!(
        s.approval(&cid("card-1")).await.unwrap().unwrap().status,
        ApprovalStatus::Pending,
        "a refusal records nothing"
    );

    // Another person approves, with a comment; the same decision again is a harmless retry.
    let approved = s
        .decide_approval(&cid("card-1"), "bob", Decision::Approve, Some("ID checked"))
        .await
        .unwrap();
    assert_eq!(approved.status, ApprovalStatus::Approved);
    assert_eq!(approved.decided_by.as_deref(), Some("bob"));
    assert_eq!(approved.decided_desk.as_ref(), Some(&sup.desk_id));
    assert_eq!(approved.comment.as_deref(), Some("ID checked"));
    assert_eq!(approved.remaining(), Duration::ZERO);
    let again = s
        .decide_approval(&cid("card-1"), "bob", Decision::Approve, Some("ID checked"))
        .await
        .unwrap();
    assert_eq!(again.decided_at, approved.decided_at);

    // One decision only.
    let e = s
        .decide_approval(&cid("card-1"), "carol", Decision::Decline, Some("no"))
        .await
        .unwrap_err();
    assert_eq!(refused(&e), Rule::AlreadyDecided);
    assert_eq!(
        decide_directly(&sup, "card-1", "bob", "declined").await,
        "LD010"
    );
    let e = t.cancel_approval(&cid("card-1"), "jane").await.unwrap_err();
    assert_eq!(refused(&e), Rule::AlreadyDecided);

    // The teller's desk sees the decision and records the order; the detail carries both names
    // and the comment.
    let seen = t.approval(&cid("card-1")).await.unwrap().unwrap();
    assert_eq!(seen.status, ApprovalStatus::Approved);
    let mut o = order("card-1");
    o.issuance_type = "REPLACEMENT".into();
    t.append(&[
        Event::intent(1, at(0), &o),
        Event::transition(2, at(0), &cid("card-1"), "jane", OrderState::Sending),
    ])
    .await
    .unwrap();
    let detail = s.detail(&sup.branch_id, &cid("card-1")).await.unwrap();
    let approval = detail.approval.unwrap();
    assert_eq!(approval.requested_by, "jane");
    assert_eq!(approval.decided_by.as_deref(), Some("bob"));
    assert_eq!(approval.comment.as_deref(), Some("ID checked"));

    // Once an order exists, no request can use its card id.
    let e = t
        .request_approval(&request("card-1", "jane"))
        .await
        .unwrap_err();
    assert!(matches!(e, LedgerError::DuplicateOrder(_)), "{e}");
    t.append(&common::full_order(3, "card-9", 1)).await.unwrap();
    let e = t
        .request_approval(&request("card-9", "jane"))
        .await
        .unwrap_err();
    assert!(matches!(e, LedgerError::DuplicateOrder(_)), "{e}");
}

trait WithReason {
    fn with_reason(self, reason: &str) -> Self;
}

impl WithReason for ApprovalRequest {
    fn with_reason(mut self, reason: &str) -> Self {
        self.reason = reason.into();
        self
    }
}

#[tokio::test]
async fn nothing_is_decided_after_expiry_and_an_unapproved_order_cannot_be_recorded() {
    let mut ledger = Server::from_env().ledger().await;
    let teller = ledger.desk("teller", "B1").await;
    let other = ledger.desk("other", "B1").await;
    let sup = ledger.desk("sup", "B1").await;
    let t = teller.connect().await;
    let s = sup.connect().await;

    let mut short = request("card-late", "jane");
    short.timeout = Duration::from_secs(1);
    t.request_approval(&short).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let e = s
        .decide_approval(&cid("card-late"), "bob", Decision::Approve, None)
        .await
        .unwrap_err();
    assert_eq!(refused(&e), Rule::Expired);
    assert_eq!(
        decide_directly(&sup, "card-late", "bob", "approved").await,
        "LD009"
    );
    let expired = t.approval(&cid("card-late")).await.unwrap().unwrap();
    assert_eq!(expired.status, ApprovalStatus::Expired);
    assert_eq!(expired.remaining(), Duration::ZERO);
    // Withdrawing an expired request records nothing: it ended already.
    let after = t.cancel_approval(&cid("card-late"), "jane").await.unwrap();
    assert_eq!(after.status, ApprovalStatus::Expired);
    assert_eq!(after.decided_by, None);

    t.request_approval(&request("card-no", "jane"))
        .await
        .unwrap();
    s.decide_approval(
        &cid("card-no"),
        "bob",
        Decision::Decline,
        Some("not the customer"),
    )
    .await
    .unwrap();
    t.request_approval(&request("card-open", "jane"))
        .await
        .unwrap();
    t.request_approval(&request("card-mine", "jane"))
        .await
        .unwrap();
    s.decide_approval(&cid("card-mine"), "bob", Decision::Approve, None)
        .await
        .unwrap();

    // Expired, declined, still open: the ledger refuses the order's intent (and nothing of the
    // batch is kept).
    for (seq, card) in [(1, "card-late"), (1, "card-no"), (1, "card-open")] {
        let e = t
            .append(&[Event::intent(seq, at(0), &order(card))])
            .await
            .unwrap_err();
        assert_eq!(refused(&e), Rule::NotApproved, "{card}");
    }
    assert_eq!(t.last_seq().await.unwrap(), 0);
    // Approved for the teller's desk, not for another desk of the branch.
    let e = other
        .connect()
        .await
        .append(&[Event::intent(1, at(0), &order("card-mine"))])
        .await
        .unwrap_err();
    assert_eq!(refused(&e), Rule::NotApproved);
    t.append(&[Event::intent(1, at(0), &order("card-mine"))])
        .await
        .unwrap();

    // Cancel: only the requesting desk, once; then no decision.
    t.request_approval(&request("card-c", "jane"))
        .await
        .unwrap();
    let e = s.cancel_approval(&cid("card-c"), "bob").await.unwrap_err();
    assert_eq!(refused(&e), Rule::NoRequest);
    let canceled = t.cancel_approval(&cid("card-c"), "jane").await.unwrap();
    assert_eq!(canceled.status, ApprovalStatus::Canceled);
    let twice = t.cancel_approval(&cid("card-c"), "jane").await.unwrap();
    assert_eq!(twice.decided_at, canceled.decided_at, "canceled once");
    let e = s
        .decide_approval(&cid("card-c"), "bob", Decision::Approve, None)
        .await
        .unwrap_err();
    assert_eq!(refused(&e), Rule::AlreadyDecided);

    // The Approvals view: only open requests, newest first; or everything.
    let open = s.approvals(true, None, 50).await.unwrap();
    assert_eq!(
        open.iter().map(|a| a.card_id.as_str()).collect::<Vec<_>>(),
        ["card-open"]
    );
    let all = s.approvals(false, None, 50).await.unwrap();
    assert_eq!(all.len(), 5);
    // An export's look-up by card id: only the ones asked for, in this branch.
    let some = s
        .approvals_of(&[cid("card-no"), cid("card-mine"), cid("card-none")])
        .await
        .unwrap();
    let mut found: Vec<(&str, ApprovalStatus)> = some
        .iter()
        .map(|a| (a.card_id.as_str(), a.status))
        .collect();
    found.sort_by_key(|(card, _)| *card);
    assert_eq!(
        found,
        [
            ("card-mine", ApprovalStatus::Approved),
            ("card-no", ApprovalStatus::Declined)
        ]
    );
    let too_many: Vec<_> = (0..=branch_ledger::MAX_APPROVALS)
        .map(|i| cid(&format!("c{i}")))
        .collect();
    assert!(matches!(
        s.approvals_of(&too_many).await.unwrap_err(),
        LedgerError::InvalidQuery(_)
    ));
    for limit in [0, branch_ledger::MAX_APPROVALS + 1] {
        let e = s.approvals(true, None, limit).await.unwrap_err();
        assert!(matches!(e, LedgerError::InvalidQuery(_)), "{e}");
    }
}

#[tokio::test]
async fn requests_are_bounded_checked_and_read_only_in_their_branch() {
    let mut ledger = Server::from_env().ledger().await;
    let teller = ledger.desk("teller", "B1").await;
    let stranger = ledger.desk("stranger", "B2").await;
    let t = teller.connect().await;
    let sql = teller.sql().await;

    let call = |card: &'static str, consumer: String, reason: String, timeout: i32| {
        let sql = &sql;
        async move {
            match sql
                .query_one(
                    "SELECT * FROM ledger.request_approval($1, 'jane', $2, 'P', 'S', \
                     'REPLACEMENT', '5556', $3, $4)",
                    &[&card, &consumer, &reason, &timeout],
                )
                .await
            {
                Ok(_) => "ok".to_owned(),
                Err(e) => sqlstate(&e),
            }
        }
    };
    // Timeout bounds: 1 s .. 1 day.
    assert_eq!(call("c0", "C".into(), "r".into(), 0).await, "LD002");
    assert_eq!(call("c0", "C".into(), "r".into(), 86_401).await, "LD002");
    assert_eq!(call("c1", "C".into(), "r".into(), 1).await, "ok");
    assert_eq!(call("c2", "C".into(), "r".into(), 86_400).await, "ok");
    // No card number anywhere, whatever the desk sends.
    assert_eq!(call("c3", CANARY_PAN.into(), "r".into(), 60).await, "23514");
    assert_eq!(
        call("c4", "C".into(), format!("pan {CANARY_PAN}"), 60).await,
        "23514"
    );
    assert_eq!(
        call(CANARY_PAN_ID, "C".into(), "r".into(), 60).await,
        "23514"
    );
    assert_eq!(call("c5", "C".into(), String::new(), 60).await, "23514");
    // A decision is approved or declined, on a request that exists.
    let bob = ledger.desk("bob", "B1").await;
    assert_eq!(
        decide_directly(&bob, "c1x", "bob", "approved").await,
        "LD011"
    );
    assert_eq!(decide_directly(&bob, "c2", "bob", "maybe").await, "LD002");
    assert_eq!(
        decide_directly(&bob, "c2", "bob", "canceled").await,
        "LD002"
    );
    // Another branch cannot decide, cancel or read it.
    assert_eq!(
        decide_directly(&stranger, "c2", "eve", "approved").await,
        "LD011"
    );
    let s = stranger.connect().await;
    assert!(s.approval(&cid("c2")).await.unwrap().is_none());
    let seen: i64 = stranger
        .sql()
        .await
        .query_one(
            "SELECT (SELECT count(*) FROM ledger.approvals) \
                  + (SELECT count(*) FROM ledger.approval_requests) \
                  + (SELECT count(*) FROM ledger.approval_decisions)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(seen, 0);
    assert!(t.approval(&cid("c2")).await.unwrap().is_some());

    // The API refuses before sending, without repeating the value.
    let mut bad = request("c6", "jane");
    bad.reason = CANARY_PAN.to_owned();
    let stored = t.request_approval(&bad).await.unwrap();
    assert_eq!(stored.reason, "[number removed]");
    bad = request("c7", "jane");
    bad.timeout = Duration::ZERO;
    let e = t.request_approval(&bad).await.unwrap_err();
    assert!(
        matches!(
            e,
            LedgerError::InvalidEvent {
                field: "timeout",
                ..
            }
        ),
        "{e}"
    );
    bad = request("c7", "jane");
    bad.consumer_id = ConsumerId::parse(CANARY_PAN).unwrap();
    let e = t.request_approval(&bad).await.unwrap_err();
    assert!(!e.to_string().contains(CANARY_PAN), "{e}");
}

/// A card id shaped like a card number (the d1_id domain refuses it).
const CANARY_PAN_ID: &str = "4000056655665556";

#[tokio::test]
async fn approval_records_cannot_be_changed_even_by_their_owner() {
    let mut ledger = Server::from_env().ledger().await;
    let teller = ledger.desk("teller", "B1").await;
    let sup = ledger.desk("sup", "B1").await;
    teller
        .connect()
        .await
        .request_approval(&request("card-1", "jane"))
        .await
        .unwrap();
    sup.connect()
        .await
        .decide_approval(&cid("card-1"), "bob", Decision::Decline, Some("no"))
        .await
        .unwrap();
    let sql = teller.sql().await;
    for statement in [
        "UPDATE ledger.approval_decisions SET decision = 'approved'",
        "DELETE FROM ledger.approval_decisions",
        "DELETE FROM ledger.approval_requests",
        "UPDATE ledger.approval_requests SET expires_at = now() + interval '1 hour'",
        "TRUNCATE ledger.approval_decisions",
        "INSERT INTO ledger.approval_decisions (branch_id, card_id, decision, decided_by, desk_id, \
         decided_at) VALUES ('B1', 'card-1', 'approved', 'eve', 'x', now())",
        "INSERT INTO ledger.exception_events (branch_id, card_id, kind, operator, desk_id, at) \
         VALUES ('B1', 'card-1', 'taken', 'eve', 'x', now())",
        "SELECT ledger.counter_changed('B1', 'approval')",
        "SELECT * FROM ledger.exception_case('B1', 'card-1')",
    ] {
        let e = sql.batch_execute(statement).await.unwrap_err();
        assert_eq!(sqlstate(&e), "42501", "{statement}: {e}");
    }
    let owner = ledger.admin_sql().await;
    owner.batch_execute("SET ROLE ledger_owner").await.unwrap();
    for statement in [
        "UPDATE ledger.approval_decisions SET decision = 'approved'",
        "DELETE FROM ledger.approval_requests",
        "TRUNCATE ledger.approval_decisions",
    ] {
        let e = owner.batch_execute(statement).await.unwrap_err();
        assert_eq!(sqlstate(&e), "LD007", "{statement}: {e}");
    }
    let status: String = sql
        .query_one("SELECT status FROM ledger.approvals", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(status, "declined");
}

async fn next_counter(changes: &mut CounterChanges) -> branch_ledger::CounterChanged {
    tokio::time::timeout(Duration::from_secs(30), changes.next())
        .await
        .expect("no notification within 30 s")
        .expect("the subscription ended")
        .expect("the subscription failed")
}

#[tokio::test]
async fn supervisors_of_the_branch_hear_of_requests_and_decisions_at_once() {
    let mut ledger = Server::from_env().ledger().await;
    let teller = ledger.desk("teller", "B1").await;
    let sup = ledger.desk("sup", "B1").await;
    let stranger = ledger.desk("stranger", "B2").await;
    let mut heard_by_sup = Ledger::subscribe_counter(&sup.options).await.unwrap();
    let mut heard_by_teller = Ledger::subscribe_counter(&teller.options).await.unwrap();
    let mut heard_by_stranger = Ledger::subscribe_counter(&stranger.options).await.unwrap();

    let t = teller.connect().await;
    t.request_approval(&request("card-1", "jane"))
        .await
        .unwrap();
    let change = next_counter(&mut heard_by_sup).await;
    assert_eq!(change.branch_id.as_str(), "B1");
    assert_eq!(change.kind, CounterKind::Approval);
    assert_eq!(
        next_counter(&mut heard_by_teller).await.kind,
        CounterKind::Approval
    );

    sup.connect()
        .await
        .decide_approval(&cid("card-1"), "bob", Decision::Approve, None)
        .await
        .unwrap();
    assert_eq!(
        next_counter(&mut heard_by_teller).await.kind,
        CounterKind::Approval
    );

    // The other branch heard nothing of B1; its own request is the first thing it hears.
    stranger
        .connect()
        .await
        .request_approval(&request("card-2", "eve"))
        .await
        .unwrap();
    let change = next_counter(&mut heard_by_stranger).await;
    assert_eq!(change.branch_id.as_str(), "B2");
}

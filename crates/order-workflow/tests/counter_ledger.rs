//! The counter workflows of two desks of one branch on the real ledger (built only with
//! `--features ledger-tests`; run by `scripts/test-ledger.sh`): a REPLACEMENT asked for at the
//! teller's desk is approved at the supervisor's by another person and sent; the requester is
//! refused; a declined, an expired and a canceled request send nothing and leave no card data;
//! a spoiled card is reissued and both appear linked at the other desk and in the end-of-day
//! balance; an exception is taken and resolved; the counter time covers the orders made.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{Desk, TestLedger, assert_no_canary, desk, draft, eventually, until_final};
use order_workflow::{
    ApprovalOutcome, ApprovalState, DeskSettings, OrderProgress, ProductionPhase, WorkflowError,
};

fn refused(e: WorkflowError) -> String {
    match e {
        WorkflowError::Refused { code, .. } => code.as_str().to_owned(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn settings(timeout_seconds: u32) -> DeskSettings {
    let mut settings = DeskSettings::default();
    settings.approvals.issuance_types = vec!["REPLACEMENT".into()];
    settings.approvals.timeout_seconds = timeout_seconds;
    settings
}

/// A teller's desk and a supervisor's desk of branch B1, both on the ledger.
async fn branch(timeout_seconds: u32) -> (TestLedger, Desk, Desk) {
    let mut ledger = TestLedger::new().await;
    let teller_options = ledger.desk("teller", "B1").await;
    let sup_options = ledger.desk("sup", "B1").await;
    let teller = desk("teller1", settings(timeout_seconds)).await;
    let sup = desk("sup1", settings(timeout_seconds)).await;
    for (d, options) in [(&teller, teller_options), (&sup, sup_options)] {
        d.desk.attach_ledger(options);
        d.desk.follow_counter();
        d.desk.follow_branch();
    }
    (ledger, teller, sup)
}

#[tokio::test]
async fn a_replacement_is_approved_by_another_person_at_another_desk_and_made() {
    let (_ledger, teller, sup) = branch(120).await;
    let e = teller
        .desk
        .submit(draft("REPLACEMENT"), |_| {})
        .await
        .unwrap_err();
    assert_eq!(refused(e), "approval_needed");

    let asked = teller
        .desk
        .request_approval(draft("REPLACEMENT"), "card stolen")
        .await
        .unwrap();
    assert_eq!(asked.state, ApprovalState::Pending);
    assert_eq!(asked.requested_by, "teller1");
    assert!(asked.is_mine);
    assert_eq!(teller.desk.held_order(), Some(asked.card_id.clone()));
    let e = teller
        .desk
        .request_approval(draft("REPLACEMENT"), "again")
        .await
        .unwrap_err();
    assert_eq!(refused(e), "approval_pending");

    // The requester cannot approve, from their own desk (the ledger refuses).
    let e = teller
        .desk
        .decide_approval(&asked.card_id, true, None)
        .await
        .unwrap_err();
    assert_eq!(refused(e), "self_approval");

    let waiting = {
        let teller = teller.desk.clone();
        let card = asked.card_id.clone();
        tokio::spawn(async move {
            let stages = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let seen = stages.clone();
            let outcome = teller
                .await_approval(&card, move |s| seen.lock().unwrap().push(s))
                .await;
            (outcome, stages.lock().unwrap().clone())
        })
    };
    // The supervisor's Approvals view shows it (not theirs), then they approve.
    let mut pending = Vec::new();
    for _ in 0..300 {
        pending = sup.desk.pending_approvals().await.unwrap();
        if !pending.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(pending[0].card_id, asked.card_id);
    assert!(!pending[0].is_mine);
    assert_eq!(pending[0].last4, "5556");
    assert_eq!(pending[0].reason, "card stolen");
    let decided = sup
        .desk
        .decide_approval(&asked.card_id, true, Some("ID checked"))
        .await
        .unwrap();
    assert_eq!(decided.state, ApprovalState::Approved);

    let (outcome, stages) = tokio::time::timeout(Duration::from_secs(30), waiting)
        .await
        .unwrap()
        .unwrap();
    let ApprovalOutcome::Submitted { approval, order } = outcome.unwrap() else {
        panic!("expected the order to be sent");
    };
    assert_eq!(approval.decided_by.as_deref(), Some("sup1"));
    assert_eq!(order.card_id, asked.card_id, "sent under the requested ids");
    assert!(
        stages
            .iter()
            .any(|s| matches!(s, OrderProgress::Accepted { .. }))
    );
    assert!(teller.desk.held_order().is_none());
    assert_eq!(
        until_final(&teller.desk, &order.card_id).await,
        ProductionPhase::Done
    );

    // The supervisor's detail: both names and the comment; the order itself from the ledger.
    let card = order.card_id.clone();
    eventually("the order reaches the ledger as done", || {
        let sup = sup.desk.clone();
        let card = card.clone();
        async move {
            sup.order_timeline(&card)
                .await
                .is_ok_and(|t| t.order.state == order_journal::OrderState::Done)
        }
    })
    .await;
    let timeline = sup.desk.order_timeline(&card).await.unwrap();
    let approval = timeline.approval.unwrap();
    assert_eq!(approval.requested_by, "teller1");
    assert_eq!(approval.decided_by.as_deref(), Some("sup1"));
    assert_eq!(approval.comment.as_deref(), Some("ID checked"));
    // The branch export carries both names and the comment.
    let export = sup
        .desk
        .export_orders(&order_workflow::OrderFilter::default(), sup.dir.path())
        .await
        .unwrap();
    let csv = std::fs::read_to_string(&export.path).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(
        header.ends_with("approval_requested_by,approval,approval_decided_by,approval_comment"),
        "{header}"
    );
    let row = csv.lines().find(|l| l.contains(card.as_str())).unwrap();
    assert!(row.ends_with("teller1,approved,sup1,ID checked"), "{row}");
    assert_no_canary(teller.dir.path());
    assert_no_canary(sup.dir.path());
}

#[tokio::test]
async fn declined_expired_and_canceled_requests_send_nothing_and_keep_no_card_data() {
    let (_ledger, teller, sup) = branch(2).await;

    // Declined.
    let asked = teller
        .desk
        .request_approval(draft("REPLACEMENT"), "customer in a hurry")
        .await
        .unwrap();
    sup.desk
        .decide_approval(&asked.card_id, false, Some("not the account holder"))
        .await
        .unwrap();
    let outcome = teller
        .desk
        .await_approval(&asked.card_id, |_| {})
        .await
        .unwrap();
    let ApprovalOutcome::Ended { approval } = outcome else {
        panic!("a declined order is not sent");
    };
    assert_eq!(approval.state, ApprovalState::Declined);
    assert_eq!(approval.comment.as_deref(), Some("not the account holder"));
    assert!(teller.desk.held_order().is_none());

    // Expired: nobody decided within 2 s.
    let asked = teller
        .desk
        .request_approval(draft("REPLACEMENT"), "lost")
        .await
        .unwrap();
    let outcome = teller
        .desk
        .await_approval(&asked.card_id, |_| {})
        .await
        .unwrap();
    let ApprovalOutcome::Ended { approval } = outcome else {
        panic!("an expired order is not sent");
    };
    assert_eq!(approval.state, ApprovalState::Expired);
    let e = sup
        .desk
        .decide_approval(&asked.card_id, true, None)
        .await
        .unwrap_err();
    assert_eq!(refused(e), "expired");

    // Canceled by the teller while waiting.
    let asked = teller
        .desk
        .request_approval(draft("REPLACEMENT"), "lost")
        .await
        .unwrap();
    let waiting = {
        let teller = teller.desk.clone();
        let card = asked.card_id.clone();
        tokio::spawn(async move { teller.await_approval(&card, |_| {}).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let canceled = teller.desk.cancel_approval(&asked.card_id).await.unwrap();
    assert_eq!(canceled.state, ApprovalState::Canceled);
    let outcome = tokio::time::timeout(Duration::from_secs(30), waiting)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(matches!(
        outcome,
        ApprovalOutcome::Ended { approval } if approval.state == ApprovalState::Canceled
    ));
    let e = sup
        .desk
        .decide_approval(&asked.card_id, true, None)
        .await
        .unwrap_err();
    assert_eq!(refused(e), "already_decided");

    // Nothing reached D1, nothing is held, nothing of the card is on disk.
    assert_eq!(teller.control.orders_received(), 0);
    assert!(teller.desk.held_order().is_none());
    assert!(teller.desk.journal().in_flight().unwrap().is_empty());
    assert_no_canary(teller.dir.path());
    assert_no_canary(sup.dir.path());
}

#[tokio::test]
async fn a_spoiled_card_and_its_reissue_are_linked_at_every_desk_and_in_the_balance() {
    let (_ledger, teller, sup) = branch(120).await;
    let first = teller.desk.submit(draft("CREATION"), |_| {}).await.unwrap();
    assert_eq!(
        until_final(&teller.desk, &first.card_id).await,
        ProductionPhase::Done
    );
    teller
        .desk
        .report_spoiled(&first.card_id, "misprint")
        .await
        .unwrap();
    let form = teller.desk.reissue_form(&first.card_id).await.unwrap();
    let mut again = draft("CREATION");
    again.reissue_of = Some(form.reissue_of.to_string());
    let second = teller.desk.submit(again, |_| {}).await.unwrap();
    assert_eq!(
        until_final(&teller.desk, &second.card_id).await,
        ProductionPhase::Done
    );

    // The supervisor's desk sees the pair from the ledger.
    let (first_id, second_id) = (first.card_id.clone(), second.card_id.clone());
    eventually("the pair reaches the ledger", || {
        let sup = sup.desk.clone();
        let (first_id, second_id) = (first_id.clone(), second_id.clone());
        async move {
            sup.order_timeline(&first_id)
                .await
                .is_ok_and(|t| t.counter.reissued_by == [second_id.clone()])
                && sup
                    .order_timeline(&second_id)
                    .await
                    .is_ok_and(|t| t.order.state == order_journal::OrderState::Done)
        }
    })
    .await;
    let original = sup.desk.order_timeline(&first_id).await.unwrap();
    assert_eq!(original.counter.spoiled_reason.as_deref(), Some("misprint"));
    let reissue = sup.desk.order_timeline(&second_id).await.unwrap();
    assert_eq!(reissue.counter.reissue_of, Some(first_id.clone()));
    // Reported again from the supervisor's desk: already spoiled.
    let e = sup
        .desk
        .report_spoiled(&first_id, "damaged")
        .await
        .unwrap_err();
    assert_eq!(refused(e), "already_spoiled");

    // The end-of-day balance and the counter time of the orders made here.
    let now = order_journal::Timestamp::now().as_millis() as f64;
    let day = 86_400_000.0;
    let balance = sup
        .desk
        .day_balance(now - day, now + day, 0)
        .await
        .unwrap()
        .unwrap();
    let station: Vec<_> = balance
        .iter()
        .filter(|r| r.station_id == "BRANCH-PS-01")
        .collect();
    let total = |f: fn(&&order_workflow::BalanceRow) -> u32| station.iter().map(f).sum::<u32>();
    assert_eq!(
        (
            total(|r| r.issued),
            total(|r| r.spoiled),
            total(|r| r.reissued)
        ),
        (2, 1, 1)
    );
    let export = sup
        .desk
        .export_day_balance(now - day, now + day, 0, sup.dir.path())
        .await
        .unwrap()
        .unwrap();
    let csv = std::fs::read_to_string(&export.path).unwrap();
    assert!(
        csv.starts_with("day,station_id,issued,spoiled,reissued"),
        "{csv}"
    );
    assert!(csv.contains("BRANCH-PS-01"), "{csv}");

    let counter = sup
        .desk
        .counter_time(now - day, now + day, 0)
        .await
        .unwrap()
        .unwrap();
    let overall = counter.overall.unwrap();
    assert_eq!(overall.orders, 2);
    assert!(overall.median_ms > 0.0 && overall.p95_ms >= overall.median_ms);
    assert_eq!(counter.by_station[0].key, "BRANCH-PS-01");
    assert_eq!(counter.slowest.len(), 2);
}

#[tokio::test]
async fn an_exception_is_taken_commented_and_resolved_then_leaves_the_queue() {
    let (_ledger, teller, sup) = branch(120).await;
    teller
        .control
        .data_exception_next(1, "embossing data rejected");
    let order = teller.desk.submit(draft("CREATION"), |_| {}).await.unwrap();
    assert_eq!(
        until_final(&teller.desk, &order.card_id).await,
        ProductionPhase::Failed
    );
    let card = order.card_id.clone();
    eventually("the exception reaches the supervisor's queue", || {
        let sup = sup.desk.clone();
        let card = card.clone();
        async move {
            sup.exception_cases()
                .await
                .unwrap()
                .unwrap()
                .iter()
                .any(|c| c.order.card_id == card)
        }
    })
    .await;

    let e = sup
        .desk
        .resolve_exception(&card, "reordered")
        .await
        .unwrap_err();
    assert_eq!(refused(e), "not_owner");
    sup.desk.take_exception(&card).await.unwrap();
    teller
        .desk
        .comment_exception(&card, "customer will come back tomorrow")
        .await
        .unwrap();
    let queue = teller.desk.exception_cases().await.unwrap().unwrap();
    let case = queue.iter().find(|c| c.order.card_id == card).unwrap();
    assert_eq!(case.owner.as_deref(), Some("sup1"));
    assert!(!case.is_mine);
    assert_eq!(
        case.last_comment.as_deref(),
        Some("customer will come back tomorrow")
    );
    let e = teller
        .desk
        .resolve_exception(&card, "done")
        .await
        .unwrap_err();
    assert_eq!(refused(e), "not_owner");
    sup.desk
        .resolve_exception(&card, "data corrected, new order placed")
        .await
        .unwrap();
    let queue = sup.desk.exception_cases().await.unwrap().unwrap();
    assert!(
        queue.iter().all(|c| c.order.card_id != card),
        "resolved: out of the queue"
    );
    let timeline = sup.desk.order_timeline(&card).await.unwrap();
    let steps: Vec<(&str, &str)> = timeline
        .case
        .iter()
        .map(|s| (s.kind.as_str(), s.operator.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            ("taken", "sup1"),
            ("commented", "teller1"),
            ("resolved", "sup1")
        ]
    );
}

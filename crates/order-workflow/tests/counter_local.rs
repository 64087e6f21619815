//! The counter workflows of a desk without a branch ledger: a spoiled card is recorded in the
//! journal and reissued with the original's form (all but card data), linked both ways; the
//! approvals and the exceptions' ownership, which live in the ledger, say so.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{assert_no_canary, desk, draft, until_final};
use order_workflow::{DeskSettings, ProductionPhase, WorkflowError};

fn refused(e: WorkflowError) -> String {
    match e {
        WorkflowError::Refused { code, .. } => code.as_str().to_owned(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_spoiled_card_is_recorded_and_reissued_with_the_originals_form() {
    let d = desk("teller1", DeskSettings::default()).await;
    let first = d.desk.submit(draft("CREATION"), |_| {}).await.unwrap();
    // Not finished yet: nothing to spoil, nothing to reissue.
    let e = d.desk.report_spoiled(&first.card_id, "misprint").await;
    if let Err(e) = e {
        assert_eq!(refused(e), "not_finished");
    }
    assert_eq!(
        until_final(&d.desk, &first.card_id).await,
        ProductionPhase::Done
    );
    let e = d.desk.reissue_form(&first.card_id).await.unwrap_err();
    assert_eq!(refused(e), "not_spoiled");
    let mut early = draft("CREATION");
    early.reissue_of = Some(first.card_id.to_string());
    let e = d.desk.submit(early, |_| {}).await.unwrap_err();
    assert_eq!(refused(e), "not_spoiled");

    // A reason outside the configured list is refused; then recorded once.
    let e = d
        .desk
        .report_spoiled(&first.card_id, "lost_in_mail")
        .await
        .unwrap_err();
    assert_eq!(refused(e), "unknown_reason");
    d.desk
        .report_spoiled(&first.card_id, "misprint")
        .await
        .unwrap();
    let e = d
        .desk
        .report_spoiled(&first.card_id, "damaged")
        .await
        .unwrap_err();
    assert_eq!(refused(e), "already_spoiled");

    // The reissue's form: the original's labels, design and lines; no card data.
    let form = d.desk.reissue_form(&first.card_id).await.unwrap();
    assert!(form.complete, "this session ordered it");
    assert_eq!(form.reissue_of, first.card_id);
    assert_eq!(form.consumer_id, "CUST-1001");
    assert_eq!(form.card_product_id, "DEMO_DEBIT");
    assert_eq!(form.perso_station, "BRANCH-PS-01");
    assert_eq!(form.priority.as_deref(), Some("STANDARD"));
    assert_eq!(form.design.custom_lines, ["WELCOME"]);
    let json = serde_json::to_string(&form).unwrap();
    assert!(
        !json.contains("4000056655665556") && !json.contains("ANA GARCIA"),
        "{json}"
    );

    let mut again = draft("CREATION");
    again.reissue_of = Some(form.reissue_of.to_string());
    let second = d.desk.submit(again, |_| {}).await.unwrap();
    assert_eq!(
        until_final(&d.desk, &second.card_id).await,
        ProductionPhase::Done
    );

    let original = d.desk.order_timeline(&first.card_id).await.unwrap();
    assert_eq!(original.counter.spoiled_reason.as_deref(), Some("misprint"));
    assert!(original.counter.spoiled_at.is_some());
    assert_eq!(
        original.counter.reissued_by,
        std::slice::from_ref(&second.card_id)
    );
    let reissue = d.desk.order_timeline(&second.card_id).await.unwrap();
    assert_eq!(reissue.counter.reissue_of, Some(first.card_id.clone()));

    // Nothing of the card data anywhere on disk.
    assert_no_canary(d.dir.path());
}

#[tokio::test]
async fn approvals_and_exception_ownership_need_the_branch_ledger() {
    let mut settings = DeskSettings::default();
    settings.approvals.issuance_types = vec!["REPLACEMENT".into()];
    let d = desk("teller1", settings).await;
    assert!(d.desk.needs_approval(&draft("REPLACEMENT")));
    assert!(!d.desk.needs_approval(&draft("CREATION")));
    // An order that needs approval is never sent directly.
    let e = d
        .desk
        .submit(draft("REPLACEMENT"), |_| {})
        .await
        .unwrap_err();
    assert_eq!(refused(e), "approval_needed");
    assert_eq!(d.control.orders_received(), 0);
    let e = d
        .desk
        .request_approval(draft("REPLACEMENT"), "stolen")
        .await
        .unwrap_err();
    assert_eq!(refused(e), "no_ledger");
    assert!(d.desk.held_order().is_none(), "nothing is held");
    let e = d
        .desk
        .request_approval(draft("CREATION"), "why")
        .await
        .unwrap_err();
    assert_eq!(refused(e), "approval_not_needed");
    assert!(d.desk.pending_approvals().await.unwrap().is_empty());

    assert!(d.desk.exception_cases().await.unwrap().is_none());
    let e = d
        .desk
        .take_exception(&desk_domain::CardId::parse("card-1").unwrap())
        .await
        .unwrap_err();
    assert_eq!(refused(e), "no_ledger");
    assert!(
        d.desk
            .counter_time(0.0, 86_400_000.0, 0)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        d.desk
            .day_balance(0.0, 86_400_000.0, 0)
            .await
            .unwrap()
            .is_none()
    );
    assert_no_canary(d.dir.path());
}

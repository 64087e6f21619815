//! Counter workflows through two real app instances on a real branch ledger (issue 13): a
//! REPLACEMENT asked for at desk 1 (teller `ana`) is approved at desk 2 by another person
//! (supervisor `sofia`) and reaches CARD_PROD_DONE; the same person cannot approve their own
//! request — the ledger refuses it even when the command is called directly; a declined and a
//! timed-out request leave no card data anywhere (canary scan of both desks and the ledger);
//! a spoiled card is recorded and reissued, and both appear linked in the supervisor's detail
//! and in the end-of-day balance; an exception is taken and resolved; the counter time of the
//! orders made here appears in the report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test crate: failing loudly is the point

mod ledger_harness;

use std::time::{Duration, Instant};

use desk_e2e::external::ExternalD1;
use desk_e2e::{CANARY_PAN, Desk};
use fantoccini::Locator;
use ledger_harness::{Pg, ledger_db, register};
use serde_json::json;

const APPROVALS: &str = r#"[approvals]
issuance_types = ["REPLACEMENT"]
timeout_seconds = 30
"#;

/// Back to the form: it is free while orders are in production; only an ended approval
/// request stands in its place until the teller moves on.
async fn to_form(desk: &Desk) {
    if desk
        .client
        .find(Locator::Css("[data-testid='approval-ended-title']"))
        .await
        .is_ok()
    {
        desk.click("approval-new-order").await.unwrap();
    }
    desk.find("order-form").await.unwrap();
}

async fn fill(desk: &Desk, consumer: &str, issuance: &str) {
    to_form(desk).await;
    desk.type_into("consumerId", consumer).await.unwrap();
    desk.choose("cardProductId", "E2E_DEBIT").await.unwrap();
    desk.choose("issuanceType", issuance).await.unwrap();
    desk.type_into("pan", CANARY_PAN).await.unwrap();
    desk.type_into("exp", "0730").await.unwrap();
    desk.type_into("name", "ANA GARCIA").await.unwrap();
}

/// A REPLACEMENT for `consumer`, sent for approval with `reason`.
async fn ask_approval(desk: &Desk, consumer: &str, reason: &str) {
    fill(desk, consumer, "REPLACEMENT").await;
    desk.review().await.unwrap();
    desk.find("needs-approval").await.unwrap();
    desk.type_into("approvalReason", reason).await.unwrap();
    desk.click("request-approval-button").await.unwrap();
    let started = Instant::now();
    while desk
        .client
        .find(Locator::Css("[data-testid='approval-wait']"))
        .await
        .is_err()
    {
        if let Ok(error) = desk
            .client
            .find(Locator::Css("[data-testid='error-panel']"))
            .await
        {
            panic!(
                "the request failed: {}",
                error.html(false).await.unwrap_or_default()
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no waiting panel: {}",
            desk.page_html().await.unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    desk.wait_attr("approval-wait", "data-state", "pending")
        .await
        .unwrap();
}

async fn order(desk: &Desk, consumer: &str) {
    fill(desk, consumer, "CREATION").await;
    desk.review().await.unwrap();
    desk.click("confirm-button").await.unwrap();
    // The newest order heads the production list.
    desk.wait_css_attr(
        "[data-testid='result-panel']",
        "data-consumer",
        &[consumer],
        Duration::from_secs(30),
    )
    .await
    .unwrap();
}

/// Calls a command straight through the window's IPC, as a tampered window would.
async fn invoke(desk: &Desk, command: &str, args: serde_json::Value) -> serde_json::Value {
    desk.client
        .execute_async(
            "const [command, args, done] = arguments;
             window.__TAURI_INTERNALS__.invoke(command, args)
               .then(v => done({ok: v}))
               .catch(e => done({err: e}));",
            vec![json!(command), args],
        )
        .await
        .unwrap()
}

/// The supervisor's open requests, once `n` of them are listed.
async fn requests(desk: &Desk, n: usize) -> Vec<fantoccini::elements::Element> {
    let started = Instant::now();
    loop {
        let found = desk
            .client
            .find_all(Locator::Css("[data-testid='approval-request']"))
            .await
            .unwrap_or_default();
        if found.len() == n {
            return found;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{} requests listed, not {n}",
            found.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Opens the detail of each listed order of `consumer` and returns the counter sections' text.
async fn counter_details(desk: &Desk, consumer: &str, expected: usize) -> Vec<String> {
    let started = Instant::now();
    loop {
        let mut rows = Vec::new();
        for row in desk
            .client
            .find_all(Locator::Css("[data-testid='order-row']"))
            .await
            .unwrap_or_default()
        {
            if row.text().await.unwrap_or_default().contains(consumer) {
                rows.push(row);
            }
        }
        if rows.len() == expected {
            let mut texts = Vec::new();
            for i in 0..expected {
                let rows = desk
                    .client
                    .find_all(Locator::Css("[data-testid='order-row']"))
                    .await
                    .unwrap();
                let mut matching = Vec::new();
                for row in rows {
                    if row.text().await.unwrap_or_default().contains(consumer) {
                        matching.push(row);
                    }
                }
                matching[i]
                    .find(Locator::Css("[data-testid='open-detail']"))
                    .await
                    .unwrap()
                    .click()
                    .await
                    .unwrap();
                let section = desk.find("detail-counter").await.unwrap();
                texts.push(section.text().await.unwrap());
                desk.click("close-detail").await.unwrap();
            }
            return texts;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{} orders of {consumer} listed, not {expected}",
            rows.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn dual_control_spoiled_reissue_exceptions_and_counter_time_across_two_desks() {
    let pg = Pg::from_env();
    let work = tempfile::tempdir().unwrap();
    let d1 = ExternalD1::start(work.path()).await.unwrap();
    let (db, mut admin) = ledger_db(&pg, "counter_e2e").await;
    let teller = register(&pg, &mut admin, "B1-COUNTER", "B1").await;
    let supervisor = register(&pg, &mut admin, "B1-BACKOFFICE", "B1").await;
    let teller_config = teller.install(&pg, &db, &d1, work.path(), APPROVALS);
    let supervisor_config = supervisor.install(&pg, &db, &d1, work.path(), APPROVALS);
    let desk1 = teller
        .start(tempfile::tempdir().unwrap(), &teller_config, "ana:tellers")
        .await;
    let desk2 = supervisor
        .start(
            tempfile::tempdir().unwrap(),
            &supervisor_config,
            "sofia:supervisors",
        )
        .await;
    for desk in [&desk1, &desk2] {
        desk.wait_css_attr(
            "[data-testid='ledger-status']",
            "data-state",
            &["up_to_date"],
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    }

    // 1. A REPLACEMENT needs a second person: asked at desk 1, approved at desk 2.
    ask_approval(&desk1, "CUST-APPROVE", "card stolen").await;
    desk1.screenshot("counter-approval-waiting").await.unwrap();
    let html = desk1.page_html().await.unwrap();
    assert!(!html.contains(CANARY_PAN) && !html.contains("ANA GARCIA"));
    desk2
        .wait_css_attr(
            "[data-testid='nav-approvals-badge']",
            "aria-label",
            &["1 requests waiting"],
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    desk2.click("nav-supervisor").await.unwrap();
    desk2.click("tab-approvals").await.unwrap();
    let listed = requests(&desk2, 1).await;
    assert!(listed[0].text().await.unwrap().contains("card stolen"));
    desk2
        .type_into("approvalComment", "ID checked")
        .await
        .unwrap();
    desk2.screenshot("counter-approvals-view").await.unwrap();
    let violations = desk2.axe_violations().await.unwrap();
    assert!(violations.is_empty(), "accessibility: {violations:?}");
    desk2.click("approve-button").await.unwrap();
    desk2.find("approval-decided").await.unwrap();
    desk1
        .wait_css_attr(
            "[data-testid='result-panel']",
            "data-phase",
            &["done"],
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert!(
        desk1
            .text("result-title")
            .await
            .unwrap()
            .contains("Card ready")
    );

    // 2. The same person cannot approve their own request: sofia asks at desk 2, then calls
    //    the decision command directly — the ledger refuses it; her request is then canceled.
    desk2.click("nav-order").await.unwrap();
    ask_approval(&desk2, "CUST-SELF", "lost").await;
    let pending = invoke(&desk2, "pending_approvals", json!({})).await;
    let mine = pending["ok"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["isMine"] == json!(true))
        .expect("sofia's own request")
        .clone();
    let answer = invoke(
        &desk2,
        "decide_approval",
        json!({"cardId": mine["cardId"], "approve": true, "comment": null}),
    )
    .await;
    assert_eq!(answer["err"]["code"], "self_approval", "{answer}");
    desk2.click("cancel-approval").await.unwrap();
    desk2
        .wait_attr("approval-wait", "data-state", "canceled")
        .await
        .unwrap();
    // A teller cannot decide at all (not a supervisor).
    let answer = invoke(
        &desk1,
        "decide_approval",
        json!({"cardId": mine["cardId"], "approve": true, "comment": null}),
    )
    .await;
    assert_eq!(answer["err"]["kind"], "forbidden", "{answer}");

    // 3. Declined: desk 1 is told who and why; nothing was sent.
    let received_before = d1.control.received().await.unwrap();
    ask_approval(&desk1, "CUST-DECLINE", "customer in a hurry").await;
    desk2.click("nav-supervisor").await.unwrap();
    desk2.click("tab-approvals").await.unwrap();
    requests(&desk2, 1).await;
    desk2
        .type_into("approvalComment", "not the account holder")
        .await
        .unwrap();
    desk2.click("decline-button").await.unwrap();
    desk1
        .wait_attr("approval-wait", "data-state", "declined")
        .await
        .unwrap();
    assert_eq!(
        desk1.text("approval-comment").await.unwrap(),
        "not the account holder"
    );
    desk1.screenshot("counter-approval-declined").await.unwrap();

    // 4. Timed out: nobody decides within 30 s.
    ask_approval(&desk1, "CUST-TIMEOUT", "lost card").await;
    desk1
        .wait_css_attr(
            "[data-testid='approval-wait']",
            "data-state",
            &["expired"],
            Duration::from_secs(75),
        )
        .await
        .unwrap();
    assert_eq!(
        d1.control.received().await.unwrap(),
        received_before,
        "a declined or expired order never reaches D1"
    );
    // Canary scan: no card number or printed name in any file of either desk, nor in the ledger.
    for desk in [&desk1, &desk2] {
        for needle in [CANARY_PAN, "ANA GARCIA"] {
            let found = desk.files_containing(needle);
            assert!(found.is_empty(), "{needle} in {found:?}");
        }
    }
    let dump = pg.dump(&db);
    for needle in [CANARY_PAN, "ANA GARCIA"] {
        assert!(
            !dump.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle} in the ledger's dump"
        );
    }

    // 5. A spoiled card, recorded and reissued with the original's form.
    order(&desk1, "CUST-SPOIL").await;
    desk1
        .wait_attr("result-panel", "data-phase", "done")
        .await
        .unwrap();
    desk1.click("spoiled-button").await.unwrap();
    desk1.choose("spoiledReason", "misprint").await.unwrap();
    desk1.click("spoiled-confirm").await.unwrap();
    desk1.find("spoiled-recorded").await.unwrap();
    desk1.click("reissue-button").await.unwrap();
    desk1.find("order-form").await.unwrap();
    let consumer = desk1
        .client
        .find(Locator::Css("[name='consumerId']"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(consumer.as_deref(), Some("CUST-SPOIL"));
    let pan = desk1
        .client
        .find(Locator::Css("[name='pan']"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(pan.as_deref(), Some(""), "no card data in a reissue's form");
    desk1.type_into("pan", CANARY_PAN).await.unwrap();
    desk1.type_into("exp", "0731").await.unwrap();
    desk1.type_into("name", "ANA GARCIA").await.unwrap();
    desk1.review().await.unwrap();
    desk1.click("confirm-button").await.unwrap();
    desk1
        .wait_attr("result-panel", "data-phase", "done")
        .await
        .unwrap();

    desk2.click("tab-orders").await.unwrap();
    let details = counter_details(&desk2, "CUST-SPOIL", 2).await;
    assert!(
        details
            .iter()
            .any(|t| t.contains("Spoiled") && t.contains("Misprint") && t.contains("Reissued as")),
        "{details:?}"
    );
    assert!(
        details.iter().any(|t| t.contains("Reissue of")),
        "{details:?}"
    );
    let approved = counter_details(&desk2, "CUST-APPROVE", 1).await;
    assert!(
        approved[0].contains("ana")
            && approved[0].contains("sofia")
            && approved[0].contains("ID checked"),
        "{approved:?}"
    );

    // 6. An exception (a data exception at the station) is taken and resolved at desk 2.
    d1.control
        .post(
            "faults/data-exception",
            json!({"count": 1, "reason": "embossing data rejected"}),
        )
        .await
        .unwrap();
    order(&desk1, "CUST-EXCEPTION").await;
    desk1
        .wait_attr("result-panel", "data-phase", "failed")
        .await
        .unwrap();
    desk2.click("tab-exceptions").await.unwrap();
    desk2.find("exception-case").await.unwrap();
    desk2.click("take-button").await.unwrap();
    desk2
        .wait_css_attr(
            "[data-testid='resolve-button']",
            "data-testid",
            &["resolve-button"],
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    assert!(desk2.text("case-owner").await.unwrap().contains("sofia"));
    desk2
        .type_into("caseText", "data corrected, card reordered")
        .await
        .unwrap();
    desk2.screenshot("counter-exception-taken").await.unwrap();
    desk2.click("resolve-button").await.unwrap();
    desk2.find("no-exceptions").await.unwrap();

    // 7. Counter time and the end-of-day balance of the orders made here.
    desk2.click("tab-counter").await.unwrap();
    let overall = desk2.text("counter-overall").await.unwrap();
    assert!(overall.contains("cards"), "{overall}");
    let balance = desk2.text("balance-table").await.unwrap();
    assert!(balance.contains("E2E-PS-01"), "{balance}");
    desk2.screenshot("counter-report").await.unwrap();
    let violations = desk2.axe_violations().await.unwrap();
    assert!(violations.is_empty(), "accessibility: {violations:?}");

    desk1.stop().await.unwrap();
    desk2.stop().await.unwrap();
}

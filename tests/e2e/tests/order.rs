//! The teller's journeys through the real binary, against the in-process training D1.

use desk_e2e::{BoxError, CANARY_PAN, Desk};
use serde_json::json;

async fn review_and_confirm(desk: &Desk) -> Result<(), BoxError> {
    desk.review().await?;
    desk.click("confirm-button").await
}

#[tokio::test]
async fn full_order_reaches_done_and_the_next_order_reuses_the_token() {
    let desk = Desk::start().await.unwrap();
    desk.fill_valid_order("CUST-1001").await.unwrap();
    desk.find("pan-ok").await.unwrap();
    desk.screenshot("order-form-en").await.unwrap();

    desk.review().await.unwrap();
    let pan = desk.text("review-pan").await.unwrap();
    assert_eq!(pan, "•••• 5556");
    desk.screenshot("order-review-en").await.unwrap();

    desk.click("confirm-button").await.unwrap();
    desk.wait_attr("result-panel", "data-phase", "done")
        .await
        .unwrap();
    let timeline = desk.text("timeline").await.unwrap();
    assert!(
        timeline.contains("Card personalized"),
        "timeline: {timeline}"
    );
    let operation_id = desk.text("operation-id").await.unwrap();
    assert!(!operation_id.is_empty());
    desk.screenshot("order-done-en").await.unwrap();
    // No card data stays on screen after submission.
    let html = desk.page_html().await.unwrap();
    for needle in [CANARY_PAN, "4000 0566"] {
        if let Some(at) = html.find(needle) {
            let start = html[..at]
                .char_indices()
                .rev()
                .nth(200)
                .map_or(0, |(i, _)| i);
            panic!(
                "PAN left in the page: …{}…",
                &html[start..(at + 40).min(html.len())]
            );
        }
    }

    // The form is already free for the next customer.
    desk.fill_valid_order("CUST-1002").await.unwrap();
    review_and_confirm(&desk).await.unwrap();
    desk.wait_order("CUST-1002", &["done"]).await.unwrap();

    let (tokens, orders) = desk.sandbox.counters().await.unwrap();
    assert_eq!((tokens, orders), (1, 2), "two orders, one token");
    let logs = std::fs::read_dir(desk.data_dir.path().join("logs"))
        .unwrap()
        .count();
    assert!(logs > 0, "the app writes its log files");
    // The PAN as typed and as sent, and the printed name: card data never lands on disk.
    for needle in [CANARY_PAN, "4000 0566 5566 5556", "ANA GARCIA"] {
        assert_eq!(
            desk.files_containing(needle),
            Vec::<std::path::PathBuf>::new(),
            "{needle} on disk"
        );
    }
    desk.stop().await.unwrap();
}

#[tokio::test]
async fn invalid_inputs_show_inline_messages_and_nothing_is_sent() {
    let desk = Desk::start().await.unwrap();
    desk.fill_valid_order("CUST-2001").await.unwrap();
    desk.type_into("pan", "4000056655665557").await.unwrap(); // check digit off by one
    desk.type_into("exp", "0120").await.unwrap(); // January 2020
    desk.type_into("name", "ANA <GARCIA>").await.unwrap();
    desk.find("order-form")
        .await
        .unwrap()
        .find(fantoccini::Locator::Css("summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    desk.type_into("customLines", &"X".repeat(257))
        .await
        .unwrap();
    desk.click("review-button").await.unwrap();

    let pan = desk.text("error-cardData.pan").await.unwrap();
    assert!(pan.contains("check digit"), "PAN message: {pan}");
    let exp = desk.text("error-cardData.exp").await.unwrap();
    assert!(exp.contains("in the past"), "expiry message: {exp}");
    let name = desk.text("error-cardData.name").await.unwrap();
    assert!(name.contains("not allowed"), "name message: {name}");
    let lines = desk.text("error-cardDesign.customLines").await.unwrap();
    assert!(
        lines.contains("Line 1") && lines.contains("256"),
        "custom line message: {lines}"
    );
    let summary = desk.text("form-summary").await.unwrap();
    assert_eq!(summary, "4 fields need correcting.");
    desk.screenshot("order-invalid-en").await.unwrap();

    let (_, orders) = desk.sandbox.counters().await.unwrap();
    assert_eq!(orders, 0, "nothing was sent");
    desk.stop().await.unwrap();
}

#[tokio::test]
async fn a_503_is_retried_transparently_with_the_same_card() {
    let desk = Desk::start().await.unwrap();
    desk.fill_valid_order("CUST-3001").await.unwrap();
    desk.sandbox
        .post("faults/fail-next", json!({"count": 1, "status": 503}))
        .await
        .unwrap();
    review_and_confirm(&desk).await.unwrap();
    desk.wait_attr("result-panel", "data-phase", "done")
        .await
        .unwrap();
    let (_, orders) = desk.sandbox.counters().await.unwrap();
    assert_eq!(orders, 1);
    desk.stop().await.unwrap();
}

#[tokio::test]
async fn a_station_exception_shows_its_reason() {
    let desk = Desk::start().await.unwrap();
    desk.fill_valid_order("CUST-4001").await.unwrap();
    desk.sandbox
        .post(
            "stations/BRANCH-PS-01/offline",
            json!({"reason": "Printer out of cards"}),
        )
        .await
        .unwrap();
    review_and_confirm(&desk).await.unwrap();
    desk.wait_attr("result-panel", "data-phase", "failed")
        .await
        .unwrap();
    let reason = desk.text("production-reason").await.unwrap();
    assert!(reason.contains("Printer out of cards"), "reason: {reason}");
    desk.screenshot("order-station-exception-en").await.unwrap();
    desk.stop().await.unwrap();
}

#[tokio::test]
async fn an_unknown_outcome_is_reconciled_without_a_second_card() {
    let desk = Desk::start().await.unwrap();
    desk.fill_valid_order("CUST-5001").await.unwrap();
    desk.sandbox
        .post("faults/drop-after-read", json!({"count": 1}))
        .await
        .unwrap();
    review_and_confirm(&desk).await.unwrap();
    desk.wait_attr("result-panel", "data-phase", "done")
        .await
        .unwrap();
    let (_, orders) = desk.sandbox.counters().await.unwrap();
    assert_eq!(
        orders, 1,
        "the dropped order was found, not sent again as a new card"
    );
    desk.stop().await.unwrap();
}

#[tokio::test]
async fn form_review_and_result_pass_an_accessibility_audit_in_english_and_spanish() {
    let desk = Desk::start().await.unwrap();
    desk.find("order-form").await.unwrap();
    assert_eq!(
        desk.axe_violations().await.unwrap(),
        Vec::<String>::new(),
        "form"
    );

    desk.click("review-button").await.unwrap(); // empty form: every error shown
    desk.find("form-summary").await.unwrap();
    assert_eq!(
        desk.axe_violations().await.unwrap(),
        Vec::<String>::new(),
        "form with errors"
    );

    desk.choose("language", "es").await.unwrap();
    desk.fill_valid_order("CUST-6001").await.unwrap();
    desk.screenshot("order-form-es").await.unwrap();
    desk.review().await.unwrap();
    assert_eq!(
        desk.axe_violations().await.unwrap(),
        Vec::<String>::new(),
        "review"
    );
    let review = desk.text("review-panel").await.unwrap();
    assert!(
        review.contains("Visa Débito (demo)"),
        "the product in Spanish: {review}"
    );
    desk.screenshot("order-review-es").await.unwrap();
    desk.click("confirm-button").await.unwrap();
    desk.wait_attr("result-panel", "data-phase", "done")
        .await
        .unwrap();
    assert_eq!(
        desk.axe_violations().await.unwrap(),
        Vec::<String>::new(),
        "result"
    );
    let title = desk.text("result-title").await.unwrap();
    assert_eq!(title, "Tarjeta lista");
    desk.screenshot("order-done-es").await.unwrap();
    desk.stop().await.unwrap();
}

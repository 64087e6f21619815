//! The counter as tellers live it, through the real binary against the training D1: the review
//! of everything printed (and no order sent by a repeated Enter), the next customer served while
//! the first card is made, *Order again* after a station exception, the station and D1 in the
//! status bar, every practice trigger, and the card number crossing IPC at most twice per order.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use desk_e2e::{BoxError, CANARY_PAN, Desk};
use fantoccini::Locator;
use order_journal::{Journal, OrderState};
use serde_json::json;

/// Everything the form can print or send, beyond a valid order.
async fn fill_everything(desk: &Desk, consumer: &str) -> Result<(), BoxError> {
    desk.fill_valid_order(consumer).await?;
    desk.choose("issuanceType", "RENEWAL").await?;
    desk.choose("priority", "URGENT").await?;
    desk.choose("persoStation", "BRANCH-PS-02").await?;
    desk.type_into("secondName", "ACME LTD").await?;
    desk.find("order-form")
        .await?
        .find(Locator::Css("summary"))
        .await?
        .click()
        .await?;
    desk.choose("artworkId", "CLASSIC_BLUE").await?;
    desk.type_into("memberId", "M-4711").await?;
    desk.type_into("customLines", "THANK YOU").await?;
    desk.type_into("carrierLanguage", "ES").await?;
    desk.type_into("carrierLines", "Dear customer").await?;
    // Back to the last card field, as a teller finishing the form would be.
    desk.client
        .find(Locator::Css("[name='name']"))
        .await?
        .click()
        .await?;
    Ok(())
}

async fn value_of(desk: &Desk, name: &str) -> String {
    desk.client
        .find(Locator::Css(&format!("[name='{name}']")))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

/// The order of `consumer` in the production list reaches one of `phases`.
async fn order_reaches(desk: &Desk, consumer: &str, phases: &[&str]) -> String {
    desk.wait_css_attr(
        &format!("[data-testid='result-panel'][data-consumer='{consumer}']"),
        "data-phase",
        phases,
        Duration::from_secs(90),
    )
    .await
    .unwrap()
}

async fn place(desk: &Desk, consumer: &str) {
    desk.fill_valid_order(consumer).await.unwrap();
    desk.review().await.unwrap();
    desk.click("confirm-button").await.unwrap();
}

#[tokio::test]
async fn the_review_shows_every_printed_field_and_a_repeated_enter_sends_nothing() {
    let desk = Desk::start().await.unwrap();
    fill_everything(&desk, "CUST-1101").await.unwrap();
    desk.eval("document.querySelector(\"[data-testid='work-area']\").scrollTop = 0; return true;")
        .await
        .unwrap();
    desk.screenshot("counter-form-en").await.unwrap();
    // Back in the last card field, as a teller finishing the form would be.
    desk.client
        .find(Locator::Css("[name='name']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Enter in the form opens the review; a second Enter 150 ms later must not send the order.
    desk.press_enter_twice(Duration::from_millis(150))
        .await
        .unwrap();
    desk.find("review-panel").await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        desk.client
            .find(Locator::Css(
                "[data-testid='progress-panel'], [data-testid='result-panel']"
            ))
            .await
            .is_err(),
        "nothing was sent"
    );
    assert_eq!(
        desk.sandbox.received().await.unwrap(),
        0,
        "no order reached D1"
    );

    for (id, expected) in [
        ("review-consumer", "CUST-1101"),
        ("review-product", "Visa Debit (demo)"),
        ("review-issuance", "Renewal"),
        ("review-priority", "Urgent"),
        ("review-station", "Back office printer (BRANCH-PS-02)"),
        ("review-name", "ANA GARCIA"),
        ("review-second-line", "ACME LTD"),
        ("review-pan", "•••• 5556"),
        ("review-expiry", "07/30"),
        ("review-artwork", "Classic blue"),
        ("review-custom-lines", "THANK YOU"),
        ("review-member-id", "M-4711"),
        ("review-carrier-language", "ES"),
        ("review-carrier-lines", "Dear customer"),
    ] {
        assert_eq!(desk.text(id).await.unwrap().trim(), expected, "{id}");
    }
    let review = desk.text("review-panel").await.unwrap();
    assert!(!review.contains("4000 0566") && !review.contains(CANARY_PAN));
    assert_eq!(
        desk.axe_violations().await.unwrap(),
        Vec::<String>::new(),
        "review"
    );
    desk.screenshot("counter-review-en").await.unwrap();

    desk.click("confirm-button").await.unwrap();
    order_reaches(&desk, "CUST-1101", &["done"]).await;
    desk.stop().await.unwrap();
}

#[tokio::test]
async fn a_second_order_goes_while_the_first_is_in_production_and_both_are_made() {
    // Slow production steps: the first card is still being made while the second is ordered.
    let desk = Desk::start_with(
        tempfile::tempdir().unwrap(),
        &[("ISSUANCE_DESK_TRAINING_STEP_MS", "6000")],
    )
    .await
    .unwrap();
    place(&desk, "CUST-1201").await;
    let first = desk
        .client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("[data-testid='result-panel']"))
        .await
        .unwrap();
    let first_card = first.attr("data-card-id").await.unwrap().unwrap();
    // The form is free at once, for the next customer, with the focus on Consumer ID.
    desk.find("order-form").await.unwrap();
    assert_eq!(value_of(&desk, "consumerId").await, "");
    assert_eq!(value_of(&desk, "pan").await, "");
    let focused = desk
        .eval("return document.activeElement && document.activeElement.name;")
        .await
        .unwrap();
    assert_eq!(focused, json!("consumerId"));

    place(&desk, "CUST-1202").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while desk
        .client
        .find_all(Locator::Css("[data-testid='result-panel']"))
        .await
        .unwrap()
        .len()
        < 2
    {
        assert!(Instant::now() < deadline, "the second order is not listed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let first_phase = desk
        .client
        .find(Locator::Css(&format!("[data-card-id='{first_card}']")))
        .await
        .unwrap()
        .attr("data-phase")
        .await
        .unwrap();
    assert_eq!(
        first_phase.as_deref(),
        Some("in_progress"),
        "precondition: the first card is still being made"
    );
    desk.screenshot("counter-production-list-en").await.unwrap();
    assert_eq!(
        desk.axe_violations().await.unwrap(),
        Vec::<String>::new(),
        "production list"
    );

    for card in [&first_card] {
        desk.wait_css_attr(
            &format!("[data-card-id='{card}']"),
            "data-phase",
            &["done"],
            Duration::from_secs(90),
        )
        .await
        .unwrap();
    }
    order_reaches(&desk, "CUST-1202", &["done"]).await;
    let (_, accepted) = desk.sandbox.counters().await.unwrap();
    assert_eq!(accepted, 2);
    desk.stop().await.unwrap();
}

#[tokio::test]
async fn order_again_after_a_station_exception_keeps_consumer_product_and_station() {
    let desk = Desk::start().await.unwrap();
    desk.sandbox
        .post(
            "stations/BRANCH-PS-02/offline",
            json!({"reason": "PRINTER_JAM"}),
        )
        .await
        .unwrap();
    desk.fill_valid_order("CUST-1301").await.unwrap();
    desk.choose("persoStation", "BRANCH-PS-02").await.unwrap();
    desk.review().await.unwrap();
    desk.click("confirm-button").await.unwrap();
    order_reaches(&desk, "CUST-1301", &["failed"]).await;

    // The reason in plain words, the raw code beside it, the station named.
    let reason = desk.text("production-reason").await.unwrap();
    assert!(
        reason.contains("The printer jammed") && reason.contains("PRINTER_JAM"),
        "{reason}"
    );
    let next = desk.text("production-next").await.unwrap();
    assert!(next.contains("Back office printer"), "{next}");
    // The status bar names the chosen station (not the default) and warns.
    let station = desk.find("station-status").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while station.attr("data-last-failed").await.unwrap().as_deref() != Some("true") {
        assert!(
            Instant::now() < deadline,
            "no station warning in the status bar"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let status = desk.text("station-status").await.unwrap();
    assert!(
        status.contains("Back office printer") && status.contains("PRINTER_JAM"),
        "{status}"
    );
    assert!(
        desk.text("station-warning")
            .await
            .unwrap()
            .contains("The printer jammed")
    );
    // D1 answered every call: green.
    let connection = desk.find("connection-status").await.unwrap();
    assert_eq!(
        connection.attr("data-state").await.unwrap().as_deref(),
        Some("ok")
    );

    desk.click("order-again-button").await.unwrap();
    assert_eq!(value_of(&desk, "consumerId").await, "CUST-1301");
    assert_eq!(value_of(&desk, "cardProductId").await, "DEMO_DEBIT");
    assert_eq!(value_of(&desk, "persoStation").await, "BRANCH-PS-02");
    assert_eq!(value_of(&desk, "pan").await, "", "no card data");
    assert_eq!(value_of(&desk, "name").await, "", "no card data");
    desk.screenshot("counter-order-again-en").await.unwrap();
    assert_eq!(
        desk.axe_violations().await.unwrap(),
        Vec::<String>::new(),
        "order again"
    );
    desk.stop().await.unwrap();
}

#[tokio::test]
async fn the_status_bar_turns_red_when_a_real_d1_call_fails() {
    let desk = Desk::start().await.unwrap();
    let connection = desk.find("connection-status").await.unwrap();
    let wait_state = |want: &'static str| {
        let connection = connection.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(30);
            while connection.attr("data-state").await.unwrap().as_deref() != Some(want) {
                assert!(Instant::now() < deadline, "D1 state is not {want}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    wait_state("ok").await;
    desk.fill_valid_order("CUST-1401").await.unwrap();
    desk.review().await.unwrap();
    // The periodic token check still succeeds; the order's status questions fail.
    desk.click("confirm-button").await.unwrap();
    order_reaches(&desk, "CUST-1401", &["in_progress", "done"]).await;
    desk.sandbox
        .post("faults/fail-next", json!({"count": 100000, "status": 500}))
        .await
        .unwrap();
    place(&desk, "CUST-1402").await;
    wait_state("failing").await;
    desk.sandbox.post("faults/clear", json!({})).await.unwrap();
    wait_state("ok").await;
    desk.stop().await.unwrap();
}

/// The practice triggers, each to the screen it is for, on the demo card number the help
/// panel gives.
#[tokio::test]
async fn every_practice_trigger_reaches_its_screen() {
    let desk = Desk::start_with(
        tempfile::tempdir().unwrap(),
        &[("ISSUANCE_DESK__RETRY__BUDGET_SECONDS", "2")],
    )
    .await
    .unwrap();
    desk.click("practice-toggle").await.unwrap();
    let cards = desk.text("practice-cards").await.unwrap();
    assert!(cards.contains("4000 0000 0000 0002"), "{cards}");
    let triggers = desk.text("practice-triggers").await.unwrap();
    for id in [
        "PRACTICE-503",
        "PRACTICE-LOST-ANSWER",
        "PRACTICE-FIELD-REFUSED",
        "PRACTICE-STATION-JAM",
    ] {
        assert!(triggers.contains(id), "{triggers}");
    }
    assert_eq!(
        desk.axe_violations().await.unwrap(),
        Vec::<String>::new(),
        "practice help"
    );
    desk.screenshot("counter-practice-en").await.unwrap();

    let practise = |consumer: &'static str| {
        let desk = &desk;
        async move {
            desk.fill_valid_order(consumer).await.unwrap();
            desk.type_into("pan", "4000000000000002").await.unwrap();
            desk.review().await.unwrap();
            desk.click("confirm-button").await.unwrap();
        }
    };
    let card_of = |consumer: &'static str| {
        let desk = &desk;
        async move {
            desk.client
                .find(Locator::Css(&format!(
                    "[data-testid='result-panel'][data-consumer='{consumer}']"
                )))
                .await
                .unwrap()
                .attr("data-card-id")
                .await
                .unwrap()
                .unwrap()
        }
    };

    // The station jams: the order fails with the reason.
    practise("PRACTICE-STATION-JAM").await;
    order_reaches(&desk, "PRACTICE-STATION-JAM", &["failed"]).await;
    assert!(
        desk.text("production-reason")
            .await
            .unwrap()
            .contains("PRINTER_JAM")
    );

    // D1 refuses a field: no card, the refusal screen.
    practise("PRACTICE-FIELD-REFUSED").await;
    let panel = desk.find("error-panel").await.unwrap();
    assert_eq!(
        panel.attr("data-kind").await.unwrap().as_deref(),
        Some("rejected")
    );
    desk.screenshot("counter-practice-refused-en")
        .await
        .unwrap();
    desk.click("back-to-form").await.unwrap();
    assert_eq!(
        value_of(&desk, "consumerId").await,
        "PRACTICE-FIELD-REFUSED"
    );

    // The answer is lost: the order is found at D1 (one card), and the journal says how.
    practise("PRACTICE-LOST-ANSWER").await;
    order_reaches(&desk, "PRACTICE-LOST-ANSWER", &["done"]).await;
    let lost = card_of("PRACTICE-LOST-ANSWER").await;

    // D1 answers 503 until the retries are spent: checking, then "not seen", then the same
    // order again goes through.
    practise("PRACTICE-503").await;
    desk.client
        .wait()
        .at_most(Duration::from_secs(90))
        .for_element(Locator::Css(
            "[data-consumer='PRACTICE-503'] [data-testid='not-seen-yet']",
        ))
        .await
        .unwrap();
    desk.screenshot("counter-practice-503-en").await.unwrap();
    desk.click("resend-button").await.unwrap();
    order_reaches(&desk, "PRACTICE-503", &["done"]).await;

    // Practice leaves nothing armed: a normal order is made.
    practise("CUST-AFTER-PRACTICE").await;
    order_reaches(&desk, "CUST-AFTER-PRACTICE", &["done"]).await;

    // Station jam, lost answer, 503 (sent again), normal: four cards accepted; the refusal none.
    let (_, accepted) = desk.sandbox.counters().await.unwrap();
    assert_eq!(accepted, 4);
    let journal = Journal::open(desk_e2e::training_journal(desk.data_dir.path())).unwrap();
    let history = journal
        .detail(&order_workflow::CardId::parse(lost.as_str()).unwrap())
        .unwrap()
        .history;
    assert!(
        history
            .iter()
            .any(|h| h.state == OrderState::OutcomeUnknown),
        "the lost answer was reconciled: {history:?}"
    );
    desk.stop().await.unwrap();
}

#[tokio::test]
async fn the_card_number_crosses_ipc_twice_at_most_per_order() {
    let desk = Desk::start().await.unwrap();
    desk.find("order-form").await.unwrap();
    desk.record_ipc().await.unwrap();
    for consumer in ["CUST-1501", "CUST-1502"] {
        desk.fill_valid_order(consumer).await.unwrap();
        // Leave every field, as a teller tabbing through does: each blur asks Rust.
        for field in ["consumerId", "pan", "exp", "name"] {
            desk.client
                .find(Locator::Css(&format!("[name='{field}']")))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
        }
        desk.client
            .find(Locator::Css("[name='consumerId']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        desk.review().await.unwrap();
        desk.click("confirm-button").await.unwrap();
        order_reaches(&desk, consumer, &["done"]).await;
    }
    let calls = desk.ipc_calls().await.unwrap();
    let commands: Vec<&str> = calls.iter().map(|c| c.command.as_str()).collect();
    let count = |name: &str| commands.iter().filter(|c| **c == name).count();
    assert!(
        count("check_order") >= 4,
        "the recorder saw the checks: {commands:?}"
    );
    assert_eq!(count("submit_order"), 2, "{commands:?}");
    let grouped = "4000 0566 5566 5556";
    let crossings: Vec<&str> = calls
        .iter()
        .filter(|c| c.body.contains(CANARY_PAN) || c.body.contains(grouped))
        .map(|c| c.command.as_str())
        .collect();
    eprintln!("IPC calls: {}, PAN crossings: {crossings:?}", calls.len());
    assert!(crossings.len() <= 4, "at most 2 per order: {crossings:?}");
    assert!(
        crossings
            .iter()
            .all(|c| *c == "review_order" || *c == "submit_order"),
        "{crossings:?}"
    );
    assert!(
        calls
            .iter()
            .filter(|c| c.command == "check_order")
            .all(|c| !c.body.contains("\"card\"")),
        "the checks while typing carry no card data"
    );
    for needle in [CANARY_PAN, grouped] {
        assert_eq!(
            desk.files_containing(needle),
            Vec::<std::path::PathBuf>::new(),
            "{needle} on disk"
        );
    }
    desk.stop().await.unwrap();
}

/// In `language`: an accented name is offered as its printable spelling and sent so; a card line
/// typed decomposed (NFD) is sent composed (NFC); a hyphen on a card line is refused by name.
async fn names_and_lines(language: &str) {
    let desk = Desk::start().await.unwrap();
    desk.find("order-form").await.unwrap();
    desk.choose("language", language).await.unwrap();
    let consumer = format!("CUST-NAMES-{}", language.to_uppercase());
    desk.fill_valid_order(&consumer).await.unwrap();
    desk.type_into("name", "JOSÉ PEÑA MÜLLER").await.unwrap();
    let offer = desk.text("use-transliteration").await.unwrap();
    assert!(offer.contains("JOSE PENA MULLER"), "{offer}");
    desk.click("use-transliteration").await.unwrap();
    assert_eq!(value_of(&desk, "name").await, "JOSE PENA MULLER");

    desk.find("order-form")
        .await
        .unwrap()
        .find(Locator::Css("summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    desk.type_into("customLines", "SAN-JOSE").await.unwrap();
    desk.click("review-button").await.unwrap();
    let refusal = desk.text("error-cardDesign.customLines").await.unwrap();
    assert!(refusal.contains("“-”"), "{refusal}");
    let rule = if language == "es" {
        "sin guion"
    } else {
        "no hyphen"
    };
    assert!(refusal.contains(rule), "{refusal}");
    desk.screenshot(&format!("counter-refused-hyphen-{language}"))
        .await
        .unwrap();

    // "SAN JOSÉ" with a combining accent, as some keyboards type it.
    desk.type_into("customLines", "SAN JOSE\u{301}")
        .await
        .unwrap();
    desk.review().await.unwrap();
    let lines = desk.text("review-custom-lines").await.unwrap();
    assert!(lines.contains("SAN JOSÉ"), "{lines}");
    assert_eq!(desk.text("review-name").await.unwrap(), "JOSE PENA MULLER");
    desk.click("confirm-button").await.unwrap();
    order_reaches(&desk, &consumer, &["done"]).await;
    let sent = desk.sandbox.last_accepted().await.unwrap();
    assert_eq!(sent["consumerId"], consumer.as_str());
    assert_eq!(sent["cardDesign"]["customLines"][0], "SAN JOSÉ");
    assert_eq!(
        sent["cardDesign"]["customLines"][0]
            .as_str()
            .unwrap()
            .chars()
            .count(),
        8,
        "composed: one code point for É"
    );
    desk.stop().await.unwrap();
}

#[tokio::test]
async fn names_and_lines_in_english() {
    names_and_lines("en").await;
}

#[tokio::test]
async fn names_and_lines_in_spanish() {
    names_and_lines("es").await;
}

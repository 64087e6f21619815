//! Every screen in English and in Spanish, through the real binary: no text of the other
//! language, no raw message key, no common English word in the Spanish window (except the
//! advice texts Rust still sends, allow-listed below until they move to the locale files), and
//! the supervisor screen at 1280×720: banner and status bar fixed while the list scrolls, at
//! least 12 rows, a search by 4 digits of a consumer id.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use desk_e2e::{BoxError, Desk, found_phrases, phrases_only_in, raw_message_keys};
use fantoccini::Locator;
use fantoccini::actions::InputSource;
use order_journal::{Journal, NewOrder, OperationStatus, PanLast4};
use order_workflow::{CardId, ConsumerId, CorrelationId, IssuerRequestId, OperationId};
use serde_json::json;

/// English that Rust still sends as text: the "what to do" advice of D1 errors
/// (`d1_client::D1Error::what_to_do`). It moves to the locale files with the error-code work
/// (issue 11); until then exactly these are allowed in the Spanish window.
const RUST_ADVICE: &[&str] = &[
    "Check the order's product, station and options; if they look right, give IT the correlation id. Do not resubmit unchanged.",
];

/// Names from the configuration (not translated by the app): products without a Spanish name,
/// stations, artworks, and the product name in the banner.
const CONFIGURED_NAMES: &[&str] = &[
    "Counter 1 printer",
    "Back office printer",
    "Classic blue",
    "Issuance Desk",
];

/// Common English words, as whole lower-case words: a sentence of English left in the Spanish
/// window has some of them.
const ENGLISH_WORDS: &[&str] = &[
    "the", "and", "you", "your", "with", "this", "that", "has", "have", "was", "not", "from",
    "for", "will", "been", "what", "when", "order", "orders", "card", "cards", "check", "again",
    "please", "station", "printer", "failed", "made", "sent", "type",
];

fn os_user() -> String {
    std::process::Command::new("id")
        .arg("-un")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// A training desk whose OS user is a supervisor, with `orders` finished orders of consumers
/// CUST-7000… already in its journal.
async fn supervisor_desk(orders: u32) -> Result<Desk, BoxError> {
    let data_dir = tempfile::tempdir()?;
    let path = desk_e2e::training_journal(data_dir.path());
    std::fs::create_dir_all(path.parent().ok_or("no parent")?)?;
    let journal = Journal::open(&path)?;
    for i in 0..orders {
        let card = CardId::parse(format!("seed-card-{i:03}"))?;
        journal.record_intent(&NewOrder {
            operator: "teller1".into(),
            consumer_id: ConsumerId::parse(format!("CUST-{}", 7000 + i))?,
            product_id: "DEMO_DEBIT".into(),
            station_id: if i % 2 == 0 {
                "BRANCH-PS-01"
            } else {
                "BRANCH-PS-02"
            }
            .into(),
            issuance_type: "CREATION".into(),
            pan_last4: PanLast4::new(&format!("{:04}", 1000 + i))?,
            card_id: card.clone(),
            issuer_request_id: IssuerRequestId::parse(format!("seed-req-{i:03}"))?,
            correlation_id: CorrelationId::parse(format!("seed-corr-{i:03}"))?,
        })?;
        journal.mark_sending(&card)?;
        journal.record_accepted(&card, &OperationId::parse(format!("seed-op-{i:03}"))?)?;
        if i % 5 == 4 {
            journal.record_production_status(
                &card,
                "CARD_PROD_EXCEPTION",
                OperationStatus::Failed,
                Some("PRINTER_JAM"),
            )?;
        } else {
            journal.record_production_status(
                &card,
                "CARD_PROD_DONE",
                OperationStatus::Successful,
                None,
            )?;
        }
    }
    drop(journal);
    let config = format!(
        "environment = \"training\"\n\n[supervisors]\nusers = [{:?}]\n",
        os_user()
    );
    Desk::start_with_machine_config(data_dir, &config).await
}

/// Checks the screen now shown: no phrase of the other language, no raw key, and in Spanish
/// no common English word outside the allowed texts.
async fn check_screen(desk: &Desk, language: &str, screen: &str, other_phrases: &BTreeSet<String>) {
    let text = desk.visible_text().await.unwrap();
    let allowed: Vec<&str> = RUST_ADVICE
        .iter()
        .chain(CONFIGURED_NAMES)
        .copied()
        .collect();
    let found = found_phrases(&text, other_phrases, &allowed);
    assert!(
        found.is_empty(),
        "{language} window, {screen}: text of the other language {found:?}\n---\n{text}"
    );
    let keys = raw_message_keys(&text).unwrap();
    assert!(
        keys.is_empty(),
        "{language} window, {screen}: message keys shown raw {keys:?}"
    );
    if language == "es" {
        let mut rest = text.clone();
        for a in &allowed {
            rest = rest.replace(a, " ");
        }
        // Words, not identifiers: a token with a digit, '-' or '_' (seed-card-004, CUST-7004,
        // CARD_PROD_DONE) is an id or a code.
        let words: Vec<&str> = rest
            .split_whitespace()
            .filter(|t| {
                !t.chars()
                    .any(|c| c.is_ascii_digit() || c == '-' || c == '_')
            })
            .flat_map(|t| t.split(|c: char| !c.is_alphanumeric() && c != '\''))
            .filter(|w| ENGLISH_WORDS.contains(w))
            .collect();
        assert!(
            words.is_empty(),
            "Spanish window, {screen}: English words {words:?}\n---\n{text}"
        );
    }
    assert_eq!(
        desk.axe_violations().await.unwrap(),
        Vec::<String>::new(),
        "{language}, {screen}: accessibility"
    );
}

async fn wait_rows(desk: &Desk, want: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let rows = desk
            .client
            .find_all(Locator::Css(
                "[data-testid='order-table'] [data-testid='order-row']",
            ))
            .await
            .unwrap()
            .len();
        if rows == want {
            return;
        }
        assert!(Instant::now() < deadline, "{rows} rows, not {want}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Walks every screen in `language`: form (with the practice help and with errors), review,
/// the production list (a card made, a station exception), D1's refusal, and the supervisor's
/// orders, detail, exceptions and charts.
async fn walk(language: &str) {
    let other = if language == "es" { "en" } else { "es" };
    let phrases = phrases_only_in(other, language).unwrap();
    let desk = supervisor_desk(5).await.unwrap();
    desk.find("order-form").await.unwrap();
    desk.choose("language", language).await.unwrap();
    desk.click("practice-toggle").await.unwrap();
    check_screen(&desk, language, "form and practice help", &phrases).await;
    desk.click("review-button").await.unwrap();
    desk.find("form-summary").await.unwrap();
    check_screen(&desk, language, "form with errors", &phrases).await;

    // A card made, and one the station could not make.
    for consumer in ["CUST-8001", "PRACTICE-STATION-JAM"] {
        desk.fill_valid_order(consumer).await.unwrap();
        desk.review().await.unwrap();
        if consumer == "CUST-8001" {
            check_screen(&desk, language, "review", &phrases).await;
            desk.screenshot(&format!("counter-review-{language}"))
                .await
                .unwrap();
        }
        desk.click("confirm-button").await.unwrap();
        let phase = if consumer == "CUST-8001" {
            "done"
        } else {
            "failed"
        };
        desk.wait_css_attr(
            &format!("[data-testid='result-panel'][data-consumer='{consumer}']"),
            "data-phase",
            &[phase],
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    }
    desk.wait_css_attr(
        "[data-testid='result-panel'][data-consumer='CUST-8001']",
        "data-phase",
        &["done"],
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    check_screen(&desk, language, "production list", &phrases).await;
    desk.screenshot(&format!("counter-production-list-{language}"))
        .await
        .unwrap();

    // D1 refuses the order: the refusal screen (with Rust's advice, allowed).
    desk.fill_valid_order("PRACTICE-FIELD-REFUSED")
        .await
        .unwrap();
    desk.review().await.unwrap();
    desk.click("confirm-button").await.unwrap();
    desk.find("error-panel").await.unwrap();
    check_screen(&desk, language, "D1 refused", &phrases).await;
    desk.click("new-order-button").await.unwrap();

    // The supervisor's screens.
    desk.click("nav-supervisor").await.unwrap();
    wait_rows(&desk, 8).await;
    check_screen(&desk, language, "supervisor orders", &phrases).await;
    desk.click("more-filters").await.unwrap();
    check_screen(&desk, language, "supervisor filters", &phrases).await;
    desk.client
        .find(Locator::Css(
            "[data-card-id='seed-card-004'] [data-testid='open-detail']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    desk.find("detail-timeline").await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    check_screen(&desk, language, "supervisor detail", &phrases).await;
    desk.click("close-detail").await.unwrap();
    desk.click("tab-exceptions").await.unwrap();
    desk.find("exceptions-table").await.unwrap();
    check_screen(&desk, language, "supervisor exceptions", &phrases).await;
    desk.click("tab-charts").await.unwrap();
    desk.find("byReason-list").await.unwrap();
    check_screen(&desk, language, "supervisor charts", &phrases).await;
    desk.stop().await.unwrap();
}

#[tokio::test]
async fn the_spanish_window_shows_no_english_on_any_screen() {
    walk("es").await;
}

#[tokio::test]
async fn the_english_window_shows_no_spanish_on_any_screen() {
    walk("en").await;
}

#[tokio::test]
async fn the_supervisor_screen_scrolls_under_a_fixed_banner_and_finds_four_digits_of_a_consumer() {
    let desk = supervisor_desk(40).await.unwrap();
    desk.click("nav-supervisor").await.unwrap();
    wait_rows(&desk, 25).await;
    let size = desk
        .eval("return [window.innerWidth, window.innerHeight];")
        .await
        .unwrap();
    assert_eq!(size, json!([1280, 720]), "the window's size");

    // At least 12 rows fit in the work area at 720 pixels.
    let fitting = desk
        .eval(
            "const area = document.querySelector(\"[data-testid='work-area']\").getBoundingClientRect();
             return [...document.querySelectorAll(\"[data-testid='order-row']\")]
               .filter(r => { const b = r.getBoundingClientRect(); return b.top >= area.top && b.bottom <= area.bottom; })
               .length;",
        )
        .await
        .unwrap();
    assert!(fitting.as_u64().unwrap_or(0) >= 12, "{fitting} rows fit");
    desk.screenshot("counter-supervisor-en").await.unwrap();

    // A wheel over the banner, and the list scrolled to its end: the banner and the status bar
    // stay where they are; only the work area scrolls.
    let banner = desk.find("environment-banner").await.unwrap();
    let wheel = fantoccini::actions::WheelActions::new("wheel".to_owned()).then(
        fantoccini::actions::WheelAction::Scroll {
            duration: None,
            x: 400,
            y: 10,
            delta_x: 0,
            delta_y: 2000,
        },
    );
    let _ = desk.client.perform_actions(wheel).await; // WebKitWebDriver may not offer a wheel
    desk.eval(
        "document.querySelector(\"[data-testid='work-area']\").scrollTop = 100000;
         window.scrollTo(0, 100000); return true;",
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let layout = desk
        .eval(
            "const b = document.querySelector(\"[data-testid='environment-banner']\").getBoundingClientRect();
             const s = document.querySelector(\"[data-testid='status-bar']\").getBoundingClientRect();
             const area = document.querySelector(\"[data-testid='work-area']\");
             return { bannerTop: b.top, bannerBottom: b.bottom, statusBottom: s.bottom, height: window.innerHeight,
                      pageScroll: document.scrollingElement.scrollTop, pageHeight: document.scrollingElement.scrollHeight,
                      areaScroll: area.scrollTop };",
        )
        .await
        .unwrap();
    assert_eq!(layout["bannerTop"], json!(0), "{layout}");
    assert!(
        layout["bannerBottom"].as_f64().unwrap_or(0.0) > 20.0,
        "{layout}"
    );
    assert_eq!(layout["statusBottom"], layout["height"], "{layout}");
    assert_eq!(
        layout["pageScroll"],
        json!(0),
        "the window itself never scrolls: {layout}"
    );
    assert!(
        layout["pageHeight"].as_f64().unwrap_or(f64::MAX) <= 720.0,
        "{layout}"
    );
    assert!(
        layout["areaScroll"].as_f64().unwrap_or(0.0) > 0.0,
        "the work area scrolled: {layout}"
    );
    assert!(banner.is_displayed().await.unwrap());
    desk.screenshot("counter-supervisor-scrolled-en")
        .await
        .unwrap();

    // 4 digits of a consumer id, and its end in another case, find it.
    for search in ["7005", "cust-7005"] {
        desk.type_into("search", search).await.unwrap();
        desk.click("apply-filters").await.unwrap();
        wait_rows(&desk, 1).await;
        assert_eq!(
            desk.text("row-consumer").await.unwrap(),
            "CUST-7005",
            "{search}"
        );
    }
    assert_eq!(
        desk.axe_violations().await.unwrap(),
        Vec::<String>::new(),
        "supervisor"
    );
    desk.choose("language", "es").await.unwrap();
    desk.click("clear-filters").await.unwrap();
    wait_rows(&desk, 25).await;
    desk.screenshot("counter-supervisor-es").await.unwrap();
    desk.stop().await.unwrap();
}

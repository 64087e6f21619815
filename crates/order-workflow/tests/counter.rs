//! The counter's additions to the desk, against the training D1 over loopback TLS: the review of
//! everything printed, the checks while typing without card data, the station's recent outcome,
//! practice mode's triggers, and the supervisor's CSV for Excel.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use d1_client::RetryPolicy;
use order_journal::{Journal, JournalIdentity, OrderState};
use order_workflow::training::{self, TrainingOptions};
use order_workflow::{
    Catalog, DeskSettings, ErrorKind, OrderDesk, OrderDraft, OrderFields, OrderFilter, Practice,
    PracticeTrigger, ProductionPhase, SubmitOutcome, WorkflowError,
};

const PAN: &str = "4000056655665556";

struct Fixture {
    desk: OrderDesk,
    practice: Practice,
    control: d1_sandbox::SandboxControl,
    _sandbox: d1_sandbox::SandboxHandle,
    dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::training();
    let retry = RetryPolicy {
        initial_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        budget: Duration::from_millis(300),
    };
    let options = TrainingOptions {
        port: 0,
        production_step: Duration::from_millis(50),
        retry: retry.clone(),
    };
    let d1 = training::start(&dir.path().join("training"), &catalog, &options)
        .await
        .unwrap();
    let journal = Journal::open_for(
        dir.path().join("journal.sqlite3"),
        &JournalIdentity {
            environment: "training".into(),
            issuer_id: training::TRAINING_ISSUER_ID.into(),
        },
    )
    .unwrap();
    let control = d1.sandbox.control();
    let practice = Practice::new(control.clone(), retry, &catalog);
    let desk = OrderDesk::new(
        d1.client,
        d1.encryption_key,
        journal,
        catalog,
        "teller1".into(),
        DeskSettings::default(),
    );
    Fixture {
        desk,
        practice,
        control,
        _sandbox: d1.sandbox,
        dir,
    }
}

fn draft(consumer: &str) -> OrderDraft {
    let mut draft = OrderDraft {
        consumer_id: consumer.into(),
        card_product_id: "DEMO_DEBIT".into(),
        issuance_type: "CREATION".into(),
        priority: Some("STANDARD".into()),
        perso_station: "BRANCH-PS-01".into(),
        ..OrderDraft::default()
    };
    draft.card.pan = PAN.into();
    draft.card.exp = "07/30".into();
    draft.card.name = "ANA GARCIA".into();
    draft
}

async fn until_final(
    desk: &OrderDesk,
    card_id: &order_workflow::CardId,
) -> order_workflow::ProductionView {
    for _ in 0..400 {
        if let Ok(view) = desk.refresh_status(card_id).await
            && view.phase != ProductionPhase::InProgress
        {
            return view;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("production did not finish");
}

/// Submits `draft` the way the shell does: practice arms the training D1 first.
async fn submit(
    f: &Fixture,
    draft: OrderDraft,
) -> Result<order_workflow::SubmittedOrder, WorkflowError> {
    if f.desk.problems(&draft).is_empty() {
        f.practice.arm(&draft);
    }
    f.desk.submit(draft, |_| {}).await
}

#[tokio::test]
async fn the_review_holds_everything_printed_and_only_the_last_4_digits() {
    let f = fixture().await;
    let mut d = draft("CUST-1");
    d.card.second_name = Some(" ACME LTD ".into());
    d.design.artwork_id = Some("CLASSIC_BLUE".into());
    d.design.custom_lines = vec!["LINE ONE".into(), String::new(), "LINE TWO".into()];
    d.design.member_id = Some("M-77".into());
    d.carrier.language = Some("ES".into());
    d.carrier.custom_lines = vec!["Dear Ana".into()];
    d.perso_station = "BRANCH-PS-02".into();
    let review = f.desk.review(&d).unwrap();
    assert_eq!(review.product_id, "DEMO_DEBIT");
    assert_eq!(review.station_id, "BRANCH-PS-02");
    assert_eq!(review.station_name, "Back office printer");
    assert_eq!(review.name_on_card.expose(), "ANA GARCIA");
    assert_eq!(review.second_line.as_deref(), Some("ACME LTD"));
    assert_eq!(review.expiry.expose(), "07/30");
    assert_eq!(review.artwork_name.as_deref(), Some("Classic blue"));
    assert_eq!(
        review.custom_lines,
        ["LINE ONE", "LINE TWO"],
        "as sent: empty lines dropped"
    );
    assert_eq!(review.member_id.as_deref(), Some("M-77"));
    assert_eq!(review.carrier_language.as_deref(), Some("ES"));
    assert_eq!(review.carrier_lines, ["Dear Ana"]);
    assert_eq!(review.masked_pan, "•••• 5556");
    let shown = serde_json::to_string(&review).unwrap();
    assert!(!shown.contains("40000566"), "{shown}");
}

#[tokio::test]
async fn the_check_while_typing_never_sees_card_data_and_reports_none_missing() {
    let f = fixture().await;
    let fields: OrderFields = serde_json::from_value(serde_json::json!({
        "consumerId": "",
        "cardProductId": "DEMO_DEBIT",
        "issuanceType": "CREATION",
        "persoStation": "BRANCH-PS-01",
    }))
    .unwrap();
    let problems = f.desk.field_problems(fields);
    assert_eq!(
        problems
            .iter()
            .map(|p| (p.path.as_str(), p.code.as_str()))
            .collect::<Vec<_>>(),
        [("consumerId", "required")],
        "no cardData problem although there is no card data"
    );
    // Card data cannot even be handed to it.
    let refused = serde_json::from_value::<OrderFields>(serde_json::json!({
        "consumerId": "CUST-1",
        "card": { "pan": PAN },
    }));
    assert!(refused.unwrap_err().to_string().contains("card"));
}

#[tokio::test]
async fn a_station_remembers_its_last_card_and_its_last_exception() {
    let f = fixture().await;
    let empty = f.desk.station_state("BRANCH-PS-01").await.unwrap();
    assert!(empty.last_made.is_none() && empty.last_exception.is_none() && !empty.last_failed);
    assert_eq!(empty.station_name.as_deref(), Some("Counter 1 printer"));

    let made = submit(&f, draft("CUST-1")).await.unwrap();
    until_final(&f.desk, &made.card_id).await;
    f.control.station_offline("BRANCH-PS-01", "PRINTER_JAM");
    let jammed = submit(&f, draft("CUST-2")).await.unwrap();
    assert_eq!(
        until_final(&f.desk, &jammed.card_id).await.phase,
        ProductionPhase::Failed
    );

    let state = f.desk.station_state("BRANCH-PS-01").await.unwrap();
    assert_eq!(state.last_made.unwrap().card_id, made.card_id);
    let exception = state.last_exception.unwrap();
    assert_eq!(exception.card_id, jammed.card_id);
    assert_eq!(exception.reason.as_deref(), Some("PRINTER_JAM"));
    assert_eq!(exception.d1_status.as_deref(), Some("CARD_PROD_EXCEPTION"));
    assert!(state.last_failed);
    // The other station is untouched.
    assert!(
        !f.desk
            .station_state("BRANCH-PS-02")
            .await
            .unwrap()
            .last_failed
    );
}

#[tokio::test]
async fn practice_station_jam_fails_that_order_at_the_station_only() {
    let f = fixture().await;
    let jammed = submit(&f, draft("practice-station-jam")).await.unwrap();
    let view = until_final(&f.desk, &jammed.card_id).await;
    assert_eq!(view.details_status, "CARD_PROD_EXCEPTION");
    assert_eq!(view.reason.as_deref(), Some("PRINTER_JAM"));
    let next = submit(&f, draft("CUST-3")).await.unwrap();
    assert_eq!(
        until_final(&f.desk, &next.card_id).await.phase,
        ProductionPhase::Done
    );
}

#[tokio::test]
async fn practice_field_refused_is_a_refusal_and_no_card() {
    let f = fixture().await;
    let error = submit(&f, draft("PRACTICE-FIELD-REFUSED"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Rejected, "{error:?}");
    assert_eq!(f.control.orders_accepted(), 0);
    let next = submit(&f, draft("CUST-4")).await.unwrap();
    assert_eq!(next.outcome, SubmitOutcome::Accepted);
}

#[tokio::test]
async fn practice_lost_answer_is_found_at_d1_without_a_second_card() {
    let f = fixture().await;
    let order = submit(&f, draft("PRACTICE-LOST-ANSWER")).await.unwrap();
    assert_eq!(
        until_final(&f.desk, &order.card_id).await.phase,
        ProductionPhase::Done
    );
    assert_eq!(f.control.orders_received(), 1, "never sent twice");
    let history = f.desk.journal().detail(&order.card_id).unwrap().history;
    assert!(
        history
            .iter()
            .any(|h| h.state == OrderState::OutcomeUnknown),
        "{history:?}"
    );
}

#[tokio::test]
async fn practice_503_outlasts_the_retries_then_the_same_order_goes_through() {
    let f = fixture().await;
    let order = submit(&f, draft("PRACTICE-503")).await.unwrap();
    assert_eq!(
        order.outcome,
        SubmitOutcome::Unknown,
        "checking, never refused"
    );
    assert_eq!(f.control.orders_accepted(), 0);
    // D1 has not seen it; the same order goes again. With this test's short retry budget a few
    // of the armed 503s may be left for the resend, as a teller pressing "Try again" again
    // would meet them.
    let mut again = f.desk.resend(&order.card_id, |_| {}).await.unwrap();
    for _ in 0..3 {
        if again.outcome == SubmitOutcome::Accepted {
            break;
        }
        again = f.desk.resend(&order.card_id, |_| {}).await.unwrap();
    }
    assert_eq!(again.outcome, SubmitOutcome::Accepted);
    assert_eq!(again.card_id, order.card_id);
    assert_eq!(
        until_final(&f.desk, &order.card_id).await.phase,
        ProductionPhase::Done
    );
    assert_eq!(f.control.orders_accepted(), 1);
}

#[tokio::test]
async fn only_the_documented_consumer_ids_are_triggers() {
    let f = fixture().await;
    assert_eq!(f.practice.arm(&draft("CUST-503")), None);
    assert_eq!(
        f.practice.arm(&draft("PRACTICE-503")),
        Some(PracticeTrigger::Unavailable)
    );
    f.control.clear_faults();
    let guide = f.practice.guide();
    assert_eq!(guide.cases.len(), 4);
    assert_eq!(guide.demo_cards.len(), Catalog::training().products.len());
}

#[tokio::test]
async fn the_csv_export_starts_with_a_utf8_byte_order_mark() {
    let f = fixture().await;
    let order = submit(&f, draft("CUST-5")).await.unwrap();
    until_final(&f.desk, &order.card_id).await;
    let downloads = f.dir.path().join("downloads");
    let result = f
        .desk
        .export_orders(&OrderFilter::default(), &downloads)
        .await
        .unwrap();
    let bytes = std::fs::read(&result.path).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "BOM first");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(
        text.contains("•••• 5556") && text.contains("CUST-5"),
        "{text}"
    );
    assert!(!text.contains(PAN));
}

#[tokio::test]
async fn every_order_option_reaches_d1_and_the_review() {
    let f = fixture().await;
    let options = f.desk.form_options().order_options;
    assert!(
        options.pin_mailer && options.alpha_card,
        "training offers them"
    );
    let mut d = draft("CUST-OPTIONS");
    d.services.delivery = Some("BRANCH_PICKUP".into());
    d.services.packaging = Some("GIFT_SLEEVE".into());
    d.services.card_carrier = Some("WELCOME_LETTER".into());
    d.services.pin_mailer = true;
    d.services.alpha_card = true;
    d.design.images = vec!["LOGO_CLUB".into(), "LOGO_UNIVERSITY".into()];
    d.design.card_image = Some("aam/0042.png".into());
    d.carrier.images = vec!["WELCOME_BANNER".into()];
    d.carrier.multi_card_id = Some("FAMILY-7".into());
    d.carrier.multi_card_order = Some("2".into());
    let review = f.desk.review(&d).unwrap();
    assert_eq!(review.delivery.as_deref(), Some("BRANCH_PICKUP"));
    assert_eq!(review.packaging.as_deref(), Some("GIFT_SLEEVE"));
    assert_eq!(review.card_carrier.as_deref(), Some("WELCOME_LETTER"));
    assert!(review.pin_mailer && review.alpha_card);
    assert_eq!(review.design_images, ["LOGO_CLUB", "LOGO_UNIVERSITY"]);
    assert_eq!(review.card_image.as_deref(), Some("aam/0042.png"));
    assert_eq!(review.carrier_images, ["WELCOME_BANNER"]);
    assert_eq!(review.multi_card_id.as_deref(), Some("FAMILY-7"));
    assert_eq!(review.multi_card_order.as_deref(), Some("2"));

    submit(&f, d).await.unwrap();
    let sent = f.control.last_accepted_request().unwrap();
    let at = |pointer: &str| sent.pointer(pointer).cloned().unwrap_or_default();
    assert_eq!(at("/services/delivery"), "BRANCH_PICKUP");
    assert_eq!(at("/services/packaging"), "GIFT_SLEEVE");
    assert_eq!(at("/services/cardCarrier"), "WELCOME_LETTER");
    assert_eq!(at("/services/pinMailer"), true);
    assert_eq!(at("/services/alphaCard"), true);
    assert_eq!(
        at("/cardDesign/images"),
        serde_json::json!(["LOGO_CLUB", "LOGO_UNIVERSITY"])
    );
    assert_eq!(at("/cardDesign/cardImage"), "aam/0042.png");
    assert_eq!(
        at("/cardCarrierConfig/images"),
        serde_json::json!(["WELCOME_BANNER"])
    );
    assert_eq!(at("/cardCarrierConfig/multiCardId"), "FAMILY-7");
    assert_eq!(at("/cardCarrierConfig/multiCardOrder"), "2");

    // Nothing chosen: nothing sent, D1 applies its defaults.
    submit(&f, draft("CUST-PLAIN")).await.unwrap();
    let sent = f.control.last_accepted_request().unwrap();
    let services = sent["services"].as_object().unwrap();
    assert_eq!(
        services.keys().map(String::as_str).collect::<Vec<_>>(),
        ["issuance", "priority"]
    );
    assert!(sent["cardDesign"].get("images").is_none());
}

#[tokio::test]
async fn an_order_option_that_is_not_offered_is_refused_by_field() {
    let f = fixture().await;
    let fields_of = |problems: Vec<order_workflow::FieldError>| -> Vec<(String, String)> {
        problems
            .into_iter()
            .map(|p| (p.path, p.code.as_str().to_owned()))
            .collect()
    };
    let mut d = draft("CUST-NOPE");
    d.services.delivery = Some("DRONE".into());
    d.services.packaging = Some("WOODEN_BOX".into());
    d.services.card_carrier = Some("".into());
    d.design.images = vec!["LOGO_CLUB".into(), "UNKNOWN_LOGO".into()];
    d.carrier.images = vec!["NOT_A_CARRIER_IMAGE".into()];
    let problems = fields_of(f.desk.problems(&d));
    for (field, code) in [
        ("services.delivery", "not_offered"),
        ("services.packaging", "not_offered"),
        ("cardDesign.images[1]", "not_offered"),
        ("cardCarrierConfig.images[0]", "not_offered"),
    ] {
        assert!(
            problems.contains(&(field.to_owned(), code.to_owned())),
            "{field}: {problems:?}"
        );
    }
    assert!(
        !problems
            .iter()
            .any(|(f, _)| f == "services.cardCarrier" || f == "cardDesign.images[0]"),
        "an empty choice is no choice; an offered image is fine: {problems:?}"
    );
    // The vendor's rules still hold for what the teller types.
    let mut d = draft("CUST-NOPE");
    d.carrier.multi_card_order = Some("100".into());
    d.design.card_image = Some("has space".into());
    let problems = fields_of(f.desk.problems(&d));
    assert!(
        problems
            .iter()
            .any(|(f, _)| f == "cardCarrierConfig.multiCardOrder"),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|(f, _)| f == "cardDesign.cardImage"),
        "{problems:?}"
    );
    // A desk whose configuration offers nothing refuses the PIN mailer and a sample card in
    // production.
    let mut config = desk_config::Config::training_defaults();
    config.environment = desk_config::Environment::Production;
    config.services.pin_mailer = false;
    let catalog = order_workflow::setup::catalog(&config);
    assert!(!catalog.options.alpha_card && !catalog.options.pin_mailer);
    let mut d = draft("CUST-NOPE");
    d.services.pin_mailer = true;
    d.services.alpha_card = true;
    let problems = fields_of(d.problems(&catalog));
    assert!(problems.contains(&("services.pinMailer".into(), "not_offered".into())));
    assert!(problems.contains(&("services.alphaCard".into(), "not_offered".into())));
}

#[tokio::test]
async fn text_typed_decomposed_is_checked_and_sent_composed_and_a_refusal_names_the_character() {
    let f = fixture().await;
    // "SAN JOSÉ" typed with a combining accent (NFD): accepted, and D1 gets the composed É.
    let decomposed = "SAN JOSE\u{301}";
    let mut d = draft("CUST-NFC");
    d.design.custom_lines = vec![decomposed.into()];
    d.carrier.custom_lines = vec![format!("Querida {decomposed}")];
    assert!(f.desk.problems(&d).is_empty(), "{:?}", f.desk.problems(&d));
    assert_eq!(f.desk.review(&d).unwrap().custom_lines, ["SAN JOSÉ"]);
    submit(&f, d).await.unwrap();
    let sent = f.control.last_accepted_request().unwrap();
    assert_eq!(sent["cardDesign"]["customLines"][0], "SAN JOSÉ");
    assert_eq!(
        sent["cardCarrierConfig"]["customLines"][0],
        "Querida SAN JOSÉ"
    );

    // A hyphen on a card line and an accent in the printed name: each refusal names it.
    let mut d = draft("CUST-NFC");
    d.design.custom_lines = vec!["OK".into(), "SAN-JOSE".into()];
    d.card.name = "JOSE\u{301} PEN\u{303}A".into();
    let problems = f.desk.problems(&d);
    let named = |field: &str| {
        problems
            .iter()
            .find(|p| p.path == field)
            .map(|p| (p.code.as_str().to_owned(), p.character.clone()))
    };
    assert_eq!(
        named("cardDesign.customLines[1]"),
        Some(("pattern".into(), Some("-".into())))
    );
    assert_eq!(
        named("cardData.name"),
        Some(("pattern".into(), Some("É".into())))
    );
    // The transliteration the window offers is accepted.
    d.card.name = "JOSE PENA".into();
    d.design.custom_lines = vec!["SAN JOSE".into()];
    assert!(f.desk.problems(&d).is_empty());
}

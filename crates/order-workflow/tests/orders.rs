//! The desk against the real D1 sandbox (HTTPS on loopback) and a journal file: what a teller
//! and a supervisor would notice, including after a crash. A canary PAN is planted everywhere
//! and must never reach a log line or the journal file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test crate: failing loudly is the point

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use d1_client::{CardData, CardDataInput, OrderIds, PreparedOrder};
use d1_sandbox::SandboxControl;
use order_journal::{Journal, NewOrder, OrderState, PanLast4};
use order_workflow::training::{self, TrainingOptions};
use order_workflow::{
    Catalog, OrderDesk, OrderDraft, OrderProgress, ProductionPhase, SubmitOutcome, WorkflowError,
};

const CANARY_PAN: &str = "4000056655665556";

/// Captures every log line of the test process.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> Logs {
    let logs = Logs::default();
    let writer = logs.clone();
    let _ = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .try_init();
    logs
}

struct Fixture {
    desk: OrderDesk,
    control: SandboxControl,
    journal_path: std::path::PathBuf,
    _sandbox: d1_sandbox::SandboxHandle,
    dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::training();
    let options = TrainingOptions {
        port: 0,
        production_step: Duration::from_millis(50),
    };
    let d1 = training::start(&dir.path().join("training"), &catalog, &options)
        .await
        .unwrap();
    let journal_path = dir.path().join("journal.sqlite3");
    let journal = Journal::open(&journal_path).unwrap();
    let control = d1.sandbox.control();
    let desk = OrderDesk::new(
        d1.client,
        d1.encryption_key,
        journal,
        catalog,
        "teller1".into(),
    );
    Fixture {
        desk,
        control,
        journal_path,
        _sandbox: d1.sandbox,
        dir,
    }
}

fn draft(pan: &str) -> OrderDraft {
    let mut draft = OrderDraft {
        consumer_id: "CUST-1001".into(),
        card_product_id: "DEMO_DEBIT".into(),
        issuance_type: "CREATION".into(),
        priority: Some("STANDARD".into()),
        perso_station: "BRANCH-PS-01".into(),
        ..OrderDraft::default()
    };
    draft.card.pan = pan.into();
    draft.card.exp = "07/30".into();
    draft.card.name = "ANA GARCIA".into();
    draft
}

async fn until_final(desk: &OrderDesk, card_id: &str) -> order_workflow::ProductionView {
    for _ in 0..200 {
        let view = desk.refresh_status(card_id).await.unwrap();
        if view.phase != ProductionPhase::InProgress {
            return view;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("production did not finish");
}

fn assert_no_canary(logs: &Logs, f: &Fixture) {
    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).to_string();
    assert!(
        !text.contains(CANARY_PAN),
        "the canary PAN reached a log line"
    );
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{}{suffix}", f.journal_path.display());
        if let Ok(bytes) = std::fs::read(&path) {
            assert!(
                !bytes
                    .windows(CANARY_PAN.len())
                    .any(|w| w == CANARY_PAN.as_bytes()),
                "the canary PAN is in {path}"
            );
        }
    }
}

#[tokio::test]
async fn an_order_is_journalled_before_it_is_sent_and_followed_to_done() {
    let logs = capture_logs();
    let f = fixture().await;
    f.control.set_latency(Duration::from_millis(400));
    let desk = f.desk.clone();
    let stages = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&stages);
    let submit = tokio::spawn(async move {
        desk.submit(draft(CANARY_PAN), move |s| seen.lock().unwrap().push(s))
            .await
    });

    // While D1 is still answering, the order is already in the journal.
    let mut in_flight = Vec::new();
    for _ in 0..100 {
        in_flight = f.desk.journal().in_flight().unwrap();
        if !in_flight.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(in_flight.len(), 1, "journalled before the answer");
    assert_eq!(in_flight[0].pan_last4.as_str(), "5556");

    let order = submit.await.unwrap().unwrap();
    f.control.set_latency(Duration::ZERO);
    assert_eq!(order.outcome, SubmitOutcome::Accepted);
    assert_eq!(order.last4, "5556");
    let stages = stages.lock().unwrap().clone();
    assert_eq!(
        &stages[..3],
        &[
            OrderProgress::Encrypting,
            OrderProgress::Authenticating,
            OrderProgress::Sending
        ]
    );
    assert!(matches!(stages[3], OrderProgress::Accepted { .. }));

    let view = until_final(&f.desk, &order.card_id).await;
    assert_eq!(view.details_status, "CARD_PROD_DONE");
    let detail = f.desk.journal().detail(&order.card_id).unwrap();
    assert_eq!(detail.order.state, OrderState::Done);
    assert_eq!(detail.order.operation_id, order.operation_id);
    assert_eq!(detail.order.operator, "teller1");
    assert_no_canary(&logs, &f);
}

#[tokio::test]
async fn an_invalid_draft_is_refused_with_every_problem_and_nothing_is_sent_or_journalled() {
    let f = fixture().await;
    let mut bad = draft("4000056655665557");
    bad.card.exp = "01/20".into();
    bad.design.custom_lines = vec!["x".repeat(257)];
    bad.perso_station = "NOT-A-STATION".into();
    let Err(WorkflowError::Invalid(problems)) = f.desk.submit(bad, |_| {}).await else {
        panic!("an invalid draft must be refused");
    };
    let fields: Vec<(&str, &str)> = problems
        .iter()
        .map(|p| (p.field.as_str(), p.code.as_str()))
        .collect();
    assert!(
        fields.contains(&("cardData.pan", "invalid_luhn")),
        "{fields:?}"
    );
    assert!(fields.contains(&("cardData.exp", "expired")), "{fields:?}");
    assert!(
        fields.contains(&("persoStation", "not_offered")),
        "{fields:?}"
    );
    assert!(
        fields
            .iter()
            .any(|(f, _)| f.starts_with("cardDesign.customLines[0]")),
        "{fields:?}"
    );
    assert_eq!(f.control.orders_accepted(), 0);
    assert_eq!(f.control.tokens_issued(), 0);
    assert!(f.desk.journal().in_flight().unwrap().is_empty());
}

#[tokio::test]
async fn a_lost_answer_is_reconciled_with_production_status_not_a_second_card() {
    let logs = capture_logs();
    let f = fixture().await;
    f.control.drop_after_read_next(1);
    let stages = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&stages);
    let order = f
        .desk
        .submit(draft(CANARY_PAN), move |s| seen.lock().unwrap().push(s))
        .await
        .unwrap();
    assert_eq!(order.outcome, SubmitOutcome::Accepted);
    assert!(order.operation_id.is_some());
    assert!(stages.lock().unwrap().contains(&OrderProgress::Checking));
    assert_eq!(f.control.orders_accepted(), 1, "one card");
    let history = f.desk.journal().detail(&order.card_id).unwrap().history;
    assert!(
        history
            .iter()
            .any(|h| h.state == OrderState::OutcomeUnknown),
        "the doubt is on record"
    );
    assert_no_canary(&logs, &f);
}

#[tokio::test]
async fn d1_unavailable_keeps_the_order_and_a_resend_uses_the_same_card() {
    let f = fixture().await;
    f.control.fail_next(100, 503);
    let error = f.desk.submit(draft(CANARY_PAN), |_| {}).await.unwrap_err();
    let WorkflowError::D1 {
        error,
        card_id: Some(card_id),
    } = error
    else {
        panic!("expected a D1 error with the card id");
    };
    assert!(error.is_transient(), "{error:?}");
    assert_eq!(f.control.orders_accepted(), 0);

    f.control.clear_faults();
    let order = f.desk.resend(&card_id, |_| {}).await.unwrap();
    assert_eq!(order.card_id, card_id, "the same card id");
    assert_eq!(order.outcome, SubmitOutcome::Accepted);
    assert_eq!(f.control.orders_accepted(), 1);
    assert!(matches!(
        f.desk.resend(&card_id, |_| {}).await,
        Err(WorkflowError::NothingToRetry)
    ));
}

#[tokio::test]
async fn a_station_exception_ends_the_order_as_failed_with_its_reason() {
    let f = fixture().await;
    f.control
        .station_offline("BRANCH-PS-01", "Printer out of cards");
    let order = f.desk.submit(draft(CANARY_PAN), |_| {}).await.unwrap();
    let view = until_final(&f.desk, &order.card_id).await;
    assert_eq!(view.phase, ProductionPhase::Failed);
    assert_eq!(view.details_status, "CARD_PROD_EXCEPTION");
    assert_eq!(view.reason.as_deref(), Some("Printer out of cards"));
    let detail = f.desk.journal().detail(&order.card_id).unwrap();
    assert_eq!(detail.order.state, OrderState::Failed);
}

#[tokio::test]
async fn the_next_start_brings_every_order_left_in_flight_to_a_known_state() {
    let f = fixture().await;
    let journal = f.desk.journal().clone();
    let new_order = |ids: &OrderIds| NewOrder {
        operator: "teller1".into(),
        consumer_id: "CUST-9".into(),
        product_id: "DEMO_DEBIT".into(),
        station_id: "BRANCH-PS-01".into(),
        issuance_type: "CREATION".into(),
        pan_last4: PanLast4::new("5556").unwrap(),
        card_id: ids.card_id.as_str().into(),
        issuer_request_id: ids.issuer_request_id.as_str().into(),
        correlation_id: ids.correlation_id.as_str().into(),
    };

    // 1. The app died after journalling, before sending.
    let never_sent = OrderIds::generate();
    journal.record_intent(&new_order(&never_sent)).unwrap();
    // 2. It died while sending, before D1 got anything.
    let lost = OrderIds::generate();
    journal.record_intent(&new_order(&lost)).unwrap();
    journal.mark_sending(lost.card_id.as_str()).unwrap();
    // 3. It died after D1 accepted the order, before the answer was recorded.
    let received = OrderIds::generate();
    journal.record_intent(&new_order(&received)).unwrap();
    journal.mark_sending(received.card_id.as_str()).unwrap();
    let catalog = Catalog::training();
    let card = CardData::from_input(
        &CardDataInput::new(CANARY_PAN, "07/30", "ANA GARCIA"),
        &catalog.products[0].rules,
    )
    .unwrap();
    let mut request = d1_client::CardRequestInstant {
        perso_station: "BRANCH-PS-01".into(),
        card_product_id: Some("DEMO_DEBIT".into()),
        ..Default::default()
    };
    request.services.issuance = "CREATION".into();
    request.payment_application.config = "VIS_163".into();
    let keys: d1_sandbox::testkit::TestKeys = serde_json::from_slice(
        &std::fs::read(f.dir.path().join("training/training-keys.json")).unwrap(),
    )
    .unwrap();
    let key = d1_client::EncryptionKey::from_jwk_value(&keys.encryption_public_jwk).unwrap();
    let prepared = PreparedOrder::prepare(request, card, &key, received.clone()).unwrap();
    f.desk.client().order_card(&prepared).await.unwrap();

    // The next start: a fresh desk on the same journal.
    let report = f.desk.reconcile_in_flight().await.unwrap();
    let after = |ids: &OrderIds| {
        report
            .iter()
            .find(|r| r.card_id == ids.card_id.as_str())
            .and_then(|r| r.after)
    };
    assert_eq!(after(&never_sent), Some(OrderState::Abandoned));
    assert_eq!(after(&lost), Some(OrderState::Abandoned));
    assert!(matches!(
        after(&received),
        Some(OrderState::InProduction | OrderState::Done)
    ));
    assert_eq!(f.control.orders_accepted(), 1, "nothing was sent again");
    let detail = journal.detail(received.card_id.as_str()).unwrap();
    assert!(
        detail.order.operation_id.is_some(),
        "the operation id was recovered"
    );
    assert!(
        journal
            .in_flight()
            .unwrap()
            .iter()
            .all(|o| o.card_id == received.card_id.as_str())
    );
}

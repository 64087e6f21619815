//! The desk against the real D1 sandbox (HTTPS on loopback) and a journal file: what a teller
//! and a supervisor would notice, including after a crash. A canary PAN is planted everywhere
//! and must never reach a log line or the journal file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test crate: failing loudly is the point

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use d1_client::{CardData, CardDataInput, CardId, OrderIds, PreparedOrder, RetryPolicy};
use d1_sandbox::SandboxControl;
use order_journal::{Journal, JournalIdentity, NewOrder, OrderState, PanLast4};
use order_workflow::policy::ErrorClass;
use order_workflow::training::{self, TrainingOptions};
use order_workflow::{
    Catalog, DeskSettings, ErrorKind, OrderDesk, OrderDraft, OrderProgress, ProductionPhase,
    SubmitOutcome, Verdict, WorkflowError,
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
    fixture_with(DeskSettings::default()).await
}

/// A desk on the training D1 and a journal file; retries bounded to 300 ms so that a D1 that
/// keeps failing ends a submission quickly.
async fn fixture_with(settings: DeskSettings) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::training();
    let options = TrainingOptions {
        port: 0,
        production_step: Duration::from_millis(50),
        retry: RetryPolicy {
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            budget: Duration::from_millis(300),
        },
    };
    let d1 = training::start(&dir.path().join("training"), &catalog, &options)
        .await
        .unwrap();
    let journal_path = dir.path().join("journal.sqlite3");
    let journal = Journal::open_for(&journal_path, &training_identity()).unwrap();
    let control = d1.sandbox.control();
    let desk = OrderDesk::new(
        d1.client,
        d1.encryption_key,
        journal,
        catalog,
        "teller1".into(),
        settings,
    );
    Fixture {
        desk,
        control,
        journal_path,
        _sandbox: d1.sandbox,
        dir,
    }
}

fn training_identity() -> JournalIdentity {
    JournalIdentity {
        environment: "training".into(),
        issuer_id: training::TRAINING_ISSUER_ID.into(),
    }
}

fn state_of(f: &Fixture, card_id: &CardId) -> OrderState {
    f.desk.journal().detail(card_id).unwrap().order.state
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

async fn until_final(desk: &OrderDesk, card_id: &CardId) -> order_workflow::ProductionView {
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
        .map(|p| (p.path.as_str(), p.code.as_str()))
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
async fn a_503_that_outlasts_the_budget_leaves_the_outcome_unknown_and_the_same_order_goes_again() {
    let f = fixture().await;
    f.desk.check_connection().await.unwrap();
    f.control.fail_next(10_000, 503);
    let order = f.desk.submit(draft(CANARY_PAN), |_| {}).await.unwrap();
    // A 503 may come from a gateway that passed the order on: no refusal, no new card.
    assert_eq!(order.outcome, SubmitOutcome::Unknown);
    assert_eq!(state_of(&f, &order.card_id), OrderState::OutcomeUnknown);
    assert_eq!(f.control.orders_accepted(), 0);

    f.control.clear_faults();
    let not_yet = f.desk.refresh_status(&order.card_id).await.unwrap_err();
    assert_eq!(
        not_yet.kind(),
        ErrorKind::Rejected,
        "a 404 from productionStatus"
    );
    assert_eq!(
        state_of(&f, &order.card_id),
        OrderState::OutcomeUnknown,
        "a 404 is 'not seen yet', never 'no card was made'"
    );
    assert!(f.desk.can_resend(&order.card_id));
    let again = f.desk.resend(&order.card_id, |_| {}).await.unwrap();
    assert_eq!(again.card_id, order.card_id, "the same card id");
    assert_eq!(again.outcome, SubmitOutcome::Accepted);
    assert_eq!(f.control.orders_accepted(), 1);
    assert!(matches!(
        f.desk.resend(&order.card_id, |_| {}).await,
        Err(WorkflowError::NothingToRetry)
    ));
}

#[tokio::test]
async fn a_gateway_502_or_504_is_never_a_refusal() {
    let f = fixture().await;
    f.desk.check_connection().await.unwrap();
    // The gateway answered 504 after D1 made the order: D1 is asked and the order is found.
    f.control.gateway_next(1, 504, true);
    let first = f.desk.submit(draft(CANARY_PAN), |_| {}).await.unwrap();
    assert_eq!(first.outcome, SubmitOutcome::Accepted);
    assert!(first.operation_id.is_some());
    // The gateway answered 502 without passing it on: D1 has none yet; the same order goes again.
    f.control.gateway_next(1, 502, false);
    let second = f.desk.submit(draft(CANARY_PAN), |_| {}).await.unwrap();
    assert_eq!(second.outcome, SubmitOutcome::Unknown);
    let again = f.desk.resend(&second.card_id, |_| {}).await.unwrap();
    assert_eq!(again.outcome, SubmitOutcome::Accepted);
    assert_eq!(f.control.orders_accepted(), 2, "one card per teller intent");
    for card in [&first.card_id, &second.card_id] {
        let history = f.desk.journal().detail(card).unwrap().history;
        assert!(history.iter().all(|h| h.state != OrderState::Rejected));
    }
}

#[tokio::test]
async fn an_order_that_never_left_goes_back_to_intent_and_can_be_sent_again() {
    let f = fixture().await;
    // A desk whose D1 is not listening: nothing can leave.
    let keys: d1_sandbox::testkit::TestKeys = serde_json::from_slice(
        &std::fs::read(f.dir.path().join("training/training-keys.json")).unwrap(),
    )
    .unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("https://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut config = d1_client::D1Config::new(
        format!("{origin}/authz/v1"),
        format!("{origin}/banking/v1"),
        d1_client::IssuerId::parse(&keys.issuer_id).unwrap(),
    );
    config.retry = RetryPolicy::none();
    let client = d1_client::D1Client::new(
        config,
        d1_client::SigningKey::from_jwk_json(zeroize::Zeroizing::new(
            keys.signing_private_jwk.to_string(),
        ))
        .unwrap(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open_for(dir.path().join("j.sqlite3"), &training_identity()).unwrap();
    let desk = OrderDesk::new(
        client,
        d1_client::EncryptionKey::from_jwk_value(&keys.encryption_public_jwk).unwrap(),
        journal,
        Catalog::training(),
        "teller1".into(),
        DeskSettings::default(),
    );
    let error = desk.submit(draft(CANARY_PAN), |_| {}).await.unwrap_err();
    let WorkflowError::D1 {
        card_id: Some(card_id),
        class,
        ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(*class, ErrorClass::Resendable);
    assert_eq!(error.kind(), ErrorKind::Unavailable);
    let order = desk.journal().detail(card_id).unwrap().order;
    assert_eq!(order.state, OrderState::Intent, "certainly not at D1");
    assert!(desk.can_resend(card_id));
}

#[tokio::test]
async fn a_refusal_is_final_on_a_first_attempt_only() {
    let f = fixture().await;
    f.desk.check_connection().await.unwrap();
    f.control.fail_next(1, 403);
    let error = f.desk.submit(draft(CANARY_PAN), |_| {}).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Rejected);
    let WorkflowError::D1 {
        card_id: Some(refused),
        ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(state_of(&f, refused), OrderState::Rejected);
    assert!(!f.desk.can_resend(refused));

    // After an attempt that may have reached D1, a refusal is D1's duplicate guard as likely as
    // anything else: the order stays unknown, never "refused".
    f.control.gateway_next(1, 502, false);
    let order = f.desk.submit(draft(CANARY_PAN), |_| {}).await.unwrap();
    assert_eq!(order.outcome, SubmitOutcome::Unknown);
    f.control.fail_next(1, 403);
    let again = f.desk.resend(&order.card_id, |_| {}).await.unwrap();
    assert_eq!(again.outcome, SubmitOutcome::Unknown);
    assert_eq!(state_of(&f, &order.card_id), OrderState::OutcomeUnknown);
}

#[tokio::test]
async fn d1_accepting_while_the_journal_fails_is_sent_not_recorded_then_recorded() {
    let f = fixture_with(DeskSettings {
        failing_acceptance_writes: 2,
        ..DeskSettings::default()
    })
    .await;
    let mut changes = f.desk.changes();
    let error = f.desk.submit(draft(CANARY_PAN), |_| {}).await.unwrap_err();
    assert_eq!(
        error.kind(),
        ErrorKind::Checking,
        "never 'nothing was sent'"
    );
    let WorkflowError::SentNotRecorded {
        card_id,
        operation_id: Some(operation_id),
        ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert!(f.desk.is_unrecorded(card_id));
    // The desk retries the write until the journal takes it, and says so.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let order = f.desk.journal().detail(card_id).unwrap().order;
        if order.operation_id.as_ref() == Some(operation_id) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                if changes.recv().await.unwrap().card_id.as_ref() == Some(card_id) {
                    break;
                }
            }
        })
        .await
        .is_ok()
    );
    assert_eq!(f.control.orders_accepted(), 1);
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
        consumer_id: d1_client::ConsumerId::parse("CUST-9").unwrap(),
        product_id: "DEMO_DEBIT".into(),
        station_id: "BRANCH-PS-01".into(),
        issuance_type: "CREATION".into(),
        pan_last4: PanLast4::new("5556").unwrap(),
        card_id: ids.card_id.clone(),
        issuer_request_id: ids.issuer_request_id.clone(),
        correlation_id: ids.correlation_id.clone(),
    };

    // 1. The app died after journalling, before sending.
    let never_sent = OrderIds::generate();
    journal.record_intent(&new_order(&never_sent)).unwrap();
    // 2. It died while sending, before D1 got anything.
    let lost = OrderIds::generate();
    journal.record_intent(&new_order(&lost)).unwrap();
    journal.mark_sending(&lost.card_id).unwrap();
    // 3. It died after D1 accepted the order, before the answer was recorded.
    let received = OrderIds::generate();
    journal.record_intent(&new_order(&received)).unwrap();
    journal.mark_sending(&received.card_id).unwrap();
    let prepared = prepared_for(&f, received.clone());
    f.desk.client().order_card(&prepared).await.unwrap();

    // The next start: a desk on the same journal follows them in the background.
    f.desk.start_following().await.unwrap();
    assert_eq!(
        state_of(&f, &never_sent.card_id),
        OrderState::Abandoned,
        "nothing of it left the desk"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !matches!(
        state_of(&f, &received.card_id),
        OrderState::InProduction | OrderState::Done
    ) {
        assert!(tokio::time::Instant::now() < deadline, "never found");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // D1 has nothing for the one killed while sending: still checking, never "not made".
    assert_eq!(state_of(&f, &lost.card_id), OrderState::Sending);
    assert_eq!(f.control.orders_accepted(), 1, "nothing was sent again");
    let detail = journal.detail(&received.card_id).unwrap();
    assert!(
        detail.order.operation_id.is_some(),
        "the operation id was recovered"
    );
    let interrupted = f.desk.interrupted_orders().await.unwrap();
    let verdict = |ids: &OrderIds| {
        interrupted
            .iter()
            .find(|o| o.card_id == ids.card_id.as_str())
            .map(|o| o.verdict)
    };
    assert_eq!(interrupted.len(), 3);
    assert_eq!(verdict(&never_sent), Some(Verdict::NotReceived));
    assert_eq!(verdict(&lost), Some(Verdict::Checking));
    assert!(matches!(
        verdict(&received),
        Some(Verdict::BeingMade | Verdict::Made)
    ));
    assert!(interrupted.iter().all(|o| o.last4 == "5556"));
}

#[tokio::test]
async fn no_record_after_the_grace_period_and_a_late_answer_still_wins() {
    let f = fixture_with(DeskSettings {
        no_record_after: Duration::from_secs(1),
        ..DeskSettings::default()
    })
    .await;
    f.desk.check_connection().await.unwrap();
    f.control.gateway_next(1, 502, false);
    let order = f.desk.submit(draft(CANARY_PAN), |_| {}).await.unwrap();
    assert_eq!(order.outcome, SubmitOutcome::Unknown);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let error = f.desk.refresh_status(&order.card_id).await.unwrap_err();
    assert!(matches!(error, WorkflowError::NoRecord { .. }), "{error:?}");
    assert_eq!(error.kind(), ErrorKind::Checking);
    assert_eq!(state_of(&f, &order.card_id), OrderState::NoRecord);
    // The order reaches D1 after all (here: the same order sent again): it wins.
    let late = f.desk.resend(&order.card_id, |_| {}).await.unwrap();
    assert_eq!(late.outcome, SubmitOutcome::Accepted);
    let view = until_final(&f.desk, &order.card_id).await;
    assert_eq!(view.details_status, "CARD_PROD_DONE");
    assert_eq!(state_of(&f, &order.card_id), OrderState::Done);
    assert_eq!(f.control.orders_accepted(), 1);
}

#[tokio::test]
async fn the_background_checks_find_an_order_d1_made_after_it_had_no_record() {
    let f = fixture_with(DeskSettings {
        no_record_after: Duration::from_secs(1),
        ..DeskSettings::default()
    })
    .await;
    f.desk.check_connection().await.unwrap();
    // D1 holds the order longer than the desk waits for it; the desk gives up waiting.
    f.control.gateway_next(1, 504, false);
    let order = f.desk.submit(draft(CANARY_PAN), |_| {}).await.unwrap();
    assert_eq!(order.outcome, SubmitOutcome::Unknown);
    f.desk.start_following().await.unwrap();
    let wait_for = |want: OrderState| {
        let f = &f;
        let card = order.card_id.clone();
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            loop {
                let now = state_of(f, &card);
                if now == want || (want == OrderState::InProduction && now == OrderState::Done) {
                    return;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{now:?}, waiting for {want:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    wait_for(OrderState::NoRecord).await;
    // Now D1 makes it, without this desk sending anything (as if a request D1 held had
    // finished): the background checks find it and the late answer wins.
    let ids = OrderIds {
        card_id: order.card_id.clone(),
        ..OrderIds::generate()
    };
    f.desk
        .client()
        .order_card(&prepared_for(&f, ids))
        .await
        .unwrap();
    wait_for(OrderState::InProduction).await;
    assert_eq!(f.control.orders_accepted(), 1);
    let history = f.desk.journal().detail(&order.card_id).unwrap().history;
    let states: Vec<_> = history.iter().map(|h| h.state).collect();
    assert!(
        states
            .windows(2)
            .any(|w| w == [OrderState::NoRecord, OrderState::Accepted]),
        "{states:?}"
    );
}

/// An order for D1 made outside the desk (the test plays D1's other caller).
fn prepared_for(f: &Fixture, ids: OrderIds) -> PreparedOrder {
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
    PreparedOrder::prepare(request, card, &key, ids).unwrap()
}

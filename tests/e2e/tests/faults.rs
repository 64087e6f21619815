//! Order truth under faults, through the real app: the fault matrix.
//!
//! The app is SIGKILLed at each injected point of a real order while D1 (the standalone sandbox,
//! in its own process) lives on — answering at once, or holding the order longer than the
//! restart takes — and started again early (before D1 finished, or within the grace period) or
//! late. Then: a gateway's 502 and 504, a journal that refuses D1's acceptance, a second launch
//! during an order, and a training start on a data directory that holds a production journal.
//!
//! For every case: at most one operation at D1 per teller intent, never a final "no card was
//! made" while D1 has or later gets the order, and the window says what happened.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test crate: failing loudly is the point

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use desk_e2e::external::{ExternalD1, ISSUER};
use desk_e2e::{CANARY_PAN, Desk};
use order_journal::{Journal, JournalIdentity, OrderState};
use order_workflow::{CardId, ConsumerId, CorrelationId, IssuerRequestId, crash};

/// A short grace period (`retry.no_record_after_seconds`): it ends while the test watches.
const SHORT_GRACE: u64 = 5;
/// A grace period no restart outlasts.
const LONG_GRACE: u64 = 120;

/// The external D1 and the path of the desk's machine configuration for it.
async fn external_d1(dir: &Path, grace_seconds: u64) -> (ExternalD1, PathBuf) {
    let d1 = ExternalD1::start(dir).await.unwrap();
    let config = dir.join("desk.toml");
    std::fs::write(
        &config,
        d1.desk_config(&format!(
            "[retry]\nbudget_seconds = 2\nno_record_after_seconds = {grace_seconds}\n"
        )),
    )
    .unwrap();
    d1.import_signing_key(None).unwrap();
    (d1, config)
}

fn custom_journal(data_dir: &Path) -> PathBuf {
    order_workflow::setup::journal_path(
        data_dir,
        &JournalIdentity {
            environment: "custom".into(),
            issuer_id: ISSUER.into(),
        },
    )
}

async fn order_a_card(desk: &Desk, product: &str) {
    desk.find("order-form").await.unwrap();
    desk.type_into("consumerId", "CUST-FAULT").await.unwrap();
    desk.choose("cardProductId", product).await.unwrap();
    desk.type_into("pan", CANARY_PAN).await.unwrap();
    desk.type_into("exp", "0730").await.unwrap();
    desk.type_into("name", "ANA GARCIA").await.unwrap();
    desk.review().await.unwrap();
    desk.click("confirm-button").await.unwrap();
}

/// Where the app is SIGKILLed.
#[derive(Clone, Copy, Debug)]
enum KillAt {
    /// An injected crash point of the order (`order_workflow::crash`).
    Point(&'static str),
    /// While D1 holds the order request (it has arrived; no answer yet).
    WhileD1Holds,
}

/// How D1 behaves with the order.
#[derive(Clone, Copy, Debug)]
enum D1Pace {
    /// Answers at once.
    Fast,
    /// Holds the order this long before making it (whether or not the app is still there).
    Holds(Duration),
}

/// When the app is started again.
#[derive(Clone, Copy, Debug)]
enum Restart {
    /// At once: D1 may still be working on the order, the grace period is not over.
    Early,
    /// After D1 is done with the order and after the grace period.
    Late,
}

struct Case {
    kill: KillAt,
    d1: D1Pace,
    restart: Restart,
    /// `retry.no_record_after_seconds` of the desk.
    grace: u64,
    /// Verdicts the window may show right after the restart, then the one it must end on.
    first: &'static [&'static str],
    last: &'static [&'static str],
    /// Final journal state(s) and D1's operations for the intent.
    states: &'static [OrderState],
    operations: u64,
}

async fn run(case: Case) {
    let label = format!("{:?} / {:?} / {:?}", case.kill, case.d1, case.restart);
    let work = tempfile::tempdir().unwrap();
    let (d1, config_path) = external_d1(work.path(), case.grace).await;
    if let D1Pace::Holds(hold) = case.d1 {
        d1.control
            .post(
                "faults/hold",
                serde_json::json!({"count": 1, "millis": hold.as_millis() as u64}),
            )
            .await
            .unwrap();
    }
    let marker = work.path().join("crashed");
    let config = config_path.to_str().unwrap().to_owned();
    let mut env = vec![("ISSUANCE_DESK_MACHINE_CONFIG", config.as_str())];
    let marker_text = marker.to_str().unwrap().to_owned();
    if let KillAt::Point(point) = case.kill {
        env.push(("ISSUANCE_DESK_CRASH_AT", point));
        env.push(("ISSUANCE_DESK_CRASH_MARKER", marker_text.as_str()));
    }
    let desk = Desk::start_with(tempfile::tempdir().unwrap(), &env)
        .await
        .unwrap();
    order_a_card(&desk, "E2E_DEBIT").await;

    // Kill the app at the point.
    let deadline = Instant::now() + Duration::from_secs(60);
    let pid = loop {
        let found = match case.kill {
            // The marker is renamed into place: when it exists, it is whole.
            KillAt::Point(_) => std::fs::read_to_string(&marker)
                .ok()
                .and_then(|pid| pid.trim().parse::<u32>().ok()),
            KillAt::WhileD1Holds => match d1.control.received().await {
                Ok(received) if received >= 1 => desk.app_pid(),
                _ => None,
            },
        };
        if let Some(pid) = found {
            break pid;
        }
        assert!(
            Instant::now() < deadline,
            "{label}: the app never got there"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let killed = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success(), "{label}");
    let data_dir = desk.abandon_after_crash().await;
    let journal_path = custom_journal(data_dir.path());
    let card_id = Journal::open(&journal_path).unwrap().in_flight().unwrap()[0]
        .card_id
        .clone();

    if let Restart::Late = case.restart {
        // D1 finishes what it holds, and the grace period passes.
        let wait = match case.d1 {
            D1Pace::Holds(hold) => hold,
            D1Pace::Fast => Duration::ZERO,
        };
        tokio::time::sleep(wait.max(Duration::from_secs(case.grace + 1))).await;
    }

    // The next start: the window lists the interrupted order and what became of it.
    let desk = Desk::start_with(
        data_dir,
        &[("ISSUANCE_DESK_MACHINE_CONFIG", config.as_str())],
    )
    .await
    .unwrap();
    desk.find("order-form").await.unwrap();
    let row = format!("[data-testid='interrupted-order'][data-card-id='{card_id}']");
    let first = desk
        .wait_css_attr(&row, "data-verdict", case.first, Duration::from_secs(20))
        .await
        .unwrap_or_else(|e| panic!("{label}: {e}"));
    let last = desk
        .wait_css_attr(&row, "data-verdict", case.last, Duration::from_secs(90))
        .await
        .unwrap_or_else(|e| panic!("{label} (first {first}): {e}"));
    // Let the background checks ask D1 a few more times: the verdict holds.
    tokio::time::sleep(Duration::from_secs(3)).await;
    desk.wait_css_attr(&row, "data-verdict", case.last, Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("{label}: the verdict changed after {last}: {e}"));
    let verdict_text = desk
        .client
        .find(fantoccini::Locator::Css(&format!(
            "{row} [data-testid='interrupted-verdict']"
        )))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !verdict_text.is_empty(),
        "{label}: the window says what happened"
    );

    let journal = Journal::open(&journal_path).unwrap();
    let detail = journal.detail(&card_id).unwrap();
    assert!(
        case.states.contains(&detail.order.state),
        "{label}: the order ended {:?} (window: {first} → {last})",
        detail.order.state
    );
    let (_, operations) = d1.control.counters().await.unwrap();
    assert_eq!(operations, case.operations, "{label}: operations at D1");
    if operations > 0 {
        assert!(
            detail
                .history
                .iter()
                .all(|h| h.state != OrderState::Abandoned && h.state != OrderState::Rejected),
            "{label}: D1 has the order, so it was never closed as not made: {:?}",
            detail.history
        );
    }
    assert_no_canary(journal_path.parent().unwrap());
    desk.screenshot(&format!(
        "fault-{}",
        label.replace([' ', '/', '"', '(', ')'], "_")
    ))
    .await
    .unwrap();
    desk.stop().await.unwrap();
}

fn assert_no_canary(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        // The journal's -wal and -shm files may vanish while we look: skip what is gone.
        if let Ok(bytes) = std::fs::read(entry.path()) {
            assert!(
                !bytes.windows(16).any(|w| w == CANARY_PAN.as_bytes()),
                "canary PAN in {}",
                entry.path().display()
            );
        }
    }
}

const BEING_MADE: &[&str] = &["being_made", "made"];
const FOUND: &[OrderState] = &[OrderState::InProduction, OrderState::Done];

#[tokio::test]
async fn killed_before_sending_nothing_left_the_desk() {
    run(Case {
        kill: KillAt::Point(crash::INTENT_RECORDED),
        d1: D1Pace::Fast,
        restart: Restart::Early,
        grace: SHORT_GRACE,
        first: &["not_received"],
        last: &["not_received"],
        states: &[OrderState::Abandoned],
        operations: 0,
    })
    .await;
}

#[tokio::test]
async fn killed_while_sending_d1_is_asked_and_it_stays_checking_within_the_grace_period() {
    run(Case {
        kill: KillAt::Point(crash::SENDING),
        d1: D1Pace::Fast,
        restart: Restart::Early,
        grace: LONG_GRACE,
        // D1 has nothing, and may still get it: checking, never "not made".
        first: &["checking"],
        last: &["checking"],
        states: &[OrderState::Sending],
        operations: 0,
    })
    .await;
}

#[tokio::test]
async fn killed_while_sending_and_restarted_after_the_grace_period_needs_a_person() {
    run(Case {
        kill: KillAt::Point(crash::SENDING),
        d1: D1Pace::Fast,
        restart: Restart::Late,
        grace: SHORT_GRACE,
        first: &["checking", "needs_person"],
        last: &["needs_person"],
        states: &[OrderState::NoRecord],
        operations: 0,
    })
    .await;
}

#[tokio::test]
async fn killed_after_d1_accepted_the_order_is_found_with_its_operation() {
    run(Case {
        kill: KillAt::Point(crash::ACCEPTED_UNRECORDED),
        d1: D1Pace::Fast,
        restart: Restart::Early,
        grace: SHORT_GRACE,
        first: &["checking", "being_made", "made"],
        last: BEING_MADE,
        states: FOUND,
        operations: 1,
    })
    .await;
}

#[tokio::test]
async fn killed_while_d1_holds_the_order_and_restarted_before_d1_made_it() {
    // The case that once said "no card was made": D1 answers 404 while it still works on the
    // order; the desk keeps asking, and D1's late answer wins.
    run(Case {
        kill: KillAt::WhileD1Holds,
        d1: D1Pace::Holds(Duration::from_secs(15)),
        restart: Restart::Early,
        grace: SHORT_GRACE,
        first: &["checking", "needs_person"],
        last: BEING_MADE,
        states: FOUND,
        operations: 1,
    })
    .await;
}

#[tokio::test]
async fn killed_while_d1_holds_the_order_and_restarted_after_d1_made_it() {
    run(Case {
        kill: KillAt::WhileD1Holds,
        d1: D1Pace::Holds(Duration::from_secs(6)),
        restart: Restart::Late,
        grace: SHORT_GRACE,
        first: &["checking", "being_made", "made"],
        last: BEING_MADE,
        states: FOUND,
        operations: 1,
    })
    .await;
}

#[tokio::test]
async fn killed_after_d1_held_and_accepted_the_order_is_found() {
    run(Case {
        kill: KillAt::Point(crash::ACCEPTED_UNRECORDED),
        d1: D1Pace::Holds(Duration::from_secs(3)),
        restart: Restart::Early,
        grace: SHORT_GRACE,
        first: &["checking", "being_made", "made"],
        last: BEING_MADE,
        states: FOUND,
        operations: 1,
    })
    .await;
}

/// Follows the order the window shows to a final phase.
async fn until_done(desk: &Desk) {
    desk.wait_css_attr(
        "[data-testid='result-panel']",
        "data-phase",
        &["done"],
        Duration::from_secs(60),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_gateway_502_is_checked_and_the_same_order_goes_again() {
    let desk = Desk::start().await.unwrap();
    desk.sandbox
        .post(
            "faults/gateway",
            serde_json::json!({"count": 1, "status": 502, "forwards": false}),
        )
        .await
        .unwrap();
    order_a_card(&desk, "DEMO_DEBIT").await;
    // Never "refused": D1 is asked, has nothing yet, and the same order may go again.
    desk.find("not-seen-yet").await.unwrap();
    assert!(
        desk.client
            .find(fantoccini::Locator::Css("[data-testid='error-panel']"))
            .await
            .is_err()
    );
    let card_id = desk.text("card-id").await.unwrap();
    desk.click("resend-button").await.unwrap();
    until_done(&desk).await;
    assert_eq!(
        desk.text("card-id").await.unwrap(),
        card_id,
        "the same card id"
    );
    let (_, orders) = desk.sandbox.counters().await.unwrap();
    assert_eq!(orders, 1);
    desk.screenshot("fault-gateway-502").await.unwrap();
    desk.stop().await.unwrap();
}

#[tokio::test]
async fn a_gateway_504_after_d1_made_the_order_is_found_not_refused() {
    let desk = Desk::start().await.unwrap();
    desk.sandbox
        .post(
            "faults/gateway",
            serde_json::json!({"count": 1, "status": 504, "forwards": true}),
        )
        .await
        .unwrap();
    order_a_card(&desk, "DEMO_DEBIT").await;
    until_done(&desk).await;
    let (_, orders) = desk.sandbox.counters().await.unwrap();
    assert_eq!(orders, 1);
    desk.stop().await.unwrap();
}

#[tokio::test]
async fn a_journal_that_refuses_d1s_acceptance_is_shown_as_checking_and_recorded_later() {
    let desk = Desk::start_with(
        tempfile::tempdir().unwrap(),
        &[("ISSUANCE_DESK_FAIL_ACCEPTANCE_WRITES", "3")],
    )
    .await
    .unwrap();
    // The notice shows until D1's answer about the order arrives, which may be at once:
    // record every text it had.
    desk.client
        .execute(
            "window.__notices = [];
             new MutationObserver(() => {
               const n = document.querySelector(\"[data-testid='tracker-notice']\");
               if (n) window.__notices.push(n.textContent);
             }).observe(document.body, { subtree: true, childList: true, characterData: true });
             return true;",
            vec![],
        )
        .await
        .unwrap();
    order_a_card(&desk, "DEMO_DEBIT").await;
    until_done(&desk).await;
    let notice = desk
        .client
        .execute("return window.__notices.join(' | ');", vec![])
        .await
        .unwrap();
    let notice = notice.as_str().unwrap_or_default().to_owned();
    assert!(notice.contains("could not record"), "{notice}");
    let card_id = CardId::parse(desk.text("card-id").await.unwrap()).unwrap();
    let journal = Journal::open(desk_e2e::training_journal(desk.data_dir.path())).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while journal
        .detail(&card_id)
        .unwrap()
        .order
        .operation_id
        .is_none()
    {
        assert!(
            Instant::now() < deadline,
            "the acceptance was never recorded"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, orders) = desk.sandbox.counters().await.unwrap();
    assert_eq!(orders, 1);
    desk.stop().await.unwrap();
}

#[tokio::test]
async fn a_second_launch_during_an_order_hands_over_to_the_window_and_writes_nothing() {
    let desk = Desk::start().await.unwrap();
    desk.sandbox
        .post(
            "faults/hold",
            serde_json::json!({"count": 1, "millis": 4000}),
        )
        .await
        .unwrap();
    order_a_card(&desk, "DEMO_DEBIT").await;
    let mut second = desk.launch_again().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = second.kill();
            panic!("the second launch kept running beside the first");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        status.success(),
        "the second launch handed over and left: {status}"
    );
    until_done(&desk).await;
    let (_, orders) = desk.sandbox.counters().await.unwrap();
    assert_eq!(orders, 1);
    // And a process that got past the hand-over could not write the journal.
    let journal = desk_e2e::training_journal(desk.data_dir.path());
    let again = Journal::open_for(
        &journal,
        &JournalIdentity {
            environment: "training".into(),
            issuer_id: "TRAINING01".into(),
        },
    );
    assert!(
        matches!(again, Err(order_journal::JournalError::InUse { .. })),
        "{again:?}"
    );
    desk.stop().await.unwrap();
}

#[tokio::test]
async fn training_never_touches_a_production_journal_in_the_same_data_directory() {
    let data_dir = tempfile::tempdir().unwrap();
    let production = JournalIdentity {
        environment: "production".into(),
        issuer_id: "BANK000001".into(),
    };
    let production_path = order_workflow::setup::journal_path(data_dir.path(), &production);
    std::fs::create_dir_all(production_path.parent().unwrap()).unwrap();
    let legacy_path = data_dir.path().join("journal.sqlite3");
    for (path, identity) in [(&production_path, Some(&production)), (&legacy_path, None)] {
        let journal = match identity {
            Some(identity) => Journal::open_for(path, identity).unwrap(),
            None => Journal::open(path).unwrap(),
        };
        journal
            .record_intent(&order_journal::NewOrder {
                operator: "teller1".into(),
                consumer_id: ConsumerId::parse("CUST-PROD").unwrap(),
                product_id: "VISA_CLASSIC".into(),
                station_id: "BRANCH-PS-01".into(),
                issuance_type: "CREATION".into(),
                pan_last4: order_journal::PanLast4::new("1234").unwrap(),
                card_id: CardId::parse("prod-card-1").unwrap(),
                issuer_request_id: IssuerRequestId::parse("prod-req-1").unwrap(),
                correlation_id: CorrelationId::parse("prod-corr-1").unwrap(),
            })
            .unwrap();
        journal
            .mark_sending(&CardId::parse("prod-card-1").unwrap())
            .unwrap();
    }
    // No machine file: training, on the same data directory.
    let desk = Desk::start_with(data_dir, &[("ISSUANCE_DESK_MACHINE_CONFIG", "")])
        .await
        .unwrap();
    desk.find("order-form").await.unwrap();
    assert!(
        desk.client
            .find(fantoccini::Locator::Css(
                "[data-testid='interrupted-orders']"
            ))
            .await
            .is_err(),
        "no production order is shown as interrupted in training"
    );
    order_a_card(&desk, "DEMO_DEBIT").await;
    until_done(&desk).await;
    // The production orders were not asked about the training D1, nor closed.
    for path in [&production_path, &legacy_path] {
        let order = Journal::open(path)
            .unwrap()
            .detail(&CardId::parse("prod-card-1").unwrap())
            .unwrap()
            .order;
        assert_eq!(order.state, OrderState::Sending, "{}", path.display());
    }
    assert!(
        legacy_path.exists(),
        "training never adopts the old journal"
    );
    desk.stop().await.unwrap();
}

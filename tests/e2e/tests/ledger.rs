//! The branch ledger through two real app instances — two desks of one branch, two operators —
//! on a throwaway PostgreSQL (TLS, certificate authentication) that `scripts/with-postgres.sh`
//! starts for the e2e run, and one external D1 both desks order from.
//!
//! Desk 1 (teller `ana`) orders; desk 2 (supervisor `sofia`) sees the order on its supervisor
//! screen; with the server stopped desk 1 keeps ordering, shows what waits, and catches up when it
//! returns, nothing lost and nothing doubled; a desk of another branch sees nothing; a desk's
//! credentials cannot change or delete history; a desk killed during sync ends with the ledger
//! equal to its journal; and a dump of the database holds no card number and no name on card.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test crate: failing loudly is the point

mod ledger_harness;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use branch_ledger::{Ledger, OrderQuery, connect_sql};
use desk_e2e::external::{ExternalD1, ISSUER};
use desk_e2e::{CANARY_PAN, Desk};
use ledger_harness::{Pg, TestDesk, ledger_db, register};
use order_journal::{Journal, JournalIdentity};

async fn order(desk: &Desk, consumer: &str) {
    // The form is free for the next customer at once; each order waits in the production list.
    desk.find("order-form").await.unwrap();
    desk.type_into("consumerId", consumer).await.unwrap();
    desk.choose("cardProductId", "E2E_DEBIT").await.unwrap();
    desk.type_into("pan", CANARY_PAN).await.unwrap();
    desk.type_into("exp", "0730").await.unwrap();
    desk.type_into("name", "ANA GARCIA").await.unwrap();
    desk.review().await.unwrap();
    desk.click("confirm-button").await.unwrap();
    desk.wait_css_attr(
        &format!("[data-testid='result-panel'][data-consumer='{consumer}']"),
        "data-phase",
        &["done"],
        Duration::from_secs(90),
    )
    .await
    .unwrap();
}

async fn ledger_state(desk: &Desk, want: &[&str]) -> String {
    desk.wait_css_attr(
        "[data-testid='ledger-status']",
        "data-state",
        want,
        Duration::from_secs(60),
    )
    .await
    .unwrap()
}

/// Waits until the supervisor screen lists an order of `consumer`; returns how long it took.
async fn until_listed(desk: &Desk, consumer: &str) -> Duration {
    let started = Instant::now();
    loop {
        let rows = desk
            .client
            .find_all(fantoccini::Locator::Css("[data-testid='order-row']"))
            .await
            .unwrap_or_default();
        for row in rows {
            if row.text().await.unwrap_or_default().contains(consumer) {
                return started.elapsed();
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{consumer} never appeared on the supervisor screen"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn custom_journal(data_dir: &Path) -> Journal {
    Journal::open(order_workflow::setup::journal_path(
        data_dir,
        &JournalIdentity {
            environment: "custom".into(),
            issuer_id: ISSUER.into(),
        },
    ))
    .unwrap()
}

#[tokio::test]
async fn two_desks_share_the_branch_record_and_nothing_is_lost_while_the_server_is_away() {
    let pg = Pg::from_env();
    let work = tempfile::tempdir().unwrap();
    let d1 = ExternalD1::start(work.path()).await.unwrap();
    let (db, mut admin) = ledger_db(&pg, "ledger_e2e").await;
    let teller = register(&pg, &mut admin, "B1-TELLER", "B1").await;
    let supervisor = register(&pg, &mut admin, "B1-SUPER", "B1").await;
    let other_branch = register(&pg, &mut admin, "B2-DESK", "B2").await;
    let teller_config = teller.install(&pg, &db, &d1, work.path(), "");
    let supervisor_config = supervisor.install(&pg, &db, &d1, work.path(), "");

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
    ledger_state(&desk1, &["up_to_date"]).await;
    desk2.click("nav-supervisor").await.unwrap();
    desk2.find("supervisor-screen").await.unwrap();
    desk2
        .wait_css_attr(
            "[data-testid='supervisor-scope']",
            "data-branch",
            &["true"],
            Duration::from_secs(20),
        )
        .await
        .unwrap();

    // An order on desk 1 appears on desk 2's supervisor screen by itself.
    order(&desk1, "CUST-LEDGER-1").await;
    let seen_after = until_listed(&desk2, "CUST-LEDGER-1").await;
    eprintln!(
        "desk 1's order on desk 2's screen after {} ms",
        seen_after.as_millis()
    );
    let desk_cell = desk2.text("row-desk").await.unwrap();
    assert!(desk_cell.contains("B1-TELLER"), "{desk_cell}");

    // The server goes away: desk 1 keeps ordering and says what waits.
    let away = pg.stop();
    order(&desk1, "CUST-LEDGER-2").await;
    ledger_state(&desk1, &["unreachable"]).await;
    let waiting = desk1
        .find("ledger-status")
        .await
        .unwrap()
        .attr("data-waiting")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(waiting.parse::<u32>().unwrap() > 0, "waiting {waiting}");
    let status = desk1.text("ledger-status").await.unwrap();
    assert!(status.contains("waiting since"), "{status}");
    desk1.screenshot("ledger-waiting").await.unwrap();

    // It comes back: desk 1 catches up, desk 2 sees the second order.
    away.start();
    ledger_state(&desk1, &["up_to_date"]).await;
    until_listed(&desk2, "CUST-LEDGER-2").await;
    desk2.screenshot("ledger-supervisor-branch").await.unwrap();

    // Nothing lost, nothing doubled: every journal event of desk 1 is in the ledger once.
    let journal = custom_journal(desk1.data_dir.path());
    let admin_sql = connect_sql(&pg.options(&db, &pg.admin_user, pg.admin.clone()))
        .await
        .unwrap();
    assert_ledger_holds_journal(&admin_sql, &teller, &journal).await;

    // A desk of another branch sees none of it.
    let other = Ledger::connect(&other_branch.options(&pg, &db))
        .await
        .unwrap();
    let page = other.list(&OrderQuery::default()).await.unwrap();
    assert!(
        page.items.is_empty(),
        "branch B2 sees {} orders",
        page.items.len()
    );

    // A desk's credentials cannot change or delete history.
    let raw = connect_sql(&teller.options(&pg, &db)).await.unwrap();
    for sql in [
        "UPDATE ledger.order_events SET state = 'done'",
        "DELETE FROM ledger.order_events",
        "DELETE FROM ledger.orders",
        "UPDATE ledger.orders SET state = 'abandoned'",
        "TRUNCATE ledger.order_events",
    ] {
        let refused = raw.batch_execute(sql).await;
        assert!(refused.is_err(), "{sql} was allowed");
    }
    assert_ledger_holds_journal(&admin_sql, &teller, &journal).await;

    // The canary card number and the printed name are in no row of the ledger.
    let dump = pg.dump(&db);
    for needle in [CANARY_PAN, "ANA GARCIA"] {
        assert!(
            !dump.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle} in the ledger's dump"
        );
    }
    desk1.stop().await.unwrap();
    desk2.stop().await.unwrap();
}

/// Every event of the desk's journal is in the ledger, once, in order, with the same state.
async fn assert_ledger_holds_journal(
    sql: &tokio_postgres::Client,
    desk: &TestDesk,
    journal: &Journal,
) {
    let mut expected = Vec::new();
    for order in journal
        .list(&order_journal::OrderQuery {
            page_size: order_journal::MAX_PAGE_SIZE,
            ..Default::default()
        })
        .unwrap()
        .items
    {
        for event in journal.detail(&order.card_id).unwrap().history {
            expected.push((
                order.card_id.to_string(),
                event.at.as_millis(),
                event.state.as_str().to_owned(),
            ));
        }
    }
    expected.sort();
    let rows = sql
        .query(
            "SELECT seq, card_id, (extract(epoch FROM at) * 1000)::bigint, state::text
             FROM ledger.order_events WHERE desk_id = $1 ORDER BY seq",
            &[&desk.id],
        )
        .await
        .unwrap();
    let seqs: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(
        seqs,
        (1..=rows.len() as i64).collect::<Vec<_>>(),
        "no gaps, no doubles"
    );
    let mut held: Vec<(String, i64, String)> = rows
        .iter()
        .map(|r| (r.get(1), r.get(2), r.get(3)))
        .collect();
    held.sort();
    assert_eq!(
        held, expected,
        "the ledger holds exactly the journal's events"
    );
}

#[tokio::test]
async fn a_desk_killed_during_sync_ends_with_the_ledger_equal_to_its_journal() {
    let pg = Pg::from_env();
    let work = tempfile::tempdir().unwrap();
    let d1 = ExternalD1::start(work.path()).await.unwrap();
    let (db, mut admin) = ledger_db(&pg, "ledger_e2e").await;
    let teller = register(&pg, &mut admin, "B1-KILLED", "B1").await;
    let config = teller.install(&pg, &db, &d1, work.path(), "");
    let desk = teller
        .start(tempfile::tempdir().unwrap(), &config, "ana:tellers")
        .await;
    ledger_state(&desk, &["up_to_date"]).await;
    order(&desk, "CUST-KILL-1").await;
    let away = pg.stop();
    order(&desk, "CUST-KILL-2").await;
    ledger_state(&desk, &["unreachable"]).await;
    // Killed with changes still waiting; the server returns while it is down.
    let pid = desk.app_pid().expect("the app's process");
    assert!(
        Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    let data_dir = desk.abandon_after_crash().await;
    away.start();
    let desk = teller.start(data_dir, &config, "ana:tellers").await;
    ledger_state(&desk, &["up_to_date"]).await;
    // Let the background checks finish following the orders, then compare.
    tokio::time::sleep(Duration::from_secs(3)).await;
    ledger_state(&desk, &["up_to_date"]).await;
    let journal = custom_journal(desk.data_dir.path());
    let sql = connect_sql(&pg.options(&db, &pg.admin_user, pg.admin.clone()))
        .await
        .unwrap();
    assert_ledger_holds_journal(&sql, &teller, &journal).await;
    desk.stop().await.unwrap();
}

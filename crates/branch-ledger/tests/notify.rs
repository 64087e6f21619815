//! Live updates through LISTEN/NOTIFY: a desk hears about its branch's orders, as they are
//! appended by any desk, and never about another branch's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use branch_ledger::{DeskKind, Event, Ledger, OrderChanged, OrderChanges};
use common::{Server, at, cid, full_order, order};
use order_journal::OrderState;

/// The next change, or a failure after a generous bound (a hang guard, not a timing check).
async fn next(changes: &mut OrderChanges) -> OrderChanged {
    tokio::time::timeout(Duration::from_secs(30), changes.next())
        .await
        .expect("no notification within 30 s")
        .expect("the subscription ended")
        .expect("the subscription failed")
}

#[tokio::test]
async fn a_desk_hears_of_every_change_in_its_branch_and_nothing_from_other_branches() {
    let mut ledger = Server::from_env().ledger().await;
    let watcher = ledger.desk("sup", "B1").await;
    let teller = ledger.desk("teller", "B1").await;
    let stranger = ledger.desk("stranger", "B2").await;
    let mut changes = Ledger::subscribe(&watcher.options).await.unwrap();

    let t = teller.connect().await;
    t.append(&full_order(1, "card-1", 0)[..2]).await.unwrap();
    let change = next(&mut changes).await;
    assert_eq!(change.branch_id.as_str(), "B1");
    assert_eq!(change.card_id, "card-1");
    assert_eq!(change.desk_id, teller.desk_id);

    // Another branch's order, then ours: the next change heard is ours.
    stranger
        .connect()
        .await
        .append(&full_order(1, "card-elsewhere", 0))
        .await
        .unwrap();
    t.append(&[
        Event::intent(3, at(2), &order("card-2")),
        Event::transition(4, at(3), &cid("card-1"), "jane", OrderState::Abandoned),
    ])
    .await
    .unwrap();
    let mut heard = [next(&mut changes).await, next(&mut changes).await];
    heard.sort_by(|a, b| a.card_id.cmp(&b.card_id));
    assert_eq!(
        heard.iter().map(|c| c.card_id.as_str()).collect::<Vec<_>>(),
        ["card-1", "card-2"]
    );

    // A replay changes nothing, so it notifies nothing; a heartbeat neither.
    t.append(&full_order(1, "card-1", 0)[..2]).await.unwrap();
    t.append(&[]).await.unwrap();
    t.append(&[Event::transition(
        5,
        at(4),
        &cid("card-2"),
        "jane",
        OrderState::Sending,
    )])
    .await
    .unwrap();
    let change = next(&mut changes).await;
    assert_eq!(change.card_id, "card-2");
}

#[tokio::test]
async fn a_regional_desk_hears_its_region() {
    let mut ledger = Server::from_env().ledger().await;
    let regional = ledger
        .desk_with("reg", "B1", Some("N"), DeskKind::Regional)
        .await;
    let north = ledger
        .desk_with("n", "B2", Some("N"), DeskKind::Teller)
        .await;
    let south = ledger
        .desk_with("s", "B3", Some("S"), DeskKind::Teller)
        .await;
    let mut changes = Ledger::subscribe(&regional.options).await.unwrap();
    south
        .connect()
        .await
        .append(&full_order(1, "card-s", 0))
        .await
        .unwrap();
    north
        .connect()
        .await
        .append(&full_order(1, "card-n", 0))
        .await
        .unwrap();
    let change = next(&mut changes).await;
    assert_eq!(change.card_id, "card-n");
    assert_eq!(change.branch_id.as_str(), "B2");
}

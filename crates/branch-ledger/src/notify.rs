//! Live updates: "order changed (branch, card id)" as soon as any desk appends, without polling.
//!
//! After each append the desk calls `ledger.announce`, which notifies channel `ledger_orders`
//! with which events are new (branch, desk, first and last seq), never their content: any role
//! can LISTEN to any channel. The subscriber reads the changed card ids through row-level security, so a desk learns
//! only about the orders it may see.

use std::collections::HashSet;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_postgres::types::ToSql;
use tokio_postgres::{AsyncMessage, Notification};

use crate::connect::{ConnectOptions, open};
use crate::desk::Ledger;
use crate::error::{LedgerError, Result, classify};
use crate::ids::{BranchId, DeskId};
use desk_domain::CardId;

/// The channel `ledger.append_events` notifies.
pub const CHANNEL: &str = "ledger_orders";

/// The channel the counter workflows notify (approvals, exceptions): branch and kind only.
pub const COUNTER_CHANNEL: &str = "ledger_counter";

/// What changed in a branch's counter workflows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CounterKind {
    /// An approval request was made, decided or canceled.
    Approval,
    /// An exception was taken, commented or resolved.
    Exception,
}

/// The approvals or exceptions of a branch changed: read them again.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct CounterChanged {
    /// The branch.
    pub branch_id: BranchId,
    /// What changed.
    pub kind: CounterKind,
}

/// The stream of counter changes of the branches this desk sees; ends like [`OrderChanges`].
pub struct CounterChanges {
    rx: mpsc::Receiver<Result<CounterChanged>>,
    tasks: [JoinHandle<()>; 2],
}

impl CounterChanges {
    /// The next change; `None` once the subscription has ended.
    pub async fn next(&mut self) -> Option<Result<CounterChanged>> {
        self.rx.recv().await
    }
}

impl Drop for CounterChanges {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl std::fmt::Debug for CounterChanges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CounterChanges").finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct CounterPayload {
    branch: String,
    kind: String,
}

/// An order some desk changed (a new order, a new state or D1 status).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct OrderChanged {
    /// The order's branch.
    pub branch_id: BranchId,
    /// The order.
    pub card_id: CardId,
    /// The desk that appended the change.
    pub desk_id: DeskId,
}

/// The stream of changes. Ends (after one [`LedgerError::Unreachable`]) when the connection
/// breaks: subscribe again, and refresh the list once, since changes made meanwhile were not
/// notified. Dropping it closes the connection.
pub struct OrderChanges {
    rx: mpsc::Receiver<Result<OrderChanged>>,
    tasks: [JoinHandle<()>; 2],
}

impl OrderChanges {
    /// The next change; `None` once the subscription has ended.
    pub async fn next(&mut self) -> Option<Result<OrderChanged>> {
        self.rx.recv().await
    }
}

impl Drop for OrderChanges {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl std::fmt::Debug for OrderChanges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderChanges").finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Payload {
    branch: String,
    desk: String,
    from: i64,
    to: i64,
}

const BUFFER: usize = 4096;

/// A connection of its own listening to `channel`: the client (for reads through row-level
/// security), the notifications, the task driving the connection, and the branches this
/// session sees.
async fn listen(
    options: &ConnectOptions,
    channel: &str,
) -> Result<(
    tokio_postgres::Client,
    mpsc::Receiver<Result<Notification>>,
    JoinHandle<()>,
    HashSet<String>,
)> {
    let (client, mut connection) = open(options).await?;
    let (note_tx, note_rx) = mpsc::channel::<Result<Notification>>(BUFFER);
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if note_tx.send(Ok(n)).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    let _ = note_tx.send(Err(classify(&e))).await;
                    return;
                }
            }
        }
        let _ = note_tx
            .send(Err(LedgerError::Unreachable(
                "the ledger closed the notification connection".into(),
            )))
            .await;
    });
    let setup = async {
        client.batch_execute(&format!("LISTEN {channel}")).await?;
        let row = client.query_one("SELECT ledger.my_branches()", &[]).await?;
        let visible: Vec<String> = row.try_get(0)?;
        Ok::<_, LedgerError>(visible.into_iter().collect::<HashSet<_>>())
    };
    match setup.await {
        Ok(visible) => Ok((client, note_rx, driver, visible)),
        Err(e) => {
            driver.abort();
            Err(e)
        }
    }
}

impl Ledger {
    /// Subscribes to changes of the orders this desk sees, on a connection of its own (opened
    /// with `options`, the same as [`Ledger::connect`]'s).
    pub async fn subscribe(options: &ConnectOptions) -> Result<OrderChanges> {
        let (client, mut note_rx, driver, visible) = listen(options, CHANNEL).await?;
        let (out_tx, rx) = mpsc::channel(BUFFER);
        let resolver = tokio::spawn(async move {
            while let Some(note) = note_rx.recv().await {
                let note = match note {
                    Ok(n) => n,
                    Err(e) => {
                        let _ = out_tx.send(Err(e)).await;
                        return;
                    }
                };
                let Ok(p) = serde_json::from_str::<Payload>(note.payload()) else {
                    tracing::warn!("ignored a ledger notification with an unexpected payload");
                    continue;
                };
                if !visible.contains(&p.branch) {
                    continue;
                }
                let rows = client
                    .query(
                        "SELECT DISTINCT card_id FROM ledger.order_events \
                         WHERE branch_id = $1 AND desk_id = $2 AND seq BETWEEN $3 AND $4",
                        &[&p.branch as &(dyn ToSql + Sync), &p.desk, &p.from, &p.to],
                    )
                    .await;
                let rows = match rows {
                    Ok(rows) => rows,
                    Err(e) => {
                        let _ = out_tx.send(Err(classify(&e))).await;
                        return;
                    }
                };
                for row in rows {
                    let Ok(card_id) = row.try_get::<_, CardId>(0) else {
                        continue;
                    };
                    let change = OrderChanged {
                        branch_id: BranchId::from_server(p.branch.clone()),
                        card_id,
                        desk_id: DeskId::from_server(p.desk.clone()),
                    };
                    if out_tx.send(Ok(change)).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(OrderChanges {
            rx,
            tasks: [driver, resolver],
        })
    }

    /// Subscribes to the approvals and exceptions of the branches this desk sees (channel
    /// [`COUNTER_CHANNEL`]), on a connection of its own.
    pub async fn subscribe_counter(options: &ConnectOptions) -> Result<CounterChanges> {
        let (client, mut note_rx, driver, visible) = listen(options, COUNTER_CHANNEL).await?;
        let (out_tx, rx) = mpsc::channel(BUFFER);
        let filter = tokio::spawn(async move {
            // The client lives as long as the subscription (dropping it closes the connection).
            let _listening = client;
            while let Some(note) = note_rx.recv().await {
                let change = note.map(|n| {
                    serde_json::from_str::<CounterPayload>(n.payload())
                        .ok()
                        .filter(|p| visible.contains(&p.branch))
                        .and_then(|p| {
                            let kind = match p.kind.as_str() {
                                "approval" => CounterKind::Approval,
                                "exception" => CounterKind::Exception,
                                _ => return None,
                            };
                            Some(CounterChanged {
                                branch_id: BranchId::from_server(p.branch),
                                kind,
                            })
                        })
                });
                let end = change.is_err();
                match change.transpose() {
                    None => continue,
                    Some(change) => {
                        if out_tx.send(change).await.is_err() || end {
                            return;
                        }
                    }
                }
            }
        });
        Ok(CounterChanges {
            rx,
            tasks: [driver, filter],
        })
    }
}

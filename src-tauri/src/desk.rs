//! Starts the order desk in the background through the one composition root
//! (`order_workflow::OrderDesk::open`: data directory, the journal of the configured D1, D1),
//! then follows the orders a previous run left unfinished — in the background, so the form is
//! usable at once — and tells the window about every order that changes.

use std::time::Duration;

use order_workflow::{DeskOptions, Installation, OrderDesk, setup};
use tauri::AppHandle;
use tauri_specta::Event;

use crate::IpcError;
use crate::state::AppState;

pub fn start(app: &AppHandle, state: AppState) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let desk = open(&state).await;
        if let Err(error) = &desk {
            tracing::error!(kind = ?error.kind, code = ?error.code, "the order desk could not start");
        }
        let ready = desk.as_ref().ok().cloned();
        if let (Some(desk), Ok(config)) = (&ready, state.config()) {
            connect_ledger(&app, desk, config).await;
        }
        if let Some(desk) = &ready {
            forward_changes(&app, desk);
            if let Err(error) = desk.start_following().await {
                tracing::error!(%error, "the orders left unfinished cannot be followed");
            }
        }
        state.set_desk(desk);
        if let (Some(desk), Ok(config)) = (ready, state.config()) {
            prune(&desk, config.journal.retention_days).await;
        }
    });
}

/// Removes finished orders older than the retention (`journal.retention_days`), once the desk
/// is ready so that start-up does not wait for it. Orders still in flight are never removed.
async fn prune(desk: &OrderDesk, retention_days: u32) {
    let journal = desk.journal().clone();
    let older_than = Duration::from_secs(u64::from(retention_days) * 24 * 60 * 60);
    match tauri::async_runtime::spawn_blocking(move || journal.prune(older_than)).await {
        Ok(Ok(0)) => {}
        Ok(Ok(removed)) => tracing::info!(removed, retention_days, "orders past retention removed"),
        Ok(Err(error)) => tracing::warn!(%error, "the journal could not be pruned"),
        Err(error) => tracing::warn!(%error, "the journal pruning task failed"),
    }
}

/// Starts pushing the journal to the branch ledger when one is configured; the window follows
/// its state through `LedgerChanged` events. A ledger that cannot be set up never stops the
/// desk: orders wait in the journal, and the status bar says why.
async fn connect_ledger(app: &AppHandle, desk: &OrderDesk, config: &desk_config::Config) {
    if !config.ledger.is_configured() {
        return;
    }
    let config = config.clone();
    let options = tauri::async_runtime::spawn_blocking(move || {
        let secrets = Installation::this_build().secret_store(&config)?;
        setup::ledger_options(&config, &secrets)
    })
    .await;
    let link = match options {
        Ok(Ok(Some(options))) => {
            let link = desk.attach_ledger(options);
            desk.follow_branch();
            desk.follow_counter();
            forward_counter_changes(app, desk);
            link
        }
        Ok(Ok(None)) => return,
        Ok(Err(error)) => {
            tracing::error!(%error, "the branch ledger cannot be set up: orders wait in the journal");
            desk.ledger_unavailable("setup");
            return;
        }
        Err(error) => {
            tracing::error!(%error, "the branch ledger set-up task failed");
            desk.ledger_unavailable("setup");
            return;
        }
    };
    let mut watch = link.watch();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        while watch.changed().await.is_ok() {
            let status = watch.borrow_and_update().clone();
            if let Err(error) = crate::events::LedgerChanged(status).emit(&app) {
                tracing::debug!(%error, "the window did not take a ledger change");
            }
        }
    });
}

/// Every change of the branch's approvals and exceptions becomes a `CounterChanged` event.
fn forward_counter_changes(app: &AppHandle, desk: &OrderDesk) {
    let mut changes = desk.counter_changes();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            match changes.recv().await {
                Ok(kind) => {
                    let event = crate::events::CounterChanged {
                        kind: match kind {
                            order_workflow::CounterKind::Approval => "approval",
                            order_workflow::CounterKind::Exception => "exception",
                        }
                        .to_owned(),
                    };
                    if let Err(error) = event.emit(&app) {
                        tracing::debug!(%error, "the window did not take a counter change");
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
}

/// Every change of an order becomes an `OrderChanged` event for the window.
fn forward_changes(app: &AppHandle, desk: &OrderDesk) {
    let mut changes = desk.changes();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            match changes.recv().await {
                Ok(change) => {
                    let event = crate::events::OrderChanged {
                        card_id: change.card_id,
                    };
                    if let Err(error) = event.emit(&app) {
                        tracing::debug!(%error, "the window did not take an order change");
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "order changes were dropped; the window asks again");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

/// Opens the desk through the one composition root (`order_workflow::OrderDesk::open`), as the
/// admin CLI does: same data directory, same journal, same keychain entries.
async fn open(state: &AppState) -> Result<OrderDesk, IpcError> {
    let config = state.config()?.clone();
    let operator = crate::identity::current().user.clone();
    let options = DeskOptions::new(config, Installation::this_build(), operator)?;
    let opened = OrderDesk::open(options).await?;
    if let Some(practice) = opened.practice {
        state.keep_practice(practice);
    }
    if let Some(sandbox) = opened.training_d1 {
        state.keep_sandbox(sandbox);
    }
    Ok(opened.desk)
}

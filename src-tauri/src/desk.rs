//! Starts the order desk in the background: data directory, the journal of the configured D1,
//! D1 (the in-process training sandbox, or the configured D1 with the keychain's credentials),
//! then follows the orders a previous run left unfinished — in the background, so the form is
//! usable at once — and tells the window about every order that changes.

use std::path::PathBuf;
use std::time::Duration;

use order_workflow::training::{self, TrainingOptions};
use order_workflow::{OrderDesk, setup};
use tauri::{AppHandle, Manager};
use tauri_specta::Event;

use crate::state::AppState;
use crate::{ErrorKind, IpcError};

// Test hooks (data directory, sandbox port, training step) are read through
// desk_config::dev_hooks: debug builds only.

pub fn start(app: &AppHandle, state: AppState) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let desk = open(&app, &state).await;
        if let Err(error) = &desk {
            tracing::error!(kind = ?error.kind, message = %error.message, "the order desk could not start");
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
    let (config, development) = (config.clone(), cfg!(debug_assertions));
    let options = tauri::async_runtime::spawn_blocking(move || {
        let secrets = setup::secret_store(&config, development)?;
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

async fn open(app: &AppHandle, state: &AppState) -> Result<OrderDesk, IpcError> {
    let config = state.config()?.clone();
    let data_dir = data_dir(app)?;
    desk_config::private_fs::create_private_dir(&data_dir).map_err(|e| {
        setup_error(format!(
            "The data directory {} cannot be created: {e}",
            data_dir.display()
        ))
    })?;
    let journal_config = config.clone();
    let journal_dir = data_dir.clone();
    let journal = tauri::async_runtime::spawn_blocking(move || {
        setup::open_journal(&journal_dir, &journal_config)
    })
    .await
    .map_err(|e| setup_error(e.to_string()))??;
    let mut settings = setup::desk_settings(&config);
    settings.failing_acceptance_writes =
        desk_config::dev_hooks::failing_acceptance_writes().unwrap_or(0);

    let catalog = setup::catalog(&config);
    let desk = if config.environment == desk_config::Environment::Training {
        let options = TrainingOptions {
            port: desk_config::dev_hooks::sandbox_port().unwrap_or(0),
            production_step: Duration::from_millis(
                desk_config::dev_hooks::training_step_ms().unwrap_or(3000),
            ),
            retry: setup::retry_policy(&config),
        };
        let d1 = training::start(&data_dir.join("training"), &catalog, &options).await?;
        tracing::info!(banking = %d1.sandbox.banking_base_url(), "training D1 sandbox started");
        state.keep_practice(order_workflow::Practice::new(
            d1.sandbox.control(),
            options.retry.clone(),
            &catalog,
        ));
        let desk = OrderDesk::new(
            d1.client,
            d1.encryption_key,
            journal,
            catalog,
            crate::identity::current().user.clone(),
            settings,
        );
        state.keep_sandbox(d1.sandbox);
        desk
    } else {
        // The keychain may prompt or block on D-Bus: keep it off the async workers.
        let development = cfg!(debug_assertions);
        let (client, encryption_key) = tauri::async_runtime::spawn_blocking(move || {
            let secrets = setup::secret_store(&config, development)?;
            setup::d1_client(&config, &secrets)
        })
        .await
        .map_err(|e| setup_error(e.to_string()))??;
        OrderDesk::new(
            client,
            encryption_key,
            journal,
            catalog,
            crate::identity::current().user.clone(),
            settings,
        )
    };
    Ok(desk)
}

pub fn data_dir(app: &AppHandle) -> Result<PathBuf, IpcError> {
    if let Some(dir) = desk_config::dev_hooks::data_dir() {
        return Ok(dir);
    }
    app.path()
        .app_data_dir()
        .map_err(|e| setup_error(format!("The data directory cannot be found: {e}")))
}

fn setup_error(message: String) -> IpcError {
    IpcError::new(ErrorKind::Setup, message)
}

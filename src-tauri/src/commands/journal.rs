//! The supervisor's journal: recent orders, detail, refresh, charts, exceptions, export.
//! Every command checks in Rust that the OS user is a supervisor (machine configuration):
//! hiding the screen in the window is a convenience, not the control.

use std::path::PathBuf;

use order_journal::Bucket;
use order_workflow::CardId;
use order_workflow::{
    ExportResult, OrderDesk, OrderFilter, OrderPage, OrderRow, OrderStats, OrderTimeline,
    RefreshResult, WorkflowError,
};
use serde::Serialize;
use tauri::{AppHandle, Manager, Runtime, State};

use crate::IpcError;
use crate::state::AppState;

/// Whether this OS user may use the supervisor screen.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SupervisorAccess {
    pub allowed: bool,
    /// The OS user the decision is about.
    pub user: String,
    /// The supervisor screen shows the whole branch (a ledger is configured), not only this
    /// desk's journal.
    pub branch: bool,
}

#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state), err)]
pub fn supervisor_access(state: State<'_, AppState>) -> Result<SupervisorAccess, IpcError> {
    let identity = crate::identity::current();
    let groups: Vec<&str> = identity.groups.iter().map(String::as_str).collect();
    let config = state.config()?;
    Ok(SupervisorAccess {
        allowed: config.is_supervisor(&identity.user, &groups),
        user: identity.user.clone(),
        branch: config.ledger.is_configured(),
    })
}

/// Every desk of the branch (a regional desk: its region) with its last sync; empty without a
/// ledger.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state), err)]
pub async fn desk_syncs(
    state: State<'_, AppState>,
) -> Result<Vec<order_workflow::DeskSync>, IpcError> {
    let desk = supervisor_desk(&state).await?;
    desk.desk_syncs().await.map_err(IpcError::from)
}

/// One page of orders, newest first, with filters and search.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err)]
pub async fn list_orders(
    state: State<'_, AppState>,
    filter: OrderFilter,
) -> Result<OrderPage, IpcError> {
    let desk = supervisor_desk(&state).await?;
    desk.list_orders(&filter).await.map_err(IpcError::from)
}

/// An order and its status timeline.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state), err)]
pub async fn order_detail(
    state: State<'_, AppState>,
    card_id: CardId,
) -> Result<OrderTimeline, IpcError> {
    let desk = supervisor_desk(&state).await?;
    desk.order_timeline(&card_id).await.map_err(IpcError::from)
}

/// Asks D1 for the status of these orders (every pending order when the list is empty).
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state), err)]
pub async fn refresh_orders(
    state: State<'_, AppState>,
    card_ids: Vec<CardId>,
) -> Result<Vec<RefreshResult>, IpcError> {
    let desk = supervisor_desk(&state).await?;
    desk.refresh_orders(card_ids).await.map_err(IpcError::from)
}

/// Orders per hour or day, failures by reason and by station, over `[from, to)` (ms, UTC).
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state), err)]
pub async fn order_stats(
    state: State<'_, AppState>,
    from: f64,
    to: f64,
    bucket: Bucket,
) -> Result<OrderStats, IpcError> {
    let desk = supervisor_desk(&state).await?;
    desk.order_stats(from, to, bucket)
        .await
        .map_err(IpcError::from)
}

/// Orders that need a person: failed, rejected, outcome unknown, stuck in production.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state), err)]
pub async fn order_exceptions(state: State<'_, AppState>) -> Result<Vec<OrderRow>, IpcError> {
    let desk = supervisor_desk(&state).await?;
    desk.order_exceptions().await.map_err(IpcError::from)
}

/// Writes the orders matching `filter` as masked CSV to a new file in the user's Downloads
/// folder and says where. The window never names the path: it cannot make the app write
/// anywhere else.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err)]
pub async fn export_orders<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    filter: OrderFilter,
) -> Result<ExportResult, IpcError> {
    let desk = supervisor_desk(&state).await?;
    let dir = downloads_dir(&app)?;
    let result = desk
        .export_orders(&filter, &dir)
        .await
        .map_err(IpcError::from)?;
    tracing::info!(orders = result.orders, path = %result.path, "orders exported");
    Ok(result)
}

/// The desk, for a supervisor only.
pub(crate) async fn supervisor_desk(state: &AppState) -> Result<OrderDesk, IpcError> {
    let identity = crate::identity::current();
    let groups: Vec<&str> = identity.groups.iter().map(String::as_str).collect();
    if !state.config()?.is_supervisor(&identity.user, &groups) {
        tracing::warn!(user = %identity.user, "supervisor function refused");
        return Err(WorkflowError::NotSupervisor {
            user: identity.user.clone(),
        }
        .into());
    }
    state.desk().await
}

pub(crate) fn downloads_dir<R: Runtime>(app: &AppHandle<R>) -> Result<PathBuf, IpcError> {
    let path = app.path();
    path.download_dir()
        .or_else(|_| path.home_dir().map(|home| home.join("Downloads")))
        .map_err(|e| {
            WorkflowError::Setup(format!("the Downloads folder cannot be found: {e}")).into()
        })
}

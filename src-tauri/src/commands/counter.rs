//! Counter workflows: dual control (the teller asks, a supervisor of the branch decides),
//! spoiled cards and reissues, exceptions taken and resolved, counter time and the end-of-day
//! balance. The rules are the workflow's and the ledger's; supervisor functions are checked here
//! against the machine configuration, as for the journal screen.

use order_workflow::{
    ApprovalOutcome, ApprovalView, BalanceRow, CardId, CounterTimeView, ExceptionRow, ExportResult,
    OrderDraft, OrderProgress, ReissueForm,
};
use tauri::ipc::Channel;
use tauri::{AppHandle, Runtime, State};

use crate::IpcError;
use crate::commands::journal::{downloads_dir, supervisor_desk};
use crate::state::AppState;

/// Asks the branch for a second person's approval of the reviewed order. The card data is
/// encrypted and held in the desk's memory from here on; the window clears its fields.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err)]
pub async fn request_approval(
    state: State<'_, AppState>,
    draft: OrderDraft,
    reason: String,
) -> Result<ApprovalView, IpcError> {
    Ok(state.desk().await?.request_approval(draft, &reason).await?)
}

/// Waits for the decision; on approval the held order is sent (`progress` as for a submit).
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state, progress), err)]
pub async fn await_approval(
    state: State<'_, AppState>,
    card_id: CardId,
    progress: Channel<OrderProgress>,
) -> Result<ApprovalOutcome, IpcError> {
    let desk = state.desk().await?;
    Ok(desk
        .await_approval(&card_id, move |stage| {
            if let Err(error) = progress.send(stage) {
                tracing::debug!(%error, "the window stopped listening to order progress");
            }
        })
        .await?)
}

/// The teller withdraws the waiting order: dropped at once, nothing is sent.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state), err)]
pub async fn cancel_approval(
    state: State<'_, AppState>,
    card_id: CardId,
) -> Result<ApprovalView, IpcError> {
    Ok(state.desk().await?.cancel_approval(&card_id).await?)
}

/// The branch's open approval requests (the supervisor's Approvals view and its badge).
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state), err)]
pub async fn pending_approvals(state: State<'_, AppState>) -> Result<Vec<ApprovalView>, IpcError> {
    let desk = supervisor_desk(&state).await?;
    desk.pending_approvals().await.map_err(IpcError::from)
}

/// Approves or declines a request; the ledger refuses the requester, a late or second decision.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state, comment), err)]
pub async fn decide_approval(
    state: State<'_, AppState>,
    card_id: CardId,
    approve: bool,
    comment: Option<String>,
) -> Result<ApprovalView, IpcError> {
    let desk = supervisor_desk(&state).await?;
    desk.decide_approval(&card_id, approve, comment.as_deref())
        .await
        .map_err(IpcError::from)
}

/// The reasons offered for a spoiled card (configuration).
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state), err)]
pub async fn spoiled_reasons(state: State<'_, AppState>) -> Result<Vec<String>, IpcError> {
    Ok(state.desk().await?.spoiled_reasons())
}

/// Records that the card of a finished order was spoiled (the destruction log).
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state), err)]
pub async fn report_spoiled(
    state: State<'_, AppState>,
    card_id: CardId,
    reason: String,
) -> Result<(), IpcError> {
    let desk = state.desk().await?;
    desk.report_spoiled(&card_id, &reason)
        .await
        .map_err(IpcError::from)
}

/// The form of a reissue of a spoiled order: everything but card data.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state), err)]
pub async fn reissue_form(
    state: State<'_, AppState>,
    card_id: CardId,
) -> Result<ReissueForm, IpcError> {
    let desk = state.desk().await?;
    desk.reissue_form(&card_id).await.map_err(IpcError::from)
}

/// The branch's exceptions with their owners; `null` without a ledger.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state), err)]
pub async fn exception_cases(
    state: State<'_, AppState>,
) -> Result<Option<Vec<ExceptionRow>>, IpcError> {
    let desk = supervisor_desk(&state).await?;
    desk.exception_cases().await.map_err(IpcError::from)
}

/// Takes an exception (or takes it over).
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state), err)]
pub async fn take_exception(state: State<'_, AppState>, card_id: CardId) -> Result<(), IpcError> {
    let desk = supervisor_desk(&state).await?;
    desk.take_exception(&card_id).await.map_err(IpcError::from)
}

/// Comments on an open exception.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state, text), err)]
pub async fn comment_exception(
    state: State<'_, AppState>,
    card_id: CardId,
    text: String,
) -> Result<(), IpcError> {
    let desk = supervisor_desk(&state).await?;
    desk.comment_exception(&card_id, &text)
        .await
        .map_err(IpcError::from)
}

/// Resolves an exception this person owns, saying what was done.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state, resolution), err)]
pub async fn resolve_exception(
    state: State<'_, AppState>,
    card_id: CardId,
    resolution: String,
) -> Result<(), IpcError> {
    let desk = supervisor_desk(&state).await?;
    desk.resolve_exception(&card_id, &resolution)
        .await
        .map_err(IpcError::from)
}

/// Counter time (order → card done) over `[from, to)` (ms), days in the window's zone
/// (`utcOffsetMinutes`); `null` without a ledger.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state), err)]
pub async fn counter_time(
    state: State<'_, AppState>,
    from: f64,
    to: f64,
    utc_offset_minutes: i32,
) -> Result<Option<CounterTimeView>, IpcError> {
    let desk = supervisor_desk(&state).await?;
    desk.counter_time(from, to, utc_offset_minutes)
        .await
        .map_err(IpcError::from)
}

/// The end-of-day balance: issued, spoiled and reissued cards per station and day.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state), err)]
pub async fn day_balance(
    state: State<'_, AppState>,
    from: f64,
    to: f64,
    utc_offset_minutes: i32,
) -> Result<Option<Vec<BalanceRow>>, IpcError> {
    let desk = supervisor_desk(&state).await?;
    desk.day_balance(from, to, utc_offset_minutes)
        .await
        .map_err(IpcError::from)
}

/// Writes the end-of-day balance as CSV to a new file in the Downloads folder.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(app, state), err)]
pub async fn export_day_balance<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    from: f64,
    to: f64,
    utc_offset_minutes: i32,
) -> Result<Option<ExportResult>, IpcError> {
    let desk = supervisor_desk(&state).await?;
    let dir = downloads_dir(&app)?;
    desk.export_day_balance(from, to, utc_offset_minutes, &dir)
        .await
        .map_err(IpcError::from)
}

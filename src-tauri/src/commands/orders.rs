//! The teller's order: options, checks, review, submit, production status.

use order_workflow::{
    CardId, FieldError, FormOptions, InterruptedOrder, OrderDraft, OrderFields, OrderProgress,
    OrderReview, ProductionView, SubmittedOrder,
};
use tauri::State;
use tauri::ipc::Channel;

use crate::IpcError;
use crate::state::AppState;

/// Products, stations and priorities the form offers.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state), err)]
pub async fn order_form_options(state: State<'_, AppState>) -> Result<FormOptions, IpcError> {
    Ok(state.desk().await?.form_options())
}

/// Every problem with the form's fields but the card data, which this check never receives
/// (card data crosses IPC only at review and submit). Nothing is sent.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err)]
pub async fn check_order(
    state: State<'_, AppState>,
    fields: OrderFields,
) -> Result<Vec<FieldError>, IpcError> {
    Ok(state.desk().await?.field_problems(fields))
}

/// The masked summary to confirm before sending.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err)]
pub async fn review_order(
    state: State<'_, AppState>,
    draft: OrderDraft,
) -> Result<OrderReview, IpcError> {
    Ok(state.desk().await?.review(&draft)?)
}

/// Orders the card; `progress` follows encrypting → authenticating → sending → accepted.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip_all, err)]
pub async fn submit_order(
    state: State<'_, AppState>,
    draft: OrderDraft,
    progress: Channel<OrderProgress>,
) -> Result<SubmittedOrder, IpcError> {
    let desk = state.desk().await?;
    // Training only: a practice consumer id makes the training D1 misbehave for this order.
    if let Some(practice) = state.practice()
        && desk.problems(&draft).is_empty()
    {
        practice.arm(&draft);
    }
    Ok(desk
        .submit(draft, move |stage| report(&progress, stage))
        .await?)
}

/// Sends again an order D1 has not received: same card id, same encrypted data.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state, progress), err)]
pub async fn resend_order(
    state: State<'_, AppState>,
    card_id: CardId,
    progress: Channel<OrderProgress>,
) -> Result<SubmittedOrder, IpcError> {
    let desk = state.desk().await?;
    Ok(desk
        .resend(&card_id, move |stage| report(&progress, stage))
        .await?)
}

/// The card's production status, fresh from D1.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state), err)]
pub async fn order_status(
    state: State<'_, AppState>,
    card_id: CardId,
) -> Result<ProductionView, IpcError> {
    Ok(state.desk().await?.refresh_status(&card_id).await?)
}

/// The orders the previous run of the app left unfinished, with what is known of each now.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state), err)]
pub async fn interrupted_orders(
    state: State<'_, AppState>,
) -> Result<Vec<InterruptedOrder>, IpcError> {
    Ok(state.desk().await?.interrupted_orders().await?)
}

fn report(channel: &Channel<OrderProgress>, stage: OrderProgress) {
    if let Err(error) = channel.send(stage) {
        tracing::debug!(%error, "the window stopped listening to order progress");
    }
}

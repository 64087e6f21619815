//! The order desk: one teller intent → one journalled, encrypted order → D1 → status.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use d1_client::{
    CardId, CorrelationId, D1Client, D1Error, EncryptionKey, OperationStatus, OrderIds,
    OrderOutcome, PreparedOrder, ProductionOperation,
};
use order_journal::{Journal, NewOrder, OrderState, PanLast4, Timestamp};

use crate::catalog::Catalog;
use crate::draft::OrderDraft;
use crate::error::WorkflowError;
use crate::views::{
    FormOptions, OrderProgress, OrderReview, ProductionPhase, ProductionView, SubmitOutcome,
    SubmittedOrder,
};

/// What the desk needs to order cards. Cheap to clone; safe to share between tasks.
#[derive(Clone)]
pub struct OrderDesk {
    inner: Arc<Inner>,
}

struct Inner {
    client: D1Client,
    encryption_key: EncryptionKey,
    journal: Journal,
    catalog: Catalog,
    operator: String,
    /// Orders not yet known to D1 that may be resent with the same ids and JWE.
    resendable: Mutex<HashMap<String, Arc<PreparedOrder>>>,
    /// When D1 last answered a status question about each card (this session): a status
    /// that did not change is not written to the journal, but it was checked.
    checked: Mutex<HashMap<String, Timestamp>>,
}

/// What start-up reconciliation did with one order left in flight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reconciled {
    pub card_id: String,
    pub before: OrderState,
    pub after: Option<OrderState>,
}

impl OrderDesk {
    pub fn new(
        client: D1Client,
        encryption_key: EncryptionKey,
        journal: Journal,
        catalog: Catalog,
        operator: String,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                client,
                encryption_key,
                journal,
                catalog,
                operator,
                resendable: Mutex::new(HashMap::new()),
                checked: Mutex::new(HashMap::new()),
            }),
        }
    }

    pub fn client(&self) -> &D1Client {
        &self.inner.client
    }

    pub fn journal(&self) -> &Journal {
        &self.inner.journal
    }

    /// Fetches (or reuses) a D1 token: D1 is reachable and accepts this desk.
    pub async fn check_connection(&self) -> Result<(), WorkflowError> {
        self.inner
            .client
            .ensure_token()
            .await
            .map_err(|e| WorkflowError::d1(e, None))
    }

    /// Every problem with the draft; empty when it can be sent. Encrypts and sends nothing.
    pub fn problems(&self, draft: &OrderDraft) -> Vec<crate::FieldProblem> {
        draft.problems(&self.inner.catalog)
    }

    pub fn form_options(&self) -> FormOptions {
        FormOptions::from_catalog(&self.inner.catalog)
    }

    /// The masked summary to confirm, or every problem with the draft.
    pub fn review(&self, draft: &OrderDraft) -> Result<OrderReview, WorkflowError> {
        let catalog = &self.inner.catalog;
        let checked = draft.check(catalog).map_err(WorkflowError::Invalid)?;
        let product = catalog.product(&checked.product_id);
        let artwork_name = checked
            .request
            .card_design
            .as_ref()
            .and_then(|d| d.artwork_id.as_ref())
            .and_then(|id| product.and_then(|p| p.artworks.iter().find(|a| &a.id == id)))
            .map(|a| a.name.clone());
        Ok(OrderReview {
            consumer_id: checked.request.consumer_id.clone().unwrap_or_default(),
            product_name: product.map(|p| p.display_name.clone()).unwrap_or_default(),
            product_name_es: product.and_then(|p| p.display_name_es.clone()),
            station_name: catalog
                .station(&checked.request.perso_station)
                .map(|s| s.name.clone())
                .unwrap_or_default(),
            issuance_type: checked.request.services.issuance.clone(),
            priority: checked.request.services.priority.clone(),
            masked_pan: format!("•••• {}", checked.card.last4()),
            artwork_name,
            custom_line_count: checked
                .request
                .card_design
                .as_ref()
                .map_or(0, |d| d.custom_lines.len() as u32),
        })
    }

    /// Orders the card: checks, encrypts, journals the intent, then sends. The draft (and
    /// its card data) is wiped when this returns.
    pub async fn submit(
        &self,
        draft: OrderDraft,
        progress: impl Fn(OrderProgress) + Send + Sync,
    ) -> Result<SubmittedOrder, WorkflowError> {
        let checked = draft
            .check(&self.inner.catalog)
            .map_err(WorkflowError::Invalid)?;
        drop(draft);
        progress(OrderProgress::Encrypting);
        let ids = OrderIds::generate();
        let new_order = NewOrder {
            operator: self.inner.operator.clone(),
            consumer_id: checked.request.consumer_id.clone().unwrap_or_default(),
            product_id: checked.product_id.clone(),
            station_id: checked.request.perso_station.clone(),
            issuance_type: checked.request.services.issuance.clone(),
            pan_last4: PanLast4::new(&checked.card.last4())?,
            card_id: ids.card_id.as_str().to_owned(),
            issuer_request_id: ids.issuer_request_id.as_str().to_owned(),
            correlation_id: ids.correlation_id.as_str().to_owned(),
        };
        let prepared = PreparedOrder::prepare(
            checked.request,
            checked.card,
            &self.inner.encryption_key,
            ids,
        )
        .map_err(|e| WorkflowError::d1(e, None))?;
        self.in_journal(move |j| j.record_intent(&new_order))
            .await?;
        crate::crash::point(crate::crash::INTENT_RECORDED);
        self.send(Arc::new(prepared), &progress).await
    }

    /// Sends again an order that D1 has not received (same card id, same encrypted data).
    pub async fn resend(
        &self,
        card_id: &str,
        progress: impl Fn(OrderProgress) + Send + Sync,
    ) -> Result<SubmittedOrder, WorkflowError> {
        let prepared = self
            .resendable(card_id)
            .ok_or(WorkflowError::NothingToRetry)?;
        self.send(prepared, &progress).await
    }

    /// The production status of a card from D1, recorded in the journal.
    pub async fn refresh_status(&self, card_id: &str) -> Result<ProductionView, WorkflowError> {
        let id = CardId::parse(card_id).map_err(|_| WorkflowError::NothingToRetry)?;
        let operation = self
            .inner
            .client
            .production_status(&id, &CorrelationId::generate())
            .await
            .map_err(|e| WorkflowError::d1(e, Some(card_id)))?;
        self.record_operation(card_id, &operation).await?;
        self.inner
            .checked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(card_id.to_owned(), Timestamp::now());
        let view = production_view(&operation);
        if view.phase != ProductionPhase::InProgress {
            self.forget(card_id);
        }
        Ok(view)
    }

    /// Brings every order left in flight (the app stopped mid-order) to a known state.
    /// Orders D1 cannot be asked about now stay in flight for the next attempt.
    pub async fn reconcile_in_flight(&self) -> Result<Vec<Reconciled>, WorkflowError> {
        let orders = self.in_journal(|j| j.in_flight()).await?;
        let mut report = Vec::with_capacity(orders.len());
        for order in orders {
            let card_id = order.card_id.clone();
            if self.resendable(&card_id).is_some() {
                continue; // still being handled in this session
            }
            let after = match order.state {
                OrderState::Intent => {
                    let id = card_id.clone();
                    self.in_journal(move |j| {
                        j.record_abandoned(
                            &id,
                            "The app stopped before sending; nothing reached D1.",
                        )
                    })
                    .await?;
                    Some(OrderState::Abandoned)
                }
                _ => match self.refresh_status(&card_id).await {
                    Ok(view) => Some(match view.phase {
                        ProductionPhase::Done => OrderState::Done,
                        ProductionPhase::Failed => OrderState::Failed,
                        ProductionPhase::InProgress => OrderState::InProduction,
                    }),
                    Err(WorkflowError::D1 {
                        error: D1Error::NotFound { .. },
                        ..
                    }) if matches!(
                        order.state,
                        OrderState::Sending | OrderState::OutcomeUnknown
                    ) =>
                    {
                        let id = card_id.clone();
                        self.in_journal(move |j| {
                            j.record_abandoned(
                                &id,
                                "D1 never received this order; no card was made.",
                            )
                        })
                        .await?;
                        Some(OrderState::Abandoned)
                    }
                    Err(error) => {
                        tracing::warn!(card_id = %card_id, %error, "in-flight order not reconciled yet");
                        None
                    }
                },
            };
            report.push(Reconciled {
                card_id,
                before: order.state,
                after,
            });
        }
        Ok(report)
    }

    async fn send(
        &self,
        prepared: Arc<PreparedOrder>,
        progress: &(impl Fn(OrderProgress) + Send + Sync),
    ) -> Result<SubmittedOrder, WorkflowError> {
        let card_id = prepared.card_id().as_str().to_owned();
        self.keep_resendable(&prepared);
        progress(OrderProgress::Authenticating);
        self.inner
            .client
            .ensure_token()
            .await
            .map_err(|e| WorkflowError::d1(e, Some(&card_id)))?;
        let id = card_id.clone();
        self.in_journal(move |j| match j.detail(&id)?.order.state {
            OrderState::Intent => j.mark_sending(&id),
            _ => Ok(()),
        })
        .await?;
        progress(OrderProgress::Sending);
        crate::crash::point(crate::crash::SENDING);
        match self.inner.client.order_card(&prepared).await {
            Ok(OrderOutcome::Accepted { operation_id, .. }) => {
                crate::crash::point(crate::crash::ACCEPTED_UNRECORDED);
                self.accepted(&prepared, operation_id.as_str(), progress)
                    .await
            }
            Ok(OrderOutcome::Unknown { reason, .. }) => {
                let id = card_id.clone();
                let detail = format!("outcome unknown: {reason:?}");
                self.in_journal(move |j| j.record_outcome_unknown(&id, &detail))
                    .await?;
                progress(OrderProgress::Checking);
                self.check_unknown(prepared, progress).await
            }
            Err(error) if is_rejection(&error) => {
                // D1 refuses a card id that already has an order: ours, if an earlier attempt
                // got through unseen. Ask before calling it a rejection.
                if matches!(error, D1Error::OperationNotAllowed { .. })
                    && self.already_ordered(&prepared).await
                {
                    progress(OrderProgress::Checking);
                    return self.check_unknown(prepared, progress).await;
                }
                self.forget(&card_id);
                let (id, code, message) = (
                    card_id.clone(),
                    error.kind().to_owned(),
                    error.user_message(),
                );
                self.in_journal(move |j| j.record_rejected(&id, &code, &message))
                    .await?;
                Err(WorkflowError::d1(error, Some(&card_id)))
            }
            Err(error) => {
                // Not sent, or D1 failed inside: the order stays resendable with the same ids.
                if matches!(error, D1Error::Internal { .. }) {
                    let id = card_id.clone();
                    self.in_journal(move |j| j.record_outcome_unknown(&id, "D1 internal error"))
                        .await?;
                }
                Err(WorkflowError::d1(error, Some(&card_id)))
            }
        }
    }

    /// The outcome of a send is unknown: ask D1. If it has no order for this card, send the
    /// same order once more; if it cannot be asked, report `Unknown` and keep the order.
    async fn check_unknown(
        &self,
        prepared: Arc<PreparedOrder>,
        progress: &(impl Fn(OrderProgress) + Send + Sync),
    ) -> Result<SubmittedOrder, WorkflowError> {
        match self
            .inner
            .client
            .production_status(prepared.card_id(), prepared.correlation_id())
            .await
        {
            Ok(operation) => {
                let order = self
                    .accepted(&prepared, &operation.operation_id, progress)
                    .await?;
                self.record_operation(prepared.card_id().as_str(), &operation)
                    .await?;
                Ok(order)
            }
            Err(D1Error::NotFound { .. }) => {
                progress(OrderProgress::Sending);
                match self.inner.client.order_card(&prepared).await {
                    Ok(OrderOutcome::Accepted { operation_id, .. }) => {
                        self.accepted(&prepared, operation_id.as_str(), progress)
                            .await
                    }
                    Ok(OrderOutcome::Unknown { .. }) => {
                        Ok(submitted(&prepared, SubmitOutcome::Unknown, None))
                    }
                    Err(error) => Err(WorkflowError::d1(error, Some(prepared.card_id().as_str()))),
                }
            }
            Err(error) => {
                tracing::warn!(card_id = %prepared.card_id().as_str(), %error, "outcome still unknown");
                Ok(submitted(&prepared, SubmitOutcome::Unknown, None))
            }
        }
    }

    /// Whether D1 holds an order for this card id made by this very intent.
    async fn already_ordered(&self, prepared: &PreparedOrder) -> bool {
        match self
            .inner
            .client
            .production_status(prepared.card_id(), prepared.correlation_id())
            .await
        {
            Ok(operation) => {
                operation.issuer_request_id.as_deref()
                    == Some(prepared.issuer_request_id().as_str())
            }
            Err(_) => false,
        }
    }

    async fn accepted(
        &self,
        prepared: &PreparedOrder,
        operation_id: &str,
        progress: &(impl Fn(OrderProgress) + Send + Sync),
    ) -> Result<SubmittedOrder, WorkflowError> {
        self.forget(prepared.card_id().as_str());
        let (id, op) = (
            prepared.card_id().as_str().to_owned(),
            operation_id.to_owned(),
        );
        self.in_journal(move |j| match j.detail(&id)?.order.operation_id {
            Some(_) => Ok(()),
            None => j.record_accepted(&id, &op),
        })
        .await?;
        progress(OrderProgress::Accepted {
            operation_id: operation_id.to_owned(),
        });
        Ok(submitted(
            prepared,
            SubmitOutcome::Accepted,
            Some(operation_id.to_owned()),
        ))
    }

    async fn record_operation(
        &self,
        card_id: &str,
        operation: &ProductionOperation,
    ) -> Result<(), WorkflowError> {
        let (id, op) = (card_id.to_owned(), operation.clone());
        self.in_journal(move |j| {
            let order = j.detail(&id)?.order;
            if order.operation_id.is_none() {
                j.record_accepted(&id, &op.operation_id)?;
            }
            let status = order_journal::OperationStatus::from_d1(op.status.as_str());
            let changed = order.d1_status.as_deref() != Some(op.details.status.as_str());
            match status {
                Some(status) if changed && !order.state.is_final() => j
                    .record_production_status(
                        &id,
                        op.details.status.as_str(),
                        status,
                        op.details.reason.as_deref(),
                    )
                    .map(|_| ()),
                _ => Ok(()),
            }
        })
        .await
    }

    /// When D1 last answered a status question about this card in this session.
    pub fn last_checked(&self, card_id: &str) -> Option<Timestamp> {
        self.inner
            .checked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(card_id)
            .copied()
    }

    /// Runs a journal call on the blocking pool (SQLite waits for the disk).
    pub(crate) async fn in_journal<T: Send + 'static>(
        &self,
        call: impl FnOnce(&Journal) -> order_journal::Result<T> + Send + 'static,
    ) -> Result<T, WorkflowError> {
        let journal = self.inner.journal.clone();
        tokio::task::spawn_blocking(move || call(&journal))
            .await
            .map_err(|e| WorkflowError::Task(e.to_string()))?
            .map_err(WorkflowError::from)
    }

    fn keep_resendable(&self, prepared: &Arc<PreparedOrder>) {
        self.resendable_map()
            .insert(prepared.card_id().as_str().to_owned(), Arc::clone(prepared));
    }

    fn resendable(&self, card_id: &str) -> Option<Arc<PreparedOrder>> {
        self.resendable_map().get(card_id).cloned()
    }

    fn forget(&self, card_id: &str) {
        self.resendable_map().remove(card_id);
    }

    fn resendable_map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<PreparedOrder>>> {
        // The map holds no invariant a panicking holder could break: keep using it.
        self.inner
            .resendable
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// D1 said no to this request; sending it again unchanged cannot help.
fn is_rejection(error: &D1Error) -> bool {
    matches!(
        error,
        D1Error::FieldInvalidFormat { .. }
            | D1Error::FieldInvalidValue { .. }
            | D1Error::CryptoError { .. }
            | D1Error::ParsingError { .. }
            | D1Error::BadRequest { .. }
            | D1Error::Forbidden { .. }
            | D1Error::OperationNotAllowed { .. }
            | D1Error::NotFound { .. }
            | D1Error::InvalidRequest { .. }
    )
}

fn submitted(
    prepared: &PreparedOrder,
    outcome: SubmitOutcome,
    operation_id: Option<String>,
) -> SubmittedOrder {
    SubmittedOrder {
        outcome,
        card_id: prepared.card_id().as_str().to_owned(),
        issuer_request_id: prepared.issuer_request_id().as_str().to_owned(),
        correlation_id: prepared.correlation_id().as_str().to_owned(),
        operation_id,
        last4: prepared.last4().to_owned(),
    }
}

fn production_view(operation: &ProductionOperation) -> ProductionView {
    let phase = match &operation.status {
        OperationStatus::Successful => ProductionPhase::Done,
        OperationStatus::Failed => ProductionPhase::Failed,
        OperationStatus::Pending | OperationStatus::Other(_) => ProductionPhase::InProgress,
    };
    ProductionView {
        card_id: operation.card_id.clone(),
        operation_id: operation.operation_id.clone(),
        status: operation.status.as_str().to_owned(),
        details_status: operation.details.status.as_str().to_owned(),
        reason: operation.details.reason.clone(),
        phase,
        start_time: operation.start_time.clone(),
        end_time: operation.end_time.clone(),
    }
}

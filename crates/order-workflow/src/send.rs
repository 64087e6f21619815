//! Sending an order to D1 and recording what became of it, as the one error policy says
//! (`policy.rs`): resend allowed, outcome unknown, or final.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use d1_client::{D1Error, OrderOutcome, PreparedOrder};
use desk_domain::{CardId, OperationId};
use order_journal::OrderState;

use crate::desk::{OrderDesk, lock};
use crate::error::WorkflowError;
use crate::policy::{self, ErrorClass, Phase};
use crate::views::{OrderProgress, SubmitOutcome, SubmittedOrder};

/// A journal write that failed although D1 may have (or has) the order. Kept and retried in
/// the background until the journal takes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Unrecorded {
    Accepted { operation_id: OperationId },
    OutcomeUnknown { detail: String },
    Rejected { code: String, message: String },
    NotSent { detail: String },
}

impl OrderDesk {
    pub(crate) async fn send(
        &self,
        prepared: Arc<PreparedOrder>,
        progress: &(impl Fn(OrderProgress) + Send + Sync),
    ) -> Result<SubmittedOrder, WorkflowError> {
        let card_id = prepared.card_id().clone();
        let id = card_id.clone();
        let state = self
            .in_journal(move |j| Ok(j.detail(&id)?.order.state))
            .await?;
        let phase = match state {
            OrderState::Intent => Phase::NothingAtD1Yet,
            OrderState::Sending | OrderState::OutcomeUnknown | OrderState::NoRecord => {
                Phase::MaybeAtD1
            }
            state => return Err(WorkflowError::NotSendable { card_id, state }),
        };
        progress(OrderProgress::Authenticating);
        if let Err(error) = self.inner.client.ensure_token().await {
            // Nothing of this attempt left the desk; the journal still says where it was.
            return match policy::classify(&error, phase) {
                ErrorClass::OutcomeUnknown => {
                    Ok(submitted(&prepared, SubmitOutcome::Unknown, None))
                }
                _ => Err(WorkflowError::d1(error, Some(&card_id))),
            };
        }
        let id = card_id.clone();
        self.in_journal(move |j| j.mark_sending(&id)).await?;
        progress(OrderProgress::Sending);
        crate::crash::point(crate::crash::SENDING);
        match self.inner.client.order_card(&prepared).await {
            Ok(OrderOutcome::Accepted { operation_id, .. }) => {
                crate::crash::point(crate::crash::ACCEPTED_UNRECORDED);
                self.accepted(&prepared, &operation_id, progress).await
            }
            Ok(OrderOutcome::Unknown { reason, .. }) => {
                let detail = format!("outcome unknown: {reason:?}");
                self.outcome_unknown(prepared, detail, progress).await
            }
            Err(error) => self.failed(prepared, error, phase, progress).await,
        }
    }

    /// The card order failed: the policy says what it means for the order.
    async fn failed(
        &self,
        prepared: Arc<PreparedOrder>,
        error: D1Error,
        phase: Phase,
        progress: &(impl Fn(OrderProgress) + Send + Sync),
    ) -> Result<SubmittedOrder, WorkflowError> {
        let card_id = prepared.card_id().clone();
        let class = policy::classify(&error, phase);
        let refused = |error| WorkflowError::D1 {
            error,
            card_id: Some(card_id.clone()),
            class,
        };
        match class {
            ErrorClass::Invalid | ErrorClass::Setup | ErrorClass::Resendable => {
                // Certainly not at D1: back to "intent", and the same order may go again.
                let write = Unrecorded::NotSent {
                    detail: format!("not sent: {}", error.kind()),
                };
                if let Err(journal) = self.record(&card_id, write.clone()).await {
                    tracing::error!(card_id = %card_id, error = %journal, "could not record that the order was not sent; it stays 'sending' until the journal takes it");
                    self.retry_later(&card_id, write);
                }
                Err(refused(error))
            }
            ErrorClass::Refused => {
                self.forget(&card_id);
                // The code is what the window words; the message is for IT: D1's own words
                // when it gave any, else what the desk knows (with the correlation id).
                let write = Unrecorded::Rejected {
                    code: error.kind().to_owned(),
                    message: error
                        .detail()
                        .map_or_else(|| error.to_string(), str::to_owned),
                };
                if let Err(journal) = self.record(&card_id, write.clone()).await {
                    tracing::error!(card_id = %card_id, error = %journal, "could not record D1's refusal; retrying in the background");
                    self.retry_later(&card_id, write);
                }
                self.announce(&card_id);
                Err(refused(error))
            }
            ErrorClass::OutcomeUnknown => {
                tracing::warn!(card_id = %card_id, %error, "the order may be at D1: asking before anything else");
                let detail = format!("outcome unknown: {}", error.kind());
                self.outcome_unknown(prepared, detail, progress).await
            }
        }
    }

    /// D1 may have the order: record that, then ask D1 once. Never sends a new card.
    async fn outcome_unknown(
        &self,
        prepared: Arc<PreparedOrder>,
        detail: String,
        progress: &(impl Fn(OrderProgress) + Send + Sync),
    ) -> Result<SubmittedOrder, WorkflowError> {
        let card_id = prepared.card_id().clone();
        let write = Unrecorded::OutcomeUnknown { detail };
        if let Err(journal) = self.record(&card_id, write.clone()).await {
            tracing::error!(card_id = %card_id, error = %journal, "sent, not recorded: retrying the journal write");
            self.retry_later(&card_id, write);
            return Err(WorkflowError::SentNotRecorded {
                card_id,
                correlation_id: prepared.correlation_id().clone(),
                operation_id: None,
            });
        }
        self.announce(&card_id);
        progress(OrderProgress::Checking);
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
                self.record_operation(&card_id, &operation).await?;
                Ok(order)
            }
            Err(error) => {
                // Not seen yet, or D1 could not be asked: either way, keep asking. The window
                // offers to send the same order again while D1 shows none.
                tracing::warn!(card_id = %card_id, %error, "outcome still unknown");
                Ok(submitted(&prepared, SubmitOutcome::Unknown, None))
            }
        }
    }

    pub(crate) async fn accepted(
        &self,
        prepared: &PreparedOrder,
        operation_id: &OperationId,
        progress: &(impl Fn(OrderProgress) + Send + Sync),
    ) -> Result<SubmittedOrder, WorkflowError> {
        let card_id = prepared.card_id().clone();
        // D1 has it: the encrypted order is never sent again.
        self.forget(&card_id);
        let write = Unrecorded::Accepted {
            operation_id: operation_id.clone(),
        };
        if let Err(journal) = self.record(&card_id, write.clone()).await {
            tracing::error!(card_id = %card_id, operation_id = %operation_id, error = %journal, "sent, not recorded: D1 accepted the order, retrying the journal write");
            self.retry_later(&card_id, write);
            return Err(WorkflowError::SentNotRecorded {
                card_id,
                correlation_id: prepared.correlation_id().clone(),
                operation_id: Some(operation_id.clone()),
            });
        }
        self.announce(&card_id);
        progress(OrderProgress::Accepted {
            operation_id: operation_id.clone(),
        });
        Ok(submitted(
            prepared,
            SubmitOutcome::Accepted,
            Some(operation_id.clone()),
        ))
    }

    /// Applies one write to the journal.
    async fn record(&self, card_id: &CardId, write: Unrecorded) -> Result<(), WorkflowError> {
        if matches!(write, Unrecorded::Accepted { .. })
            && self
                .inner
                .failing_writes_left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        {
            return Err(WorkflowError::Task(
                "injected journal failure after D1 accepted".to_owned(),
            ));
        }
        let id = card_id.clone();
        self.in_journal(move |j| match write {
            Unrecorded::Accepted { operation_id } => j.record_accepted(&id, &operation_id),
            Unrecorded::OutcomeUnknown { detail } => j.record_outcome_unknown(&id, &detail),
            Unrecorded::Rejected { code, message } => j.record_rejected(&id, &code, &message),
            Unrecorded::NotSent { detail } => j.record_not_sent(&id, &detail),
        })
        .await
    }

    /// Retries `write` in the background, with backoff, until the journal takes it.
    fn retry_later(&self, card_id: &CardId, write: Unrecorded) {
        lock(&self.inner.unrecorded).insert(card_id.clone(), write.clone());
        let desk = self.clone();
        let card_id = card_id.clone();
        tokio::spawn(async move {
            let mut wait = Duration::from_millis(500);
            loop {
                tokio::time::sleep(wait).await;
                match desk.record(&card_id, write.clone()).await {
                    Ok(()) => break,
                    // Someone else recorded the outcome meanwhile (a status check found it).
                    Err(WorkflowError::Journal(
                        order_journal::JournalError::InvalidTransition { .. },
                    )) => break,
                    Err(error) => {
                        tracing::warn!(card_id = %card_id, %error, "the journal still refuses the write; retrying");
                        wait = (wait * 2).min(Duration::from_secs(30));
                    }
                }
            }
            lock(&desk.inner.unrecorded).remove(&card_id);
            tracing::info!(card_id = %card_id, "the journal took the write it had refused");
            desk.announce(&card_id);
        });
    }

    /// Whether a write about this order is waiting for the journal.
    pub fn is_unrecorded(&self, card_id: &CardId) -> bool {
        lock(&self.inner.unrecorded).contains_key(card_id)
    }
}

pub(crate) fn submitted(
    prepared: &PreparedOrder,
    outcome: SubmitOutcome,
    operation_id: Option<OperationId>,
) -> SubmittedOrder {
    SubmittedOrder {
        outcome,
        card_id: prepared.card_id().clone(),
        issuer_request_id: prepared.issuer_request_id().clone(),
        correlation_id: prepared.correlation_id().clone(),
        operation_id,
        last4: prepared.last4().to_owned(),
    }
}

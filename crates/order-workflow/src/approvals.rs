//! Dual control at the counter. The teller's order that needs a second person's approval is
//! checked and encrypted at once — the clear card data is wiped there — and its encrypted
//! request waits in this process (memory only) while the branch ledger holds the request's
//! masked summary. A person at any desk of the branch approves or declines it; the ledger
//! refuses the requester, a late or a second decision. On approval the held order is journalled
//! and sent under the ids the request named; on decline, expiry or cancel it is dropped.

use std::sync::Arc;
use std::time::Duration;

use branch_ledger::{Approval, ApprovalRequest, ApprovalStatus, CounterKind, Decision, Ledger};
use d1_client::PreparedOrder;
use desk_domain::{CardId, ConsumerId};
use order_journal::NewOrder;
use serde::Serialize;
use tokio::time::Instant;

use crate::branch::ledger_error;
use crate::desk::{OrderDesk, lock};
use crate::draft::OrderDraft;
use crate::error::{Refusal, WorkflowError};
use crate::views::{OrderProgress, SubmittedOrder};

/// How often a waiting desk reads its request again even without a notification (the
/// notification connection may be down).
const POLL: Duration = Duration::from_secs(2);
/// How long after the local deadline a desk still asks the ledger whether a decision came just
/// in time, before it gives the request up.
const LAST_WORD: Duration = Duration::from_secs(5);

/// An order waiting for approval: its encrypted request and its journal record. Dropping it
/// wipes the request's bytes.
pub(crate) struct Held {
    new_order: NewOrder,
    prepared: PreparedOrder,
    reissue_of: Option<CardId>,
    /// When the ledger's request expires, on this process's monotonic clock.
    deadline: Instant,
}

/// Where an approval request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ApprovalState {
    Pending,
    Approved,
    Declined,
    Canceled,
    Expired,
}

impl From<ApprovalStatus> for ApprovalState {
    fn from(status: ApprovalStatus) -> Self {
        match status {
            ApprovalStatus::Pending => Self::Pending,
            ApprovalStatus::Approved => Self::Approved,
            ApprovalStatus::Declined => Self::Declined,
            ApprovalStatus::Canceled => Self::Canceled,
            ApprovalStatus::Expired => Self::Expired,
        }
    }
}

/// An approval request as the windows show it (the masked summary, never card data).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ApprovalView {
    pub card_id: CardId,
    pub state: ApprovalState,
    pub desk_id: String,
    pub requested_by: String,
    pub consumer_id: ConsumerId,
    pub product_id: String,
    pub station_id: String,
    pub issuance_type: String,
    pub last4: String,
    pub reason: String,
    /// ms since the Unix epoch (the ledger's clock).
    pub requested_at: f64,
    pub expires_at: f64,
    /// How long it stays open, by the ledger's clock (0 once ended).
    pub remaining_ms: f64,
    pub decided_by: Option<String>,
    pub comment: Option<String>,
    pub decided_at: Option<f64>,
    /// The person at this desk asked for it: they cannot decide it.
    pub is_mine: bool,
}

/// How the wait for an approval ended.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum ApprovalOutcome {
    /// Approved: the order was sent.
    #[serde(rename_all = "camelCase")]
    Submitted {
        approval: ApprovalView,
        order: SubmittedOrder,
    },
    /// Declined, expired or canceled: the order was dropped and nothing was sent.
    #[serde(rename_all = "camelCase")]
    Ended { approval: ApprovalView },
}

/// The state's name as in exports (`approved`, `declined`, …).
pub(crate) fn state_name(state: ApprovalState) -> &'static str {
    match state {
        ApprovalState::Pending => "pending",
        ApprovalState::Approved => "approved",
        ApprovalState::Declined => "declined",
        ApprovalState::Canceled => "canceled",
        ApprovalState::Expired => "expired",
    }
}

fn millis(t: order_journal::Timestamp) -> f64 {
    t.as_millis() as f64
}

impl OrderDesk {
    pub(crate) fn approval_view(&self, a: Approval) -> ApprovalView {
        ApprovalView {
            is_mine: a.requested_by.trim().to_lowercase() == self.operator().trim().to_lowercase(),
            remaining_ms: a.remaining().as_millis() as f64,
            card_id: a.card_id,
            state: a.status.into(),
            desk_id: a.desk_id.as_str().to_owned(),
            requested_by: a.requested_by,
            consumer_id: a.consumer_id,
            product_id: a.product_id,
            station_id: a.station_id,
            issuance_type: a.issuance_type,
            last4: a.pan_last4.as_str().to_owned(),
            reason: a.reason,
            requested_at: millis(a.requested_at),
            expires_at: millis(a.expires_at),
            decided_by: a.decided_by,
            comment: a.comment,
            decided_at: a.decided_at.map(millis),
        }
    }

    /// Whether this draft needs a second person's approval (configuration: issuance types and
    /// products).
    pub fn needs_approval(&self, draft: &OrderDraft) -> bool {
        self.inner
            .settings
            .approvals
            .needs_approval(draft.issuance_type.trim(), draft.card_product_id.trim())
    }

    async fn approvals_ledger(&self) -> Result<Ledger, WorkflowError> {
        self.branch_ledger().await?.ok_or(WorkflowError::Refused {
            code: Refusal::NoLedger,
            message: "approvals need the branch ledger, and this desk has none".into(),
        })
    }

    /// Asks the branch for approval of this order, with the teller's reason. The draft is
    /// checked and encrypted now (its card data wiped); the encrypted order waits in this
    /// process for [`OrderDesk::await_approval`]. Refused: nothing needs approval
    /// (`approval_not_needed`), another order is already waiting (`approval_pending`), no
    /// ledger (`no_ledger`), a draft with problems.
    pub async fn request_approval(
        &self,
        draft: OrderDraft,
        reason: &str,
    ) -> Result<ApprovalView, WorkflowError> {
        if !self.needs_approval(&draft) {
            return Err(WorkflowError::Refused {
                code: Refusal::ApprovalNotNeeded,
                message: "this order does not need an approval: order it directly".into(),
            });
        }
        if lock(&self.inner.held).is_some() {
            return Err(WorkflowError::Refused {
                code: Refusal::ApprovalPending,
                message: "another order of this desk is waiting for approval".into(),
            });
        }
        let ledger = self.approvals_ledger().await?;
        let reissue_of = self.check_reissue(draft.reissue_of.as_deref()).await?;
        let template = crate::counter::Template::of(&draft);
        let (new_order, prepared) = self.prepare(draft, &|_| {})?;
        let request = ApprovalRequest {
            card_id: new_order.card_id.clone(),
            operator: new_order.operator.clone(),
            consumer_id: new_order.consumer_id.clone(),
            product_id: new_order.product_id.clone(),
            station_id: new_order.station_id.clone(),
            issuance_type: new_order.issuance_type.clone(),
            pan_last4: new_order.pan_last4,
            reason: reason.to_owned(),
            timeout: Duration::from_secs(u64::from(self.inner.settings.approvals.timeout_seconds)),
        };
        let approval = ledger
            .request_approval(&request)
            .await
            .map_err(ledger_error)?;
        self.remember(&new_order.card_id, template);
        let deadline = Instant::now() + approval.remaining();
        let new_held = Held {
            new_order,
            prepared,
            reissue_of,
            deadline,
        };
        let raced = {
            let mut held = lock(&self.inner.held);
            if held.is_some() {
                true
            } else {
                *held = Some(new_held);
                false
            }
        };
        if raced {
            // Another request won the race: this one is withdrawn (its order was dropped).
            let _ = ledger
                .cancel_approval(&request.card_id, &request.operator)
                .await;
            return Err(WorkflowError::Refused {
                code: Refusal::ApprovalPending,
                message: "another order of this desk is waiting for approval".into(),
            });
        }
        Ok(self.approval_view(approval))
    }

    /// The card id of the order waiting for approval at this desk, if any.
    pub fn held_order(&self) -> Option<CardId> {
        lock(&self.inner.held)
            .as_ref()
            .map(|h| h.new_order.card_id.clone())
    }

    fn take_held(&self, card_id: &CardId) -> Option<Held> {
        let mut held = lock(&self.inner.held);
        if held
            .as_ref()
            .is_some_and(|h| h.new_order.card_id == *card_id)
        {
            let taken = held.take();
            drop(held);
            self.inner.held_changed.notify_waiters();
            return taken;
        }
        None
    }

    /// Waits for the decision on the held order `card_id` (following the ledger's counter
    /// stream, reading again every few seconds). Approved: the order is journalled and sent
    /// (`progress` as for [`OrderDesk::submit`]). Declined, expired, canceled: the held order is
    /// dropped and nothing is sent.
    pub async fn await_approval(
        &self,
        card_id: &CardId,
        progress: impl Fn(OrderProgress) + Send + Sync,
    ) -> Result<ApprovalOutcome, WorkflowError> {
        let mut changes = self.inner.counter_changes.subscribe();
        loop {
            let deadline = lock(&self.inner.held)
                .as_ref()
                .filter(|h| h.new_order.card_id == *card_id)
                .map(|h| h.deadline);
            let Some(deadline) = deadline else {
                return self.ended_without_order(card_id).await;
            };
            let current = match self.approvals_ledger().await {
                Ok(ledger) => ledger.approval(card_id).await.map_err(ledger_error),
                Err(e) => Err(e),
            };
            match current {
                Ok(Some(a)) if a.status == ApprovalStatus::Approved => {
                    let Some(held) = self.take_held(card_id) else {
                        return self.ended_without_order(card_id).await;
                    };
                    let view = self.approval_view(a);
                    let order = self
                        .record_and_send(held.new_order, held.prepared, held.reissue_of, &progress)
                        .await?;
                    return Ok(ApprovalOutcome::Submitted {
                        approval: view,
                        order,
                    });
                }
                Ok(Some(a)) if a.status.is_final() => {
                    drop(self.take_held(card_id));
                    return Ok(ApprovalOutcome::Ended {
                        approval: self.approval_view(a),
                    });
                }
                Ok(None) => {
                    drop(self.take_held(card_id));
                    return Err(WorkflowError::Refused {
                        code: Refusal::NoRequest,
                        message: "the ledger has no approval request for this order".into(),
                    });
                }
                Ok(Some(_)) => {}
                Err(error) => {
                    tracing::warn!(%error, "the approval request could not be read; trying again");
                }
            }
            if Instant::now() >= deadline + LAST_WORD {
                // The ledger could not say in time: the request has expired there.
                drop(self.take_held(card_id));
                return self.ended_without_order(card_id).await;
            }
            let wake = (deadline.max(Instant::now()) - Instant::now()).min(POLL);
            tokio::select! {
                () = tokio::time::sleep(wake.max(Duration::from_millis(50))) => {}
                () = self.inner.held_changed.notified() => {}
                _ = changes.recv() => {}
            }
        }
    }

    /// The request's end as the ledger shows it, once the held order is gone (canceled here,
    /// or given up).
    async fn ended_without_order(
        &self,
        card_id: &CardId,
    ) -> Result<ApprovalOutcome, WorkflowError> {
        let ledger = self.approvals_ledger().await?;
        match ledger.approval(card_id).await.map_err(ledger_error)? {
            Some(a) => {
                let mut view = self.approval_view(a);
                if view.state == ApprovalState::Pending || view.state == ApprovalState::Approved {
                    // Not sent from here: the order no longer exists at this desk.
                    view.state = ApprovalState::Canceled;
                }
                Ok(ApprovalOutcome::Ended { approval: view })
            }
            None => Err(WorkflowError::Refused {
                code: Refusal::NoRequest,
                message: "the ledger has no approval request for this order".into(),
            }),
        }
    }

    /// The teller withdraws the waiting order: it is dropped at once (nothing is sent), and
    /// the ledger is told.
    pub async fn cancel_approval(&self, card_id: &CardId) -> Result<ApprovalView, WorkflowError> {
        drop(self.take_held(card_id));
        let ledger = self.approvals_ledger().await?;
        let approval = ledger
            .cancel_approval(card_id, self.operator())
            .await
            .map_err(ledger_error)?;
        Ok(self.approval_view(approval))
    }

    /// The branch's open requests, newest first (the supervisor's Approvals view and its badge);
    /// empty without a ledger.
    pub async fn pending_approvals(&self) -> Result<Vec<ApprovalView>, WorkflowError> {
        let Some(ledger) = self.branch_ledger().await? else {
            return Ok(Vec::new());
        };
        let list = ledger
            .approvals(true, None, branch_ledger::MAX_APPROVALS)
            .await
            .map_err(ledger_error)?;
        Ok(list.into_iter().map(|a| self.approval_view(a)).collect())
    }

    /// Approves or declines a request as this desk's person, with an optional comment. The
    /// ledger refuses the requester (`self_approval`), a late (`expired`) or second
    /// (`already_decided`) decision.
    pub async fn decide_approval(
        &self,
        card_id: &CardId,
        approve: bool,
        comment: Option<&str>,
    ) -> Result<ApprovalView, WorkflowError> {
        let ledger = self.approvals_ledger().await?;
        let decision = if approve {
            Decision::Approve
        } else {
            Decision::Decline
        };
        let approval = ledger
            .decide_approval(card_id, self.operator(), decision, comment)
            .await
            .map_err(ledger_error)?;
        Ok(self.approval_view(approval))
    }

    /// The approvals of these orders (for an export), by card id.
    pub(crate) async fn approvals_of(
        &self,
        rows: &[crate::supervisor::OrderRow],
    ) -> Result<std::collections::HashMap<CardId, ApprovalView>, WorkflowError> {
        let mut found = std::collections::HashMap::new();
        let Some(ledger) = self.branch_ledger().await? else {
            return Ok(found);
        };
        let ids: Vec<CardId> = rows.iter().map(|r| r.card_id.clone()).collect();
        for chunk in ids.chunks(branch_ledger::MAX_APPROVALS as usize) {
            for a in ledger.approvals_of(chunk).await.map_err(ledger_error)? {
                found.insert(a.card_id.clone(), self.approval_view(a));
            }
        }
        Ok(found)
    }

    /// Every change of the branch's approvals and exceptions, as the ledger notifies them.
    pub fn counter_changes(&self) -> tokio::sync::broadcast::Receiver<CounterKind> {
        self.inner.counter_changes.subscribe()
    }

    /// Follows the ledger's counter stream (`LISTEN ledger_counter`) and passes each change on
    /// to [`OrderDesk::counter_changes`]; reconnects with backoff (and then reports both kinds
    /// changed, since changes made meanwhile were not heard).
    pub fn follow_counter(&self) {
        let Some(link) = self.ledger().cloned() else {
            return;
        };
        let desk = Arc::clone(&self.inner);
        tokio::spawn(async move {
            let mut wait = Duration::from_secs(1);
            loop {
                match Ledger::subscribe_counter(link.options()).await {
                    Ok(mut changes) => {
                        wait = Duration::from_secs(1);
                        let _ = desk.counter_changes.send(CounterKind::Approval);
                        let _ = desk.counter_changes.send(CounterKind::Exception);
                        while let Some(change) = changes.next().await {
                            match change {
                                Ok(change) => {
                                    let _ = desk.counter_changes.send(change.kind);
                                }
                                Err(error) => {
                                    tracing::debug!(%error, "the ledger's counter stream ended");
                                    break;
                                }
                            }
                        }
                    }
                    Err(error) => {
                        tracing::debug!(%error, "cannot listen to the ledger's counter stream yet")
                    }
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(crate::ledger_sync::LONGEST_BACKOFF);
            }
        });
    }
}

//! Following orders after they left the desk: asking D1, the grace period after which an order
//! D1 has no record of becomes a person's exception, the background checks that run while the
//! form is in use, and what became of the orders the previous run left unfinished.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use d1_client::{CardId, CorrelationId, OperationStatus, ProductionOperation};
use order_journal::{OrderState, OrderSummary, Timestamp};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::desk::{OrderDesk, lock};
use crate::error::WorkflowError;
use crate::policy::{self, StatusAnswer};
use crate::views::{InterruptedOrder, ProductionPhase, ProductionView, Verdict};

/// The first wait between two background checks of an order, doubled while nothing changes.
const FIRST_WAIT: Duration = Duration::from_secs(2);
/// The longest wait between two background checks of an order.
const LONGEST_WAIT: Duration = Duration::from_secs(60);
/// How often the background checks look for orders to follow in the journal.
const SCAN_EVERY: Duration = Duration::from_secs(2);
/// Most interrupted orders the window is told about.
const MAX_INTERRUPTED: usize = 50;

impl OrderDesk {
    /// The production status of a card from D1, recorded in the journal. A 404 for an order
    /// that may have been sent is "not seen yet": past the grace period it becomes `no_record`.
    pub async fn refresh_status(&self, card_id: &CardId) -> Result<ProductionView, WorkflowError> {
        match self
            .inner
            .client
            .production_status(card_id, &CorrelationId::generate())
            .await
        {
            Ok(operation) => {
                self.record_operation(card_id, &operation).await?;
                self.mark_checked(card_id);
                let view = production_view(&operation);
                if view.phase != ProductionPhase::InProgress {
                    self.forget(card_id);
                }
                Ok(view)
            }
            Err(error) => {
                if policy::classify_status(&error) == StatusAnswer::NotSeenYet {
                    self.mark_checked(card_id);
                    if self.not_seen_yet(card_id).await? == OrderState::NoRecord {
                        return Err(WorkflowError::NoRecord {
                            card_id: card_id.clone(),
                            after_seconds: self.inner.settings.no_record_after.as_secs(),
                        });
                    }
                }
                Err(WorkflowError::d1(error, Some(card_id)))
            }
        }
    }

    /// D1 has no operation under this card id. An order that may have been sent stays
    /// "checking" until the grace period after its last send is over, then needs a person.
    /// Returns the order's state afterwards.
    async fn not_seen_yet(&self, card_id: &CardId) -> Result<OrderState, WorkflowError> {
        let id = card_id.clone();
        let detail = self.in_journal(move |j| j.detail(&id)).await?;
        if !matches!(
            detail.order.state,
            OrderState::Sending | OrderState::OutcomeUnknown
        ) {
            return Ok(detail.order.state);
        }
        let last_sent = detail
            .history
            .iter()
            .rev()
            .find(|h| h.state == OrderState::Sending)
            .map_or(detail.order.created_at, |h| h.at);
        let grace = self.inner.settings.no_record_after;
        if Timestamp::now() < last_sent.plus(grace) {
            return Ok(detail.order.state);
        }
        let id = card_id.clone();
        let note = format!(
            "D1 had no record of the order {} s after it was last sent",
            grace.as_secs()
        );
        self.in_journal(move |j| j.record_no_record(&id, &note))
            .await?;
        tracing::warn!(
            card_id = %card_id,
            grace_s = grace.as_secs(),
            "D1 has no record of the order: it needs a person"
        );
        self.announce(card_id);
        Ok(OrderState::NoRecord)
    }

    /// Records what `productionStatus` said: the operation (a late answer always wins) and
    /// the production status when it changed.
    pub(crate) async fn record_operation(
        &self,
        card_id: &CardId,
        operation: &ProductionOperation,
    ) -> Result<(), WorkflowError> {
        let (id, op) = (card_id.clone(), operation.clone());
        let changed = self
            .in_journal(move |j| {
                let order = j.detail(&id)?.order;
                let mut changed = false;
                if order.operation_id.is_none() {
                    j.record_accepted(&id, &op.operation_id)?;
                    changed = true;
                }
                let status = order_journal::OperationStatus::from_d1(op.status.as_str());
                let new_status = order.d1_status.as_deref() != Some(op.details.status.as_str());
                if let Some(status) = status
                    && new_status
                    && !order.state.is_final()
                {
                    j.record_production_status(
                        &id,
                        op.details.status.as_str(),
                        status,
                        op.details.reason.as_deref(),
                    )?;
                    changed = true;
                }
                Ok(changed)
            })
            .await?;
        if changed {
            self.announce(card_id);
        }
        Ok(())
    }

    /// Starts following every order that is not final, in the background, and remembers which
    /// of them the previous run left unfinished ([`OrderDesk::interrupted_orders`]). Orders
    /// the previous run journalled but never sent are closed at once: nothing of them left the
    /// desk. Returns at once; the checks go on for the life of the desk.
    pub async fn start_following(&self) -> Result<tokio::task::JoinHandle<()>, WorkflowError> {
        let left = self.in_journal(|j| j.in_flight()).await?;
        let ids: Vec<CardId> = left.iter().map(|o| o.card_id.clone()).collect();
        if !ids.is_empty() {
            tracing::info!(orders = ids.len(), "orders the last run left unfinished");
        }
        *lock(&self.inner.interrupted) = ids;
        for order in left.iter().filter(|o| o.state == OrderState::Intent) {
            let id = order.card_id.clone();
            self.in_journal(move |j| {
                j.record_abandoned(&id, "the app stopped before sending: nothing reached D1")
            })
            .await?;
        }
        let desk = self.clone();
        Ok(tokio::spawn(async move { desk.follow().await }))
    }

    /// The orders the previous run left unfinished, newest first, with what is known of each
    /// now.
    pub async fn interrupted_orders(&self) -> Result<Vec<InterruptedOrder>, WorkflowError> {
        let ids: Vec<CardId> = lock(&self.inner.interrupted)
            .iter()
            .rev()
            .take(MAX_INTERRUPTED)
            .cloned()
            .collect();
        let orders: Vec<OrderSummary> = self
            .in_journal(move |j| {
                ids.iter()
                    .map(|id| j.detail(id).map(|d| d.order))
                    .collect::<order_journal::Result<Vec<_>>>()
            })
            .await?;
        Ok(orders
            .into_iter()
            .map(|o: OrderSummary| self.interrupted_view(o))
            .collect())
    }

    fn interrupted_view(&self, order: OrderSummary) -> InterruptedOrder {
        let product = self.inner.catalog.product(&order.product_id);
        InterruptedOrder {
            verdict: Verdict::of(order.state),
            product_name: product.map(|p| p.display_name.clone()),
            product_name_es: product.and_then(|p| p.display_name_es.clone()),
            station_name: self
                .inner
                .catalog
                .station(&order.station_id)
                .map(|s| s.name.clone()),
            created_at: order.created_at.as_millis() as f64,
            last4: order.pan_last4.as_str().to_owned(),
            card_id: order.card_id,
            consumer_id: order.consumer_id,
            product_id: order.product_id,
            station_id: order.station_id,
            state: order.state,
            d1_status: order.d1_status,
            reason: order.error_message,
            error_code: order.error_code,
            correlation_id: order.correlation_id,
            operation_id: order.operation_id,
        }
    }

    /// The background checks: every order that is not final is asked about with its own
    /// backoff, a few at a time, skipping orders someone asked about recently (the window
    /// follows the order it shows).
    async fn follow(self) {
        let mut due: HashMap<CardId, (Instant, Duration)> = HashMap::new();
        let concurrency = self.inner.settings.check_concurrency.max(1);
        loop {
            let orders = match self.in_journal(|j| j.in_flight()).await {
                Ok(orders) => orders,
                Err(error) => {
                    tracing::warn!(%error, "the background checks cannot read the journal");
                    tokio::time::sleep(SCAN_EVERY).await;
                    continue;
                }
            };
            let now = Instant::now();
            let following: HashSet<&CardId> = orders.iter().map(|o| &o.card_id).collect();
            due.retain(|id, _| following.contains(id));
            let mut ready = Vec::new();
            for order in &orders {
                // An intent of this session is the sender's; D1 knows nothing of it.
                if order.state == OrderState::Intent {
                    continue;
                }
                let (at, wait) = *due
                    .entry(order.card_id.clone())
                    .or_insert((now, FIRST_WAIT));
                if at > now {
                    continue;
                }
                let asked_recently = self.last_checked(&order.card_id).is_some_and(|t| {
                    Timestamp::now().as_millis() - t.as_millis() < wait.as_millis() as i64
                });
                if asked_recently {
                    due.insert(order.card_id.clone(), (now + wait, wait));
                    continue;
                }
                ready.push((
                    order.card_id.clone(),
                    order.state,
                    order.d1_status.clone(),
                    wait,
                ));
            }
            let mut checks = JoinSet::new();
            for (card_id, state, status, wait) in ready {
                while checks.len() >= concurrency {
                    if let Some(Ok((id, next))) = checks.join_next().await {
                        due.insert(id, (Instant::now() + next, next));
                    }
                }
                let desk = self.clone();
                checks.spawn(async move {
                    let next = desk.check_once(&card_id, state, status, wait).await;
                    (card_id, next)
                });
            }
            while let Some(done) = checks.join_next().await {
                if let Ok((id, next)) = done {
                    due.insert(id, (Instant::now() + next, next));
                }
            }
            tokio::time::sleep(SCAN_EVERY).await;
        }
    }

    /// Asks D1 once about an order; returns how long to wait before the next question.
    async fn check_once(
        &self,
        card_id: &CardId,
        state: OrderState,
        status: Option<String>,
        wait: Duration,
    ) -> Duration {
        let result = self.refresh_status(card_id).await;
        let id = card_id.clone();
        let now = self
            .in_journal(move |j| Ok(j.detail(&id)?.order))
            .await
            .ok();
        let changed = now
            .as_ref()
            .is_some_and(|o| o.state != state || o.d1_status != status);
        if let Err(error) = &result {
            tracing::debug!(card_id = %card_id, %error, "background check: no answer yet");
        }
        if changed {
            FIRST_WAIT
        } else {
            (wait * 2).min(LONGEST_WAIT)
        }
    }
}

impl Verdict {
    /// What the teller should make of an order in `state`.
    pub fn of(state: OrderState) -> Self {
        match state {
            OrderState::Done => Self::Made,
            OrderState::Accepted | OrderState::InProduction => Self::BeingMade,
            OrderState::Failed | OrderState::Rejected => Self::NotMade,
            OrderState::Intent | OrderState::Abandoned => Self::NotReceived,
            OrderState::Sending | OrderState::OutcomeUnknown => Self::Checking,
            OrderState::NoRecord => Self::NeedsPerson,
        }
    }
}

pub(crate) fn production_view(operation: &ProductionOperation) -> ProductionView {
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

//! The supervisor's view when a branch ledger is configured: every desk's orders of the branch
//! (a regional desk: its region), read from the ledger with the same filters, search, timeline,
//! charts, exceptions and masked export as the desk's journal, plus a desk filter and each
//! desk's last sync. A refresh asks D1 from this desk and appends the answer to the ledger.

use branch_ledger::{
    BranchId, Cursor, DeskId, Ledger, LedgerError, LedgerOrder, OrderQuery, Scope, Search,
    SearchMode,
};
use desk_domain::{CardId, CorrelationId};
use order_journal::{ExceptionQuery, ForeignChange, OrderState, Timestamp};
use serde::Serialize;

use crate::desk::OrderDesk;
use crate::error::WorkflowError;
use crate::supervisor::{OrderFilter, OrderPage, OrderRow, OrderTimeline, TimelineEntry};

/// A desk whose last sync is older than this is shown as stale.
pub const STALE_AFTER_MS: i64 = 5 * 60 * 1000;

/// Where one desk of the branch stands with the ledger, as the supervisor screen shows it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct DeskSync {
    pub branch_id: String,
    pub desk_id: String,
    /// When the desk last told the ledger it was up to date (ms since the Unix epoch).
    pub last_sync: Option<f64>,
    /// When the desk's last order change happened (its clock).
    pub last_event: Option<f64>,
    /// No sync for [`STALE_AFTER_MS`]: its orders may not be current.
    pub stale: bool,
    /// This desk.
    pub is_this_desk: bool,
}

fn millis(t: Timestamp) -> f64 {
    t.as_millis() as f64
}

pub(crate) fn ledger_error(error: LedgerError) -> WorkflowError {
    if let LedgerError::Refused { rule, message } = error {
        return WorkflowError::Refused {
            code: crate::Refusal::from_rule(rule),
            message,
        };
    }
    WorkflowError::Ledger {
        code: error.kind().to_owned(),
        message: error.to_string(),
    }
}

impl OrderDesk {
    pub(crate) async fn branch_ledger(&self) -> Result<Option<Ledger>, WorkflowError> {
        match self.ledger() {
            None => Ok(None),
            Some(link) => link.ledger().await.map(Some).map_err(ledger_error),
        }
    }

    /// Whether the supervisor screen reads the branch ledger (else this desk's journal).
    pub fn reads_branch(&self) -> bool {
        self.ledger().is_some()
    }

    pub(crate) fn branch_row(&self, o: LedgerOrder) -> OrderRow {
        let checked = self
            .last_checked(&o.card_id)
            .map_or(o.updated_at, |c| c.max(o.updated_at));
        OrderRow {
            created_at: millis(o.created_at),
            updated_at: millis(o.updated_at),
            checked_at: millis(checked),
            last4: o.pan_last4.as_str().to_owned(),
            pending: !o.state.is_final(),
            operator: o.operator,
            consumer_id: o.consumer_id,
            product_id: o.product_id,
            station_id: o.station_id,
            issuance_type: o.issuance_type,
            card_id: o.card_id,
            issuer_request_id: o.issuer_request_id,
            correlation_id: o.correlation_id,
            operation_id: o.operation_id,
            state: o.state,
            d1_status: o.d1_status,
            error_code: o.error_code,
            error_message: o.error_message,
            desk_id: Some(o.desk_id.as_str().to_owned()),
        }
    }

    fn branch_query(filter: &OrderFilter) -> Result<OrderQuery, WorkflowError> {
        let journal = filter.to_query()?;
        let desk = match filter.desk_id.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(desk) => Some(DeskId::parse(desk).map_err(ledger_error)?),
        };
        Ok(OrderQuery {
            desk,
            from: journal.from,
            to: journal.to,
            states: journal.states,
            station_id: journal.station_id,
            operator: journal.operator,
            product_id: journal.product_id,
            issuance_type: journal.issuance_type,
            // Partial and case-insensitive: "7005" or "cust-7005" finds CUST-7005.
            search: journal.search.map(|s| Search {
                text: s.text,
                mode: SearchMode::Partial,
            }),
            page_size: journal.page_size,
            after: filter
                .after
                .as_deref()
                .map(Cursor::from_token)
                .transpose()
                .map_err(ledger_error)?,
            ..OrderQuery::default()
        })
    }

    /// One page of the branch's orders, newest first; `None` without a ledger.
    pub(crate) async fn branch_list(
        &self,
        filter: &OrderFilter,
    ) -> Result<Option<OrderPage>, WorkflowError> {
        let Some(ledger) = self.branch_ledger().await? else {
            return Ok(None);
        };
        let page = ledger
            .list(&Self::branch_query(filter)?)
            .await
            .map_err(ledger_error)?;
        Ok(Some(OrderPage {
            next: page.next.map(|c| c.to_token()),
            items: page.items.into_iter().map(|o| self.branch_row(o)).collect(),
        }))
    }

    /// An order of the branch and its timeline from every desk; `None` without a ledger.
    pub(crate) async fn branch_timeline(
        &self,
        card_id: &CardId,
    ) -> Result<Option<OrderTimeline>, WorkflowError> {
        let Some(ledger) = self.branch_ledger().await? else {
            return Ok(None);
        };
        let branch: BranchId = ledger.identity().branch_id.clone();
        let detail = ledger
            .detail(&branch, card_id)
            .await
            .map_err(ledger_error)?;
        let approval = detail.approval.map(|a| self.approval_view(a));
        let case = detail
            .case
            .into_iter()
            .map(crate::counter_reports::CaseStep::from)
            .collect();
        let counter = crate::counter::CounterLinks {
            reissue_of: detail.reissue_of,
            spoiled_at: detail.spoiled.as_ref().map(|(at, _)| millis(*at)),
            spoiled_reason: detail.spoiled.map(|(_, reason)| reason),
            reissued_by: detail.reissued_by,
        };
        Ok(Some(OrderTimeline {
            counter,
            approval,
            case,
            order: self.branch_row(detail.order),
            history: detail
                .history
                .into_iter()
                .map(|h| TimelineEntry {
                    at: millis(h.at),
                    state: h.state,
                    d1_status: h.d1_status,
                    detail: h.detail,
                })
                .collect(),
        }))
    }

    /// The branch's charts; `None` without a ledger.
    pub(crate) async fn branch_stats(
        &self,
        range: order_journal::TimeRange,
        bucket: order_journal::Bucket,
    ) -> Result<Option<order_journal::Stats>, WorkflowError> {
        let Some(ledger) = self.branch_ledger().await? else {
            return Ok(None);
        };
        ledger
            .stats(range, bucket, &Scope::default())
            .await
            .map(Some)
            .map_err(ledger_error)
    }

    /// The branch's orders that need a person; `None` without a ledger.
    pub(crate) async fn branch_exceptions(&self) -> Result<Option<Vec<OrderRow>>, WorkflowError> {
        let Some(ledger) = self.branch_ledger().await? else {
            return Ok(None);
        };
        let orders = ledger
            .exceptions(&ExceptionQuery::default(), &Scope::default())
            .await
            .map_err(ledger_error)?;
        Ok(Some(
            orders.into_iter().map(|o| self.branch_row(o)).collect(),
        ))
    }

    /// Every order of the branch matching `filter` (all pages); `None` without a ledger.
    pub(crate) async fn branch_rows(
        &self,
        filter: &OrderFilter,
    ) -> Result<Option<Vec<OrderRow>>, WorkflowError> {
        let Some(ledger) = self.branch_ledger().await? else {
            return Ok(None);
        };
        let mut query = OrderQuery {
            after: None,
            page_size: order_journal::MAX_PAGE_SIZE,
            ..Self::branch_query(filter)?
        };
        let mut rows = Vec::new();
        loop {
            let page = ledger.list(&query).await.map_err(ledger_error)?;
            rows.extend(page.items.into_iter().map(|o| self.branch_row(o)));
            match page.next {
                Some(next) => query.after = Some(next),
                None => break,
            }
        }
        Ok(Some(rows))
    }

    /// The branch's orders D1 may still change (at most `limit`, newest first); `None` without
    /// a ledger.
    pub(crate) async fn branch_pending(
        &self,
        limit: usize,
    ) -> Result<Option<Vec<CardId>>, WorkflowError> {
        let Some(ledger) = self.branch_ledger().await? else {
            return Ok(None);
        };
        let query = OrderQuery {
            states: OrderState::IN_FLIGHT
                .into_iter()
                .filter(|s| *s != OrderState::Intent)
                .collect(),
            page_size: u32::try_from(limit)
                .unwrap_or(order_journal::MAX_PAGE_SIZE)
                .min(order_journal::MAX_PAGE_SIZE),
            ..OrderQuery::default()
        };
        let page = ledger.list(&query).await.map_err(ledger_error)?;
        Ok(Some(page.items.into_iter().map(|o| o.card_id).collect()))
    }

    /// Waits (at most `within`) until this desk's outbox is empty: what it just queued is in
    /// the ledger, so a read shows it.
    pub(crate) async fn until_synced(&self, within: std::time::Duration) {
        let deadline = tokio::time::Instant::now() + within;
        while tokio::time::Instant::now() < deadline {
            match self.in_journal(|j| j.outbox_backlog()).await {
                Ok(backlog) if backlog.count == 0 => return,
                Ok(_) => {}
                Err(_) => return,
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Every desk this desk sees with its last sync (empty without a ledger).
    pub async fn desk_syncs(&self) -> Result<Vec<DeskSync>, WorkflowError> {
        let Some(ledger) = self.branch_ledger().await? else {
            return Ok(Vec::new());
        };
        let report = ledger.desk_sync_state().await.map_err(ledger_error)?;
        let me = ledger.identity().desk_id.clone();
        Ok(report
            .desks
            .iter()
            .map(|d| DeskSync {
                branch_id: d.branch_id.as_str().to_owned(),
                desk_id: d.desk_id.as_str().to_owned(),
                last_sync: d.last_sync_at.map(millis),
                last_event: d.last_event_at.map(millis),
                stale: report
                    .since_last_sync_ms(d)
                    .is_none_or(|ms| ms > STALE_AFTER_MS),
                is_this_desk: d.desk_id == me,
            })
            .collect())
    }

    /// Asks D1 about an order of another desk and queues the answer for the ledger (the order
    /// is not in this desk's journal). Orders of this desk go through the journal as usual.
    pub(crate) async fn refresh_foreign(&self, card_id: &CardId) -> Result<(), WorkflowError> {
        let operation = self
            .inner
            .client
            .production_status(card_id, &CorrelationId::generate())
            .await
            .map_err(|e| WorkflowError::d1(e, Some(card_id)))?;
        let state = match order_journal::OperationStatus::from_d1(operation.status.as_str()) {
            Some(status) => status.target_state(),
            None => OrderState::InProduction,
        };
        let failed = state == OrderState::Failed;
        let change = ForeignChange {
            card_id: card_id.clone(),
            operator: self.operator().to_owned(),
            state,
            d1_status: Some(operation.details.status.as_str().to_owned()),
            operation_id: Some(operation.operation_id.clone()),
            error_code: failed.then(|| operation.details.status.as_str().to_owned()),
            error_message: if failed {
                operation.details.reason.clone()
            } else {
                None
            },
            detail: operation.details.reason.clone(),
        };
        self.in_journal(move |j| j.queue_foreign(&change)).await?;
        self.mark_checked(card_id);
        Ok(())
    }

    /// Follows the ledger's changes (`LISTEN`) and announces each order that changed, so that
    /// the supervisor screen updates without polling the whole list. Reconnects with backoff.
    pub fn follow_branch(&self) {
        let Some(link) = self.ledger().cloned() else {
            return;
        };
        let desk = self.clone();
        tokio::spawn(async move {
            let mut wait = std::time::Duration::from_secs(1);
            loop {
                match Ledger::subscribe(link.options()).await {
                    Ok(mut changes) => {
                        wait = std::time::Duration::from_secs(1);
                        // Changes made while not listening: the window reloads once.
                        desk.announce_all();
                        while let Some(change) = changes.next().await {
                            match change {
                                Ok(change) => desk.announce(&change.card_id),
                                Err(error) => {
                                    tracing::debug!(%error, "the ledger's change stream ended");
                                    break;
                                }
                            }
                        }
                    }
                    Err(error) => tracing::debug!(%error, "cannot listen to the ledger yet"),
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(crate::ledger_sync::LONGEST_BACKOFF);
            }
        });
    }
}

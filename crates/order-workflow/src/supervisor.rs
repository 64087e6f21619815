//! The supervisor's view of the journal: recent orders, detail timeline, refresh, charts,
//! exceptions and the masked CSV export. Access control is the shell's job (it knows the OS
//! user); everything here assumes the caller is allowed.

use std::fs::OpenOptions;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use desk_domain::{CardId, ConsumerId, CorrelationId, IssuerRequestId, OperationId};
use order_journal::{
    Bucket, Cursor, ExceptionQuery, HistoryEntry, MatchMode, OrderDetail, OrderQuery, OrderState,
    OrderSummary, Search, Stats, TimeRange, Timestamp,
};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::desk::OrderDesk;
use crate::error::{ErrorCode, WorkflowError};

/// How many status questions go to D1 at once when refreshing many orders.
pub const REFRESH_CONCURRENCY: usize = 4;
/// Most orders one "refresh all pending" asks D1 about.
pub const MAX_REFRESH: usize = 500;
/// What the supervisor's CSV export starts with, so that spreadsheets read it as UTF-8.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Filters, search and paging of the supervisor list, as the window sends them.
/// Times are milliseconds since the Unix epoch (UTC).
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase", default)]
pub struct OrderFilter {
    pub from: Option<f64>,
    pub to: Option<f64>,
    pub states: Vec<OrderState>,
    pub station_id: Option<String>,
    pub operator: Option<String>,
    pub product_id: Option<String>,
    pub issuance_type: Option<String>,
    /// Consumer id, card id, operation id (exact, or the start of it) or the last 4 digits.
    pub search: Option<String>,
    /// Only the orders of this desk (branch ledger only).
    pub desk_id: Option<String>,
    pub page_size: Option<u32>,
    /// `next` of the previous page.
    pub after: Option<String>,
}

/// One order as the supervisor list shows it (never more card data than the last 4 digits).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct OrderRow {
    pub created_at: f64,
    /// When the journal last learned something new about the order.
    pub updated_at: f64,
    /// When D1 last answered about this order: the later of `updatedAt` and a status check
    /// of this session that changed nothing. A status is as current as this, no more.
    pub checked_at: f64,
    pub operator: String,
    pub consumer_id: ConsumerId,
    pub product_id: String,
    pub station_id: String,
    pub issuance_type: String,
    pub last4: String,
    pub card_id: CardId,
    pub issuer_request_id: IssuerRequestId,
    pub correlation_id: CorrelationId,
    pub operation_id: Option<OperationId>,
    pub state: OrderState,
    /// D1's `details.status` as received (unknown values shown as they come).
    pub d1_status: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// Not final: a status refresh can change it.
    pub pending: bool,
    /// The desk that recorded it (branch ledger only; `None`: this desk's journal).
    pub desk_id: Option<String>,
}

/// One page of orders, newest first.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct OrderPage {
    pub items: Vec<OrderRow>,
    /// Pass as `after` for the next page; `null` on the last page.
    pub next: Option<String>,
}

/// One step of an order's timeline.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct TimelineEntry {
    pub at: f64,
    pub state: OrderState,
    pub d1_status: Option<String>,
    pub detail: Option<String>,
}

/// An order and its whole timeline, oldest step first, with its counter workflows: spoiled
/// and reissue links, its approval (both names and the comment) and its exception's history.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct OrderTimeline {
    pub order: OrderRow,
    pub history: Vec<TimelineEntry>,
    pub counter: crate::counter::CounterLinks,
    pub approval: Option<crate::approvals::ApprovalView>,
    pub case: Vec<crate::counter_reports::CaseStep>,
}

/// What a status refresh did for one order.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct RefreshResult {
    pub card_id: CardId,
    /// The order after the refresh (as the journal holds it), when it could be read.
    pub order: Option<OrderRow>,
    /// Why D1 could not be asked (the window words the code); the order keeps its last known
    /// status.
    pub error: Option<ErrorCode>,
}

/// A count per chart bucket.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ChartBucket {
    pub start: f64,
    pub orders: u32,
    pub failures: u32,
}

/// A failure count per label (reason or station).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ChartLabel {
    pub label: String,
    pub count: u32,
}

/// Chart data for a period.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct OrderStats {
    pub bucket: Bucket,
    pub buckets: Vec<ChartBucket>,
    pub failures_by_reason: Vec<ChartLabel>,
    pub failures_by_station: Vec<ChartLabel>,
}

/// Where an export went.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ExportResult {
    pub path: String,
    pub orders: u32,
}

fn millis(t: Timestamp) -> f64 {
    t.as_millis() as f64
}

fn to_count(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Milliseconds from the window → a journal timestamp; refused when not a plain number.
fn timestamp(field: &str, ms: f64) -> Result<Timestamp, WorkflowError> {
    // Every date a person can pick lies within ±2^53 ms.
    const LIMIT: f64 = 9_007_199_254_740_991.0;
    if !ms.is_finite() || ms.abs() > LIMIT {
        return Err(invalid(format!("the {field} date is not a valid date")));
    }
    Ok(Timestamp::from_millis(ms.trunc() as i64))
}

fn invalid(message: String) -> WorkflowError {
    WorkflowError::Journal(order_journal::JournalError::InvalidQuery(message))
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

impl OrderFilter {
    /// The journal query; refused with a clear message when a value cannot be a filter.
    pub fn to_query(&self) -> Result<OrderQuery, WorkflowError> {
        let search = non_empty(self.search.clone()).map(|text| {
            // A few characters are the start of an id (or 1–4 digits of the last 4); a
            // longer text is a whole id.
            let digits = text.bytes().all(|b| b.is_ascii_digit());
            let mode = if digits && text.len() == 4 {
                MatchMode::Exact
            } else {
                MatchMode::Prefix
            };
            Search { text, mode }
        });
        Ok(OrderQuery {
            from: self.from.map(|ms| timestamp("start", ms)).transpose()?,
            to: self.to.map(|ms| timestamp("end", ms)).transpose()?,
            states: self.states.clone(),
            station_id: non_empty(self.station_id.clone()),
            operator: non_empty(self.operator.clone()),
            product_id: non_empty(self.product_id.clone()),
            issuance_type: non_empty(self.issuance_type.clone()),
            search,
            page_size: self.page_size.unwrap_or(order_journal::DEFAULT_PAGE_SIZE),
            after: self.after.as_deref().map(Cursor::from_token).transpose()?,
        })
    }
}

impl OrderDesk {
    fn row(&self, o: OrderSummary) -> OrderRow {
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
            desk_id: None,
        }
    }

    fn timeline(&self, detail: OrderDetail, counter: order_journal::CounterLinks) -> OrderTimeline {
        OrderTimeline {
            counter: counter.into(),
            approval: None,
            case: Vec::new(),
            order: self.row(detail.order),
            history: detail
                .history
                .into_iter()
                .map(|h: HistoryEntry| TimelineEntry {
                    at: millis(h.at),
                    state: h.state,
                    d1_status: h.d1_status,
                    detail: h.detail,
                })
                .collect(),
        }
    }

    /// One page of the journal, newest first.
    pub async fn list_orders(&self, filter: &OrderFilter) -> Result<OrderPage, WorkflowError> {
        if let Some(page) = self.branch_list(filter).await? {
            return Ok(page);
        }
        let query = filter.to_query()?;
        let page = self.in_journal(move |j| j.list(&query)).await?;
        Ok(OrderPage {
            next: page.next.map(|c| c.to_token()),
            items: page.items.into_iter().map(|o| self.row(o)).collect(),
        })
    }

    /// An order and its timeline.
    pub async fn order_timeline(&self, card_id: &CardId) -> Result<OrderTimeline, WorkflowError> {
        if let Some(timeline) = self.branch_timeline(card_id).await? {
            return Ok(timeline);
        }
        let id = card_id.clone();
        let (detail, counter) = self
            .in_journal(move |j| Ok((j.detail(&id)?, j.counter_links(&id)?)))
            .await?;
        Ok(self.timeline(detail, counter))
    }

    /// Asks D1 for the status of these orders (all pending orders when `card_ids` is empty,
    /// at most [`MAX_REFRESH`]), [`REFRESH_CONCURRENCY`] at a time. One order failing does not
    /// stop the others; each result says what happened.
    pub async fn refresh_orders(
        &self,
        card_ids: Vec<CardId>,
    ) -> Result<Vec<RefreshResult>, WorkflowError> {
        let card_ids = if card_ids.is_empty()
            && let Some(pending) = self.branch_pending(MAX_REFRESH).await?
        {
            pending
        } else if card_ids.is_empty() {
            self.in_journal(|j| j.in_flight())
                .await?
                .into_iter()
                // An intent was never sent: D1 has nothing to say about it.
                .filter(|o| o.state != OrderState::Intent)
                .map(|o| o.card_id)
                .rev() // newest first: what the supervisor is most likely looking at
                .take(MAX_REFRESH)
                .collect()
        } else if card_ids.len() > MAX_REFRESH {
            return Err(invalid(format!(
                "refresh at most {MAX_REFRESH} orders at once"
            )));
        } else {
            card_ids
        };
        let permits = Arc::new(Semaphore::new(REFRESH_CONCURRENCY));
        let mut tasks = JoinSet::new();
        for (index, card_id) in card_ids.into_iter().enumerate() {
            let desk = self.clone();
            let permits = Arc::clone(&permits);
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await.ok();
                let id = card_id.clone();
                let local = desk
                    .in_journal(move |j| Ok(j.detail(&id).is_ok()))
                    .await
                    .unwrap_or(false);
                let refreshed = if local || !desk.reads_branch() {
                    desk.refresh_status(&card_id).await.map(|_| ())
                } else {
                    // Another desk's order: D1's answer goes to the ledger.
                    desk.refresh_foreign(&card_id).await
                };
                if desk.reads_branch() {
                    desk.until_synced(std::time::Duration::from_secs(3)).await;
                }
                let error = refreshed.err().map(|e| e.code());
                let order = desk.order_timeline(&card_id).await.ok().map(|t| t.order);
                (
                    index,
                    RefreshResult {
                        card_id,
                        order,
                        error,
                    },
                )
            });
        }
        let mut results = Vec::new();
        while let Some(done) = tasks.join_next().await {
            results.push(done.map_err(|e| WorkflowError::Task(e.to_string()))?);
        }
        results.sort_by_key(|(index, _)| *index);
        Ok(results.into_iter().map(|(_, r)| r).collect())
    }

    /// Orders per bucket and failures by reason and by station over `[from, to)`.
    pub async fn order_stats(
        &self,
        from: f64,
        to: f64,
        bucket: Bucket,
    ) -> Result<OrderStats, WorkflowError> {
        let range = TimeRange::new(timestamp("start", from)?, timestamp("end", to)?)?;
        let stats: Stats = match self.branch_stats(range, bucket).await? {
            Some(stats) => stats,
            None => self.in_journal(move |j| j.stats(range, bucket)).await?,
        };
        let labels = |v: Vec<order_journal::LabelCount>| {
            v.into_iter()
                .map(|l| ChartLabel {
                    label: l.label,
                    count: to_count(l.count),
                })
                .collect()
        };
        Ok(OrderStats {
            bucket,
            buckets: stats
                .buckets
                .into_iter()
                .map(|b| ChartBucket {
                    start: millis(b.start),
                    orders: to_count(b.orders),
                    failures: to_count(b.failures),
                })
                .collect(),
            failures_by_reason: labels(stats.failures_by_reason),
            failures_by_station: labels(stats.failures_by_station),
        })
    }

    /// Orders that need a person: failed, rejected, outcome unknown, or stuck in production.
    pub async fn order_exceptions(&self) -> Result<Vec<OrderRow>, WorkflowError> {
        if let Some(rows) = self.branch_exceptions().await? {
            return Ok(rows);
        }
        let orders = self
            .in_journal(|j| j.exceptions(&ExceptionQuery::default()))
            .await?;
        Ok(orders.into_iter().map(|o| self.row(o)).collect())
    }

    /// Writes the orders matching `filter` (all pages) as masked CSV to a new file in `dir`
    /// (`issuance-desk-orders-<UTC time>.csv`, never overwriting; readable by the user only).
    pub async fn export_orders(
        &self,
        filter: &OrderFilter,
        dir: &Path,
    ) -> Result<ExportResult, WorkflowError> {
        let query = OrderQuery {
            after: None,
            ..filter.to_query()?
        };
        let branch_rows = self.branch_rows(filter).await?;
        let approvals = match &branch_rows {
            Some(rows) => self.approvals_of(rows).await?,
            None => std::collections::HashMap::new(),
        };
        let dir = dir.to_owned();
        let stamp = export_stamp();
        self.in_journal(move |j| {
            let export_err = |e: std::io::Error| order_journal::JournalError::Export(e.to_string());
            std::fs::create_dir_all(&dir).map_err(export_err)?;
            let (file, path) =
                create_new(&dir, "issuance-desk-orders", &stamp).map_err(export_err)?;
            let mut out = BufWriter::new(file);
            // A UTF-8 byte order mark first: without it Excel on Windows reads the file as the
            // local code page and shows "••••" as mojibake.
            let written = std::io::Write::write_all(&mut out, UTF8_BOM)
                .map_err(export_err)
                .and_then(|()| match &branch_rows {
                    Some(rows) => write_csv(rows, &approvals, &mut out).map(|()| rows.len() as u64),
                    None => j.export_csv(&query, &mut out),
                })
                .and_then(|n| {
                    use std::io::Write;
                    out.flush().map_err(export_err)?;
                    Ok(n)
                });
            match written {
                Ok(n) => Ok(ExportResult {
                    path: path.display().to_string(),
                    orders: to_count(n),
                }),
                Err(e) => {
                    drop(out);
                    let _ = std::fs::remove_file(&path);
                    Err(e)
                }
            }
        })
        .await
    }
}

/// The orders as CSV, as the journal's own export writes them (the same header and masking),
/// plus the desk of each order and its approval (who asked, the decision, who decided, the
/// comment).
pub(crate) fn write_csv(
    rows: &[OrderRow],
    approvals: &std::collections::HashMap<CardId, crate::approvals::ApprovalView>,
    out: &mut impl std::io::Write,
) -> order_journal::Result<()> {
    use order_journal::csv_safe;
    let export_err = |e: csv::Error| order_journal::JournalError::Export(e.to_string());
    let mut w = csv::Writer::from_writer(out);
    let mut header = order_journal::CSV_HEADER.to_vec();
    header.extend([
        "desk_id",
        "approval_requested_by",
        "approval",
        "approval_decided_by",
        "approval_comment",
    ]);
    w.write_record(&header).map_err(export_err)?;
    for o in rows {
        let opt = |v: &Option<String>| v.as_deref().map(csv_safe).unwrap_or_default();
        let at = |ms: f64| Timestamp::from_millis(ms as i64).to_rfc3339();
        let approval = approvals.get(&o.card_id);
        w.write_record([
            at(o.created_at),
            at(o.updated_at),
            o.state.as_str().to_owned(),
            opt(&o.d1_status),
            csv_safe(&o.operator),
            csv_safe(o.consumer_id.as_str()),
            csv_safe(&o.product_id),
            csv_safe(&o.station_id),
            csv_safe(&o.issuance_type),
            format!("\u{2022}\u{2022}\u{2022}\u{2022} {}", o.last4),
            csv_safe(o.card_id.as_str()),
            csv_safe(o.issuer_request_id.as_str()),
            csv_safe(o.correlation_id.as_str()),
            o.operation_id
                .as_ref()
                .map(|id| csv_safe(id.as_str()))
                .unwrap_or_default(),
            opt(&o.error_code),
            opt(&o.error_message),
            opt(&o.desk_id),
            approval
                .map(|a| csv_safe(&a.requested_by))
                .unwrap_or_default(),
            approval
                .map(|a| crate::approvals::state_name(a.state).to_owned())
                .unwrap_or_default(),
            approval.map(|a| opt(&a.decided_by)).unwrap_or_default(),
            approval.map(|a| opt(&a.comment)).unwrap_or_default(),
        ])
        .map_err(export_err)?;
    }
    w.flush()
        .map_err(|e| order_journal::JournalError::Export(e.to_string()))
}

/// The time in an export's file name (`2026-11-25T10-42-00-123`).
pub(crate) fn export_stamp() -> String {
    Timestamp::now()
        .to_rfc3339()
        .replace([':', '.'], "-")
        .trim_end_matches('Z')
        .to_owned()
}

/// A new file `<prefix>-<stamp>[-n].csv` in `dir`, owner-only; never an existing one.
pub(crate) fn create_new(
    dir: &Path,
    prefix: &str,
    stamp: &str,
) -> std::io::Result<(std::fs::File, PathBuf)> {
    let mut attempt = 0u32;
    loop {
        let name = match attempt {
            0 => format!("{prefix}-{stamp}.csv"),
            n => format!("{prefix}-{stamp}-{n}.csv"),
        };
        let path = dir.join(name);
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(&path) {
            Ok(file) => return Ok((file, path)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_digits_search_the_last_4_exactly_and_shorter_text_by_prefix() {
        let f = OrderFilter {
            search: Some(" 5556 ".into()),
            ..Default::default()
        };
        let q = f.to_query().unwrap();
        let s = q.search.unwrap();
        assert_eq!((s.text.as_str(), s.mode), ("5556", MatchMode::Exact));
        let f = OrderFilter {
            search: Some("CUST-10".into()),
            ..Default::default()
        };
        assert_eq!(
            f.to_query().unwrap().search.unwrap().mode,
            MatchMode::Prefix
        );
    }

    #[test]
    fn blank_filters_mean_no_filter() {
        let f = OrderFilter {
            station_id: Some("  ".into()),
            search: Some("".into()),
            ..Default::default()
        };
        let q = f.to_query().unwrap();
        assert_eq!(q.station_id, None);
        assert_eq!(q.search, None);
        assert_eq!(q.page_size, order_journal::DEFAULT_PAGE_SIZE);
    }

    #[test]
    fn invalid_dates_and_cursors_are_refused_clearly() {
        let f = OrderFilter {
            from: Some(f64::NAN),
            ..Default::default()
        };
        assert!(f.to_query().unwrap_err().to_string().contains("start date"));
        let f = OrderFilter {
            after: Some("not-a-cursor".into()),
            ..Default::default()
        };
        assert!(
            f.to_query()
                .unwrap_err()
                .to_string()
                .contains("page position")
        );
    }

    #[test]
    fn export_files_are_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let (_, a) = create_new(dir.path(), "issuance-desk-orders", "t").unwrap();
        let (_, b) = create_new(dir.path(), "issuance-desk-orders", "t").unwrap();
        assert_ne!(a, b);
        assert!(b.to_string_lossy().ends_with("-1.csv"));
    }
}

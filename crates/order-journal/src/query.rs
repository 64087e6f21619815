//! The supervisor's queries: list, detail, statistics, exceptions, export, retention.

use std::fmt;
use std::io::Write;
use std::time::Duration;

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, Value, ValueRef};
use rusqlite::{Connection, Row, params, params_from_iter};
use serde::{Deserialize, Serialize, Serializer};

use crate::db::Journal;
use crate::error::{JournalError, Result};
use crate::list::{ListSql, build_list_sql, is_broad};
use crate::types::{
    HistoryEntry, OrderDetail, OrderId, OrderState, OrderSummary, PanLast4, Timestamp, duration_ms,
};

/// Default number of orders per page.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// Largest page [`Journal::list`] accepts; larger requests are refused, not clamped.
pub const MAX_PAGE_SIZE: u32 = 500;
/// Longest accepted search text (ids are at most 64 characters).
pub const MAX_SEARCH_CHARS: usize = 64;
/// A prefix search needs at least this many characters (except last-4 digits, which may be 1–4).
pub const MIN_PREFIX_CHARS: usize = 3;
/// Longest accepted filter value.
pub const MAX_FILTER_CHARS: usize = 256;
/// Retention by default: orders older than this are pruned.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(400 * 24 * 3600);
/// Shortest retention [`Journal::prune`] accepts.
pub const MIN_RETENTION: Duration = Duration::from_secs(24 * 3600);
/// Most buckets [`Journal::stats`] computes in one call (400 days of hours fit).
pub const MAX_BUCKETS: i64 = 10_000;
/// Largest result [`Journal::exceptions`] returns.
pub const MAX_EXCEPTIONS: u32 = 1000;

pub(crate) const COLS: &str = "id, created_at, operator, consumer_id, product_id, station_id, issuance_type, \
                    pan_last4, card_id, issuer_request_id, correlation_id, operation_id, state, \
                    d1_status, error_code, error_message, updated_at";
pub(crate) const ORDER_DESC: &str = "ORDER BY created_at DESC, id DESC";
const FAILURE_STATES: &str = "('failed', 'rejected')";

impl FromSql for PanLast4 {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        PanLast4::new(value.as_str()?).map_err(|_| FromSqlError::InvalidType)
    }
}

impl FromSql for OrderState {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        OrderState::parse(value.as_str()?).ok_or(FromSqlError::InvalidType)
    }
}

fn summary(r: &Row<'_>) -> rusqlite::Result<OrderSummary> {
    Ok(OrderSummary {
        id: OrderId(r.get(0)?),
        created_at: Timestamp::from_millis(r.get(1)?),
        operator: r.get(2)?,
        consumer_id: r.get(3)?,
        product_id: r.get(4)?,
        station_id: r.get(5)?,
        issuance_type: r.get(6)?,
        pan_last4: r.get(7)?,
        card_id: r.get(8)?,
        issuer_request_id: r.get(9)?,
        correlation_id: r.get(10)?,
        operation_id: r.get(11)?,
        state: r.get(12)?,
        d1_status: r.get(13)?,
        error_code: r.get(14)?,
        error_message: r.get(15)?,
        updated_at: Timestamp::from_millis(r.get(16)?),
    })
}

/// A half-open time range `[from, to)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeRange {
    /// Inclusive start.
    pub from: Timestamp,
    /// Exclusive end.
    pub to: Timestamp,
}

impl TimeRange {
    /// `[from, to)`; refused when `from >= to`.
    pub fn new(from: Timestamp, to: Timestamp) -> Result<Self> {
        if from >= to {
            return Err(JournalError::InvalidQuery(
                "the start of the period must be before its end".to_owned(),
            ));
        }
        Ok(Self { from, to })
    }
}

/// How a search text is matched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MatchMode {
    /// The whole value equals the text.
    #[default]
    Exact,
    /// The value starts with the text (at least [`MIN_PREFIX_CHARS`], or 1–4 digits for last 4).
    Prefix,
}

/// A search over consumer id, card id, operation id and last 4 digits at once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Search {
    /// What the supervisor typed. Surrounding spaces are ignored; empty means "no search".
    pub text: String,
    /// Exact or prefix.
    pub mode: MatchMode,
}

/// Opaque keyset position: the last order of the previous page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub(crate) created_at: i64,
    pub(crate) id: i64,
}

impl Cursor {
    /// The cursor as a string for the UI (`<created_at>.<id>`).
    pub fn to_token(&self) -> String {
        format!("{}.{}", self.created_at, self.id)
    }

    /// Parses what [`Cursor::to_token`] produced.
    pub fn from_token(token: &str) -> Result<Self> {
        let bad = || JournalError::InvalidQuery("the page position is not valid".to_owned());
        let (a, b) = token.split_once('.').ok_or_else(bad)?;
        Ok(Self {
            created_at: a.parse().map_err(|_| bad())?,
            id: b.parse().map_err(|_| bad())?,
        })
    }
}

impl Serialize for Cursor {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_token())
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_token())
    }
}

/// Filters, search and paging of the supervisor list. `Default` = newest first, all orders,
/// [`DEFAULT_PAGE_SIZE`] per page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderQuery {
    /// Only orders created at or after this instant.
    pub from: Option<Timestamp>,
    /// Only orders created before this instant.
    pub to: Option<Timestamp>,
    /// Only these states (empty = any).
    pub states: Vec<OrderState>,
    /// Exact station id.
    pub station_id: Option<String>,
    /// Exact operator.
    pub operator: Option<String>,
    /// Exact product id.
    pub product_id: Option<String>,
    /// Exact issuance type.
    pub issuance_type: Option<String>,
    /// Search text.
    pub search: Option<Search>,
    /// 1..=[`MAX_PAGE_SIZE`]; 0 or more is refused with a clear error.
    pub page_size: u32,
    /// Continue after this position (from the previous [`Page::next`]).
    pub after: Option<Cursor>,
}

impl Default for OrderQuery {
    fn default() -> Self {
        Self {
            from: None,
            to: None,
            states: Vec::new(),
            station_id: None,
            operator: None,
            product_id: None,
            issuance_type: None,
            search: None,
            page_size: DEFAULT_PAGE_SIZE,
            after: None,
        }
    }
}

/// One page of results, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    /// The rows.
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

/// Bucket width of [`Journal::stats`] (UTC-aligned).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    /// One hour.
    Hour,
    /// One UTC day.
    Day,
}

impl Bucket {
    const fn millis(self) -> i64 {
        match self {
            Self::Hour => 3_600_000,
            Self::Day => 86_400_000,
        }
    }
}

/// Orders created in one bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct BucketCount {
    /// Start of the bucket.
    pub start: Timestamp,
    /// Orders created in the bucket.
    pub orders: u64,
    /// Of which failed or were rejected.
    pub failures: u64,
}

/// A count per label (reason or station), largest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LabelCount {
    /// Reason (`error_code`, else D1 status, else `unknown`) or station id.
    pub label: String,
    /// Number of failed or rejected orders.
    pub count: u64,
}

/// Chart data for a period. A failure is an order in state `Failed` or `Rejected`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Every bucket of the period, empty ones included, oldest first.
    pub buckets: Vec<BucketCount>,
    /// Failures grouped by reason, largest first.
    pub failures_by_reason: Vec<LabelCount>,
    /// Failures grouped by station, largest first.
    pub failures_by_station: Vec<LabelCount>,
}

/// What counts as an exception (an order that needs a person).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExceptionQuery {
    /// Only orders created at or after this instant (`None` = all retained history).
    pub since: Option<Timestamp>,
    /// `Accepted` / `InProduction` orders unchanged for longer than this are "stuck".
    pub stuck_after: Duration,
    /// At most this many (1..=[`MAX_EXCEPTIONS`]), newest first.
    pub limit: u32,
}

impl Default for ExceptionQuery {
    fn default() -> Self {
        Self {
            since: None,
            stuck_after: Duration::from_secs(30 * 60),
            limit: 200,
        }
    }
}

fn query_summaries(conn: &Connection, sql: &str, p: &[Value]) -> Result<Vec<OrderSummary>> {
    let mut st = conn.prepare_cached(sql)?;
    let rows = st.query_map(params_from_iter(p.iter()), summary)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The list SQL for `q` on this connection (a searched prefix is probed here).
fn list_sql_on(conn: &Connection, q: &OrderQuery) -> Result<ListSql> {
    build_list_sql(q, q.page_size.saturating_add(1), &mut |probe| {
        is_broad(conn, probe)
    })
}

fn list_on(conn: &Connection, q: &OrderQuery) -> Result<Page<OrderSummary>> {
    let built = list_sql_on(conn, q)?;
    let mut items = query_summaries(conn, &built.sql, &built.params)?;
    let page = usize::try_from(q.page_size).unwrap_or(usize::MAX);
    let next = if items.len() > page {
        items.truncate(page);
        items.last().map(|o| Cursor {
            created_at: o.created_at.as_millis(),
            id: o.id.get(),
        })
    } else {
        None
    };
    Ok(Page { items, next })
}

/// Neutralizes spreadsheet formulas: a cell starting with `=`, `+`, `-`, `@`, tab or CR gets a
/// leading `'`.
/// A CSV cell a spreadsheet will not run as a formula (a leading `'` before `= + - @` and
/// control characters).
pub fn csv_safe(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_owned(),
    }
}

/// Header of [`Journal::export_csv`].
pub const CSV_HEADER: [&str; 16] = [
    "created_at",
    "updated_at",
    "state",
    "d1_status",
    "operator",
    "consumer_id",
    "product_id",
    "station_id",
    "issuance_type",
    "card",
    "card_id",
    "issuer_request_id",
    "correlation_id",
    "operation_id",
    "error_code",
    "error_message",
];

impl Journal {
    /// One page of orders, newest first (by creation time, then id), with filters and search.
    ///
    /// Refused with [`JournalError::InvalidQuery`]: page size 0 or above [`MAX_PAGE_SIZE`],
    /// `from >= to`, an empty or over-long filter value, a search text longer than
    /// [`MAX_SEARCH_CHARS`] or with characters no id has, a prefix shorter than
    /// [`MIN_PREFIX_CHARS`] (1–4 digits are allowed: last 4). An empty search is no search.
    pub fn list(&self, q: &OrderQuery) -> Result<Page<OrderSummary>> {
        self.with_reader(|c| list_on(c, q))
    }

    /// The query plan SQLite uses for [`Journal::list`] with `q` (`EXPLAIN QUERY PLAN` details),
    /// for diagnostics and for the index tests.
    pub fn explain_list(&self, q: &OrderQuery) -> Result<Vec<String>> {
        self.with_reader(|c| {
            let built = list_sql_on(c, q)?;
            let mut st = c.prepare(&format!("EXPLAIN QUERY PLAN {}", built.sql))?;
            let rows = st.query_map(params_from_iter(built.params.iter()), |r| {
                r.get::<_, String>(3)
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// The order with this card id and its whole timeline (oldest first).
    pub fn detail(&self, card_id: &str) -> Result<OrderDetail> {
        self.with_reader(|c| {
            // One snapshot for the row and its timeline.
            let _snapshot = c.unchecked_transaction()?;
            let sql = format!("SELECT {COLS} FROM orders WHERE card_id = ?1");
            let order = query_summaries(c, &sql, &[Value::Text(card_id.to_owned())])?
                .pop()
                .ok_or_else(|| JournalError::NotFound {
                    card_id: card_id.chars().take(64).collect(),
                })?;
            let mut st = c.prepare_cached(
                "SELECT at, state, d1_status, detail FROM order_events
                 WHERE order_id = ?1 ORDER BY at, id",
            )?;
            let history = st
                .query_map([order.id.get()], |r| {
                    Ok(HistoryEntry {
                        at: Timestamp::from_millis(r.get(0)?),
                        state: r.get(1)?,
                        d1_status: r.get(2)?,
                        detail: r.get(3)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(OrderDetail { order, history })
        })
    }

    /// Every order not in a final state ([`OrderState::IN_FLIGHT`]), oldest first: what the app
    /// keeps asking D1 about (see [`OrderState`]).
    pub fn in_flight(&self) -> Result<Vec<OrderSummary>> {
        self.with_reader(|c| {
            let sql = format!(
                "SELECT {COLS} FROM orders WHERE state IN ('intent', 'sending', 'accepted', \
                 'outcome_unknown', 'in_production', 'no_record') ORDER BY created_at, id"
            );
            query_summaries(c, &sql, &[])
        })
    }

    /// Orders that need a person: `Failed`, `Rejected`, `OutcomeUnknown`, `NoRecord`, and `Accepted` /
    /// `InProduction` unchanged for longer than `stuck_after`. Newest first.
    pub fn exceptions(&self, q: &ExceptionQuery) -> Result<Vec<OrderSummary>> {
        if q.limit == 0 || q.limit > MAX_EXCEPTIONS {
            return Err(JournalError::InvalidQuery(format!(
                "the number of exceptions must be between 1 and {MAX_EXCEPTIONS}"
            )));
        }
        let since = q.since.map_or(i64::MIN, Timestamp::as_millis);
        let stuck_before = self.now().minus(q.stuck_after).as_millis();
        let limit = i64::from(q.limit);
        self.with_reader(|c| {
            let mut subs = Vec::new();
            let mut p = Vec::new();
            for st in ["failed", "rejected", "outcome_unknown", "no_record"] {
                subs.push(format!(
                    "SELECT * FROM (SELECT {COLS} FROM orders WHERE state = '{st}' \
                     AND created_at >= ? {ORDER_DESC} LIMIT ?)"
                ));
                p.extend([Value::Integer(since), Value::Integer(limit)]);
            }
            for st in ["accepted", "in_production"] {
                subs.push(format!(
                    "SELECT * FROM (SELECT {COLS} FROM orders WHERE state = '{st}' \
                     AND created_at >= ? AND updated_at < ? {ORDER_DESC} LIMIT ?)"
                ));
                p.extend([
                    Value::Integer(since),
                    Value::Integer(stuck_before),
                    Value::Integer(limit),
                ]);
            }
            p.push(Value::Integer(limit));
            let sql = format!("{} {ORDER_DESC} LIMIT ?", subs.join(" UNION ALL "));
            query_summaries(c, &sql, &p)
        })
    }

    /// Orders per bucket (UTC-aligned, empty buckets included) and failures by reason and by
    /// station over `range`. Refused when the range spans more than [`MAX_BUCKETS`] buckets.
    pub fn stats(&self, range: TimeRange, bucket: Bucket) -> Result<Stats> {
        if range.from >= range.to {
            return Err(JournalError::InvalidQuery(
                "the start of the period must be before its end".to_owned(),
            ));
        }
        let bms = bucket.millis();
        let first = range.from.as_millis().div_euclid(bms);
        let last = (range.to.as_millis() - 1).div_euclid(bms);
        if last - first + 1 > MAX_BUCKETS {
            return Err(JournalError::InvalidQuery(format!(
                "the period has more than {MAX_BUCKETS} buckets; choose days or a shorter period"
            )));
        }
        let (from, to) = (range.from.as_millis(), range.to.as_millis());
        self.with_reader(|c| {
            let mut buckets: Vec<BucketCount> = (first..=last)
                .map(|b| BucketCount {
                    start: Timestamp::from_millis(b * bms),
                    orders: 0,
                    failures: 0,
                })
                .collect();
            // Orders per bucket: one index range count per bucket (the created_at index is in
            // time order, so this reads each index entry once and never sorts).
            {
                let mut st = c.prepare_cached(
                    "SELECT count(*) FROM orders INDEXED BY orders_created
                     WHERE created_at >= ?1 AND created_at < ?2",
                )?;
                for slot in &mut buckets {
                    let lo = slot.start.as_millis().max(from);
                    let hi = (slot.start.as_millis() + bms).min(to);
                    let n: i64 = st.query_row(params![lo, hi], |r| r.get(0))?;
                    slot.orders = u64::try_from(n).unwrap_or(0);
                }
            }
            {
                let mut st = c.prepare_cached(&format!(
                    "SELECT created_at / ?1 AS b, count(*) FROM orders INDEXED BY orders_failures
                     WHERE state IN {FAILURE_STATES} AND created_at >= ?2 AND created_at < ?3
                     GROUP BY b"
                ))?;
                let rows = st.query_map(params![bms, from, to], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
                })?;
                for row in rows {
                    let (b, n) = row?;
                    let slot = usize::try_from(b - first)
                        .ok()
                        .and_then(|i| buckets.get_mut(i));
                    if let Some(slot) = slot {
                        slot.failures = u64::try_from(n).unwrap_or(0);
                    }
                }
            }
            let grouped = |expr: &str| -> Result<Vec<LabelCount>> {
                let sql = format!(
                    "SELECT {expr} AS label, count(*) AS n FROM orders INDEXED BY orders_failures
                     WHERE state IN {FAILURE_STATES} AND created_at >= ?1 AND created_at < ?2
                     GROUP BY label ORDER BY n DESC, label"
                );
                let mut st = c.prepare_cached(&sql)?;
                let rows = st.query_map(params![from, to], |r| {
                    Ok(LabelCount {
                        label: r.get(0)?,
                        count: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                    })
                })?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            };
            let failures_by_reason = grouped("COALESCE(error_code, d1_status, 'unknown')")?;
            let failures_by_station = grouped("station_id")?;
            Ok(Stats {
                buckets,
                failures_by_reason,
                failures_by_station,
            })
        })
    }

    /// Writes every order matching `q` (from `q.after`, all pages; `q.page_size` is ignored) as
    /// CSV with a header ([`CSV_HEADER`]). The card is masked (`•••• 1234`); cells that a
    /// spreadsheet would run as a formula get a leading `'`. Returns the number of orders.
    pub fn export_csv(&self, q: &OrderQuery, out: impl Write) -> Result<u64> {
        let mut w = csv::Writer::from_writer(out);
        let export_err = |e: csv::Error| JournalError::Export(e.to_string());
        w.write_record(CSV_HEADER).map_err(export_err)?;
        let mut page_q = OrderQuery {
            page_size: MAX_PAGE_SIZE,
            ..q.clone()
        };
        let mut count = 0u64;
        loop {
            let page = self.list(&page_q)?;
            for o in &page.items {
                let opt = |v: &Option<String>| v.as_deref().map(csv_safe).unwrap_or_default();
                w.write_record([
                    o.created_at.to_rfc3339(),
                    o.updated_at.to_rfc3339(),
                    o.state.as_str().to_owned(),
                    opt(&o.d1_status),
                    csv_safe(&o.operator),
                    csv_safe(&o.consumer_id),
                    csv_safe(&o.product_id),
                    csv_safe(&o.station_id),
                    csv_safe(&o.issuance_type),
                    o.pan_last4.masked(),
                    csv_safe(&o.card_id),
                    csv_safe(&o.issuer_request_id),
                    csv_safe(&o.correlation_id),
                    opt(&o.operation_id),
                    opt(&o.error_code),
                    opt(&o.error_message),
                ])
                .map_err(export_err)?;
                count += 1;
            }
            match page.next {
                Some(next) => page_q.after = Some(next),
                None => break,
            }
        }
        w.flush().map_err(|e| JournalError::Export(e.to_string()))?;
        Ok(count)
    }

    /// Retention: deletes finished orders (and their history) created more than `older_than`
    /// ago. In-flight orders are kept whatever their age (they still need reconciling).
    /// Refused when `older_than` is shorter than [`MIN_RETENTION`]. Returns the number deleted.
    /// Deletes in batches so the app's writes are not blocked for long.
    pub fn prune(&self, older_than: Duration) -> Result<u64> {
        if older_than < MIN_RETENTION {
            return Err(JournalError::InvalidQuery(
                "the retention period must be at least one day".to_owned(),
            ));
        }
        let cutoff = self
            .now()
            .as_millis()
            .saturating_sub(duration_ms(older_than));
        let mut total = 0u64;
        loop {
            let n = self.with_writer(|c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let n = tx
                    .prepare_cached(
                        "DELETE FROM orders WHERE id IN (
                             SELECT id FROM orders WHERE created_at < ?1
                             AND state IN ('done', 'failed', 'rejected', 'abandoned')
                             ORDER BY created_at LIMIT 5000)",
                    )?
                    .execute([cutoff])?;
                tx.commit()?;
                Ok(n)
            })?;
            total += u64::try_from(n).unwrap_or(0);
            if n == 0 {
                break;
            }
        }
        if total > 0 {
            tracing::info!(deleted = total, "order journal pruned");
        }
        Ok(total)
    }
}

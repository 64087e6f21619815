//! The supervisor's queries: list (filters, search, keyset paging; its SQL is `list.rs`), detail, in-flight orders and
//! exceptions. Charts are in `statistics.rs`, the CSV in `export.rs`, pruning in `retention.rs`.

use std::fmt;
use std::time::Duration;

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, Value, ValueRef};
use rusqlite::{Connection, Row, params_from_iter};
use serde::{Serialize, Serializer};

use crate::db::Journal;
use crate::error::{JournalError, Result};
use crate::list::{ListSql, build_list_sql, count_matches};
use crate::types::{HistoryEntry, OrderDetail, OrderId, OrderState, OrderSummary, Timestamp};
use desk_domain::CardId;

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
/// Largest result [`Journal::exceptions`] returns.
pub const MAX_EXCEPTIONS: u32 = 1000;

pub(crate) const COLS: &str = "id, created_at, operator, consumer_id, product_id, station_id, issuance_type, \
                    pan_last4, card_id, issuer_request_id, correlation_id, operation_id, state, \
                    d1_status, error_code, error_message, updated_at";
pub(crate) const ORDER_DESC: &str = "ORDER BY created_at DESC, id DESC";
pub(crate) const FAILURE_STATES: &str = "('failed', 'rejected')";

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
    build_list_sql(q, q.page_size.saturating_add(1), &mut |probe, cap| {
        count_matches(conn, probe, cap)
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
    pub fn detail(&self, card_id: &CardId) -> Result<OrderDetail> {
        self.with_reader(|c| {
            // One snapshot for the row and its timeline.
            let _snapshot = c.unchecked_transaction()?;
            let sql = format!("SELECT {COLS} FROM orders WHERE card_id = ?1");
            let order = query_summaries(c, &sql, &[Value::Text(card_id.as_str().to_owned())])?
                .pop()
                .ok_or_else(|| JournalError::NotFound {
                    card_id: card_id.to_string(),
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
}

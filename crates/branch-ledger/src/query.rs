//! The supervisor's list and detail over the ledger: the journal's queries in spirit, across the
//! branches this desk sees (row-level security decides which), plus branch and desk filters.
//!
//! Each visible branch is read through its own ordered index walk (a LATERAL sub-select with the
//! page's LIMIT) and the walks are merged, so the first page of a regional desk costs one short
//! index walk per branch, not a sort of the region.

use std::fmt;

use order_journal::{
    DEFAULT_PAGE_SIZE, MAX_FILTER_CHARS, MAX_PAGE_SIZE, MAX_SEARCH_CHARS, MIN_PREFIX_CHARS,
    OrderState, Timestamp,
};
use serde::{Serialize, Serializer};

use crate::desk::Ledger;
use crate::error::{LedgerError, Result};
use crate::ids::{BranchId, DeskId};
use crate::sql::{Sql, newest_orders};
use crate::types::{
    HistoryEntry, LedgerOrder, ORDER_COLUMNS, OrderDetail, order_columns, to_offset,
};
use desk_domain::CardId;

/// How a search text is matched against consumer id, card id, operation id and last 4.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SearchMode {
    /// A whole value equals the text (case-sensitive, as D1 ids are).
    #[default]
    Exact,
    /// A value contains the text, ignoring case (at least [`MIN_PREFIX_CHARS`] characters; 1–4
    /// digits search the last 4 only).
    Partial,
}

/// A search over consumer id, card id, operation id and last 4 digits at once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Search {
    /// What the supervisor typed. Surrounding spaces are ignored; empty means "no search".
    pub text: String,
    /// Exact or partial.
    pub mode: SearchMode,
}

/// Keyset position: the last order of the previous page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    created_at: Timestamp,
    card_id: CardId,
    branch_id: BranchId,
}

impl Cursor {
    /// The cursor as a string for the UI (`<created_at ms>.<branch>.<card id>`).
    pub fn to_token(&self) -> String {
        format!(
            "{}.{}.{}",
            self.created_at.as_millis(),
            self.branch_id,
            self.card_id
        )
    }

    /// Parses what [`Cursor::to_token`] produced.
    pub fn from_token(token: &str) -> Result<Self> {
        let bad = || LedgerError::InvalidQuery("the page position is not valid".to_owned());
        let mut parts = token.splitn(3, '.');
        let (Some(ms), Some(branch), Some(card)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let ms: i64 = ms.parse().map_err(|_| bad())?;
        Ok(Self {
            created_at: Timestamp::from_millis(ms),
            card_id: CardId::parse(card).map_err(|_| bad())?,
            branch_id: BranchId::parse(branch).map_err(|_| bad())?,
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

/// Filters, search and paging of the supervisor list. `Default` = newest first, every visible
/// branch, [`DEFAULT_PAGE_SIZE`] per page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderQuery {
    /// Only this branch (a regional desk picking one branch of its region).
    pub branch: Option<BranchId>,
    /// Only orders recorded by this desk.
    pub desk: Option<DeskId>,
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
    /// 1..=[`MAX_PAGE_SIZE`]; anything else is refused with a clear error.
    pub page_size: u32,
    /// Continue after this position (from the previous [`Page::next`]).
    pub after: Option<Cursor>,
}

impl Default for OrderQuery {
    fn default() -> Self {
        Self {
            branch: None,
            desk: None,
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

/// One page of orders, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Page {
    /// The orders.
    pub items: Vec<LedgerOrder>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

fn check_filter(name: &str, value: &Option<String>) -> Result<()> {
    if let Some(v) = value {
        if v.is_empty() {
            return Err(LedgerError::InvalidQuery(format!(
                "the {name} filter is empty; leave it unset to show all"
            )));
        }
        if v.chars().count() > MAX_FILTER_CHARS {
            return Err(LedgerError::InvalidQuery(format!(
                "the {name} filter is longer than {MAX_FILTER_CHARS} characters"
            )));
        }
    }
    Ok(())
}

/// The condition of a search, added to `sql`; `None` for an empty search.
fn search_condition(sql: &mut Sql, search: &Search) -> Result<Option<String>> {
    let text = search.text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.chars().count() > MAX_SEARCH_CHARS {
        return Err(LedgerError::InvalidQuery(format!(
            "the search text is longer than {MAX_SEARCH_CHARS} characters"
        )));
    }
    if !text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(LedgerError::InvalidQuery(
            "search for a consumer id, card id, operation id or the last 4 digits: only \
             letters, digits, '_' and '-'"
                .to_owned(),
        ));
    }
    let digits_only = text.bytes().all(|b| b.is_ascii_digit());
    let last4_only = digits_only && text.len() <= 4;
    match search.mode {
        SearchMode::Exact => {
            let p = sql.param(text.to_owned());
            Ok(Some(format!(
                "(o.card_id = {p} OR o.consumer_id = {p} OR o.operation_id = {p} \
                 OR o.pan_last4 = {p})"
            )))
        }
        SearchMode::Partial => {
            if text.len() < MIN_PREFIX_CHARS && !last4_only {
                return Err(LedgerError::InvalidQuery(format!(
                    "type at least {MIN_PREFIX_CHARS} characters to search by part of an id"
                )));
            }
            // '_' is a LIKE wildcard; '\' is the default escape. Nothing else needs escaping
            // in [A-Za-z0-9_-].
            let pattern = format!("%{}%", text.replace('_', "\\_"));
            let p = sql.param(pattern);
            let last4 = if last4_only {
                format!("o.pan_last4 LIKE {p}")
            } else {
                "false".to_owned()
            };
            if text.len() < MIN_PREFIX_CHARS {
                return Ok(Some(format!("({last4})")));
            }
            Ok(Some(format!(
                "(o.card_id ILIKE {p} OR o.consumer_id ILIKE {p} OR o.operation_id ILIKE {p} \
                 OR {last4})"
            )))
        }
    }
}

/// `SELECT` of one page (`limit` rows) over `branches` (the visible ones, or the one asked
/// for).
pub(crate) fn build_list_sql(q: &OrderQuery, limit: i64, branches: &[String]) -> Result<Sql> {
    if q.page_size == 0 || q.page_size > MAX_PAGE_SIZE {
        return Err(LedgerError::InvalidQuery(format!(
            "the page size must be between 1 and {MAX_PAGE_SIZE}"
        )));
    }
    if let (Some(from), Some(to)) = (q.from, q.to)
        && from >= to
    {
        return Err(LedgerError::InvalidQuery(
            "the start of the period must be before its end".to_owned(),
        ));
    }
    check_filter("station", &q.station_id)?;
    check_filter("operator", &q.operator)?;
    check_filter("product", &q.product_id)?;
    check_filter("issuance type", &q.issuance_type)?;

    let mut sql = Sql::default();
    let mut conds = Vec::new();
    if let Some(desk) = &q.desk {
        conds.push(format!(
            "o.desk_id = {}",
            sql.param(desk.as_str().to_owned())
        ));
    }
    if let Some(from) = q.from {
        conds.push(format!("o.created_at >= {}", sql.param(to_offset(from)?)));
    }
    if let Some(to) = q.to {
        conds.push(format!("o.created_at < {}", sql.param(to_offset(to)?)));
    }
    let mut states: Vec<&'static str> = q.states.iter().map(|s| s.as_str()).collect();
    states.sort_unstable();
    states.dedup();
    match states.as_slice() {
        [] => {}
        [one] => conds.push(format!("o.state = {}", sql.param(one.to_string()))),
        many => {
            let list: Vec<String> = many.iter().map(|s| s.to_string()).collect();
            conds.push(format!("o.state = ANY({}::text[])", sql.param(list)));
        }
    }
    for (col, value) in [
        ("station_id", &q.station_id),
        ("operator", &q.operator),
        ("product_id", &q.product_id),
        ("issuance_type", &q.issuance_type),
    ] {
        if let Some(v) = value {
            conds.push(format!("o.{col} = {}", sql.param(v.clone())));
        }
    }
    if let Some(search) = &q.search
        && let Some(cond) = search_condition(&mut sql, search)?
    {
        conds.push(cond);
    }
    if let Some(after) = &q.after {
        let c = sql.param(to_offset(after.created_at)?);
        let k = sql.param(after.card_id.clone());
        let b = sql.param(after.branch_id.as_str().to_owned());
        conds.push(format!(
            "(o.created_at, o.card_id, o.branch_id) < ({c}, {k}::text COLLATE \"C\", {b}::text COLLATE \"C\")"
        ));
    }
    let limit = sql.param(limit);
    sql.text = newest_orders(&mut sql, branches, &conds, &limit);
    Ok(sql)
}

impl Ledger {
    /// One page of the orders of every branch this desk sees, newest first (by creation time,
    /// then card id, then branch), with filters and search.
    ///
    /// Refused with [`LedgerError::InvalidQuery`]: page size 0 or above [`MAX_PAGE_SIZE`],
    /// `from >= to`, an empty or over-long filter value, a search text longer than
    /// [`MAX_SEARCH_CHARS`] or with characters no id has, a partial search shorter than
    /// [`MIN_PREFIX_CHARS`] (1–4 digits are allowed: last 4). An empty search is no search.
    pub async fn list(&self, q: &OrderQuery) -> Result<Page> {
        let branches = self.visible_branches(q.branch.as_ref()).await?;
        let sql = build_list_sql(q, i64::from(q.page_size) + 1, &branches)?;
        if branches.is_empty() {
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        }
        let rows = self.client.query(&sql.text, &sql.params()).await?;
        let mut items = rows
            .iter()
            .map(LedgerOrder::from_row)
            .collect::<Result<Vec<_>>>()?;
        let page = usize::try_from(q.page_size).unwrap_or(usize::MAX);
        let next = if items.len() > page {
            items.truncate(page);
            items.last().map(|o| Cursor {
                created_at: o.created_at,
                card_id: o.card_id.clone(),
                branch_id: o.branch_id.clone(),
            })
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// The server's plan for [`Ledger::list`] with `q` (`EXPLAIN` text), for diagnostics and the
    /// benchmark.
    pub async fn explain_list(&self, q: &OrderQuery) -> Result<Vec<String>> {
        let branches = self.visible_branches(q.branch.as_ref()).await?;
        let sql = build_list_sql(q, i64::from(q.page_size) + 1, &branches)?;
        let rows = self
            .client
            .query(&format!("EXPLAIN {}", sql.text), &sql.params())
            .await?;
        rows.iter()
            .map(|r| r.try_get::<_, String>(0).map_err(LedgerError::from))
            .collect()
    }

    /// The order with this card id in `branch` and its whole timeline (every desk's events,
    /// oldest first), read in one snapshot.
    pub async fn detail(&self, branch: &BranchId, card_id: &CardId) -> Result<OrderDetail> {
        let not_found = || LedgerError::NotFound {
            branch_id: branch.as_str().to_owned(),
            card_id: card_id.as_str().to_owned(),
        };
        let order_cols = order_columns("o");
        // The history is read with the branch and card id as constants (not joined to the order
        // row): the planner then picks the timeline index in every monthly partition.
        let sql = format!(
            "SELECT {order_cols}, h.desk_id, h.seq, h.at, h.received_at, h.kind, h.state, \
                    h.operator, h.d1_status, h.operation_id, h.error_code, h.error_message, h.detail, \
                    h.reason_code \
             FROM ledger.orders AS o \
             LEFT JOIN LATERAL ( \
                 SELECT e.* FROM ledger.order_events AS e \
                 WHERE e.branch_id = $1 AND e.card_id = $2) AS h ON true \
             WHERE o.branch_id = $1 AND o.card_id = $2 \
             ORDER BY h.at, h.received_at, h.desk_id, h.seq"
        );
        let rows = self
            .client
            .query(&sql, &[&branch.as_str(), card_id])
            .await?;
        let first = rows.first().ok_or_else(not_found)?;
        let order = LedgerOrder::from_row(first)?;
        let offset = ORDER_COLUMNS.split(", ").count();
        let mut history = Vec::with_capacity(rows.len());
        for r in &rows {
            let seq: Option<i64> = r.try_get(offset + 1)?;
            if seq.is_some() {
                history.push(HistoryEntry::from_row_at(r, offset)?);
            }
        }
        let branch_name = branch.as_str();
        let card_name = card_id.as_str();
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&branch_name, &card_name];
        let counter = self.client.query_one(
            "SELECT o.reissue_of, o.spoiled_at, o.spoiled_reason, \
                    ARRAY(SELECT r.card_id::text FROM ledger.orders AS r \
                          WHERE r.branch_id = $1 AND r.reissue_of = $2 \
                          ORDER BY r.created_at, r.card_id) \
             FROM ledger.orders AS o WHERE o.branch_id = $1 AND o.card_id = $2",
            &params,
        );
        let (counter, approval, case) = tokio::try_join!(
            async { counter.await.map_err(LedgerError::from) },
            self.approval_in(branch, card_id),
            self.case_history(branch, card_id)
        )?;
        let spoiled_at: Option<time::OffsetDateTime> = counter.try_get(1)?;
        let spoiled_reason: Option<String> = counter.try_get(2)?;
        Ok(OrderDetail {
            order,
            history,
            reissue_of: counter.try_get(0)?,
            spoiled: spoiled_at
                .zip(spoiled_reason)
                .map(|(at, reason)| (crate::types::to_timestamp(at), reason)),
            reissued_by: counter.try_get(3)?,
            approval,
            case,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn b1() -> Vec<String> {
        vec!["B1".to_owned()]
    }

    #[test]
    fn many_branches_are_merged_per_branch_or_through_one_lateral() {
        let q = OrderQuery::default();
        let two = build_list_sql(&q, 51, &["B1".into(), "B2".into()]).unwrap();
        assert_eq!(two.text.matches("UNION ALL").count(), 1);
        let many: Vec<String> = (0..=crate::sql::MAX_BRANCHES_UNROLLED)
            .map(|i| format!("B{i}"))
            .collect();
        let lateral = build_list_sql(&q, 51, &many).unwrap();
        assert!(lateral.text.contains("CROSS JOIN LATERAL"));
        assert!(!lateral.text.contains("UNION ALL"));
    }

    #[test]
    fn cursor_tokens_round_trip_and_refuse_garbage() {
        let c = Cursor {
            created_at: Timestamp::from_millis(1_764_000_000_123),
            card_id: CardId::parse("card-1_A").unwrap(),
            branch_id: BranchId::parse("B0042").unwrap(),
        };
        assert_eq!(c.to_token(), "1764000000123.B0042.card-1_A");
        assert_eq!(Cursor::from_token(&c.to_token()).unwrap(), c);
        for bad in [
            "", "1", "1.B", "x.B.c", "1.B.c d", "1..c", "1.B.", "1.B.c'--",
        ] {
            assert!(Cursor::from_token(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn page_sizes_periods_filters_and_searches_are_checked() {
        let ok = OrderQuery::default();
        assert!(build_list_sql(&ok, 51, &b1()).is_ok());
        for bad in [
            OrderQuery {
                page_size: 0,
                ..OrderQuery::default()
            },
            OrderQuery {
                page_size: MAX_PAGE_SIZE + 1,
                ..OrderQuery::default()
            },
            OrderQuery {
                from: Some(Timestamp::from_millis(2)),
                to: Some(Timestamp::from_millis(2)),
                ..OrderQuery::default()
            },
            OrderQuery {
                station_id: Some(String::new()),
                ..OrderQuery::default()
            },
            OrderQuery {
                operator: Some("o".repeat(257)),
                ..OrderQuery::default()
            },
            OrderQuery {
                search: Some(Search {
                    text: "ab".into(),
                    mode: SearchMode::Partial,
                }),
                ..OrderQuery::default()
            },
            OrderQuery {
                search: Some(Search {
                    text: "a b".into(),
                    mode: SearchMode::Exact,
                }),
                ..OrderQuery::default()
            },
            OrderQuery {
                search: Some(Search {
                    text: "x".repeat(65),
                    mode: SearchMode::Exact,
                }),
                ..OrderQuery::default()
            },
        ] {
            let e = build_list_sql(&bad, 10, &b1()).err().expect("refused");
            assert!(matches!(e, LedgerError::InvalidQuery(_)), "{e}");
        }
        let max = OrderQuery {
            page_size: MAX_PAGE_SIZE,
            ..OrderQuery::default()
        };
        assert!(build_list_sql(&max, 501, &b1()).is_ok());
        let last4 = OrderQuery {
            search: Some(Search {
                text: "55".into(),
                mode: SearchMode::Partial,
            }),
            ..OrderQuery::default()
        };
        let sql = build_list_sql(&last4, 10, &b1()).unwrap();
        assert!(sql.text.contains("o.pan_last4 LIKE"));
        assert!(!sql.text.contains("ILIKE"));
        let blank = OrderQuery {
            search: Some(Search {
                text: "  ".into(),
                mode: SearchMode::Partial,
            }),
            ..OrderQuery::default()
        };
        assert!(
            !build_list_sql(&blank, 10, &b1())
                .unwrap()
                .text
                .contains("LIKE")
        );
    }
}

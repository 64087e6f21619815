//! The supervisor list as SQL: filters, search and keyset paging, newest first.
//!
//! Every plan reads a page without touching more than a page of order rows, so that it stays
//! fast when the journal is not in memory (a cold page cache costs one disk read per page):
//! - filters walk the index of their most selective column in time order and stop after a page;
//! - a search finds the newest matching `(created_at, id)` pairs inside indexes, merges them, and
//!   only then reads the rows of the one page it returns. A prefix (or, for the consumer id, a
//!   text anywhere in it, through the index of its suffixes) that matches few orders is looked up
//!   in its index and sorted; one that matches many (at least [`BROAD_PREFIX_MATCHES`], counted
//!   by a capped probe of that index) walks the time index, which holds the consumer id and
//!   last 4, newest first until a page is found.

use rusqlite::Connection;
use rusqlite::types::Value;

use crate::error::{JournalError, Result};
use crate::queries::{
    COLS, MAX_FILTER_CHARS, MAX_PAGE_SIZE, MAX_SEARCH_CHARS, MIN_PREFIX_CHARS, MatchMode,
    ORDER_DESC, OrderQuery, Search,
};
use crate::types::OrderState;

/// A prefix matching at least this many orders is searched by walking the time index instead of
/// sorting its matches. Near the switch both plans read a few thousand index entries.
pub(crate) const BROAD_PREFIX_MATCHES: i64 = 4000;

/// With a label or state filter, a consumer-id text held by at least [`BROAD_PREFIX_MATCHES`]
/// but fewer than this many orders walks the filter's own index, testing each entry against
/// the set of orders the suffix index holds for the text (built from one range, at most ~2.5 MB
/// of index). Held by more, the matches are dense enough for the time index walk.
pub(crate) const DENSE_CONSUMER_MATCHES: i64 = 100_000;

/// Characters of each consumer-id suffix that its index keeps (migration 0007). A longer text is
/// looked up by its first this many characters and checked against the whole id.
pub(crate) const CONSUMER_SUFFIX_CHARS: usize = 16;

/// A validated search, ready for SQL.
pub(crate) struct SearchPlan {
    text: String,
    mode: MatchMode,
}

/// What a probe counts to tell whether a search matches many orders.
pub(crate) enum Probe {
    /// The prefix range `[low, high)` of a column's index.
    Range {
        column: &'static str,
        low: String,
        high: String,
    },
    /// The range `[low, high)` of the consumer-id suffix index (an order whose id holds the
    /// text twice counts twice).
    ConsumerSuffix { low: String, high: String },
}

/// One searched column: its condition and, when it can match many orders, what a probe counts
/// and the condition to use while walking the time index instead.
pub(crate) struct SearchCondition {
    sql: String,
    params: Vec<Value>,
    probe: Option<Probe>,
    broad: Option<(String, Vec<Value>)>,
    /// The parameters of a [`SUFFIX_RANGE`] that finds exactly the matches, each with its
    /// `(created_at, id)`: without filters on the orders' labels or state the page is found in
    /// that index alone; with them, a text many orders hold is a set the filter's index walk
    /// tests its entries against. No order row is read for the text either way.
    suffix_range: Option<Vec<Value>>,
}

/// The range of `orders_consumer_suffix` that holds a consumer-id text.
const SUFFIX_RANGE: &str = "suffix >= ? AND suffix < ?";

impl SearchPlan {
    pub(crate) fn new(search: &Search) -> Result<Option<Self>> {
        let text = search.text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        if text.chars().count() > MAX_SEARCH_CHARS {
            return Err(JournalError::InvalidQuery(format!(
                "the search text is longer than {MAX_SEARCH_CHARS} characters"
            )));
        }
        if !text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(JournalError::InvalidQuery(
                "search for a consumer id, card id, operation id or the last 4 digits: only \
                 letters, digits, '_' and '-'"
                    .to_owned(),
            ));
        }
        let digits_only = text.bytes().all(|b| b.is_ascii_digit());
        if search.mode == MatchMode::Prefix
            && text.len() < MIN_PREFIX_CHARS
            && !(digits_only && text.len() <= 4)
        {
            return Err(JournalError::InvalidQuery(format!(
                "type at least {MIN_PREFIX_CHARS} characters to search by the start of an id"
            )));
        }
        Ok(Some(Self {
            text: text.to_owned(),
            mode: search.mode,
        }))
    }

    /// One condition per searched column.
    pub(crate) fn conditions(&self) -> Vec<SearchCondition> {
        let mut out = Vec::new();
        let digits_only = self.text.bytes().all(|b| b.is_ascii_digit());
        let long_enough = self.text.len() >= MIN_PREFIX_CHARS;
        // The consumer id matches anywhere in it and whatever the case ("7005" and "cust-7005"
        // both find CUST-7005): the text starts one of the id's suffixes, a range of their
        // index (migration 0007). A text longer than the suffixes kept is looked up by its start
        // and checked against the whole id (`instr`). A text that many ids hold ("CUST") walks
        // the time index, which holds the consumer id, newest first instead.
        if long_enough {
            let lower = self.text.to_ascii_lowercase();
            let key = &lower[..lower.len().min(CONSUMER_SUFFIX_CHARS)];
            let (low, high) = prefix_bounds(key);
            let range_params = vec![Value::Text(low.clone()), Value::Text(high.clone())];
            let contains = "instr(lower(consumer_id), ?) > 0";
            out.push(SearchCondition {
                sql: format!(
                    "id IN (SELECT id FROM orders_consumer_suffix WHERE {SUFFIX_RANGE}) \
                     AND {contains}"
                ),
                params: [range_params.clone(), vec![Value::Text(lower.clone())]].concat(),
                probe: Some(Probe::ConsumerSuffix { low, high }),
                broad: Some((contains.to_owned(), vec![Value::Text(lower.clone())])),
                suffix_range: (lower.len() <= CONSUMER_SUFFIX_CHARS).then_some(range_params),
            });
        } else if self.mode == MatchMode::Exact {
            out.push(SearchCondition {
                sql: "consumer_id = ?".to_owned(),
                params: vec![Value::Text(self.text.clone())],
                probe: None,
                broad: None,
                suffix_range: None,
            });
        }
        let mut columns: Vec<&'static str> = Vec::new();
        if self.mode == MatchMode::Exact || long_enough {
            columns.extend(["card_id", "operation_id"]);
        }
        if digits_only
            && (self.mode == MatchMode::Prefix && self.text.len() <= 4
                || self.mode == MatchMode::Exact && self.text.len() == 4)
        {
            columns.push("pan_last4");
        }
        for col in columns {
            out.push(match self.mode {
                MatchMode::Exact => SearchCondition {
                    sql: format!("{col} = ?"),
                    params: vec![Value::Text(self.text.clone())],
                    probe: None,
                    broad: None,
                    suffix_range: None,
                },
                MatchMode::Prefix => {
                    let (low, high) = prefix_bounds(&self.text);
                    SearchCondition {
                        sql: format!("{col} >= ? AND {col} < ?"),
                        params: vec![Value::Text(low.clone()), Value::Text(high.clone())],
                        probe: Some(Probe::Range {
                            column: col,
                            low,
                            high,
                        }),
                        broad: None,
                        suffix_range: None,
                    }
                }
            });
        }
        out
    }
}

/// `[prefix, prefix with its last byte + 1)`; the text is ASCII `[A-Za-z0-9_-]`, so the bound
/// stays ASCII (`-` + 1 is `.`, `_` + 1 is `` ` ``, `z` + 1 is `{`).
fn prefix_bounds(prefix: &str) -> (String, String) {
    let mut hi = prefix.as_bytes().to_vec();
    if let Some(last) = hi.last_mut() {
        *last += 1;
    }
    (prefix.to_owned(), String::from_utf8_lossy(&hi).into_owned())
}

/// How many index entries a search matches, counted inside the column's index up to `cap`, so
/// the probe itself stays small.
pub(crate) fn count_matches(conn: &Connection, probe: &Probe, cap: i64) -> Result<i64> {
    Ok(match probe {
        Probe::Range { column, low, high } => conn
            .prepare_cached(&format!(
                "SELECT count(*) FROM (SELECT 1 FROM orders \
                 WHERE {column} >= ?1 AND {column} < ?2 LIMIT ?3)"
            ))?
            .query_row(rusqlite::params![low, high, cap], |r| r.get(0))?,
        Probe::ConsumerSuffix { low, high } => conn
            .prepare_cached(
                "SELECT count(*) FROM (SELECT 1 FROM orders_consumer_suffix \
                 WHERE suffix >= ?1 AND suffix < ?2 LIMIT ?3)",
            )?
            .query_row(rusqlite::params![low, high, cap], |r| r.get(0))?,
    })
}

fn check_filter(name: &str, value: &Option<String>) -> Result<()> {
    if let Some(v) = value {
        if v.is_empty() {
            return Err(JournalError::InvalidQuery(format!(
                "the {name} filter is empty; leave it unset to show all"
            )));
        }
        if v.chars().count() > MAX_FILTER_CHARS {
            return Err(JournalError::InvalidQuery(format!(
                "the {name} filter is longer than {MAX_FILTER_CHARS} characters"
            )));
        }
    }
    Ok(())
}

/// The SQL of one list page and its parameters.
pub(crate) struct ListSql {
    pub(crate) sql: String,
    pub(crate) params: Vec<Value>,
}

/// Builds the SQL of one page of at most `limit` orders. `count` counts, for a searched prefix
/// or text, its matches up to a cap ([`count_matches`]).
pub(crate) fn build_list_sql(
    q: &OrderQuery,
    limit: u32,
    count: &mut dyn FnMut(&Probe, i64) -> Result<i64>,
) -> Result<ListSql> {
    if q.page_size == 0 {
        return Err(JournalError::InvalidQuery(
            "the page size must be at least 1".to_owned(),
        ));
    }
    if q.page_size > MAX_PAGE_SIZE {
        return Err(JournalError::InvalidQuery(format!(
            "the page size must be at most {MAX_PAGE_SIZE}"
        )));
    }
    if let (Some(from), Some(to)) = (q.from, q.to)
        && from >= to
    {
        return Err(JournalError::InvalidQuery(
            "the start of the period must be before its end".to_owned(),
        ));
    }
    check_filter("station", &q.station_id)?;
    check_filter("operator", &q.operator)?;
    check_filter("product", &q.product_id)?;
    check_filter("issuance type", &q.issuance_type)?;
    let search = match &q.search {
        Some(s) => SearchPlan::new(s)?,
        None => None,
    };

    // Conditions on an order's place in the list (`created_at`, `id`), and on its labels.
    let mut place = Conditions::default();
    if let Some(from) = q.from {
        place.push("created_at >= ?", [Value::Integer(from.as_millis())]);
    }
    if let Some(to) = q.to {
        place.push("created_at < ?", [Value::Integer(to.as_millis())]);
    }
    if let Some(c) = q.after {
        place.push(
            "(created_at, id) < (?, ?)",
            [Value::Integer(c.created_at), Value::Integer(c.id)],
        );
    }
    let mut labels = Conditions::default();
    for (col, v) in [
        ("station_id", &q.station_id),
        ("operator", &q.operator),
        ("product_id", &q.product_id),
        ("issuance_type", &q.issuance_type),
    ] {
        if let Some(v) = v {
            labels.push(&format!("{col} = ?"), [Value::Text(v.clone())]);
        }
    }
    let mut states: Vec<OrderState> = q.states.clone();
    states.sort();
    states.dedup();
    let limit = i64::from(limit);

    if let Some(search) = &search {
        return search_sql(search, &place, &labels, &states, limit, count);
    }
    let mut base = place.sql;
    base.extend(labels.sql);
    let mut base_params = place.params;
    base_params.extend(labels.params);
    let mut parts: Vec<(String, Vec<Value>)> = Vec::new();
    if states.is_empty() {
        let cond = if base.is_empty() {
            "1".to_owned()
        } else {
            base.join(" AND ")
        };
        let mut params = base_params;
        params.push(Value::Integer(limit));
        return Ok(ListSql {
            sql: format!("SELECT {COLS} FROM orders WHERE {cond} {ORDER_DESC} LIMIT ?"),
            params,
        });
    }
    // One ordered index walk per state, merged: never sorts all orders of a common state.
    for st in &states {
        let mut conds = vec![format!("state = '{}'", st.as_str())];
        conds.extend(base.iter().cloned());
        parts.push((conds.join(" AND "), base_params.clone()));
    }
    let mut params = Vec::new();
    let subs: Vec<String> = parts
        .into_iter()
        .map(|(cond, p)| {
            params.extend(p);
            params.push(Value::Integer(limit));
            format!("SELECT * FROM (SELECT {COLS} FROM orders WHERE {cond} {ORDER_DESC} LIMIT ?)")
        })
        .collect();
    params.push(Value::Integer(limit));
    Ok(ListSql {
        sql: format!("{} {ORDER_DESC} LIMIT ?", subs.join(" UNION ALL ")),
        params,
    })
}

/// SQL conditions joined by AND, and their parameters in order.
#[derive(Default)]
struct Conditions {
    sql: Vec<String>,
    params: Vec<Value>,
}

impl Conditions {
    fn push(&mut self, sql: &str, params: impl IntoIterator<Item = Value>) {
        self.sql.push(sql.to_owned());
        self.params.extend(params);
    }
}

/// A search: per column the newest `(created_at, id)` matches from an index, merged, and only
/// the page's rows read from the table.
fn search_sql(
    search: &SearchPlan,
    place: &Conditions,
    labels: &Conditions,
    states: &[OrderState],
    limit: i64,
    count: &mut dyn FnMut(&Probe, i64) -> Result<i64>,
) -> Result<ListSql> {
    let state_cond = (!states.is_empty()).then(|| {
        let list = states
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        format!("state IN ({list})")
    });
    let filtered = !labels.sql.is_empty() || state_cond.is_some();
    let mut subs = Vec::new();
    let mut params = Vec::new();
    for cond in search.conditions() {
        // With a filter, a consumer-id text is counted far enough to tell whether its set of
        // matches is small enough to build.
        let cap = if filtered && cond.suffix_range.is_some() {
            DENSE_CONSUMER_MATCHES
        } else {
            BROAD_PREFIX_MATCHES
        };
        let matches = match &cond.probe {
            Some(probe) => count(probe, cap)?,
            None => 0,
        };
        let broad = matches >= BROAD_PREFIX_MATCHES;
        // What the sub-select reads and its first condition.
        let (source, first, first_params) = match cond.suffix_range {
            // Few matches, no filter: the page is in the suffix index.
            Some(range) if !broad && !filtered => (
                "DISTINCT created_at, id FROM orders_consumer_suffix",
                SUFFIX_RANGE.to_owned(),
                range,
            ),
            // Many matches, a filter on top: the filter's index, each entry tested against the
            // set of matches (`+id` keeps SQLite from reading the set's rows instead).
            Some(range) if broad && filtered && matches < DENSE_CONSUMER_MATCHES => (
                "created_at, id FROM orders",
                format!("+id IN (SELECT id FROM orders_consumer_suffix WHERE {SUFFIX_RANGE})"),
                range,
            ),
            _ => match cond.broad {
                Some((sql, p)) if broad => (
                    "created_at, id FROM orders INDEXED BY orders_created",
                    sql,
                    p,
                ),
                _ => ("created_at, id FROM orders", cond.sql, cond.params),
            },
        };
        let mut conds = vec![first];
        conds.extend(place.sql.iter().cloned());
        conds.extend(labels.sql.iter().cloned());
        conds.extend(state_cond.iter().cloned());
        params.extend(first_params);
        params.extend(place.params.iter().cloned());
        params.extend(labels.params.iter().cloned());
        subs.push(format!(
            "SELECT * FROM (SELECT {source} WHERE {} {ORDER_DESC} LIMIT ?)",
            conds.join(" AND ")
        ));
        params.push(Value::Integer(limit));
    }
    if subs.is_empty() {
        // Nothing can match (e.g. exact search of 2 digits: no id and no last 4 is that).
        subs.push("SELECT created_at, id FROM orders WHERE 0".to_owned());
    }
    params.push(Value::Integer(limit));
    Ok(ListSql {
        sql: format!(
            "SELECT {COLS} FROM orders WHERE id IN (SELECT id FROM ({}) {ORDER_DESC} LIMIT ?) \
             {ORDER_DESC}",
            subs.join(" UNION ")
        ),
        params,
    })
}

//! The SQL of one page of the supervisor list: filters, the search over four ids at once and
//! keyset paging, checked before anything reaches SQLite.

use rusqlite::types::Value;

use crate::error::{JournalError, Result};
use crate::queries::{
    COLS, MAX_FILTER_CHARS, MAX_PAGE_SIZE, MAX_SEARCH_CHARS, MIN_PREFIX_CHARS, MatchMode,
    ORDER_DESC, OrderQuery, Search,
};
use crate::types::OrderState;

/// A validated search, ready for SQL.
pub(crate) struct SearchPlan {
    text: String,
    mode: MatchMode,
}

impl SearchPlan {
    fn new(search: &Search) -> Result<Option<Self>> {
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

    /// `(condition, params)` per searched column.
    fn conditions(&self) -> Vec<(String, Vec<Value>)> {
        let mut out = Vec::new();
        let digits_only = self.text.bytes().all(|b| b.is_ascii_digit());
        let long_enough = self.text.len() >= MIN_PREFIX_CHARS;
        for col in ["consumer_id", "card_id", "operation_id"] {
            match self.mode {
                MatchMode::Exact => {
                    out.push((format!("{col} = ?"), vec![Value::Text(self.text.clone())]))
                }
                MatchMode::Prefix if long_enough => {
                    let (lo, hi) = prefix_bounds(&self.text);
                    out.push((
                        format!("{col} >= ? AND {col} < ?"),
                        vec![Value::Text(lo), Value::Text(hi)],
                    ));
                }
                MatchMode::Prefix => {}
            }
        }
        if digits_only && self.text.len() <= 4 {
            match self.mode {
                MatchMode::Exact if self.text.len() == 4 => out.push((
                    "pan_last4 = ?".to_owned(),
                    vec![Value::Text(self.text.clone())],
                )),
                MatchMode::Prefix => {
                    let (lo, hi) = prefix_bounds(&self.text);
                    out.push((
                        "pan_last4 >= ? AND pan_last4 < ?".to_owned(),
                        vec![Value::Text(lo), Value::Text(hi)],
                    ));
                }
                MatchMode::Exact => {}
            }
        }
        out
    }
}

/// `[prefix, prefix with its last byte + 1)`; the text is ASCII `[A-Za-z0-9_-]`.
fn prefix_bounds(prefix: &str) -> (String, String) {
    let mut hi = prefix.as_bytes().to_vec();
    if let Some(last) = hi.last_mut() {
        *last += 1;
    }
    (prefix.to_owned(), String::from_utf8_lossy(&hi).into_owned())
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

/// Builds the SQL of one list page.
pub(crate) struct ListSql {
    pub(crate) sql: String,
    pub(crate) params: Vec<Value>,
}

pub(crate) fn build_list_sql(q: &OrderQuery, limit: u32) -> Result<ListSql> {
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

    let mut base: Vec<String> = Vec::new();
    let mut base_params: Vec<Value> = Vec::new();
    if let Some(from) = q.from {
        base.push("created_at >= ?".to_owned());
        base_params.push(Value::Integer(from.as_millis()));
    }
    if let Some(to) = q.to {
        base.push("created_at < ?".to_owned());
        base_params.push(Value::Integer(to.as_millis()));
    }
    for (col, v) in [
        ("station_id", &q.station_id),
        ("operator", &q.operator),
        ("product_id", &q.product_id),
        ("issuance_type", &q.issuance_type),
    ] {
        if let Some(v) = v {
            base.push(format!("{col} = ?"));
            base_params.push(Value::Text(v.clone()));
        }
    }
    if let Some(c) = q.after {
        base.push("(created_at, id) < (?, ?)".to_owned());
        base_params.push(Value::Integer(c.created_at));
        base_params.push(Value::Integer(c.id));
    }
    let mut states: Vec<OrderState> = q.states.clone();
    states.sort();
    states.dedup();

    let limit = i64::from(limit);
    let mut parts: Vec<(String, Vec<Value>)> = Vec::new();
    let compound;
    if let Some(search) = &search {
        // One ordered sub-select per searched column, merged without duplicates.
        compound = " UNION ";
        let state_cond = (!states.is_empty()).then(|| {
            let list = states
                .iter()
                .map(|s| format!("'{}'", s.as_str()))
                .collect::<Vec<_>>()
                .join(", ");
            format!("state IN ({list})")
        });
        for (cond, cond_params) in search.conditions() {
            let mut conds = vec![cond];
            conds.extend(base.iter().cloned());
            conds.extend(state_cond.iter().cloned());
            let mut p = cond_params;
            p.extend(base_params.iter().cloned());
            parts.push((conds.join(" AND "), p));
        }
        if parts.is_empty() {
            // Nothing can match (e.g. exact search of 2 digits: no id and no last-4 is that).
            parts.push(("0".to_owned(), Vec::new()));
        }
    } else if !states.is_empty() {
        // One ordered index walk per state, merged: never sorts all orders of a common state.
        compound = " UNION ALL ";
        for st in &states {
            let mut conds = vec![format!("state = '{}'", st.as_str())];
            conds.extend(base.iter().cloned());
            parts.push((conds.join(" AND "), base_params.clone()));
        }
    } else {
        compound = "";
        let cond = if base.is_empty() {
            "1".to_owned()
        } else {
            base.join(" AND ")
        };
        parts.push((cond, base_params));
    }

    let mut params = Vec::new();
    let sql = if parts.len() == 1 {
        let (cond, p) = parts.remove(0);
        params.extend(p);
        params.push(Value::Integer(limit));
        format!("SELECT {COLS} FROM orders WHERE {cond} {ORDER_DESC} LIMIT ?")
    } else {
        let subs: Vec<String> = parts
            .into_iter()
            .map(|(cond, p)| {
                params.extend(p);
                params.push(Value::Integer(limit));
                format!(
                    "SELECT * FROM (SELECT {COLS} FROM orders WHERE {cond} {ORDER_DESC} LIMIT ?)"
                )
            })
            .collect();
        params.push(Value::Integer(limit));
        format!("{} {ORDER_DESC} LIMIT ?", subs.join(compound))
    };
    Ok(ListSql { sql, params })
}

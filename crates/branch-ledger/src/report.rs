//! Charts and the exceptions queue over the ledger: the journal's `stats` and `exceptions`,
//! across the branches this desk sees, optionally narrowed to one branch or desk. The result
//! types are the journal's, so the supervisor screen draws both the same way.

use order_journal::{
    Bucket, BucketCount, ExceptionQuery, LabelCount, MAX_BUCKETS, MAX_EXCEPTIONS, Stats, TimeRange,
    Timestamp,
};

use crate::desk::Ledger;
use crate::error::{LedgerError, Result};
use crate::ids::{BranchId, DeskId};
use crate::sql::{Sql, newest_orders};
use crate::types::{LedgerOrder, to_offset, to_timestamp};

/// Which orders a report covers: every visible branch by default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    /// Only this branch.
    pub branch: Option<BranchId>,
    /// Only orders recorded by this desk.
    pub desk: Option<DeskId>,
}

const FAILURE_STATES: &str = "('failed', 'rejected')";

fn bucket_millis(bucket: Bucket) -> i64 {
    match bucket {
        Bucket::Hour => 3_600_000,
        Bucket::Day => 86_400_000,
    }
}

/// `WHERE` conditions of a report over `range`, `branches` (the visible ones, or the one asked
/// for) and `scope` (orders aliased `o`).
pub(crate) fn scoped(
    sql: &mut Sql,
    range: TimeRange,
    branches: &[String],
    scope: &Scope,
) -> Result<String> {
    let mut conds = vec![format!(
        "o.branch_id = ANY({}::text[])",
        sql.param(branches.to_vec())
    )];
    if let Some(desk) = &scope.desk {
        conds.push(format!(
            "o.desk_id = {}",
            sql.param(desk.as_str().to_owned())
        ));
    }
    conds.push(format!(
        "o.created_at >= {}",
        sql.param(to_offset(range.from)?)
    ));
    conds.push(format!(
        "o.created_at < {}",
        sql.param(to_offset(range.to)?)
    ));
    Ok(conds.join(" AND "))
}

impl Ledger {
    /// Orders per bucket (UTC-aligned, empty buckets included) and failures by reason and by
    /// station over `range`, in `scope`. A failure is an order in state `failed` or `rejected`.
    /// Refused when the range spans more than [`MAX_BUCKETS`] buckets.
    pub async fn stats(&self, range: TimeRange, bucket: Bucket, scope: &Scope) -> Result<Stats> {
        if range.from >= range.to {
            return Err(LedgerError::InvalidQuery(
                "the start of the period must be before its end".to_owned(),
            ));
        }
        let bms = bucket_millis(bucket);
        let first = range.from.as_millis().div_euclid(bms);
        let last = (range.to.as_millis() - 1).div_euclid(bms);
        if last - first + 1 > MAX_BUCKETS {
            return Err(LedgerError::InvalidQuery(format!(
                "the period has more than {MAX_BUCKETS} buckets; choose days or a shorter period"
            )));
        }

        let branches = self.visible_branches(scope.branch.as_ref()).await?;
        let mut per_bucket = Sql::default();
        let cond = scoped(&mut per_bucket, range, &branches, scope)?;
        // date_bin is integer arithmetic; extract(epoch …) is numeric and cost 5 µs a row.
        let width = match bucket {
            Bucket::Hour => "1 hour",
            Bucket::Day => "1 day",
        };
        per_bucket.text = format!(
            "SELECT date_bin('{width}', o.created_at, '1970-01-01 00:00:00+00'::timestamptz) \
                        AS bucket, \
                    count(*), count(*) FILTER (WHERE o.state IN {FAILURE_STATES}) \
             FROM ledger.orders AS o WHERE {cond} GROUP BY bucket"
        );
        let grouped = |expr: &str| -> Result<Sql> {
            let mut sql = Sql::default();
            let cond = scoped(&mut sql, range, &branches, scope)?;
            sql.text = format!(
                "SELECT {expr} AS label, count(*) AS n FROM ledger.orders AS o \
                 WHERE {cond} AND o.state IN {FAILURE_STATES} \
                 GROUP BY label ORDER BY n DESC, label"
            );
            Ok(sql)
        };
        let by_reason = grouped("coalesce(o.error_code, o.d1_status, 'unknown')")?;
        let by_station = grouped("o.station_id")?;

        let (p1, p2, p3) = (per_bucket.params(), by_reason.params(), by_station.params());
        let (bucket_rows, reason_rows, station_rows) = tokio::try_join!(
            self.client.query(&per_bucket.text, &p1),
            self.client.query(&by_reason.text, &p2),
            self.client.query(&by_station.text, &p3),
        )?;

        let mut buckets: Vec<BucketCount> = (first..=last)
            .map(|n| BucketCount {
                start: Timestamp::from_millis(n * bms),
                orders: 0,
                failures: 0,
            })
            .collect();
        for r in &bucket_rows {
            let n = to_timestamp(r.try_get(0)?).as_millis().div_euclid(bms);
            let slot = usize::try_from(n - first)
                .ok()
                .and_then(|i| buckets.get_mut(i));
            if let Some(slot) = slot {
                slot.orders = u64::try_from(r.try_get::<_, i64>(1)?).unwrap_or(0);
                slot.failures = u64::try_from(r.try_get::<_, i64>(2)?).unwrap_or(0);
            }
        }
        let labels = |rows: &[tokio_postgres::Row]| -> Result<Vec<LabelCount>> {
            rows.iter()
                .map(|r| {
                    Ok(LabelCount {
                        label: r.try_get(0)?,
                        count: u64::try_from(r.try_get::<_, i64>(1)?).unwrap_or(0),
                    })
                })
                .collect()
        };
        Ok(Stats {
            buckets,
            failures_by_reason: labels(&reason_rows)?,
            failures_by_station: labels(&station_rows)?,
        })
    }

    /// Orders that need a person, in `scope`: `failed`, `rejected`, `outcome_unknown`,
    /// `no_record`, and `accepted` / `in_production` unchanged for longer than `q.stuck_after`
    /// (by the server's clock), unless their exception was resolved (it stays in the history).
    /// Newest first, at most `q.limit` (1..=[`MAX_EXCEPTIONS`]).
    pub async fn exceptions(&self, q: &ExceptionQuery, scope: &Scope) -> Result<Vec<LedgerOrder>> {
        if q.limit == 0 || q.limit > MAX_EXCEPTIONS {
            return Err(LedgerError::InvalidQuery(format!(
                "the number of exceptions must be between 1 and {MAX_EXCEPTIONS}"
            )));
        }
        let branches = self.visible_branches(scope.branch.as_ref()).await?;
        if branches.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::default();
        let mut conds = Vec::new();
        if let Some(desk) = &scope.desk {
            conds.push(format!(
                "o.desk_id = {}",
                sql.param(desk.as_str().to_owned())
            ));
        }
        if let Some(since) = q.since {
            conds.push(format!("o.created_at >= {}", sql.param(to_offset(since)?)));
        }
        let stuck = sql.param(q.stuck_after.as_secs_f64());
        conds.push(format!(
            "(o.state IN ('failed', 'rejected', 'outcome_unknown', 'no_record') \
              OR (o.state IN ('accepted', 'in_production') \
                  AND o.updated_at < now() - make_interval(secs => {stuck})))"
        ));
        conds.push(
            "NOT EXISTS (SELECT 1 FROM ledger.exception_events AS x \
             WHERE x.branch_id = o.branch_id AND x.card_id = o.card_id AND x.kind = 'resolved')"
                .to_owned(),
        );
        let limit = sql.param(i64::from(q.limit));
        sql.text = newest_orders(&mut sql, &branches, &conds, &limit);
        let rows = self.client.query(&sql.text, &sql.params()).await?;
        rows.iter().map(LedgerOrder::from_row).collect()
    }
}

//! Chart data for the supervisor: orders per hour or day, failures by reason and by station.

use rusqlite::params;
use serde::{Deserialize, Serialize};

use crate::db::Journal;
use crate::error::{JournalError, Result};
use crate::queries::{FAILURE_STATES, TimeRange};
use crate::types::Timestamp;

/// Most buckets [`Journal::stats`] computes in one call (400 days of hours fit).
pub const MAX_BUCKETS: i64 = 10_000;

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

impl Journal {
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
}

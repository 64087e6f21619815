//! Counter time and the end-of-day balance, over the orders this desk sees.
//!
//! * Counter time: from the order's first `sending` (*Order the card*) to its first `done`
//!   (`CARD_PROD_DONE`), both by the desk's clock (`orders.sent_at` / `done_at`, kept by
//!   `append_events`). Median and 95th percentile per desk, station and day, and the slowest
//!   orders.
//! * End-of-day balance: per station and day, cards issued (done), spoiled and reissued — what a
//!   branch signs at closing.
//!
//! Days are the branch's: the caller gives its offset from UTC in minutes (the window knows it).

use desk_domain::CardId;
use order_journal::{TimeRange, Timestamp};
use serde::Serialize;
use time::OffsetDateTime;

use crate::desk::Ledger;
use crate::error::{LedgerError, Result};
use crate::ids::{BranchId, DeskId};
use crate::report::{Scope, scoped};
use crate::sql::Sql;
use crate::types::{to_offset, to_timestamp};

/// The largest offset from UTC a place has (UTC+14), in minutes.
pub const MAX_UTC_OFFSET_MINUTES: i32 = 14 * 60;
/// Most slowest orders [`Ledger::counter_time`] lists.
pub const MAX_SLOWEST: u32 = 100;
/// The longest period of a counter-time or balance report, in days.
pub const MAX_REPORT_DAYS: i64 = 400;

/// Median and 95th percentile of the counter time of a group of orders.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CounterStat {
    /// The desk, the station or the day (`YYYY-MM-DD`).
    pub key: String,
    /// Orders that reached `done`.
    pub orders: u64,
    /// Median, in milliseconds.
    pub median_ms: f64,
    /// 95th percentile, in milliseconds.
    pub p95_ms: f64,
}

/// One of the slowest orders.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SlowOrder {
    /// The branch.
    pub branch_id: BranchId,
    /// The order.
    pub card_id: CardId,
    /// The desk that ordered it.
    pub desk_id: DeskId,
    /// The station that printed it.
    pub station_id: String,
    /// The teller.
    pub operator: String,
    /// First `sending` (desk clock).
    pub sent_at: Timestamp,
    /// First `done` (desk clock).
    pub done_at: Timestamp,
    /// `done_at - sent_at`, in milliseconds.
    pub counter_ms: i64,
}

/// Counter time over a period.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CounterTime {
    /// All orders of the period.
    pub overall: Option<CounterStat>,
    /// Per desk.
    pub by_desk: Vec<CounterStat>,
    /// Per station.
    pub by_station: Vec<CounterStat>,
    /// Per day (the branch's days), oldest first.
    pub by_day: Vec<CounterStat>,
    /// The slowest orders, slowest first.
    pub slowest: Vec<SlowOrder>,
}

/// Cards of one station on one day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DayBalance {
    /// The branch's day, `YYYY-MM-DD`.
    pub day: String,
    /// The station.
    pub station_id: String,
    /// Orders that reached `done` that day.
    pub issued: u64,
    /// Cards reported spoiled that day.
    pub spoiled: u64,
    /// Reissues (orders replacing a spoiled one) ordered that day.
    pub reissued: u64,
}

fn check_period(range: TimeRange, utc_offset_minutes: i32) -> Result<()> {
    if range.from >= range.to {
        return Err(LedgerError::InvalidQuery(
            "the start of the period must be before its end".to_owned(),
        ));
    }
    if range.to.as_millis() - range.from.as_millis() > MAX_REPORT_DAYS * 86_400_000 {
        return Err(LedgerError::InvalidQuery(format!(
            "the period is longer than {MAX_REPORT_DAYS} days"
        )));
    }
    if utc_offset_minutes.abs() > MAX_UTC_OFFSET_MINUTES {
        return Err(LedgerError::InvalidQuery(
            "the offset from UTC must be within ±14 hours".to_owned(),
        ));
    }
    Ok(())
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// `timestamptz` expression → the branch's day as text.
fn local_day(expr: &str, offset: &str) -> String {
    format!("to_char(({expr} AT TIME ZONE 'UTC') + make_interval(mins => {offset}), 'YYYY-MM-DD')")
}

impl Ledger {
    /// Counter time of the orders created in `range` (in `scope`) that reached `done`:
    /// median and p95 overall, per desk, per station and per day (days shifted by
    /// `utc_offset_minutes`), and the `slowest` (0..=[`MAX_SLOWEST`]) orders.
    pub async fn counter_time(
        &self,
        range: TimeRange,
        utc_offset_minutes: i32,
        slowest: u32,
        scope: &Scope,
    ) -> Result<CounterTime> {
        check_period(range, utc_offset_minutes)?;
        if slowest > MAX_SLOWEST {
            return Err(LedgerError::InvalidQuery(format!(
                "list at most {MAX_SLOWEST} slowest orders"
            )));
        }
        let branches = self.visible_branches(scope.branch.as_ref()).await?;
        let mut sql = Sql::default();
        let cond = scoped(&mut sql, range, &branches, scope)?;
        let offset = sql.param(utc_offset_minutes);
        let day = local_day("o.sent_at", &offset);
        sql.text = format!(
            "WITH t AS ( \
                 SELECT o.desk_id, o.station_id, {day} AS day, \
                        extract(epoch FROM o.done_at - o.sent_at)::float8 * 1000 AS ms \
                 FROM ledger.orders AS o \
                 WHERE {cond} AND o.sent_at IS NOT NULL AND o.done_at >= o.sent_at) \
             SELECT g, key, count(*), \
                    percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), \
                    percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) \
             FROM (SELECT 'all' AS g, '' AS key, ms FROM t \
                   UNION ALL SELECT 'desk', desk_id, ms FROM t \
                   UNION ALL SELECT 'station', station_id, ms FROM t \
                   UNION ALL SELECT 'day', day, ms FROM t) AS x \
             GROUP BY g, key ORDER BY g, key"
        );
        let rows = self.client.query(&sql.text, &sql.params()).await?;
        let mut report = CounterTime {
            overall: None,
            by_desk: Vec::new(),
            by_station: Vec::new(),
            by_day: Vec::new(),
            slowest: Vec::new(),
        };
        for r in &rows {
            let group: String = r.try_get(0)?;
            let stat = CounterStat {
                key: r.try_get(1)?,
                orders: count(r.try_get(2)?),
                median_ms: r.try_get::<_, f64>(3)?.round(),
                p95_ms: r.try_get::<_, f64>(4)?.round(),
            };
            match group.as_str() {
                "all" => report.overall = Some(stat),
                "desk" => report.by_desk.push(stat),
                "station" => report.by_station.push(stat),
                _ => report.by_day.push(stat),
            }
        }

        if slowest > 0 {
            let mut sql = Sql::default();
            let cond = scoped(&mut sql, range, &branches, scope)?;
            let limit = sql.param(i64::from(slowest));
            sql.text = format!(
                "SELECT o.branch_id, o.card_id, o.desk_id, o.station_id, o.operator, o.sent_at, \
                        o.done_at \
                 FROM ledger.orders AS o \
                 WHERE {cond} AND o.sent_at IS NOT NULL AND o.done_at >= o.sent_at \
                 ORDER BY o.done_at - o.sent_at DESC, o.created_at DESC, o.card_id LIMIT {limit}"
            );
            for r in self.client.query(&sql.text, &sql.params()).await? {
                let sent_at = to_timestamp(r.try_get::<_, OffsetDateTime>(5)?);
                let done_at = to_timestamp(r.try_get::<_, OffsetDateTime>(6)?);
                report.slowest.push(SlowOrder {
                    branch_id: BranchId::from_server(r.try_get(0)?),
                    card_id: r.try_get(1)?,
                    desk_id: DeskId::from_server(r.try_get(2)?),
                    station_id: r.try_get(3)?,
                    operator: r.try_get(4)?,
                    sent_at,
                    done_at,
                    counter_ms: done_at.as_millis() - sent_at.as_millis(),
                });
            }
        }
        Ok(report)
    }

    /// The end-of-day balance over `range`: per day (shifted by `utc_offset_minutes`) and
    /// station, cards issued (reached `done` in the period), spoiled (reported in the period)
    /// and reissued (ordered in the period). Days and stations with nothing are left out.
    pub async fn day_balance(
        &self,
        range: TimeRange,
        utc_offset_minutes: i32,
        scope: &Scope,
    ) -> Result<Vec<DayBalance>> {
        check_period(range, utc_offset_minutes)?;
        let branches = self.visible_branches(scope.branch.as_ref()).await?;
        let mut sql = Sql::default();
        let list = sql.param(branches);
        let from = sql.param(to_offset(range.from)?);
        let to = sql.param(to_offset(range.to)?);
        let offset = sql.param(utc_offset_minutes);
        let desk = match &scope.desk {
            Some(desk) => format!(" AND o.desk_id = {}", sql.param(desk.as_str().to_owned())),
            None => String::new(),
        };
        // A card is done or spoiled some time after its order was created: the orders of the
        // month before the period are looked at too (through the branch's time index).
        let created = format!(
            "o.branch_id = ANY({list}::text[]){desk} \
             AND o.created_at >= {from}::timestamptz - interval '31 days' \
             AND o.created_at < {to}"
        );
        let done_day = local_day("o.done_at", &offset);
        let spoiled_day = local_day("o.spoiled_at", &offset);
        let created_day = local_day("o.created_at", &offset);
        sql.text = format!(
            "SELECT day, station_id, sum(issued)::bigint, sum(spoiled)::bigint, \
                    sum(reissued)::bigint \
             FROM ( \
                 SELECT {done_day} AS day, o.station_id, 1 AS issued, 0 AS spoiled, 0 AS reissued \
                 FROM ledger.orders AS o \
                 WHERE {created} AND o.done_at >= {from} AND o.done_at < {to} \
                 UNION ALL \
                 SELECT {spoiled_day}, o.station_id, 0, 1, 0 FROM ledger.orders AS o \
                 WHERE {created} AND o.spoiled_at >= {from} AND o.spoiled_at < {to} \
                 UNION ALL \
                 SELECT {created_day}, o.station_id, 0, 0, 1 FROM ledger.orders AS o \
                 WHERE {created} AND o.created_at >= {from} AND o.reissue_of IS NOT NULL \
             ) AS x GROUP BY day, station_id ORDER BY day, station_id"
        );
        let rows = self.client.query(&sql.text, &sql.params()).await?;
        rows.iter()
            .map(|r| {
                Ok(DayBalance {
                    day: r.try_get(0)?,
                    station_id: r.try_get(1)?,
                    issued: count(r.try_get(2)?),
                    spoiled: count(r.try_get(3)?),
                    reissued: count(r.try_get(4)?),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn range(from: i64, to: i64) -> TimeRange {
        TimeRange {
            from: Timestamp::from_millis(from),
            to: Timestamp::from_millis(to),
        }
    }

    #[test]
    fn periods_and_offsets_are_bounded() {
        let day = 86_400_000;
        assert!(check_period(range(0, day), 0).is_ok());
        assert!(check_period(range(0, MAX_REPORT_DAYS * day), 840).is_ok());
        assert!(check_period(range(0, day), -840).is_ok());
        for (r, offset) in [
            (range(day, day), 0),
            (range(day, 0), 0),
            (range(0, MAX_REPORT_DAYS * day + 1), 0),
            (range(0, day), 841),
            (range(0, day), -841),
        ] {
            assert!(
                matches!(check_period(r, offset), Err(LedgerError::InvalidQuery(_))),
                "{r:?} {offset}"
            );
        }
    }
}

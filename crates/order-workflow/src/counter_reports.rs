//! The supervisor's side of the counter workflows, on the branch ledger: exceptions taken,
//! commented and resolved (the queue shows age and owner), the counter time (from *Order the
//! card* to `CARD_PROD_DONE`: median and p95 per desk, station and day, the slowest orders), and
//! the end-of-day balance of issued and spoiled cards per station (exportable). Without a
//! ledger these return `None` (the window says they need the branch ledger).

use std::io::{BufWriter, Write};
use std::path::Path;

use branch_ledger::{CaseEventKind, Scope};
use desk_domain::CardId;
use order_journal::{ExceptionQuery, TimeRange, Timestamp, csv_safe};
use serde::Serialize;

use crate::branch::ledger_error;
use crate::desk::OrderDesk;
use crate::error::{Refusal, WorkflowError};
use crate::supervisor::{ExportResult, OrderRow};

/// An exception in the supervisor's queue.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ExceptionRow {
    pub order: OrderRow,
    /// Who took it (`None`: nobody yet).
    pub owner: Option<String>,
    /// Since when (ms since the Unix epoch).
    pub taken_at: Option<f64>,
    pub last_comment: Option<String>,
    /// The person at this desk owns it (may resolve it).
    pub is_mine: bool,
}

/// One step of an exception's history.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct CaseStep {
    /// `taken`, `commented` or `resolved`.
    pub kind: String,
    pub operator: String,
    pub desk_id: String,
    pub comment: Option<String>,
    pub at: f64,
}

impl From<branch_ledger::CaseEvent> for CaseStep {
    fn from(s: branch_ledger::CaseEvent) -> Self {
        Self {
            kind: match s.kind {
                CaseEventKind::Taken => "taken",
                CaseEventKind::Commented => "commented",
                CaseEventKind::Resolved => "resolved",
            }
            .to_owned(),
            operator: s.operator,
            desk_id: s.desk_id.as_str().to_owned(),
            comment: s.comment,
            at: s.at.as_millis() as f64,
        }
    }
}

/// Median and p95 of a group of orders, in milliseconds.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct CounterFigure {
    /// The desk, the station or the day (`YYYY-MM-DD`); empty for all orders.
    pub key: String,
    pub orders: u32,
    pub median_ms: f64,
    pub p95_ms: f64,
}

/// One of the slowest orders.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct SlowOrderRow {
    pub card_id: CardId,
    pub desk_id: String,
    pub station_id: String,
    pub operator: String,
    pub sent_at: f64,
    pub done_at: f64,
    pub counter_ms: f64,
}

/// The counter time of a period.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct CounterTimeView {
    pub overall: Option<CounterFigure>,
    pub by_desk: Vec<CounterFigure>,
    pub by_station: Vec<CounterFigure>,
    pub by_day: Vec<CounterFigure>,
    pub slowest: Vec<SlowOrderRow>,
}

/// Cards of one station on one day.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct BalanceRow {
    pub day: String,
    pub station_id: String,
    pub issued: u32,
    pub spoiled: u32,
    pub reissued: u32,
}

/// How many of the slowest orders the counter-time view lists.
const SLOWEST: u32 = 10;

fn count(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn period(from_ms: f64, to_ms: f64) -> Result<TimeRange, WorkflowError> {
    let at = |ms: f64| {
        if ms.is_finite() && ms.abs() < 9.0e15 {
            Ok(Timestamp::from_millis(ms.trunc() as i64))
        } else {
            Err(WorkflowError::Journal(
                order_journal::JournalError::InvalidQuery("the period is not valid".into()),
            ))
        }
    };
    Ok(TimeRange::new(at(from_ms)?, at(to_ms)?)?)
}

fn figure(s: branch_ledger::CounterStat) -> CounterFigure {
    CounterFigure {
        key: s.key,
        orders: count(s.orders),
        median_ms: s.median_ms,
        p95_ms: s.p95_ms,
    }
}

fn same_person(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

impl OrderDesk {
    async fn cases_ledger(&self) -> Result<branch_ledger::Ledger, WorkflowError> {
        self.branch_ledger().await?.ok_or(WorkflowError::Refused {
            code: Refusal::NoLedger,
            message:
                "exceptions are taken and resolved in the branch ledger, and this desk has none"
                    .into(),
        })
    }

    /// The branch's exceptions with their owners (resolved ones left the queue); `None`
    /// without a ledger.
    pub async fn exception_cases(&self) -> Result<Option<Vec<ExceptionRow>>, WorkflowError> {
        let Some(ledger) = self.branch_ledger().await? else {
            return Ok(None);
        };
        let cases = ledger
            .exception_queue(&ExceptionQuery::default(), &Scope::default())
            .await
            .map_err(ledger_error)?;
        Ok(Some(
            cases
                .into_iter()
                .map(|c| ExceptionRow {
                    is_mine: c
                        .owner
                        .as_deref()
                        .is_some_and(|o| same_person(o, self.operator())),
                    owner: c.owner,
                    taken_at: c.taken_at.map(|t| t.as_millis() as f64),
                    last_comment: c.last_comment,
                    order: self.branch_row(c.order),
                })
                .collect(),
        ))
    }

    /// Takes an exception as this desk's person (or takes it over).
    pub async fn take_exception(&self, card_id: &CardId) -> Result<(), WorkflowError> {
        let ledger = self.cases_ledger().await?;
        ledger
            .take_exception(card_id, self.operator())
            .await
            .map_err(ledger_error)?;
        Ok(())
    }

    /// Comments on an open exception.
    pub async fn comment_exception(
        &self,
        card_id: &CardId,
        text: &str,
    ) -> Result<(), WorkflowError> {
        let ledger = self.cases_ledger().await?;
        ledger
            .comment_exception(card_id, self.operator(), text)
            .await
            .map_err(ledger_error)?;
        Ok(())
    }

    /// Resolves an exception this desk's person owns, saying what was done.
    pub async fn resolve_exception(
        &self,
        card_id: &CardId,
        resolution: &str,
    ) -> Result<(), WorkflowError> {
        let ledger = self.cases_ledger().await?;
        ledger
            .resolve_exception(card_id, self.operator(), resolution)
            .await
            .map_err(ledger_error)?;
        Ok(())
    }

    /// The counter time of the orders created in `[from_ms, to_ms)`, days shifted by
    /// `utc_offset_minutes` (the window's zone); `None` without a ledger.
    pub async fn counter_time(
        &self,
        from_ms: f64,
        to_ms: f64,
        utc_offset_minutes: i32,
    ) -> Result<Option<CounterTimeView>, WorkflowError> {
        let range = period(from_ms, to_ms)?;
        let Some(ledger) = self.branch_ledger().await? else {
            return Ok(None);
        };
        let report = ledger
            .counter_time(range, utc_offset_minutes, SLOWEST, &Scope::default())
            .await
            .map_err(ledger_error)?;
        Ok(Some(CounterTimeView {
            overall: report.overall.map(figure),
            by_desk: report.by_desk.into_iter().map(figure).collect(),
            by_station: report.by_station.into_iter().map(figure).collect(),
            by_day: report.by_day.into_iter().map(figure).collect(),
            slowest: report
                .slowest
                .into_iter()
                .map(|o| SlowOrderRow {
                    card_id: o.card_id,
                    desk_id: o.desk_id.as_str().to_owned(),
                    station_id: o.station_id,
                    operator: o.operator,
                    sent_at: o.sent_at.as_millis() as f64,
                    done_at: o.done_at.as_millis() as f64,
                    counter_ms: o.counter_ms as f64,
                })
                .collect(),
        }))
    }

    /// The end-of-day balance over `[from_ms, to_ms)`: issued, spoiled and reissued cards per
    /// station and day; `None` without a ledger.
    pub async fn day_balance(
        &self,
        from_ms: f64,
        to_ms: f64,
        utc_offset_minutes: i32,
    ) -> Result<Option<Vec<BalanceRow>>, WorkflowError> {
        let range = period(from_ms, to_ms)?;
        let Some(ledger) = self.branch_ledger().await? else {
            return Ok(None);
        };
        let rows = ledger
            .day_balance(range, utc_offset_minutes, &Scope::default())
            .await
            .map_err(ledger_error)?;
        Ok(Some(
            rows.into_iter()
                .map(|r| BalanceRow {
                    day: r.day,
                    station_id: r.station_id,
                    issued: count(r.issued),
                    spoiled: count(r.spoiled),
                    reissued: count(r.reissued),
                })
                .collect(),
        ))
    }

    /// Writes the end-of-day balance as CSV into `dir` (a new file, owner-only); `None`
    /// without a ledger.
    pub async fn export_day_balance(
        &self,
        from_ms: f64,
        to_ms: f64,
        utc_offset_minutes: i32,
        dir: &Path,
    ) -> Result<Option<ExportResult>, WorkflowError> {
        let Some(rows) = self.day_balance(from_ms, to_ms, utc_offset_minutes).await? else {
            return Ok(None);
        };
        let dir = dir.to_owned();
        let stamp = crate::supervisor::export_stamp();
        let result = tokio::task::spawn_blocking(move || -> Result<ExportResult, WorkflowError> {
            let export_err =
                |e: String| WorkflowError::Journal(order_journal::JournalError::Export(e));
            std::fs::create_dir_all(&dir).map_err(|e| export_err(e.to_string()))?;
            let (file, path) = crate::supervisor::create_new(&dir, "issuance-desk-balance", &stamp)
                .map_err(|e| export_err(e.to_string()))?;
            let mut w = csv::Writer::from_writer(BufWriter::new(file));
            let written = (|| -> Result<(), csv::Error> {
                w.write_record(["day", "station_id", "issued", "spoiled", "reissued"])?;
                for r in &rows {
                    w.write_record([
                        csv_safe(&r.day),
                        csv_safe(&r.station_id),
                        r.issued.to_string(),
                        r.spoiled.to_string(),
                        r.reissued.to_string(),
                    ])?;
                }
                w.flush()?;
                Ok(())
            })();
            if let Err(e) = written {
                drop(w);
                let _ = std::fs::remove_file(&path);
                return Err(export_err(e.to_string()));
            }
            let mut inner = w.into_inner().map_err(|e| export_err(e.to_string()))?;
            inner.flush().map_err(|e| export_err(e.to_string()))?;
            Ok(ExportResult {
                path: path.display().to_string(),
                orders: u32::try_from(rows.len()).unwrap_or(u32::MAX),
            })
        })
        .await
        .map_err(|e| WorkflowError::Task(e.to_string()))??;
        Ok(Some(result))
    }
}

//! Operation objects, the only thing the sandbox keeps (what D1's productionStatus shows).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::ProductionClock;

/// `details.status` values used by the sandbox.
pub(crate) const REQUESTED: &str = "CARD_PROD_REQUESTED";
pub(crate) const READY: &str = "CARD_PROD_READY";
pub(crate) const DONE: &str = "CARD_PROD_DONE";
pub(crate) const DATA_EXCEPTION: &str = "DATA_EXCEPTION";
pub(crate) const PROD_EXCEPTION: &str = "CARD_PROD_EXCEPTION";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpStatus {
    Pending,
    Successful,
    Failed,
}

impl OpStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Successful => "SUCCESSFUL",
            Self::Failed => "FAILED",
        }
    }
}

pub(crate) struct Operation {
    pub operation_id: String,
    pub card_id: String,
    pub issuer_request_id: Option<String>,
    pub station: String,
    pub start: OffsetDateTime,
    pub started: Instant,
    pub steps: u32,
    pub status: OpStatus,
    pub detail: &'static str,
    pub reason: Option<String>,
    pub end: Option<OffsetDateTime>,
    /// Set when this order was picked by the data-exception fault.
    pub data_exception: Option<String>,
    /// Set when this order was picked by the station-exception fault: the station fails it.
    pub station_exception: Option<String>,
}

impl Operation {
    pub fn new(
        card_id: String,
        issuer_request_id: Option<String>,
        station: String,
        data_exception: Option<String>,
    ) -> Self {
        Self {
            operation_id: uuid::Uuid::new_v4().to_string(),
            card_id,
            issuer_request_id,
            station,
            start: OffsetDateTime::now_utc(),
            started: Instant::now(),
            steps: 0,
            status: OpStatus::Pending,
            detail: REQUESTED,
            reason: None,
            end: None,
            data_exception,
            station_exception: None,
        }
    }

    /// One production step, at time `at`. Station state is read at the moment of the step.
    fn step(&mut self, offline: &HashMap<String, String>, at: OffsetDateTime) {
        if self.status != OpStatus::Pending {
            return;
        }
        self.steps += 1;
        if self.detail == REQUESTED {
            if let Some(reason) = self.data_exception.take() {
                self.fail(DATA_EXCEPTION, reason, at);
            } else {
                self.detail = READY;
            }
        } else if let Some(reason) = offline
            .get(&self.station)
            .cloned()
            .or_else(|| self.station_exception.take())
        {
            self.fail(PROD_EXCEPTION, reason, at);
        } else {
            self.detail = DONE;
            self.status = OpStatus::Successful;
            self.end = Some(at);
        }
    }

    fn fail(&mut self, detail: &'static str, reason: String, at: OffsetDateTime) {
        self.detail = detail;
        self.status = OpStatus::Failed;
        self.reason = Some(reason);
        self.end = Some(at);
    }

    /// Brings the operation up to date with the clock.
    pub fn settle(&mut self, clock: ProductionClock, offline: &HashMap<String, String>) {
        match clock {
            ProductionClock::Stepped => {}
            ProductionClock::Instant => {
                let now = OffsetDateTime::now_utc();
                while self.status == OpStatus::Pending {
                    self.step(offline, now);
                }
            }
            ProductionClock::Interval(interval) => {
                let elapsed = self.started.elapsed();
                let due = elapsed.as_nanos() / interval.as_nanos().max(1);
                while self.status == OpStatus::Pending && u128::from(self.steps) < due {
                    let at = self.start + interval_times(interval, self.steps + 1);
                    self.step(offline, at);
                }
            }
        }
    }

    pub fn is_blocking(&self) -> bool {
        matches!(self.status, OpStatus::Pending | OpStatus::Successful)
    }

    pub fn to_json(&self) -> Value {
        let mut details = json!({ "status": self.detail });
        if let Some(reason) = &self.reason {
            details["reason"] = json!(reason);
        }
        let mut op = json!({
            "operationId": self.operation_id,
            "operation": "PRODUCE",
            "status": self.status.as_str(),
            "startTime": timestamp(self.start),
            "cardId": self.card_id,
            "details": details,
        });
        if let Some(end) = self.end {
            op["endTime"] = json!(timestamp(end));
        }
        if let Some(id) = &self.issuer_request_id {
            op["issuerRequestId"] = json!(id);
        }
        if self.status == OpStatus::Failed {
            op["errorCode"] = json!(self.detail);
            if let Some(reason) = &self.reason {
                op["error"] = json!(reason);
            }
        }
        op
    }
}

fn interval_times(interval: Duration, n: u32) -> Duration {
    interval.saturating_mul(n)
}

fn timestamp(t: OffsetDateTime) -> String {
    // Millisecond precision like D1's examples ("2025-01-17T06:28:02.492Z").
    let t = t
        .replace_nanosecond(t.millisecond() as u32 * 1_000_000)
        .unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}

/// Operations by (issuerId, cardId), oldest first.
#[derive(Default)]
pub(crate) struct Operations {
    by_card: HashMap<(String, String), Vec<Operation>>,
}

impl Operations {
    pub fn for_card_mut(&mut self, issuer_id: &str, card_id: &str) -> Option<&mut Vec<Operation>> {
        self.by_card
            .get_mut(&(issuer_id.to_owned(), card_id.to_owned()))
    }

    pub fn insert(&mut self, issuer_id: &str, op: Operation) {
        self.by_card
            .entry((issuer_id.to_owned(), op.card_id.clone()))
            .or_default()
            .push(op);
    }

    /// Moves every pending operation one step (the stepped clock's tick).
    pub fn advance_all(&mut self, offline: &HashMap<String, String>) {
        let now = OffsetDateTime::now_utc();
        for ops in self.by_card.values_mut() {
            for op in ops.iter_mut() {
                op.step(offline, now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(data_exception: Option<&str>) -> Operation {
        Operation::new(
            "card-1".into(),
            Some("req-1".into()),
            "S1".into(),
            data_exception.map(str::to_owned),
        )
    }

    #[test]
    fn steps_go_requested_ready_done() {
        let mut o = op(None);
        let none = HashMap::new();
        assert_eq!(o.to_json()["details"]["status"], REQUESTED);
        assert_eq!(o.to_json()["status"], "PENDING");
        o.step(&none, OffsetDateTime::now_utc());
        assert_eq!(o.detail, READY);
        assert!(o.to_json().get("endTime").is_none());
        o.step(&none, OffsetDateTime::now_utc());
        let j = o.to_json();
        assert_eq!(j["details"]["status"], DONE);
        assert_eq!(j["status"], "SUCCESSFUL");
        assert!(j["endTime"].as_str().unwrap().ends_with('Z'));
        assert_eq!(j["issuerRequestId"], "req-1");
        o.step(&none, OffsetDateTime::now_utc());
        assert_eq!(o.steps, 2, "a finished operation does not move");
    }

    #[test]
    fn data_exception_fails_at_first_step_and_offline_station_at_second() {
        let none = HashMap::new();
        let mut o = op(Some("bad chip data"));
        o.step(&none, OffsetDateTime::now_utc());
        let j = o.to_json();
        assert_eq!(j["status"], "FAILED");
        assert_eq!(j["details"]["status"], DATA_EXCEPTION);
        assert_eq!(j["details"]["reason"], "bad chip data");
        assert!(!o.is_blocking());

        let offline = HashMap::from([("S1".to_owned(), "printer jammed".to_owned())]);
        let mut o = op(None);
        o.settle(ProductionClock::Instant, &offline);
        let j = o.to_json();
        assert_eq!(j["details"]["status"], PROD_EXCEPTION);
        assert_eq!(j["details"]["reason"], "printer jammed");
        assert_eq!(j["errorCode"], PROD_EXCEPTION);
    }

    #[test]
    fn stepped_clock_does_not_move_by_itself() {
        let mut o = op(None);
        o.settle(ProductionClock::Stepped, &HashMap::new());
        assert_eq!(o.detail, REQUESTED);
        assert!(o.is_blocking());
    }

    #[test]
    fn interval_clock_moves_by_elapsed_time_only() {
        let none = HashMap::new();
        let mut slow = op(None);
        slow.settle(ProductionClock::Interval(Duration::from_secs(3600)), &none);
        assert_eq!(slow.detail, REQUESTED);

        let mut fast = op(None);
        std::thread::sleep(Duration::from_millis(3));
        // At least 3 ms have passed: with a 1 ms step both steps are due.
        fast.settle(ProductionClock::Interval(Duration::from_millis(1)), &none);
        assert_eq!(fast.detail, DONE);
        let end = fast.end.unwrap();
        // The end time is the virtual time of the second step, not "now".
        assert_eq!(end - fast.start, time::Duration::milliseconds(2));
    }
}

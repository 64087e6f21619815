//! Plain data types of the journal: no card data beyond the last 4 digits.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use desk_domain::PanLast4;
use desk_domain::{CardId, ConsumerId, CorrelationId, IssuerRequestId, OperationId};
use serde::{Deserialize, Serialize};

/// A UTC instant, milliseconds since the Unix epoch (what the journal stores).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The current time from the system clock.
    pub fn now() -> Self {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Self(ms)
    }

    /// From milliseconds since the Unix epoch.
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// This instant minus a duration (saturating).
    pub fn minus(self, d: Duration) -> Self {
        Self(self.0.saturating_sub(duration_ms(d)))
    }

    /// This instant plus a duration (saturating).
    pub fn plus(self, d: Duration) -> Self {
        Self(self.0.saturating_add(duration_ms(d)))
    }

    /// RFC 3339 in UTC with milliseconds, e.g. `2026-11-25T01:02:03.456Z`.
    pub fn to_rfc3339(self) -> String {
        let nanos = i128::from(self.0) * 1_000_000;
        match time::OffsetDateTime::from_unix_timestamp_nanos(nanos) {
            Ok(t) => format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
                t.millisecond()
            ),
            Err(_) => self.0.to_string(),
        }
    }
}

pub(crate) fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// The journal's own row id of an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct OrderId(pub(crate) i64);

impl OrderId {
    /// The raw row id.
    pub const fn get(self) -> i64 {
        self.0
    }
}

/// Where an order is in its life. Each state documents what the start-up reconciler must do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// Written before the first byte goes to D1; nothing was sent yet.
    ///
    /// Reconciler: D1 never saw this order. It is safe either to send it with the SAME
    /// `card_id`/`issuer_request_id` (after `mark_sending`) or to `record_abandoned` it.
    /// The card data is gone after a restart, so in practice the teller re-enters it or abandons.
    Intent,
    /// The request is being (or was being) sent; D1 may or may not have received it.
    ///
    /// Reconciler: MUST ask `productionStatus` for the card id before anything else.
    /// Operation found → `record_accepted` (+ `record_production_status`);
    /// 404 → D1 never got it: resend with the same ids (`mark_sending`) or `record_abandoned`.
    Sending,
    /// D1 answered 202 with an operation id.
    ///
    /// Reconciler: poll `productionStatus` and `record_production_status`.
    Accepted,
    /// The connection broke after (part of) the request was sent: D1 may have the order.
    ///
    /// Reconciler: same as [`OrderState::Sending`] — `productionStatus` first, never a blind resend
    /// with new ids.
    OutcomeUnknown,
    /// D1 reports production in progress (`PENDING`, e.g. `CARD_PROD_REQUESTED`, `CARD_PROD_READY`).
    ///
    /// Reconciler: keep polling `productionStatus`.
    InProduction,
    /// Final: the card was personalized (`SUCCESSFUL`, `CARD_PROD_DONE`).
    Done,
    /// Final: D1 reported an exception (`FAILED`: `DATA_EXCEPTION`, `CARD_PROD_EXCEPTION`, …).
    Failed,
    /// Final: D1 refused the request (4xx).
    Rejected,
    /// Final: the order was given up before D1 accepted it. Only from [`OrderState::Intent`]:
    /// nothing of it can have reached D1.
    Abandoned,
    /// D1 still had no record of an order that may have been sent, long after it could have
    /// been processing it: a person must look (the station's output tray) before ordering
    /// again. NOT final: a late answer (202, or an operation found under its card id) still
    /// moves it to [`OrderState::Accepted`], and the app keeps asking.
    NoRecord,
}

impl OrderState {
    /// Every state, in life-cycle order.
    pub const ALL: [OrderState; 10] = [
        Self::Intent,
        Self::Sending,
        Self::Accepted,
        Self::OutcomeUnknown,
        Self::InProduction,
        Self::Done,
        Self::Failed,
        Self::Rejected,
        Self::Abandoned,
        Self::NoRecord,
    ];

    /// The states [`crate::Journal::in_flight`] returns.
    pub const IN_FLIGHT: [OrderState; 6] = [
        Self::Intent,
        Self::Sending,
        Self::Accepted,
        Self::OutcomeUnknown,
        Self::InProduction,
        Self::NoRecord,
    ];

    /// The stored name (`intent`, `outcome_unknown`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Intent => "intent",
            Self::Sending => "sending",
            Self::Accepted => "accepted",
            Self::OutcomeUnknown => "outcome_unknown",
            Self::InProduction => "in_production",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Rejected => "rejected",
            Self::Abandoned => "abandoned",
            Self::NoRecord => "no_record",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// No further change is accepted from a final state.
    pub const fn is_final(self) -> bool {
        matches!(
            self,
            Self::Done | Self::Failed | Self::Rejected | Self::Abandoned
        )
    }
}

impl fmt::Display for OrderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// D1's top-level operation status in `productionStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OperationStatus {
    /// `PENDING` → [`OrderState::InProduction`].
    Pending,
    /// `SUCCESSFUL` → [`OrderState::Done`].
    Successful,
    /// `FAILED` → [`OrderState::Failed`].
    Failed,
}

impl OperationStatus {
    /// Parses D1's spelling (`PENDING`, `SUCCESSFUL`, `FAILED`).
    pub fn from_d1(s: &str) -> Option<Self> {
        match s {
            "PENDING" => Some(Self::Pending),
            "SUCCESSFUL" => Some(Self::Successful),
            "FAILED" => Some(Self::Failed),
            _ => None,
        }
    }

    /// The journal state this status means.
    pub const fn target_state(self) -> OrderState {
        match self {
            Self::Pending => OrderState::InProduction,
            Self::Successful => OrderState::Done,
            Self::Failed => OrderState::Failed,
        }
    }
}

/// The order intent, written by [`crate::Journal::record_intent`] before anything is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOrder {
    /// The OS user at the desk (1–256 printable characters).
    pub operator: String,
    /// D1 consumerId.
    pub consumer_id: ConsumerId,
    /// Card product id from configuration (1–128 printable characters).
    pub product_id: String,
    /// Personalization station id from configuration (1–128 printable characters).
    pub station_id: String,
    /// Issuance type id from configuration (1–128 printable characters).
    pub issuance_type: String,
    /// The last 4 digits of the PAN.
    pub pan_last4: PanLast4,
    /// D1 cardId, generated once per intent (unique in the journal).
    pub card_id: CardId,
    /// issuerRequestId, generated once per intent.
    pub issuer_request_id: IssuerRequestId,
    /// The x-correlation-id sent with the order.
    pub correlation_id: CorrelationId,
}

/// One order as the supervisor list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OrderSummary {
    /// Journal row id.
    pub id: OrderId,
    /// When the intent was recorded.
    pub created_at: Timestamp,
    /// OS user.
    pub operator: String,
    /// D1 consumerId.
    pub consumer_id: ConsumerId,
    /// Card product.
    pub product_id: String,
    /// Station.
    pub station_id: String,
    /// Issuance type.
    pub issuance_type: String,
    /// Last 4 digits of the PAN.
    pub pan_last4: PanLast4,
    /// D1 cardId.
    pub card_id: CardId,
    /// issuerRequestId.
    pub issuer_request_id: IssuerRequestId,
    /// x-correlation-id of the order request.
    pub correlation_id: CorrelationId,
    /// D1 operationId once known.
    pub operation_id: Option<OperationId>,
    /// Journal state.
    pub state: OrderState,
    /// D1's raw `details.status` (may be a value this build does not know).
    pub d1_status: Option<String>,
    /// Machine-readable error code (D1 `errorCode`, HTTP status, or `details.status` of a failure).
    pub error_code: Option<String>,
    /// Plain-text error (long digit runs removed).
    pub error_message: Option<String>,
    /// Last change of state or D1 status.
    pub updated_at: Timestamp,
}

/// One entry of an order's status history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    /// When.
    pub at: Timestamp,
    /// State after the change.
    pub state: OrderState,
    /// D1 `details.status` at that time, if any.
    pub d1_status: Option<String>,
    /// Plain-text detail (reason, error, operation id, …).
    pub detail: Option<String>,
}

/// An order with its full timeline, oldest entry first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OrderDetail {
    /// The order row.
    pub order: OrderSummary,
    /// Status history, oldest first.
    pub history: Vec<HistoryEntry>,
}

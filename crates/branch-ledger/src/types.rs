//! What the ledger returns: orders of the branch, their timelines, desks and their sync state.

use desk_domain::{CardId, ConsumerId, CorrelationId, IssuerRequestId, OperationId};
use order_journal::{OrderState, PanLast4, Timestamp};
use serde::Serialize;
use time::OffsetDateTime;
use tokio_postgres::Row;

use crate::error::{LedgerError, Result};
use crate::ids::{BranchId, DeskId, DeskKind, RegionId};

/// A PostgreSQL `timestamptz` as the journal's millisecond timestamp (sub-milliseconds dropped).
pub(crate) fn to_timestamp(t: OffsetDateTime) -> Timestamp {
    let ms = t.unix_timestamp_nanos().div_euclid(1_000_000);
    Timestamp::from_millis(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// A journal timestamp as `timestamptz`.
pub(crate) fn to_offset(t: Timestamp) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.as_millis()) * 1_000_000)
        .map_err(|_| LedgerError::InvalidQuery("a time is out of range".into()))
}

fn corrupt(column: &str) -> LedgerError {
    LedgerError::Database(format!("the ledger returned an unreadable {column}"))
}

pub(crate) fn parse_state(value: &str) -> Result<OrderState> {
    OrderState::parse(value).ok_or_else(|| corrupt("state"))
}

/// Who this session is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeskIdentity {
    /// The desk's branch.
    pub branch_id: BranchId,
    /// The desk.
    pub desk_id: DeskId,
    /// The branch's region, if it has one.
    pub region_id: Option<RegionId>,
    /// Teller or regional.
    pub kind: DeskKind,
    /// The login role (the certificate's CN).
    pub role_name: String,
}

/// One order as the supervisor list shows it: the journal's masked fields plus branch and desk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LedgerOrder {
    /// The branch of the order.
    pub branch_id: BranchId,
    /// The desk that recorded the intent.
    pub desk_id: DeskId,
    /// When the intent was recorded (the desk's clock).
    pub created_at: Timestamp,
    /// The OS user who ordered the card.
    pub operator: String,
    /// D1 consumerId.
    pub consumer_id: ConsumerId,
    /// Card product.
    pub product_id: String,
    /// Personalization station.
    pub station_id: String,
    /// Issuance type.
    pub issuance_type: String,
    /// The last 4 digits of the PAN.
    pub pan_last4: PanLast4,
    /// D1 cardId.
    pub card_id: CardId,
    /// issuerRequestId.
    pub issuer_request_id: IssuerRequestId,
    /// x-correlation-id of the order request.
    pub correlation_id: CorrelationId,
    /// D1 operationId once known.
    pub operation_id: Option<OperationId>,
    /// The latest state.
    pub state: OrderState,
    /// D1's latest `details.status`.
    pub d1_status: Option<String>,
    /// Error code of a failure, refusal or abandonment.
    pub error_code: Option<String>,
    /// Plain-text error.
    pub error_message: Option<String>,
    /// Time of the latest change (the desk's clock).
    pub updated_at: Timestamp,
}

/// The columns [`LedgerOrder::from_row`] reads, in order.
pub(crate) const ORDER_COLUMNS: &str = "branch_id, desk_id, created_at, operator, consumer_id, \
    product_id, station_id, issuance_type, pan_last4, card_id, issuer_request_id, correlation_id, \
    operation_id, state, d1_status, error_code, error_message, updated_at";

/// [`ORDER_COLUMNS`] qualified with a table alias (`o.branch_id, o.desk_id, …`).
pub(crate) fn order_columns(alias: &str) -> String {
    ORDER_COLUMNS
        .split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl LedgerOrder {
    pub(crate) fn from_row(r: &Row) -> Result<Self> {
        let last4: String = r.try_get(8)?;
        let state: String = r.try_get(13)?;
        Ok(Self {
            branch_id: BranchId::from_server(r.try_get(0)?),
            desk_id: DeskId::from_server(r.try_get(1)?),
            created_at: to_timestamp(r.try_get(2)?),
            operator: r.try_get(3)?,
            consumer_id: r.try_get(4)?,
            product_id: r.try_get(5)?,
            station_id: r.try_get(6)?,
            issuance_type: r.try_get(7)?,
            pan_last4: PanLast4::new(&last4).map_err(|_| corrupt("pan_last4"))?,
            card_id: r.try_get(9)?,
            issuer_request_id: r.try_get(10)?,
            correlation_id: r.try_get(11)?,
            operation_id: r.try_get(12)?,
            state: parse_state(&state)?,
            d1_status: r.try_get(14)?,
            error_code: r.try_get(15)?,
            error_message: r.try_get(16)?,
            updated_at: to_timestamp(r.try_get(17)?),
        })
    }
}

/// One event of an order's timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    /// The desk that appended it.
    pub desk_id: DeskId,
    /// Its sequence number in that desk's stream.
    pub seq: i64,
    /// When it happened (the desk's clock).
    pub at: Timestamp,
    /// When the ledger received it (the server's clock).
    pub received_at: Timestamp,
    /// `intent`, `transition` or `spoiled`.
    pub kind: String,
    /// State after the change.
    pub state: OrderState,
    /// Who caused it.
    pub operator: String,
    /// D1 status at that time, if any.
    pub d1_status: Option<String>,
    /// D1 operationId carried by the change.
    pub operation_id: Option<OperationId>,
    /// Error code carried by the change.
    pub error_code: Option<String>,
    /// Error message carried by the change.
    pub error_message: Option<String>,
    /// Plain-text detail.
    pub detail: Option<String>,
    /// Why the card was spoiled (a `spoiled` event).
    pub reason_code: Option<String>,
}

impl HistoryEntry {
    /// Reads the history columns starting at column `o`: desk_id, seq, at, received_at, kind,
    /// state, operator, d1_status, operation_id, error_code, error_message, detail,
    /// reason_code.
    pub(crate) fn from_row_at(r: &Row, o: usize) -> Result<Self> {
        let state: String = r.try_get(o + 5)?;
        Ok(Self {
            desk_id: DeskId::from_server(r.try_get(o)?),
            seq: r.try_get(o + 1)?,
            at: to_timestamp(r.try_get(o + 2)?),
            received_at: to_timestamp(r.try_get(o + 3)?),
            kind: r.try_get(o + 4)?,
            state: parse_state(&state)?,
            operator: r.try_get(o + 6)?,
            d1_status: r.try_get(o + 7)?,
            operation_id: r.try_get(o + 8)?,
            error_code: r.try_get(o + 9)?,
            error_message: r.try_get(o + 10)?,
            detail: r.try_get(o + 11)?,
            reason_code: r.try_get(o + 12)?,
        })
    }
}

/// An order with its whole timeline (every desk's events), oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OrderDetail {
    /// The order.
    pub order: LedgerOrder,
    /// Its events, by the desks' time (then by arrival).
    pub history: Vec<HistoryEntry>,
    /// The spoiled order this one replaces (a reissue).
    pub reissue_of: Option<CardId>,
    /// When its card was reported spoiled, and why (the reason code).
    pub spoiled: Option<(Timestamp, String)>,
    /// The orders that replace this one, oldest first.
    pub reissued_by: Vec<CardId>,
    /// The approval request of the order, with both names and the comment.
    pub approval: Option<crate::approvals::Approval>,
    /// Its exception's history: taken, commented, resolved.
    pub case: Vec<crate::cases::CaseEvent>,
}

/// Where one desk's stream stands in the ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeskSyncState {
    /// The desk's branch.
    pub branch_id: BranchId,
    /// The desk.
    pub desk_id: DeskId,
    /// Teller or regional.
    pub kind: DeskKind,
    /// The highest sequence number the ledger holds (0: nothing yet).
    pub last_seq: i64,
    /// Time of the desk's latest event (its clock).
    pub last_event_at: Option<Timestamp>,
    /// When the desk last synced (the server's clock; an empty append counts): `None` = never.
    pub last_sync_at: Option<Timestamp>,
}

/// Every desk this session sees, with the server's time to judge staleness against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    /// The server's time when the report was read.
    pub server_time: Timestamp,
    /// The desks, by branch then desk id.
    pub desks: Vec<DeskSyncState>,
}

impl SyncReport {
    /// Milliseconds since `desk` last synced, by the server's clock (`None`: never synced).
    pub fn since_last_sync_ms(&self, desk: &DeskSyncState) -> Option<i64> {
        desk.last_sync_at
            .map(|t| (self.server_time.as_millis() - t.as_millis()).max(0))
    }
}

pub(crate) const SYNC_QUERY: &str = "SELECT s.branch_id, s.desk_id, d.kind, s.last_seq, \
    s.last_event_at, s.last_sync_at, now() \
    FROM ledger.desk_sync AS s JOIN ledger.desks AS d USING (branch_id, desk_id) \
    ORDER BY s.branch_id, s.desk_id";

pub(crate) fn sync_report(rows: &[Row]) -> Result<SyncReport> {
    let mut server_time = None;
    let mut desks = Vec::with_capacity(rows.len());
    for r in rows {
        let kind: String = r.try_get(2)?;
        let last_event_at: Option<OffsetDateTime> = r.try_get(4)?;
        let last_sync_at: Option<OffsetDateTime> = r.try_get(5)?;
        server_time = Some(to_timestamp(r.try_get(6)?));
        desks.push(DeskSyncState {
            branch_id: BranchId::from_server(r.try_get(0)?),
            desk_id: DeskId::from_server(r.try_get(1)?),
            kind: DeskKind::from_server(&kind),
            last_seq: r.try_get(3)?,
            last_event_at: last_event_at.map(to_timestamp),
            last_sync_at: last_sync_at.map(to_timestamp),
        });
    }
    Ok(SyncReport {
        server_time: server_time.unwrap_or_else(Timestamp::now),
        desks,
    })
}

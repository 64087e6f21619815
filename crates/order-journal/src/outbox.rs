//! The outbox of the branch ledger: every change of an order, queued in the same transaction as
//! the change, numbered without gaps, removed once the ledger acknowledged it.
//!
//! The journal stays the desk's crash-safe record; the outbox is what it still owes the ledger.
//! Ordering a card never waits for the ledger: queuing is a row in the journal's own
//! transaction, and pushing happens elsewhere (order-workflow's ledger sync).

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::db::Journal;
use crate::error::{JournalError, Result};
use crate::sanitize::{
    MAX_CODE_CHARS, MAX_MESSAGE_CHARS, check_label, refuse_pan_shaped, scrub_opt,
};
use crate::types::{NewOrder, OrderState, PanLast4, Timestamp};
use desk_domain::{CardId, ConsumerId, CorrelationId, IssuerRequestId, OperationId};

/// Most events [`Journal::outbox_after`] returns at once.
pub const MAX_OUTBOX_BATCH: u32 = 1000;

/// One queued change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEvent {
    /// 1, 2, 3 … without gaps, in the order the changes happened at this desk.
    pub seq: i64,
    /// When the change happened (desk clock).
    pub at: Timestamp,
    pub card_id: CardId,
    /// The OS user whose work caused the change.
    pub operator: String,
    /// The state after the change.
    pub state: OrderState,
    /// The order's labels when this is its intent (its first event); `None` for a transition.
    pub intent: Option<OutboxIntent>,
    /// The card was reported spoiled (`state` is the order's state then); `None` otherwise.
    pub spoiled: Option<OutboxSpoiled>,
    pub d1_status: Option<String>,
    pub operation_id: Option<OperationId>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub detail: Option<String>,
}

/// The labels of a new order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxIntent {
    pub consumer_id: ConsumerId,
    pub product_id: String,
    pub station_id: String,
    pub issuance_type: String,
    pub pan_last4: PanLast4,
    pub issuer_request_id: IssuerRequestId,
    pub correlation_id: CorrelationId,
    /// The spoiled order this one replaces (a reissue).
    pub reissue_of: Option<CardId>,
}

/// A spoiled card: the destruction log's entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxSpoiled {
    /// A code from the configured list.
    pub reason_code: String,
    /// The last 4 digits of the spoiled card.
    pub pan_last4: PanLast4,
}

/// A change of an order this journal does not hold (e.g. D1's answer about another desk's
/// order, asked by a supervisor), queued for the ledger only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForeignChange {
    pub card_id: CardId,
    pub operator: String,
    pub state: OrderState,
    pub d1_status: Option<String>,
    pub operation_id: Option<OperationId>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub detail: Option<String>,
}

/// How much the journal still owes the ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutboxBacklog {
    /// Changes waiting.
    pub count: u64,
    /// When the oldest waiting change happened.
    pub oldest: Option<Timestamp>,
    /// The highest sequence number queued so far (0: none ever).
    pub last_seq: i64,
}

/// The transition row a journal change adds to the outbox (inside the change's transaction).
pub(crate) struct QueuedTransition<'a> {
    pub order_id: i64,
    pub at: i64,
    pub state: OrderState,
    pub d1_status: Option<&'a str>,
    pub error: Option<(Option<&'a str>, Option<&'a str>)>,
    pub detail: Option<&'a str>,
}

pub(crate) fn queue_intent(
    conn: &Connection,
    at: i64,
    order: &NewOrder,
    reissue_of: Option<&CardId>,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO ledger_outbox (at, card_id, operator, kind, state, consumer_id, product_id,
             station_id, issuance_type, pan_last4, issuer_request_id, correlation_id, reissue_of)
         VALUES (?1, ?2, ?3, 'intent', 'intent', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        at,
        order.card_id,
        order.operator,
        order.consumer_id,
        order.product_id,
        order.station_id,
        order.issuance_type,
        order.pan_last4.as_str(),
        order.issuer_request_id,
        order.correlation_id,
        reissue_of,
    ])?;
    Ok(())
}

/// Queues a spoiled card (inside the report's transaction).
pub(crate) fn queue_spoiled(
    conn: &Connection,
    at: i64,
    card_id: &CardId,
    operator: &str,
    state: OrderState,
    spoiled: &OutboxSpoiled,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO ledger_outbox (at, card_id, operator, kind, state, pan_last4, reason_code)
         VALUES (?1, ?2, ?3, 'spoiled', ?4, ?5, ?6)",
    )?
    .execute(params![
        at,
        card_id,
        operator,
        state.as_str(),
        spoiled.pan_last4.as_str(),
        spoiled.reason_code,
    ])?;
    Ok(())
}

/// Queues a transition of a journal order: the operation id and error come from the order row
/// as it is after the change (the same transaction).
pub(crate) fn queue_transition(conn: &Connection, t: &QueuedTransition<'_>) -> Result<()> {
    let (code, message) = match t.error {
        Some((code, message)) => (code, message),
        None => (None, None),
    };
    conn.prepare_cached(
        "INSERT INTO ledger_outbox (at, card_id, operator, kind, state, d1_status, operation_id,
             error_code, error_message, detail)
         SELECT ?2, card_id, operator, 'transition', ?3, ?4, operation_id, ?5, ?6, ?7
         FROM orders WHERE id = ?1",
    )?
    .execute(params![
        t.order_id,
        t.at,
        t.state.as_str(),
        t.d1_status,
        code,
        message,
        t.detail,
    ])?;
    Ok(())
}

/// An outbox row as stored, before its values are checked.
struct StoredEvent {
    seq: i64,
    at: i64,
    card_id: String,
    operator: String,
    kind: String,
    state: String,
    d1_status: Option<String>,
    operation_id: Option<String>,
    error_code: Option<String>,
    error_message: Option<String>,
    detail: Option<String>,
    labels: [Option<String>; 7],
    reissue_of: Option<String>,
    reason_code: Option<String>,
}

fn read_stored(row: &Row<'_>) -> rusqlite::Result<StoredEvent> {
    Ok(StoredEvent {
        seq: row.get(0)?,
        at: row.get(1)?,
        card_id: row.get(2)?,
        operator: row.get(3)?,
        kind: row.get(4)?,
        state: row.get(5)?,
        d1_status: row.get(6)?,
        operation_id: row.get(7)?,
        error_code: row.get(8)?,
        error_message: row.get(9)?,
        detail: row.get(10)?,
        labels: [
            row.get(11)?,
            row.get(12)?,
            row.get(13)?,
            row.get(14)?,
            row.get(15)?,
            row.get(16)?,
            row.get(17)?,
        ],
        reissue_of: row.get(18)?,
        reason_code: row.get(19)?,
    })
}

impl StoredEvent {
    fn checked(self) -> Result<OutboxEvent> {
        let corrupt = |column| JournalError::Corrupt { column };
        let state = OrderState::parse(&self.state).ok_or(corrupt("ledger_outbox.state"))?;
        let spoiled = if self.kind == "spoiled" {
            let last4 = self.labels[4]
                .as_deref()
                .ok_or(corrupt("ledger_outbox.pan_last4"))?;
            Some(OutboxSpoiled {
                reason_code: self
                    .reason_code
                    .clone()
                    .ok_or(corrupt("ledger_outbox.reason_code"))?,
                pan_last4: PanLast4::new(last4).map_err(|_| corrupt("ledger_outbox.pan_last4"))?,
            })
        } else {
            None
        };
        let intent = if self.kind == "intent" {
            let [
                consumer,
                product,
                station,
                issuance,
                last4,
                request,
                correlation,
            ] = self.labels;
            let label = |v: Option<String>| v.ok_or(corrupt("ledger_outbox intent labels"));
            Some(OutboxIntent {
                consumer_id: ConsumerId::parse(label(consumer)?)
                    .map_err(|_| corrupt("ledger_outbox.consumer_id"))?,
                product_id: label(product)?,
                station_id: label(station)?,
                issuance_type: label(issuance)?,
                pan_last4: PanLast4::new(&label(last4)?)
                    .map_err(|_| corrupt("ledger_outbox.pan_last4"))?,
                issuer_request_id: IssuerRequestId::parse(label(request)?)
                    .map_err(|_| corrupt("ledger_outbox.issuer_request_id"))?,
                correlation_id: CorrelationId::parse(label(correlation)?)
                    .map_err(|_| corrupt("ledger_outbox.correlation_id"))?,
                reissue_of: self
                    .reissue_of
                    .map(CardId::parse)
                    .transpose()
                    .map_err(|_| corrupt("ledger_outbox.reissue_of"))?,
            })
        } else {
            None
        };
        Ok(OutboxEvent {
            seq: self.seq,
            at: Timestamp::from_millis(self.at),
            card_id: CardId::parse(self.card_id).map_err(|_| corrupt("ledger_outbox.card_id"))?,
            operator: self.operator,
            state,
            intent,
            spoiled,
            d1_status: self.d1_status,
            operation_id: self
                .operation_id
                .map(OperationId::parse)
                .transpose()
                .map_err(|_| corrupt("ledger_outbox.operation_id"))?,
            error_code: self.error_code,
            error_message: self.error_message,
            detail: self.detail,
        })
    }
}

impl Journal {
    /// The queued changes after `after_seq`, oldest first, at most `limit`
    /// (1..=[`MAX_OUTBOX_BATCH`]).
    pub fn outbox_after(&self, after_seq: i64, limit: u32) -> Result<Vec<OutboxEvent>> {
        if limit == 0 || limit > MAX_OUTBOX_BATCH {
            return Err(JournalError::InvalidQuery(format!(
                "read 1 to {MAX_OUTBOX_BATCH} outbox events at once"
            )));
        }
        self.with_reader(|c| {
            let mut st = c.prepare_cached(
                "SELECT seq, at, card_id, operator, kind, state, d1_status, operation_id,
                     error_code, error_message, detail, consumer_id, product_id, station_id,
                     issuance_type, pan_last4, issuer_request_id, correlation_id, reissue_of,
                     reason_code
                 FROM ledger_outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?;
            let rows = st.query_map(params![after_seq, limit], read_stored)?;
            rows.map(|row| {
                row.map_err(JournalError::from)
                    .and_then(StoredEvent::checked)
            })
            .collect()
        })
    }

    /// The ledger holds every change up to `seq`: they leave the outbox. Returns how many left.
    pub fn outbox_ack(&self, seq: i64) -> Result<u64> {
        self.with_writer(|c| {
            let removed = c
                .prepare_cached("DELETE FROM ledger_outbox WHERE seq <= ?1")?
                .execute([seq])?;
            Ok(removed as u64)
        })
    }

    /// How many changes wait for the ledger, since when, and the last number given.
    pub fn outbox_backlog(&self) -> Result<OutboxBacklog> {
        self.with_reader(|c| {
            let (count, oldest): (i64, Option<i64>) =
                c.query_row("SELECT count(*), min(at) FROM ledger_outbox", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
            let last_seq: Option<i64> = c
                .query_row(
                    "SELECT seq FROM sqlite_sequence WHERE name = 'ledger_outbox'",
                    [],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(OutboxBacklog {
                count: u64::try_from(count).unwrap_or(0),
                oldest: oldest.map(Timestamp::from_millis),
                last_seq: last_seq.unwrap_or(0),
            })
        })
    }

    /// Numbers from `seq` + 1 on: after a reinstall the ledger already holds this desk's events
    /// up to `seq`, and a stream never starts again at 1. No effect when the outbox is past it.
    pub fn outbox_continue_after(&self, seq: i64) -> Result<()> {
        self.with_writer(|c| {
            let tx = c.transaction()?;
            let current: Option<i64> = tx
                .query_row(
                    "SELECT seq FROM sqlite_sequence WHERE name = 'ledger_outbox'",
                    [],
                    |r| r.get(0),
                )
                .optional()?;
            match current {
                Some(current) if current >= seq => {}
                Some(_) => {
                    tx.execute(
                        "UPDATE sqlite_sequence SET seq = ?1 WHERE name = 'ledger_outbox'",
                        [seq],
                    )?;
                }
                None => {
                    tx.execute(
                        "INSERT INTO sqlite_sequence (name, seq) VALUES ('ledger_outbox', ?1)",
                        [seq],
                    )?;
                }
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// Queues a change of an order this journal does not hold (the ledger only).
    pub fn queue_foreign(&self, change: &ForeignChange) -> Result<i64> {
        refuse_pan_shaped("card_id", change.card_id.as_str())?;
        check_label("operator", &change.operator, 256)?;
        if let Some(op) = &change.operation_id {
            refuse_pan_shaped("operation_id", op.as_str())?;
        }
        let d1_status = scrub_opt(change.d1_status.as_deref(), MAX_CODE_CHARS);
        let code = scrub_opt(change.error_code.as_deref(), MAX_CODE_CHARS);
        let message = scrub_opt(change.error_message.as_deref(), MAX_MESSAGE_CHARS);
        let detail = scrub_opt(change.detail.as_deref(), MAX_MESSAGE_CHARS);
        let now = self.now().as_millis();
        self.with_writer(|c| {
            c.prepare_cached(
                "INSERT INTO ledger_outbox (at, card_id, operator, kind, state, d1_status,
                     operation_id, error_code, error_message, detail)
                 VALUES (?1, ?2, ?3, 'transition', ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                now,
                change.card_id,
                change.operator,
                change.state.as_str(),
                d1_status,
                change.operation_id,
                code,
                message,
                detail,
            ])?;
            Ok(c.last_insert_rowid())
        })
    }
}

//! What a desk appends: its journal's order events, numbered by the desk's outbox.
//!
//! The same rules as the journal apply before anything leaves the desk (the journal's own checks
//! are called, not copied): identifiers refuse PAN shapes, free text is scrubbed of long digit
//! runs. The server checks again (ledger.is_d1_id, is_free_text, …).

use desk_domain::{CardId, ConsumerId, CorrelationId, IssuerRequestId, OperationId};
use order_journal::sanitize::{
    MAX_CODE_CHARS, MAX_MESSAGE_CHARS, check_label, check_reason_code, refuse_pan_shaped,
    scrub_free_text,
};
use order_journal::{NewOrder, OrderState, PanLast4, Timestamp};
use serde_json::{Map, Value, json};

use crate::error::{LedgerError, Result};

/// Most events [`crate::Ledger::append`] sends in one call (the server refuses more).
pub const MAX_EVENTS_PER_APPEND: usize = 1000;

/// Earliest event time accepted (2000-01-01T00:00:00Z): anything before is a broken clock.
const MIN_EVENT_MILLIS: i64 = 946_684_800_000;
/// Latest event time accepted (9999-12-31T23:59:59.999Z).
const MAX_EVENT_MILLIS: i64 = 253_402_300_799_999;

/// One event of a desk's stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The desk's sequence number: 1, 2, 3 … without gaps, assigned when the journal change was
    /// queued. The ledger keys the event by (branch, desk, seq).
    pub seq: i64,
    /// When the change happened, by the desk's clock.
    pub at: Timestamp,
    /// The order (D1 cardId).
    pub card_id: CardId,
    /// The OS user at the desk who caused the change (the teller; the supervisor for a refresh).
    pub operator: String,
    /// What happened.
    pub change: Change,
}

/// What happened to the order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// The order was recorded before it was sent (state `intent`): its labels.
    Intent(OrderIntent),
    /// A change of state or of D1's status.
    Transition(Transition),
    /// The card of a finished order was spoiled (misprint, damaged, …): the destruction log.
    Spoiled(Spoiled),
}

/// A spoiled card: why, and the last 4 digits of the card destroyed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spoiled {
    /// The order's state as the desk knows it (`done`, or `failed` after a card was drawn).
    pub state: OrderState,
    /// A code from the configured list (`misprint`, `damaged`, …).
    pub reason_code: String,
    /// The last 4 digits of the spoiled card (the order's).
    pub pan_last4: PanLast4,
}

/// The labels of a new order (everything of the journal's `NewOrder` but the card id and
/// operator, which every event carries).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderIntent {
    /// D1 consumerId.
    pub consumer_id: ConsumerId,
    /// Card product.
    pub product_id: String,
    /// Personalization station.
    pub station_id: String,
    /// Issuance type.
    pub issuance_type: String,
    /// The last 4 digits of the PAN (the only card data the ledger holds).
    pub pan_last4: PanLast4,
    /// issuerRequestId.
    pub issuer_request_id: IssuerRequestId,
    /// The x-correlation-id of the order request.
    pub correlation_id: CorrelationId,
    /// The spoiled order this one replaces (a reissue).
    pub reissue_of: Option<CardId>,
}

/// A change of an order that exists (any state but `intent`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    /// The state after the change (never [`OrderState::Intent`]).
    pub state: OrderState,
    /// D1's `details.status` at that time, if the change carries one.
    pub d1_status: Option<String>,
    /// D1's operationId, once known.
    pub operation_id: Option<OperationId>,
    /// Error code (D1 `errorCode`, HTTP status) of a failure, refusal or abandonment.
    pub error_code: Option<String>,
    /// Plain-text error of a failure, refusal or abandonment.
    pub error_message: Option<String>,
    /// Plain-text detail for the timeline (reason, "resent with the same card id", …).
    pub detail: Option<String>,
}

impl Transition {
    /// A change to `state` with no other detail.
    pub fn new(state: OrderState) -> Self {
        Self {
            state,
            d1_status: None,
            operation_id: None,
            error_code: None,
            error_message: None,
            detail: None,
        }
    }
}

impl Event {
    /// The intent of an order as the journal recorded it.
    pub fn intent(seq: i64, at: Timestamp, order: &NewOrder) -> Self {
        Self {
            seq,
            at,
            card_id: order.card_id.clone(),
            operator: order.operator.clone(),
            change: Change::Intent(OrderIntent {
                consumer_id: order.consumer_id.clone(),
                product_id: order.product_id.clone(),
                station_id: order.station_id.clone(),
                issuance_type: order.issuance_type.clone(),
                pan_last4: order.pan_last4,
                issuer_request_id: order.issuer_request_id.clone(),
                correlation_id: order.correlation_id.clone(),
                reissue_of: None,
            }),
        }
    }

    /// A spoiled card of an existing, finished order.
    pub fn spoiled(
        seq: i64,
        at: Timestamp,
        card_id: &CardId,
        operator: impl Into<String>,
        spoiled: Spoiled,
    ) -> Self {
        Self {
            seq,
            at,
            card_id: card_id.clone(),
            operator: operator.into(),
            change: Change::Spoiled(spoiled),
        }
    }

    /// Marks an intent as the reissue of the spoiled order `spoiled_card_id` (no effect on
    /// other events).
    pub fn reissuing(mut self, spoiled_card_id: &CardId) -> Self {
        if let Change::Intent(intent) = &mut self.change {
            intent.reissue_of = Some(spoiled_card_id.clone());
        }
        self
    }

    /// A transition of an existing order to `state`.
    pub fn transition(
        seq: i64,
        at: Timestamp,
        card_id: &CardId,
        operator: impl Into<String>,
        state: OrderState,
    ) -> Self {
        Self {
            seq,
            at,
            card_id: card_id.clone(),
            operator: operator.into(),
            change: Change::Transition(Transition::new(state)),
        }
    }

    /// Sets the transition's details (no effect on an intent).
    pub fn with(mut self, set: impl FnOnce(&mut Transition)) -> Self {
        if let Change::Transition(t) = &mut self.change {
            set(t);
        }
        self
    }

    /// Checks the event and returns the JSON object the server's `ledger.append_events` takes,
    /// free text scrubbed. Refusals name the field, never the value.
    pub(crate) fn to_wire(&self) -> Result<Value> {
        let seq = self.seq;
        let refuse = |field: &'static str, reason: &str| LedgerError::InvalidEvent {
            seq,
            field,
            reason: reason.to_owned(),
        };
        let journal_rule = |e: order_journal::JournalError| match e {
            order_journal::JournalError::InvalidInput { field, reason } => refuse(field, reason),
            other => refuse("event", &other.to_string()),
        };
        if seq < 1 {
            return Err(refuse("seq", "must be 1 or more"));
        }
        let at = self.at.as_millis();
        if !(MIN_EVENT_MILLIS..=MAX_EVENT_MILLIS).contains(&at) {
            return Err(refuse(
                "at",
                "must be between the years 2000 and 9999 (is the desk's clock right?)",
            ));
        }
        // The ids match D1's patterns by their types; like the journal, nothing PAN-shaped.
        refuse_pan_shaped("card_id", self.card_id.as_str()).map_err(journal_rule)?;
        check_label("operator", &self.operator, 256).map_err(journal_rule)?;
        let mut wire = Map::new();
        wire.insert("seq".into(), json!(seq));
        wire.insert("at".into(), json!(self.at.to_rfc3339()));
        wire.insert("card_id".into(), json!(self.card_id.as_str()));
        wire.insert("operator".into(), json!(self.operator));
        match &self.change {
            Change::Intent(intent) => {
                refuse_pan_shaped("consumer_id", intent.consumer_id.as_str())
                    .map_err(journal_rule)?;
                check_label("product_id", &intent.product_id, 128).map_err(journal_rule)?;
                check_label("station_id", &intent.station_id, 128).map_err(journal_rule)?;
                check_label("issuance_type", &intent.issuance_type, 128).map_err(journal_rule)?;
                refuse_pan_shaped("issuer_request_id", intent.issuer_request_id.as_str())
                    .map_err(journal_rule)?;
                refuse_pan_shaped("correlation_id", intent.correlation_id.as_str())
                    .map_err(journal_rule)?;
                wire.insert("kind".into(), json!("intent"));
                wire.insert("state".into(), json!(OrderState::Intent.as_str()));
                wire.insert("consumer_id".into(), json!(intent.consumer_id.as_str()));
                wire.insert("product_id".into(), json!(intent.product_id));
                wire.insert("station_id".into(), json!(intent.station_id));
                wire.insert("issuance_type".into(), json!(intent.issuance_type));
                wire.insert("pan_last4".into(), json!(intent.pan_last4.as_str()));
                wire.insert(
                    "issuer_request_id".into(),
                    json!(intent.issuer_request_id.as_str()),
                );
                wire.insert(
                    "correlation_id".into(),
                    json!(intent.correlation_id.as_str()),
                );
                if let Some(spoiled) = &intent.reissue_of {
                    refuse_pan_shaped("reissue_of", spoiled.as_str()).map_err(journal_rule)?;
                    if *spoiled == self.card_id {
                        return Err(refuse("reissue_of", "an order cannot replace itself"));
                    }
                    wire.insert("reissue_of".into(), json!(spoiled.as_str()));
                }
            }
            Change::Spoiled(spoiled) => {
                check_reason_code("reason_code", &spoiled.reason_code).map_err(journal_rule)?;
                if !matches!(spoiled.state, OrderState::Done | OrderState::Failed) {
                    return Err(refuse(
                        "state",
                        "only a finished order (done or failed) can be reported spoiled",
                    ));
                }
                wire.insert("kind".into(), json!("spoiled"));
                wire.insert("state".into(), json!(spoiled.state.as_str()));
                wire.insert("reason_code".into(), json!(spoiled.reason_code));
                wire.insert("pan_last4".into(), json!(spoiled.pan_last4.as_str()));
            }
            Change::Transition(t) => {
                // A transition to `intent` is the journal's "not sent": the attempt certainly
                // did not leave the desk. The order's labels come only with Change::Intent.
                let state = t.state;
                if let Some(op) = &t.operation_id {
                    refuse_pan_shaped("operation_id", op.as_str()).map_err(journal_rule)?;
                }
                wire.insert("kind".into(), json!("transition"));
                wire.insert("state".into(), json!(state.as_str()));
                let texts = [
                    ("d1_status", &t.d1_status, MAX_CODE_CHARS),
                    ("error_code", &t.error_code, MAX_CODE_CHARS),
                    ("error_message", &t.error_message, MAX_MESSAGE_CHARS),
                    ("detail", &t.detail, MAX_MESSAGE_CHARS),
                ];
                for (name, value, max) in texts {
                    if let Some(text) = value.as_deref().map(|v| scrub_free_text(v, max))
                        && !text.is_empty()
                    {
                        wire.insert(name.into(), json!(text));
                    }
                }
                if let Some(op) = &t.operation_id {
                    wire.insert("operation_id".into(), json!(op.as_str()));
                }
            }
        }
        Ok(Value::Object(wire))
    }
}

/// Checks a batch (each event, and seq strictly increasing by one) and returns its JSON array.
pub(crate) fn batch_to_wire(events: &[Event]) -> Result<Value> {
    if events.len() > MAX_EVENTS_PER_APPEND {
        return Err(LedgerError::InvalidEvent {
            seq: 0,
            field: "events",
            reason: format!("at most {MAX_EVENTS_PER_APPEND} events can be appended at once"),
        });
    }
    let mut out = Vec::with_capacity(events.len());
    for pair in events.windows(2) {
        if pair[1].seq != pair[0].seq + 1 {
            return Err(LedgerError::InvalidEvent {
                seq: pair[1].seq,
                field: "seq",
                reason: format!(
                    "must follow {} in the same batch (in order, without gaps)",
                    pair[0].seq
                ),
            });
        }
    }
    for event in events {
        out.push(event.to_wire()?);
    }
    Ok(Value::Array(out))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    const CANARY: &str = "4000056655665556";

    fn order() -> NewOrder {
        NewOrder {
            operator: "jane".into(),
            consumer_id: ConsumerId::parse("C-42").unwrap(),
            product_id: "VISA_CLASSIC".into(),
            station_id: "STATION-1".into(),
            issuance_type: "NEW".into(),
            pan_last4: PanLast4::new("5556").unwrap(),
            card_id: card(),
            issuer_request_id: IssuerRequestId::parse("req-1").unwrap(),
            correlation_id: CorrelationId::parse("corr-1").unwrap(),
        }
    }

    fn id(s: &str) -> CardId {
        CardId::parse(s).unwrap()
    }

    fn card() -> CardId {
        CardId::parse("card-1").unwrap()
    }

    fn at() -> Timestamp {
        Timestamp::from_millis(1_764_000_000_123)
    }

    #[test]
    fn an_intent_carries_the_order_labels_and_only_the_last_4() {
        let wire = Event::intent(1, at(), &order()).to_wire().unwrap();
        assert_eq!(wire["kind"], "intent");
        assert_eq!(wire["state"], "intent");
        assert_eq!(wire["pan_last4"], "5556");
        assert_eq!(wire["at"], "2025-11-24T16:00:00.123Z");
        assert_eq!(wire["consumer_id"], "C-42");
        assert!(wire.get("detail").is_none());
    }

    #[test]
    fn free_text_is_scrubbed_and_ids_refuse_pan_shapes_without_echoing_them() {
        let event = Event::transition(2, at(), &card(), "jane", OrderState::Failed).with(|t| {
            t.error_message = Some(format!("card {CANARY} refused"));
            t.detail = Some("   ".into());
            t.d1_status = Some("DATA_EXCEPTION".into());
        });
        let wire = event.to_wire().unwrap().to_string();
        assert!(!wire.contains(CANARY), "{wire}");
        assert!(wire.contains("[number removed]"));
        assert!(
            !wire.contains("\"detail\""),
            "blank text is not sent: {wire}"
        );

        let mut bad = order();
        bad.consumer_id = ConsumerId::parse(CANARY).unwrap();
        let e = Event::intent(1, at(), &bad).to_wire().unwrap_err();
        assert!(e.to_string().contains("consumer_id"), "{e}");
        assert!(!e.to_string().contains(CANARY));
        let e = Event::transition(3, at(), &card(), "jane", OrderState::Accepted)
            .with(|t| t.operation_id = Some(OperationId::parse(format!("op-{CANARY}")).unwrap()))
            .to_wire()
            .unwrap_err();
        assert!(
            e.to_string().contains("event 3 was refused: operation_id"),
            "{e}"
        );
    }

    #[test]
    fn boundaries_of_seq_time_and_labels() {
        assert!(Event::intent(0, at(), &order()).to_wire().is_err());
        assert!(Event::intent(i64::MAX, at(), &order()).to_wire().is_ok());
        assert!(
            Event::intent(1, Timestamp::from_millis(MIN_EVENT_MILLIS - 1), &order())
                .to_wire()
                .is_err()
        );
        assert!(
            Event::intent(1, Timestamp::from_millis(MIN_EVENT_MILLIS), &order())
                .to_wire()
                .is_ok()
        );
        let mut long = order();
        long.operator = "o".repeat(256);
        assert!(Event::intent(1, at(), &long).to_wire().is_ok());
        long.operator = "o".repeat(257);
        assert!(Event::intent(1, at(), &long).to_wire().is_err());
        let text = Event::transition(2, at(), &card(), "jane", OrderState::Rejected)
            .with(|t| t.error_message = Some("x".repeat(5000)))
            .to_wire()
            .unwrap();
        assert_eq!(
            text["error_message"].as_str().unwrap().chars().count(),
            MAX_MESSAGE_CHARS
        );
    }

    #[test]
    fn a_transition_back_to_intent_is_the_journals_not_sent() {
        let event = Event::transition(2, at(), &card(), "jane", OrderState::Intent)
            .with(|t| t.detail = Some("not sent: connection".into()));
        let wire = event.to_wire().unwrap();
        assert_eq!(wire["kind"], "transition");
        assert_eq!(wire["state"], "intent");
        assert!(
            wire.get("consumer_id").is_none(),
            "labels come only with the intent"
        );
    }

    #[test]
    fn a_spoiled_card_carries_its_reason_and_last_4_and_a_reissue_its_original() {
        let spoiled = Spoiled {
            state: OrderState::Done,
            reason_code: "misprint".into(),
            pan_last4: PanLast4::new("5556").unwrap(),
        };
        let wire = Event::spoiled(3, at(), &id("card-1"), "jane", spoiled.clone())
            .to_wire()
            .unwrap();
        assert_eq!(wire["kind"], "spoiled");
        assert_eq!(wire["state"], "done");
        assert_eq!(wire["reason_code"], "misprint");
        assert_eq!(wire["pan_last4"], "5556");
        assert!(wire.get("consumer_id").is_none());

        for (state, reason, field) in [
            (OrderState::InProduction, "misprint", "state"),
            (OrderState::Rejected, "misprint", "state"),
            (OrderState::Done, "Misprint", "reason_code"),
            (OrderState::Done, "", "reason_code"),
        ] {
            let e = Event::spoiled(
                3,
                at(),
                &id("card-1"),
                "jane",
                Spoiled {
                    state,
                    reason_code: reason.into(),
                    ..spoiled.clone()
                },
            )
            .to_wire()
            .unwrap_err();
            assert!(e.to_string().contains(field), "{e}");
        }

        let mut reissue = order();
        reissue.card_id = id("card-2");
        let wire = Event::intent(4, at(), &reissue)
            .reissuing(&id("card-1"))
            .to_wire()
            .unwrap();
        assert_eq!(wire["reissue_of"], "card-1");
        assert!(
            Event::intent(4, at(), &reissue)
                .reissuing(&id("card-2"))
                .to_wire()
                .is_err()
        );
        assert!(
            Event::intent(4, at(), &reissue)
                .reissuing(&id(CANARY))
                .to_wire()
                .is_err()
        );
        // Only an intent can be a reissue.
        let t = Event::transition(5, at(), &id("card-2"), "jane", OrderState::Sending)
            .reissuing(&id("card-1"));
        assert!(t.to_wire().unwrap().get("reissue_of").is_none());
    }

    #[test]
    fn a_batch_must_be_consecutive_and_bounded() {
        let events = [
            Event::intent(5, at(), &order()),
            Event::transition(6, at(), &card(), "jane", OrderState::Sending),
        ];
        assert_eq!(batch_to_wire(&events).unwrap().as_array().unwrap().len(), 2);
        let gap = [
            Event::intent(5, at(), &order()),
            Event::transition(7, at(), &card(), "jane", OrderState::Sending),
        ];
        assert!(
            batch_to_wire(&gap)
                .unwrap_err()
                .to_string()
                .contains("without gaps")
        );
        let many: Vec<Event> = (1..=1001)
            .map(|s| Event::transition(s, at(), &card(), "jane", OrderState::Sending))
            .collect();
        assert!(batch_to_wire(&many).is_err());
        assert!(batch_to_wire(&many[..1000]).is_ok());
        assert_eq!(batch_to_wire(&[]).unwrap(), Value::Array(vec![]));
    }
}

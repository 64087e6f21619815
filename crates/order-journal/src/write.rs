//! The write API: the order's life, one validated transition at a time.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::db::{Journal, PreSendSync};
use crate::error::{JournalError, Result};
use crate::sanitize::{
    MAX_CODE_CHARS, MAX_MESSAGE_CHARS, check_label, refuse_pan_shaped, scrub_free_text, scrub_opt,
};
use crate::types::{NewOrder, OperationStatus, OrderId, OrderState};
use desk_domain::{CardId, OperationId};

/// Current row of an order, as the transition checks need it.
struct Current {
    id: i64,
    state: OrderState,
    operation_id: Option<String>,
    d1_status: Option<String>,
    /// The state before the current one (from the history), if any.
    previous: Option<OrderState>,
}

impl Current {
    /// The order is being sent for the first time since it was last certainly not at D1: the
    /// history ends `…, intent, sending`. Only then can a failure of this attempt prove that D1
    /// does not have the order.
    fn first_attempt(&self) -> bool {
        self.state == OrderState::Sending && self.previous == Some(OrderState::Intent)
    }
}

/// What a transition writes.
struct Change<'a> {
    to: OrderState,
    d1_status: Option<Option<String>>,
    error: Option<(Option<String>, Option<String>)>,
    operation_id: Option<&'a str>,
    detail: Option<String>,
}

impl Change<'_> {
    fn to(state: OrderState) -> Self {
        Self {
            to: state,
            d1_status: None,
            error: None,
            operation_id: None,
            detail: None,
        }
    }
}

fn load(conn: &Connection, card_id: &CardId) -> Result<Current> {
    let row = conn
        .query_row(
            "SELECT id, state, operation_id, d1_status FROM orders WHERE card_id = ?1",
            [card_id],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            },
        )
        .optional()?;
    let Some((id, state, operation_id, d1_status)) = row else {
        return Err(JournalError::NotFound {
            card_id: card_id.to_string(),
        });
    };
    let state = OrderState::parse(&state).ok_or(JournalError::Corrupt { column: "state" })?;
    let previous: Option<String> = conn
        .query_row(
            "SELECT state FROM order_events WHERE order_id = ?1
             ORDER BY at DESC, id DESC LIMIT 1 OFFSET 1",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    let previous = match previous {
        Some(p) => Some(OrderState::parse(&p).ok_or(JournalError::Corrupt {
            column: "order_events.state",
        })?),
        None => None,
    };
    Ok(Current {
        id,
        state,
        operation_id,
        d1_status,
        previous,
    })
}

fn refuse(card_id: &CardId, from: OrderState, to: OrderState, hint: &'static str) -> JournalError {
    JournalError::InvalidTransition {
        card_id: card_id.to_string(),
        from,
        to,
        hint,
    }
}

const HINT_FINAL: &str = "the order is finished; a new order needs a new card id";

impl Journal {
    /// Records a new order before anything is sent to D1 and commits it before returning: it
    /// survives a crash of the app. It is made power-cut-safe by the fsync of
    /// [`Journal::mark_sending`], which comes before the first byte goes to D1: a power cut
    /// before that can only lose an intent that was never sent. State: [`OrderState::Intent`].
    ///
    /// Refuses invalid identifiers ([`JournalError::InvalidInput`], naming the field but never
    /// its value) and a card id already in the journal ([`JournalError::DuplicateCardId`]).
    pub fn record_intent(&self, order: &NewOrder) -> Result<OrderId> {
        self.record_intent_of(order, None)
    }

    /// [`Journal::record_intent`] of a reissue: the new order replaces `reissue_of`, a spoiled
    /// order (when it is in this journal it must have been reported spoiled; another desk's
    /// order is the caller's to check, in the ledger).
    pub(crate) fn record_intent_of(
        &self,
        order: &NewOrder,
        reissue_of: Option<&CardId>,
    ) -> Result<OrderId> {
        check_label("operator", &order.operator, 256)?;
        check_label("product_id", &order.product_id, 128)?;
        check_label("station_id", &order.station_id, 128)?;
        check_label("issuance_type", &order.issuance_type, 128)?;
        // The ids match D1's patterns by their types; what their types cannot say is that a
        // random id must never look like a card number.
        refuse_pan_shaped("consumer_id", order.consumer_id.as_str())?;
        refuse_pan_shaped("card_id", order.card_id.as_str())?;
        refuse_pan_shaped("issuer_request_id", order.issuer_request_id.as_str())?;
        refuse_pan_shaped("correlation_id", order.correlation_id.as_str())?;
        let now = self.now().as_millis();
        let durable = self.pre_send_sync == PreSendSync::Both;
        self.with_durable_writer(durable, |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let exists: Option<i64> = tx
                .query_row(
                    "SELECT id FROM orders WHERE card_id = ?1",
                    [&order.card_id],
                    |r| r.get(0),
                )
                .optional()?;
            if exists.is_some() {
                return Err(JournalError::DuplicateCardId {
                    card_id: order.card_id.to_string(),
                });
            }
            if let Some(original) = reissue_of {
                crate::spoiled::check_reissue(&tx, &order.card_id, original)?;
            }
            tx.prepare_cached(
                "INSERT INTO orders (created_at, operator, consumer_id, product_id, station_id,
                     issuance_type, pan_last4, card_id, issuer_request_id, correlation_id, state,
                     updated_at, reissue_of)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'intent', ?1, ?11)",
            )?
            .execute(params![
                now,
                order.operator,
                order.consumer_id,
                order.product_id,
                order.station_id,
                order.issuance_type,
                order.pan_last4.as_str(),
                order.card_id,
                order.issuer_request_id,
                order.correlation_id,
                reissue_of,
            ])?;
            let id = tx.last_insert_rowid();
            tx.prepare_cached(
                "INSERT INTO order_events (order_id, at, state) VALUES (?1, ?2, 'intent')",
            )?
            .execute(params![id, now])?;
            crate::outbox::queue_intent(&tx, now, order, reissue_of)?;
            tx.commit()?;
            Ok(OrderId(id))
        })
    }

    /// The request is about to be sent (first attempt, a retry after a 503/timeout, or a resend
    /// with the same ids after `productionStatus` answered 404). Allowed from `Intent`, `Sending`,
    /// `OutcomeUnknown` and `NoRecord`. Committed durably (fsynced, with every earlier commit such
    /// as the intent) before returning, so an order found in `Intent` at start was really never
    /// sent, even after a power cut.
    pub fn mark_sending(&self, card_id: &CardId) -> Result<()> {
        self.transition_durable(card_id, |cur| match cur.state {
            OrderState::Intent => Ok(Some(Change::to(OrderState::Sending))),
            OrderState::Sending | OrderState::OutcomeUnknown | OrderState::NoRecord => {
                Ok(Some(Change {
                    detail: Some("resent with the same card id".to_owned()),
                    ..Change::to(OrderState::Sending)
                }))
            }
            from => Err(refuse(
                card_id,
                from,
                OrderState::Sending,
                if from.is_final() {
                    HINT_FINAL
                } else {
                    "D1 already accepted this order; never send it again"
                },
            )),
        })
    }

    /// D1 answered 202 with `operation_id` — or the reconciler found the operation in
    /// `productionStatus`. Allowed from `Sending`, `OutcomeUnknown` and `NoRecord` (a late answer
    /// always wins). Repeating it with the same operation id is a no-op in any later state; a
    /// different operation id is refused.
    pub fn record_accepted(&self, card_id: &CardId, operation_id: &OperationId) -> Result<()> {
        refuse_pan_shaped("operation_id", operation_id.as_str())?;
        let operation_id = operation_id.as_str();
        self.transition(card_id, |cur| {
            if let Some(known) = &cur.operation_id {
                return if known == operation_id {
                    Ok(None)
                } else {
                    Err(JournalError::OperationIdMismatch {
                        card_id: card_id.to_string(),
                    })
                };
            }
            match cur.state {
                OrderState::Sending | OrderState::OutcomeUnknown | OrderState::NoRecord => {
                    Ok(Some(Change {
                        operation_id: Some(operation_id),
                        detail: Some(format!("operation {operation_id}")),
                        ..Change::to(OrderState::Accepted)
                    }))
                }
                from => Err(refuse(
                    card_id,
                    from,
                    OrderState::Accepted,
                    if from.is_final() {
                        HINT_FINAL
                    } else {
                        "mark the order as sending before recording D1's answer"
                    },
                )),
            }
        })
    }

    /// The connection broke after the request was (maybe) sent. Allowed from `Sending`; a no-op
    /// when already `OutcomeUnknown`. `detail` is plain text (e.g. "timeout after 30 s").
    pub fn record_outcome_unknown(&self, card_id: &CardId, detail: &str) -> Result<()> {
        let detail = scrub_opt(Some(detail), MAX_MESSAGE_CHARS);
        self.transition(card_id, |cur| match cur.state {
            OrderState::Sending => Ok(Some(Change {
                detail,
                ..Change::to(OrderState::OutcomeUnknown)
            })),
            OrderState::OutcomeUnknown => Ok(None),
            from => Err(refuse(
                card_id,
                from,
                OrderState::OutcomeUnknown,
                "only an order being sent can have an unknown outcome",
            )),
        })
    }

    /// D1 has no record of an order that may have been sent, after the grace period the desk
    /// allows it (`detail` says how long, in plain text). Allowed from `Sending` and
    /// `OutcomeUnknown`; a no-op when already `NoRecord`. Not final: see [`OrderState::NoRecord`].
    pub fn record_no_record(&self, card_id: &CardId, detail: &str) -> Result<()> {
        let detail = scrub_opt(Some(detail), MAX_MESSAGE_CHARS);
        self.transition(card_id, |cur| match cur.state {
            OrderState::Sending | OrderState::OutcomeUnknown => Ok(Some(Change {
                error: Some((Some("no_record".to_owned()), detail.clone())),
                detail: detail.clone(),
                ..Change::to(OrderState::NoRecord)
            })),
            OrderState::NoRecord => Ok(None),
            from => Err(refuse(
                card_id,
                from,
                OrderState::NoRecord,
                "only an order that may have been sent can lack a record at D1",
            )),
        })
    }

    /// The attempt being sent certainly did not reach D1 (no connection could be opened, the
    /// TLS handshake failed): the order goes back to `Intent`, which says nothing of it is at
    /// D1. Allowed only on a first attempt (history `…, intent, sending`): after an attempt that
    /// may have reached D1, the outcome stays unknown whatever later attempts do. Durable.
    pub fn record_not_sent(&self, card_id: &CardId, detail: &str) -> Result<()> {
        let detail = scrub_opt(Some(detail), MAX_MESSAGE_CHARS);
        self.transition_durable(card_id, |cur| {
            if cur.first_attempt() {
                Ok(Some(Change {
                    detail: detail.clone(),
                    ..Change::to(OrderState::Intent)
                }))
            } else {
                Err(refuse(
                    card_id,
                    cur.state,
                    OrderState::Intent,
                    "an earlier attempt may have reached D1: ask productionStatus instead",
                ))
            }
        })
    }

    /// A `productionStatus` result for an accepted order: `top_level` picks the state
    /// (PENDING → `InProduction`, SUCCESSFUL → `Done`, FAILED → `Failed`), `d1_status` is D1's raw
    /// `details.status` (unknown values are stored as they come), `reason` is `details.reason`.
    ///
    /// Allowed from `Accepted` and `InProduction`; repeating the final result is a no-op; polling
    /// the same status again adds no history entry. From `Sending`/`OutcomeUnknown`, call
    /// [`Journal::record_accepted`] with the operation id first. Returns the resulting state.
    pub fn record_production_status(
        &self,
        card_id: &CardId,
        d1_status: &str,
        top_level: OperationStatus,
        reason: Option<&str>,
    ) -> Result<OrderState> {
        let status = scrub_free_text(d1_status, MAX_CODE_CHARS);
        if status.is_empty() {
            return Err(JournalError::InvalidInput {
                field: "d1_status",
                reason: "it is empty",
            });
        }
        let reason = scrub_opt(reason, MAX_MESSAGE_CHARS);
        let to = top_level.target_state();
        let mut result = to;
        self.transition(card_id, |cur| {
            let same_status = cur.d1_status.as_deref() == Some(status.as_str());
            match cur.state {
                OrderState::Accepted | OrderState::InProduction => {
                    if cur.state == to && same_status {
                        return Ok(None);
                    }
                    let error =
                        (to == OrderState::Failed).then(|| (Some(status.clone()), reason.clone()));
                    Ok(Some(Change {
                        d1_status: Some(Some(status.clone())),
                        error,
                        detail: reason.clone(),
                        ..Change::to(to)
                    }))
                }
                from if from.is_final() && from == to && same_status => {
                    result = from;
                    Ok(None)
                }
                from if from.is_final() => Err(refuse(card_id, from, to, HINT_FINAL)),
                from => Err(refuse(
                    card_id,
                    from,
                    to,
                    "record_accepted with the operation id from productionStatus first",
                )),
            }
        })?;
        Ok(result)
    }

    /// D1 refused the request (4xx): `code` is D1's `errorCode` or the HTTP status, `message` is
    /// plain text for the supervisor. Final, so allowed only on a first attempt (history
    /// `…, intent, sending`): a refusal of a resend may be D1's duplicate guard protecting an
    /// earlier attempt that got through.
    pub fn record_rejected(&self, card_id: &CardId, code: &str, message: &str) -> Result<()> {
        let code = scrub_opt(Some(code), MAX_CODE_CHARS);
        let message = scrub_opt(Some(message), MAX_MESSAGE_CHARS);
        self.transition(card_id, |cur| {
            if cur.first_attempt() {
                Ok(Some(Change {
                    error: Some((code.clone(), message.clone())),
                    detail: message.clone().or_else(|| code.clone()),
                    ..Change::to(OrderState::Rejected)
                }))
            } else {
                Err(refuse(
                    card_id,
                    cur.state,
                    OrderState::Rejected,
                    "only a first attempt can be refused for good; an earlier attempt may have \
                     reached D1: ask productionStatus",
                ))
            }
        })
    }

    /// The order is given up before anything of it was sent. Allowed from `Intent` only: an
    /// order that may have reached D1 is never closed as "not made" by the desk.
    pub fn record_abandoned(&self, card_id: &CardId, reason: &str) -> Result<()> {
        let reason = scrub_opt(Some(reason), MAX_MESSAGE_CHARS);
        self.transition(card_id, |cur| match cur.state {
            OrderState::Intent => Ok(Some(Change {
                error: Some((None, reason.clone())),
                detail: reason.clone(),
                ..Change::to(OrderState::Abandoned)
            })),
            from => Err(refuse(
                card_id,
                from,
                OrderState::Abandoned,
                if from.is_final() {
                    HINT_FINAL
                } else {
                    "D1 may have this order: follow it with productionStatus instead"
                },
            )),
        })
    }

    /// [`Journal::transition`], fsynced before returning.
    fn transition_durable<'a>(
        &self,
        card_id: &CardId,
        decide: impl FnOnce(&Current) -> Result<Option<Change<'a>>>,
    ) -> Result<()> {
        let durable = self.pre_send_sync != PreSendSync::Neither;
        self.with_durable_writer(durable, |conn| self.transition_on(conn, card_id, decide))
    }

    /// Loads the order, asks `decide` for the change (`None` = nothing to do), applies it and its
    /// history entry in one transaction (crash-safe; not fsynced).
    fn transition<'a>(
        &self,
        card_id: &CardId,
        decide: impl FnOnce(&Current) -> Result<Option<Change<'a>>>,
    ) -> Result<()> {
        self.with_writer(|conn| self.transition_on(conn, card_id, decide))
    }

    fn transition_on<'a>(
        &self,
        conn: &mut rusqlite::Connection,
        card_id: &CardId,
        decide: impl FnOnce(&Current) -> Result<Option<Change<'a>>>,
    ) -> Result<()> {
        let now = self.now().as_millis();
        {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let cur = load(&tx, card_id)?;
            let Some(change) = decide(&cur)? else {
                return Ok(());
            };
            let d1_status = change.d1_status.clone().unwrap_or(cur.d1_status.clone());
            let (code_set, code, message) = match &change.error {
                Some((c, m)) => (true, c.clone(), m.clone()),
                None => (false, None, None),
            };
            tx.prepare_cached(
                "UPDATE orders SET state = ?2, d1_status = ?3, updated_at = ?4,
                     operation_id = COALESCE(?5, operation_id),
                     error_code = CASE WHEN ?6 THEN ?7 ELSE error_code END,
                     error_message = CASE WHEN ?6 THEN ?8 ELSE error_message END
                 WHERE id = ?1",
            )?
            .execute(params![
                cur.id,
                change.to.as_str(),
                d1_status,
                now,
                change.operation_id,
                code_set,
                code,
                message,
            ])?;
            tx.prepare_cached(
                "INSERT INTO order_events (order_id, at, state, d1_status, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                cur.id,
                now,
                change.to.as_str(),
                change.d1_status.clone().flatten(),
                change.detail
            ])?;
            crate::outbox::queue_transition(
                &tx,
                &crate::outbox::QueuedTransition {
                    order_id: cur.id,
                    at: now,
                    state: change.to,
                    d1_status: change.d1_status.as_ref().and_then(|s| s.as_deref()),
                    error: change
                        .error
                        .as_ref()
                        .map(|(code, message)| (code.as_deref(), message.as_deref())),
                    detail: change.detail.as_deref(),
                },
            )?;
            tx.commit()?;
            Ok(())
        }
    }
}

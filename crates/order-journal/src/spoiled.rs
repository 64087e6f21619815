//! Spoiled cards and reissues: the destruction log of this desk's orders and the link of a
//! reissue to the spoiled order it replaces. Each report is one transaction: the order row, its
//! history and the ledger's outbox change together.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::db::Journal;
use crate::error::{JournalError, Result};
use crate::outbox::OutboxSpoiled;
use crate::sanitize::{check_label, check_reason_code, refuse_pan_shaped};
use crate::types::{NewOrder, OrderId, OrderState, PanLast4, Timestamp};
use desk_domain::CardId;

/// A card of another desk's order reported spoiled at this desk (the ledger only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForeignSpoiled {
    /// The order.
    pub card_id: CardId,
    /// Who reports it.
    pub operator: String,
    /// The order's state as the ledger shows it (`done` or `failed`).
    pub state: OrderState,
    /// A code from the configured list.
    pub reason_code: String,
    /// The order's last 4 digits.
    pub pan_last4: PanLast4,
}

/// An order's place in the spoiled → reissue chain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CounterLinks {
    /// The spoiled order this one replaces.
    pub reissue_of: Option<CardId>,
    /// When its card was reported spoiled, and why.
    pub spoiled: Option<(Timestamp, String)>,
    /// The orders of this journal that replace it, oldest first.
    pub reissued_by: Vec<CardId>,
}

/// Whether a card of an order in `state` can have been drawn from stock and spoiled.
pub fn can_be_spoiled(state: OrderState) -> bool {
    matches!(state, OrderState::Done | OrderState::Failed)
}

/// A reissue must replace a spoiled order: checked when the original is in this journal.
pub(crate) fn check_reissue(conn: &Connection, card_id: &CardId, original: &CardId) -> Result<()> {
    refuse_pan_shaped("reissue_of", original.as_str())?;
    if original == card_id {
        return Err(JournalError::SpoiledRule {
            card_id: card_id.to_string(),
            reason: "an order cannot replace itself",
        });
    }
    let spoiled: Option<Option<i64>> = conn
        .query_row(
            "SELECT spoiled_at FROM orders WHERE card_id = ?1",
            [original],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(None) = spoiled {
        return Err(JournalError::SpoiledRule {
            card_id: original.to_string(),
            reason: "a reissue must replace a card reported spoiled: report it spoiled first",
        });
    }
    Ok(())
}

impl Journal {
    /// Records that the card of a finished order (`done`, or `failed` after a card may have
    /// been drawn) was spoiled, by `operator`, for `reason_code`; queued for the ledger with the
    /// order's last 4 digits. Refused: an order not finished or already spoiled
    /// ([`JournalError::SpoiledRule`]), an unknown order ([`JournalError::NotFound`]).
    pub fn record_spoiled(
        &self,
        card_id: &CardId,
        operator: &str,
        reason_code: &str,
    ) -> Result<()> {
        check_label("operator", operator, 256)?;
        check_reason_code("reason_code", reason_code)?;
        let now = self.now().as_millis();
        self.with_writer(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let row = tx
                .query_row(
                    "SELECT id, state, pan_last4, spoiled_at FROM orders WHERE card_id = ?1",
                    [card_id],
                    |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, Option<i64>>(3)?,
                        ))
                    },
                )
                .optional()?;
            let Some((id, state, last4, spoiled_at)) = row else {
                return Err(JournalError::NotFound {
                    card_id: card_id.to_string(),
                });
            };
            let state =
                OrderState::parse(&state).ok_or(JournalError::Corrupt { column: "state" })?;
            let refuse = |reason| JournalError::SpoiledRule {
                card_id: card_id.to_string(),
                reason,
            };
            if !can_be_spoiled(state) {
                return Err(refuse(
                    "only a finished order (done or failed) can be reported spoiled",
                ));
            }
            if spoiled_at.is_some() {
                return Err(refuse("this card was already reported spoiled"));
            }
            let pan_last4 = PanLast4::new(&last4).map_err(|_| JournalError::Corrupt {
                column: "pan_last4",
            })?;
            tx.prepare_cached(
                "UPDATE orders SET spoiled_at = ?2, spoiled_reason = ?3 WHERE id = ?1",
            )?
            .execute(params![id, now, reason_code])?;
            tx.prepare_cached(
                "INSERT INTO order_events (order_id, at, state, detail) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                id,
                now,
                state.as_str(),
                format!("spoiled: {reason_code} (reported by {operator})")
            ])?;
            crate::outbox::queue_spoiled(
                &tx,
                now,
                card_id,
                operator,
                state,
                &OutboxSpoiled {
                    reason_code: reason_code.to_owned(),
                    pan_last4,
                },
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    /// Queues a spoiled card of an order this journal does not hold (another desk's, as the
    /// ledger shows it) for the ledger, which checks it again.
    pub fn queue_foreign_spoiled(&self, report: &ForeignSpoiled) -> Result<()> {
        refuse_pan_shaped("card_id", report.card_id.as_str())?;
        check_label("operator", &report.operator, 256)?;
        check_reason_code("reason_code", &report.reason_code)?;
        if !can_be_spoiled(report.state) {
            return Err(JournalError::SpoiledRule {
                card_id: report.card_id.to_string(),
                reason: "only a finished order (done or failed) can be reported spoiled",
            });
        }
        let now = self.now().as_millis();
        self.with_writer(|conn| {
            crate::outbox::queue_spoiled(
                conn,
                now,
                &report.card_id,
                &report.operator,
                report.state,
                &OutboxSpoiled {
                    reason_code: report.reason_code.clone(),
                    pan_last4: report.pan_last4,
                },
            )
        })
    }

    /// [`Journal::record_intent`] of a reissue of the spoiled order `reissue_of`.
    pub fn record_reissue_intent(&self, order: &NewOrder, reissue_of: &CardId) -> Result<OrderId> {
        self.record_intent_of(order, Some(reissue_of))
    }

    /// Where an order of this journal stands in the spoiled → reissue chain.
    pub fn counter_links(&self, card_id: &CardId) -> Result<CounterLinks> {
        self.with_reader(|c| {
            let row = c
                .query_row(
                    "SELECT reissue_of, spoiled_at, spoiled_reason FROM orders WHERE card_id = ?1",
                    [card_id],
                    |r| {
                        Ok((
                            r.get::<_, Option<CardId>>(0)?,
                            r.get::<_, Option<i64>>(1)?,
                            r.get::<_, Option<String>>(2)?,
                        ))
                    },
                )
                .optional()?;
            let Some((reissue_of, spoiled_at, reason)) = row else {
                return Err(JournalError::NotFound {
                    card_id: card_id.to_string(),
                });
            };
            let mut st = c.prepare_cached(
                "SELECT card_id FROM orders WHERE reissue_of = ?1 ORDER BY created_at, id",
            )?;
            let reissued_by = st
                .query_map([card_id], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<CardId>>>()?;
            Ok(CounterLinks {
                reissue_of,
                spoiled: spoiled_at
                    .zip(reason)
                    .map(|(at, reason)| (Timestamp::from_millis(at), reason)),
                reissued_by,
            })
        })
    }
}

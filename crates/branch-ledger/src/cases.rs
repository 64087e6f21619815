//! Exceptions that get resolved: a person of the branch takes an exception (or takes it over),
//! anyone comments, its owner resolves it with what was done. Resolved cases leave the queue
//! ([`Ledger::exceptions`]) and stay in the history. The ledger's functions enforce the rules.

use desk_domain::CardId;
use order_journal::sanitize::{check_label, refuse_pan_shaped};
use order_journal::{ExceptionQuery, Timestamp};
use serde::Serialize;
use tokio_postgres::Row;

use crate::approvals::{journal_rule, person_text, refuse};
use crate::desk::Ledger;
use crate::error::{LedgerError, Result};
use crate::ids::{BranchId, DeskId};
use crate::report::Scope;
use crate::types::{LedgerOrder, to_timestamp};

/// What happened to an exception.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseEventKind {
    /// Someone took it (the latest taker owns it).
    Taken,
    /// Someone commented.
    Commented,
    /// Its owner resolved it.
    Resolved,
}

/// One step of an exception's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CaseEvent {
    /// What happened.
    pub kind: CaseEventKind,
    /// Who.
    pub operator: String,
    /// From which desk.
    pub desk_id: DeskId,
    /// The comment or the resolution.
    pub comment: Option<String>,
    /// When (server clock).
    pub at: Timestamp,
}

/// An exception in the queue: the order, its owner and how much was said.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExceptionCase {
    /// The order.
    pub order: LedgerOrder,
    /// Who took it (`None`: nobody yet).
    pub owner: Option<String>,
    /// Since when they own it.
    pub taken_at: Option<Timestamp>,
    /// The latest comment.
    pub last_comment: Option<String>,
}

fn case_event(r: &Row) -> Result<CaseEvent> {
    let kind: String = r.try_get(0)?;
    Ok(CaseEvent {
        kind: match kind.as_str() {
            "taken" => CaseEventKind::Taken,
            "commented" => CaseEventKind::Commented,
            "resolved" => CaseEventKind::Resolved,
            _ => {
                return Err(LedgerError::Database(
                    "the ledger returned an unknown exception event".into(),
                ));
            }
        },
        operator: r.try_get(1)?,
        desk_id: DeskId::from_server(r.try_get(2)?),
        comment: r.try_get(3)?,
        at: to_timestamp(r.try_get(4)?),
    })
}

fn check_step(card_id: &CardId, operator: &str) -> Result<()> {
    refuse_pan_shaped("card_id", card_id.as_str()).map_err(journal_rule)?;
    check_label("operator", operator, 256).map_err(journal_rule)
}

impl Ledger {
    /// Takes the exception of an order of this desk's branch as `operator` (taking it over from
    /// its owner is allowed and recorded). Refused: a done order ([`crate::Rule::NotAnException`]),
    /// a resolved case ([`crate::Rule::Resolved`]), an order the branch does not have
    /// ([`LedgerError::UnknownOrder`]). Returns when it was taken.
    pub async fn take_exception(&self, card_id: &CardId, operator: &str) -> Result<Timestamp> {
        check_step(card_id, operator)?;
        let row = self
            .client
            .query_one(
                "SELECT ledger.take_exception($1, $2)",
                &[&card_id.as_str(), &operator],
            )
            .await?;
        Ok(to_timestamp(row.try_get(0)?))
    }

    /// Adds a comment to an open exception (anyone of the branch).
    pub async fn comment_exception(
        &self,
        card_id: &CardId,
        operator: &str,
        comment: &str,
    ) -> Result<Timestamp> {
        check_step(card_id, operator)?;
        let comment = person_text(Some(comment))
            .ok_or_else(|| refuse("comment", "a comment needs some text"))?;
        let row = self
            .client
            .query_one(
                "SELECT ledger.comment_exception($1, $2, $3)",
                &[&card_id.as_str(), &operator, &comment],
            )
            .await?;
        Ok(to_timestamp(row.try_get(0)?))
    }

    /// Resolves an exception with what was done; only its owner may
    /// ([`crate::Rule::NotOwner`]: take it first).
    pub async fn resolve_exception(
        &self,
        card_id: &CardId,
        operator: &str,
        resolution: &str,
    ) -> Result<Timestamp> {
        check_step(card_id, operator)?;
        let resolution = person_text(Some(resolution))
            .ok_or_else(|| refuse("resolution", "say what was done to resolve the exception"))?;
        let row = self
            .client
            .query_one(
                "SELECT ledger.resolve_exception($1, $2, $3)",
                &[&card_id.as_str(), &operator, &resolution],
            )
            .await?;
        Ok(to_timestamp(row.try_get(0)?))
    }

    /// The exception history of an order (taken, commented, resolved), oldest first.
    pub async fn case_history(
        &self,
        branch: &BranchId,
        card_id: &CardId,
    ) -> Result<Vec<CaseEvent>> {
        let rows = self
            .client
            .query(
                "SELECT kind, operator, desk_id, comment, at FROM ledger.exception_events \
                 WHERE branch_id = $1 AND card_id = $2 ORDER BY event_id",
                &[&branch.as_str(), &card_id.as_str()],
            )
            .await?;
        rows.iter().map(case_event).collect()
    }

    /// The exceptions queue ([`Ledger::exceptions`]: resolved cases left it) with each case's
    /// owner and latest comment.
    pub async fn exception_queue(
        &self,
        q: &ExceptionQuery,
        scope: &Scope,
    ) -> Result<Vec<ExceptionCase>> {
        let orders = self.exceptions(q, scope).await?;
        if orders.is_empty() {
            return Ok(Vec::new());
        }
        let branches: Vec<&str> = orders.iter().map(|o| o.branch_id.as_str()).collect();
        let cards: Vec<&str> = orders.iter().map(|o| o.card_id.as_str()).collect();
        let rows = self
            .client
            .query(
                "SELECT k.branch_id, k.card_id, t.operator, t.at, c.comment \
                 FROM unnest($1::text[], $2::text[]) AS k(branch_id, card_id) \
                 LEFT JOIN LATERAL (SELECT x.operator, x.at FROM ledger.exception_events AS x \
                     WHERE x.branch_id = k.branch_id AND x.card_id = k.card_id \
                       AND x.kind = 'taken' ORDER BY x.event_id DESC LIMIT 1) AS t ON true \
                 LEFT JOIN LATERAL (SELECT x.comment FROM ledger.exception_events AS x \
                     WHERE x.branch_id = k.branch_id AND x.card_id = k.card_id \
                       AND x.comment IS NOT NULL ORDER BY x.event_id DESC LIMIT 1) AS c ON true",
                &[&branches, &cards],
            )
            .await?;
        let mut owners = std::collections::HashMap::with_capacity(rows.len());
        for r in &rows {
            let key: (String, CardId) = (r.try_get(0)?, r.try_get(1)?);
            let taken_at: Option<time::OffsetDateTime> = r.try_get(3)?;
            owners.insert(
                key,
                (
                    r.try_get::<_, Option<String>>(2)?,
                    taken_at.map(to_timestamp),
                    r.try_get::<_, Option<String>>(4)?,
                ),
            );
        }
        Ok(orders
            .into_iter()
            .map(|order| {
                let key = (order.branch_id.as_str().to_owned(), order.card_id.clone());
                let (owner, taken_at, last_comment) = owners.remove(&key).unwrap_or_default();
                ExceptionCase {
                    order,
                    owner,
                    taken_at,
                    last_comment,
                }
            })
            .collect())
    }
}

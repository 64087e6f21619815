//! Dual control: a teller asks for a second person's approval of the order it holds, a person
//! at any desk of the branch approves or declines it. The ledger's functions enforce the rules
//! (the approver is never the requester, no decision after expiry, one decision only); this
//! module checks the values first and reads the requests back.
//!
//! Only the masked summary reaches the ledger: the card data stays in the teller's process.

use std::time::Duration;

use desk_domain::{CardId, ConsumerId};
use order_journal::sanitize::{MAX_MESSAGE_CHARS, check_label, refuse_pan_shaped, scrub_free_text};
use order_journal::{PanLast4, Timestamp};
use serde::Serialize;
use tokio_postgres::Row;

use crate::desk::Ledger;
use crate::error::{LedgerError, Result};
use crate::ids::{BranchId, DeskId};
use crate::types::to_timestamp;

/// The shortest approval timeout the ledger accepts.
pub const MIN_APPROVAL_TIMEOUT: Duration = Duration::from_secs(1);
/// The longest approval timeout the ledger accepts: no request stays open for ever.
pub const MAX_APPROVAL_TIMEOUT: Duration = Duration::from_secs(86_400);
/// Most requests [`Ledger::approvals`] returns.
pub const MAX_APPROVALS: u32 = 500;

/// A teller's request for approval: the masked summary of the order it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovalRequest {
    /// The card id the order will be sent with (generated once for the teller's intent).
    pub card_id: CardId,
    /// The teller (OS user) asking.
    pub operator: String,
    /// D1 consumerId.
    pub consumer_id: ConsumerId,
    /// Card product.
    pub product_id: String,
    /// Personalization station.
    pub station_id: String,
    /// Issuance type (e.g. `REPLACEMENT`).
    pub issuance_type: String,
    /// The last 4 digits of the PAN: the only card data the request holds.
    pub pan_last4: PanLast4,
    /// Why, typed by the teller (free text: long digit runs are removed).
    pub reason: String,
    /// How long the request stays open (the desk's configuration).
    pub timeout: Duration,
}

/// What the second person decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The order may be sent.
    Approve,
    /// The order must not be sent.
    Decline,
}

impl Decision {
    fn as_sql(self) -> &'static str {
        match self {
            Self::Approve => "approved",
            Self::Decline => "declined",
        }
    }
}

/// Where a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalStatus {
    /// Open: waiting for a decision.
    Pending,
    /// Approved by another person: the teller's desk sends the order.
    Approved,
    /// Declined: the order is not sent.
    Declined,
    /// Withdrawn by the requesting desk.
    Canceled,
    /// Nobody decided in time: the order is not sent.
    Expired,
}

impl ApprovalStatus {
    fn parse(value: &str) -> Result<Self> {
        Ok(match value {
            "pending" => Self::Pending,
            "approved" => Self::Approved,
            "declined" => Self::Declined,
            "canceled" => Self::Canceled,
            "expired" => Self::Expired,
            _ => {
                return Err(LedgerError::Database(
                    "the ledger returned an unknown approval status".into(),
                ));
            }
        })
    }

    /// Whether the request has ended (anything but pending).
    pub fn is_final(self) -> bool {
        self != Self::Pending
    }
}

/// A request with its decision, as the ledger holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Approval {
    /// The branch.
    pub branch_id: BranchId,
    /// The requesting desk.
    pub desk_id: DeskId,
    /// The card id the order will use.
    pub card_id: CardId,
    /// The teller who asked.
    pub requested_by: String,
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
    /// The teller's reason.
    pub reason: String,
    /// When the ledger received the request (server clock).
    pub requested_at: Timestamp,
    /// When it expires (server clock).
    pub expires_at: Timestamp,
    /// Where it stands.
    pub status: ApprovalStatus,
    /// Who decided (or canceled).
    pub decided_by: Option<String>,
    /// The desk the decision came from.
    pub decided_desk: Option<DeskId>,
    /// The approver's comment.
    pub comment: Option<String>,
    /// When it was decided (server clock).
    pub decided_at: Option<Timestamp>,
    /// The server's time when this was read: `expires_at - server_time` is how long it stays
    /// open, whatever the desk's clock says.
    pub server_time: Timestamp,
}

impl Approval {
    /// How long the request stays open, by the server's clock (zero once expired or ended).
    pub fn remaining(&self) -> Duration {
        if self.status.is_final() {
            return Duration::ZERO;
        }
        let ms = self.expires_at.as_millis() - self.server_time.as_millis();
        Duration::from_millis(u64::try_from(ms).unwrap_or(0))
    }
}

const APPROVAL_COLUMNS: &str = "branch_id, desk_id, card_id, requested_by, consumer_id, \
    product_id, station_id, issuance_type, pan_last4, reason, requested_at, expires_at, status, \
    decided_by, decided_desk, comment, decided_at, now()";

fn from_row(r: &Row) -> Result<Approval> {
    let last4: String = r.try_get(8)?;
    let status: String = r.try_get(12)?;
    let decided_desk: Option<String> = r.try_get(14)?;
    let decided_at: Option<time::OffsetDateTime> = r.try_get(16)?;
    Ok(Approval {
        branch_id: BranchId::from_server(r.try_get(0)?),
        desk_id: DeskId::from_server(r.try_get(1)?),
        card_id: r.try_get(2)?,
        requested_by: r.try_get(3)?,
        consumer_id: r.try_get(4)?,
        product_id: r.try_get(5)?,
        station_id: r.try_get(6)?,
        issuance_type: r.try_get(7)?,
        pan_last4: PanLast4::new(&last4).map_err(|_| {
            LedgerError::Database("the ledger returned an unreadable pan_last4".into())
        })?,
        reason: r.try_get(9)?,
        requested_at: to_timestamp(r.try_get(10)?),
        expires_at: to_timestamp(r.try_get(11)?),
        status: ApprovalStatus::parse(&status)?,
        decided_by: r.try_get(13)?,
        decided_desk: decided_desk.map(DeskId::from_server),
        comment: r.try_get(15)?,
        decided_at: decided_at.map(to_timestamp),
        server_time: to_timestamp(r.try_get(17)?),
    })
}

/// A refusal of a value before anything is sent (never repeating the value).
pub(crate) fn refuse(field: &'static str, reason: impl Into<String>) -> LedgerError {
    LedgerError::InvalidEvent {
        seq: 0,
        field,
        reason: reason.into(),
    }
}

pub(crate) fn journal_rule(e: order_journal::JournalError) -> LedgerError {
    match e {
        order_journal::JournalError::InvalidInput { field, reason } => refuse(field, reason),
        other => refuse("value", other.to_string()),
    }
}

/// Free text a person typed: scrubbed of long digit runs and control characters; `None` when
/// nothing is left.
pub(crate) fn person_text(text: Option<&str>) -> Option<String> {
    text.map(|t| scrub_free_text(t, MAX_MESSAGE_CHARS))
        .filter(|t| !t.is_empty())
}

impl ApprovalRequest {
    fn check(&self) -> Result<String> {
        refuse_pan_shaped("card_id", self.card_id.as_str()).map_err(journal_rule)?;
        check_label("operator", &self.operator, 256).map_err(journal_rule)?;
        refuse_pan_shaped("consumer_id", self.consumer_id.as_str()).map_err(journal_rule)?;
        check_label("product_id", &self.product_id, 128).map_err(journal_rule)?;
        check_label("station_id", &self.station_id, 128).map_err(journal_rule)?;
        check_label("issuance_type", &self.issuance_type, 128).map_err(journal_rule)?;
        if !(MIN_APPROVAL_TIMEOUT..=MAX_APPROVAL_TIMEOUT).contains(&self.timeout) {
            return Err(refuse(
                "timeout",
                "the approval timeout must be between 1 second and 1 day",
            ));
        }
        person_text(Some(&self.reason))
            .ok_or_else(|| refuse("reason", "say why the order needs an approval"))
    }
}

impl Ledger {
    /// Asks the branch for a second person's approval of the order this desk holds. Returns the
    /// stored request (the same request again returns it unchanged; another request for the
    /// same card id is [`LedgerError::Conflict`]; a card id the branch already ordered is
    /// [`LedgerError::DuplicateOrder`]).
    pub async fn request_approval(&self, request: &ApprovalRequest) -> Result<Approval> {
        let reason = request.check()?;
        let timeout = i32::try_from(request.timeout.as_secs()).unwrap_or(i32::MAX);
        self.client
            .query_one(
                "SELECT requested_at FROM ledger.request_approval($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[
                    &request.card_id,
                    &request.operator,
                    &request.consumer_id,
                    &request.product_id,
                    &request.station_id,
                    &request.issuance_type,
                    &request.pan_last4.as_str(),
                    &reason,
                    &timeout,
                ],
            )
            .await?;
        self.stored_approval(&request.card_id).await
    }

    /// Approves or declines a request of this desk's branch as `operator`, with an optional
    /// comment. Refused by the ledger ([`LedgerError::Refused`]): the operator asked for it
    /// ([`crate::Rule::SelfApproval`]), it expired, it was already decided, there is no such
    /// request. The same decision again by the same person returns the stored one.
    pub async fn decide_approval(
        &self,
        card_id: &CardId,
        operator: &str,
        decision: Decision,
        comment: Option<&str>,
    ) -> Result<Approval> {
        refuse_pan_shaped("card_id", card_id.as_str()).map_err(journal_rule)?;
        check_label("operator", operator, 256).map_err(journal_rule)?;
        let comment = person_text(comment);
        self.client
            .query_one(
                "SELECT ledger.decide_approval($1, $2, $3, $4)",
                &[&card_id.as_str(), &operator, &decision.as_sql(), &comment],
            )
            .await?;
        self.stored_approval(card_id).await
    }

    /// Withdraws this desk's request (the teller canceled or left). Nothing changes for a
    /// request that already expired or was canceled; a decided one is refused.
    pub async fn cancel_approval(&self, card_id: &CardId, operator: &str) -> Result<Approval> {
        refuse_pan_shaped("card_id", card_id.as_str()).map_err(journal_rule)?;
        check_label("operator", operator, 256).map_err(journal_rule)?;
        self.client
            .execute(
                "SELECT ledger.cancel_approval($1, $2)",
                &[&card_id.as_str(), &operator],
            )
            .await?;
        self.stored_approval(card_id).await
    }

    /// The request for `card_id` in this desk's branch, if any.
    pub async fn approval(&self, card_id: &CardId) -> Result<Option<Approval>> {
        let branch = self.identity().branch_id.clone();
        self.approval_in(&branch, card_id).await
    }

    /// The request for `card_id` in `branch` (one this desk sees), if any.
    pub(crate) async fn approval_in(
        &self,
        branch: &BranchId,
        card_id: &CardId,
    ) -> Result<Option<Approval>> {
        let row = self
            .client
            .query_opt(
                &format!(
                    "SELECT {APPROVAL_COLUMNS} FROM ledger.approvals \
                     WHERE branch_id = $1 AND card_id = $2"
                ),
                &[&branch.as_str(), &card_id.as_str()],
            )
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    async fn stored_approval(&self, card_id: &CardId) -> Result<Approval> {
        self.approval(card_id).await?.ok_or_else(|| {
            LedgerError::Database("the approval request is not readable after writing it".into())
        })
    }

    /// The requests of these orders in this desk's branch (for an export), in no particular
    /// order; at most [`MAX_APPROVALS`] card ids at once.
    pub async fn approvals_of(&self, card_ids: &[CardId]) -> Result<Vec<Approval>> {
        if card_ids.len() > MAX_APPROVALS as usize {
            return Err(LedgerError::InvalidQuery(format!(
                "ask for at most {MAX_APPROVALS} orders' approvals at once"
            )));
        }
        let card_ids: Vec<&str> = card_ids.iter().map(CardId::as_str).collect();
        let rows = self
            .client
            .query(
                &format!(
                    "SELECT {APPROVAL_COLUMNS} FROM ledger.approvals \
                     WHERE branch_id = $1 AND card_id = ANY($2::text[])"
                ),
                &[&self.identity().branch_id.as_str(), &card_ids],
            )
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// This branch's requests, newest first: only the open ones (`pending_only`, for the
    /// Approvals view and its badge), or every request since `since`. At most `limit`
    /// (1..=[`MAX_APPROVALS`]).
    pub async fn approvals(
        &self,
        pending_only: bool,
        since: Option<Timestamp>,
        limit: u32,
    ) -> Result<Vec<Approval>> {
        if limit == 0 || limit > MAX_APPROVALS {
            return Err(LedgerError::InvalidQuery(format!(
                "the number of approvals must be between 1 and {MAX_APPROVALS}"
            )));
        }
        let since = since.map(crate::types::to_offset).transpose()?;
        let rows = self
            .client
            .query(
                &format!(
                    "SELECT {APPROVAL_COLUMNS} FROM ledger.approvals \
                     WHERE branch_id = $1 \
                       AND (NOT $2 OR (decided_at IS NULL AND expires_at > now())) \
                       AND ($3::timestamptz IS NULL OR requested_at >= $3) \
                     ORDER BY requested_at DESC, card_id DESC LIMIT $4"
                ),
                &[
                    &self.identity().branch_id.as_str(),
                    &pending_only,
                    &since,
                    &i64::from(limit),
                ],
            )
            .await?;
        rows.iter().map(from_row).collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn request() -> ApprovalRequest {
        ApprovalRequest {
            card_id: CardId::parse("card-1").unwrap(),
            operator: "jane".into(),
            consumer_id: ConsumerId::parse("C-1").unwrap(),
            product_id: "VISA_CLASSIC".into(),
            station_id: "STATION-1".into(),
            issuance_type: "REPLACEMENT".into(),
            pan_last4: PanLast4::new("5556").unwrap(),
            reason: "card stolen".into(),
            timeout: Duration::from_secs(300),
        }
    }

    #[test]
    fn a_request_needs_a_reason_sane_timeout_and_no_card_number() {
        assert_eq!(request().check().unwrap(), "card stolen");
        for (change, field) in [
            (
                (|r: &mut ApprovalRequest| r.reason = " \n ".into()) as fn(&mut ApprovalRequest),
                "reason",
            ),
            (|r| r.timeout = Duration::from_millis(999), "timeout"),
            (
                |r| r.timeout = MAX_APPROVAL_TIMEOUT + Duration::from_secs(1),
                "timeout",
            ),
            (
                |r| r.consumer_id = ConsumerId::parse("4000056655665556").unwrap(),
                "consumer_id",
            ),
            (|r| r.operator = String::new(), "operator"),
        ] {
            let mut r = request();
            change(&mut r);
            let e = r.check().unwrap_err();
            assert!(e.to_string().contains(field), "{e}");
            assert!(!e.to_string().contains("4000056655665556"));
        }
        let mut r = request();
        r.timeout = MIN_APPROVAL_TIMEOUT;
        assert!(r.check().is_ok());
        r.timeout = MAX_APPROVAL_TIMEOUT;
        assert!(r.check().is_ok());
        r.reason = "replace 4000056655665556 please".into();
        assert_eq!(r.check().unwrap(), "replace [number removed] please");
    }
}

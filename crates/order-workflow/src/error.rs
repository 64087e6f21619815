//! [`WorkflowError`]: why an order step did not happen. [`WorkflowError::kind`] (what the window
//! does) and [`WorkflowError::code`] (what it says, from its locales) are decided here and
//! nowhere else; [`WorkflowError::facts`] are the values the window's words may quote.

use d1_client::{D1Error, D1ErrorCode};
use desk_domain::{CardId, CorrelationId, FieldError, OperationId};
use order_journal::JournalError;
use serde::Serialize;

use crate::policy::{self, ErrorClass, ErrorKind, Phase};

/// Why an order step did not happen.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    /// The draft has problems; nothing was sent.
    #[error("{} field(s) of the order need correcting", .0.len())]
    Invalid(Vec<FieldError>),
    /// D1 (or the way to it) failed. `card_id` is set once the order has ids; `class` is what
    /// the error policy made of it for this order.
    #[error("{error}")]
    D1 {
        error: D1Error,
        card_id: Option<CardId>,
        class: ErrorClass,
    },
    /// The journal could not record the order: it was not sent.
    #[error("the order journal failed: {0}")]
    Journal(#[from] JournalError),
    /// D1 may have (or has) the order, but the journal could not record it yet: the desk keeps
    /// retrying the write, and the window shows the order as "checking".
    #[error("the order was sent but the journal could not record it yet")]
    SentNotRecorded {
        card_id: CardId,
        correlation_id: CorrelationId,
        operation_id: Option<OperationId>,
    },
    /// D1 still has no record of an order that may have been sent, past the grace period: a
    /// person must look (the station's output tray) before anyone orders again.
    #[error("D1 has no record of order {card_id} {after_seconds} s after it was sent")]
    NoRecord { card_id: CardId, after_seconds: u64 },
    /// The branch ledger could not answer (`code`: the ledger's stable error name, for IT and
    /// the logs; `message` for the logs only).
    #[error("the branch ledger: {message}")]
    Ledger { code: String, message: String },
    /// A counter workflow step refused by a rule (`code`: which one, the window's words;
    /// `message` for the logs only).
    #[error("{message}")]
    Refused { code: Refusal, message: String },
    /// The order is past sending (D1 has it, or it is final): it is never sent again.
    #[error("order {card_id} is {state}: it cannot be sent again")]
    NotSendable {
        card_id: CardId,
        state: order_journal::OrderState,
    },
    /// A retry was asked for an order whose encrypted data is no longer held.
    #[error("this order can no longer be resent from here: check its status instead")]
    NothingToRetry,
    /// The desk is not set up to order: configuration or keychain entries are missing or wrong.
    /// The text is for IT (logs, the admin CLI); the window says `setup`.
    #[error("{0}")]
    Setup(String),
    /// The configuration has problems, each naming its key (the window lists the keys).
    #[error("the configuration is invalid: {}", .0.len())]
    ConfigInvalid(Vec<desk_config::Problem>),
    /// The training D1 could not be started.
    #[error("the training D1 could not start: {0}")]
    Training(String),
    /// The OS user may not use a supervisor function (checked in Rust on every call).
    #[error("{user} is not a supervisor on this desk")]
    NotSupervisor { user: String },
    /// The order desk stopped, or never became ready.
    #[error("the order desk is not running")]
    DeskStopped,
    /// A blocking task failed to run to its end.
    #[error("an internal task failed: {0}")]
    Task(String),
}

/// What the window says about an error: one stable code per case, as a TypeScript union in the
/// bindings. D1's codes are [`D1ErrorCode`]; the desk's own are [`DeskErrorCode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(untagged)]
pub enum ErrorCode {
    D1(D1ErrorCode),
    Desk(DeskErrorCode),
    Refused(Refusal),
}

/// Why a counter workflow step was refused (dual control, spoiled cards and reissues,
/// exceptions): the branch ledger's rules and the desk's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// The approver is the person who asked for the approval.
    SelfApproval,
    /// The approval request has expired.
    Expired,
    /// The approval request was already decided (or canceled).
    AlreadyDecided,
    /// No such approval request in this branch (or not this desk's).
    NoRequest,
    /// Only a finished order (done or failed) can be reported spoiled.
    NotFinished,
    /// The card was already reported spoiled.
    AlreadySpoiled,
    /// A reissue must replace a card reported spoiled.
    NotSpoiled,
    /// A done order is not an exception.
    NotAnException,
    /// The exception has been resolved.
    Resolved,
    /// Only the person who took the exception can resolve it.
    NotOwner,
    /// The order's approval request was not approved for this desk.
    NotApproved,
    /// This desk has no branch ledger (approvals, exceptions and the balance live there).
    NoLedger,
    /// This order does not need a second person's approval.
    ApprovalNotNeeded,
    /// The order is waiting for its approval.
    ApprovalPending,
    /// This order needs a second person's approval before it is sent.
    ApprovalNeeded,
    /// The reason is not one of the configured reasons for a spoiled card.
    UnknownReason,
}

impl Refusal {
    /// The stable snake_case name (as serialized).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SelfApproval => "self_approval",
            Self::Expired => "expired",
            Self::AlreadyDecided => "already_decided",
            Self::NoRequest => "no_request",
            Self::NotFinished => "not_finished",
            Self::AlreadySpoiled => "already_spoiled",
            Self::NotSpoiled => "not_spoiled",
            Self::NotAnException => "not_an_exception",
            Self::Resolved => "resolved",
            Self::NotOwner => "not_owner",
            Self::NotApproved => "not_approved",
            Self::NoLedger => "no_ledger",
            Self::ApprovalNotNeeded => "approval_not_needed",
            Self::ApprovalPending => "approval_pending",
            Self::ApprovalNeeded => "approval_needed",
            Self::UnknownReason => "unknown_reason",
        }
    }

    /// The refusal of one of the branch ledger's rules.
    pub fn from_rule(rule: branch_ledger::Rule) -> Self {
        use branch_ledger::Rule as R;
        match rule {
            R::SelfApproval => Self::SelfApproval,
            R::Expired => Self::Expired,
            R::AlreadyDecided => Self::AlreadyDecided,
            R::NoRequest => Self::NoRequest,
            R::NotFinished => Self::NotFinished,
            R::AlreadySpoiled => Self::AlreadySpoiled,
            R::NotSpoiled => Self::NotSpoiled,
            R::NotAnException => Self::NotAnException,
            R::Resolved => Self::Resolved,
            R::NotOwner => Self::NotOwner,
            R::NotApproved => Self::NotApproved,
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The desk's own error codes (those that are not D1's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum DeskErrorCode {
    /// Fields of the draft need correcting (`fields`).
    InvalidFields,
    /// Sent, but the journal could not record it yet.
    SentNotRecorded,
    /// D1 has no record past the grace period (`graceMinutes`).
    NoRecord,
    /// The encrypted order is no longer held: check its status instead.
    NothingToRetry,
    /// The order is past sending: it is never sent again.
    NotSendable,
    /// Configuration, keys or credentials stop the desk.
    Setup,
    /// The configuration has problems (`configProblems`).
    ConfigInvalid,
    /// The training D1 could not start.
    TrainingUnavailable,
    /// The journal failed.
    Journal,
    /// The journal is open in another Issuance Desk.
    JournalInUse,
    /// The journal belongs to another D1.
    JournalOtherD1,
    /// A supervisor search or filter was refused.
    InvalidQuery,
    /// No order with this card id in the journal.
    UnknownOrder,
    /// The OS user is not a supervisor (`user`).
    NotSupervisor,
    /// The order desk is not running.
    DeskStopped,
    /// The branch ledger cannot be reached now (orders wait on each desk).
    LedgerUnreachable,
    /// The branch ledger refused or failed a request.
    Ledger,
    /// Something unexpected inside the app.
    Internal,
}

/// Where a configuration problem is: its key and the file (or variable) it came from. Its
/// English reason stays with IT (`issuance-desk-admin config check`, the log).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ConfigProblemAt {
    pub key: String,
    pub source: Option<String>,
}

/// The values the window's words for an error may quote. Never card data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorFacts {
    pub correlation_id: Option<CorrelationId>,
    pub card_id: Option<CardId>,
    pub http_status: Option<u16>,
    pub d1_error_code: Option<String>,
    pub fields: Vec<FieldError>,
    pub grace_minutes: Option<u32>,
    pub user: Option<String>,
    pub config_problems: Vec<ConfigProblemAt>,
    /// The branch ledger's stable name of its error (`unreachable`, `tls`, …), for IT.
    pub ledger_error: Option<String>,
}

impl WorkflowError {
    /// A D1 error of a call that was the order's first contact with D1 (or of no order).
    pub(crate) fn d1(error: D1Error, card_id: Option<&CardId>) -> Self {
        let class = policy::classify(&error, Phase::NothingAtD1Yet);
        Self::D1 {
            error,
            card_id: card_id.cloned(),
            class,
        }
    }

    /// What the window does with this error. The one place a `kind` is decided.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid(_)
            | Self::Journal(JournalError::InvalidQuery(_) | JournalError::NotFound { .. }) => {
                ErrorKind::Validation
            }
            Self::D1 { class, .. } => ErrorKind::from(*class),
            Self::SentNotRecorded { .. } | Self::NoRecord { .. } => ErrorKind::Checking,
            Self::NothingToRetry | Self::NotSendable { .. } | Self::Refused { .. } => {
                ErrorKind::Rejected
            }
            Self::Setup(_) | Self::ConfigInvalid(_) | Self::Training(_) => ErrorKind::Setup,
            Self::NotSupervisor { .. } => ErrorKind::Forbidden,
            Self::Journal(_) | Self::Task(_) | Self::DeskStopped => ErrorKind::Internal,
            Self::Ledger { code, .. } if code == "unreachable" => ErrorKind::Unavailable,
            Self::Ledger { .. } => ErrorKind::Internal,
        }
    }

    /// What the window says about this error. The one place a `code` is decided.
    pub fn code(&self) -> ErrorCode {
        use DeskErrorCode as C;
        ErrorCode::Desk(match self {
            Self::D1 { error, .. } => return ErrorCode::D1(error.code()),
            Self::Refused { code, .. } => return ErrorCode::Refused(*code),
            Self::Invalid(_) => C::InvalidFields,
            Self::SentNotRecorded { .. } => C::SentNotRecorded,
            Self::NoRecord { .. } => C::NoRecord,
            Self::NothingToRetry => C::NothingToRetry,
            Self::NotSendable { .. } => C::NotSendable,
            Self::Setup(_) => C::Setup,
            Self::ConfigInvalid(_) => C::ConfigInvalid,
            Self::Training(_) => C::TrainingUnavailable,
            Self::NotSupervisor { .. } => C::NotSupervisor,
            Self::DeskStopped => C::DeskStopped,
            Self::Journal(JournalError::InUse { .. }) => C::JournalInUse,
            Self::Journal(JournalError::OtherD1 { .. }) => C::JournalOtherD1,
            Self::Journal(JournalError::InvalidQuery(_)) => C::InvalidQuery,
            Self::Journal(JournalError::NotFound { .. }) => C::UnknownOrder,
            Self::Journal(_) => C::Journal,
            Self::Ledger { code, .. } => match code.as_str() {
                "unreachable" => C::LedgerUnreachable,
                "invalid_query" => C::InvalidQuery,
                "not_found" => C::UnknownOrder,
                _ => C::Ledger,
            },
            Self::Task(_) => C::Internal,
        })
    }

    /// The values the window's words may quote.
    pub fn facts(&self) -> ErrorFacts {
        let mut facts = ErrorFacts::default();
        match self {
            Self::Invalid(fields) => facts.fields = fields.clone(),
            Self::D1 { error, card_id, .. } => {
                facts.correlation_id = error.correlation_id().cloned();
                facts.card_id = card_id.clone();
                facts.http_status = error.http_status();
                facts.d1_error_code = error.d1_error_code().map(str::to_owned);
                if let D1Error::InvalidRequest { errors } = error {
                    facts.fields = errors.clone();
                }
            }
            Self::SentNotRecorded {
                card_id,
                correlation_id,
                ..
            } => {
                facts.card_id = Some(card_id.clone());
                facts.correlation_id = Some(correlation_id.clone());
            }
            Self::NoRecord {
                card_id,
                after_seconds,
            } => {
                facts.card_id = Some(card_id.clone());
                facts.grace_minutes = u32::try_from(after_seconds.div_ceil(60)).ok();
            }
            Self::NotSendable { card_id, .. } => facts.card_id = Some(card_id.clone()),
            Self::NotSupervisor { user } => facts.user = Some(user.clone()),
            Self::ConfigInvalid(problems) => {
                facts.config_problems = problems
                    .iter()
                    .map(|p| ConfigProblemAt {
                        key: p.key.clone(),
                        source: p.source.clone(),
                    })
                    .collect();
            }
            Self::Journal(JournalError::NotFound { card_id }) => {
                facts.card_id = CardId::parse(card_id.as_str()).ok();
            }
            Self::Ledger { code, .. } => facts.ledger_error = Some(code.clone()),
            Self::NothingToRetry
            | Self::Refused { .. }
            | Self::Setup(_)
            | Self::Training(_)
            | Self::DeskStopped
            | Self::Journal(_)
            | Self::Task(_) => {}
        }
        facts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use d1_client::{CorrelationId, Endpoint};

    #[test]
    fn codes_serialize_as_one_flat_string() {
        let d1 = WorkflowError::d1(
            D1Error::Tls {
                correlation_id: CorrelationId::parse("c1").unwrap(),
            },
            Some(&CardId::parse("card-1").unwrap()),
        );
        assert_eq!(serde_json::to_value(d1.code()).unwrap(), "tls");
        assert_eq!(d1.facts().correlation_id.unwrap(), "c1");
        let no_record = WorkflowError::NoRecord {
            card_id: CardId::parse("card-1").unwrap(),
            after_seconds: 601,
        };
        assert_eq!(serde_json::to_value(no_record.code()).unwrap(), "no_record");
        assert_eq!(no_record.facts().grace_minutes, Some(11));
        assert_eq!(no_record.kind(), ErrorKind::Checking);
    }

    #[test]
    fn facts_carry_d1s_status_and_error_code() {
        let refused = WorkflowError::d1(
            D1Error::BadRequest {
                correlation_id: CorrelationId::parse("c2").unwrap(),
                error_code: Some("CARD_PRODUCT_UNKNOWN".into()),
                endpoint: Endpoint::Order,
            },
            Some(&CardId::parse("card-2").unwrap()),
        );
        let facts = refused.facts();
        assert_eq!(facts.http_status, Some(400));
        assert_eq!(facts.d1_error_code.as_deref(), Some("CARD_PRODUCT_UNKNOWN"));
        assert_eq!(facts.card_id.unwrap(), "card-2");
        assert_eq!(refused.kind(), ErrorKind::Rejected);
    }

    #[test]
    fn a_teller_asking_for_supervisor_functions_is_forbidden() {
        let e = WorkflowError::NotSupervisor { user: "ana".into() };
        assert_eq!(e.kind(), ErrorKind::Forbidden);
        assert_eq!(serde_json::to_value(e.code()).unwrap(), "not_supervisor");
        assert_eq!(e.facts().user.as_deref(), Some("ana"));
    }
}

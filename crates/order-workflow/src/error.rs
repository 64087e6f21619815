use d1_client::D1Error;
use order_journal::JournalError;

use crate::draft::FieldProblem;
use crate::policy::{self, ErrorClass, ErrorKind, Phase};

/// Why an order step did not happen.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    /// The draft has problems; nothing was sent.
    #[error("{} field(s) of the order need correcting", .0.len())]
    Invalid(Vec<FieldProblem>),
    /// D1 (or the way to it) failed. `card_id` is set once the order has ids; `class` is what
    /// the error policy made of it for this order.
    #[error("{}", .error.user_message())]
    D1 {
        error: D1Error,
        card_id: Option<String>,
        class: ErrorClass,
    },
    /// The journal could not record the order: it was not sent.
    #[error("the order journal failed: {0}")]
    Journal(#[from] JournalError),
    /// D1 may have (or has) the order, but the journal could not record it yet: the desk keeps
    /// retrying the write, and the window shows the order as "checking".
    #[error("the order was sent but the journal could not record it yet")]
    SentNotRecorded {
        card_id: String,
        correlation_id: String,
        operation_id: Option<String>,
    },
    /// D1 still has no record of an order that may have been sent, past the grace period: a
    /// person must look (the station's output tray) before anyone orders again.
    #[error("D1 has no record of order {card_id} {after_seconds} s after it was sent")]
    NoRecord { card_id: String, after_seconds: u64 },
    /// The branch ledger could not answer (`code`: the ledger's stable error name).
    #[error("the branch ledger: {message}")]
    Ledger { code: String, message: String },
    /// A counter workflow step refused by a rule (`code`: `self_approval`, `expired`,
    /// `not_finished`, `not_owner`, `approval_needed`, `no_ledger`, … — the UI's words).
    #[error("{message}")]
    Refused { code: String, message: String },
    /// The order is past sending (D1 has it, or it is final): it is never sent again.
    #[error("order {card_id} is {state}: it cannot be sent again")]
    NotSendable {
        card_id: String,
        state: order_journal::OrderState,
    },
    /// A retry was asked for an order whose encrypted data is no longer held.
    #[error("this order can no longer be resent from here: check its status instead")]
    NothingToRetry,
    /// The desk is not set up to order: configuration or keychain entries are missing or wrong.
    #[error("{0}")]
    Setup(String),
    /// The training D1 could not be started.
    #[error("the training D1 could not start: {0}")]
    Training(String),
    /// A blocking task failed to run to its end.
    #[error("an internal task failed: {0}")]
    Task(String),
}

impl WorkflowError {
    /// A D1 error of a call that was the order's first contact with D1 (or of no order).
    pub(crate) fn d1(error: D1Error, card_id: Option<&str>) -> Self {
        let class = policy::classify(&error, Phase::NothingAtD1Yet);
        Self::D1 {
            error,
            card_id: card_id.map(str::to_owned),
            class,
        }
    }

    /// What the window does with this error. The one place a `kind` is decided.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid(_) => ErrorKind::Validation,
            Self::D1 { class, .. } => ErrorKind::from(*class),
            Self::SentNotRecorded { .. } | Self::NoRecord { .. } => ErrorKind::Checking,
            Self::NothingToRetry | Self::NotSendable { .. } | Self::Refused { .. } => {
                ErrorKind::Rejected
            }
            Self::Setup(_) | Self::Training(_) => ErrorKind::Setup,
            Self::Journal(_) | Self::Task(_) => ErrorKind::Internal,
            Self::Ledger { code, .. } if code == "unreachable" => ErrorKind::Unavailable,
            Self::Ledger { .. } => ErrorKind::Internal,
        }
    }
}

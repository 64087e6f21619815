use d1_client::D1Error;
use order_journal::JournalError;

use crate::draft::FieldProblem;

/// Why an order step did not happen.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    /// The draft has problems; nothing was sent.
    #[error("{} field(s) of the order need correcting", .0.len())]
    Invalid(Vec<FieldProblem>),
    /// D1 (or the way to it) failed. `card_id` is set once the order has ids.
    #[error("{}", .error.user_message())]
    D1 {
        error: D1Error,
        card_id: Option<String>,
    },
    /// The journal could not record the order: it was not sent.
    #[error("the order journal failed: {0}")]
    Journal(#[from] JournalError),
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
    pub(crate) fn d1(error: D1Error, card_id: Option<&str>) -> Self {
        Self::D1 {
            error,
            card_id: card_id.map(str::to_owned),
        }
    }
}

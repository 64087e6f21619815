//! The crate's one error type.

use std::path::PathBuf;

use crate::types::OrderState;

/// Everything the journal can refuse or fail at. Messages are written for people and never
/// contain the value of a rejected input (it could be card data typed in the wrong box).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// The database file could not be opened or prepared (permissions, disk full, not SQLite).
    #[error(
        "the order journal at {path} could not be opened: {source}. Check that the folder exists, \
         is writable and that the file is not damaged"
    )]
    Open {
        /// The path that was tried.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },

    /// Another Issuance Desk process has this journal open (one desk writer per journal).
    #[error(
        "the order journal at {path} is in use by another Issuance Desk window; use that window \
         (only one may order cards at a time)"
    )]
    InUse {
        /// The journal file.
        path: PathBuf,
    },

    /// The journal's lock file could not be created or locked.
    #[error("the order journal's lock file {path} could not be used: {source}")]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },

    /// The journal holds the orders of another D1 (environment or issuer).
    #[error(
        "the order journal belongs to {found}, not to {expected}: orders are only ever checked \
         with the D1 that received them"
    )]
    OtherD1 {
        /// The D1 stamped in the file.
        found: crate::db::JournalIdentity,
        /// The D1 this desk is configured for.
        expected: crate::db::JournalIdentity,
    },

    /// The journal file's permissions could not be made private (owner only).
    #[error(
        "the order journal at {path} could not be made private to its owner ({detail}): check          who owns the file and its folder"
    )]
    Permissions {
        /// The path that was tried.
        path: PathBuf,
        /// What the OS said.
        detail: String,
    },

    /// The file was written by a newer build; opening it could damage it.
    #[error(
        "the order journal was written by a newer version of Issuance Desk (schema {found}, this \
         version knows up to {known}); install the newer version"
    )]
    NewerSchema {
        /// Highest schema version found in the file.
        found: i64,
        /// Highest schema version this build knows.
        known: i64,
    },

    /// An input to a write was refused. The value itself is never repeated.
    #[error("{field} was refused: {reason}")]
    InvalidInput {
        /// Which field.
        field: &'static str,
        /// Why, in plain words.
        reason: &'static str,
    },

    /// A typed value (an id, the last 4 digits) was refused as it was made; the value itself
    /// is never repeated.
    #[error("{0} was refused")]
    InvalidField(#[from] desk_domain::FieldError),

    /// A query parameter was refused.
    #[error("the order search was refused: {0}")]
    InvalidQuery(String),

    /// No order with this card id.
    #[error("no order with card id {card_id} in the journal")]
    NotFound {
        /// The card id that was looked up.
        card_id: String,
    },

    /// `record_intent` was called twice for the same card id.
    #[error(
        "an order with card id {card_id} is already in the journal; every order needs a new card id"
    )]
    DuplicateCardId {
        /// The duplicate card id.
        card_id: String,
    },

    /// The requested state change is not allowed from the order's current state.
    #[error("order {card_id} cannot go from {from} to {to}: {hint}")]
    InvalidTransition {
        /// The order.
        card_id: String,
        /// Its current state.
        from: OrderState,
        /// The refused target state.
        to: OrderState,
        /// What the caller should do instead.
        hint: &'static str,
    },

    /// `record_accepted` with an operation id different from the one already recorded.
    #[error(
        "order {card_id} already has another D1 operation id recorded; the journal keeps the first \
         one"
    )]
    OperationIdMismatch {
        /// The order.
        card_id: String,
    },

    /// A spoiled-card report or a reissue that the counter rules refuse (the order is not
    /// finished, already spoiled, or not spoiled).
    #[error("order {card_id}: {reason}")]
    SpoiledRule {
        /// The order.
        card_id: String,
        /// Why, in plain words.
        reason: &'static str,
    },

    /// Writing the CSV export failed (the destination, not the journal).
    #[error("the export could not be written: {0}")]
    Export(String),

    /// A stored value could not be read back (damaged or hand-edited database).
    #[error("the order journal holds an unreadable value in {column}; run an integrity check")]
    Corrupt {
        /// Which column.
        column: &'static str,
    },

    /// Any other SQLite failure (disk full, I/O error, database locked for too long).
    #[error("the order journal could not be read or written: {0}")]
    Storage(#[from] rusqlite::Error),
}

/// Shorthand used throughout the crate.
pub type Result<T, E = JournalError> = std::result::Result<T, E>;

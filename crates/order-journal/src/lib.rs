//! The order journal of Issuance Desk: one SQLite row per order and its status history.
//!
//! * Never card data: the only card-derived value is [`PanLast4`] (exactly 4 digits). Free-text
//!   fields are scrubbed of long digit runs ([`sanitize`]); identifier fields refuse PAN shapes.
//! * Ids are typed (`desk_domain::CardId`, …) and stored and read back through `ToSql`/`FromSql`.
//! * Crash safe: [`Journal::record_intent`] commits before the first byte goes to D1;
//!   [`Journal::in_flight`] returns what the app must reconcile at start (see [`OrderState`]).
//! * Fast with a million orders: keyset paging and an index per supervisor filter.
//!
//! ```
//! use desk_domain::{CardId, ConsumerId, CorrelationId, IssuerRequestId, OperationId};
//! use order_journal::{Journal, NewOrder, OrderQuery, PanLast4, OperationStatus};
//! # fn main() -> Result<(), order_journal::JournalError> {
//! let journal = Journal::open_in_memory()?;
//! let card_id = CardId::parse("card-1")?;
//! journal.record_intent(&NewOrder {
//!     operator: "jane".into(),
//!     consumer_id: ConsumerId::parse("C-42")?,
//!     product_id: "VISA_CLASSIC".into(),
//!     station_id: "STATION-1".into(),
//!     issuance_type: "NEW".into(),
//!     pan_last4: PanLast4::new("5556")?,
//!     card_id: card_id.clone(),
//!     issuer_request_id: IssuerRequestId::parse("req-1")?,
//!     correlation_id: CorrelationId::parse("corr-1")?,
//! })?;
//! journal.mark_sending(&card_id)?;
//! journal.record_accepted(&card_id, &OperationId::parse("op-1")?)?;
//! journal.record_production_status(&card_id, "CARD_PROD_DONE", OperationStatus::Successful, None)?;
//! assert_eq!(journal.list(&OrderQuery::default())?.items.len(), 1);
//! # Ok(()) }
//! ```

mod db;
mod error;
mod export;
mod list;
mod outbox;
mod queries;
mod retention;
pub mod sanitize;
mod spoiled;
mod station;
mod statistics;
#[doc(hidden)]
pub mod synthetic;
mod types;
mod write;

pub use db::{BUSY_TIMEOUT, Clock, Journal, JournalIdentity, PreSendSync, lock_path};
pub use error::{JournalError, Result};
pub use export::{CSV_HEADER, csv_safe};
pub use outbox::{
    ForeignChange, MAX_OUTBOX_BATCH, OutboxBacklog, OutboxEvent, OutboxIntent, OutboxSpoiled,
};
pub use queries::{
    Cursor, DEFAULT_PAGE_SIZE, ExceptionQuery, MAX_EXCEPTIONS, MAX_FILTER_CHARS, MAX_PAGE_SIZE,
    MAX_SEARCH_CHARS, MIN_PREFIX_CHARS, MatchMode, OrderQuery, Page, Search, TimeRange,
};
pub use retention::{DEFAULT_RETENTION, MIN_RETENTION};
pub use spoiled::{CounterLinks, ForeignSpoiled, can_be_spoiled};
pub use station::StationActivity;
pub use statistics::{Bucket, BucketCount, LabelCount, MAX_BUCKETS, Stats};
pub use types::{
    HistoryEntry, NewOrder, OperationStatus, OrderDetail, OrderId, OrderState, OrderSummary,
    PanLast4, Timestamp,
};

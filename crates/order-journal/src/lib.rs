//! The order journal of Issuance Desk: one SQLite row per order and its status history.
//!
//! * Never card data: the only card-derived value is [`PanLast4`] (exactly 4 digits). Free-text
//!   fields are scrubbed of long digit runs ([`sanitize`]); identifier fields refuse PAN shapes.
//! * Crash safe: [`Journal::record_intent`] commits before the first byte goes to D1;
//!   [`Journal::in_flight`] returns what the app must reconcile at start (see [`OrderState`]).
//! * Fast with a million orders: keyset paging and an index per supervisor filter.
//!
//! ```
//! use order_journal::{Journal, NewOrder, OrderQuery, PanLast4, OperationStatus};
//! # fn main() -> Result<(), order_journal::JournalError> {
//! let journal = Journal::open_in_memory()?;
//! journal.record_intent(&NewOrder {
//!     operator: "jane".into(),
//!     consumer_id: "C-42".into(),
//!     product_id: "VISA_CLASSIC".into(),
//!     station_id: "STATION-1".into(),
//!     issuance_type: "NEW".into(),
//!     pan_last4: PanLast4::new("5556")?,
//!     card_id: "card-1".into(),
//!     issuer_request_id: "req-1".into(),
//!     correlation_id: "corr-1".into(),
//! })?;
//! journal.mark_sending("card-1")?;
//! journal.record_accepted("card-1", "op-1")?;
//! journal.record_production_status("card-1", "CARD_PROD_DONE", OperationStatus::Successful, None)?;
//! assert_eq!(journal.list(&OrderQuery::default())?.items.len(), 1);
//! # Ok(()) }
//! ```

mod db;
mod error;
mod list;
mod outbox;
mod query;
pub mod sanitize;
mod spoiled;
mod station;
#[doc(hidden)]
pub mod synthetic;
mod types;
mod write;

pub use db::{BUSY_TIMEOUT, Clock, Journal, JournalIdentity, PreSendSync, lock_path};
pub use error::{JournalError, Result};
pub use outbox::{
    ForeignChange, MAX_OUTBOX_BATCH, OutboxBacklog, OutboxEvent, OutboxIntent, OutboxSpoiled,
};
pub use query::{
    Bucket, BucketCount, CSV_HEADER, Cursor, DEFAULT_PAGE_SIZE, DEFAULT_RETENTION, ExceptionQuery,
    LabelCount, MAX_BUCKETS, MAX_EXCEPTIONS, MAX_FILTER_CHARS, MAX_PAGE_SIZE, MAX_SEARCH_CHARS,
    MIN_PREFIX_CHARS, MIN_RETENTION, MatchMode, OrderQuery, Page, Search, Stats, TimeRange,
    csv_safe,
};
pub use spoiled::{CounterLinks, ForeignSpoiled, can_be_spoiled};
pub use station::StationActivity;
pub use types::{
    HistoryEntry, NewOrder, OperationStatus, OrderDetail, OrderId, OrderState, OrderSummary,
    PanLast4, Timestamp,
};

//! The branch ledger of Issuance Desk: every desk's order events in one PostgreSQL store, seen
//! branch-wide (a regional desk: region-wide), impossible to rewrite from a desk.
//!
//! * **Desks append, never rewrite.** A desk logs in with its own client certificate (TLS
//!   verify-full, PostgreSQL `cert` authentication: CN = role `desk_<desk id>`) and may only call
//!   `ledger.append_events` — idempotent by (branch, desk, seq), in order, refusing a gap or a
//!   conflicting replay — and read, through row-level security, its branch. No UPDATE, DELETE,
//!   TRUNCATE or INSERT on any table; history rows cannot be changed even by their owner.
//! * **The journal's facts, nothing more.** The same masked fields as `order-journal` (its rules
//!   are called, not copied): only the last 4 digits of a PAN, identifiers that refuse PAN
//!   shapes, free text scrubbed of long digit runs — checked again by the server.
//! * **The supervisor's queries** ([`Ledger::list`], [`Ledger::detail`], [`Ledger::stats`],
//!   [`Ledger::exceptions`]) equal the journal's, across branches, with branch and desk filters;
//!   [`Ledger::subscribe`] yields "order changed" without polling; [`Ledger::desk_sync_state`]
//!   says when each desk last synced.
//! * **The DBA** uses [`LedgerAdmin`]: `migrate` (embedded numbered migrations, refinery),
//!   `add_desk`, `status`.
//!
//! ```no_run
//! use branch_ledger::{ClientIdentity, ConnectOptions, Event, Ledger, OrderQuery};
//! use desk_domain::{CardId, ConsumerId, CorrelationId, IssuerRequestId};
//! use order_journal::{NewOrder, OrderState, PanLast4, Timestamp};
//! use zeroize::Zeroizing;
//! # async fn demo(ca: String, cert: String, key: Zeroizing<String>) -> Result<(), Box<dyn std::error::Error>> {
//! let options = ConnectOptions::new("ledger.bank.example", 5432, "ledger", "desk_B0042-D1", ca,
//!     ClientIdentity::new(cert, key));
//! let ledger = Ledger::connect(&options).await?;
//! let card_id = CardId::parse("card-1")?;
//! let order = NewOrder {
//!     operator: "jane".into(), consumer_id: ConsumerId::parse("C-42")?,
//!     product_id: "VISA_CLASSIC".into(), station_id: "STATION-1".into(),
//!     issuance_type: "CREATION".into(), pan_last4: PanLast4::new("5556")?,
//!     card_id: card_id.clone(), issuer_request_id: IssuerRequestId::parse("req-1")?,
//!     correlation_id: CorrelationId::parse("corr-1")?,
//! };
//! let acked = ledger.append(&[
//!     Event::intent(1, Timestamp::now(), &order),
//!     Event::transition(2, Timestamp::now(), &card_id, "jane", OrderState::Sending),
//! ]).await?;
//! assert_eq!(acked, 2);
//! let page = ledger.list(&OrderQuery::default()).await?;
//! # Ok(()) }
//! ```

mod admin;
mod approvals;
mod cases;
mod connect;
mod counter;
mod desk;
mod error;
mod event;
mod ids;
mod notify;
mod query;
mod report;
mod sql;
mod types;

pub use admin::{
    DESK_GROUP_ROLE, DeskRegistration, LedgerAdmin, LedgerStatus, MigrationReport, NewDesk,
    SCHEMA_HISTORY_TABLE, latest_schema_version,
};
pub use approvals::{
    Approval, ApprovalRequest, ApprovalStatus, Decision, MAX_APPROVAL_TIMEOUT, MAX_APPROVALS,
    MIN_APPROVAL_TIMEOUT,
};
pub use cases::{CaseEvent, CaseEventKind, ExceptionCase};
pub use connect::{
    ClientIdentity, ConnectOptions, DEFAULT_CONNECT_TIMEOUT, STATEMENT_TIMEOUT, connect_sql,
};
pub use counter::{
    CounterStat, CounterTime, DayBalance, MAX_REPORT_DAYS, MAX_SLOWEST, MAX_UTC_OFFSET_MINUTES,
    SlowOrder,
};
pub use desk::Ledger;
pub use error::{LedgerError, Result, Rule};
pub use event::{Change, Event, MAX_EVENTS_PER_APPEND, OrderIntent, Spoiled, Transition};
pub use ids::{BranchId, DESK_ROLE_PREFIX, DeskId, DeskKind, MAX_LEDGER_ID_CHARS, RegionId};
pub use notify::{
    CHANNEL, COUNTER_CHANNEL, CounterChanged, CounterChanges, CounterKind, OrderChanged,
    OrderChanges,
};
pub use query::{Cursor, OrderQuery, Page, Search, SearchMode};
pub use report::Scope;
pub use types::{DeskIdentity, DeskSyncState, HistoryEntry, LedgerOrder, OrderDetail, SyncReport};

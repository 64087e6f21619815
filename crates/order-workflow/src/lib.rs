//! The teller's order, end to end, without Tauri: a draft from the form becomes a checked,
//! journalled, encrypted order; D1 accepts it (or the unknown outcome is reconciled); its
//! production is followed. Training mode runs all of it against an in-process D1 sandbox.

mod approvals;
mod branch;
mod catalog;
mod counter;
mod counter_reports;
pub mod crash;
mod desk;
mod draft;
mod error;
mod fields;
mod follow;
pub mod key_store;
pub mod ledger_sync;
mod open;
pub mod policy;
pub mod practice;
mod send;
pub mod setup;
mod station;
pub mod supervisor;
pub mod training;
mod views;

pub use approvals::{ApprovalOutcome, ApprovalState, ApprovalView};
pub use branch::{DeskSync, STALE_AFTER_MS};
pub use branch_ledger::CounterKind;
pub use catalog::{Artwork, Catalog, OrderOptions, Product, Station};
pub use counter::{CounterLinks, ReissueForm};
pub use counter_reports::{
    BalanceRow, CaseStep, CounterFigure, CounterTimeView, ExceptionRow, SlowOrderRow,
};
pub use desk::{DeskSettings, OrderDesk};
pub use desk_domain::{
    CardDataInput, CardId, ConsumerId, CorrelationId, FieldError, FieldErrorCode, IssuerRequestId,
    OperationId,
};
pub use draft::{CarrierDraft, DesignDraft, OrderDraft, ServicesDraft};
pub use error::{ConfigProblemAt, DeskErrorCode, ErrorCode, ErrorFacts, Refusal, WorkflowError};
pub use fields::OrderFields;
pub use ledger_sync::{LedgerLink, LedgerState, LedgerStatus};
pub use open::{APP_IDENTIFIER, DeskOptions, Installation, OpenedDesk, open_journal_for_reading};
pub use policy::ErrorKind;
pub use practice::{DemoCard, Practice, PracticeCase, PracticeGuide, PracticeTrigger};
pub use station::{StationEvent, StationState};
pub use supervisor::{
    ChartBucket, ChartLabel, ExportResult, OrderFilter, OrderPage, OrderRow, OrderStats,
    OrderTimeline, RefreshResult, TimelineEntry,
};
pub use views::{
    FormOptions, InterruptedOrder, OrderChanged, OrderProgress, OrderReview, ProductOption,
    ProductionPhase, ProductionView, SubmitOutcome, SubmittedOrder, Verdict,
};

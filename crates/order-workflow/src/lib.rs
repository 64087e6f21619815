//! The teller's order, end to end, without Tauri: a draft from the form becomes a checked,
//! journalled, encrypted order; D1 accepts it (or the unknown outcome is reconciled); its
//! production is followed. Training mode runs all of it against an in-process D1 sandbox.

mod catalog;
pub mod crash;
mod desk;
mod draft;
mod error;
mod follow;
pub mod key_store;
mod open;
pub mod policy;
mod send;
pub mod setup;
pub mod supervisor;
pub mod training;
mod views;

pub use catalog::{Artwork, Catalog, Product, Station};
pub use desk::{DeskSettings, OrderDesk};
pub use desk_domain::{
    CardDataInput, CardId, ConsumerId, CorrelationId, FieldError, FieldErrorCode, IssuerRequestId,
    OperationId,
};
pub use draft::{CarrierDraft, DesignDraft, OrderDraft};
pub use error::{ConfigProblemAt, DeskErrorCode, ErrorCode, ErrorFacts, WorkflowError};
pub use open::{APP_IDENTIFIER, DeskOptions, Installation, OpenedDesk, open_journal_for_reading};
pub use policy::ErrorKind;
pub use supervisor::{
    ChartBucket, ChartLabel, ExportResult, OrderFilter, OrderPage, OrderRow, OrderStats,
    OrderTimeline, RefreshResult, TimelineEntry,
};
pub use views::{
    FormOptions, InterruptedOrder, OrderChanged, OrderProgress, OrderReview, ProductOption,
    ProductionPhase, ProductionView, SubmitOutcome, SubmittedOrder, Verdict,
};

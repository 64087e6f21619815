//! One module per domain; each command unpacks state and calls the core.

pub mod app;
pub mod counter;
pub mod journal;
pub mod orders;
pub mod practice;
pub mod station;
pub mod status;

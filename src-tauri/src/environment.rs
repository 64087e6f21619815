use serde::{Deserialize, Serialize};

/// Which D1 the desk talks to. Always visible in the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    /// An in-process D1 sandbox with generated keys: no real card can be made.
    Training,
    Staging,
    Production,
    /// Any base URLs, e.g. the bank's own gateway that speaks the D1 API.
    Custom,
}

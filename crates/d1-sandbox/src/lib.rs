//! A local, faithful stand-in for the Thales D1 API (INSTANT physical card orders).
//!
//! Serves `POST /authz/v1/oauth2/token`,
//! `POST /banking/v1/issuers/{issuerId}/physicalCards/{cardId}/operations:production` and
//! `GET …/productionStatus`, validating orders against the vendor's OpenAPI document and
//! decrypting the card data with D1's private key. Faults (503/500, latency, dropped
//! connections, offline stations, data exceptions, token expiry) are driven by
//! [`SandboxControl`], by the `/_sandbox/…` HTTP API, or by the configuration file.
//!
//! It keeps only what D1 shows (operation objects) and never logs card data, tokens or
//! assertions.
//!
//! ```no_run
//! # async fn demo() -> Result<(), d1_sandbox::SandboxError> {
//! use d1_sandbox::{Sandbox, SandboxConfig, ProductionClock, testkit::TestKeys};
//! let keys = TestKeys::generate();
//! let sandbox = Sandbox::start(
//!     SandboxConfig::training().with_keys(&keys).with_clock(ProductionClock::Stepped),
//! ).await?;
//! println!("{}", sandbox.banking_base_url());
//! sandbox.control().fail_next(1, 503);
//! sandbox.stop().await;
//! # Ok(()) }
//! ```

mod api_error;
mod auth;
mod carddata;
mod config;
mod control;
mod error;
mod orders;
mod production;
mod schema;
mod secret;
mod server;
mod state;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use auth::JWT_BEARER_GRANT;
pub use config::{
    BinRange, DataExceptionConfig, EncryptionKeyConfig, ExpFormat, FailNextConfig, FaultsConfig,
    IssuerConfig, ProductConfig, ProductionClock, SandboxConfig, ServicesConfig,
    TRAINING_ISSUER_ID, TlsConfig,
};
pub use control::SandboxControl;
pub use error::SandboxError;
pub use schema::{INSTANT_SCHEMA_POINTER, OPENAPI_DOCUMENT};
pub use secret::Secret;
pub use server::{Sandbox, SandboxHandle};

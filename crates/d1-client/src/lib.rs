//! Thales D1 client for INSTANT card orders.
//!
//! - [`CardRequestInstant`]: typed `cardRequestInstant`; [`validate_request`] equals the vendor
//!   schema.
//! - [`CardDataInput`] (the shared input shape, `desk-domain`) → [`CardData`] (card rules per
//!   [`ProductRules`]), encrypted into a compact JWE by [`PreparedOrder::prepare`].
//! - [`D1Client`]: ES256 JWT-bearer token (cached, single-flight refresh), mTLS, retries, typed
//!   [`D1Error`]s, [`OrderOutcome::Unknown`] when the outcome cannot be known.
//!
//! Secrets cannot be serialized. This compiles (a normal serializable type):
//!
//! ```
//! fn needs_serialize<T: serde::Serialize>() {}
//! needs_serialize::<d1_client::FieldError>();
//! ```
//!
//! and each of these does not:
//!
//! ```compile_fail
//! fn needs_serialize<T: serde::Serialize>() {}
//! needs_serialize::<d1_client::CardData>();
//! ```
//!
//! ```compile_fail
//! fn needs_serialize<T: serde::Serialize>() {}
//! needs_serialize::<d1_client::CardDataInput>();
//! ```
//!
//! ```compile_fail
//! fn needs_serialize<T: serde::Serialize>() {}
//! needs_serialize::<d1_client::SigningKey>();
//! ```
//!
//! ```compile_fail
//! fn needs_serialize<T: serde::Serialize>() {}
//! needs_serialize::<d1_client::AccessToken>();
//! ```
//!
//! ```compile_fail
//! fn needs_serialize<T: serde::Serialize>() {}
//! needs_serialize::<d1_client::Jwe>();
//! ```

mod auth;
mod card;
mod client;
mod error;
mod jwe;
mod model;
mod order;
mod tls;
mod validate;

pub use auth::{AccessToken, Es256Signer, MAX_ASSERTION_LIFETIME, SignerFailure, SigningKey};
pub use card::{
    BinRange, CardData, CardDataInput, ExpFormat, ProductRules, TrackDataInput, luhn_valid,
    mask_pan_last4,
};
pub use client::{
    D1Client, D1Config, DetailsStatus, OperationDetails, OperationStatus, OrderOutcome,
    ProductionOperation, RetryPolicy, UnknownReason,
};
/// The typed D1 ids are the shared vocabulary's (`desk-domain`), named here as the client's.
pub use desk_domain::{
    CardId, ConsumerId, CorrelationId, IssuerId, IssuerRequestId, OperationId, OrderIds,
};
pub use error::{D1Error, D1ErrorCode, D1ErrorReport, Endpoint};
pub use jwe::{EncryptionKey, Jwe, encrypt_card_data};
pub use model::{
    CardCarrierConfig, CardDesign, CardRequestInstant, InstantChannel, PaymentApplication, Services,
};
pub use order::PreparedOrder;
/// The rustls crate this client is built with (its `sign::SigningKey` is what an external mTLS
/// key implements).
pub use rustls;
pub use tls::ClientIdentity;
pub use validate::{FieldError, FieldErrorCode, disallowed_character, patterns, validate_request};

/// Entry points for the benchmarks only; not part of the supported API.
#[doc(hidden)]
pub mod bench_support {
    use crate::{D1Error, IssuerId, SigningKey};

    /// Signs one assertion (as the token fetch does) and returns its length.
    pub fn sign_assertion(key: &SigningKey, issuer_id: &IssuerId) -> Result<usize, D1Error> {
        let a = crate::auth::sign_assertion(
            key,
            issuer_id,
            None,
            std::time::SystemTime::now(),
            std::time::Duration::from_secs(300),
        )?;
        Ok(a.0.expose().len())
    }
}

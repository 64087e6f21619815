//! Thales D1 client for INSTANT card orders.
//!
//! - [`CardRequestInstant`]: typed `cardRequestInstant`; [`validate_request`] equals the vendor
//!   schema.
//! - [`CardDataInput`] → [`CardData`] (card rules per [`ProductRules`]), encrypted into a compact
//!   JWE by [`PreparedOrder::prepare`].
//! - [`D1Client`]: ES256 JWT-bearer token (cached, single-flight refresh), mTLS, retries, typed
//!   [`D1Error`]s, [`OrderOutcome::Unknown`] when the outcome cannot be known.

mod auth;
mod card;
mod client;
mod error;
mod ids;
mod jwe;
mod model;
mod order;
mod validate;

pub use auth::{AccessToken, MAX_ASSERTION_LIFETIME, SigningKey};
pub use card::{
    BinRange, CardData, CardDataInput, ExpFormat, ProductRules, TrackDataInput, luhn_valid,
    mask_pan_last4,
};
pub use client::{
    ClientIdentity, D1Client, D1Config, DetailsStatus, OperationDetails, OperationStatus,
    OrderOutcome, ProductionOperation, RetryPolicy, UnknownReason,
};
pub use error::{D1Error, Endpoint};
pub use ids::{CardId, CorrelationId, IssuerId, IssuerRequestId, OperationId, OrderIds};
pub use jwe::{EncryptionKey, Jwe, encrypt_card_data};
pub use model::{
    CardCarrierConfig, CardDesign, CardRequestInstant, Instant, PaymentApplication, Services,
};
pub use order::PreparedOrder;
pub use validate::{FieldError, FieldErrorCode, patterns, validate_request};

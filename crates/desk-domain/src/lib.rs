//! Issuance Desk's shared vocabulary, said once for every crate: sensitive card data, the typed
//! D1 ids, the card product rules (BIN ranges, PAN lengths, expiry format), the one Luhn check
//! and field errors that carry their code and limit. A leaf crate: it depends on no other crate
//! of the desk. (`d1-sandbox` does not use it on purpose: it is the independent test oracle.)
//!
//! # What a [`Sensitive<T>`] cannot do
//!
//! The `compile_fail` blocks below are the proof; `tests/compile_fail.rs` (trybuild) also pins
//! the compiler's exact error for each, so none of them can pass for another reason.
//!
//! Reading it is explicit, and `Debug` (so `{:?}` and `tracing`'s `?field`) prints
//! `<redacted>`:
//!
//! ```
//! use desk_domain::{Pan, Sensitive};
//! let cvv = Sensitive::new(String::from("123"));
//! assert_eq!(format!("{cvv:?}"), "<redacted>");
//! assert_eq!(cvv.expose(), "123");
//! // `?` uses Debug: this compiles, and the log line says `cvv=<redacted>`.
//! tracing::info!(cvv = ?cvv, "debug formatting is allowed and redacted");
//! let pan = Pan::new("4000056655665556");
//! assert_eq!(format!("{pan:?}"), "Pan(<redacted>)");
//! ```
//!
//! It cannot be serialized:
//!
//! ```compile_fail
//! let s = desk_domain::Sensitive::new(String::from("4000056655665556"));
//! serde_json::to_string(&s).unwrap();
//! ```
//!
//! ```compile_fail
//! fn needs_serialize<T: serde::Serialize>() {}
//! needs_serialize::<desk_domain::CardDataInput>();
//! ```
//!
//! ```compile_fail
//! fn needs_serialize<T: serde::Serialize>() {}
//! needs_serialize::<desk_domain::Pan>();
//! ```
//!
//! It cannot be formatted with `{}`:
//!
//! ```compile_fail
//! let s = desk_domain::Sensitive::new(String::from("4000056655665556"));
//! println!("{s}");
//! ```
//!
//! ```compile_fail
//! let pan = desk_domain::Pan::new("4000056655665556");
//! let _ = format!("{pan}");
//! ```
//!
//! It cannot be logged as a `tracing` field, neither with `%` (Display) nor as a value:
//!
//! ```compile_fail
//! let s = desk_domain::Sensitive::new(String::from("4000056655665556"));
//! tracing::info!(pan = %s, "card");
//! ```
//!
//! ```compile_fail
//! let s = desk_domain::Sensitive::new(String::from("4000056655665556"));
//! tracing::info!(pan = s, "card");
//! ```
//!
//! ```compile_fail
//! let card = desk_domain::CardDataInput::new("4000056655665556", "11/29", "JANE DOE");
//! tracing::info!(pan = %card.pan, "card");
//! ```
//!
//! and its value is not a public field:
//!
//! ```compile_fail
//! let s = desk_domain::Sensitive::new(String::from("4000056655665556"));
//! let _: String = s.0;
//! ```

mod card;
mod field;
mod ids;
mod luhn;
mod product;
mod sensitive;

pub use card::{CardDataInput, CardholderName, Cvv, Pan, PanLast4, TrackDataInput, mask_pan_last4};
pub use field::{FieldError, FieldErrorCode, length_code};
pub use ids::{
    CardId, ConsumerId, CorrelationId, IssuerId, IssuerRequestId, OperationId, OrderIds,
};
pub use luhn::{luhn_check_digit, luhn_valid};
pub use product::{BinRange, BinRangeError, ExpFormat, NAME_MAX_LENGTH, PAN_LENGTHS, ProductRules};
pub use sensitive::{Sensitive, ShownToTeller};

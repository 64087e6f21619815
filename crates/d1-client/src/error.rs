//! The crate's error type. Messages are for people; nothing here carries card data, tokens,
//! assertions or keys. D1's free-text `error` field is kept for IT (`detail`) but never shown in
//! `Display`, as D1 says it is not meant for end users.

use serde::Serialize;

use crate::validate::FieldError;
use desk_domain::CorrelationId;

/// What crosses the IPC boundary for a [`D1Error`]: a stable `kind`, the plain-English message
/// and advice, the correlation id and, for invalid requests, the field errors. Holds no secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct D1ErrorReport {
    pub kind: &'static str,
    pub message: String,
    pub what_to_do: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub field_errors: Vec<FieldError>,
}

/// The stable code of a [`D1Error`], one per variant. It crosses IPC as a snake_case string;
/// the window's words for each are in `ui/src/locales`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum D1ErrorCode {
    Config,
    InvalidRequest,
    Encryption,
    Signing,
    FieldInvalidFormat,
    FieldInvalidValue,
    CryptoError,
    ParsingError,
    BadRequest,
    Unauthorized,
    TokenRejected,
    Forbidden,
    OperationNotAllowed,
    NotFound,
    InternalError,
    Unavailable,
    UnexpectedStatus,
    InvalidResponse,
    Timeout,
    Tls,
    Connection,
    Transport,
}

impl D1ErrorCode {
    /// The code as it is serialized (`field_invalid_format`, `tls`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Config => "config",
            Self::InvalidRequest => "invalid_request",
            Self::Encryption => "encryption",
            Self::Signing => "signing",
            Self::FieldInvalidFormat => "field_invalid_format",
            Self::FieldInvalidValue => "field_invalid_value",
            Self::CryptoError => "crypto_error",
            Self::ParsingError => "parsing_error",
            Self::BadRequest => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::TokenRejected => "token_rejected",
            Self::Forbidden => "forbidden",
            Self::OperationNotAllowed => "operation_not_allowed",
            Self::NotFound => "not_found",
            Self::InternalError => "internal_error",
            Self::Unavailable => "unavailable",
            Self::UnexpectedStatus => "unexpected_status",
            Self::InvalidResponse => "invalid_response",
            Self::Timeout => "timeout",
            Self::Tls => "tls",
            Self::Connection => "connection",
            Self::Transport => "transport",
        }
    }
}

/// Which call failed, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Token,
    Order,
    Status,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Endpoint::Token => "token request",
            Endpoint::Order => "card order",
            Endpoint::Status => "status request",
        })
    }
}

/// Every way a D1 call or its preparation can fail.
#[derive(Debug, thiserror::Error)]
pub enum D1Error {
    #[error("the configuration is invalid at `{key}`: {reason}")]
    Config { key: String, reason: String },

    #[error("the order has {} invalid field(s)", errors.len())]
    InvalidRequest { errors: Vec<FieldError> },

    #[error("the card data could not be encrypted")]
    Encryption,

    #[error("the signing key could not sign the token request")]
    Signing,

    #[error(
        "D1 rejected a field's format (FIELD_INVALID_FORMAT) [correlation id {correlation_id}]"
    )]
    FieldInvalidFormat {
        correlation_id: CorrelationId,
        detail: Option<String>,
    },

    #[error("D1 rejected a field's value (FIELD_INVALID_VALUE) [correlation id {correlation_id}]")]
    FieldInvalidValue {
        correlation_id: CorrelationId,
        detail: Option<String>,
    },

    #[error("D1 could not decrypt the card data (CRYPTO_ERROR) [correlation id {correlation_id}]")]
    CryptoError { correlation_id: CorrelationId },

    #[error(
        "D1 could not read the decrypted card data (PARSING_ERROR) [correlation id {correlation_id}]"
    )]
    ParsingError {
        correlation_id: CorrelationId,
        detail: Option<String>,
    },

    #[error(
        "D1 refused the request (400{}) [correlation id {correlation_id}]",
        code_suffix(error_code)
    )]
    BadRequest {
        correlation_id: CorrelationId,
        error_code: Option<String>,
        endpoint: Endpoint,
    },

    #[error(
        "D1 did not accept our credentials (401) after a fresh token [correlation id {correlation_id}]"
    )]
    Unauthorized { correlation_id: CorrelationId },

    #[error("D1 refused the token request ({status}) [correlation id {correlation_id}]")]
    TokenRejected {
        correlation_id: CorrelationId,
        status: u16,
        /// D1's own reason (`errorCode`/`error`, or OAuth's `error`/`error_description`), for IT.
        detail: Option<String>,
    },

    #[error("D1 forbids this request (AUTHORIZER_FORBIDDEN) [correlation id {correlation_id}]")]
    Forbidden {
        correlation_id: CorrelationId,
        detail: Option<String>,
    },

    #[error(
        "this operation is not allowed for the card product (OPERATION_NOT_ALLOWED) [correlation id {correlation_id}]"
    )]
    OperationNotAllowed {
        correlation_id: CorrelationId,
        detail: Option<String>,
    },

    #[error(
        "D1 does not know this issuer or card (404, {endpoint}) [correlation id {correlation_id}]"
    )]
    NotFound {
        correlation_id: CorrelationId,
        endpoint: Endpoint,
    },

    #[error("D1 had an internal error (500, {endpoint}) [correlation id {correlation_id}]")]
    Internal {
        correlation_id: CorrelationId,
        endpoint: Endpoint,
    },

    #[error(
        "D1 is unavailable (503, {endpoint}) after {attempts} attempt(s) [correlation id {correlation_id}]"
    )]
    Unavailable {
        correlation_id: CorrelationId,
        endpoint: Endpoint,
        attempts: u32,
    },

    /// Any status the call does not expect: a gateway's 502/504, a redirect, a 2xx that is not
    /// the call's success status.
    #[error(
        "D1 answered with an unexpected status {status} ({endpoint}) [correlation id {correlation_id}]"
    )]
    UnexpectedStatus {
        correlation_id: CorrelationId,
        endpoint: Endpoint,
        status: u16,
    },

    #[error(
        "D1 answered with a body that is not the expected JSON ({endpoint}) [correlation id {correlation_id}]"
    )]
    InvalidResponse {
        correlation_id: CorrelationId,
        endpoint: Endpoint,
    },

    /// For the card order, a timeout after the request may have left is not an error but
    /// `OrderOutcome::Unknown`: this error then means the connection could not even be opened
    /// in time, so nothing was sent.
    #[error(
        "the {endpoint} timed out after {attempts} attempt(s) [correlation id {correlation_id}]"
    )]
    Timeout {
        correlation_id: CorrelationId,
        endpoint: Endpoint,
        attempts: u32,
    },

    #[error("the secure connection to D1 failed (TLS) [correlation id {correlation_id}]")]
    Tls { correlation_id: CorrelationId },

    #[error(
        "could not connect to D1 after {attempts} attempt(s) [correlation id {correlation_id}]"
    )]
    Connection {
        correlation_id: CorrelationId,
        attempts: u32,
    },

    #[error("the connection to D1 broke during the {endpoint} [correlation id {correlation_id}]")]
    Transport {
        correlation_id: CorrelationId,
        endpoint: Endpoint,
    },
}

fn code_suffix(code: &Option<String>) -> String {
    code.as_deref()
        .map(|c| format!(", {c}"))
        .unwrap_or_default()
}

impl D1Error {
    pub(crate) fn config(key: &str, reason: &str) -> Self {
        Self::Config {
            key: key.into(),
            reason: reason.into(),
        }
    }

    /// Stable code the app maps to UI messages and IPC error kinds (the snake_case string of
    /// [`D1Error::code`]).
    pub fn kind(&self) -> &'static str {
        self.code().as_str()
    }

    /// The stable code of this error: the window's words for it live in its locales.
    pub fn code(&self) -> D1ErrorCode {
        match self {
            Self::Config { .. } => D1ErrorCode::Config,
            Self::InvalidRequest { .. } => D1ErrorCode::InvalidRequest,
            Self::Encryption => D1ErrorCode::Encryption,
            Self::Signing => D1ErrorCode::Signing,
            Self::FieldInvalidFormat { .. } => D1ErrorCode::FieldInvalidFormat,
            Self::FieldInvalidValue { .. } => D1ErrorCode::FieldInvalidValue,
            Self::CryptoError { .. } => D1ErrorCode::CryptoError,
            Self::ParsingError { .. } => D1ErrorCode::ParsingError,
            Self::BadRequest { .. } => D1ErrorCode::BadRequest,
            Self::Unauthorized { .. } => D1ErrorCode::Unauthorized,
            Self::TokenRejected { .. } => D1ErrorCode::TokenRejected,
            Self::Forbidden { .. } => D1ErrorCode::Forbidden,
            Self::OperationNotAllowed { .. } => D1ErrorCode::OperationNotAllowed,
            Self::NotFound { .. } => D1ErrorCode::NotFound,
            Self::Internal { .. } => D1ErrorCode::InternalError,
            Self::Unavailable { .. } => D1ErrorCode::Unavailable,
            Self::UnexpectedStatus { .. } => D1ErrorCode::UnexpectedStatus,
            Self::InvalidResponse { .. } => D1ErrorCode::InvalidResponse,
            Self::Timeout { .. } => D1ErrorCode::Timeout,
            Self::Tls { .. } => D1ErrorCode::Tls,
            Self::Connection { .. } => D1ErrorCode::Connection,
            Self::Transport { .. } => D1ErrorCode::Transport,
        }
    }

    /// The HTTP status D1 (or a gateway) answered with, when the error is an answer.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Self::FieldInvalidFormat { .. }
            | Self::FieldInvalidValue { .. }
            | Self::CryptoError { .. }
            | Self::ParsingError { .. }
            | Self::BadRequest { .. } => Some(400),
            Self::Unauthorized { .. } => Some(401),
            Self::Forbidden { .. } | Self::OperationNotAllowed { .. } => Some(403),
            Self::NotFound { .. } => Some(404),
            Self::Internal { .. } => Some(500),
            Self::Unavailable { .. } => Some(503),
            Self::TokenRejected { status, .. } | Self::UnexpectedStatus { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }

    /// D1's `errorCode`, when D1 answered with one.
    pub fn d1_error_code(&self) -> Option<&str> {
        match self {
            Self::FieldInvalidFormat { .. } => Some("FIELD_INVALID_FORMAT"),
            Self::FieldInvalidValue { .. } => Some("FIELD_INVALID_VALUE"),
            Self::CryptoError { .. } => Some("CRYPTO_ERROR"),
            Self::ParsingError { .. } => Some("PARSING_ERROR"),
            Self::OperationNotAllowed { .. } => Some("OPERATION_NOT_ALLOWED"),
            Self::BadRequest { error_code, .. } => error_code.as_deref(),
            _ => None,
        }
    }

    /// The correlation id to quote to IT, when the error comes from a D1 call.
    pub fn correlation_id(&self) -> Option<&CorrelationId> {
        match self {
            Self::Config { .. }
            | Self::InvalidRequest { .. }
            | Self::Encryption
            | Self::Signing => None,
            Self::FieldInvalidFormat { correlation_id, .. }
            | Self::FieldInvalidValue { correlation_id, .. }
            | Self::CryptoError { correlation_id }
            | Self::ParsingError { correlation_id, .. }
            | Self::BadRequest { correlation_id, .. }
            | Self::Unauthorized { correlation_id }
            | Self::TokenRejected { correlation_id, .. }
            | Self::Forbidden { correlation_id, .. }
            | Self::OperationNotAllowed { correlation_id, .. }
            | Self::NotFound { correlation_id, .. }
            | Self::Internal { correlation_id, .. }
            | Self::Unavailable { correlation_id, .. }
            | Self::UnexpectedStatus { correlation_id, .. }
            | Self::InvalidResponse { correlation_id, .. }
            | Self::Timeout { correlation_id, .. }
            | Self::Tls { correlation_id }
            | Self::Connection { correlation_id, .. }
            | Self::Transport { correlation_id, .. } => Some(correlation_id),
        }
    }

    /// D1's free-text `error` detail (for IT logs only; never show it to the teller).
    pub fn detail(&self) -> Option<&str> {
        match self {
            Self::FieldInvalidFormat { detail, .. }
            | Self::FieldInvalidValue { detail, .. }
            | Self::ParsingError { detail, .. }
            | Self::Forbidden { detail, .. }
            | Self::OperationNotAllowed { detail, .. }
            | Self::TokenRejected { detail, .. } => detail.as_deref(),
            _ => None,
        }
    }

    /// The serializable form for the UI (see [`D1ErrorReport`]).
    pub fn report(&self) -> D1ErrorReport {
        D1ErrorReport {
            kind: self.kind(),
            message: self.user_message(),
            what_to_do: self.what_to_do(),
            correlation_id: self.correlation_id().map(|c| c.as_str().to_string()),
            field_errors: match self {
                Self::InvalidRequest { errors } => errors.clone(),
                _ => Vec::new(),
            },
        }
    }

    /// What happened, in plain English, for IT (the admin CLI, logs). The window never shows
    /// it: it words [`D1Error::code`] from its locales.
    pub fn user_message(&self) -> String {
        match self {
            Self::Config { key, reason } => {
                format!("The application settings are invalid ({key}: {reason}).")
            }
            Self::InvalidRequest { errors } => {
                format!("{} field(s) of the order are not valid.", errors.len())
            }
            Self::Encryption => "The card data could not be encrypted.".into(),
            Self::Signing => "The application could not sign in to D1 with its key.".into(),
            Self::FieldInvalidFormat { .. } => {
                "D1 rejected the order: a field has the wrong format.".into()
            }
            Self::FieldInvalidValue { .. } => {
                "D1 rejected the order: a field has a value it does not allow.".into()
            }
            Self::CryptoError { .. } => "D1 could not decrypt the card data.".into(),
            Self::ParsingError { .. } => {
                "D1 could not read the card data after decrypting it.".into()
            }
            Self::BadRequest { .. } => "D1 rejected the request.".into(),
            Self::Unauthorized { .. } => "D1 did not accept this desk's credentials.".into(),
            Self::TokenRejected { .. } => "D1 refused to sign this desk in.".into(),
            Self::Forbidden { .. } => "D1 does not allow this desk to make this request.".into(),
            Self::OperationNotAllowed { .. } => {
                "D1 does not allow this operation for this card product.".into()
            }
            Self::NotFound {
                endpoint: Endpoint::Status,
                ..
            } => "D1 has no order for this card.".into(),
            Self::NotFound { .. } => "D1 does not know this issuer or card.".into(),
            Self::Internal { .. } => "D1 had an internal error.".into(),
            Self::Unavailable { .. } => "D1 is temporarily unavailable.".into(),
            Self::UnexpectedStatus { status, .. } => {
                format!("D1 gave an unexpected answer (HTTP {status}).")
            }
            Self::InvalidResponse { .. } => "D1 gave an answer the application cannot read.".into(),
            Self::Timeout { .. } => "D1 did not answer in time.".into(),
            Self::Tls { .. } => "The secure connection to D1 could not be established.".into(),
            Self::Connection { .. } => "The application could not reach D1.".into(),
            Self::Transport { .. } => "The connection to D1 broke before an answer arrived.".into(),
        }
    }

    /// What IT should do next, in plain English (the admin CLI). The window's advice is in its
    /// locales.
    pub fn what_to_do(&self) -> &'static str {
        match self {
            Self::Config { .. } => {
                "Ask IT to correct the configuration (run the admin CLI `validate config`)."
            }
            Self::InvalidRequest { .. } => "Correct the highlighted fields and submit again.",
            Self::Encryption => {
                "Check D1's encryption key in the configuration; ask IT if it persists."
            }
            Self::Signing | Self::TokenRejected { .. } | Self::Unauthorized { .. } => {
                "Ask IT to check the issuer id, the signing key and its kid in the keychain; quote the correlation id."
            }
            Self::FieldInvalidFormat { .. }
            | Self::FieldInvalidValue { .. }
            | Self::BadRequest { .. } => {
                "Check the order's product, station and options; if they look right, give IT the correlation id. Do not resubmit unchanged."
            }
            Self::CryptoError { .. } => {
                "Ask IT to check D1's encryption key and kid in the configuration; quote the correlation id."
            }
            Self::ParsingError { .. } => {
                "Check the card data and submit again; if it repeats, give IT the correlation id."
            }
            Self::Forbidden { .. } => {
                "Ask IT to check this desk's D1 permissions; quote the correlation id."
            }
            Self::OperationNotAllowed { .. } => {
                "Choose another card product or option, or ask IT; quote the correlation id."
            }
            Self::NotFound {
                endpoint: Endpoint::Status,
                ..
            } => {
                "If you just ordered this card, the order did not reach D1: submit it again (same card id)."
            }
            Self::NotFound { .. } => {
                "Ask IT to check the issuer id and base URLs; quote the correlation id."
            }
            Self::Internal { .. } => {
                "Refresh the order status before anything else; submit again only if D1 shows no order. Quote the correlation id to IT if it repeats."
            }
            Self::Unavailable { .. } | Self::Timeout { .. } | Self::Connection { .. } => {
                "Wait a minute and try again; the same order is reused, so no second card is made."
            }
            Self::UnexpectedStatus { .. } | Self::InvalidResponse { .. } => {
                "Refresh the order status; if it repeats, give IT the correlation id."
            }
            Self::Tls { .. } => {
                "Ask IT to check the certificates (client identity and CA bundle) for D1."
            }
            Self::Transport { .. } => {
                "Refresh the order status to learn whether D1 received the order."
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::FieldErrorCode;

    #[test]
    fn the_code_serializes_as_the_kind() {
        let cid = || CorrelationId::parse("abc").unwrap();
        for e in [
            D1Error::Tls {
                correlation_id: cid(),
            },
            D1Error::Internal {
                correlation_id: cid(),
                endpoint: Endpoint::Order,
            },
            D1Error::BadRequest {
                correlation_id: cid(),
                error_code: Some("X".into()),
                endpoint: Endpoint::Order,
            },
        ] {
            assert_eq!(serde_json::to_value(e.code()).unwrap(), e.kind());
        }
        let unexpected = D1Error::UnexpectedStatus {
            correlation_id: cid(),
            endpoint: Endpoint::Order,
            status: 502,
        };
        assert_eq!(unexpected.http_status(), Some(502));
        let bad = D1Error::BadRequest {
            correlation_id: cid(),
            error_code: Some("CARD_PRODUCT_UNKNOWN".into()),
            endpoint: Endpoint::Order,
        };
        assert_eq!(
            (bad.http_status(), bad.d1_error_code()),
            (Some(400), Some("CARD_PRODUCT_UNKNOWN"))
        );
    }

    #[test]
    fn report_serializes_kind_message_and_fields() {
        let e = D1Error::InvalidRequest {
            errors: vec![FieldError::new(
                "cardDesign.customLines[3]",
                FieldErrorCode::Pattern,
            )],
        };
        let v = serde_json::to_value(e.report()).unwrap();
        assert_eq!(v["kind"], "invalid_request");
        assert_eq!(v["fieldErrors"][0]["code"], "pattern");
        assert!(v.get("correlationId").is_none());
        let cid = CorrelationId::parse("abc").unwrap();
        let v = serde_json::to_value(
            D1Error::Unavailable {
                correlation_id: cid,
                endpoint: Endpoint::Order,
                attempts: 3,
            }
            .report(),
        )
        .unwrap();
        assert_eq!(v["correlationId"], "abc");
        assert_eq!(v["message"], "D1 is temporarily unavailable.");
    }
}

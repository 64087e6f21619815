//! The one error policy: for every D1 error and the order's phase, whether the same order may be
//! sent again, its outcome is unknown (ask D1), it is final, or the desk itself is not set up.
//! The journal transition and the kind of error the window shows both follow from it, and from
//! nothing else.

use d1_client::{D1Error, Endpoint};
use serde::Serialize;

/// Where the order stood before the call that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// No earlier attempt of this order can have reached D1 (it is a first attempt, or every
    /// earlier one certainly failed before leaving the desk).
    NothingAtD1Yet,
    /// An earlier attempt of this order may have reached D1.
    MaybeAtD1,
}

/// What an error means for the order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// The draft breaks a rule; nothing was encrypted or sent.
    Invalid,
    /// The desk's own setup (configuration, keys, credentials) stopped the order before it left;
    /// the same order may be sent once IT has fixed it.
    Setup,
    /// The order certainly did not reach D1: it may be sent again with the same ids.
    Resendable,
    /// D1 may have the order. Ask `productionStatus` before anything else; never a new card.
    OutcomeUnknown,
    /// D1 answered, and will not make this card. Final.
    Refused,
}

/// Classifies `error` from a call made for an order in `phase`.
///
/// Every card-order answer other than 202, 400, 401, 403 and 404 leaves the outcome unknown
/// (a gateway's 502/504 or a 503 may come after D1 acted on the order). A refusal is final
/// only on a first attempt: refusing a resend may be D1's duplicate guard protecting an earlier
/// attempt, and the card id is random, so any operation under it is ours.
pub fn classify(error: &D1Error, phase: Phase) -> ErrorClass {
    let attempt = this_attempt(error);
    match (attempt, phase) {
        (ErrorClass::Invalid, _) => ErrorClass::Invalid,
        (_, Phase::MaybeAtD1) => ErrorClass::OutcomeUnknown,
        (class, Phase::NothingAtD1Yet) => class,
    }
}

/// What this one attempt's error says, ignoring earlier attempts.
fn this_attempt(error: &D1Error) -> ErrorClass {
    match error {
        D1Error::InvalidRequest { .. } => ErrorClass::Invalid,
        // Stopped inside the desk or at sign-in (a 401 even after a fresh token: D1 did not look
        // at the order): the order itself was not processed.
        D1Error::Config { .. }
        | D1Error::Encryption
        | D1Error::Signing
        | D1Error::TokenRejected { .. }
        | D1Error::Unauthorized { .. } => ErrorClass::Setup,
        // No request left: no connection, no TLS session (a refused client certificate ends the
        // session before any request is read), or no connection in time (a timeout after the
        // order was sent is `OrderOutcome::Unknown`, not an error).
        D1Error::Connection { .. } | D1Error::Tls { .. } => ErrorClass::Resendable,
        D1Error::Timeout { endpoint, .. } => match endpoint {
            Endpoint::Order | Endpoint::Token => ErrorClass::Resendable,
            Endpoint::Status => ErrorClass::OutcomeUnknown,
        },
        // Failures of the sign-in before the order was sent.
        D1Error::Unavailable {
            endpoint: Endpoint::Token,
            ..
        }
        | D1Error::Internal {
            endpoint: Endpoint::Token,
            ..
        }
        | D1Error::UnexpectedStatus {
            endpoint: Endpoint::Token,
            ..
        }
        | D1Error::InvalidResponse {
            endpoint: Endpoint::Token,
            ..
        }
        | D1Error::Transport {
            endpoint: Endpoint::Token,
            ..
        }
        | D1Error::NotFound {
            endpoint: Endpoint::Token,
            ..
        }
        | D1Error::BadRequest {
            endpoint: Endpoint::Token,
            ..
        } => ErrorClass::Resendable,
        // D1 read the order and said no.
        D1Error::FieldInvalidFormat { .. }
        | D1Error::FieldInvalidValue { .. }
        | D1Error::CryptoError { .. }
        | D1Error::ParsingError { .. }
        | D1Error::BadRequest { .. }
        | D1Error::Forbidden { .. }
        | D1Error::OperationNotAllowed { .. }
        | D1Error::NotFound { .. } => ErrorClass::Refused,
        // Anything else after the order may have left.
        D1Error::Unavailable { .. }
        | D1Error::Internal { .. }
        | D1Error::UnexpectedStatus { .. }
        | D1Error::InvalidResponse { .. }
        | D1Error::Transport { .. } => ErrorClass::OutcomeUnknown,
    }
}

/// What the window does differently for an error: the `kind` of the one error that crosses IPC.
/// Derived from [`ErrorClass`] and nowhere else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The input is wrong; `fields` says where. Nothing was sent.
    Validation,
    /// D1 refused the order; sending it again unchanged cannot help. No card is made.
    Rejected,
    /// D1 could not be reached and nothing was sent; the same order may be sent again
    /// (`cardId` says which), and no second card can result.
    Unavailable,
    /// D1 may have the order: the window shows "checking" for `cardId` and keeps asking; the
    /// teller must not order again.
    Checking,
    /// The desk is not set up to order (configuration, keys, credentials, the training D1).
    Setup,
    /// Something unexpected inside the app; the window says what to tell IT.
    Internal,
    /// The OS user may not do this (supervisor functions for a teller).
    Forbidden,
}

impl From<ErrorClass> for ErrorKind {
    fn from(class: ErrorClass) -> Self {
        match class {
            ErrorClass::Invalid => Self::Validation,
            ErrorClass::Setup => Self::Setup,
            ErrorClass::Resendable => Self::Unavailable,
            ErrorClass::OutcomeUnknown => Self::Checking,
            ErrorClass::Refused => Self::Rejected,
        }
    }
}

/// What a failed `productionStatus` question means for an order that may be at D1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusAnswer {
    /// D1 has no operation under this card id: not seen yet. Never proof that it will not be.
    NotSeenYet,
    /// D1 could not be asked now; ask again later.
    AskAgain,
}

/// Classifies the error of a status question.
pub fn classify_status(error: &D1Error) -> StatusAnswer {
    match error {
        D1Error::NotFound {
            endpoint: Endpoint::Status,
            ..
        } => StatusAnswer::NotSeenYet,
        _ => StatusAnswer::AskAgain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use d1_client::{CorrelationId, FieldError, FieldErrorCode};

    fn every_error() -> Vec<D1Error> {
        let cid = || CorrelationId::parse("corr").unwrap();
        let mut all = vec![
            D1Error::Config {
                key: "k".into(),
                reason: "r".into(),
            },
            D1Error::InvalidRequest {
                errors: vec![FieldError::new("consumerId", FieldErrorCode::Pattern)],
            },
            D1Error::Encryption,
            D1Error::Signing,
            D1Error::FieldInvalidFormat {
                correlation_id: cid(),
                detail: None,
            },
            D1Error::FieldInvalidValue {
                correlation_id: cid(),
                detail: None,
            },
            D1Error::CryptoError {
                correlation_id: cid(),
            },
            D1Error::ParsingError {
                correlation_id: cid(),
                detail: None,
            },
            D1Error::Unauthorized {
                correlation_id: cid(),
            },
            D1Error::TokenRejected {
                correlation_id: cid(),
                status: 400,
                detail: None,
            },
            D1Error::Forbidden {
                correlation_id: cid(),
                detail: None,
            },
            D1Error::OperationNotAllowed {
                correlation_id: cid(),
                detail: None,
            },
            D1Error::Tls {
                correlation_id: cid(),
            },
            D1Error::Connection {
                correlation_id: cid(),
                attempts: 3,
            },
        ];
        for endpoint in [Endpoint::Token, Endpoint::Order, Endpoint::Status] {
            all.extend([
                D1Error::BadRequest {
                    correlation_id: cid(),
                    error_code: None,
                    endpoint,
                },
                D1Error::NotFound {
                    correlation_id: cid(),
                    endpoint,
                },
                D1Error::Internal {
                    correlation_id: cid(),
                    endpoint,
                },
                D1Error::Unavailable {
                    correlation_id: cid(),
                    endpoint,
                    attempts: 4,
                },
                D1Error::UnexpectedStatus {
                    correlation_id: cid(),
                    endpoint,
                    status: 502,
                },
                D1Error::InvalidResponse {
                    correlation_id: cid(),
                    endpoint,
                },
                D1Error::Timeout {
                    correlation_id: cid(),
                    endpoint,
                    attempts: 2,
                },
                D1Error::Transport {
                    correlation_id: cid(),
                    endpoint,
                },
            ]);
        }
        all
    }

    /// The table: `(D1Error::kind, endpoint or "-", class on a first attempt)`.
    fn expected(error: &D1Error) -> ErrorClass {
        use ErrorClass::*;
        let endpoint = match error {
            D1Error::BadRequest { endpoint, .. }
            | D1Error::NotFound { endpoint, .. }
            | D1Error::Internal { endpoint, .. }
            | D1Error::Unavailable { endpoint, .. }
            | D1Error::UnexpectedStatus { endpoint, .. }
            | D1Error::InvalidResponse { endpoint, .. }
            | D1Error::Timeout { endpoint, .. }
            | D1Error::Transport { endpoint, .. } => Some(*endpoint),
            _ => None,
        };
        match (error.kind(), endpoint) {
            ("invalid_request", _) => Invalid,
            ("config" | "encryption" | "signing" | "token_rejected" | "unauthorized", _) => Setup,
            ("connection" | "tls", _) => Resendable,
            (_, Some(Endpoint::Token)) => Resendable,
            ("timeout", Some(Endpoint::Order)) => Resendable,
            ("timeout", Some(Endpoint::Status)) => OutcomeUnknown,
            (
                "field_invalid_format"
                | "field_invalid_value"
                | "crypto_error"
                | "parsing_error"
                | "forbidden"
                | "operation_not_allowed",
                _,
            ) => Refused,
            ("bad_request" | "not_found", Some(Endpoint::Order | Endpoint::Status)) => Refused,
            (
                "internal_error" | "unavailable" | "unexpected_status" | "invalid_response"
                | "transport",
                Some(Endpoint::Order | Endpoint::Status),
            ) => OutcomeUnknown,
            other => panic!("no row in the table for {other:?}"),
        }
    }

    #[test]
    fn every_error_and_phase_has_one_class() {
        let errors = every_error();
        assert_eq!(errors.len(), 14 + 3 * 8);
        for error in &errors {
            let first = classify(error, Phase::NothingAtD1Yet);
            assert_eq!(first, expected(error), "{error:?} on a first attempt");
            let again = classify(error, Phase::MaybeAtD1);
            let want = if first == ErrorClass::Invalid {
                ErrorClass::Invalid
            } else {
                ErrorClass::OutcomeUnknown
            };
            assert_eq!(
                again, want,
                "{error:?} after an attempt that may have reached D1"
            );
        }
    }

    #[test]
    fn gateway_answers_and_other_2xx_are_never_refusals() {
        for status in [200, 201, 204, 301, 307, 308, 429, 500, 502, 503, 504] {
            let error = D1Error::UnexpectedStatus {
                correlation_id: CorrelationId::generate(),
                endpoint: Endpoint::Order,
                status,
            };
            assert_eq!(
                classify(&error, Phase::NothingAtD1Yet),
                ErrorClass::OutcomeUnknown,
                "{status}"
            );
        }
    }

    #[test]
    fn a_tls_failure_is_not_a_refusal() {
        let error = D1Error::Tls {
            correlation_id: CorrelationId::generate(),
        };
        assert_eq!(
            ErrorKind::from(classify(&error, Phase::NothingAtD1Yet)),
            ErrorKind::Unavailable
        );
    }

    #[test]
    fn the_window_kind_follows_the_class() {
        use ErrorClass::*;
        let kinds: Vec<_> = [Invalid, Setup, Resendable, OutcomeUnknown, Refused]
            .into_iter()
            .map(ErrorKind::from)
            .collect();
        assert_eq!(
            kinds,
            [
                ErrorKind::Validation,
                ErrorKind::Setup,
                ErrorKind::Unavailable,
                ErrorKind::Checking,
                ErrorKind::Rejected
            ]
        );
    }

    #[test]
    fn a_404_on_status_is_only_not_seen_yet() {
        for error in every_error() {
            let answer = classify_status(&error);
            let not_found_on_status = matches!(
                error,
                D1Error::NotFound {
                    endpoint: Endpoint::Status,
                    ..
                }
            );
            assert_eq!(
                answer == StatusAnswer::NotSeenYet,
                not_found_on_status,
                "{error:?}"
            );
        }
    }
}

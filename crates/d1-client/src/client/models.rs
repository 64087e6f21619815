//! What the two D1 endpoints answer, typed: the order's outcome and the production operation
//! (unknown status values are kept as received).

use desk_domain::{CardId, CorrelationId, IssuerRequestId, OperationId};
use serde::{Deserialize, Serialize};

/// Why an order's outcome is unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownReason {
    /// The request was sent, then the connection broke before an answer.
    ConnectionLost,
    /// The request was sent, then no answer came in time.
    Timeout,
    /// D1 answered 202 but the operation id could not be read.
    UnreadableAcceptance,
}

/// The result of [`D1Client::order_card`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum OrderOutcome {
    /// D1 answered 202.
    #[serde(rename_all = "camelCase")]
    Accepted {
        operation_id: OperationId,
        correlation_id: CorrelationId,
        attempts: u32,
    },
    /// The request may or may not have reached D1. Never resend blindly: call
    /// [`D1Client::production_status`] with this card id (a 404 there means D1 has no order).
    #[serde(rename_all = "camelCase")]
    Unknown {
        card_id: CardId,
        issuer_request_id: IssuerRequestId,
        correlation_id: CorrelationId,
        reason: UnknownReason,
    },
}

macro_rules! open_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(from = "String", into = "String")]
        pub enum $name {
            $($variant,)*
            /// A value this client does not know yet, preserved as received.
            Other(String),
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                match s.as_str() {
                    $($text => Self::$variant,)*
                    _ => Self::Other(s),
                }
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.as_str().to_string()
            }
        }

        impl $name {
            /// The value as D1 spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)*
                    Self::Other(s) => s,
                }
            }
        }
    };
}

open_enum!(
    /// Top-level operation status.
    OperationStatus { Pending = "PENDING", Successful = "SUCCESSFUL", Failed = "FAILED" }
);

open_enum!(
    /// `details.status` of an INSTANT production.
    DetailsStatus {
        CardProdRequested = "CARD_PROD_REQUESTED",
        CardProdReady = "CARD_PROD_READY",
        CardProdDone = "CARD_PROD_DONE",
        DataException = "DATA_EXCEPTION",
        CardProdException = "CARD_PROD_EXCEPTION",
        CardProdCanceled = "CARD_PROD_CANCELED",
    }
);

/// `details` of an operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationDetails {
    pub status: DetailsStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One operation from `productionStatus`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductionOperation {
    pub operation_id: OperationId,
    pub operation: String,
    pub status: OperationStatus,
    pub start_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    pub card_id: CardId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_request_id: Option<IssuerRequestId>,
    pub details: OperationDetails,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_statuses_are_preserved() {
        let op: ProductionOperation = serde_json::from_str(
            r#"{"operationId":"op1","operation":"PRODUCE","status":"ON_HOLD","startTime":"2026-01-01T00:00:00Z",
                "cardId":"c1","details":{"status":"CARD_PROD_QUEUED","reason":"printer warming up"}}"#,
        )
        .unwrap();
        assert_eq!(op.status, OperationStatus::Other("ON_HOLD".into()));
        assert_eq!(
            op.details.status,
            DetailsStatus::Other("CARD_PROD_QUEUED".into())
        );
        let back = serde_json::to_value(&op).unwrap();
        assert_eq!(back["details"]["status"], "CARD_PROD_QUEUED");
        let known: DetailsStatus = "CARD_PROD_DONE".to_string().into();
        assert_eq!(known, DetailsStatus::CardProdDone);
    }
}

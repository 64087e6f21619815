//! The one error that crosses IPC: `{kind, code, ...facts}`. Every field comes from the order
//! workflow's [`WorkflowError`]: `kind` from its one error policy, `code` from
//! [`WorkflowError::code`]. No words: the window says what happened and what to do, in its
//! language, from `ui/src/locales` (keys `error.codes.<code>` and `error.advice.<code>`).

use order_workflow::{
    CardId, ConfigProblemAt, CorrelationId, ErrorCode, FieldError, WorkflowError,
};
use serde::Serialize;

/// What the UI does differently for an error: decided by the order workflow's one error policy
/// (`order_workflow::policy`), never here.
pub use order_workflow::ErrorKind;

/// The one error type that crosses IPC, serialized as `{kind, code, ...}`.
#[derive(Debug, Clone, Serialize, specta::Type, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("{kind:?}: {code:?}")]
pub struct IpcError {
    pub kind: ErrorKind,
    /// The stable code the window words (a union of every code in the bindings).
    pub code: ErrorCode,
    /// The id to quote to IT, when the error came from a D1 exchange.
    pub correlation_id: Option<CorrelationId>,
    /// The order concerned, once it has ids.
    pub card_id: Option<CardId>,
    /// The HTTP status D1 (or a gateway) answered with.
    pub http_status: Option<u16>,
    /// D1's `errorCode`, when it sent one.
    pub d1_error_code: Option<String>,
    /// For `validation`: every field with a problem.
    pub fields: Vec<FieldError>,
    /// For `no_record`: the minutes D1 had to answer (`retry.no_record_after_seconds`).
    pub grace_minutes: Option<u32>,
    /// For `not_supervisor`: the OS user.
    pub user: Option<String>,
    /// For `config_invalid`: where each problem is.
    pub config_problems: Vec<ConfigProblemAt>,
    /// For `ledger` and `ledger_unreachable`: the ledger's own name of its error, for IT.
    pub ledger_error: Option<String>,
}

impl From<WorkflowError> for IpcError {
    fn from(error: WorkflowError) -> Self {
        let facts = error.facts();
        Self {
            kind: error.kind(),
            code: error.code(),
            correlation_id: facts.correlation_id,
            card_id: facts.card_id,
            http_status: facts.http_status,
            d1_error_code: facts.d1_error_code,
            fields: facts.fields,
            grace_minutes: facts.grace_minutes,
            user: facts.user,
            config_problems: facts.config_problems,
            ledger_error: facts.ledger_error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use order_workflow::FieldErrorCode;

    #[test]
    fn serializes_as_coded_object_without_words() {
        let json = serde_json::to_value(IpcError::from(WorkflowError::NoRecord {
            card_id: CardId::parse("card-1").unwrap(),
            after_seconds: 600,
        }))
        .unwrap();
        assert_eq!(json["kind"], "checking");
        assert_eq!(json["code"], "no_record");
        assert_eq!(json["graceMinutes"], 10);
        assert_eq!(json["cardId"], "card-1");
        assert!(json["correlationId"].is_null());
        assert!(json.get("message").is_none() && json.get("whatToDo").is_none());
    }

    #[test]
    fn invalid_draft_lists_every_field() {
        let fields = vec![
            FieldError::new("cardData.pan", FieldErrorCode::InvalidLuhn),
            FieldError::new("cardData.name", FieldErrorCode::TooLong).with_limit(26),
        ];
        let json = serde_json::to_value(IpcError::from(WorkflowError::Invalid(fields))).unwrap();
        assert_eq!(json["kind"], "validation");
        assert_eq!(json["code"], "invalid_fields");
        assert_eq!(json["fields"][0]["field"], "cardData.pan");
        assert_eq!(json["fields"][0]["code"], "invalid_luhn");
        assert_eq!(json["fields"][1]["limit"], 26);
    }

    #[test]
    fn a_ledger_error_is_a_code_with_the_ledgers_name_and_no_words() {
        let json = serde_json::to_value(IpcError::from(WorkflowError::Ledger {
            code: "unreachable".into(),
            message: "connection refused".into(),
        }))
        .unwrap();
        assert_eq!(json["kind"], "unavailable");
        assert_eq!(json["code"], "ledger_unreachable");
        assert_eq!(json["ledgerError"], "unreachable");
        assert!(!json.to_string().contains("refused"), "{json}");
        let json = serde_json::to_value(IpcError::from(WorkflowError::Ledger {
            code: "forbidden".into(),
            message: "permission denied".into(),
        }))
        .unwrap();
        assert_eq!(json["kind"], "internal");
        assert_eq!(json["code"], "ledger");
    }
}

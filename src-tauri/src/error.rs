use order_workflow::{FieldProblem, WorkflowError};
use serde::Serialize;

/// What the UI does differently for an error: decided by the order workflow's one error policy
/// (`order_workflow::policy`), never here.
pub use order_workflow::ErrorKind;

/// The one error type that crosses IPC, serialized as `{kind, message, ...}`.
/// Messages are for people: what happened, what to do, and the correlation id.
#[derive(Debug, Clone, Serialize, specta::Type, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("{message}")]
pub struct IpcError {
    pub kind: ErrorKind,
    /// What happened, in plain English (the UI translates `code` when it knows it).
    pub message: String,
    /// A stable code for the UI's translations, e.g. D1's error class.
    pub code: Option<String>,
    /// What the teller or IT should do next.
    pub what_to_do: Option<String>,
    /// The id to quote to IT, when the error came from a D1 exchange.
    pub correlation_id: Option<String>,
    /// The order concerned, once it has ids.
    pub card_id: Option<String>,
    /// For `validation`: every field with a problem.
    pub fields: Vec<FieldProblem>,
}

impl IpcError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            code: None,
            what_to_do: None,
            correlation_id: None,
            card_id: None,
            fields: Vec::new(),
        }
    }
}

impl From<WorkflowError> for IpcError {
    fn from(error: WorkflowError) -> Self {
        let kind = error.kind();
        match error {
            WorkflowError::Invalid(fields) => Self {
                fields,
                code: Some("invalid_fields".to_owned()),
                ..Self::new(kind, "Some fields need correcting.")
            },
            WorkflowError::D1 { error, card_id, .. } => Self {
                code: Some(error.kind().to_owned()),
                what_to_do: Some(error.what_to_do().to_owned()),
                correlation_id: error.correlation_id().map(|c| c.as_str().to_owned()),
                card_id,
                ..Self::new(kind, error.user_message())
            },
            WorkflowError::SentNotRecorded {
                card_id,
                correlation_id,
                ..
            } => Self {
                code: Some("sent_not_recorded".to_owned()),
                what_to_do: Some(
                    "Do not order again: the app is still recording this order and asking D1 about it."
                        .to_owned(),
                ),
                correlation_id: Some(correlation_id),
                card_id: Some(card_id),
                ..Self::new(kind, "The order was sent, but this desk could not record it yet.")
            },
            WorkflowError::NoRecord {
                card_id,
                after_seconds,
            } => Self {
                code: Some("no_record".to_owned()),
                what_to_do: Some(
                    "Check the station's output tray before ordering again; the app keeps asking D1."
                        .to_owned(),
                ),
                card_id: Some(card_id),
                ..Self::new(
                    kind,
                    format!("D1 has no record of this order {} minutes after it was sent.", after_seconds.div_ceil(60)),
                )
            },
            WorkflowError::Refused { code, message } => Self {
                code: Some(code),
                ..Self::new(kind, message)
            },
            WorkflowError::NothingToRetry | WorkflowError::NotSendable { .. } => Self {
                code: Some("nothing_to_retry".to_owned()),
                ..Self::new(kind, error.to_string())
            },
            WorkflowError::Setup(_) => Self {
                code: Some("setup".to_owned()),
                what_to_do: Some(
                    "Ask IT to run `issuance-desk-admin doctor`: it checks the configuration, the keychain and D1."
                        .to_owned(),
                ),
                ..Self::new(kind, error.to_string())
            },
            WorkflowError::Training(_) => Self {
                code: Some("training_unavailable".to_owned()),
                what_to_do: Some(
                    "Restart Issuance Desk; if it happens again, give IT the log file.".to_owned(),
                ),
                ..Self::new(kind, error.to_string())
            },
            WorkflowError::Journal(ref journal) => Self {
                code: Some(match journal {
                    order_journal::JournalError::InUse { .. } => "journal_in_use".to_owned(),
                    order_journal::JournalError::OtherD1 { .. } => "journal_other_d1".to_owned(),
                    _ => "journal".to_owned(),
                }),
                what_to_do: Some("Nothing was sent. Try again; if it repeats, call IT.".to_owned()),
                ..Self::new(kind, error.to_string())
            },
            WorkflowError::Ledger { code, message } => Self {
                code: Some(format!("ledger_{code}")),
                what_to_do: Some(
                    "The branch ledger cannot answer now; orders are kept on each desk and sent when it is back. If it lasts, call IT."
                        .to_owned(),
                ),
                ..Self::new(kind, message)
            },
            WorkflowError::Task(_) => Self {
                code: Some("journal".to_owned()),
                what_to_do: Some("Nothing was sent. Try again; if it repeats, call IT.".to_owned()),
                ..Self::new(kind, error.to_string())
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_coded_object_not_string() {
        let error = IpcError::new(ErrorKind::Validation, "The PAN fails the check digit.");
        let json = serde_json::to_value(&error).unwrap();
        assert_eq!(json["kind"], "validation");
        assert_eq!(json["message"], "The PAN fails the check digit.");
        assert_eq!(json["fields"], serde_json::json!([]));
        assert!(json["correlationId"].is_null());
    }

    #[test]
    fn invalid_draft_lists_every_field() {
        let fields = vec![
            FieldProblem {
                field: "cardData.pan".into(),
                code: "invalid_luhn".into(),
                limit: None,
                character: None,
            },
            FieldProblem {
                field: "cardData.name".into(),
                code: "too_long".into(),
                limit: Some(26),
                character: None,
            },
        ];
        let json = serde_json::to_value(IpcError::from(WorkflowError::Invalid(fields))).unwrap();
        assert_eq!(json["kind"], "validation");
        assert_eq!(json["fields"][0]["field"], "cardData.pan");
        assert_eq!(json["fields"][1]["limit"], 26);
    }
}

use serde::Serialize;

/// What the UI does differently for an error. Add a kind only when the UI acts on it
/// differently from the existing ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The input is wrong; `fields` says where. Nothing was sent.
    Validation,
    /// Something unexpected inside the app; the message says what to tell IT.
    Internal,
}

/// The one error type that crosses IPC, serialized as `{kind, message, ...}`.
/// Messages are for people: what happened, what to do, and the correlation id.
#[derive(Debug, Clone, Serialize, specta::Type, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("{message}")]
pub struct IpcError {
    pub kind: ErrorKind,
    pub message: String,
    /// The id to quote to IT, when the error came from a D1 exchange.
    pub correlation_id: Option<String>,
}

impl IpcError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            correlation_id: None,
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
        assert_eq!(
            json,
            serde_json::json!({
                "kind": "validation",
                "message": "The PAN fails the check digit.",
                "correlationId": null,
            })
        );
    }
}

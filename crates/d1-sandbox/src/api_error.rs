//! D1-style error responses: `{errorCode?, error?}`; 503 has no body.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// One D1 error answer. `error` names a field or says what is wrong; never a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: Option<&'static str>,
    pub error: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, code: Option<&'static str>, error: impl Into<String>) -> Self {
        Self {
            status,
            code,
            error: Some(error.into()),
        }
    }

    pub fn invalid_format(field: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("FIELD_INVALID_FORMAT"), field)
    }

    pub fn invalid_value(field: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("FIELD_INVALID_VALUE"), field)
    }

    pub fn crypto(error: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("CRYPTO_ERROR"), error)
    }

    pub fn parsing(field: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("PARSING_ERROR"), field)
    }

    /// 400 with no error code (D1's "-": general error).
    pub fn bad_request(error: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, None, error)
    }

    pub fn unauthorized(error: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            Some("AUTHORIZER_UNAUTHORIZED"),
            error,
        )
    }

    pub fn forbidden(error: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, Some("AUTHORIZER_FORBIDDEN"), error)
    }

    pub fn not_allowed(field: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, Some("OPERATION_NOT_ALLOWED"), field)
    }

    pub fn not_found(error: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, error)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            Some("INTERNAL_ERROR"),
            "simulated internal error",
        )
    }

    pub fn status_only(status: StatusCode) -> Self {
        Self {
            status,
            code: None,
            error: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.code.is_none() && self.error.is_none() {
            return self.status.into_response();
        }
        let mut body = serde_json::Map::new();
        if let Some(code) = self.code {
            body.insert("errorCode".to_owned(), code.into());
        }
        if let Some(error) = self.error {
            body.insert("error".to_owned(), error.into());
        }
        (self.status, Json(serde_json::Value::Object(body))).into_response()
    }
}

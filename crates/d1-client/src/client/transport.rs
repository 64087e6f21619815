//! Sending one request to D1: retries within the budget (same body, same correlation id), the
//! 401 → fresh token → once more rule, TLS and "may have been sent" told apart, and
//! [`ensure_success`], the one place an HTTP status and D1's `{errorCode, error}` body become a
//! typed [`D1Error`].

use desk_domain::CorrelationId;
use reqwest::StatusCode;
use serde::Deserialize;
use tokio::time::Instant;

use super::D1Client;
use super::models::UnknownReason;
use super::retry::parse_retry_after;
use crate::auth::AccessToken;
use crate::error::{D1Error, Endpoint};

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(rename = "errorCode")]
    error_code: Option<String>,
    error: Option<String>,
}

/// How a single send failed.
enum SendError {
    /// TLS failed (handshake, certificate, alert): a configuration problem, not retried.
    Tls,
    /// The request certainly did not reach the server.
    NotSent { timeout: bool },
    /// The request may have reached the server.
    MaybeSent { timeout: bool },
}

/// True when a rustls error sits anywhere in the chain. `io::Error` hides its inner error from
/// `source()` (it forwards to the inner error's source), so unwrap those with `get_ref`.
fn has_tls_error(err: &(dyn std::error::Error + 'static), depth: u8) -> bool {
    if depth > 16 {
        return false;
    }
    if err.downcast_ref::<rustls::Error>().is_some() {
        return true;
    }
    if let Some(io) = err.downcast_ref::<std::io::Error>()
        && let Some(inner) = io.get_ref()
    {
        // A TLS alert from the peer after our handshake finished (TLS 1.3: a client certificate
        // refused) reaches us from tokio-rustls as a plain message, not as a rustls::Error. The
        // server refused the session, so it never processed the request.
        if io.kind() == std::io::ErrorKind::InvalidData
            && inner.to_string().starts_with("received fatal alert")
        {
            return true;
        }
        if has_tls_error(inner, depth + 1) {
            return true;
        }
    }
    err.source().is_some_and(|s| has_tls_error(s, depth + 1))
}

fn classify(e: &reqwest::Error) -> SendError {
    if has_tls_error(e, 0) {
        return SendError::Tls;
    }
    if e.is_connect() {
        SendError::NotSent {
            timeout: e.is_timeout(),
        }
    } else {
        SendError::MaybeSent {
            timeout: e.is_timeout(),
        }
    }
}

pub(super) enum Exchange {
    Answer {
        status: StatusCode,
        body: Option<Vec<u8>>,
        attempts: u32,
    },
    Unknown(UnknownReason),
}

enum RetryCause {
    Unavailable,
    NotSent { timeout: bool },
    MaybeSent { timeout: bool },
}

impl D1Client {
    /// Sends with retries. `idempotent` requests are retried after ambiguous failures too;
    /// others return [`Exchange::Unknown`] then. With a token, a 401 refreshes it once and
    /// retries once.
    pub(super) async fn exchange(
        &self,
        endpoint: Endpoint,
        correlation_id: &CorrelationId,
        idempotent: bool,
        mut token: Option<AccessToken>,
        make: impl Fn(Option<&AccessToken>) -> Result<reqwest::RequestBuilder, D1Error>,
    ) -> Result<Exchange, D1Error> {
        let policy = &self.inner.config.retry;
        let started = Instant::now();
        let mut attempts = 0u32;
        let mut refreshed = false;
        // A 503 is an answer: for a request that is not idempotent, D1 (or a gateway in front of
        // it) may have acted on it, so a later "could not connect" must not hide it.
        let mut answered_unavailable = false;
        loop {
            attempts += 1;
            let mut retry_after = None;
            let request = make(token.as_ref())?.header("x-correlation-id", correlation_id.as_str());
            let cause = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    if status == StatusCode::UNAUTHORIZED
                        && !refreshed
                        && let Some(stale) = token.take()
                    {
                        refreshed = true;
                        attempts -= 1;
                        tracing::info!(correlation_id = %correlation_id, %endpoint, "d1 answered 401, refreshing the token once");
                        self.invalidate(&stale).await;
                        token = Some(Box::pin(self.token()).await?);
                        continue;
                    }
                    if status == StatusCode::SERVICE_UNAVAILABLE {
                        retry_after = response
                            .headers()
                            .get(reqwest::header::RETRY_AFTER)
                            .and_then(|v| parse_retry_after(v, std::time::SystemTime::now()));
                        answered_unavailable = true;
                        RetryCause::Unavailable
                    } else {
                        let body = response.bytes().await.ok().map(|b| b.to_vec());
                        tracing::info!(correlation_id = %correlation_id, %endpoint, status = status.as_u16(), attempts, "d1 answered");
                        return Ok(Exchange::Answer {
                            status,
                            body,
                            attempts,
                        });
                    }
                }
                Err(e) => match classify(&e) {
                    SendError::Tls => {
                        tracing::warn!(correlation_id = %correlation_id, %endpoint, "d1 TLS failure");
                        return Err(D1Error::Tls {
                            correlation_id: correlation_id.clone(),
                        });
                    }
                    SendError::NotSent { timeout } => RetryCause::NotSent { timeout },
                    SendError::MaybeSent { timeout } if idempotent => {
                        RetryCause::MaybeSent { timeout }
                    }
                    SendError::MaybeSent { timeout } => {
                        tracing::warn!(correlation_id = %correlation_id, %endpoint, timeout, "d1 outcome unknown");
                        return Ok(Exchange::Unknown(if timeout {
                            UnknownReason::Timeout
                        } else {
                            UnknownReason::ConnectionLost
                        }));
                    }
                },
            };
            if let Some(delay) = policy.delay_after(attempts, started.elapsed(), retry_after) {
                tracing::info!(correlation_id = %correlation_id, %endpoint, attempts, delay_ms = delay.as_millis() as u64, retry_after_s = retry_after.map(|d| d.as_secs()), "d1 call will be retried");
                tokio::time::sleep(delay).await;
                continue;
            }
            let correlation_id = correlation_id.clone();
            let cause = match cause {
                RetryCause::NotSent { .. } if answered_unavailable && !idempotent => {
                    RetryCause::Unavailable
                }
                cause => cause,
            };
            return Err(match cause {
                RetryCause::Unavailable => D1Error::Unavailable {
                    correlation_id,
                    endpoint,
                    attempts,
                },
                RetryCause::NotSent { timeout: false } => D1Error::Connection {
                    correlation_id,
                    attempts,
                },
                RetryCause::NotSent { timeout: true } | RetryCause::MaybeSent { timeout: true } => {
                    D1Error::Timeout {
                        correlation_id,
                        endpoint,
                        attempts,
                    }
                }
                RetryCause::MaybeSent { timeout: false } => D1Error::Transport {
                    correlation_id,
                    endpoint,
                },
            });
        }
    }

    pub(super) fn authorized(
        &self,
        rb: reqwest::RequestBuilder,
        token: Option<&AccessToken>,
    ) -> reqwest::RequestBuilder {
        match token {
            Some(t) => rb.bearer_auth(t.0.expose().as_str()),
            None => rb,
        }
    }
}

/// Turns a non-success status and D1's `{errorCode, error}` body into a typed error.
pub(super) fn ensure_success(
    status: StatusCode,
    body: Option<&[u8]>,
    correlation_id: CorrelationId,
    endpoint: Endpoint,
) -> D1Error {
    let parsed: Option<ErrorBody> = body
        .filter(|b| !b.is_empty())
        .and_then(|b| serde_json::from_slice(b).ok());
    let code = parsed.as_ref().and_then(|p| p.error_code.clone());
    // D1's `error` is for troubleshooting only; keep a bounded, printable copy for IT.
    let detail = parsed.and_then(|p| p.error).map(|e| {
        e.chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect::<String>()
    });
    match (status.as_u16(), code.as_deref()) {
        (400, Some("FIELD_INVALID_FORMAT")) => D1Error::FieldInvalidFormat {
            correlation_id,
            detail,
        },
        (400, Some("FIELD_INVALID_VALUE")) => D1Error::FieldInvalidValue {
            correlation_id,
            detail,
        },
        (400, Some("CRYPTO_ERROR")) => D1Error::CryptoError { correlation_id },
        (400, Some("PARSING_ERROR")) => D1Error::ParsingError {
            correlation_id,
            detail,
        },
        (400, _) => D1Error::BadRequest {
            correlation_id,
            error_code: code,
            endpoint,
        },
        (401, _) => D1Error::Unauthorized { correlation_id },
        (403, Some("OPERATION_NOT_ALLOWED")) => D1Error::OperationNotAllowed {
            correlation_id,
            detail,
        },
        (403, _) => D1Error::Forbidden {
            correlation_id,
            detail,
        },
        (404, _) => D1Error::NotFound {
            correlation_id,
            endpoint,
        },
        (500, _) => D1Error::Internal {
            correlation_id,
            endpoint,
        },
        (503, _) => D1Error::Unavailable {
            correlation_id,
            endpoint,
            attempts: 1,
        },
        (s, _) => D1Error::UnexpectedStatus {
            correlation_id,
            endpoint,
            status: s,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_typed_errors() {
        let cid = CorrelationId::generate();
        let e = |status: u16, body: &str| {
            ensure_success(
                StatusCode::from_u16(status).unwrap(),
                Some(body.as_bytes()),
                cid.clone(),
                Endpoint::Order,
            )
            .kind()
        };
        assert_eq!(
            e(
                400,
                r#"{"errorCode":"FIELD_INVALID_FORMAT","error":"persoStation"}"#
            ),
            "field_invalid_format"
        );
        assert_eq!(
            e(400, r#"{"errorCode":"FIELD_INVALID_VALUE"}"#),
            "field_invalid_value"
        );
        assert_eq!(e(400, r#"{"errorCode":"CRYPTO_ERROR"}"#), "crypto_error");
        assert_eq!(e(400, r#"{"errorCode":"PARSING_ERROR"}"#), "parsing_error");
        assert_eq!(e(400, "not json"), "bad_request");
        assert_eq!(
            e(401, r#"{"errorCode":"AUTHORIZER_UNAUTHORIZED"}"#),
            "unauthorized"
        );
        assert_eq!(
            e(403, r#"{"errorCode":"AUTHORIZER_FORBIDDEN"}"#),
            "forbidden"
        );
        assert_eq!(
            e(403, r#"{"errorCode":"OPERATION_NOT_ALLOWED"}"#),
            "operation_not_allowed"
        );
        assert_eq!(e(404, ""), "not_found");
        assert_eq!(
            e(500, r#"{"errorCode":"INTERNAL_ERROR"}"#),
            "internal_error"
        );
        assert_eq!(e(418, ""), "unexpected_status");
        assert_eq!(e(502, "<html>bad gateway</html>"), "unexpected_status");
        assert_eq!(e(504, ""), "unexpected_status");
        assert_eq!(e(200, "{}"), "unexpected_status");
        assert_eq!(e(307, ""), "unexpected_status");
    }
}

//! The D1 access token: an ES256 JWT-bearer assertion exchanged at `/oauth2/token`, cached and
//! refreshed before it expires; concurrent callers share one fetch.

use std::sync::atomic::Ordering;
use std::time::Duration;

use desk_domain::CorrelationId;
use desk_domain::Sensitive;
use reqwest::StatusCode;
use serde::Deserialize;
use tokio::time::Instant;
use zeroize::Zeroizing;

use super::D1Client;
use super::transport::{Exchange, ensure_success};
use crate::auth::{AccessToken, sign_assertion};
use crate::error::{D1Error, Endpoint};

#[derive(Deserialize)]
struct TokenBody {
    access_token: Zeroizing<String>,
    expires_in: f64,
}

/// D1's reason for refusing a token request: its `{errorCode, error}` or OAuth's
/// `{error, error_description}`, bounded and printable (for IT; never shown to a teller).
fn token_refusal_reason(body: Option<&[u8]>) -> Option<String> {
    #[derive(Deserialize)]
    struct Refusal {
        #[serde(rename = "errorCode")]
        error_code: Option<String>,
        error: Option<String>,
        error_description: Option<String>,
    }
    let refusal: Refusal = serde_json::from_slice(body.filter(|b| !b.is_empty())?).ok()?;
    let parts: Vec<String> = [refusal.error_code, refusal.error, refusal.error_description]
        .into_iter()
        .flatten()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    let text: String = parts
        .join(": ")
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    (!text.is_empty()).then_some(text)
}

pub(super) struct CachedToken {
    token: AccessToken,
    refresh_at: Instant,
}

impl D1Client {
    /// Returns a valid access token, fetching one if none is cached or it is about to expire.
    /// Concurrent callers share one fetch. Use it as the connectivity check.
    pub async fn ensure_token(&self) -> Result<(), D1Error> {
        self.token().await.map(|_| ())
    }

    pub(super) async fn token(&self) -> Result<AccessToken, D1Error> {
        // The lock is held across the fetch on purpose: concurrent callers wait for one refresh.
        let mut guard = self.inner.token.lock().await;
        if let Some(cached) = guard.as_ref()
            && Instant::now() < cached.refresh_at
        {
            return Ok(cached.token.clone());
        }
        let fresh = self.fetch_token().await?;
        let token = fresh.token.clone();
        *guard = Some(fresh);
        Ok(token)
    }

    pub(super) async fn invalidate(&self, stale: &AccessToken) {
        let mut guard = self.inner.token.lock().await;
        if guard.as_ref().is_some_and(|c| &c.token == stale) {
            *guard = None;
        }
    }

    async fn fetch_token(&self) -> Result<CachedToken, D1Error> {
        let c = &self.inner.config;
        let correlation_id = CorrelationId::generate();
        let url = format!("{}/oauth2/token", c.auth_base_url.trim_end_matches('/'));
        let exchange = self
            .exchange(Endpoint::Token, &correlation_id, true, None, |_| {
                let assertion = sign_assertion(
                    &self.inner.signing_key,
                    &c.issuer_id,
                    c.assertion_audience.as_deref(),
                    std::time::SystemTime::now(),
                    c.assertion_lifetime,
                )?;
                let form = [
                    ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                    ("assertion", assertion.0.expose().as_str()),
                ];
                Ok(self.inner.http.post(&url).form(&form))
            })
            .await?;
        let (status, body) = match exchange {
            Exchange::Answer { status, body, .. } => (status, body),
            Exchange::Unknown(_) => {
                return Err(D1Error::Transport {
                    correlation_id,
                    endpoint: Endpoint::Token,
                });
            }
        };
        if status != StatusCode::OK {
            return Err(match status.as_u16() {
                400 | 401 | 403 => D1Error::TokenRejected {
                    correlation_id,
                    status: status.as_u16(),
                    detail: token_refusal_reason(body.as_deref()),
                },
                _ => ensure_success(status, body.as_deref(), correlation_id, Endpoint::Token),
            });
        }
        let parsed: TokenBody = body
            .as_deref()
            .and_then(|b| serde_json::from_slice(b).ok())
            .filter(|t: &TokenBody| {
                !t.access_token.is_empty() && t.expires_in.is_finite() && t.expires_in > 0.0
            })
            .ok_or(D1Error::InvalidResponse {
                correlation_id: correlation_id.clone(),
                endpoint: Endpoint::Token,
            })?;
        let lifetime = Duration::from_secs_f64(parsed.expires_in.min(86_400.0));
        let margin = c.token_refresh_margin.min(lifetime / 2);
        self.inner.tokens_fetched.fetch_add(1, Ordering::Relaxed);
        tracing::info!(correlation_id = %correlation_id, expires_in_s = lifetime.as_secs(), "d1 token fetched");
        Ok(CachedToken {
            token: AccessToken(Sensitive::new(parsed.access_token.to_string())),
            refresh_at: Instant::now() + lifetime - margin,
        })
    }
}

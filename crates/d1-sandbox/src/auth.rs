//! `POST /authz/v1/oauth2/token`: the JWT-bearer grant with an ES256 assertion.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use rand::Rng as _;
use serde::Deserialize;
use serde_json::json;

use crate::api_error::ApiError;
use crate::secret::Secret;
use crate::state::{Shared, TokenInfo, lock};

/// The only grant D1 accepts.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Longest assertion lifetime D1 accepts.
const MAX_ASSERTION_LIFETIME_SECS: i64 = 15 * 60;
/// Clock skew tolerated on `exp`.
const CLOCK_SKEW_SECS: i64 = 30;

#[derive(Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    assertion: Option<Secret>,
}

pub(crate) async fn token(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match issue(&s, &headers, &body) {
        Ok(response) => response.into_response(),
        Err(e) => e.into_response(),
    }
}

fn issue(
    s: &Shared,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Json<serde_json::Value>, ApiError> {
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    let parsed: Result<TokenRequest, ()> = if is_json {
        serde_json::from_slice(body).map_err(|_| ())
    } else {
        serde_urlencoded::from_bytes(body).map_err(|_| ())
    };
    let request = parsed.map_err(|()| {
        ApiError::bad_request("the body must be form-encoded or JSON with grant_type and assertion")
    })?;
    match request.grant_type.as_deref() {
        None | Some("") => return Err(ApiError::invalid_format("grant_type")),
        Some(JWT_BEARER_GRANT) => {}
        Some(_) => return Err(ApiError::invalid_value("grant_type")),
    }
    let assertion = match &request.assertion {
        Some(a) if !a.expose().is_empty() => a.expose(),
        _ => return Err(ApiError::invalid_format("assertion")),
    };
    let issuer_id = verify_assertion(s, assertion)?;

    let access_token: String = rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(48)
        .map(char::from)
        .collect();
    let lifetime = {
        let faults = lock(&s.faults);
        let announced = Duration::from_secs(s.token_lifetime);
        faults
            .token_actual_lifetime
            .map_or(announced, |actual| actual.min(announced))
    };
    lock(&s.tokens).insert(
        access_token.clone(),
        TokenInfo {
            issuer_id: issuer_id.clone(),
            expires_at: Instant::now() + lifetime,
        },
    );
    s.count_token();
    tracing::info!(issuer_id = %issuer_id, "access token issued");
    Ok(Json(json!({
        "access_token": access_token,
        "expires_in": s.token_lifetime,
        "scope": s.scope,
        "token_type": "Bearer",
    })))
}

/// Checks an assertion and returns the issuer it authenticates.
fn verify_assertion(s: &Shared, assertion: &str) -> Result<String, ApiError> {
    let header = josekit::jwt::decode_header(assertion)
        .map_err(|_| ApiError::unauthorized("assertion is not a signed JWT"))?;
    let kid = header
        .claim("kid")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| ApiError::unauthorized("assertion header has no kid"))?;
    let (issuer_id, verifier) = s
        .verifiers
        .get(kid)
        .ok_or_else(|| ApiError::unauthorized("assertion kid is not a known issuer key"))?;
    let (payload, _) = josekit::jwt::decode_with_verifier(assertion, verifier).map_err(|_| {
        ApiError::unauthorized("assertion signature is not a valid ES256 signature")
    })?;
    if payload.issuer() != Some(issuer_id.as_str()) {
        return Err(ApiError::unauthorized(
            "assertion iss must be the issuerId the key belongs to",
        ));
    }
    if payload.subject() != Some(issuer_id.as_str()) {
        return Err(ApiError::unauthorized(
            "assertion sub must equal iss (the issuerId)",
        ));
    }
    // NumericDate may carry a fraction; whole seconds are enough here.
    let exp = payload
        .claim("exp")
        .and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
        .ok_or_else(|| ApiError::unauthorized("assertion has no numeric exp claim"))?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    if exp + CLOCK_SKEW_SECS < now {
        return Err(ApiError::unauthorized("assertion has expired"));
    }
    if exp > now + MAX_ASSERTION_LIFETIME_SECS + CLOCK_SKEW_SECS {
        return Err(ApiError::unauthorized(
            "assertion exp is more than 15 minutes in the future",
        ));
    }
    Ok(issuer_id.clone())
}

/// The issuer of a valid bearer token, or 401 AUTHORIZER_UNAUTHORIZED.
pub(crate) fn authorize(s: &Shared, headers: &HeaderMap) -> Result<String, ApiError> {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::unauthorized("missing bearer access token"))?;
    let mut tokens = lock(&s.tokens);
    match tokens.get(token) {
        Some(info) if info.expires_at > Instant::now() => Ok(info.issuer_id.clone()),
        Some(_) => {
            tokens.remove(token);
            Err(ApiError::unauthorized("access token has expired"))
        }
        None => Err(ApiError::unauthorized("access token is not valid")),
    }
}

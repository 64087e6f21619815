//! The HTTP client: one reqwest client (rustls, optional mTLS, optional extra CA), the token
//! cache, retries, and the two D1 calls.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rand::Rng;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use tokio::time::Instant;
use zeroize::Zeroizing;

use crate::auth::{AccessToken, MAX_ASSERTION_LIFETIME, SigningKey, sign_assertion};
use crate::error::{D1Error, Endpoint};
use crate::ids::{CardId, CorrelationId, IssuerId, IssuerRequestId, OperationId};
use crate::order::PreparedOrder;
use crate::tls::ClientIdentity;

/// Exponential backoff with jitter for requests that certainly did not reach D1 (connect
/// failures, connect timeouts) and for 503, bounded only by a time budget: attempts go on until
/// the next one would start after `budget` has passed since the first. D1's `Retry-After` is
/// honoured, capped by what is left of the budget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay before the first retry; doubled each time.
    pub initial_delay: Duration,
    /// Upper bound of one backoff delay (a longer `Retry-After` is still honoured).
    pub max_delay: Duration,
    /// No retry starts once this much time has passed since the first attempt. Zero: no retry.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    /// 0.5 s doubling to at most 8 s, within 30 s.
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            budget: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            budget: Duration::ZERO,
            ..Self::default()
        }
    }

    /// The delay before attempt `attempts + 1`, or `None` when the budget is spent.
    ///
    /// The backoff is exponential with jitter (uniformly between half and all of
    /// `initial_delay × 2^(attempts-1)`, at most `max_delay`); a `Retry-After` from D1 makes it
    /// at least that long. The delay is cut to what is left of the budget, so the last attempt
    /// starts when the budget ends, never after.
    pub fn delay_after(
        &self,
        attempts: u32,
        elapsed: Duration,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        let left = self.budget.checked_sub(elapsed).filter(|l| !l.is_zero())?;
        let exp = self
            .initial_delay
            .saturating_mul(1u32 << attempts.saturating_sub(1).min(20))
            .min(self.max_delay);
        let half = exp / 2;
        let jitter = Duration::from_nanos(
            rand::rng().random_range(0..=half.as_nanos().min(u128::from(u64::MAX)) as u64),
        );
        let backoff = half + jitter;
        let delay = retry_after.map_or(backoff, |wait| wait.max(backoff));
        Some(delay.min(left))
    }
}

/// `Retry-After` as D1 (or a gateway) may send it with a 503: delay-seconds or an HTTP date.
pub(crate) fn parse_retry_after(
    value: &reqwest::header::HeaderValue,
    now: std::time::SystemTime,
) -> Option<Duration> {
    let text = value.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Connection and behaviour settings. Holds public material and the mTLS identity only; the
/// signing key is passed to [`D1Client::new`] separately.
#[derive(Clone, Debug)]
pub struct D1Config {
    /// e.g. `https://api.d1.thalescloud.io/authz/v1`
    pub auth_base_url: String,
    /// e.g. `https://api.d1.thalescloud.io/banking/v1`
    pub banking_base_url: String,
    pub issuer_id: IssuerId,
    /// mTLS client identity, when D1 (or the gateway) requires one.
    pub client_identity: Option<ClientIdentity>,
    /// Extra trusted CA certificates (PEM bundle), added to the platform roots.
    pub extra_ca_pem: Option<String>,
    /// Trust only `extra_ca_pem`, not the platform roots (test peers, private gateways).
    pub trust_only_extra_ca: bool,
    /// Allow `http://` base URLs, and only on a loopback host (tests and development builds
    /// against a local sandbox). Never for staging or production; the desk sets it only in
    /// development builds.
    pub allow_plain_http_loopback: bool,
    pub connect_timeout: Duration,
    /// Longest wait for any read from the server.
    pub read_timeout: Duration,
    /// Longest time for one whole request.
    pub request_timeout: Duration,
    /// `exp - iat` of the assertion; at most 15 minutes (default 5).
    pub assertion_lifetime: Duration,
    /// Optional `aud` claim of the assertion. D1 marks `aud` optional and publishes no value
    /// for it (REFERENCE.md §1.3), so there is no default.
    pub assertion_audience: Option<String>,
    /// Refresh the token this long before it expires (at most half its lifetime).
    pub token_refresh_margin: Duration,
    pub retry: RetryPolicy,
}

impl D1Config {
    /// Settings with defaults: 5 s connect, 20 s read, 30 s per request, 5 min assertions,
    /// refresh 60 s before expiry, [`RetryPolicy::default`].
    pub fn new(
        auth_base_url: impl Into<String>,
        banking_base_url: impl Into<String>,
        issuer_id: IssuerId,
    ) -> Self {
        Self {
            auth_base_url: auth_base_url.into(),
            banking_base_url: banking_base_url.into(),
            issuer_id,
            client_identity: None,
            extra_ca_pem: None,
            trust_only_extra_ca: false,
            allow_plain_http_loopback: false,
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(30),
            assertion_lifetime: Duration::from_secs(300),
            assertion_audience: None,
            token_refresh_margin: Duration::from_secs(60),
            retry: RetryPolicy::default(),
        }
    }

    fn check(&self) -> Result<(), D1Error> {
        for (key, url) in [
            ("authBaseUrl", &self.auth_base_url),
            ("bankingBaseUrl", &self.banking_base_url),
        ] {
            let parsed =
                reqwest::Url::parse(url).map_err(|_| D1Error::config(key, "is not a valid URL"))?;
            let loopback = match parsed.host() {
                Some(url::Host::Domain(d)) => d == "localhost",
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            };
            match parsed.scheme() {
                "https" => {}
                "http" if self.allow_plain_http_loopback && loopback => {}
                "http" if self.allow_plain_http_loopback => {
                    return Err(D1Error::config(
                        key,
                        "plain http:// is allowed on a loopback host only",
                    ));
                }
                _ => return Err(D1Error::config(key, "must be an https:// URL")),
            }
        }
        if self.assertion_lifetime.is_zero() || self.assertion_lifetime > MAX_ASSERTION_LIFETIME {
            return Err(D1Error::config(
                "assertionLifetime",
                "must be between 1 second and 15 minutes",
            ));
        }
        if self.trust_only_extra_ca && self.extra_ca_pem.is_none() {
            return Err(D1Error::config(
                "trustOnlyExtraCa",
                "needs an extra CA bundle",
            ));
        }
        Ok(())
    }
}

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
    pub operation_id: String,
    pub operation: String,
    pub status: OperationStatus,
    pub start_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    pub card_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_request_id: Option<String>,
    pub details: OperationDetails,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Deserialize)]
struct StatusBody {
    operations: Vec<ProductionOperation>,
}

#[derive(Deserialize)]
struct AcceptedBody {
    #[serde(rename = "operationId")]
    operation_id: OperationId,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(rename = "errorCode")]
    error_code: Option<String>,
    error: Option<String>,
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

#[derive(Deserialize)]
struct TokenBody {
    access_token: Zeroizing<String>,
    expires_in: f64,
}

struct CachedToken {
    token: AccessToken,
    refresh_at: Instant,
}

struct Inner {
    http: reqwest::Client,
    config: D1Config,
    signing_key: SigningKey,
    token: Mutex<Option<CachedToken>>,
    tokens_fetched: AtomicUsize,
}

/// The D1 client. Cheap to clone (shared state); safe to use from many tasks at once.
#[derive(Clone)]
pub struct D1Client {
    inner: Arc<Inner>,
}

impl fmt::Debug for D1Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("D1Client")
            .field("banking_base_url", &self.inner.config.banking_base_url)
            .field("issuer_id", &self.inner.config.issuer_id)
            .finish_non_exhaustive()
    }
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

enum Exchange {
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
    /// Builds the HTTP client: rustls (mTLS identity and extra CA when configured), HTTPS only
    /// (plain `http://` only to a loopback host when the configuration allows it), and no
    /// redirect is ever followed — a 3xx is an answer like any other, so the assertion, the
    /// token and the JWE body are never re-sent to another URL.
    pub fn new(config: D1Config, signing_key: SigningKey) -> Result<D1Client, D1Error> {
        config.check()?;
        let builder = reqwest::Client::builder()
            .user_agent(concat!("IssuanceDesk/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .timeout(config.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .https_only(!config.allow_plain_http_loopback);
        let builder = crate::tls::configure(builder, &config)?;
        let http = builder.build().map_err(|_| {
            D1Error::config(
                "tls",
                "the HTTPS client could not be built from these settings",
            )
        })?;
        Ok(D1Client {
            inner: Arc::new(Inner {
                http,
                config,
                signing_key,
                token: Mutex::new(None),
                tokens_fetched: AtomicUsize::new(0),
            }),
        })
    }

    /// How many tokens this client has fetched (for diagnostics and tests).
    pub fn tokens_fetched(&self) -> usize {
        self.inner.tokens_fetched.load(Ordering::Relaxed)
    }

    /// Returns a valid access token, fetching one if none is cached or it is about to expire.
    /// Concurrent callers share one fetch. Use it as the connectivity check.
    pub async fn ensure_token(&self) -> Result<(), D1Error> {
        self.token().await.map(|_| ())
    }

    async fn token(&self) -> Result<AccessToken, D1Error> {
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

    async fn invalidate(&self, stale: &AccessToken) {
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
                    ("assertion", assertion.0.as_str()),
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
                _ => error_from_status(status, body.as_deref(), correlation_id, Endpoint::Token),
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
            token: AccessToken(parsed.access_token.clone()),
            refresh_at: Instant::now() + lifetime - margin,
        })
    }

    /// Sends with retries. `idempotent` requests are retried after ambiguous failures too;
    /// others return [`Exchange::Unknown`] then. With a token, a 401 refreshes it once and
    /// retries once.
    async fn exchange(
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

    fn card_url(&self, card_id: &CardId, tail: &str) -> String {
        let c = &self.inner.config;
        format!(
            "{}/issuers/{}/physicalCards/{}/{}",
            c.banking_base_url.trim_end_matches('/'),
            c.issuer_id.as_str(),
            card_id.as_str(),
            tail
        )
    }

    /// Orders the card (`POST …/operations:production`). The same body (ids and JWE) is sent on
    /// every retry. Returns [`OrderOutcome::Unknown`] when the request may have reached D1 but no
    /// answer came: reconcile with [`D1Client::production_status`], never resend blindly.
    pub async fn order_card(&self, order: &PreparedOrder) -> Result<OrderOutcome, D1Error> {
        let url = self.card_url(order.card_id(), "operations:production");
        let correlation_id = order.correlation_id();
        let token = self.token().await?;
        tracing::info!(correlation_id = %correlation_id, card_id = %order.card_id(), "d1 order sending");
        let exchange = self
            .exchange(Endpoint::Order, correlation_id, false, Some(token), |t| {
                Ok(self
                    .authorized(self.inner.http.post(&url), t)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(order.body().to_vec()))
            })
            .await?;
        let unknown = |reason| OrderOutcome::Unknown {
            card_id: order.card_id().clone(),
            issuer_request_id: order.issuer_request_id().clone(),
            correlation_id: correlation_id.clone(),
            reason,
        };
        match exchange {
            Exchange::Unknown(reason) => Ok(unknown(reason)),
            Exchange::Answer {
                status,
                body,
                attempts,
            } if status == StatusCode::ACCEPTED => {
                match body
                    .as_deref()
                    .and_then(|b| serde_json::from_slice::<AcceptedBody>(b).ok())
                {
                    Some(accepted) => Ok(OrderOutcome::Accepted {
                        operation_id: accepted.operation_id,
                        correlation_id: correlation_id.clone(),
                        attempts,
                    }),
                    None => Ok(unknown(UnknownReason::UnreadableAcceptance)),
                }
            }
            Exchange::Answer { status, body, .. } => Err(error_from_status(
                status,
                body.as_deref(),
                correlation_id.clone(),
                Endpoint::Order,
            )),
        }
    }

    /// The latest production operation of `card_id` (`GET …/productionStatus`). Unknown status
    /// values are preserved ([`DetailsStatus::Other`]). A 404 means D1 has no operation for it.
    pub async fn production_status(
        &self,
        card_id: &CardId,
        correlation_id: &CorrelationId,
    ) -> Result<ProductionOperation, D1Error> {
        let url = self.card_url(card_id, "productionStatus");
        let token = self.token().await?;
        let exchange = self
            .exchange(Endpoint::Status, correlation_id, true, Some(token), |t| {
                Ok(self.authorized(self.inner.http.get(&url), t))
            })
            .await?;
        let (status, body) = match exchange {
            Exchange::Answer { status, body, .. } => (status, body),
            Exchange::Unknown(_) => {
                return Err(D1Error::Transport {
                    correlation_id: correlation_id.clone(),
                    endpoint: Endpoint::Status,
                });
            }
        };
        if status != StatusCode::OK {
            return Err(error_from_status(
                status,
                body.as_deref(),
                correlation_id.clone(),
                Endpoint::Status,
            ));
        }
        let invalid = || D1Error::InvalidResponse {
            correlation_id: correlation_id.clone(),
            endpoint: Endpoint::Status,
        };
        let parsed: StatusBody = body
            .as_deref()
            .and_then(|b| serde_json::from_slice(b).ok())
            .ok_or_else(invalid)?;
        // The most recent operation: latest startTime (ISO 8601), the last listed on ties.
        let mut latest: Option<ProductionOperation> = None;
        for op in parsed.operations {
            if latest
                .as_ref()
                .is_none_or(|l| op.start_time >= l.start_time)
            {
                latest = Some(op);
            }
        }
        latest.ok_or(D1Error::NotFound {
            correlation_id: correlation_id.clone(),
            endpoint: Endpoint::Status,
        })
    }

    fn authorized(
        &self,
        rb: reqwest::RequestBuilder,
        token: Option<&AccessToken>,
    ) -> reqwest::RequestBuilder {
        match token {
            Some(t) => rb.bearer_auth(t.0.as_str()),
            None => rb,
        }
    }
}

/// Turns a non-success status and D1's `{errorCode, error}` body into a typed error.
fn error_from_status(
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

    /// The delays of a run where every attempt fails, as the client would wait them.
    fn run(policy: &RetryPolicy, retry_after: Option<Duration>) -> Vec<Duration> {
        let mut elapsed = Duration::ZERO;
        let mut delays = Vec::new();
        let mut attempts = 1;
        while let Some(d) = policy.delay_after(attempts, elapsed, retry_after) {
            delays.push(d);
            elapsed += d;
            attempts += 1;
            assert!(attempts < 10_000, "the policy never stops");
        }
        delays
    }

    #[test]
    fn retries_go_on_until_the_budget_and_stop_exactly_there() {
        let p = RetryPolicy::default();
        for _ in 0..200 {
            let delays = run(&p, None);
            let total: Duration = delays.iter().sum();
            assert_eq!(
                total, p.budget,
                "the last attempt starts when the budget ends"
            );
            // 0.25–0.5, 0.5–1, 1–2, 2–4, 4–8 s, then 4–8 s each: at least 7 attempts in 30 s.
            assert!(delays.len() >= 6, "{delays:?}");
            assert!(delays.iter().all(|d| *d <= p.max_delay), "{delays:?}");
        }
    }

    #[test]
    fn a_longer_budget_buys_more_attempts_no_hidden_cap() {
        let p = RetryPolicy {
            budget: Duration::from_secs(300),
            ..RetryPolicy::default()
        };
        let delays = run(&p, None);
        assert_eq!(delays.iter().sum::<Duration>(), p.budget);
        assert!(delays.len() >= 300 / 8, "{}", delays.len());
    }

    #[test]
    fn retry_after_is_honoured_and_capped_by_the_budget() {
        let p = RetryPolicy {
            initial_delay: Duration::from_millis(100),
            budget: Duration::from_secs(5),
            ..RetryPolicy::default()
        };
        let delays = run(&p, Some(Duration::from_secs(2)));
        assert_eq!(
            delays,
            vec![
                Duration::from_secs(2),
                Duration::from_secs(2),
                Duration::from_secs(1)
            ]
        );
        // A Retry-After longer than the whole budget: one last attempt at the budget's end.
        let delays = run(&p, Some(Duration::from_secs(60)));
        assert_eq!(delays, vec![Duration::from_secs(5)]);
        // Longer than max_delay is still honoured.
        let p = RetryPolicy {
            budget: Duration::from_secs(60),
            ..RetryPolicy::default()
        };
        assert_eq!(
            p.delay_after(1, Duration::ZERO, Some(Duration::from_secs(20))),
            Some(Duration::from_secs(20))
        );
    }

    #[test]
    fn no_budget_means_no_retry() {
        assert!(run(&RetryPolicy::none(), None).is_empty());
        assert!(
            RetryPolicy::default()
                .delay_after(1, Duration::from_secs(30), None)
                .is_none()
        );
        assert!(
            RetryPolicy::default()
                .delay_after(1, Duration::from_secs(31), Some(Duration::from_secs(1)))
                .is_none()
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        use reqwest::header::HeaderValue;
        let now = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let parse = |v: &str| parse_retry_after(&HeaderValue::from_str(v).unwrap(), now);
        assert_eq!(parse("1"), Some(Duration::from_secs(1)));
        assert_eq!(parse(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(parse("0"), Some(Duration::ZERO));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(parse(&later), Some(Duration::from_secs(7)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(7));
        assert_eq!(parse(&past), Some(Duration::ZERO));
        assert_eq!(parse("-1"), None);
        assert_eq!(parse("soon"), None);
        assert_eq!(parse("1.5"), None);
    }

    #[test]
    fn statuses_map_to_typed_errors() {
        let cid = CorrelationId::generate();
        let e = |status: u16, body: &str| {
            error_from_status(
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

    fn signing_key() -> SigningKey {
        let mut jwk = josekit::jws::ES256
            .generate_key_pair()
            .unwrap()
            .to_jwk_private_key();
        jwk.set_key_id("k");
        SigningKey::from_jwk_json(Zeroizing::new(jwk.to_string())).unwrap()
    }

    #[test]
    fn bad_tls_material_is_a_config_error_naming_the_key() {
        let issuer = IssuerId::parse("ISSUER0001").unwrap();
        let mut c = D1Config::new("https://a/authz/v1", "https://a/banking/v1", issuer);
        c.extra_ca_pem = Some("not a certificate".into());
        let e = D1Client::new(c.clone(), signing_key()).unwrap_err();
        assert!(e.to_string().contains("extraCaPem"), "{e}");
        c.extra_ca_pem = None;
        c.client_identity = Some(ClientIdentity::from_pem(
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
            "nokey",
        ));
        let e = D1Client::new(c.clone(), signing_key()).unwrap_err();
        assert!(e.to_string().contains("clientIdentity"), "{e}");
        c.client_identity = None;
        c.trust_only_extra_ca = true;
        let e = D1Client::new(c, signing_key()).unwrap_err();
        assert!(e.to_string().contains("trustOnlyExtraCa"), "{e}");
    }

    #[test]
    fn config_is_checked() {
        let issuer = IssuerId::parse("ISSUER0001").unwrap();
        let mut c = D1Config::new("https://a/authz/v1", "https://a/banking/v1", issuer.clone());
        assert!(c.check().is_ok());
        c.assertion_lifetime = Duration::from_secs(15 * 60 + 1);
        assert_eq!(c.check().unwrap_err().kind(), "config");
        let mut c = D1Config::new("http://a/authz/v1", "https://a/banking/v1", issuer.clone());
        assert!(c.check().unwrap_err().to_string().contains("authBaseUrl"));
        c.allow_plain_http_loopback = true;
        assert!(c.check().unwrap_err().to_string().contains("loopback"));
        c.auth_base_url = "http://127.0.0.1:8080/authz/v1".into();
        assert!(c.check().is_ok());
        let c = D1Config::new("https://a/authz/v1", "not a url", issuer);
        assert!(
            c.check()
                .unwrap_err()
                .to_string()
                .contains("bankingBaseUrl")
        );
        assert_eq!(
            format!("{:?}", ClientIdentity::from_pem("C", "K")),
            "ClientIdentity(<redacted>)"
        );
    }
}

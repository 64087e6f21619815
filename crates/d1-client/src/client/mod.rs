//! The D1 client, one module per job as octocrab does it: [`config`] (where D1 is and how to
//! reach it), [`retry`] (the budget), [`transport`] (send, retry, `ensure_success`), [`token`]
//! (the cached access token), one module per D1 endpoint ([`card_order`],
//! [`production_status`]) and their typed answers ([`models`]).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use desk_domain::CardId;
use tokio::sync::Mutex;

use crate::auth::SigningKey;
use crate::error::D1Error;
use token::CachedToken;

mod card_order;
mod config;
mod models;
mod production_status;
mod retry;
mod token;
mod transport;

pub use config::D1Config;
pub use models::{
    DetailsStatus, OperationDetails, OperationStatus, OrderOutcome, ProductionOperation,
    UnknownReason,
};
pub use retry::RetryPolicy;

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
}

//! Listening, TLS/mTLS, routing, and the per-connection kill switch used by the
//! drop-after-read fault.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

use crate::api_error::ApiError;
use crate::config::{SandboxConfig, TlsConfig};
use crate::control::SandboxControl;
use crate::error::SandboxError;
use crate::state::{Shared, lock};
use crate::{auth, orders};

/// Closes the connection a request arrived on (drop-after-read fault).
#[derive(Clone)]
pub(crate) struct ConnKill(pub Arc<Notify>);

/// Entry point.
#[derive(Debug)]
pub struct Sandbox;

impl Sandbox {
    /// Validates `config`, binds (port 0 = ephemeral) and serves in the background on the
    /// current tokio runtime. Returns once the socket is listening.
    pub async fn start(config: SandboxConfig) -> Result<SandboxHandle, SandboxError> {
        let shared = Arc::new(Shared::new(&config)?);
        let acceptor = config.tls.as_ref().map(tls_acceptor).transpose()?;
        let requested = SocketAddr::new(config.bind, config.port);
        let listener = TcpListener::bind(requested)
            .await
            .map_err(|source| SandboxError::Bind {
                addr: requested,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SandboxError::Bind {
            addr: requested,
            source,
        })?;
        let router = router(Arc::clone(&shared), config.control_api);
        let (stop_tx, stop_rx) = watch::channel(false);
        let scheme = if acceptor.is_some() { "https" } else { "http" };
        let task = tokio::spawn(accept_loop(listener, acceptor, router, stop_rx));
        tracing::info!(%addr, scheme, "D1 sandbox listening");
        Ok(SandboxHandle {
            addr,
            scheme,
            control: SandboxControl::new(shared),
            stop_tx,
            task: Some(task),
        })
    }
}

/// A running sandbox. Dropping it stops the server too; [`Self::stop`] also waits for it.
pub struct SandboxHandle {
    addr: SocketAddr,
    scheme: &'static str,
    control: SandboxControl,
    stop_tx: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for SandboxHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxHandle")
            .field("origin", &self.origin())
            .finish_non_exhaustive()
    }
}

impl SandboxHandle {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http(s)://127.0.0.1:PORT`.
    pub fn origin(&self) -> String {
        let ip = match self.addr.ip() {
            ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            ip => ip,
        };
        format!(
            "{}://{}",
            self.scheme,
            SocketAddr::new(ip, self.addr.port())
        )
    }

    /// `<origin>/authz/v1`.
    pub fn auth_base_url(&self) -> String {
        format!("{}/authz/v1", self.origin())
    }

    /// `<origin>/banking/v1`.
    pub fn banking_base_url(&self) -> String {
        format!("{}/banking/v1", self.origin())
    }

    /// `<origin>/_sandbox` (the HTTP control API).
    pub fn control_base_url(&self) -> String {
        format!("{}/_sandbox", self.origin())
    }

    /// Faults and counters.
    pub fn control(&self) -> SandboxControl {
        self.control.clone()
    }

    /// Stops accepting, closes every connection and waits for the server task.
    pub async fn stop(mut self) {
        let _ = self.stop_tx.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        let _ = self.stop_tx.send(true);
    }
}

fn router(shared: Arc<Shared>, control_api: bool) -> Router {
    let banking = Router::new()
        .route(
            "/banking/v1/issuers/{issuer_id}/physicalCards/{card_id}/operations:production",
            post(orders::produce),
        )
        .route(
            "/banking/v1/issuers/{issuer_id}/physicalCards/{card_id}/productionStatus",
            get(orders::production_status),
        )
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&shared),
            banking_faults,
        ));
    let d1 = Router::new()
        .route("/authz/v1/oauth2/token", post(auth::token))
        .merge(banking)
        .layer(middleware::from_fn_with_state(Arc::clone(&shared), common));
    let app = if control_api {
        d1.merge(crate::control::routes())
    } else {
        d1
    };
    app.with_state(shared)
}

fn valid_correlation_id(v: &HeaderValue) -> bool {
    let b = v.as_bytes();
    (1..=64).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')
}

/// Latency fault, `x-correlation-id` check and echo, one log line per request (method, path,
/// status, correlation id; never headers or bodies).
async fn common(State(s): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let correlation = request.headers().get("x-correlation-id").cloned();
    let latency = lock(&s.faults).latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let valid = correlation.as_ref().map(valid_correlation_id);
    let mut response = if valid == Some(false) {
        ApiError::invalid_format("x-correlation-id").into_response()
    } else {
        next.run(request).await
    };
    let correlation_id = match (correlation, valid) {
        (Some(v), Some(true)) => {
            let text = v.to_str().unwrap_or_default().to_owned();
            response.headers_mut().insert("x-correlation-id", v);
            text
        }
        _ => String::new(),
    };
    tracing::info!(
        %method,
        %path,
        status = response.status().as_u16(),
        correlation_id,
        elapsed_us = started.elapsed().as_micros() as u64,
        "D1 request"
    );
    response
}

/// 500/503 fault for banking calls.
async fn banking_faults(State(s): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let fail = {
        let mut f = lock(&s.faults);
        (f.fail_next > 0).then(|| {
            f.fail_next -= 1;
            (f.fail_status, f.fail_retry_after)
        })
    };
    let mut response = match fail {
        None => return next.run(request).await,
        Some((500, _)) => ApiError::internal().into_response(),
        Some((status, _)) => ApiError::status_only(
            StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
        )
        .into_response(),
    };
    if let Some(seconds) = fail.and_then(|(_, retry_after)| retry_after) {
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, seconds.into());
    }
    response
}

fn tls_acceptor(tls: &TlsConfig) -> Result<TlsAcceptor, SandboxError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(tls.cert_pem.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| {
                SandboxError::Tls(format!("tls.cert_pem is not a PEM certificate chain: {e}"))
            })?;
    if certs.is_empty() {
        return Err(SandboxError::Tls(
            "tls.cert_pem holds no certificate".to_owned(),
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(tls.key_pem.expose().as_bytes())
        .map_err(|_| SandboxError::Tls("tls.key_pem is not a PEM private key".to_owned()))?;
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| SandboxError::Tls(e.to_string()))?;
    let builder = match &tls.client_ca_pem {
        None => builder.with_no_client_auth(),
        Some(ca_pem) => {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
                let cert = cert
                    .map_err(|e| SandboxError::Tls(format!("tls.client_ca_pem is not PEM: {e}")))?;
                roots
                    .add(cert)
                    .map_err(|e| SandboxError::Tls(format!("tls.client_ca_pem: {e}")))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| SandboxError::Tls(format!("tls.client_ca_pem: {e}")))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut server = builder
        .with_single_cert(certs, key)
        .map_err(|e| SandboxError::Tls(format!("tls.cert_pem / tls.key_pem: {e}")))?;
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(server)))
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    router: Router,
    mut stop: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let _ = stream.set_nodelay(true);
                    connections.spawn(serve_connection(stream, acceptor.clone(), router.clone()));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
    tracing::info!("D1 sandbox stopped");
}

async fn serve_connection(stream: TcpStream, acceptor: Option<TlsAcceptor>, router: Router) {
    let kill = Arc::new(Notify::new());
    let request_kill = ConnKill(Arc::clone(&kill));
    let service = tower::service_fn(move |mut request: Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(request_kill.clone());
        router.clone().oneshot(request.map(axum::body::Body::new))
    });
    let service = TowerToHyperService::new(service);
    let builder = auto::Builder::new(TokioExecutor::new());
    match acceptor {
        None => {
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                _ = kill.notified() => {}
            }
        }
        Some(acceptor) => match acceptor.accept(stream).await {
            Ok(tls) => {
                let connection = builder.serve_connection(TokioIo::new(tls), service);
                tokio::select! {
                    _ = connection => {}
                    _ = kill.notified() => {}
                }
            }
            Err(e) => tracing::info!(error = %e, "TLS handshake refused"),
        },
    }
}

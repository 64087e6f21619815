//! Connecting to the ledger: TLS with full verification against the configured CA only, and the
//! caller's client certificate (PostgreSQL `cert` authentication: the certificate's CN is the
//! role).

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_postgres::config::{ChannelBinding, SslMode};
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{Client, Config, Connection, Socket};
use tokio_postgres_rustls::MakeRustlsConnect;
use zeroize::Zeroizing;

use crate::error::{LedgerError, Result};

/// The default time allowed to open a connection (TCP + TLS + authentication).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest time one statement may run for a desk's session; a hung query fails instead of
/// blocking the sync worker.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// A client certificate (chain) and its private key, both PEM. The key is wiped from memory when
/// dropped and never printed; it comes from the OS keychain (or, for the DBA's commands, a file
/// the DBA names).
#[derive(Clone)]
pub struct ClientIdentity {
    cert_chain_pem: String,
    key_pem: Zeroizing<String>,
}

impl ClientIdentity {
    /// A certificate chain (leaf first) and its private key (PKCS#8, SEC1 or PKCS#1 PEM).
    pub fn new(cert_chain_pem: impl Into<String>, key_pem: Zeroizing<String>) -> Self {
        Self {
            cert_chain_pem: cert_chain_pem.into(),
            key_pem,
        }
    }

    /// The certificate chain (public).
    pub fn cert_chain_pem(&self) -> &str {
        &self.cert_chain_pem
    }
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity")
            .field(
                "cert_chain_pem",
                &format_args!("{} bytes", self.cert_chain_pem.len()),
            )
            .field("key_pem", &format_args!("<redacted>"))
            .finish()
    }
}

/// Where the ledger is and who connects.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// Host name or IP address; it must be named in the server certificate (verify-full).
    pub host: String,
    /// Connect to this address instead of resolving `host` (the certificate is still checked
    /// against `host`).
    pub hostaddr: Option<IpAddr>,
    /// TCP port (PostgreSQL's default is 5432).
    pub port: u16,
    /// Database name.
    pub dbname: String,
    /// Login role: a desk's is `desk_<desk id>` ([`crate::DeskId::role_name`]); the DBA's is
    /// whatever the bank named it. Must equal the client certificate's CN.
    pub user: String,
    /// The CA certificate(s), PEM, that the server's certificate must chain to. Only these are
    /// trusted (not the system's roots).
    pub ca_pem: String,
    /// This session's certificate and key.
    pub identity: ClientIdentity,
    /// Time allowed to connect.
    pub connect_timeout: Duration,
    /// Shown in `pg_stat_activity` (e.g. `issuance-desk B0042-D1`).
    pub application_name: String,
}

impl ConnectOptions {
    /// Options with the default timeout and application name.
    pub fn new(
        host: impl Into<String>,
        port: u16,
        dbname: impl Into<String>,
        user: impl Into<String>,
        ca_pem: impl Into<String>,
        identity: ClientIdentity,
    ) -> Self {
        Self {
            host: host.into(),
            hostaddr: None,
            port,
            dbname: dbname.into(),
            user: user.into(),
            ca_pem: ca_pem.into(),
            identity,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            application_name: "issuance-desk".to_owned(),
        }
    }

    fn pg_config(&self) -> Result<Config> {
        let bad = |what: &str| LedgerError::Settings(format!("{what} is empty"));
        if self.host.trim().is_empty() {
            return Err(bad("the ledger host"));
        }
        if self.dbname.trim().is_empty() {
            return Err(bad("the database name"));
        }
        if self.user.trim().is_empty() {
            return Err(bad("the role name"));
        }
        if self.port == 0 {
            return Err(LedgerError::Settings(
                "the ledger port must be 1 to 65535".into(),
            ));
        }
        let mut config = Config::new();
        config
            .host(&self.host)
            .port(self.port)
            .dbname(&self.dbname)
            .user(&self.user)
            .application_name(&self.application_name)
            .ssl_mode(SslMode::Require)
            .channel_binding(ChannelBinding::Disable)
            .connect_timeout(self.connect_timeout)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .options(format!(
                "-c statement_timeout={} -c TimeZone=UTC",
                STATEMENT_TIMEOUT.as_millis()
            ));
        if let Some(addr) = self.hostaddr {
            config.hostaddr(addr);
        }
        Ok(config)
    }

    /// The rustls configuration: the configured CA only, server name checked (verify-full), this
    /// session's client certificate.
    fn tls(&self) -> Result<MakeRustlsConnect> {
        let mut roots = RootCertStore::empty();
        let mut cas = 0;
        for cert in CertificateDer::pem_slice_iter(self.ca_pem.as_bytes()) {
            let cert = cert.map_err(|_| {
                LedgerError::Settings("the ledger CA bundle is not valid PEM".into())
            })?;
            roots.add(cert).map_err(|e| {
                LedgerError::Settings(format!(
                    "a certificate of the ledger CA bundle is unusable: {e}"
                ))
            })?;
            cas += 1;
        }
        if cas == 0 {
            return Err(LedgerError::Settings(
                "the ledger CA bundle holds no certificate (-----BEGIN CERTIFICATE-----)".into(),
            ));
        }
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(self.identity.cert_chain_pem.as_bytes())
                .collect::<std::result::Result<_, _>>()
                .map_err(|_| {
                    LedgerError::Settings("the client certificate is not valid PEM".into())
                })?;
        if chain.is_empty() {
            return Err(LedgerError::Settings(
                "the client certificate holds no certificate (-----BEGIN CERTIFICATE-----)".into(),
            ));
        }
        let key =
            PrivateKeyDer::from_pem_slice(self.identity.key_pem.as_bytes()).map_err(|_| {
                LedgerError::Settings(
                    "the client private key is not a PEM private key (PKCS#8, SEC1 or PKCS#1)"
                        .into(),
                )
            })?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| LedgerError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .map_err(|e| {
                LedgerError::Settings(format!(
                    "the client certificate and key do not go together or are unusable: {e}"
                ))
            })?;
        Ok(MakeRustlsConnect::new(config))
    }
}

/// A connection whose driver still has to be polled (spawned, or polled by hand to receive
/// notifications).
pub(crate) type RawConnection =
    Connection<Socket, <MakeRustlsConnect as MakeTlsConnect<Socket>>::Stream>;

/// Opens a verified, authenticated session.
pub(crate) async fn open(options: &ConnectOptions) -> Result<(Client, RawConnection)> {
    let config = options.pg_config()?;
    let tls = options.tls()?;
    let connect = config.connect(tls);
    // tokio-postgres applies connect_timeout per address; bound the whole attempt as well.
    let outcome = tokio::time::timeout(options.connect_timeout + Duration::from_secs(1), connect)
        .await
        .map_err(|_| {
            LedgerError::Unreachable(format!(
                "no answer from {}:{} within {} s",
                options.host,
                options.port,
                options.connect_timeout.as_secs()
            ))
        })?;
    Ok(outcome?)
}

/// Opens a session and drives its connection on a background task (ends with the client).
pub(crate) async fn open_client(options: &ConnectOptions) -> Result<Client> {
    let (client, connection) = open(options).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %crate::error::classify(&e), "ledger connection ended");
        }
    });
    Ok(client)
}

/// A plain session with these options: the same TLS and certificate authentication, nothing else
/// checked. For tools, tests and the benchmark (e.g. to show that a desk's role cannot run
/// `DELETE`); the app uses [`crate::Ledger`] and [`crate::LedgerAdmin`].
#[doc(hidden)]
pub async fn connect_sql(options: &ConnectOptions) -> Result<Client> {
    open_client(options).await
}

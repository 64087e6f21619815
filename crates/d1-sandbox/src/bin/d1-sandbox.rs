//! `d1-sandbox`: run the D1 sandbox as a standalone server.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use d1_sandbox::{Sandbox, SandboxConfig, Secret, TlsConfig};

/// A local stand-in for the Thales D1 API (INSTANT card orders), for training, tests and
/// benchmarks. Never use it with real card data.
#[derive(Debug, Parser)]
#[command(name = "d1-sandbox", version)]
struct Args {
    /// Port to listen on (0 = pick a free port). Overrides `port` in the config file.
    #[arg(long)]
    port: Option<u16>,
    /// Configuration file (.toml or .json). Without it: the training setup, with keys
    /// generated now and printed as JSON on stdout.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Server certificate chain (PEM) — enables HTTPS. Needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// Server private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// CA for client certificates (PEM) — enables mTLS: clients without a certificate from
    /// this CA are refused.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    client_ca: Option<PathBuf>,
}

fn read(path: &PathBuf) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

async fn run(args: Args) -> Result<(), String> {
    let mut config = match &args.config {
        Some(path) => SandboxConfig::from_file(path).map_err(|e| e.to_string())?,
        None => {
            let keys = d1_sandbox::testkit::TestKeys::try_generate().map_err(|e| e.to_string())?;
            let json = serde_json::to_string_pretty(&keys).map_err(|e| e.to_string())?;
            #[allow(clippy::print_stdout)]
            {
                println!("{json}");
            }
            SandboxConfig::training().with_keys(&keys)
        }
    };
    if let Some(port) = args.port {
        config.port = port;
    }
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        config.tls = Some(TlsConfig {
            cert_pem: read(cert)?,
            key_pem: Secret::new(read(key)?),
            client_ca_pem: args.client_ca.as_ref().map(read).transpose()?,
        });
    }
    let sandbox = Sandbox::start(config).await.map_err(|e| e.to_string())?;
    tracing::info!(
        auth = %sandbox.auth_base_url(),
        banking = %sandbox.banking_base_url(),
        "ready (Ctrl-C to stop)"
    );
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| format!("cannot wait for Ctrl-C: {e}"))?;
    sandbox.stop().await;
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("d1-sandbox: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("d1-sandbox: {e}");
            ExitCode::from(2)
        }
    }
}

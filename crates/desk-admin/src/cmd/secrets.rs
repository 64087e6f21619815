//! `secrets import`, `secrets status`, `secrets remove`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{ArgGroup, Subcommand};
use zeroize::Zeroizing;

use crate::cmd::{load_config, secret_store};
use crate::error::{AdminError, Outcome};
use crate::output::line;

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Import credentials into the OS keychain, under the namespace of the configured
    /// environment and issuer. The files are read, checked and stored; their content is never
    /// printed. Delete the files afterwards.
    #[command(group(ArgGroup::new("what").required(true).multiple(true).args(["signing_key", "mtls_cert"])))]
    Import {
        /// The ES256 (P-256) signing private key: PEM (PKCS#8 or SEC1) or a JWK with "d".
        #[arg(long, value_name = "FILE")]
        signing_key: Option<PathBuf>,
        /// The mTLS client certificate chain (PEM, leaf first). Needs --mtls-key.
        #[arg(long, value_name = "FILE", requires = "mtls_key")]
        mtls_cert: Option<PathBuf>,
        /// The mTLS client private key (PEM). Needs --mtls-cert.
        #[arg(long, value_name = "FILE", requires = "mtls_cert")]
        mtls_key: Option<PathBuf>,
    },
    /// Show what the keychain holds: presence, public-key fingerprints, certificate subject and
    /// expiry (never secret material). Exit 1 when something the configuration needs is missing.
    Status,
    /// Remove the signing key and the mTLS identity of this namespace from the keychain.
    Remove {
        /// Do not ask for confirmation (required when input is not a terminal).
        #[arg(long)]
        yes: bool,
    },
}

pub fn run(command: &SecretsCommand, dev: bool) -> Outcome {
    let loaded = load_config()?;
    let store = secret_store(&loaded.config, dev)?;
    match command {
        SecretsCommand::Import {
            signing_key,
            mtls_cert,
            mtls_key,
        } => {
            // Read every file first: nothing is stored when one of them cannot be read.
            let key = signing_key.as_deref().map(read_file).transpose()?;
            let mtls = match (mtls_cert, mtls_key) {
                (Some(cert), Some(key)) => Some((read_file(cert)?, read_file(key)?)),
                _ => None,
            };
            if let Some(key) = key {
                let fingerprint = store
                    .import_signing_key(&key)
                    .map_err(|e| AdminError::from_secrets(&e))?;
                tracing::info!(service = store.service(), %fingerprint, "signing key imported");
                line(format!(
                    "Imported the signing key into {}\n  public key {fingerprint}\n  (compare with the key registered at D1)",
                    store.service()
                ));
            }
            if let Some((cert, key)) = mtls {
                let status = store
                    .import_mtls_identity(&cert, &key)
                    .map_err(|e| AdminError::from_secrets(&e))?;
                tracing::info!(service = store.service(), subject = %status.subject, "mTLS identity imported");
                line(format!(
                    "Imported the mTLS identity into {}\n  subject {}\n  expires {}{}",
                    store.service(),
                    status.subject,
                    status.not_after,
                    if status.expired { "  (EXPIRED)" } else { "" }
                ));
            }
            Ok(())
        }
        SecretsCommand::Status => status(&store, &loaded.config),
        SecretsCommand::Remove { yes } => {
            if !yes {
                confirm(store.service())?;
            }
            store
                .remove_all()
                .map_err(|e| AdminError::from_secrets(&e))?;
            tracing::info!(service = store.service(), "keychain entries removed");
            line(format!("Removed the credentials of {}", store.service()));
            Ok(())
        }
    }
}

/// Reads a key or certificate file into memory that is wiped on drop.
fn read_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, AdminError> {
    std::fs::read(path)
        .map(Zeroizing::new)
        .map_err(|e| AdminError::Failed(format!("cannot read {}: {e}", path.display())))
}

fn status(store: &desk_secrets::SecretStore, config: &desk_config::Config) -> Outcome {
    let status = store.status().map_err(|e| AdminError::from_secrets(&e))?;
    line(format!("Keychain service: {}", status.service));
    let mut missing = Vec::new();
    match &status.signing_key {
        Some(key) => line(format!(
            "  signing key      present, {} {}",
            key.algorithm, key.fingerprint
        )),
        None => {
            line("  signing key      absent");
            missing.push("the signing key");
        }
    }
    match &status.mtls_certificate {
        Some(cert) => {
            line(format!("  mTLS certificate subject {}", cert.subject));
            line(format!("                   issuer  {}", cert.issuer));
            line(format!(
                "                   valid   {} to {}{}",
                cert.not_before,
                cert.not_after,
                if cert.expired { "  (EXPIRED)" } else { "" }
            ));
            line(format!("                   key     {}", cert.fingerprint));
        }
        None => line("  mTLS certificate absent"),
    }
    line(format!(
        "  mTLS private key {}",
        if status.mtls_key_present {
            "present"
        } else {
            "absent"
        }
    ));
    let training = config.environment == desk_config::Environment::Training;
    if config.d1.use_mtls && (status.mtls_certificate.is_none() || !status.mtls_key_present) {
        missing.push("the mTLS identity (d1.use_mtls = true)");
    }
    if training || missing.is_empty() {
        Ok(())
    } else {
        Err(AdminError::Failed(format!(
            "missing for {}: {}; import with `issuance-desk-admin secrets import`",
            config.environment,
            missing.join(", ")
        )))
    }
}

fn confirm(service: &str) -> Outcome {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(AdminError::Usage(
            "refusing to remove keychain entries without --yes when input is not a terminal".into(),
        ));
    }
    eprint!("Remove the signing key and mTLS identity of {service}? Type yes to confirm: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|e| AdminError::Failed(format!("cannot read the answer: {e}")))?;
    if answer.trim().eq_ignore_ascii_case("yes") {
        Ok(())
    } else {
        Err(AdminError::Failed("not removed".into()))
    }
}

//! `secrets import`, `secrets status`, `secrets remove` (and the token's `set-pin`,
//! `generate` in `token.rs`).

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{ArgGroup, Subcommand};
use zeroize::Zeroizing;

use crate::cmd::{load_config, secret_store};
use crate::error::{AdminError, Outcome};
use crate::output::line;

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Import credentials under the namespace of the configured environment and issuer: into
    /// the OS keychain, or — with `[keys] store = "pkcs11"` — the private keys onto the PKCS#11
    /// token as non-extractable keys (the mTLS certificate, which is public, goes to the
    /// keychain). The files are read, checked and stored; their content is never printed.
    /// Encrypted PKCS#8 keys (-----BEGIN ENCRYPTED PRIVATE KEY-----) are decrypted in memory with
    /// their passphrase. Delete the files afterwards.
    #[command(group(ArgGroup::new("what").required(true).multiple(true).args(["signing_key", "mtls_cert", "ledger_cert"])))]
    Import {
        /// The ES256 (P-256) signing private key: PEM (PKCS#8, encrypted PKCS#8 or SEC1) or a
        /// JWK with "d".
        #[arg(long, value_name = "FILE")]
        signing_key: Option<PathBuf>,
        /// The mTLS client certificate chain (PEM, leaf first). Needs --mtls-key, except with a
        /// token whose mTLS key was generated there (`secrets generate --mtls`).
        #[arg(long, value_name = "FILE")]
        mtls_cert: Option<PathBuf>,
        /// The mTLS client private key (PEM, possibly encrypted PKCS#8). Needs --mtls-cert.
        #[arg(long, value_name = "FILE", requires = "mtls_cert")]
        mtls_key: Option<PathBuf>,
        /// The branch ledger client certificate of this desk (PEM, leaf first; its CN is the
        /// desk's role, see `ledger add-desk`). Needs --ledger-key. Always in the keychain.
        #[arg(long, value_name = "FILE", requires = "ledger_key")]
        ledger_cert: Option<PathBuf>,
        /// The ledger client private key (PEM, possibly encrypted PKCS#8). Needs --ledger-cert.
        #[arg(long, value_name = "FILE", requires = "ledger_cert")]
        ledger_key: Option<PathBuf>,
        /// Read the passphrase of encrypted key files from the first line of standard input
        /// (for scripts); otherwise it is asked on the terminal.
        #[arg(long)]
        passphrase_stdin: bool,
    },
    /// Store the PKCS#11 token's user PIN in the OS keychain (`[keys] store = "pkcs11"`). The
    /// PIN is checked by logging in to the token first.
    SetPin {
        /// Read the PIN from the first line of standard input instead of the terminal.
        #[arg(long)]
        pin_stdin: bool,
    },
    /// Generate a P-256 key pair on the PKCS#11 token (the private key never leaves it) and
    /// print its public key: register it at D1 (--signing) or put it in a certificate request
    /// (--mtls). Replaces the key with the same label.
    #[command(group(ArgGroup::new("which").required(true).args(["signing", "mtls"])))]
    Generate {
        /// The signing key (keys.signing_key_label).
        #[arg(long)]
        signing: bool,
        /// The mTLS key (keys.tls_key_label).
        #[arg(long)]
        mtls: bool,
    },
    /// Show what the keychain (and the token) holds: presence, public-key fingerprints,
    /// certificate subject and expiry (never secret material). Exit 1 when something the
    /// configuration needs is missing.
    Status,
    /// Remove the signing key, the mTLS identity and the token PIN of this namespace from the
    /// keychain. Keys on a token are left there (remove them with the token's own tools).
    Remove {
        /// Do not ask for confirmation (required when input is not a terminal).
        #[arg(long)]
        yes: bool,
    },
}

pub fn run(command: &SecretsCommand, dev: bool) -> Outcome {
    let loaded = load_config()?;
    let config = &loaded.config;
    let store = secret_store(config, dev)?;
    match command {
        SecretsCommand::Import {
            signing_key,
            mtls_cert,
            mtls_key,
            ledger_cert,
            ledger_key,
            passphrase_stdin,
        } => import(
            &store,
            config,
            &ImportFiles {
                signing_key: signing_key.as_deref(),
                mtls_cert: mtls_cert.as_deref(),
                mtls_key: mtls_key.as_deref(),
                ledger_cert: ledger_cert.as_deref(),
                ledger_key: ledger_key.as_deref(),
            },
            *passphrase_stdin,
        ),
        SecretsCommand::SetPin { pin_stdin } => {
            crate::cmd::token::set_pin(&store, config, *pin_stdin)
        }
        SecretsCommand::Generate { signing, .. } => {
            crate::cmd::token::generate(&store, config, *signing)
        }
        SecretsCommand::Status => status(&store, config),
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

/// Reads a key file; an encrypted PKCS#8 key is decrypted in memory with its passphrase (asked
/// once per command and reused for every encrypted file).
fn read_key(
    path: &Path,
    what: &str,
    passphrase_stdin: bool,
    passphrase: &mut Option<Zeroizing<Vec<u8>>>,
) -> Result<Zeroizing<Vec<u8>>, AdminError> {
    let bytes = read_file(path)?;
    if !desk_secrets::is_encrypted_pkcs8(&bytes) {
        return Ok(bytes);
    }
    let pass = match passphrase {
        Some(pass) => pass,
        None => passphrase.insert(crate::cmd::prompt::secret(
            "passphrase",
            &format!("Passphrase of {}: ", path.display()),
            passphrase_stdin,
            "--passphrase-stdin",
        )?),
    };
    let plain = desk_secrets::decrypt_pkcs8_pem(&bytes, pass, what)
        .map_err(|e| AdminError::from_secrets(&e))?;
    Ok(Zeroizing::new(plain.expose().to_vec()))
}

/// The files `secrets import` was given.
struct ImportFiles<'a> {
    signing_key: Option<&'a Path>,
    mtls_cert: Option<&'a Path>,
    mtls_key: Option<&'a Path>,
    ledger_cert: Option<&'a Path>,
    ledger_key: Option<&'a Path>,
}

fn import(
    store: &desk_secrets::SecretStore,
    config: &desk_config::Config,
    files: &ImportFiles<'_>,
    passphrase_stdin: bool,
) -> Outcome {
    let ImportFiles {
        signing_key,
        mtls_cert,
        mtls_key,
        ledger_cert,
        ledger_key,
    } = *files;
    let token = if signing_key.is_some() || mtls_cert.is_some() {
        crate::cmd::token::open(store, config)?
    } else {
        None
    };
    if token.is_none() && mtls_cert.is_some() && mtls_key.is_none() {
        return Err(AdminError::Usage(
            "--mtls-cert needs --mtls-key (a certificate alone is for a key generated on a PKCS#11 token)".into(),
        ));
    }
    // Read (and decrypt) every file first: nothing is stored when one of them cannot be read.
    let mut passphrase = None;
    let key = signing_key
        .map(|p| read_key(p, "signing key", passphrase_stdin, &mut passphrase))
        .transpose()?;
    let cert = mtls_cert.map(read_file).transpose()?;
    let tls_key = mtls_key
        .map(|p| read_key(p, "mTLS private key", passphrase_stdin, &mut passphrase))
        .transpose()?;
    let ledger = match (ledger_cert, ledger_key) {
        (Some(cert), Some(key)) => Some((
            read_file(cert)?,
            read_key(
                key,
                "ledger client private key",
                passphrase_stdin,
                &mut passphrase,
            )?,
        )),
        _ => None,
    };
    let failed = |e: desk_secrets::SecretsError| AdminError::from_secrets(&e);
    if let Some(key) = key {
        let fingerprint = match &token {
            Some((token, labels)) => {
                let label = labels.signing()?;
                let fp = store
                    .import_signing_key_to_token(token, label, &key)
                    .map_err(failed)?;
                line(format!(
                    "Imported the signing key onto token {:?} as non-extractable key {label:?}",
                    token.label()
                ));
                fp
            }
            None => {
                let fp = store.import_signing_key(&key).map_err(failed)?;
                line(format!("Imported the signing key into {}", store.service()));
                fp
            }
        };
        tracing::info!(service = store.service(), %fingerprint, "signing key imported");
        line(format!(
            "  public key {fingerprint}\n  (compare with the key registered at D1)"
        ));
    }
    if let Some(cert) = cert {
        let status = match (&token, &tls_key) {
            (Some((token, labels)), Some(key)) => store
                .import_mtls_identity_to_token(token, labels.tls()?, &cert, key)
                .map_err(failed)?,
            (Some((token, labels)), None) => store
                .import_mtls_certificate_for_token(token, labels.tls()?, &cert)
                .map_err(failed)?,
            (None, Some(key)) => store.import_mtls_identity(&cert, key).map_err(failed)?,
            (None, None) => unreachable_usage()?,
        };
        tracing::info!(service = store.service(), subject = %status.subject, "mTLS identity imported");
        line(format!(
            "Imported the mTLS identity into {}{}\n  subject {}\n  expires {}{}",
            store.service(),
            match &token {
                Some((token, _)) => format!(" (key on token {:?})", token.label()),
                None => String::new(),
            },
            status.subject,
            status.not_after,
            if status.expired { "  (EXPIRED)" } else { "" }
        ));
    }
    if let Some((cert, key)) = ledger {
        let status = store.import_ledger_identity(&cert, &key).map_err(failed)?;
        tracing::info!(service = store.service(), subject = %status.subject, "ledger identity imported");
        line(format!(
            "Imported the ledger client identity into {}\n  subject {}\n  expires {}{}",
            store.service(),
            status.subject,
            status.not_after,
            if status.expired { "  (EXPIRED)" } else { "" }
        ));
    }
    Ok(())
}

fn unreachable_usage() -> Result<desk_secrets::CertificateStatus, AdminError> {
    Err(AdminError::Usage("--mtls-cert needs --mtls-key".into()))
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
    let token = crate::cmd::token::open(store, config)?;
    let (signing_present, tls_key_present) = match &token {
        None => {
            match &status.signing_key {
                Some(key) => line(format!(
                    "  signing key      present, {} {}",
                    key.algorithm, key.fingerprint
                )),
                None => line("  signing key      absent"),
            }
            (status.signing_key.is_some(), status.mtls_key_present)
        }
        Some((token, labels)) => {
            line(format!(
                "PKCS#11 token:    {:?} (logged in with the PIN from the keychain)",
                token.label()
            ));
            let signing = describe_token_key(token, labels.signing().ok(), "signing key     ");
            let tls = if config.d1.use_mtls {
                describe_token_key(token, labels.tls().ok(), "mTLS private key")
            } else {
                false
            };
            (signing, tls)
        }
    };
    if !signing_present {
        missing.push("the signing key");
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
    if token.is_none() {
        line(format!(
            "  mTLS private key {}",
            if tls_key_present { "present" } else { "absent" }
        ));
    }
    match store.ledger_certificate() {
        Ok(Some(cert)) => line(format!(
            "  ledger certificate subject {}, valid to {}{}",
            cert.subject,
            cert.not_after,
            if cert.expired { "  (EXPIRED)" } else { "" }
        )),
        Ok(None) => line("  ledger certificate absent"),
        Err(e) => line(format!(
            "  ledger certificate unreadable: {}",
            AdminError::from_secrets(&e)
        )),
    }
    if config.ledger.host.is_some() && !matches!(store.ledger_certificate(), Ok(Some(_))) {
        missing.push("the ledger client identity ([ledger] is configured)");
    }
    let training = config.environment == desk_config::Environment::Training;
    if config.d1.use_mtls && (status.mtls_certificate.is_none() || !tls_key_present) {
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

/// One line about a key on the token; whether it is there.
fn describe_token_key(token: &desk_secrets::Token, label: Option<&str>, what: &str) -> bool {
    let Some(label) = label else {
        line(format!("  {what} no label configured"));
        return false;
    };
    match token
        .fingerprint(label)
        .and_then(|fp| Ok((fp, token.is_non_extractable(label)?)))
    {
        Ok((fingerprint, locked)) => {
            line(format!(
                "  {what} on the token as {label:?}, {fingerprint}{}",
                if locked {
                    ", non-extractable"
                } else {
                    ", EXTRACTABLE"
                }
            ));
            true
        }
        Err(e) => {
            line(format!("  {what} absent from the token ({e})"));
            false
        }
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

//! `[ledger]`: where the branch ledger (PostgreSQL) is and who this desk is in it. Machine-wide
//! file only. Not configured (no `host`): the desk works alone on its journal.
//!
//! The desk's client certificate and key are not here: they live in the OS keychain. The rules
//! for ids match the ledger's (`branch-ledger`: 1–40 characters among `A-Z a-z 0-9 _ -`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::lenient;
use crate::load::Reporter;

/// `[ledger]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LedgerConfig {
    /// Host name or IP address of the ledger server; it must be named in the server's
    /// certificate. Not set: no ledger.
    pub host: Option<String>,
    /// TCP port (1–65535, default 5432).
    #[serde(deserialize_with = "lenient::u32")]
    pub port: u32,
    /// Database name (default `ledger`).
    pub dbname: String,
    /// PEM file of the CA certificate(s) the server's certificate must chain to (only these are
    /// trusted for the ledger).
    pub ca_bundle: Option<PathBuf>,
    /// This desk's id, as registered with `issuance-desk-admin ledger add-desk`.
    pub desk_id: Option<String>,
    /// This desk's branch.
    pub branch_id: Option<String>,
    /// The login role, which is the CN of the desk's certificate. Default `desk_<desk_id>`.
    pub user: Option<String>,
    /// Time allowed to connect, in seconds (1–120, default 10).
    #[serde(deserialize_with = "lenient::u32")]
    pub connect_timeout_seconds: u32,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        LedgerConfig {
            host: None,
            port: 5432,
            dbname: "ledger".into(),
            ca_bundle: None,
            desk_id: None,
            branch_id: None,
            user: None,
            connect_timeout_seconds: 10,
        }
    }
}

/// The prefix of a desk's login role (`branch-ledger`'s `DESK_ROLE_PREFIX`).
pub const DESK_ROLE_PREFIX: &str = "desk_";

impl LedgerConfig {
    /// Whether a ledger is configured (`host` is set).
    pub fn is_configured(&self) -> bool {
        self.host.is_some()
    }

    /// The login role: `user`, else `desk_<desk_id>`.
    pub fn role(&self) -> Option<String> {
        self.user.clone().or_else(|| {
            self.desk_id
                .as_ref()
                .map(|d| format!("{DESK_ROLE_PREFIX}{d}"))
        })
    }
}

/// `^[A-Za-z0-9_-]{1,max}$`
fn is_ident(s: &str, max: usize) -> bool {
    crate::validate::is_ident(s, max)
}

/// A host name (letters, digits, `-`, `.`) or an IP address, at most 253 characters.
fn is_host(s: &str) -> bool {
    if s.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    !s.is_empty()
        && s.len() <= 253
        && !s.starts_with(['.', '-'])
        && !s.ends_with(['.', '-'])
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

fn q(s: &str) -> Option<String> {
    Some(format!("{s:?}"))
}

pub(crate) fn check_ledger(r: &mut Reporter<'_>, ledger: &LedgerConfig) {
    for leaf in r.leaves("ledger") {
        // With a machine file, the general machine-only rule already names the key.
        if !r.is_machine_or_default(&leaf) && !r.has_problem_at(&leaf) {
            r.report(
                &leaf,
                None,
                "the ledger can only be configured in the machine-wide file (not in a per-user file or an environment variable)",
            );
        }
    }

    let Some(host) = &ledger.host else {
        for (key, set) in [
            ("ledger.ca_bundle", ledger.ca_bundle.is_some()),
            ("ledger.desk_id", ledger.desk_id.is_some()),
            ("ledger.branch_id", ledger.branch_id.is_some()),
            ("ledger.user", ledger.user.is_some()),
        ] {
            if set {
                r.report(
                    key,
                    None,
                    "set ledger.host to use the branch ledger (or remove the [ledger] keys)",
                );
            }
        }
        return;
    };
    if !is_host(host) {
        r.report(
            "ledger.host",
            q(host),
            "expected a host name (letters, digits, '-', '.') or an IP address",
        );
    }
    if !(1..=65_535).contains(&ledger.port) {
        r.report(
            "ledger.port",
            Some(ledger.port.to_string()),
            "expected 1 to 65535",
        );
    }
    if !is_ident(&ledger.dbname, 63) {
        r.report(
            "ledger.dbname",
            q(&ledger.dbname),
            "expected 1 to 63 characters among A-Z a-z 0-9 _ -",
        );
    }
    if !(1..=120).contains(&ledger.connect_timeout_seconds) {
        r.report(
            "ledger.connect_timeout_seconds",
            Some(ledger.connect_timeout_seconds.to_string()),
            "expected 1 to 120 seconds",
        );
    }
    for (key, value) in [
        ("ledger.desk_id", &ledger.desk_id),
        ("ledger.branch_id", &ledger.branch_id),
    ] {
        match value {
            None => r.report(key, None, "required when ledger.host is set"),
            Some(v) if !is_ident(v, 40) => r.report(
                key,
                q(v),
                "expected 1 to 40 characters among A-Z a-z 0-9 _ - (as registered with `issuance-desk-admin ledger add-desk`)",
            ),
            Some(_) => {}
        }
    }
    if let Some(user) = &ledger.user
        && !is_ident(user, 63)
    {
        r.report(
            "ledger.user",
            q(user),
            "expected 1 to 63 characters among A-Z a-z 0-9 _ - (the CN of the desk's certificate)",
        );
    }
    match &ledger.ca_bundle {
        None => r.report(
            "ledger.ca_bundle",
            None,
            "required when ledger.host is set (a PEM file of the CA that issued the ledger server's certificate)",
        ),
        Some(path) => {
            let shown = Some(format!("{:?}", path.display().to_string()));
            match std::fs::read(path) {
                Err(e) => r.report(
                    "ledger.ca_bundle",
                    shown,
                    format!("cannot read the file: {e}"),
                ),
                Ok(bytes) => match openssl::x509::X509::stack_from_pem(&bytes) {
                    Ok(certs) if !certs.is_empty() => {}
                    _ => r.report(
                        "ledger.ca_bundle",
                        shown,
                        "expected a PEM file of one or more CA certificates (-----BEGIN CERTIFICATE-----)",
                    ),
                },
            }
        }
    }
}

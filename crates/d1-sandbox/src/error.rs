//! The crate's one error type.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything that can stop a sandbox from starting or a test kit from being generated.
///
/// Messages name the configuration key or file at fault and never contain key material.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The configuration is inconsistent; the message names the key.
    #[error("invalid sandbox configuration: {0}")]
    Config(String),

    /// The configuration file could not be read.
    #[error("cannot read the sandbox configuration file {path}: {source}")]
    ConfigFile {
        /// The file that was asked for.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },

    /// The configuration file is not valid TOML or JSON for a sandbox configuration.
    #[error("the sandbox configuration file {path} is not valid: {message}")]
    ConfigParse {
        /// The file that was read.
        path: PathBuf,
        /// What the parser reported (line, column and key; never values of secrets).
        message: String,
    },

    /// A configured key (JWK) cannot be used; the message names its `kid`, never its content.
    #[error("the key with kid {kid:?} cannot be used: {reason}")]
    Key {
        /// Key identifier from the configuration.
        kid: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The TLS settings (certificate, private key, client CA) cannot be used.
    #[error("the TLS settings cannot be used: {0}")]
    Tls(String),

    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },

    /// The committed OpenAPI document could not be turned into a validator.
    #[error("the vendor OpenAPI document cannot be compiled into a validator: {0}")]
    Schema(String),

    /// Test key or certificate generation failed.
    #[error("cannot generate test material: {0}")]
    Testkit(String),
}

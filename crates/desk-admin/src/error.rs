//! The one error type of the admin CLI: each variant is one documented exit code.

use std::process::ExitCode;

/// Exit codes, documented in `--help` and DEPLOYMENT.md.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  a check failed, or the command could not do its work (a file cannot be read, a key is refused, D1 has no such card)
  2  usage error (unknown command or option, a missing or malformed argument)
  3  the configuration is invalid (every problem is listed with its key)
  4  the OS keychain (or the PKCS#11 token) is unavailable, locked or refused the PIN
  5  D1 is unreachable or refused the connection check (TLS, 401/403, timeouts)
  6  the branch ledger is unreachable or refused the connection (TLS, certificate, timeouts)";

/// Why a command failed. The message is for people and never holds secret material or card data.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A check failed or the command could not complete (exit 1).
    #[error("{0}")]
    Failed(String),
    /// The command line is wrong (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The configuration is invalid (exit 3).
    #[error("{0}")]
    Config(String),
    /// The keychain cannot be used (exit 4).
    #[error("{0}")]
    Keychain(String),
    /// D1 cannot be reached or refused us (exit 5).
    #[error("{0}")]
    D1(String),
    /// The branch ledger cannot be reached or refused us (exit 6).
    #[error("{0}")]
    Ledger(String),
}

impl AdminError {
    /// The process exit code of this error.
    pub fn code(&self) -> u8 {
        match self {
            AdminError::Failed(_) => 1,
            AdminError::Usage(_) => 2,
            AdminError::Config(_) => 3,
            AdminError::Keychain(_) => 4,
            AdminError::D1(_) => 5,
            AdminError::Ledger(_) => 6,
        }
    }

    /// As a process exit code.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code())
    }

    /// Maps a keychain error: unavailable / locked / platform → 4, refused input or missing
    /// entry → 1.
    pub fn from_secrets(error: &desk_secrets::SecretsError) -> Self {
        use desk_secrets::SecretsErrorKind as K;
        match error.kind() {
            K::NoSecretService | K::Locked | K::Platform => AdminError::Keychain(error.to_string()),
            K::NotFound | K::Invalid => AdminError::Failed(error.to_string()),
            K::Token => AdminError::Keychain(error.to_string()),
        }
    }
}

/// What every command returns.
pub type Outcome = Result<(), AdminError>;

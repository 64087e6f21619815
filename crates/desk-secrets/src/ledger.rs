//! The branch ledger's client identity: the certificate PostgreSQL authenticates this desk with
//! (its CN is the desk's role) and its private key, in the keychain next to the D1 credentials.

use crate::secret::{CertificateStatus, MtlsIdentity};
use crate::{SecretStore, SecretsError};

/// Keychain username of the ledger client certificate chain.
pub const LEDGER_CERT_USER: &str = "ledger-cert";
/// Keychain username of the ledger client private key.
pub const LEDGER_KEY_USER: &str = "ledger-key";

const LEDGER_CERT: &str = "ledger client certificate";
const LEDGER_KEY: &str = "ledger client private key";

impl SecretStore {
    /// Imports the desk's ledger identity: the certificate chain (PEM, leaf first) and the
    /// private key that matches it. Both are checked before anything is stored.
    pub fn import_ledger_identity(
        &self,
        cert_pem: &[u8],
        key_pem: &[u8],
    ) -> Result<CertificateStatus, SecretsError> {
        self.import_identity(
            (LEDGER_CERT_USER, LEDGER_CERT),
            (LEDGER_KEY_USER, LEDGER_KEY),
            cert_pem,
            key_pem,
        )
    }

    /// The desk's ledger identity.
    pub fn ledger_identity(&self) -> Result<MtlsIdentity, SecretsError> {
        self.identity(
            (LEDGER_CERT_USER, LEDGER_CERT),
            (LEDGER_KEY_USER, LEDGER_KEY),
        )
    }

    /// The stored ledger certificate's subject and expiry, if there is one.
    pub fn ledger_certificate(&self) -> Result<Option<CertificateStatus>, SecretsError> {
        match self.read_optional(LEDGER_CERT_USER, LEDGER_CERT)? {
            None => Ok(None),
            Some(pem) => {
                let certs = crate::keys::parse_chain(pem.expose())?;
                crate::keys::certificate_status(&certs).map(Some)
            }
        }
    }

    pub(crate) fn remove_ledger_identity(&self) -> Result<(), SecretsError> {
        self.delete(LEDGER_CERT_USER, LEDGER_CERT)?;
        self.delete(LEDGER_KEY_USER, LEDGER_KEY)
    }
}

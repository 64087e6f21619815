//! Private keys on a PKCS#11 token (a TPM through tpm2-pkcs11, an HSM, SoftHSM2 in tests),
//! through `cryptoki`. The keys are created on the token — generated there, or imported once —
//! as sensitive and non-extractable objects, and they sign there: the private key never comes
//! back into this process. The token's PIN is a secret and lives in the OS keychain
//! ([`crate::SecretStore::pkcs11_pin`]).
//!
//! Each key is a pair of objects with the same `CKA_LABEL` and `CKA_ID`: the private key
//! (`CKA_SIGN`, `CKA_SENSITIVE`, not `CKA_EXTRACTABLE`) and its public key (to show its
//! fingerprint and check a certificate against it).

mod signer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcGroup, EcKey, EcPoint, PointConversionForm};
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private, Public};
use openssl::rsa::Rsa;
use zeroize::Zeroize;

use crate::error::SecretsError;
use crate::secret::{PublicFingerprint, SecretBytes};

pub use signer::{TokenKey, TokenKeyKind};

/// Which token: the module (library) and the token's label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenConfig {
    /// Absolute path of the PKCS#11 library.
    pub module: PathBuf,
    /// The label the token was initialized with.
    pub token_label: String,
}

/// DER of the named-curve OIDs used as `CKA_EC_PARAMS`.
const P256_PARAMS: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const P384_PARAMS: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];

/// One initialized context per module and process (C_Initialize may run only once).
fn context(module: &Path) -> Result<Pkcs11, SecretsError> {
    static CONTEXTS: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let mut contexts = CONTEXTS
        .get_or_init(Mutex::default)
        .lock()
        .map_err(|_| SecretsError::token("the PKCS#11 context lock is poisoned"))?;
    if let Some(ctx) = contexts.get(module) {
        return Ok(ctx.clone());
    }
    let ctx = Pkcs11::new(module).map_err(|e| {
        SecretsError::token(format!(
            "the PKCS#11 module {} cannot be loaded ({e}): check keys.pkcs11_module",
            module.display()
        ))
    })?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => {
            return Err(SecretsError::token(format!(
                "the PKCS#11 module {} cannot be initialized: {e}",
                module.display()
            )));
        }
    }
    contexts.insert(module.to_path_buf(), ctx.clone());
    Ok(ctx)
}

/// A PKCS#11 error as a message for people (return values only; never data).
pub(crate) fn describe(error: &CkError) -> String {
    match error {
        CkError::Pkcs11(rv, function) => format!("{function}: {}", rv_name(*rv)),
        other => other.to_string(),
    }
}

fn rv_name(rv: RvError) -> String {
    match rv {
        RvError::PinIncorrect => "the token refused the PIN (CKR_PIN_INCORRECT): store the right one with `issuance-desk-admin secrets set-pin`".into(),
        RvError::PinLocked => "the token's PIN is locked (CKR_PIN_LOCKED): unlock it with the token's SO PIN".into(),
        RvError::PinExpired => "the token's PIN has expired (CKR_PIN_EXPIRED)".into(),
        RvError::TokenNotPresent | RvError::DeviceRemoved => "the token is not present".into(),
        RvError::DeviceError => "the token reported a device error".into(),
        RvError::UserNotLoggedIn => "not logged in to the token".into(),
        RvError::AttributeSensitive => "the token refuses to reveal a sensitive attribute (CKR_ATTRIBUTE_SENSITIVE)".into(),
        other => format!("{other:?}"),
    }
}

/// A logged-in session on one token. Cheap to clone; the session is shared (one request at a
/// time, which is what a PKCS#11 session allows).
#[derive(Clone)]
pub struct Token {
    session: Arc<Mutex<Session>>,
    label: String,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

impl Token {
    /// Loads the module (once per process), finds the token by its label, opens a read-write
    /// session and logs in as the user with `pin`.
    pub fn login(config: &TokenConfig, pin: &SecretBytes) -> Result<Token, SecretsError> {
        let ctx = context(&config.module)?;
        let slots = ctx
            .get_slots_with_initialized_token()
            .map_err(|e| SecretsError::token(describe(&e)))?;
        let mut seen = Vec::new();
        let mut found = None;
        for slot in slots {
            let Ok(info) = ctx.get_token_info(slot) else {
                continue;
            };
            let label = info.label().trim_end().to_string();
            if label == config.token_label {
                found = Some(slot);
                break;
            }
            seen.push(label);
        }
        let slot = found.ok_or_else(|| {
            SecretsError::token(format!(
                "no token labelled {:?} in {} (tokens found: {}): check keys.token_label",
                config.token_label,
                config.module.display(),
                if seen.is_empty() {
                    "none".to_string()
                } else {
                    seen.join(", ")
                }
            ))
        })?;
        let session = ctx
            .open_rw_session(slot)
            .map_err(|e| SecretsError::token(describe(&e)))?;
        let pin_text = pin
            .expose_str()
            .ok_or_else(|| SecretsError::token("the stored token PIN is not text: set it again"))?;
        let auth = AuthPin::new(pin_text.into());
        match session.login(UserType::User, Some(&auth)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => return Err(SecretsError::token(describe(&e))),
        }
        Ok(Token {
            session: Arc::new(Mutex::new(session)),
            label: config.token_label.clone(),
        })
    }

    /// The token's label.
    pub fn label(&self) -> &str {
        &self.label
    }

    pub(crate) fn with_session<T>(
        &self,
        f: impl FnOnce(&Session) -> Result<T, CkError>,
    ) -> Result<T, SecretsError> {
        let session = self
            .session
            .lock()
            .map_err(|_| SecretsError::token("the token session lock is poisoned"))?;
        f(&session).map_err(|e| SecretsError::token(describe(&e)))
    }

    fn find(&self, class: ObjectClass, label: &str) -> Result<Vec<ObjectHandle>, SecretsError> {
        let template = [
            Attribute::Class(class),
            Attribute::Label(label.as_bytes().to_vec()),
        ];
        self.with_session(|s| s.find_objects(&template))
    }

    fn one(&self, class: ObjectClass, label: &str) -> Result<ObjectHandle, SecretsError> {
        let found = self.find(class, label)?;
        match found.as_slice() {
            [one] => Ok(*one),
            [] => Err(SecretsError::token(format!(
                "no {} labelled {label:?} on token {:?}: import one with `issuance-desk-admin secrets import --to-token` or generate one with `secrets generate-on-token`",
                if class == ObjectClass::PRIVATE_KEY {
                    "private key"
                } else {
                    "public key"
                },
                self.label
            ))),
            many => Err(SecretsError::token(format!(
                "{} objects labelled {label:?} on token {:?}: remove the extra ones",
                many.len(),
                self.label
            ))),
        }
    }

    /// The private key labelled `label`, ready to sign on the token.
    pub fn private_key(&self, label: &str) -> Result<TokenKey, SecretsError> {
        let handle = self.one(ObjectClass::PRIVATE_KEY, label)?;
        let public = self.public_key(label)?;
        let kind = TokenKeyKind::of(&public)?;
        Ok(TokenKey::new(self.clone(), handle, kind, label))
    }

    /// The public key stored beside the private key labelled `label`.
    pub fn public_key(&self, label: &str) -> Result<PKey<Public>, SecretsError> {
        let handle = self.one(ObjectClass::PUBLIC_KEY, label)?;
        let attributes = self.with_session(|s| {
            s.get_attributes(
                handle,
                &[
                    AttributeType::KeyType,
                    AttributeType::EcParams,
                    AttributeType::EcPoint,
                    AttributeType::Modulus,
                    AttributeType::PublicExponent,
                ],
            )
        })?;
        public_from_attributes(&attributes)
    }

    /// The fingerprint of the key pair labelled `label` (SHA-256 of its public key).
    pub fn fingerprint(&self, label: &str) -> Result<PublicFingerprint, SecretsError> {
        let spki = self
            .public_key(label)?
            .public_key_to_der()
            .map_err(|_| SecretsError::token("the public key on the token cannot be encoded"))?;
        Ok(PublicFingerprint::of_spki(&spki))
    }

    /// Whether the private key labelled `label` is sensitive and was never extractable (what
    /// this crate creates; a key imported by other tools may not be).
    pub fn is_non_extractable(&self, label: &str) -> Result<bool, SecretsError> {
        let handle = self.one(ObjectClass::PRIVATE_KEY, label)?;
        let attributes = self.with_session(|s| {
            s.get_attributes(
                handle,
                &[
                    AttributeType::Sensitive,
                    AttributeType::Extractable,
                    AttributeType::AlwaysSensitive,
                    AttributeType::NeverExtractable,
                ],
            )
        })?;
        let flag = |t: AttributeType| {
            attributes.iter().any(|a| match (a, t) {
                (Attribute::Sensitive(v), AttributeType::Sensitive) => *v,
                (Attribute::Extractable(v), AttributeType::Extractable) => *v,
                _ => false,
            })
        };
        Ok(flag(AttributeType::Sensitive) && !flag(AttributeType::Extractable))
    }

    /// Removes the key pair labelled `label` (absent objects are fine).
    pub fn remove_key(&self, label: &str) -> Result<(), SecretsError> {
        for class in [ObjectClass::PRIVATE_KEY, ObjectClass::PUBLIC_KEY] {
            for handle in self.find(class, label)? {
                self.with_session(|s| s.destroy_object(handle))?;
            }
        }
        Ok(())
    }

    /// Imports a private key onto the token as a sensitive, non-extractable signing key
    /// labelled `label` (replacing any key with that label), with its public key beside it.
    /// EC P-256/P-384 and RSA are accepted; the caller checks what the key is for. The key's
    /// bytes given to the token are wiped here.
    pub fn import_private_key(
        &self,
        label: &str,
        key: &PKey<Private>,
    ) -> Result<PublicFingerprint, SecretsError> {
        let spki = key
            .public_key_to_der()
            .map_err(|_| SecretsError::invalid("the public part of the key cannot be encoded"))?;
        let id = key_id(&spki);
        let mut private = vec![
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(id.clone()),
        ];
        let mut public = vec![
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(id),
        ];
        match key.id() {
            Id::EC => {
                let ec = key
                    .ec_key()
                    .map_err(|_| SecretsError::invalid("the key is not a usable EC key"))?;
                let (params, size) = match ec.group().curve_name() {
                    Some(Nid::X9_62_PRIME256V1) => (P256_PARAMS, 32),
                    Some(Nid::SECP384R1) => (P384_PARAMS, 48),
                    _ => {
                        return Err(SecretsError::invalid(
                            "only EC P-256 and P-384 keys can be put on the token",
                        ));
                    }
                };
                let d = ec
                    .private_key()
                    .to_vec_padded(size)
                    .map_err(|_| SecretsError::invalid("the EC private key cannot be encoded"))?;
                private.extend([
                    Attribute::KeyType(KeyType::EC),
                    Attribute::EcParams(params.to_vec()),
                    Attribute::Value(d),
                ]);
                public.extend([
                    Attribute::KeyType(KeyType::EC),
                    Attribute::EcParams(params.to_vec()),
                    Attribute::EcPoint(ec_point_der(ec.group(), ec.public_key())?),
                ]);
            }
            Id::RSA => {
                let rsa = key
                    .rsa()
                    .map_err(|_| SecretsError::invalid("the key is not a usable RSA key"))?;
                let part = |n: Option<&openssl::bn::BigNumRef>| {
                    n.map(|n| n.to_vec()).ok_or_else(|| {
                        SecretsError::invalid("the RSA key lacks its CRT parameters")
                    })
                };
                private.extend([
                    Attribute::KeyType(KeyType::RSA),
                    Attribute::Modulus(rsa.n().to_vec()),
                    Attribute::PublicExponent(rsa.e().to_vec()),
                    Attribute::PrivateExponent(rsa.d().to_vec()),
                    Attribute::Prime1(part(rsa.p())?),
                    Attribute::Prime2(part(rsa.q())?),
                    Attribute::Exponent1(part(rsa.dmp1())?),
                    Attribute::Exponent2(part(rsa.dmq1())?),
                    Attribute::Coefficient(part(rsa.iqmp())?),
                ]);
                public.extend([
                    Attribute::KeyType(KeyType::RSA),
                    Attribute::Modulus(rsa.n().to_vec()),
                    Attribute::PublicExponent(rsa.e().to_vec()),
                ]);
            }
            _ => {
                return Err(SecretsError::invalid(
                    "only EC and RSA keys can be put on the token",
                ));
            }
        }
        self.remove_key(label)?;
        let created = self
            .with_session(|s| s.create_object(&private))
            .and_then(|_| self.with_session(|s| s.create_object(&public)));
        wipe(&mut private);
        if let Err(e) = created {
            let _ = self.remove_key(label);
            return Err(e);
        }
        Ok(PublicFingerprint::of_spki(&spki))
    }

    /// Generates a P-256 key pair on the token (the private key sensitive and never
    /// extractable), labelled `label`, replacing any key with that label. Returns the public key
    /// (SPKI PEM, to register at D1 or put in a certificate request) and its fingerprint.
    pub fn generate_p256(&self, label: &str) -> Result<(String, PublicFingerprint), SecretsError> {
        self.remove_key(label)?;
        let public_template = [
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::EcParams(P256_PARAMS.to_vec()),
            Attribute::Label(label.as_bytes().to_vec()),
        ];
        let private_template = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Label(label.as_bytes().to_vec()),
        ];
        let (public, private) = self.with_session(|s| {
            s.generate_key_pair(
                &Mechanism::EccKeyPairGen,
                &public_template,
                &private_template,
            )
        })?;
        let key = self.public_key(label)?;
        let spki = key
            .public_key_to_der()
            .map_err(|_| SecretsError::token("the generated public key cannot be encoded"))?;
        let id = key_id(&spki);
        for handle in [public, private] {
            self.with_session(|s| s.update_attributes(handle, &[Attribute::Id(id.clone())]))?;
        }
        let pem = key
            .public_key_to_pem()
            .map_err(|_| SecretsError::token("the generated public key cannot be encoded"))?;
        Ok((
            String::from_utf8_lossy(&pem).into_owned(),
            PublicFingerprint::of_spki(&spki),
        ))
    }
}

/// `CKA_ID`: the first 16 bytes of the SHA-256 of the public key (SPKI).
fn key_id(spki: &[u8]) -> Vec<u8> {
    openssl::sha::sha256(spki)[..16].to_vec()
}

fn wipe(attributes: &mut [Attribute]) {
    for attribute in attributes {
        match attribute {
            Attribute::Value(v)
            | Attribute::PrivateExponent(v)
            | Attribute::Prime1(v)
            | Attribute::Prime2(v)
            | Attribute::Exponent1(v)
            | Attribute::Exponent2(v)
            | Attribute::Coefficient(v) => v.zeroize(),
            _ => {}
        }
    }
}

/// `CKA_EC_POINT`: the uncompressed point as a DER OCTET STRING.
fn ec_point_der(
    group: &openssl::ec::EcGroupRef,
    point: &openssl::ec::EcPointRef,
) -> Result<Vec<u8>, SecretsError> {
    let mut ctx = BigNumContext::new()
        .map_err(|_| SecretsError::invalid("the EC public key cannot be encoded"))?;
    let raw = point
        .to_bytes(group, PointConversionForm::UNCOMPRESSED, &mut ctx)
        .map_err(|_| SecretsError::invalid("the EC public key cannot be encoded"))?;
    let len = u8::try_from(raw.len())
        .map_err(|_| SecretsError::invalid("the EC public key is too long"))?;
    let mut der = vec![0x04, len];
    der.extend_from_slice(&raw);
    Ok(der)
}

/// The public key from a public key object's attributes.
fn public_from_attributes(attributes: &[Attribute]) -> Result<PKey<Public>, SecretsError> {
    let bad = || SecretsError::token("the public key on the token cannot be read");
    let mut key_type = None;
    let (mut params, mut point, mut modulus, mut exponent) = (None, None, None, None);
    for attribute in attributes {
        match attribute {
            Attribute::KeyType(t) => key_type = Some(*t),
            Attribute::EcParams(v) => params = Some(v.as_slice()),
            Attribute::EcPoint(v) => point = Some(v.as_slice()),
            Attribute::Modulus(v) => modulus = Some(v.as_slice()),
            Attribute::PublicExponent(v) => exponent = Some(v.as_slice()),
            _ => {}
        }
    }
    match key_type {
        Some(KeyType::EC) => {
            let nid = match params.ok_or_else(bad)? {
                p if p == P256_PARAMS => Nid::X9_62_PRIME256V1,
                p if p == P384_PARAMS => Nid::SECP384R1,
                _ => {
                    return Err(SecretsError::token(
                        "the key on the token is on a curve other than P-256 or P-384",
                    ));
                }
            };
            let group = EcGroup::from_curve_name(nid).map_err(|_| bad())?;
            let point = point.ok_or_else(bad)?;
            // DER OCTET STRING (as the standard says) or the raw point (some tokens).
            let raw = match point {
                [0x04, len, rest @ ..] if usize::from(*len) == rest.len() => rest,
                other => other,
            };
            let mut ctx = BigNumContext::new().map_err(|_| bad())?;
            let point = EcPoint::from_bytes(&group, raw, &mut ctx).map_err(|_| bad())?;
            let ec = EcKey::from_public_key(&group, &point).map_err(|_| bad())?;
            PKey::from_ec_key(ec).map_err(|_| bad())
        }
        Some(KeyType::RSA) => {
            let n = BigNum::from_slice(modulus.ok_or_else(bad)?).map_err(|_| bad())?;
            let e = BigNum::from_slice(exponent.ok_or_else(bad)?).map_err(|_| bad())?;
            let rsa = Rsa::from_public_components(n, e).map_err(|_| bad())?;
            PKey::from_rsa(rsa).map_err(|_| bad())
        }
        _ => Err(SecretsError::token(
            "the key on the token is neither EC nor RSA",
        )),
    }
}

//! What `doctor` says about a failed D1 check, written for IT (settings, certificates, network,
//! keys), with D1's own reason when D1 gave one and the correlation id to quote to Thales. The
//! teller's advice ("the same order is reused") belongs to the window, not here.

use d1_client::{D1Error, Endpoint};

/// The failed check in IT's words: what failed, what to look at, D1's reason, the correlation id.
pub fn explain(error: &D1Error) -> String {
    let mut text = match error {
        D1Error::Config { key, reason } => format!(
            "The configuration is invalid at `{key}`: {reason}. Run `issuance-desk-admin config check`."
        ),
        D1Error::InvalidRequest { errors } => format!(
            "The request had {} invalid field(s) before it was sent (a desk-side check).",
            errors.len()
        ),
        D1Error::Encryption => "The card data could not be encrypted: check `d1.encryption_key` (D1's public JWK) in the configuration.".into(),
        D1Error::Signing => "The signing key could not sign the token request: check the keychain entry (`secrets status`) or, with `[keys] store = \"pkcs11\"`, the token's PIN and key label.".into(),
        D1Error::TokenRejected { status, .. } => format!(
            "D1 refused the token request (HTTP {status}): it did not accept the signed assertion. Check `d1.issuer_id`, `d1.signing_kid` and that the signing key in the keychain is the one registered at D1 under that kid (`secrets status` shows its fingerprint); a clock more than a few minutes off also makes D1 refuse it."
        ),
        D1Error::Unauthorized { .. } => "D1 answered 401 to a banking call even with a fresh token: the token's issuer does not match the issuer of the URL. Check `d1.issuer_id` and the base URLs.".into(),
        D1Error::Forbidden { .. } => "D1 forbids this request (403 AUTHORIZER_FORBIDDEN): this issuer or desk is not allowed to call the API. Ask Thales to check the issuer's permissions.".into(),
        D1Error::OperationNotAllowed { .. } => "D1 does not allow this operation (403 OPERATION_NOT_ALLOWED) for the product or card.".into(),
        D1Error::NotFound { endpoint: Endpoint::Status, .. } => "D1 has no order for this card (404 on productionStatus): the card id is unknown to D1.".into(),
        D1Error::NotFound { endpoint, .. } => format!(
            "D1 answered 404 to the {endpoint}: the issuer id or a base URL is wrong. Check `d1.issuer_id`, `d1.auth_base_url` and `d1.banking_base_url`."
        ),
        D1Error::FieldInvalidFormat { .. } | D1Error::FieldInvalidValue { .. } | D1Error::BadRequest { .. } => {
            "D1 refused the request (400): a value does not match D1's onboarding (products, stations, service identifiers in the configuration).".into()
        }
        D1Error::CryptoError { .. } => "D1 could not decrypt the card data (CRYPTO_ERROR): `d1.encryption_key` or its kid is not D1's current encryption key.".into(),
        D1Error::ParsingError { .. } => "D1 could not read the decrypted card data (PARSING_ERROR).".into(),
        D1Error::Internal { endpoint, .. } => format!("D1 answered 500 to the {endpoint}: an error inside D1. Try again later; if it persists, give Thales the correlation id."),
        D1Error::Unavailable { endpoint, attempts, .. } => format!(
            "D1 answered 503 (unavailable) to the {endpoint}, {attempts} attempt(s) within `retry.budget_seconds`: D1 or a gateway in front of it is overloaded or in maintenance. Try again later."
        ),
        D1Error::UnexpectedStatus { endpoint, status, .. } => format!(
            "The {endpoint} got HTTP {status}, which D1 does not send: a proxy or gateway answered (502/504: it could not reach D1). Check the base URLs and any proxy between this PC and D1."
        ),
        D1Error::InvalidResponse { endpoint, .. } => format!(
            "The {endpoint} got an answer that is not D1's JSON: the base URL may point at a proxy's login or error page, not at D1."
        ),
        D1Error::Timeout { endpoint, attempts, .. } => format!(
            "The {endpoint} got no answer in time ({attempts} attempt(s)): check the network path to D1 and `d1.timeouts`."
        ),
        D1Error::Tls { .. } => "The TLS handshake with D1 failed: check the CA bundle (`d1.extra_ca_bundle`, or the system's CA store), the mTLS certificate and key (`secrets status`), and that the base URL's host name matches D1's certificate.".into(),
        D1Error::Connection { attempts, .. } => format!(
            "No connection to D1 ({attempts} attempt(s)): check DNS, the firewall (HTTPS, port 443 to the D1 hosts) and any proxy."
        ),
        D1Error::Transport { endpoint, .. } => format!(
            "The connection broke during the {endpoint}: a proxy or load balancer may be cutting connections."
        ),
    };
    if let Some(reason) = error.detail() {
        text.push_str(&format!(" D1's reason: \"{reason}\"."));
    }
    if let Some(id) = error.correlation_id() {
        text.push_str(&format!(" [correlation id {id}]"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use d1_client::CorrelationId;

    #[test]
    fn a_refused_sign_in_names_what_to_check_and_d1s_reason_and_no_teller_advice() {
        let error = D1Error::TokenRejected {
            correlation_id: CorrelationId::parse("corr-1").unwrap(),
            status: 401,
            detail: Some("UNAUTHORIZED: assertion kid is not a known issuer key".into()),
        };
        let text = explain(&error);
        assert!(text.contains("HTTP 401"), "{text}");
        assert!(text.contains("d1.signing_kid"), "{text}");
        assert!(
            text.contains("D1's reason: \"UNAUTHORIZED: assertion kid is not a known issuer key\""),
            "{text}"
        );
        assert!(text.contains("[correlation id corr-1]"), "{text}");
        assert!(!text.contains("same order"), "{text}");
    }

    #[test]
    fn an_unreachable_d1_points_at_the_network() {
        let error = D1Error::Connection {
            correlation_id: CorrelationId::parse("corr-2").unwrap(),
            attempts: 3,
        };
        let text = explain(&error);
        assert!(text.contains("firewall"), "{text}");
        assert!(!text.contains("D1's reason"), "{text}");
    }
}

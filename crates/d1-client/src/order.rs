//! A validated, encrypted order ready to send (and resend with the same ids and JWE).

use std::fmt;

use zeroize::Zeroizing;

use crate::card::CardData;
use crate::error::D1Error;
use crate::jwe::{EncryptionKey, encrypt_card_data};
use crate::model::CardRequestInstant;
use crate::validate::validate_request;
use desk_domain::{CardId, CorrelationId, IssuerRequestId, OrderIds};

/// The request body (with the JWE) and the ids of one teller intent. Built once; every retry
/// sends exactly these bytes. `Debug` shows the ids and the last 4 digits only.
pub struct PreparedOrder {
    ids: OrderIds,
    last4: String,
    body: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for PreparedOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedOrder")
            .field("ids", &self.ids)
            .field("last4", &self.last4)
            .field("body", &"<redacted>")
            .finish()
    }
}

impl PreparedOrder {
    /// Validates `request` against the vendor schema, sets its `issuerRequestId` from `ids`,
    /// encrypts `card_data` for `encryption_key` and serializes the body. `card_data` is consumed
    /// and wiped when this returns, whatever the result.
    pub fn prepare(
        mut request: CardRequestInstant,
        card_data: CardData,
        encryption_key: &EncryptionKey,
        ids: OrderIds,
    ) -> Result<PreparedOrder, D1Error> {
        request.issuer_request_id = Some(ids.issuer_request_id.clone());
        let errors = validate_request(&request);
        if !errors.is_empty() {
            return Err(D1Error::InvalidRequest { errors });
        }
        let last4 = card_data.last4();
        let jwe = encrypt_card_data(&card_data, encryption_key)?;
        drop(card_data);
        let mut value = serde_json::to_value(&request).map_err(|_| D1Error::Encryption)?;
        if let Some(map) = value.as_object_mut() {
            map.insert(
                "encryptedData".into(),
                serde_json::Value::String(jwe.as_str().to_string()),
            );
        }
        let body = Zeroizing::new(serde_json::to_vec(&value).map_err(|_| D1Error::Encryption)?);
        Ok(PreparedOrder { ids, last4, body })
    }

    pub fn ids(&self) -> &OrderIds {
        &self.ids
    }

    pub fn card_id(&self) -> &CardId {
        &self.ids.card_id
    }

    pub fn issuer_request_id(&self) -> &IssuerRequestId {
        &self.ids.issuer_request_id
    }

    pub fn correlation_id(&self) -> &CorrelationId {
        &self.ids.correlation_id
    }

    /// The last 4 digits of the PAN, for the summary and the journal.
    pub fn last4(&self) -> &str {
        &self.last4
    }

    /// The JSON body sent to D1 (contains the JWE: do not log or store it).
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::{CardDataInput, ProductRules};
    use crate::model::{PaymentApplication, Services};
    use josekit::jwe::ECDH_ES;
    use josekit::jwk::alg::ec::EcCurve;

    fn key() -> (EncryptionKey, josekit::jwk::Jwk) {
        let pair = ECDH_ES.generate_ec_key_pair(EcCurve::P256).unwrap();
        let mut public = pair.to_jwk_public_key();
        public.set_key_id("k1");
        (
            EncryptionKey::from_jwk_json(&public.to_string()).unwrap(),
            pair.to_jwk_private_key(),
        )
    }

    fn card() -> CardData {
        let input = CardDataInput::new("4000056655665556", "12/39", "JANE DOE");
        CardData::from_input(&input, &ProductRules::default()).unwrap()
    }

    fn request() -> CardRequestInstant {
        CardRequestInstant {
            perso_station: "KIOSK-PS-101".into(),
            services: Services {
                issuance: "CREATION".into(),
                ..Default::default()
            },
            payment_application: PaymentApplication {
                config: "VISA".into(),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn body_carries_ids_and_a_jwe_but_no_clear_pan() {
        let (k, private) = key();
        let ids = OrderIds::generate();
        let order = PreparedOrder::prepare(request(), card(), &k, ids.clone()).unwrap();
        let body: serde_json::Value = serde_json::from_slice(order.body()).unwrap();
        assert_eq!(body["issuerRequestId"], ids.issuer_request_id.as_str());
        assert_eq!(body["distributionChannel"], "INSTANT");
        let jwe = body["encryptedData"].as_str().unwrap();
        let text = String::from_utf8(order.body().to_vec()).unwrap();
        assert!(!text.contains("4000056655665556"));
        let dec = ECDH_ES.decrypter_from_jwk(&private).unwrap();
        let (plain, _) = josekit::jwe::deserialize_compact(jwe, &dec).unwrap();
        let plain: serde_json::Value = serde_json::from_slice(&plain).unwrap();
        assert_eq!(plain["pan"], "4000056655665556");
        assert_eq!(order.last4(), "5556");
        let dbg = format!("{order:?}");
        assert!(
            dbg.contains("<redacted>") && !dbg.contains(jwe) && !dbg.contains("4000056655665556")
        );
    }

    #[test]
    fn invalid_request_is_refused_before_encryption() {
        let (k, _) = key();
        let mut r = request();
        r.services.issuance = "NEW CARD".into();
        let e = PreparedOrder::prepare(r, card(), &k, OrderIds::generate()).unwrap_err();
        match e {
            D1Error::InvalidRequest { errors } => assert_eq!(errors[0].path, "services.issuance"),
            other => panic!("unexpected {other:?}"),
        }
    }
}

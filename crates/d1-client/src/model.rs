//! Typed model of the vendor schema `cardRequestInstant` (distributionChannel = INSTANT).
//!
//! Field names on the wire are exactly the schema's. Optional values are omitted when `None`,
//! optional lists when empty and optional objects when they hold nothing. The deprecated
//! `state` and `oldCardId` fields do not exist in these types, so they can never be sent.
//! `encryptedData` is not part of [`CardRequestInstant`]: it is added by
//! [`crate::PreparedOrder::prepare`] from validated card data.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use desk_domain::IssuerRequestId;

/// The fixed `distributionChannel` of this crate: always `"INSTANT"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InstantChannel;

impl Serialize for InstantChannel {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("INSTANT")
    }
}

impl<'de> Deserialize<'de> for InstantChannel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        if s == "INSTANT" {
            Ok(InstantChannel)
        } else {
            Err(serde::de::Error::custom(
                "distributionChannel must be INSTANT for this client",
            ))
        }
    }
}

/// `cardRequestInstant` without `encryptedData`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CardRequestInstant {
    /// Always `"INSTANT"`.
    #[serde(default)]
    pub distribution_channel: InstantChannel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_product_id: Option<String>,
    /// The branch's personalization station id (from configuration).
    pub perso_station: String,
    /// Set by [`crate::PreparedOrder::prepare`] from the order's ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_request_id: Option<IssuerRequestId>,
    pub services: Services,
    pub payment_application: PaymentApplication,
    #[serde(default, skip_serializing_if = "CardDesign::is_absent")]
    pub card_design: Option<CardDesign>,
    #[serde(default, skip_serializing_if = "CardCarrierConfig::is_absent")]
    pub card_carrier_config: Option<CardCarrierConfig>,
}

/// `services`: issuance options configured at onboarding.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Services {
    /// Required: e.g. `CREATION`, `RENEWAL`, `REPLACEMENT` (onboarding identifiers).
    pub issuance: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packaging: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_carrier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_mailer: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha_card: Option<bool>,
}

/// `paymentApplication`: the EMV configuration reference and key indexes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentApplication {
    /// Required: reference to a predefined set of EMV parameters.
    pub config: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oda_key_index: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derivation_key_index: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pv_key_index: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cv_key_index: Option<String>,
}

/// `cardDesign`: graphical personalization.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CardDesign {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_lines: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artwork_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_id: Option<String>,
}

impl CardDesign {
    /// True when nothing would be serialized.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    fn is_absent(value: &Option<Self>) -> bool {
        value.as_ref().is_none_or(Self::is_empty)
    }
}

/// `cardCarrierConfig`: the carrier the card is mounted on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CardCarrierConfig {
    /// ISO 639-1 alpha-2, upper case (`^[A-Z]{2}$`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_lines: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_card_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_card_order: Option<String>,
}

impl CardCarrierConfig {
    /// True when nothing would be serialized.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    fn is_absent(value: &Option<Self>) -> bool {
        value.as_ref().is_none_or(Self::is_empty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn minimal_request_serializes_required_fields_only() {
        let r = CardRequestInstant {
            perso_station: "KIOSK-PS-101".into(),
            services: Services {
                issuance: "CREATION".into(),
                ..Default::default()
            },
            payment_application: PaymentApplication {
                config: "VISA_1".into(),
                ..Default::default()
            },
            card_design: Some(CardDesign::default()),
            card_carrier_config: Some(CardCarrierConfig::default()),
            ..Default::default()
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v,
            json!({
                "distributionChannel": "INSTANT",
                "persoStation": "KIOSK-PS-101",
                "services": {"issuance": "CREATION"},
                "paymentApplication": {"config": "VISA_1"}
            })
        );
    }

    #[test]
    fn full_request_uses_schema_names_and_never_deprecated_fields() {
        let r = CardRequestInstant {
            distribution_channel: InstantChannel,
            consumer_id: Some("c1".into()),
            card_product_id: Some("p1".into()),
            perso_station: "S1".into(),
            issuer_request_id: Some(IssuerRequestId::parse("r1").unwrap()),
            services: Services {
                issuance: "CREATION".into(),
                priority: Some("HIGH".into()),
                delivery: Some("NO_SHIPMENT".into()),
                packaging: Some("NO_PACK".into()),
                card_carrier: Some("NO_CARRIER".into()),
                pin_mailer: Some(false),
                alpha_card: Some(true),
            },
            payment_application: PaymentApplication {
                config: "cfg".into(),
                oda_key_index: Some("01".into()),
                derivation_key_index: Some("02".into()),
                pv_key_index: Some("03".into()),
                cv_key_index: Some("0A".into()),
            },
            card_design: Some(CardDesign {
                images: vec!["img.png".into()],
                custom_lines: vec!["Hello".into()],
                card_image: Some("ci".into()),
                artwork_id: Some("art".into()),
                member_id: Some("m/1".into()),
            }),
            card_carrier_config: Some(CardCarrierConfig {
                language: Some("EN".into()),
                images: vec!["c.png".into()],
                custom_lines: vec!["Welcome".into()],
                multi_card_id: Some("grp".into()),
                multi_card_order: Some("1".into()),
            }),
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v,
            json!({
                "distributionChannel": "INSTANT",
                "consumerId": "c1",
                "cardProductId": "p1",
                "persoStation": "S1",
                "issuerRequestId": "r1",
                "services": {"issuance": "CREATION", "priority": "HIGH", "delivery": "NO_SHIPMENT",
                    "packaging": "NO_PACK", "cardCarrier": "NO_CARRIER", "pinMailer": false, "alphaCard": true},
                "paymentApplication": {"config": "cfg", "odaKeyIndex": "01", "derivationKeyIndex": "02",
                    "pvKeyIndex": "03", "cvKeyIndex": "0A"},
                "cardDesign": {"images": ["img.png"], "customLines": ["Hello"], "cardImage": "ci",
                    "artworkId": "art", "memberId": "m/1"},
                "cardCarrierConfig": {"language": "EN", "images": ["c.png"], "customLines": ["Welcome"],
                    "multiCardId": "grp", "multiCardOrder": "1"}
            })
        );
        let back: CardRequestInstant = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn other_distribution_channels_are_refused_on_input() {
        let v = json!({"distributionChannel": "THALES", "persoStation": "S",
            "services": {"issuance": "CREATION"}, "paymentApplication": {"config": "c"}});
        assert!(serde_json::from_value::<CardRequestInstant>(v).is_err());
    }
}

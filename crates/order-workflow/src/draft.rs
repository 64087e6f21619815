//! What the teller typed, and how it becomes a D1 request. The checks themselves live in
//! `d1_client` (the vendor schema and the card rules); this module only adds what the
//! catalog decides: which products, issuance types, stations and priorities exist.

use d1_client::{CardCarrierConfig, CardDesign, CardRequestInstant, Services};
use desk_domain::{CardDataInput, FieldError, FieldErrorCode};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::catalog::{Catalog, Product};

/// The order form as the teller filled it. `card` is the one shape of card data from the
/// window to the JWE (`desk_domain::CardDataInput`): wiped on drop, never serialized, `Debug`
/// shows no value.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase", default)]
pub struct OrderDraft {
    pub consumer_id: String,
    pub card_product_id: String,
    pub issuance_type: String,
    pub priority: Option<String>,
    pub perso_station: String,
    pub card: CardDataInput,
    pub design: DesignDraft,
    pub carrier: CarrierDraft,
    /// The spoiled order this one replaces (a reissue), when the form was opened from it.
    pub reissue_of: Option<String>,
    pub services: ServicesDraft,
}

/// The `services` options as chosen (issuance type and priority are the form's own fields).
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase", default)]
pub struct ServicesDraft {
    pub delivery: Option<String>,
    pub packaging: Option<String>,
    pub card_carrier: Option<String>,
    pub pin_mailer: bool,
    pub alpha_card: bool,
}

/// `cardDesign` as typed.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase", default)]
pub struct DesignDraft {
    pub artwork_id: Option<String>,
    pub custom_lines: Vec<String>,
    pub member_id: Option<String>,
    pub images: Vec<String>,
    pub card_image: Option<String>,
}

/// `cardCarrierConfig` as typed.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase", default)]
pub struct CarrierDraft {
    pub language: Option<String>,
    pub custom_lines: Vec<String>,
    pub images: Vec<String>,
    pub multi_card_id: Option<String>,
    pub multi_card_order: Option<String>,
}

fn problem(path: impl Into<String>, code: FieldErrorCode) -> FieldError {
    FieldError::new(path, code)
}

/// A draft that passed every check, ready to be encrypted and sent.
pub(crate) struct CheckedDraft {
    pub request: CardRequestInstant,
    pub card: d1_client::CardData,
    pub product_id: String,
}

fn non_empty(value: &Option<String>) -> Option<String> {
    value
        .as_ref()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

impl OrderDraft {
    /// The D1 request (without `encryptedData`) this draft stands for, and the catalog's
    /// problems with it.
    fn to_request(
        &self,
        catalog: &Catalog,
    ) -> (CardRequestInstant, Option<Product>, Vec<FieldError>) {
        let mut problems = Vec::new();
        let product = catalog.product(&self.card_product_id).cloned();
        match &product {
            None if self.card_product_id.is_empty() => {
                problems.push(problem("cardProductId", FieldErrorCode::Required))
            }
            None => problems.push(problem("cardProductId", FieldErrorCode::NotOffered)),
            Some(p)
                if !self.issuance_type.is_empty()
                    && !p.issuance_types.contains(&self.issuance_type) =>
            {
                problems.push(problem(
                    "services.issuance",
                    FieldErrorCode::NotAllowedForProduct,
                ));
            }
            Some(_) => {}
        }
        if self.issuance_type.is_empty() {
            problems.push(problem("services.issuance", FieldErrorCode::Required));
        }
        if self.perso_station.is_empty() {
            problems.push(problem("persoStation", FieldErrorCode::Required));
        } else if catalog.station(&self.perso_station).is_none() {
            problems.push(problem("persoStation", FieldErrorCode::NotOffered));
        }
        let priority = non_empty(&self.priority);
        if priority
            .as_ref()
            .is_some_and(|p| !catalog.priorities.contains(p))
        {
            problems.push(problem("services.priority", FieldErrorCode::NotOffered));
        }
        let artwork = non_empty(&self.design.artwork_id);
        if let (Some(p), Some(artwork)) = (&product, artwork)
            && !p.artworks.iter().any(|a| a.id == artwork)
        {
            problems.push(problem("cardDesign.artworkId", FieldErrorCode::NotOffered));
        }
        if self.consumer_id.trim().is_empty() {
            problems.push(problem("consumerId", FieldErrorCode::Required));
        }
        let options = &catalog.options;
        let chosen = |field: &str, value: &Option<String>, offered: &[String]| {
            let value = non_empty(value);
            match &value {
                Some(v) if !offered.contains(v) => Err(problem(field, FieldErrorCode::NotOffered)),
                _ => Ok(value),
            }
        };
        let mut take = |result: Result<Option<String>, FieldError>| {
            result.unwrap_or_else(|refused| {
                problems.push(refused);
                None
            })
        };
        let delivery = take(chosen(
            "services.delivery",
            &self.services.delivery,
            &options.delivery,
        ));
        let packaging = take(chosen(
            "services.packaging",
            &self.services.packaging,
            &options.packaging,
        ));
        let card_carrier = take(chosen(
            "services.cardCarrier",
            &self.services.card_carrier,
            &options.card_carrier,
        ));
        if self.services.pin_mailer && !options.pin_mailer {
            problems.push(problem("services.pinMailer", FieldErrorCode::NotOffered));
        }
        if self.services.alpha_card && !options.alpha_card {
            problems.push(problem("services.alphaCard", FieldErrorCode::NotOffered));
        }
        for (field, images, offered) in [
            (
                "cardDesign.images",
                &self.design.images,
                &options.design_images,
            ),
            (
                "cardCarrierConfig.images",
                &self.carrier.images,
                &options.carrier_images,
            ),
        ] {
            for (i, image) in images.iter().enumerate() {
                if !offered.contains(image) {
                    problems.push(problem(format!("{field}[{i}]"), FieldErrorCode::NotOffered));
                }
            }
        }

        let design = CardDesign {
            images: self.design.images.clone(),
            custom_lines: self
                .design
                .custom_lines
                .iter()
                .filter(|l| !l.is_empty())
                .cloned()
                .collect(),
            card_image: non_empty(&self.design.card_image),
            artwork_id: non_empty(&self.design.artwork_id),
            member_id: non_empty(&self.design.member_id),
        };
        let carrier = CardCarrierConfig {
            language: non_empty(&self.carrier.language),
            images: self.carrier.images.clone(),
            custom_lines: self
                .carrier
                .custom_lines
                .iter()
                .filter(|l| !l.is_empty())
                .cloned()
                .collect(),
            multi_card_id: non_empty(&self.carrier.multi_card_id),
            multi_card_order: non_empty(&self.carrier.multi_card_order),
        };
        let request = CardRequestInstant {
            consumer_id: Some(self.consumer_id.trim().to_owned()).filter(|c| !c.is_empty()),
            card_product_id: Some(self.card_product_id.clone()).filter(|c| !c.is_empty()),
            perso_station: self.perso_station.clone(),
            services: Services {
                issuance: self.issuance_type.clone(),
                priority,
                delivery,
                packaging,
                card_carrier,
                pin_mailer: self.services.pin_mailer.then_some(true),
                alpha_card: self.services.alpha_card.then_some(true),
            },
            payment_application: product
                .as_ref()
                .map(|p| p.payment_application.clone())
                .unwrap_or_default(),
            card_design: Some(design),
            card_carrier_config: Some(carrier),
            ..CardRequestInstant::default()
        };
        (request, product, problems)
    }

    /// What the product decides about the card data: whether the teller types the CVV2.
    fn card_problems(&self, product: Option<&Product>) -> Vec<FieldError> {
        let cvv2_given = self
            .card
            .cvv2
            .as_ref()
            .is_some_and(|c| !c.expose().trim().is_empty());
        match (product.map(|p| p.supplies_cvv2), cvv2_given) {
            (Some(true), false) => vec![problem("cardData.cvv2", FieldErrorCode::Required)],
            (Some(false), true) => vec![problem("cardData.cvv2", FieldErrorCode::NotForProduct)],
            _ => Vec::new(),
        }
    }

    /// Every problem with this draft, without encrypting anything. Empty means it can be sent.
    pub fn problems(&self, catalog: &Catalog) -> Vec<FieldError> {
        match self.check(catalog) {
            Ok(_) => Vec::new(),
            Err(problems) => problems,
        }
    }

    /// The same draft with every text in Unicode NFC: text typed or pasted decomposed (NFD, as
    /// macOS and some keyboards produce) is checked and sent as the composed text it looks like.
    pub(crate) fn normalized(&self) -> OrderDraft {
        let nfc = |s: &str| -> String { s.nfc().collect() };
        let nfc_opt = |s: &Option<String>| s.as_deref().map(nfc);
        let nfc_all = |v: &[String]| v.iter().map(|s| nfc(s)).collect::<Vec<_>>();
        let mut card = self.card.clone();
        card.name = nfc(card.name.expose()).into();
        card.second_name = card.second_name.as_ref().map(|n| nfc(n.expose()).into());
        OrderDraft {
            consumer_id: nfc(&self.consumer_id),
            card_product_id: self.card_product_id.clone(),
            issuance_type: self.issuance_type.clone(),
            priority: self.priority.clone(),
            perso_station: self.perso_station.clone(),
            card,
            design: DesignDraft {
                artwork_id: self.design.artwork_id.clone(),
                custom_lines: nfc_all(&self.design.custom_lines),
                member_id: nfc_opt(&self.design.member_id),
                images: self.design.images.clone(),
                card_image: nfc_opt(&self.design.card_image),
            },
            carrier: CarrierDraft {
                language: self.carrier.language.clone(),
                custom_lines: nfc_all(&self.carrier.custom_lines),
                images: self.carrier.images.clone(),
                multi_card_id: nfc_opt(&self.carrier.multi_card_id),
                multi_card_order: self.carrier.multi_card_order.clone(),
            },
            reissue_of: self.reissue_of.clone(),
            services: self.services.clone(),
        }
    }

    /// Runs every check: the catalog's, the vendor schema's and the card rules'. Works on the
    /// NFC form of the draft ([`Self::normalized`]).
    pub(crate) fn check(&self, catalog: &Catalog) -> Result<CheckedDraft, Vec<FieldError>> {
        self.normalized().check_normalized(catalog)
    }

    /// [`Self::check`] on a draft that is already in NFC.
    pub(crate) fn check_normalized(
        &self,
        catalog: &Catalog,
    ) -> Result<CheckedDraft, Vec<FieldError>> {
        let (request, product, mut problems) = self.to_request(catalog);
        let schema_errors = d1_client::validate_request(&request);
        problems.extend(
            schema_errors
                .into_iter()
                // The catalog already named a missing product or station more precisely.
                .filter(|e| !problems.iter().any(|p| p.path == e.path))
                .collect::<Vec<_>>(),
        );
        problems.extend(self.card_problems(product.as_ref()));
        let rules = product
            .as_ref()
            .map(|p| p.rules.clone())
            .unwrap_or_default();
        let card = match d1_client::CardData::from_input(&self.card, &rules) {
            Ok(card) => Some(card),
            Err(errors) => {
                let named: Vec<FieldError> = errors
                    .into_iter()
                    // A CVV2 the product does not take is named once, as such.
                    .filter(|e| !problems.iter().any(|p| p.path == e.path))
                    .collect();
                problems.extend(named);
                None
            }
        };
        self.name_disallowed_characters(&request, &mut problems);
        match (card, product) {
            (Some(card), Some(product)) if problems.is_empty() => Ok(CheckedDraft {
                request,
                card,
                product_id: product.id,
            }),
            _ => Err(problems),
        }
    }

    /// Names the first character a `pattern` problem is about.
    fn name_disallowed_characters(
        &self,
        request: &CardRequestInstant,
        problems: &mut [FieldError],
    ) {
        let request = serde_json::to_value(request).unwrap_or_default();
        for problem in problems
            .iter_mut()
            .filter(|p| p.code == FieldErrorCode::Pattern)
        {
            let value = match problem.path.as_str() {
                "cardData.name" => Some(self.card.name.expose()),
                "cardData.secondName" => self.card.second_name.as_ref().map(|n| n.expose()),
                path => {
                    let pointer = format!("/{}", path.replace(['.', '['], "/").replace(']', ""));
                    request
                        .pointer(&pointer)
                        .and_then(serde_json::Value::as_str)
                }
            };
            problem.character = value
                .and_then(|v| d1_client::disallowed_character(&problem.path, v))
                .map(String::from);
        }
    }
}

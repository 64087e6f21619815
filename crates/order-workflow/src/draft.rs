//! What the teller typed, and how it becomes a D1 request. The checks themselves live in
//! `d1_client` (the vendor schema and the card rules); this module only adds what the
//! catalog decides: which products, issuance types, stations and priorities exist.

use std::fmt;

use d1_client::{
    CardCarrierConfig, CardDataInput, CardDesign, CardRequestInstant, FieldError, Services,
};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::catalog::{Catalog, Product};

/// The order form as the teller filled it. `card` holds card data: wiped on drop,
/// never serialized, `Debug` prints `<redacted>`.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase", default)]
pub struct OrderDraft {
    pub consumer_id: String,
    pub card_product_id: String,
    pub issuance_type: String,
    pub priority: Option<String>,
    pub perso_station: String,
    pub card: CardDraft,
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

/// The card data fields of the form.
#[derive(Clone, Default, Deserialize, Zeroize, ZeroizeOnDrop)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct CardDraft {
    #[serde(default)]
    pub pan: String,
    /// `MM/YY`.
    #[serde(default)]
    pub exp: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub second_name: Option<String>,
    #[serde(default)]
    pub cvv2: Option<String>,
    #[serde(default)]
    pub pan_sequence_number: Option<String>,
}

impl fmt::Debug for CardDraft {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CardDraft(<redacted>)")
    }
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

/// One problem with one field, named by its D1 path (`cardData.pan`,
/// `cardDesign.customLines[2]`). The UI turns `code` into words in the teller's language.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct FieldProblem {
    pub field: String,
    pub code: String,
    /// The length or count limit that was crossed, when there is one.
    pub limit: Option<u32>,
    /// For `pattern`: the first character the field's rule does not allow, to name it.
    pub character: Option<String>,
}

impl FieldProblem {
    fn new(field: impl Into<String>, code: &str) -> Self {
        Self {
            field: field.into(),
            code: code.to_owned(),
            limit: None,
            character: None,
        }
    }

    fn from_d1(error: &FieldError, product: Option<&Product>) -> Self {
        let code = error.code.as_str();
        let limit = match (error.path.as_str(), code) {
            ("cardData.name" | "cardData.secondName", "too_long") => {
                product.map(|p| p.rules.name_max_len as u32)
            }
            (path, "too_long") if path.contains("customLines[") => Some(256),
            (path, "too_many_items") if path.ends_with("customLines") => Some(10),
            (path, "too_many_items") if path.ends_with("images") => Some(5),
            ("consumerId", "too_long") => Some(64),
            ("cardDesign.memberId", "too_long") => Some(48),
            _ => None,
        };
        Self {
            field: error.path.clone(),
            code: code.to_owned(),
            limit,
            character: None,
        }
    }
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
    ) -> (CardRequestInstant, Option<Product>, Vec<FieldProblem>) {
        let mut problems = Vec::new();
        let product = catalog.product(&self.card_product_id).cloned();
        match &product {
            None if self.card_product_id.is_empty() => {
                problems.push(FieldProblem::new("cardProductId", "required"))
            }
            None => problems.push(FieldProblem::new("cardProductId", "not_offered")),
            Some(p)
                if !self.issuance_type.is_empty()
                    && !p.issuance_types.contains(&self.issuance_type) =>
            {
                problems.push(FieldProblem::new(
                    "services.issuance",
                    "not_allowed_for_product",
                ));
            }
            Some(_) => {}
        }
        if self.issuance_type.is_empty() {
            problems.push(FieldProblem::new("services.issuance", "required"));
        }
        if self.perso_station.is_empty() {
            problems.push(FieldProblem::new("persoStation", "required"));
        } else if catalog.station(&self.perso_station).is_none() {
            problems.push(FieldProblem::new("persoStation", "not_offered"));
        }
        let priority = non_empty(&self.priority);
        if priority
            .as_ref()
            .is_some_and(|p| !catalog.priorities.contains(p))
        {
            problems.push(FieldProblem::new("services.priority", "not_offered"));
        }
        let artwork = non_empty(&self.design.artwork_id);
        if let (Some(p), Some(artwork)) = (&product, artwork)
            && !p.artworks.iter().any(|a| a.id == artwork)
        {
            problems.push(FieldProblem::new("cardDesign.artworkId", "not_offered"));
        }
        if self.consumer_id.trim().is_empty() {
            problems.push(FieldProblem::new("consumerId", "required"));
        }
        let options = &catalog.options;
        let chosen = |field: &str, value: &Option<String>, offered: &[String]| {
            let value = non_empty(value);
            match &value {
                Some(v) if !offered.contains(v) => Err(FieldProblem::new(field, "not_offered")),
                _ => Ok(value),
            }
        };
        let mut take = |result: Result<Option<String>, FieldProblem>| {
            result.unwrap_or_else(|problem| {
                problems.push(problem);
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
            problems.push(FieldProblem::new("services.pinMailer", "not_offered"));
        }
        if self.services.alpha_card && !options.alpha_card {
            problems.push(FieldProblem::new("services.alphaCard", "not_offered"));
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
                    problems.push(FieldProblem::new(format!("{field}[{i}]"), "not_offered"));
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

    fn card_input(&self, product: Option<&Product>) -> (CardDataInput, Vec<FieldProblem>) {
        let mut problems = Vec::new();
        let mut input = CardDataInput::new(
            self.card.pan.clone(),
            self.card.exp.clone(),
            self.card.name.clone(),
        );
        input.second_name = non_empty(&self.card.second_name);
        input.pan_sequence_number = non_empty(&self.card.pan_sequence_number);
        let cvv2 = non_empty(&self.card.cvv2);
        match (product.map(|p| p.supplies_cvv2), cvv2) {
            (Some(true), None) => problems.push(FieldProblem::new("cardData.cvv2", "required")),
            (Some(false), Some(_)) => {
                problems.push(FieldProblem::new("cardData.cvv2", "not_for_product"))
            }
            (_, cvv2) => input.cvv2 = cvv2,
        }
        (input, problems)
    }

    /// Every problem with this draft, without encrypting anything. Empty means it can be sent.
    pub fn problems(&self, catalog: &Catalog) -> Vec<FieldProblem> {
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
        let card = CardDraft {
            pan: self.card.pan.clone(),
            exp: self.card.exp.clone(),
            name: nfc(&self.card.name),
            second_name: nfc_opt(&self.card.second_name),
            cvv2: self.card.cvv2.clone(),
            pan_sequence_number: self.card.pan_sequence_number.clone(),
        };
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
    pub(crate) fn check(&self, catalog: &Catalog) -> Result<CheckedDraft, Vec<FieldProblem>> {
        self.normalized().check_normalized(catalog)
    }

    fn check_normalized(&self, catalog: &Catalog) -> Result<CheckedDraft, Vec<FieldProblem>> {
        let (request, product, mut problems) = self.to_request(catalog);
        let schema_errors = d1_client::validate_request(&request);
        let schema_problems: Vec<FieldProblem> = schema_errors
            .iter()
            // The catalog already named a missing product or station more precisely.
            .filter(|e| !problems.iter().any(|p| p.field == e.path))
            .map(|e| FieldProblem::from_d1(e, product.as_ref()))
            .collect();
        problems.extend(schema_problems);
        let (input, card_problems) = self.card_input(product.as_ref());
        problems.extend(card_problems);
        let rules = product
            .as_ref()
            .map(|p| p.rules.clone())
            .unwrap_or_default();
        let card = match d1_client::CardData::from_input(&input, &rules) {
            Ok(card) => Some(card),
            Err(errors) => {
                problems.extend(
                    errors
                        .iter()
                        .map(|e| FieldProblem::from_d1(e, product.as_ref())),
                );
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
        problems: &mut [FieldProblem],
    ) {
        let request = serde_json::to_value(request).unwrap_or_default();
        for problem in problems.iter_mut().filter(|p| p.code == "pattern") {
            let value = match problem.field.as_str() {
                "cardData.name" => Some(self.card.name.as_str()),
                "cardData.secondName" => self.card.second_name.as_deref(),
                path => {
                    let pointer = format!("/{}", path.replace(['.', '['], "/").replace(']', ""));
                    request
                        .pointer(&pointer)
                        .and_then(serde_json::Value::as_str)
                }
            };
            problem.character = value
                .and_then(|v| d1_client::disallowed_character(&problem.field, v))
                .map(String::from);
        }
    }
}

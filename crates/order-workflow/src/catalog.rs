//! What this desk may order: the card products, stations and service identifiers that D1
//! fixed at onboarding. Comes from configuration; the teller picks from it, never types it.

use d1_client::{BinRange, ExpFormat, PaymentApplication, ProductRules};
use serde::Serialize;

/// One card product.
#[derive(Clone, Debug)]
pub struct Product {
    /// `cardProductId`.
    pub id: String,
    pub display_name: String,
    /// Spanish display name, when configured.
    pub display_name_es: Option<String>,
    pub payment_application: PaymentApplication,
    /// `services.issuance` values this product allows (e.g. CREATION, RENEWAL, REPLACEMENT).
    pub issuance_types: Vec<String>,
    pub rules: ProductRules,
    /// Whether the teller types the CVV2 printed on the card (otherwise D1 computes it).
    pub supplies_cvv2: bool,
    pub artworks: Vec<Artwork>,
}

/// A card artwork (`cardDesign.artworkId`).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct Artwork {
    pub id: String,
    pub name: String,
}

/// A personalization station of this branch (`persoStation`).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct Station {
    pub id: String,
    pub name: String,
    pub is_default: bool,
}

/// Everything the order form offers.
#[derive(Clone, Debug)]
pub struct Catalog {
    pub products: Vec<Product>,
    pub stations: Vec<Station>,
    /// `services.priority` identifiers; the first is the default.
    pub priorities: Vec<String>,
}

impl Catalog {
    pub fn product(&self, id: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.id == id)
    }

    pub fn station(&self, id: &str) -> Option<&Station> {
        self.stations.iter().find(|s| s.id == id)
    }

    /// The training catalog; matches `d1_sandbox::SandboxConfig::training()`.
    pub fn training() -> Self {
        let issuance = vec![
            "CREATION".to_owned(),
            "RENEWAL".to_owned(),
            "REPLACEMENT".to_owned(),
        ];
        let product =
            |id: &str, name: &str, name_es: &str, config: &str, low: u64, high: u64| Product {
                id: id.to_owned(),
                display_name: name.to_owned(),
                display_name_es: Some(name_es.to_owned()),
                payment_application: PaymentApplication {
                    config: config.to_owned(),
                    ..PaymentApplication::default()
                },
                issuance_types: issuance.clone(),
                rules: ProductRules {
                    bin_ranges: vec![BinRange {
                        low,
                        high,
                        prefix_len: 6,
                    }],
                    pan_lengths: vec![16],
                    name_max_len: 26,
                    exp_format: ExpFormat::Yymm,
                },
                supplies_cvv2: false,
                artworks: vec![
                    Artwork {
                        id: "CLASSIC_BLUE".to_owned(),
                        name: "Classic blue".to_owned(),
                    },
                    Artwork {
                        id: "CITY_SKYLINE".to_owned(),
                        name: "City skyline".to_owned(),
                    },
                ],
            };
        Self {
            products: vec![
                product(
                    "DEMO_DEBIT",
                    "Visa Debit (demo)",
                    "Visa Débito (demo)",
                    "VIS_163",
                    400_000,
                    499_999,
                ),
                product(
                    "DEMO_CREDIT",
                    "Mastercard Credit (demo)",
                    "Mastercard Crédito (demo)",
                    "MCA_123",
                    510_000,
                    559_999,
                ),
            ],
            stations: vec![
                Station {
                    id: "BRANCH-PS-01".to_owned(),
                    name: "Counter 1 printer".to_owned(),
                    is_default: true,
                },
                Station {
                    id: "BRANCH-PS-02".to_owned(),
                    name: "Back office printer".to_owned(),
                    is_default: false,
                },
            ],
            priorities: vec!["STANDARD".to_owned(), "URGENT".to_owned()],
        }
    }
}

//! What this desk may order: the card products, stations and service identifiers that D1
//! fixed at onboarding. Comes from configuration; the teller picks from it, never types it.

use d1_client::PaymentApplication;
use desk_domain::ProductRules;
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

/// The identifiers D1 set up at onboarding that the teller may add to an order, beyond the
/// product and station. Empty lists (and `false`) are not offered: D1 applies its defaults.
#[derive(Clone, Debug, Default, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct OrderOptions {
    /// `services.delivery`.
    pub delivery: Vec<String>,
    /// `services.packaging`.
    pub packaging: Vec<String>,
    /// `services.cardCarrier`.
    pub card_carrier: Vec<String>,
    /// Whether `services.pinMailer` (the PIN by post) may be asked for.
    pub pin_mailer: bool,
    /// Whether a sample card (`services.alphaCard`) may be asked for: never in production.
    pub alpha_card: bool,
    /// `cardDesign.images`.
    pub design_images: Vec<String>,
    /// `cardCarrierConfig.images`.
    pub carrier_images: Vec<String>,
}

/// Everything the order form offers.
#[derive(Clone, Debug)]
pub struct Catalog {
    pub products: Vec<Product>,
    pub stations: Vec<Station>,
    /// `services.priority` identifiers; the first is the default.
    pub priorities: Vec<String>,
    pub options: OrderOptions,
}

impl Catalog {
    pub fn product(&self, id: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.id == id)
    }

    pub fn station(&self, id: &str) -> Option<&Station> {
        self.stations.iter().find(|s| s.id == id)
    }

    /// The training catalog: what the built-in training configuration offers (the same
    /// products and stations the training D1 knows).
    pub fn training() -> Self {
        crate::setup::catalog(&desk_config::Config::training_defaults())
    }
}

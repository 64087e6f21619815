//! What the window is shown: form options, the review summary, progress, production status.

use serde::Serialize;

use desk_domain::{CardId, ConsumerId, CorrelationId, IssuerRequestId, OperationId, ShownToTeller};

use crate::catalog::{Artwork, Catalog, OrderOptions, Station};

/// A card product as the form offers it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ProductOption {
    pub id: String,
    pub display_name: String,
    pub display_name_es: Option<String>,
    pub issuance_types: Vec<String>,
    pub supplies_cvv2: bool,
    pub artworks: Vec<Artwork>,
    pub pan_lengths: Vec<u32>,
    pub name_max_length: u32,
}

/// Everything the order form offers.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct FormOptions {
    pub products: Vec<ProductOption>,
    pub stations: Vec<Station>,
    pub priorities: Vec<String>,
    pub order_options: OrderOptions,
}

impl FormOptions {
    pub fn from_catalog(catalog: &Catalog) -> Self {
        Self {
            products: catalog
                .products
                .iter()
                .map(|p| ProductOption {
                    id: p.id.clone(),
                    display_name: p.display_name.clone(),
                    display_name_es: p.display_name_es.clone(),
                    issuance_types: p.issuance_types.clone(),
                    supplies_cvv2: p.supplies_cvv2,
                    artworks: p.artworks.clone(),
                    pan_lengths: p.rules.pan_lengths.clone(),
                    name_max_length: p.rules.name_max_length,
                })
                .collect(),
            stations: catalog.stations.clone(),
            priorities: catalog.priorities.clone(),
            order_options: catalog.options.clone(),
        }
    }
}

/// Everything that will be printed or sent, for the teller to read with the customer before
/// anything is sent. The card number is masked; the CVV2 is never shown.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct OrderReview {
    pub consumer_id: String,
    pub product_id: String,
    pub product_name: String,
    /// The product's Spanish name, when configured.
    pub product_name_es: Option<String>,
    pub station_id: String,
    pub station_name: String,
    pub issuance_type: String,
    pub priority: Option<String>,
    /// `•••• 1234`: never more than the last 4 digits.
    pub masked_pan: String,
    /// The name printed on the card, as it will be sent.
    pub name_on_card: ShownToTeller<String>,
    /// The second printed line, when there is one.
    pub second_line: Option<String>,
    /// `MM/YY`, as printed on the card.
    pub expiry: ShownToTeller<String>,
    pub artwork_id: Option<String>,
    pub artwork_name: Option<String>,
    /// The custom lines printed on the card, in order.
    pub custom_lines: Vec<String>,
    pub member_id: Option<String>,
    /// The language of the card carrier (the letter the card is mounted on).
    pub carrier_language: Option<String>,
    /// The custom lines printed on the carrier, in order.
    pub carrier_lines: Vec<String>,
    /// Extra images on the card and on the carrier, and the customer's own card image.
    pub design_images: Vec<String>,
    pub card_image: Option<String>,
    pub carrier_images: Vec<String>,
    /// The carrier group this card shares with other cards, and its place in it.
    pub multi_card_id: Option<String>,
    pub multi_card_order: Option<String>,
    pub delivery: Option<String>,
    pub packaging: Option<String>,
    pub card_carrier: Option<String>,
    pub pin_mailer: bool,
    pub alpha_card: bool,
    /// The order needs a second person's approval (configuration): the window asks for one
    /// instead of ordering.
    pub needs_approval: bool,
}

/// Where a submission is. Sent to the window while `submit` runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase", tag = "stage")]
pub enum OrderProgress {
    Encrypting,
    Authenticating,
    Sending,
    /// The connection broke after sending: asking D1 what it received.
    Checking,
    #[serde(rename_all = "camelCase")]
    Accepted {
        operation_id: OperationId,
    },
}

/// How a submission ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum SubmitOutcome {
    /// D1 accepted the order (202).
    Accepted,
    /// D1 may or may not have the order and could not be asked yet. Check again; never
    /// order a second card.
    Unknown,
}

/// The ids of a submitted order, for the teller to quote to IT.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct SubmittedOrder {
    pub outcome: SubmitOutcome,
    pub card_id: CardId,
    pub issuer_request_id: IssuerRequestId,
    pub correlation_id: CorrelationId,
    pub operation_id: Option<OperationId>,
    pub last4: String,
}

/// What the teller should make of a production status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ProductionPhase {
    InProgress,
    Done,
    Failed,
}

/// The production status of one card, as D1 reports it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ProductionView {
    pub card_id: CardId,
    pub operation_id: OperationId,
    /// `PENDING`, `SUCCESSFUL`, `FAILED`, or a value D1 added later, as received.
    pub status: String,
    /// `details.status` as received (unknown values are shown as they come).
    pub details_status: String,
    pub reason: Option<String>,
    pub phase: ProductionPhase,
    pub start_time: String,
    pub end_time: Option<String>,
}

/// An order changed (state, production status, or the journal finally took a write): the
/// window asks again about it. No `card_id`: any order may have changed (the branch ledger's
/// change stream was just reopened).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct OrderChanged {
    /// `None`: any order may have changed.
    pub card_id: Option<CardId>,
}

/// What the teller should make of an order the app was interrupted in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The card was made: hand it over.
    Made,
    /// D1 has the order; the station is making the card. Do not order again.
    BeingMade,
    /// D1 refused it or production failed: no card. The teller may order again.
    NotMade,
    /// Nothing of it reached D1: the teller may order again.
    NotReceived,
    /// It may be at D1; the app is still asking. Do not order again yet.
    Checking,
    /// D1 has no record long after it could have: look at the station's output tray before
    /// ordering again.
    NeedsPerson,
}

/// An order the previous run left unfinished, as the window lists it after a restart.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct InterruptedOrder {
    pub card_id: CardId,
    pub consumer_id: ConsumerId,
    pub product_id: String,
    pub product_name: Option<String>,
    pub product_name_es: Option<String>,
    pub station_id: String,
    pub station_name: Option<String>,
    /// `••••` and these 4 digits: never more of the card number.
    pub last4: String,
    /// When the teller ordered it (ms since the Unix epoch).
    pub created_at: f64,
    pub state: order_journal::OrderState,
    pub d1_status: Option<String>,
    /// D1's reason or the journal's note, when there is one.
    pub reason: Option<String>,
    /// The stable code of a refusal (`field_invalid_value`, …) or D1's `details.status` of a
    /// failure: the window words it from its locales when it knows it.
    pub error_code: Option<String>,
    pub correlation_id: CorrelationId,
    pub operation_id: Option<OperationId>,
    pub verdict: Verdict,
}

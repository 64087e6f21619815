//! The form's check while the teller types: every field but the card data. The card data
//! crosses IPC only at review and submit; its instant feedback (grouping, length, check digit,
//! expiry format) runs in the window, tested against the same vectors as the Rust card rules
//! (`crates/d1-client/tests/card-rules-vectors.json`).

use serde::Deserialize;

use crate::desk::OrderDesk;
use desk_domain::{CardDataInput, FieldError};

use crate::draft::{CarrierDraft, DesignDraft, OrderDraft, ServicesDraft};

/// The order form without its card data. A draft that carries card data is refused when it
/// is read (`deny_unknown_fields`): this check can never receive a card number.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct OrderFields {
    pub consumer_id: String,
    pub card_product_id: String,
    pub issuance_type: String,
    pub priority: Option<String>,
    pub perso_station: String,
    pub design: DesignDraft,
    pub carrier: CarrierDraft,
    pub services: ServicesDraft,
}

impl OrderFields {
    fn into_draft(self) -> OrderDraft {
        OrderDraft {
            consumer_id: self.consumer_id,
            card_product_id: self.card_product_id,
            issuance_type: self.issuance_type,
            priority: self.priority,
            perso_station: self.perso_station,
            card: CardDataInput::default(),
            design: self.design,
            carrier: self.carrier,
            reissue_of: None,
            services: self.services,
        }
    }
}

/// Whether a problem is about the card data (`cardData.…`), which this check does not see.
fn is_card_data(problem: &FieldError) -> bool {
    problem.path.starts_with("cardData.")
}

impl OrderDesk {
    /// Every problem with the fields that are not card data. Card data is absent here, so no
    /// `cardData.…` problem is reported (not even "required"): those come from the review.
    pub fn field_problems(&self, fields: OrderFields) -> Vec<FieldError> {
        let mut problems = self.problems(&fields.into_draft());
        problems.retain(|p| !is_card_data(p));
        problems
    }
}

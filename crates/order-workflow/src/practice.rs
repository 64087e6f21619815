//! Practice mode, in training only: a few documented consumer ids make the in-process training
//! D1 misbehave for that one order, so that a teller can practise what the window says and does
//! when D1 is unavailable, loses its answer, refuses a field, or the station fails. It drives
//! the sandbox through [`SandboxControl`]; a desk on any other D1 has no [`Practice`] at all.
//! The help panel of the window lists the triggers and the demo card numbers.

use std::time::Duration;

use d1_client::RetryPolicy;
use d1_sandbox::SandboxControl;
use desk_domain::ShownToTeller;
use serde::Serialize;

use crate::catalog::Catalog;
use crate::draft::OrderDraft;

/// A failure to practise, chosen by the consumer id typed in the form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum PracticeTrigger {
    /// D1 answers 503 to every attempt of the order until the retry budget is spent: the
    /// window says it is checking whether D1 received the order, then that D1 has not seen it,
    /// and offers the same order again (which then goes through).
    Unavailable,
    /// D1 records the order but the connection breaks before its answer: the desk finds the
    /// order with `productionStatus` (no second card).
    LostAnswer,
    /// D1 refuses the order with FIELD_INVALID_VALUE on the consumer id: no card is made.
    FieldRefused,
    /// The station jams (`CARD_PROD_EXCEPTION`, reason `PRINTER_JAM`) when the card reaches it.
    StationJam,
}

impl PracticeTrigger {
    pub const ALL: [Self; 4] = [
        Self::Unavailable,
        Self::LostAnswer,
        Self::FieldRefused,
        Self::StationJam,
    ];

    /// The consumer id that triggers it (any case).
    pub const fn consumer_id(self) -> &'static str {
        match self {
            Self::Unavailable => "PRACTICE-503",
            Self::LostAnswer => "PRACTICE-LOST-ANSWER",
            Self::FieldRefused => "PRACTICE-FIELD-REFUSED",
            Self::StationJam => "PRACTICE-STATION-JAM",
        }
    }

    /// The trigger a consumer id names, if any.
    pub fn from_consumer_id(consumer_id: &str) -> Option<Self> {
        let typed = consumer_id.trim();
        Self::ALL
            .into_iter()
            .find(|t| t.consumer_id().eq_ignore_ascii_case(typed))
    }
}

/// The reason the practised station jam reports.
pub const PRACTICE_JAM_REASON: &str = "PRINTER_JAM";

/// One practice value, as the help panel lists it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct PracticeCase {
    pub trigger: PracticeTrigger,
    pub consumer_id: String,
}

/// A card number that works in training for one product: in its BIN range, of its length, with
/// a correct check digit. Demo numbers only: the training D1 makes no real card.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct DemoCard {
    pub product_id: String,
    pub pan: ShownToTeller<String>,
    /// Whether the form asks for a CVV2 for this product (any 3 digits do in training).
    pub needs_cvv2: bool,
}

/// What the practice help panel shows.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct PracticeGuide {
    pub cases: Vec<PracticeCase>,
    pub demo_cards: Vec<DemoCard>,
}

/// The practice switch of a training desk.
#[derive(Clone, Debug)]
pub struct Practice {
    control: SandboxControl,
    retry: RetryPolicy,
    guide: PracticeGuide,
}

impl Practice {
    /// Practice on the training D1 behind `control`, whose desk retries with `retry`.
    pub fn new(control: SandboxControl, retry: RetryPolicy, catalog: &Catalog) -> Self {
        let guide = PracticeGuide {
            cases: PracticeTrigger::ALL
                .into_iter()
                .map(|trigger| PracticeCase {
                    trigger,
                    consumer_id: trigger.consumer_id().to_owned(),
                })
                .collect(),
            demo_cards: catalog.products.iter().filter_map(demo_card).collect(),
        };
        Self {
            control,
            retry,
            guide,
        }
    }

    pub fn guide(&self) -> &PracticeGuide {
        &self.guide
    }

    /// Arms the training D1 for `draft` when its consumer id is a trigger. Call it right before
    /// submitting a draft that passed its checks (a refused draft would leave the fault armed
    /// for the next order). Returns what was armed.
    pub fn arm(&self, draft: &OrderDraft) -> Option<PracticeTrigger> {
        let trigger = PracticeTrigger::from_consumer_id(&draft.consumer_id)?;
        match trigger {
            // Order requests only: the desk's status questions (its background checks run
            // meanwhile) must not use up the 503s meant for the order's attempts.
            PracticeTrigger::Unavailable => {
                self.control
                    .gateway_next(max_attempts_within(&self.retry), 503, false)
            }
            PracticeTrigger::LostAnswer => self.control.drop_after_read_next(1),
            PracticeTrigger::FieldRefused => self.control.refuse_next(1, "consumerId"),
            PracticeTrigger::StationJam => {
                self.control.station_exception_next(1, PRACTICE_JAM_REASON)
            }
        }
        tracing::info!(
            ?trigger,
            "practice: the training D1 will misbehave for this order"
        );
        Some(trigger)
    }
}

/// The most attempts the desk can make within its retry budget when D1 keeps answering 503 at
/// once: every backoff at its shortest (half of `initial_delay × 2^(n-1)`, see
/// [`RetryPolicy::delay_after`]). The real count is smaller (jitter, time on the wire); the unused
/// 503s meet the desk's next calls (the status question, the resend), which it retries as well.
pub fn max_attempts_within(retry: &RetryPolicy) -> usize {
    let mut attempts: u32 = 1;
    let mut elapsed = Duration::ZERO;
    while elapsed < retry.budget && attempts < 1000 {
        let shortest = retry
            .initial_delay
            .saturating_mul(1u32 << (attempts - 1).min(20))
            .min(retry.max_delay)
            / 2;
        elapsed += shortest
            .max(Duration::from_millis(1))
            .min(retry.budget - elapsed);
        attempts += 1;
    }
    attempts as usize
}

/// A Luhn-valid card number of `product`: the low end of its first BIN range, zeros, then the
/// check digit; any BIN when it has no range.
fn demo_card(product: &crate::catalog::Product) -> Option<DemoCard> {
    let length = usize::try_from(*product.rules.pan_lengths.first()?).ok()?;
    let prefix = product
        .rules
        .bin_ranges
        .first()
        .map(|r| r.from_prefix())
        .unwrap_or_else(|| "4".to_owned());
    if prefix.len() >= length {
        return None;
    }
    let mut body = prefix;
    while body.len() < length - 1 {
        body.push('0');
    }
    let check = desk_domain::luhn_check_digit(&body)?;
    body.push(check);
    Some(DemoCard {
        product_id: product.id.clone(),
        pan: ShownToTeller::new(body),
        needs_cvv2: product.supplies_cvv2,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_are_found_whatever_the_case_and_nothing_else_is_one() {
        assert_eq!(
            PracticeTrigger::from_consumer_id(" practice-503 "),
            Some(PracticeTrigger::Unavailable)
        );
        assert_eq!(
            PracticeTrigger::from_consumer_id("PRACTICE-STATION-JAM"),
            Some(PracticeTrigger::StationJam)
        );
        for other in ["", "CUST-503", "PRACTICE", "PRACTICE-503X", "PRACTICE-LOST"] {
            assert_eq!(PracticeTrigger::from_consumer_id(other), None, "{other}");
        }
    }

    #[test]
    fn demo_cards_pass_the_product_rules() {
        let catalog = Catalog::training();
        let practice_cards: Vec<DemoCard> = catalog.products.iter().filter_map(demo_card).collect();
        assert_eq!(practice_cards.len(), catalog.products.len());
        for (card, product) in practice_cards.iter().zip(&catalog.products) {
            let input =
                d1_client::CardDataInput::new(card.pan.expose().clone(), "07/30", "ANA GARCIA");
            assert!(
                d1_client::CardData::from_input(&input, &product.rules).is_ok(),
                "{} for {}",
                card.pan.expose(),
                product.id
            );
            assert_ne!(card.pan.expose(), "4000056655665556", "never the canary");
        }
    }

    #[test]
    fn no_attempt_within_the_budget_escapes_the_503s() {
        let retry = RetryPolicy::default();
        let most = max_attempts_within(&retry);
        // However the jitter falls, the desk never makes more attempts than that.
        for _ in 0..200 {
            let (mut attempts, mut elapsed) = (1u32, Duration::ZERO);
            while let Some(delay) = retry.delay_after(attempts, elapsed, None) {
                elapsed += delay;
                attempts += 1;
            }
            assert!(attempts as usize <= most, "{attempts} > {most}");
        }
        assert_eq!(max_attempts_within(&RetryPolicy::none()), 1);
    }
}

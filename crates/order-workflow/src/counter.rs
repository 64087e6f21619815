//! Spoiled cards and reissues at the counter: the report (the journal's destruction log, sent
//! to the ledger through the one outbox), the reissue's form filled with everything but card
//! data, and the link from the new order to the spoiled one. Another desk's order (seen in the
//! ledger) is reported through this desk's outbox too.

use std::collections::VecDeque;

use desk_domain::{CardId, ConsumerId};
use order_journal::{ForeignSpoiled, OrderState, PanLast4, can_be_spoiled};
use serde::Serialize;

use crate::branch::ledger_error;
use crate::desk::{OrderDesk, lock};
use crate::draft::{CarrierDraft, DesignDraft, OrderDraft};
use crate::error::{Refusal, WorkflowError};

/// How many of this session's orders keep their form (without card data) for a reissue.
const TEMPLATES_KEPT: usize = 200;

/// An order's form without its card data.
#[derive(Clone, Debug, Default)]
pub(crate) struct Template {
    priority: Option<String>,
    design: DesignDraft,
    carrier: CarrierDraft,
}

impl Template {
    pub(crate) fn of(draft: &OrderDraft) -> Self {
        Self {
            priority: draft.priority.clone(),
            design: draft.design.clone(),
            carrier: draft.carrier.clone(),
        }
    }
}

/// The latest orders' templates, by card id (memory only).
#[derive(Default)]
pub(crate) struct Templates(VecDeque<(CardId, Template)>);

/// The form of a reissue: everything of the spoiled order but its card data.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ReissueForm {
    /// The spoiled order the new one replaces (goes back as the draft's `reissueOf`).
    pub reissue_of: CardId,
    pub consumer_id: ConsumerId,
    pub card_product_id: String,
    pub issuance_type: String,
    pub priority: Option<String>,
    pub perso_station: String,
    pub design: DesignDraft,
    pub carrier: CarrierDraft,
    /// The design and carrier lines are the original's (this session ordered it); otherwise
    /// only the labels the journal or ledger keep are filled in: the teller checks the rest.
    pub complete: bool,
}

/// Where a card stands as to spoiled and reissue, as the detail shows it.
#[derive(Clone, Debug, Default, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct CounterLinks {
    /// The spoiled order this one replaces.
    pub reissue_of: Option<CardId>,
    /// When its card was reported spoiled (ms since the Unix epoch).
    pub spoiled_at: Option<f64>,
    /// Why (a reason code of the configured list).
    pub spoiled_reason: Option<String>,
    /// The orders that replace it.
    pub reissued_by: Vec<CardId>,
}

impl From<order_journal::CounterLinks> for CounterLinks {
    fn from(l: order_journal::CounterLinks) -> Self {
        Self {
            reissue_of: l.reissue_of,
            spoiled_at: l.spoiled.as_ref().map(|(at, _)| at.as_millis() as f64),
            spoiled_reason: l.spoiled.map(|(_, reason)| reason),
            reissued_by: l.reissued_by,
        }
    }
}

/// What is known of an order for a spoiled report or a reissue: this journal's, or the
/// ledger's (another desk's order).
struct Known {
    state: OrderState,
    pan_last4: PanLast4,
    consumer_id: ConsumerId,
    product_id: String,
    station_id: String,
    issuance_type: String,
    spoiled: bool,
    /// Not in this journal (another desk's order, from the ledger).
    foreign: bool,
}

fn refused(code: Refusal, message: &str) -> WorkflowError {
    WorkflowError::Refused {
        code,
        message: message.to_owned(),
    }
}

impl OrderDesk {
    pub(crate) fn remember(&self, card_id: &CardId, template: Template) {
        let mut templates = lock(&self.inner.templates);
        if templates.0.len() >= TEMPLATES_KEPT {
            templates.0.pop_front();
        }
        templates.0.push_back((card_id.clone(), template));
    }

    fn template(&self, card_id: &CardId) -> Option<Template> {
        lock(&self.inner.templates)
            .0
            .iter()
            .rev()
            .find(|(id, _)| id == card_id)
            .map(|(_, t)| t.clone())
    }

    /// The reasons offered for a spoiled card (configuration).
    pub fn spoiled_reasons(&self) -> Vec<String> {
        self.inner.settings.spoiled.reasons.clone()
    }

    async fn known(&self, card_id: &CardId) -> Result<Known, WorkflowError> {
        let id = card_id.clone();
        let local = self
            .in_journal(move |j| match j.detail(&id) {
                Ok(detail) => Ok(Some((detail.order, j.counter_links(&id)?))),
                Err(order_journal::JournalError::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            })
            .await?;
        if let Some((o, links)) = local {
            return Ok(Known {
                state: o.state,
                pan_last4: o.pan_last4,
                consumer_id: o.consumer_id,
                product_id: o.product_id,
                station_id: o.station_id,
                issuance_type: o.issuance_type,
                spoiled: links.spoiled.is_some(),
                foreign: false,
            });
        }
        let Some(ledger) = self.branch_ledger().await? else {
            return Err(WorkflowError::Journal(
                order_journal::JournalError::NotFound {
                    card_id: card_id.to_string(),
                },
            ));
        };
        let branch = ledger.identity().branch_id.clone();
        let detail = ledger
            .detail(&branch, card_id)
            .await
            .map_err(ledger_error)?;
        Ok(Known {
            state: detail.order.state,
            pan_last4: detail.order.pan_last4,
            consumer_id: detail.order.consumer_id,
            product_id: detail.order.product_id,
            station_id: detail.order.station_id,
            issuance_type: detail.order.issuance_type,
            spoiled: detail.spoiled.is_some(),
            foreign: true,
        })
    }

    /// Records that the card of a finished order was spoiled, with a reason from the
    /// configured list: in the journal (this desk's order) or for the ledger only (another
    /// desk's). Refused: `unknown_reason`, `not_finished`, `already_spoiled`.
    pub async fn report_spoiled(
        &self,
        card_id: &CardId,
        reason: &str,
    ) -> Result<(), WorkflowError> {
        if !self
            .inner
            .settings
            .spoiled
            .reasons
            .iter()
            .any(|r| r == reason)
        {
            return Err(refused(
                Refusal::UnknownReason,
                "pick one of the configured reasons for a spoiled card",
            ));
        }
        let known = self.known(card_id).await?;
        if !can_be_spoiled(known.state) {
            return Err(refused(
                Refusal::NotFinished,
                "only a finished order (done or failed) can be reported spoiled",
            ));
        }
        if known.spoiled {
            return Err(refused(
                Refusal::AlreadySpoiled,
                "this card was already reported spoiled",
            ));
        }
        let operator = self.operator().to_owned();
        let card = card_id.clone();
        let reason = reason.to_owned();
        if known.foreign {
            let report = ForeignSpoiled {
                card_id: card,
                operator,
                state: known.state,
                reason_code: reason,
                pan_last4: known.pan_last4,
            };
            self.in_journal(move |j| j.queue_foreign_spoiled(&report))
                .await?;
        } else {
            self.in_journal(move |j| j.record_spoiled(&card, &operator, &reason))
                .await?;
        }
        self.announce(card_id);
        Ok(())
    }

    /// The form of a reissue of the spoiled order `card_id`: everything but card data.
    /// Refused (`not_spoiled`) when its card was not reported spoiled.
    pub async fn reissue_form(&self, card_id: &CardId) -> Result<ReissueForm, WorkflowError> {
        let known = self.known(card_id).await?;
        if !known.spoiled {
            return Err(refused(
                Refusal::NotSpoiled,
                "report the card spoiled before reissuing it",
            ));
        }
        let template = self.template(card_id);
        let complete = template.is_some();
        let template = template.unwrap_or_default();
        Ok(ReissueForm {
            reissue_of: card_id.clone(),
            consumer_id: known.consumer_id,
            card_product_id: known.product_id,
            issuance_type: known.issuance_type,
            priority: template.priority,
            perso_station: known.station_id,
            design: template.design,
            carrier: template.carrier,
            complete,
        })
    }

    /// The spoiled order a draft replaces, checked: its card was reported spoiled (in this
    /// journal, or in the ledger for another desk's order).
    pub(crate) async fn check_reissue(
        &self,
        reissue_of: Option<&str>,
    ) -> Result<Option<CardId>, WorkflowError> {
        let Some(original) = reissue_of.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        let original = CardId::parse(original).map_err(|mut e| {
            e.path = "reissueOf".to_owned();
            WorkflowError::Invalid(vec![e])
        })?;
        let known = self.known(&original).await?;
        if !known.spoiled {
            return Err(refused(
                Refusal::NotSpoiled,
                "report the card spoiled before reissuing it",
            ));
        }
        Ok(Some(original))
    }
}

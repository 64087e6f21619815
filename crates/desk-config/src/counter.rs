//! The counter workflows' settings: `[approvals]` (which orders need a second person's approval,
//! and for how long a request waits) and `[spoiled]` (the reasons a teller picks when a card is
//! spoiled).
//!
//! Approvals are given from another desk through the branch ledger, which enforces them: an
//! approval rule without a `[ledger]` is refused. Like `[supervisors]`, `[approvals]` comes from
//! the machine-wide file only (a teller cannot switch dual control off).

use serde::{Deserialize, Serialize};

use crate::lenient;
use crate::load::Reporter;
use crate::model::{Product, Services};

/// Bounds of `approvals.timeout_seconds`.
pub const APPROVAL_TIMEOUT_SECONDS: std::ops::RangeInclusive<u32> = 30..=3600;
/// Most reasons in `spoiled.reasons`.
pub const MAX_SPOILED_REASONS: usize = 30;

/// `[approvals]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApprovalsConfig {
    /// Orders of these issuance types need a second person's approval (each one of
    /// `services.issuance`).
    pub issuance_types: Vec<String>,
    /// Orders of these products need a second person's approval (each a configured product).
    pub product_ids: Vec<String>,
    /// How long a request waits for a decision (30–3600 s, default 300); then it expires and the
    /// card data is cleared.
    #[serde(deserialize_with = "lenient::u32")]
    pub timeout_seconds: u32,
}

impl Default for ApprovalsConfig {
    fn default() -> Self {
        ApprovalsConfig {
            issuance_types: Vec::new(),
            product_ids: Vec::new(),
            timeout_seconds: 300,
        }
    }
}

impl ApprovalsConfig {
    /// Whether any order needs an approval.
    pub fn has_rules(&self) -> bool {
        !self.issuance_types.is_empty() || !self.product_ids.is_empty()
    }

    /// Whether an order of `issuance_type` for `product_id` needs a second person's approval.
    pub fn needs_approval(&self, issuance_type: &str, product_id: &str) -> bool {
        self.issuance_types.iter().any(|t| t == issuance_type)
            || self.product_ids.iter().any(|p| p == product_id)
    }
}

/// `[spoiled]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpoiledConfig {
    /// The reasons a teller picks when reporting a spoiled card (codes; the window shows them in
    /// the teller's language).
    pub reasons: Vec<String>,
}

impl Default for SpoiledConfig {
    fn default() -> Self {
        SpoiledConfig {
            reasons: [
                "misprint",
                "damaged",
                "wrong_data",
                "customer_left",
                "test_card",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

/// `^[a-z][a-z0-9_]{0,39}$` — the journal's and the ledger's rule for a reason code.
fn is_reason_code(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_lowercase())
        && s.len() <= 40
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn q(s: &str) -> Option<String> {
    Some(format!("{s:?}"))
}

pub(crate) fn check_approvals(
    r: &mut Reporter<'_>,
    approvals: &ApprovalsConfig,
    services: Option<&Services>,
    products: Option<&[(usize, Product)]>,
    ledger_configured: bool,
) {
    let mut keys = r.leaves("approvals");
    // An emptied list has no leaves: check the lists themselves too.
    keys.extend([
        "approvals.issuance_types".to_string(),
        "approvals.product_ids".to_string(),
    ]);
    keys.sort();
    keys.dedup();
    for leaf in keys {
        if !r.is_machine_or_default(&leaf) && !r.has_problem_at(&leaf) {
            r.report(
                &leaf,
                None,
                "approvals can only be set in the machine-wide file (not in a per-user file or an environment variable)",
            );
        }
    }
    if !APPROVAL_TIMEOUT_SECONDS.contains(&approvals.timeout_seconds) {
        r.report(
            "approvals.timeout_seconds",
            Some(approvals.timeout_seconds.to_string()),
            "expected 30 to 3600 seconds",
        );
    }
    if let Some(services) = services {
        for (i, t) in approvals.issuance_types.iter().enumerate() {
            if !services.issuance.contains(t) {
                r.report(
                    &format!("approvals.issuance_types[{i}]"),
                    q(t),
                    format!(
                        "not an issuance type of services.issuance (one of: {})",
                        services.issuance.join(", ")
                    ),
                );
            }
        }
    }
    if let Some(products) = products {
        for (i, id) in approvals.product_ids.iter().enumerate() {
            if !products.iter().any(|(_, p)| &p.id == id) {
                r.report(
                    &format!("approvals.product_ids[{i}]"),
                    q(id),
                    "not the id of a configured product (products[].id)",
                );
            }
        }
    }
    if approvals.has_rules() && !ledger_configured {
        let key = if approvals.issuance_types.is_empty() {
            "approvals.product_ids"
        } else {
            "approvals.issuance_types"
        };
        r.report(
            key,
            None,
            "approvals need the branch ledger: another person approves from another desk through it, and the ledger enforces the rules. Configure [ledger] (host, ca_bundle, desk_id, branch_id) or remove the approval rules",
        );
    }
}

pub(crate) fn check_spoiled(r: &mut Reporter<'_>, spoiled: &SpoiledConfig) {
    if spoiled.reasons.is_empty() {
        r.report(
            "spoiled.reasons",
            None,
            "at least one reason is needed to report a spoiled card",
        );
    }
    if spoiled.reasons.len() > MAX_SPOILED_REASONS {
        r.report(
            "spoiled.reasons",
            Some(spoiled.reasons.len().to_string()),
            format!("at most {MAX_SPOILED_REASONS} reasons"),
        );
    }
    for (i, reason) in spoiled.reasons.iter().enumerate() {
        if !is_reason_code(reason) {
            r.report(
                &format!("spoiled.reasons[{i}]"),
                q(reason),
                "expected a code of 1 to 40 characters: a-z first, then a-z, 0-9 or _ (e.g. \"wrong_data\")",
            );
        } else if spoiled.reasons[..i].contains(reason) {
            r.report(&format!("spoiled.reasons[{i}]"), q(reason), "listed twice");
        }
    }
}

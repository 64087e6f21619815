//! The order desk: one teller intent → one journalled, encrypted order → D1 → status.
//! Sending lives in `send.rs`, following orders after they left in `follow.rs`.

use std::collections::HashMap;
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use d1_client::{D1Client, EncryptionKey, OrderIds, PreparedOrder};
use desk_domain::{CardId, ConsumerId, ShownToTeller};
use order_journal::{Journal, NewOrder, Timestamp};
use tokio::sync::{Notify, broadcast};

use crate::catalog::Catalog;
use crate::draft::OrderDraft;
use crate::error::{Refusal, WorkflowError};
use crate::ledger_sync::{LedgerLink, LedgerStatus};
use crate::views::{FormOptions, OrderChanged, OrderProgress, OrderReview, SubmittedOrder};

/// How the desk treats orders whose outcome it does not know yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeskSettings {
    /// After this long without any record at D1, an order that may have been sent becomes an
    /// exception for a person (`no_record`) instead of "still checking". See
    /// `reconcile.no_record_after_seconds` in KEYS.md for the default and why.
    pub no_record_after: Duration,
    /// Status questions the background checks send to D1 at once.
    pub check_concurrency: usize,
    /// Fault injection for tests: the first `n` journal writes of D1's acceptance fail, as a
    /// full disk would make them. Always 0 outside tests (the app reads it from a debug-only
    /// variable).
    pub failing_acceptance_writes: u32,
    /// Which orders need a second person's approval, and how long a request waits.
    pub approvals: desk_config::ApprovalsConfig,
    /// The reasons offered for a spoiled card.
    pub spoiled: desk_config::SpoiledConfig,
}

impl Default for DeskSettings {
    fn default() -> Self {
        Self {
            no_record_after: Duration::from_secs(600),
            check_concurrency: 4,
            failing_acceptance_writes: 0,
            approvals: desk_config::ApprovalsConfig::default(),
            spoiled: desk_config::SpoiledConfig::default(),
        }
    }
}

/// What the desk needs to order cards. Cheap to clone; safe to share between tasks.
#[derive(Clone)]
pub struct OrderDesk {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) client: D1Client,
    encryption_key: EncryptionKey,
    pub(crate) journal: Journal,
    pub(crate) catalog: Catalog,
    operator: String,
    pub(crate) settings: DeskSettings,
    /// Orders of this session whose encrypted request is held, so that the same order (same
    /// ids, same JWE) can be sent again. Never clear card data: only the JWE.
    resendable: Mutex<HashMap<CardId, Arc<PreparedOrder>>>,
    /// When D1 last answered a status question about each card (this session): a status
    /// that did not change is not written to the journal, but it was checked.
    checked: Mutex<HashMap<CardId, Timestamp>>,
    /// The orders the previous run left unfinished, as found when this desk started.
    pub(crate) interrupted: Mutex<Vec<CardId>>,
    /// Journal writes that failed after D1 had the order, retried in the background.
    pub(crate) unrecorded: Mutex<HashMap<CardId, crate::send::Unrecorded>>,
    pub(crate) changes: broadcast::Sender<OrderChanged>,
    /// What is left of [`DeskSettings::failing_acceptance_writes`].
    pub(crate) failing_writes_left: AtomicU32,
    /// Notified after every journal call: the ledger sync pushes at once.
    journal_written: Arc<Notify>,
    /// The branch ledger, when one is configured.
    ledger: OnceLock<LedgerLink>,
    /// Why a configured ledger could not even be set up (e.g. no client identity).
    ledger_problem: OnceLock<String>,
    /// The order the teller's form handed over while it waits for a second person's approval:
    /// its encrypted request (the clear card data was wiped when it was encrypted). Memory
    /// only; dropped (and its bytes wiped) on every end.
    pub(crate) held: Mutex<Option<crate::approvals::Held>>,
    /// Notified when the held order is taken or dropped (a cancel wakes the waiting window).
    pub(crate) held_changed: Notify,
    /// The approvals or exceptions of the branch changed (the ledger's counter stream).
    pub(crate) counter_changes: broadcast::Sender<branch_ledger::CounterKind>,
    /// What this session's orders looked like without their card data (design, lines,
    /// priority), for a reissue's form. Memory only, the latest few.
    pub(crate) templates: Mutex<crate::counter::Templates>,
}

impl OrderDesk {
    pub fn new(
        client: D1Client,
        encryption_key: EncryptionKey,
        journal: Journal,
        catalog: Catalog,
        operator: String,
        settings: DeskSettings,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                client,
                encryption_key,
                journal,
                catalog,
                operator,
                resendable: Mutex::new(HashMap::new()),
                checked: Mutex::new(HashMap::new()),
                interrupted: Mutex::new(Vec::new()),
                unrecorded: Mutex::new(HashMap::new()),
                changes: broadcast::channel(256).0,
                failing_writes_left: AtomicU32::new(settings.failing_acceptance_writes),
                settings,
                journal_written: Arc::new(Notify::new()),
                ledger: OnceLock::new(),
                ledger_problem: OnceLock::new(),
                held: Mutex::new(None),
                held_changed: Notify::new(),
                counter_changes: broadcast::channel(64).0,
                templates: Mutex::new(crate::counter::Templates::default()),
            }),
        }
    }

    /// The OS user at this desk.
    pub fn operator(&self) -> &str {
        &self.inner.operator
    }

    pub fn client(&self) -> &D1Client {
        &self.inner.client
    }

    pub fn journal(&self) -> &Journal {
        &self.inner.journal
    }

    /// Starts pushing this desk's journal to the branch ledger (once; later calls do nothing).
    pub fn attach_ledger(&self, options: branch_ledger::ConnectOptions) -> LedgerLink {
        self.inner
            .ledger
            .get_or_init(|| {
                LedgerLink::start(
                    options,
                    self.inner.journal.clone(),
                    Arc::clone(&self.inner.journal_written),
                )
            })
            .clone()
    }

    /// The branch ledger, when one is configured.
    pub fn ledger(&self) -> Option<&LedgerLink> {
        self.inner.ledger.get()
    }

    /// A ledger is configured but cannot be used (`problem`: a stable code such as `setup`).
    pub fn ledger_unavailable(&self, problem: &str) {
        let _ = self.inner.ledger_problem.set(problem.to_owned());
    }

    /// Where this desk's record stands with the branch ledger.
    pub fn ledger_status(&self) -> LedgerStatus {
        if let Some(problem) = self.inner.ledger_problem.get() {
            return LedgerStatus {
                state: crate::LedgerState::Refused,
                problem: Some(problem.clone()),
                ..LedgerStatus::not_configured()
            };
        }
        self.ledger()
            .map_or_else(LedgerStatus::not_configured, LedgerLink::status)
    }

    /// Every change of an order's state this desk makes, as it happens (for the window).
    pub fn changes(&self) -> broadcast::Receiver<OrderChanged> {
        self.inner.changes.subscribe()
    }

    /// Fetches (or reuses) a D1 token: D1 is reachable and accepts this desk.
    pub async fn check_connection(&self) -> Result<(), WorkflowError> {
        self.inner
            .client
            .ensure_token()
            .await
            .map_err(|e| WorkflowError::d1(e, None))
    }

    /// Every problem with the draft; empty when it can be sent. Encrypts and sends nothing.
    pub fn problems(&self, draft: &OrderDraft) -> Vec<crate::FieldError> {
        draft.problems(&self.inner.catalog)
    }

    pub fn form_options(&self) -> FormOptions {
        FormOptions::from_catalog(&self.inner.catalog)
    }

    /// The masked summary to confirm, or every problem with the draft.
    pub fn review(&self, draft: &OrderDraft) -> Result<OrderReview, WorkflowError> {
        let catalog = &self.inner.catalog;
        let draft = &draft.normalized();
        let checked = draft
            .check_normalized(catalog)
            .map_err(WorkflowError::Invalid)?;
        let product = catalog.product(&checked.product_id);
        let artwork_name = checked
            .request
            .card_design
            .as_ref()
            .and_then(|d| d.artwork_id.as_ref())
            .and_then(|id| product.and_then(|p| p.artworks.iter().find(|a| &a.id == id)))
            .map(|a| a.name.clone());
        // What is printed comes from the checked request; the name and expiry as the checked
        // draft holds them (the card data itself stays inside `checked.card`).
        let design = checked.request.card_design.as_ref();
        let carrier = checked.request.card_carrier_config.as_ref();
        let services = &checked.request.services;
        Ok(OrderReview {
            consumer_id: checked.request.consumer_id.clone().unwrap_or_default(),
            product_id: checked.product_id.clone(),
            product_name: product.map(|p| p.display_name.clone()).unwrap_or_default(),
            product_name_es: product.and_then(|p| p.display_name_es.clone()),
            station_id: checked.request.perso_station.clone(),
            station_name: catalog
                .station(&checked.request.perso_station)
                .map(|s| s.name.clone())
                .unwrap_or_default(),
            issuance_type: checked.request.services.issuance.clone(),
            priority: checked.request.services.priority.clone(),
            masked_pan: checked.card.masked_pan(),
            // What is printed on the card, shown back to the teller who typed it (never the
            // card number, never logged).
            name_on_card: ShownToTeller::new(draft.card.name.expose().trim().to_owned()),
            second_line: draft
                .card
                .second_name
                .as_ref()
                .map(|n| n.expose().trim())
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            expiry: ShownToTeller::new(draft.card.exp.expose().trim().to_owned()),
            artwork_id: design.and_then(|d| d.artwork_id.clone()),
            artwork_name,
            custom_lines: design.map(|d| d.custom_lines.clone()).unwrap_or_default(),
            member_id: design.and_then(|d| d.member_id.clone()),
            carrier_language: carrier.and_then(|c| c.language.clone()),
            carrier_lines: carrier.map(|c| c.custom_lines.clone()).unwrap_or_default(),
            design_images: design.map(|d| d.images.clone()).unwrap_or_default(),
            card_image: design.and_then(|d| d.card_image.clone()),
            carrier_images: carrier.map(|c| c.images.clone()).unwrap_or_default(),
            multi_card_id: carrier.and_then(|c| c.multi_card_id.clone()),
            multi_card_order: carrier.and_then(|c| c.multi_card_order.clone()),
            delivery: services.delivery.clone(),
            packaging: services.packaging.clone(),
            card_carrier: services.card_carrier.clone(),
            pin_mailer: services.pin_mailer == Some(true),
            alpha_card: services.alpha_card == Some(true),
            needs_approval: self.needs_approval(draft),
        })
    }

    /// Orders the card: checks, encrypts, journals the intent, then sends. The draft (and
    /// its card data) is wiped when this returns. An order that needs a second person's
    /// approval is refused (`approval_needed`): it goes through
    /// [`OrderDesk::request_approval`].
    pub async fn submit(
        &self,
        draft: OrderDraft,
        progress: impl Fn(OrderProgress) + Send + Sync,
    ) -> Result<SubmittedOrder, WorkflowError> {
        if self.needs_approval(&draft) {
            return Err(WorkflowError::Refused {
                code: Refusal::ApprovalNeeded,
                message: "this order needs a second person's approval before it is sent".into(),
            });
        }
        let reissue_of = self.check_reissue(draft.reissue_of.as_deref()).await?;
        let template = crate::counter::Template::of(&draft);
        let (new_order, prepared) = self.prepare(draft, &progress)?;
        self.remember(&new_order.card_id, template);
        self.record_and_send(new_order, prepared, reissue_of, &progress)
            .await
    }

    /// Checks and encrypts a draft under new ids: the order's journal record and its encrypted
    /// request. The draft and its clear card data are wiped when this returns.
    pub(crate) fn prepare(
        &self,
        draft: OrderDraft,
        progress: &(impl Fn(OrderProgress) + Send + Sync),
    ) -> Result<(NewOrder, PreparedOrder), WorkflowError> {
        let checked = draft
            .check(&self.inner.catalog)
            .map_err(WorkflowError::Invalid)?;
        drop(draft);
        progress(OrderProgress::Encrypting);
        let ids = OrderIds::generate();
        let new_order = NewOrder {
            operator: self.inner.operator.clone(),
            consumer_id: ConsumerId::parse(checked.request.consumer_id.clone().unwrap_or_default())
                .map_err(|e| WorkflowError::Invalid(vec![e]))?,
            product_id: checked.product_id.clone(),
            station_id: checked.request.perso_station.clone(),
            issuance_type: checked.request.services.issuance.clone(),
            pan_last4: checked
                .card
                .pan_last4()
                .map_err(|e| WorkflowError::Invalid(vec![e]))?,
            card_id: ids.card_id.clone(),
            issuer_request_id: ids.issuer_request_id.clone(),
            correlation_id: ids.correlation_id.clone(),
        };
        let prepared = PreparedOrder::prepare(
            checked.request,
            checked.card,
            &self.inner.encryption_key,
            ids,
        )
        .map_err(|e| WorkflowError::d1(e, None))?;
        Ok((new_order, prepared))
    }

    /// Journals the intent (a reissue with its link), then sends.
    pub(crate) async fn record_and_send(
        &self,
        new_order: NewOrder,
        prepared: PreparedOrder,
        reissue_of: Option<CardId>,
        progress: &(impl Fn(OrderProgress) + Send + Sync),
    ) -> Result<SubmittedOrder, WorkflowError> {
        self.in_journal(move |j| match &reissue_of {
            Some(original) => j.record_reissue_intent(&new_order, original),
            None => j.record_intent(&new_order),
        })
        .await?;
        crate::crash::point(crate::crash::INTENT_RECORDED);
        let prepared = Arc::new(prepared);
        self.keep_resendable(&prepared);
        self.send(prepared, progress).await
    }

    /// Sends again an order held by this session (same card id, same encrypted data): after
    /// it could not reach D1, or while D1 has no record of it.
    pub async fn resend(
        &self,
        card_id: &CardId,
        progress: impl Fn(OrderProgress) + Send + Sync,
    ) -> Result<SubmittedOrder, WorkflowError> {
        let prepared = self
            .resendable(card_id)
            .ok_or(WorkflowError::NothingToRetry)?;
        self.send(prepared, &progress).await
    }

    /// Whether this session still holds the encrypted order, so it can be sent again.
    pub fn can_resend(&self, card_id: &CardId) -> bool {
        self.resendable(card_id).is_some()
    }

    /// When D1 last answered a status question about this card in this session.
    pub fn last_checked(&self, card_id: &CardId) -> Option<Timestamp> {
        lock(&self.inner.checked).get(card_id).copied()
    }

    pub(crate) fn mark_checked(&self, card_id: &CardId) {
        lock(&self.inner.checked).insert(card_id.clone(), Timestamp::now());
    }

    /// Runs a journal call on the blocking pool (SQLite waits for the disk).
    pub(crate) async fn in_journal<T: Send + 'static>(
        &self,
        call: impl FnOnce(&Journal) -> order_journal::Result<T> + Send + 'static,
    ) -> Result<T, WorkflowError> {
        let journal = self.inner.journal.clone();
        let result = tokio::task::spawn_blocking(move || call(&journal))
            .await
            .map_err(|e| WorkflowError::Task(e.to_string()))?
            .map_err(WorkflowError::from);
        self.inner.journal_written.notify_one();
        result
    }

    /// Tells the window (and anyone listening) that an order changed.
    pub(crate) fn announce(&self, card_id: &CardId) {
        // No listener is fine: the window asks again when it opens.
        let _ = self.inner.changes.send(OrderChanged {
            card_id: Some(card_id.clone()),
        });
    }

    /// Tells the window that any order may have changed (e.g. changes made elsewhere while the
    /// branch ledger's change stream was closed).
    pub(crate) fn announce_all(&self) {
        let _ = self.inner.changes.send(OrderChanged { card_id: None });
    }

    pub(crate) fn keep_resendable(&self, prepared: &Arc<PreparedOrder>) {
        lock(&self.inner.resendable).insert(prepared.card_id().clone(), Arc::clone(prepared));
    }

    pub(crate) fn resendable(&self, card_id: &CardId) -> Option<Arc<PreparedOrder>> {
        lock(&self.inner.resendable).get(card_id).cloned()
    }

    /// The encrypted order is no longer needed: D1 has it, or it is final.
    pub(crate) fn forget(&self, card_id: &CardId) {
        lock(&self.inner.resendable).remove(card_id);
    }
}

/// The maps behind these locks hold no invariant a panicking holder could break: keep using them.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

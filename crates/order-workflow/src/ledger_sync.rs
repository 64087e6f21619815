//! The branch ledger from the desk's side: the journal's outbox pushed in order and
//! idempotently, with backoff while the server is away, and the state the status bar shows.
//! Ordering a card never waits for any of it: the outbox is a row in the journal's own
//! transaction, and this runs in the background.

use std::sync::Arc;
use std::time::Duration;

use branch_ledger::{ConnectOptions, Event, Ledger, LedgerError, Transition};
use order_journal::{Journal, OutboxEvent, Timestamp};
use serde::Serialize;
use tokio::sync::{Notify, watch};

/// How many outbox events go in one append.
const BATCH: u32 = 500;
/// A heartbeat at least this often while there is nothing to push ("up to date" stays true).
const HEARTBEAT: Duration = Duration::from_secs(30);
/// The outbox is looked at this often even without a wake-up.
const POLL: Duration = Duration::from_secs(1);
/// The longest wait before connecting again (a branch server restarting is back within
/// seconds; trying every 10 s while it is away costs nothing).
pub const LONGEST_BACKOFF: Duration = Duration::from_secs(10);
/// The wait after the ledger refused this desk (a person must look): try again this often.
const REFUSED_RETRY: Duration = Duration::from_secs(60);

/// Where this desk's record stands with the branch ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum LedgerState {
    /// No ledger is configured: this desk works alone on its journal ("this desk only").
    NotConfigured,
    /// Connecting for the first time since start.
    Connecting,
    /// Every change of this desk is in the ledger.
    UpToDate,
    /// Changes are being pushed.
    Waiting,
    /// The ledger cannot be reached; changes wait in the journal and go when it is back.
    Unreachable,
    /// The ledger refused this desk or its stream (`problem` says why): a person must look.
    Refused,
}

/// The ledger's state as the window shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct LedgerStatus {
    pub state: LedgerState,
    /// Changes of this desk not in the ledger yet.
    pub waiting: u32,
    /// When the oldest waiting change happened (ms since the Unix epoch).
    pub waiting_since: Option<f64>,
    /// When the ledger last confirmed this desk is up to date (ms since the Unix epoch).
    pub last_sync: Option<f64>,
    /// Why the ledger is unreachable or refused this desk: a stable code (`unreachable`, `tls`,
    /// `unauthorized`, `not_a_desk`, `schema`, `conflict`, …) for the window's words.
    pub problem: Option<String>,
}

impl LedgerStatus {
    pub fn not_configured() -> Self {
        Self {
            state: LedgerState::NotConfigured,
            waiting: 0,
            waiting_since: None,
            last_sync: None,
            problem: None,
        }
    }
}

/// The running link to the ledger: its status, and a session for the supervisor's branch-wide
/// queries (its own connection, opened on demand, so a query never waits for the sync).
#[derive(Clone)]
pub struct LedgerLink {
    status: watch::Receiver<LedgerStatus>,
    options: Arc<ConnectOptions>,
    queries: Arc<tokio::sync::Mutex<Option<Ledger>>>,
}

impl LedgerLink {
    /// Starts pushing `journal`'s outbox to the ledger in the background. `wake` is notified
    /// when the journal changed (the push then starts at once instead of at the next poll).
    pub fn start(options: ConnectOptions, journal: Journal, wake: Arc<Notify>) -> Self {
        let (status_tx, status) = watch::channel(LedgerStatus {
            state: LedgerState::Connecting,
            ..LedgerStatus::not_configured()
        });
        let options = Arc::new(options);
        let worker = Sync {
            options: Arc::clone(&options),
            journal,
            wake,
            status: status_tx,
            last_sync: None,
        };
        tokio::spawn(worker.run());
        Self {
            status,
            options,
            queries: Arc::new(tokio::sync::Mutex::new(None)),
        }
    }

    /// The current state.
    pub fn status(&self) -> LedgerStatus {
        self.status.borrow().clone()
    }

    /// Every change of the state.
    pub fn watch(&self) -> watch::Receiver<LedgerStatus> {
        self.status.clone()
    }

    /// A session for queries: the open one, or a new one when there is none or it broke.
    pub async fn ledger(&self) -> Result<Ledger, LedgerError> {
        let mut session = self.queries.lock().await;
        if let Some(ledger) = session.as_ref()
            && !ledger.is_closed()
        {
            return Ok(ledger.clone());
        }
        let ledger = Ledger::connect(&self.options).await?;
        *session = Some(ledger.clone());
        Ok(ledger)
    }

    /// How this desk connects (for a session of its own, e.g. `LISTEN`).
    pub fn options(&self) -> &ConnectOptions {
        &self.options
    }
}

struct Sync {
    options: Arc<ConnectOptions>,
    journal: Journal,
    wake: Arc<Notify>,
    status: watch::Sender<LedgerStatus>,
    last_sync: Option<Timestamp>,
}

/// Why a session with the ledger ended.
enum Ended {
    /// The connection broke or the server went away: connect again with backoff.
    Lost(LedgerError),
    /// The ledger refused this desk or its stream: wait long, then try again.
    Refused(LedgerError),
}

impl Sync {
    async fn run(mut self) {
        let mut backoff = Duration::from_secs(1);
        loop {
            let ended = match Ledger::connect(&self.options).await {
                Ok(ledger) => {
                    tracing::info!(desk = %ledger.identity().desk_id, "connected to the branch ledger");
                    backoff = Duration::from_secs(1);
                    self.session(&ledger).await
                }
                Err(error) if error.is_transient() => Ended::Lost(error),
                Err(error) => Ended::Refused(error),
            };
            let wait = match ended {
                Ended::Lost(error) => {
                    tracing::warn!(%error, "the branch ledger is unreachable; changes wait in the journal");
                    self.publish(LedgerState::Unreachable, Some(error.kind()));
                    let wait = backoff;
                    backoff = (backoff * 2).min(LONGEST_BACKOFF);
                    wait
                }
                Ended::Refused(error) => {
                    tracing::error!(%error, kind = error.kind(), "the branch ledger refused this desk");
                    self.publish(LedgerState::Refused, Some(error.kind()));
                    REFUSED_RETRY
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Pushes the outbox for as long as the connection lasts.
    async fn session(&mut self, ledger: &Ledger) -> Ended {
        let mut acked = match self.resume(ledger).await {
            Ok(acked) => acked,
            Err(ended) => return ended,
        };
        let mut last_heartbeat = tokio::time::Instant::now();
        loop {
            let batch = match self
                .journal_call(move |j| j.outbox_after(acked, BATCH))
                .await
            {
                Ok(batch) => batch,
                Err(error) => {
                    tracing::error!(%error, "the journal's outbox cannot be read");
                    tokio::time::sleep(POLL).await;
                    continue;
                }
            };
            if batch.is_empty() {
                if last_heartbeat.elapsed() >= HEARTBEAT || self.last_sync.is_none() {
                    if let Err(error) = ledger.append(&[]).await {
                        return ended(error);
                    }
                    last_heartbeat = tokio::time::Instant::now();
                    self.last_sync = Some(Timestamp::now());
                }
                self.publish(LedgerState::UpToDate, None);
                tokio::select! {
                    () = self.wake.notified() => {}
                    () = tokio::time::sleep(POLL) => {}
                }
                continue;
            }
            self.publish(LedgerState::Waiting, None);
            let events: Vec<Event> = batch.iter().map(to_ledger_event).collect();
            match ledger.append(&events).await {
                Ok(seq) => {
                    acked = seq;
                    last_heartbeat = tokio::time::Instant::now();
                    self.last_sync = Some(Timestamp::now());
                    if let Err(error) = self.journal_call(move |j| j.outbox_ack(seq)).await {
                        tracing::warn!(%error, "acknowledged changes could not leave the outbox yet");
                    }
                }
                Err(LedgerError::OutOfOrder(reason)) => {
                    tracing::warn!(%reason, "the ledger expects another sequence number; resuming");
                    match self.resume(ledger).await {
                        Ok(resumed) => acked = resumed,
                        Err(ended) => return ended,
                    }
                }
                Err(error) => return ended(error),
            }
        }
    }

    /// Where the stream resumes: what the ledger holds leaves the outbox; a journal that starts
    /// below it (a reinstalled desk) continues after it.
    async fn resume(&mut self, ledger: &Ledger) -> Result<i64, Ended> {
        let held = ledger.last_seq().await.map_err(ended)?;
        let backlog = self
            .journal_call(|j| j.outbox_backlog())
            .await
            .map_err(|e| Ended::Lost(LedgerError::Database(e.to_string())))?;
        if backlog.last_seq < held {
            tracing::warn!(
                held,
                queued = backlog.last_seq,
                "this desk's journal is behind the ledger (reinstalled?): numbering continues after the ledger"
            );
            self.journal_call(move |j| j.outbox_continue_after(held))
                .await
                .map_err(|e| Ended::Lost(LedgerError::Database(e.to_string())))?;
        }
        self.journal_call(move |j| j.outbox_ack(held))
            .await
            .map_err(|e| Ended::Lost(LedgerError::Database(e.to_string())))?;
        Ok(held)
    }

    fn publish(&self, state: LedgerState, problem: Option<&str>) {
        let backlog = self.journal.outbox_backlog().ok();
        let status = LedgerStatus {
            state,
            waiting: backlog
                .map(|b| u32::try_from(b.count).unwrap_or(u32::MAX))
                .unwrap_or(0),
            waiting_since: backlog.and_then(|b| b.oldest).map(|t| t.as_millis() as f64),
            last_sync: self.last_sync.map(|t| t.as_millis() as f64),
            problem: problem.map(str::to_owned),
        };
        self.status.send_if_modified(|current| {
            let changed = *current != status;
            *current = status;
            changed
        });
    }

    async fn journal_call<T: Send + 'static>(
        &self,
        call: impl FnOnce(&Journal) -> order_journal::Result<T> + Send + 'static,
    ) -> order_journal::Result<T> {
        let journal = self.journal.clone();
        match tokio::task::spawn_blocking(move || call(&journal)).await {
            Ok(result) => result,
            Err(error) => Err(order_journal::JournalError::Export(error.to_string())),
        }
    }
}

fn ended(error: LedgerError) -> Ended {
    if error.is_transient() {
        Ended::Lost(error)
    } else {
        Ended::Refused(error)
    }
}

/// The ledger's form of one queued change.
fn to_ledger_event(e: &OutboxEvent) -> Event {
    if let Some(spoiled) = &e.spoiled {
        return Event::spoiled(
            e.seq,
            e.at,
            &e.card_id,
            &e.operator,
            branch_ledger::Spoiled {
                state: e.state,
                reason_code: spoiled.reason_code.clone(),
                pan_last4: spoiled.pan_last4,
            },
        );
    }
    match &e.intent {
        Some(intent) => {
            let event = Event::intent(
                e.seq,
                e.at,
                &order_journal::NewOrder {
                    operator: e.operator.clone(),
                    consumer_id: intent.consumer_id.clone(),
                    product_id: intent.product_id.clone(),
                    station_id: intent.station_id.clone(),
                    issuance_type: intent.issuance_type.clone(),
                    pan_last4: intent.pan_last4,
                    card_id: e.card_id.clone(),
                    issuer_request_id: intent.issuer_request_id.clone(),
                    correlation_id: intent.correlation_id.clone(),
                },
            );
            match &intent.reissue_of {
                Some(original) => event.reissuing(original),
                None => event,
            }
        }
        None => Event::transition(e.seq, e.at, &e.card_id, &e.operator, e.state).with(
            |t: &mut Transition| {
                t.d1_status = e.d1_status.clone();
                t.operation_id = e.operation_id.clone();
                t.error_code = e.error_code.clone();
                t.error_message = e.error_message.clone();
                t.detail = e.detail.clone();
            },
        ),
    }
}

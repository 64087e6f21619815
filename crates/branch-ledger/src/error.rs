//! The crate's one error type, and how PostgreSQL's answers map onto it.
//!
//! Messages are for people. They never repeat a refused value (it could be card data typed in the
//! wrong box) and never include the server's `DETAIL` (PostgreSQL echoes the failing row there).

use std::error::Error as _;

use tokio_postgres::error::SqlState;

/// Everything the ledger can refuse or fail at.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The connection settings cannot be used (a PEM that does not parse, an empty host, an id
    /// that breaks the rules). Fix the configuration; retrying does not help.
    #[error("the ledger settings are not usable: {0}")]
    Settings(String),

    /// The server could not be reached or the connection broke (DNS, refused, timeout, server
    /// restarting, too many connections). Transient: retry with backoff.
    #[error("the ledger could not be reached: {0}")]
    Unreachable(String),

    /// TLS failed: the server's certificate is not trusted or not for this host, or the handshake
    /// was refused. Check the CA bundle and the host name.
    #[error("the TLS connection to the ledger failed: {0}")]
    Tls(String),

    /// The server did not accept this session's certificate for the role (CN ≠ role, unknown CA,
    /// no such role, or no `hostssl … cert` line for this client).
    #[error("the ledger refused these credentials: {0}")]
    Unauthorized(String),

    /// The session is not an active desk of this ledger (LD001): register it with
    /// `issuance-desk-admin ledger add-desk`.
    #[error("{0}")]
    NotADesk(String),

    /// The server refused an action this role may not take (SQLSTATE 42501), e.g. a desk trying
    /// to change history.
    #[error("the ledger refused: {0}")]
    Forbidden(String),

    /// An event was refused before it was sent (or by the server, LD002). The value is never
    /// repeated.
    #[error("event {seq} was refused: {field}: {reason}")]
    InvalidEvent {
        /// The event's sequence number (0 when the batch itself is wrong).
        seq: i64,
        /// Which field.
        field: &'static str,
        /// Why, in plain words.
        reason: String,
    },

    /// A replayed sequence number carries different content than the ledger holds (LD003). A
    /// person must look at the desk's outbox: retrying the same batch cannot succeed.
    #[error("{0}")]
    Conflict(String),

    /// An event skips ahead of the next sequence number the ledger expects (LD004): events are
    /// missing. Resend from `last_seq + 1` (see [`crate::Ledger::desk_sync_state`]).
    #[error("{0}")]
    OutOfOrder(String),

    /// An intent for a card id the branch already has (LD005).
    #[error("{0}")]
    DuplicateOrder(String),

    /// A transition for an order the branch does not have (LD006): its intent was never
    /// appended, or the order belongs to another branch.
    #[error("{0}")]
    UnknownOrder(String),

    /// History rows cannot be changed (LD007).
    #[error("{0}")]
    AppendOnly(String),

    /// A counter workflow step broke one of the ledger's rules (LD008–LD018): a person asked
    /// for something the branch's procedure forbids. Not transient; `rule` says which.
    #[error("{message}")]
    Refused {
        /// Which rule.
        rule: Rule,
        /// The ledger's words (never a refused value).
        message: String,
    },

    /// A query parameter was refused.
    #[error("the order search was refused: {0}")]
    InvalidQuery(String),

    /// No order with this card id in the branches this session sees.
    #[error("no order with card id {card_id} in branch {branch_id} (or not visible to this desk)")]
    NotFound {
        /// The branch searched.
        branch_id: String,
        /// The card id searched.
        card_id: String,
    },

    /// The ledger's schema is missing or older than this build: run
    /// `issuance-desk-admin ledger migrate`.
    #[error("the ledger's schema is not ready: {0}")]
    Schema(String),

    /// Any other failure of the database.
    #[error("the ledger failed: {0}")]
    Database(String),
}

impl LedgerError {
    /// Whether retrying later (with backoff) may succeed: the server was unreachable, restarting,
    /// overloaded, or a transaction was chosen as a deadlock victim. Refusals are not transient.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unreachable(_))
    }

    /// A stable short name of the variant, for logs and the app's error kinds.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Settings(_) => "settings",
            Self::Unreachable(_) => "unreachable",
            Self::Tls(_) => "tls",
            Self::Unauthorized(_) => "unauthorized",
            Self::NotADesk(_) => "not_a_desk",
            Self::Forbidden(_) => "forbidden",
            Self::InvalidEvent { .. } => "invalid_event",
            Self::Conflict(_) => "conflict",
            Self::OutOfOrder(_) => "out_of_order",
            Self::DuplicateOrder(_) => "duplicate_order",
            Self::UnknownOrder(_) => "unknown_order",
            Self::AppendOnly(_) => "append_only",
            Self::Refused { rule, .. } => rule.code(),
            Self::InvalidQuery(_) => "invalid_query",
            Self::NotFound { .. } => "not_found",
            Self::Schema(_) => "schema",
            Self::Database(_) => "database",
        }
    }
}

/// The counter workflow rules the ledger enforces, one SQLSTATE each (migration V5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    /// LD008: the approver is the person who asked for the approval.
    SelfApproval,
    /// LD009: the approval request has expired.
    Expired,
    /// LD010: the approval request was already decided (or canceled).
    AlreadyDecided,
    /// LD011: no such approval request in this desk's branch (or not this desk's to cancel).
    NoRequest,
    /// LD012: only a finished order (done or failed) can be reported spoiled.
    NotFinished,
    /// LD013: the card was already reported spoiled.
    AlreadySpoiled,
    /// LD014: a reissue must replace a spoiled order of the same branch.
    NotSpoiled,
    /// LD015: a done order is not an exception.
    NotAnException,
    /// LD016: the exception has been resolved.
    Resolved,
    /// LD017: only the person who took the exception can resolve it.
    NotOwner,
    /// LD018: the order's approval request was not approved for this desk.
    NotApproved,
}

impl Rule {
    /// The rule of one of the ledger's SQLSTATEs.
    pub fn from_sqlstate(code: &str) -> Option<Self> {
        Some(match code {
            "LD008" => Self::SelfApproval,
            "LD009" => Self::Expired,
            "LD010" => Self::AlreadyDecided,
            "LD011" => Self::NoRequest,
            "LD012" => Self::NotFinished,
            "LD013" => Self::AlreadySpoiled,
            "LD014" => Self::NotSpoiled,
            "LD015" => Self::NotAnException,
            "LD016" => Self::Resolved,
            "LD017" => Self::NotOwner,
            "LD018" => Self::NotApproved,
            _ => return None,
        })
    }

    /// A stable short name (the app's error kind for the window's words).
    pub fn code(self) -> &'static str {
        match self {
            Self::SelfApproval => "self_approval",
            Self::Expired => "expired",
            Self::AlreadyDecided => "already_decided",
            Self::NoRequest => "no_request",
            Self::NotFinished => "not_finished",
            Self::AlreadySpoiled => "already_spoiled",
            Self::NotSpoiled => "not_spoiled",
            Self::NotAnException => "not_an_exception",
            Self::Resolved => "resolved",
            Self::NotOwner => "not_owner",
            Self::NotApproved => "not_approved",
        }
    }
}

/// Shorthand used throughout the crate.
pub type Result<T, E = LedgerError> = std::result::Result<T, E>;

impl From<tokio_postgres::Error> for LedgerError {
    fn from(e: tokio_postgres::Error) -> Self {
        classify(&e)
    }
}

/// Maps a driver error onto a variant. Server errors are mapped by SQLSTATE; the message of our
/// own LDxxx errors is written by the ledger's functions (sequence numbers, never values).
pub(crate) fn classify(e: &tokio_postgres::Error) -> LedgerError {
    if let Some(db) = e.as_db_error() {
        let message = db.message().to_owned();
        let code = db.code().code();
        if let Some(rule) = Rule::from_sqlstate(code) {
            return LedgerError::Refused { rule, message };
        }
        return match code {
            "LD001" => LedgerError::NotADesk(message),
            "LD002" => LedgerError::InvalidEvent {
                seq: 0,
                field: "events",
                reason: message,
            },
            "LD003" => LedgerError::Conflict(message),
            "LD004" => LedgerError::OutOfOrder(message),
            "LD005" => LedgerError::DuplicateOrder(message),
            "LD006" => LedgerError::UnknownOrder(message),
            "LD007" => LedgerError::AppendOnly(message),
            _ => classify_sqlstate(db.code(), db.constraint(), message),
        };
    }
    if let Some(tls) = find_source::<rustls::Error>(e) {
        return LedgerError::Tls(tls_message(tls));
    }
    if e.is_closed() {
        return LedgerError::Unreachable("the connection to the ledger is closed".to_owned());
    }
    let text = e.to_string();
    if text.contains("TLS") || text.contains("tls") {
        return LedgerError::Tls(text);
    }
    LedgerError::Unreachable(full_message(e))
}

fn classify_sqlstate(code: &SqlState, constraint: Option<&str>, message: String) -> LedgerError {
    let class = &code.code()[..2];
    if *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        || *code == SqlState::INVALID_PASSWORD
        || class == "28"
    {
        return LedgerError::Unauthorized(message);
    }
    if *code == SqlState::INSUFFICIENT_PRIVILEGE {
        return LedgerError::Forbidden(message);
    }
    if *code == SqlState::CHECK_VIOLATION || *code == SqlState::NOT_NULL_VIOLATION {
        // The server's own line of defence (the desk validates first): name the rule, never the
        // row (PostgreSQL's DETAIL quotes it).
        return LedgerError::InvalidEvent {
            seq: 0,
            field: "event",
            reason: format!(
                "breaks the ledger's rule {}",
                constraint.unwrap_or("(unnamed)")
            ),
        };
    }
    if class == "22" {
        return LedgerError::InvalidEvent {
            seq: 0,
            field: "event",
            reason: "has a value of the wrong type or out of range".to_owned(),
        };
    }
    if *code == SqlState::UNDEFINED_FUNCTION
        || *code == SqlState::UNDEFINED_TABLE
        || *code == SqlState::INVALID_SCHEMA_NAME
    {
        return LedgerError::Schema(format!(
            "{message}; run `issuance-desk-admin ledger migrate` as the DBA"
        ));
    }
    if *code == SqlState::INVALID_CATALOG_NAME {
        return LedgerError::Settings(message);
    }
    // Connection exceptions, shutdown, too many connections, deadlock and serialization failures,
    // statement timeout, out of memory or disk: try again later.
    if matches!(class, "08" | "53" | "57" | "40" | "58")
        || *code == SqlState::QUERY_CANCELED
        || *code == SqlState::LOCK_NOT_AVAILABLE
    {
        return LedgerError::Unreachable(message);
    }
    LedgerError::Database(message)
}

fn find_source<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(found) = err.downcast_ref::<T>() {
            return Some(found);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(found) = inner.downcast_ref::<T>()
        {
            return Some(found);
        }
        current = err.source();
    }
    None
}

fn tls_message(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(why) => format!(
            "the ledger server's certificate was not accepted ({why:?}): check ledger.ca_bundle \
             and that ledger.host is a name or address in the server's certificate"
        ),
        rustls::Error::AlertReceived(alert) => format!(
            "the server refused the handshake ({alert:?}): it may not trust this desk's \
             certificate (issued by another CA?)"
        ),
        other => other.to_string(),
    }
}

fn full_message(e: &tokio_postgres::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

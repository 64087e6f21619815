//! A desk's session: who it is, appending its events, and where every visible desk stands.

use std::sync::Arc;

use tokio_postgres::Client;

use crate::connect::{ConnectOptions, open_client};
use crate::error::{LedgerError, Result};
use crate::event::{Event, batch_to_wire};
use crate::ids::{BranchId, DeskId, DeskKind, RegionId};
use crate::types::{DeskIdentity, SYNC_QUERY, SyncReport, sync_report, to_timestamp};

/// A desk's connection to the ledger. `Clone` and internally synchronized (queries are
/// pipelined on one connection): share it, don't wrap it in a Mutex. When the connection breaks
/// every call returns [`LedgerError::Unreachable`]; connect again (with backoff).
#[derive(Clone)]
pub struct Ledger {
    pub(crate) client: Arc<Client>,
    identity: Arc<DeskIdentity>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("desk", &self.identity.desk_id)
            .field("branch", &self.identity.branch_id)
            .finish()
    }
}

impl Ledger {
    /// Connects as a desk (TLS verify-full against `options.ca_pem`, the desk's certificate) and
    /// checks that the role is an active desk of this ledger and the schema is there.
    ///
    /// Errors: [`LedgerError::Settings`] (PEM, empty fields), [`LedgerError::Unreachable`]
    /// (transient), [`LedgerError::Tls`], [`LedgerError::Unauthorized`],
    /// [`LedgerError::Schema`] (run `ledger migrate`), [`LedgerError::NotADesk`] (run
    /// `ledger add-desk`).
    pub async fn connect(options: &ConnectOptions) -> Result<Self> {
        let client = open_client(options).await?;
        let identity = whoami(&client).await?.ok_or_else(|| {
            LedgerError::NotADesk(format!(
                "the role {} is not an active desk of this ledger: register it with \
                 `issuance-desk-admin ledger add-desk`",
                options.user
            ))
        })?;
        Ok(Self {
            client: Arc::new(client),
            identity: Arc::new(identity),
        })
    }

    /// This desk: branch, desk id, region, kind, role.
    pub fn identity(&self) -> &DeskIdentity {
        &self.identity
    }

    /// Whether the connection has broken (then connect again).
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Appends `events` (this desk's, in order, `seq` consecutive) in one transaction and returns
    /// the highest sequence number the ledger now holds for this desk: everything up to it is
    /// acknowledged and can leave the outbox.
    ///
    /// Idempotent: events the ledger already has are compared and skipped, so resending after a
    /// lost answer is safe. An empty slice records a sync (heartbeat: "this desk is up to date").
    /// Refusals: [`LedgerError::InvalidEvent`] (before sending), [`LedgerError::Conflict`] (same
    /// seq, other content), [`LedgerError::OutOfOrder`] (a gap: resend from
    /// [`Ledger::last_seq`] + 1), [`LedgerError::DuplicateOrder`], [`LedgerError::UnknownOrder`].
    /// The desk's identity comes from its login, never from the events.
    pub async fn append(&self, events: &[Event]) -> Result<i64> {
        let wire = batch_to_wire(events)?;
        let row = self
            .client
            .query_one(
                "SELECT acked_seq, first_new FROM ledger.append_events($1::jsonb)",
                &[&wire],
            )
            .await?;
        let acked: i64 = row.try_get(0)?;
        let first_new: Option<i64> = row.try_get(1)?;
        // Listeners are told in a transaction of its own (see ledger.announce), and only of new
        // events. The events are in the ledger whatever happens here: a failed announcement only
        // delays live updates until the next one or the screen's own refresh.
        if let Some(first) = first_new
            && let Err(e) = self
                .client
                .execute("SELECT ledger.announce($1, $2)", &[&first, &acked])
                .await
        {
            tracing::warn!(error = %LedgerError::from(e), "ledger: appended, but listeners were not told");
        }
        Ok(acked)
    }

    /// The branches this desk may read (its own; a regional desk's region), or just `only` when
    /// it is one of them (empty when it is not).
    pub(crate) async fn visible_branches(&self, only: Option<&BranchId>) -> Result<Vec<String>> {
        let row = self
            .client
            .query_one("SELECT ledger.my_branches()", &[])
            .await?;
        let mut branches: Vec<String> = row.try_get(0)?;
        branches.sort();
        if let Some(only) = only {
            branches.retain(|b| b == only.as_str());
        }
        Ok(branches)
    }

    /// The highest sequence number of this desk the ledger holds (0: none): where the outbox
    /// resumes after a restart or an [`LedgerError::OutOfOrder`].
    pub async fn last_seq(&self) -> Result<i64> {
        let row = self
            .client
            .query_opt(
                "SELECT last_seq FROM ledger.desk_sync WHERE branch_id = $1 AND desk_id = $2",
                &[
                    &self.identity.branch_id.as_str(),
                    &self.identity.desk_id.as_str(),
                ],
            )
            .await?;
        match row {
            Some(r) => Ok(r.try_get(0)?),
            None => Ok(0),
        }
    }

    /// Every desk this desk sees (its branch; a regional desk's region) with its last sequence
    /// number, last event and last sync, and the server's time: "each desk's last sync", so a
    /// stale desk is never presented as current.
    pub async fn desk_sync_state(&self) -> Result<SyncReport> {
        read_sync_report(&self.client).await
    }
}

pub(crate) async fn read_sync_report(client: &Client) -> Result<SyncReport> {
    let rows = client.query(SYNC_QUERY, &[]).await?;
    let mut report = sync_report(&rows)?;
    if rows.is_empty() {
        let now = client.query_one("SELECT now()", &[]).await?;
        report.server_time = to_timestamp(now.try_get(0)?);
    }
    Ok(report)
}

async fn whoami(client: &Client) -> Result<Option<DeskIdentity>> {
    let row = client
        .query_opt(
            "SELECT branch_id, desk_id, region_id, kind, role_name FROM ledger.whoami()",
            &[],
        )
        .await?;
    let Some(r) = row else { return Ok(None) };
    let region: Option<String> = r.try_get(2)?;
    let kind: String = r.try_get(3)?;
    Ok(Some(DeskIdentity {
        branch_id: BranchId::from_server(r.try_get(0)?),
        desk_id: DeskId::from_server(r.try_get(1)?),
        region_id: region.map(RegionId::from_server),
        kind: DeskKind::from_server(&kind),
        role_name: r.try_get(4)?,
    }))
}

//! The DBA's side: creating and upgrading the schema, registering desks, and the ledger's health.
//!
//! The DBA's role needs `CREATEROLE` (desk roles, the `ledger_owner` and `ledger_desk` groups)
//! and must own the database (it revokes PUBLIC's access to it). See DEPLOYMENT.md.

use serde::Serialize;
use tokio_postgres::Client;

use crate::connect::{ConnectOptions, open_client};
use crate::desk::read_sync_report;
use crate::error::{LedgerError, Result};
use crate::ids::{BranchId, DeskId, DeskKind, RegionId, quote_ident};
use crate::types::SyncReport;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// The runner's bookkeeping table (in the database's `public` schema).
pub const SCHEMA_HISTORY_TABLE: &str = "ledger_schema_history";

/// The group role of every desk's login role.
pub const DESK_GROUP_ROLE: &str = "ledger_desk";

/// Key of the advisory lock that keeps two `migrate` runs apart.
const MIGRATE_LOCK: i64 = 0x6c65_6467_6572_0001;

/// The newest schema version this build carries (its highest migration number).
pub fn latest_schema_version() -> i64 {
    embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| i64::from(m.version()))
        .max()
        .unwrap_or(0)
}

/// What `migrate` did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MigrationReport {
    /// The migrations applied now (`V<n>__<name>`), oldest first; empty when up to date.
    pub applied: Vec<String>,
    /// The schema version after the run.
    pub version: i64,
}

/// A desk to register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDesk {
    /// The desk (unique across the bank).
    pub desk_id: DeskId,
    /// Its branch (created when new).
    pub branch_id: BranchId,
    /// The branch's region: sets it on a new branch or one without a region; must match a
    /// branch's existing region. A regional desk needs one.
    pub region_id: Option<RegionId>,
    /// Teller (its branch) or regional (its branch's region).
    pub kind: DeskKind,
}

/// The outcome of `add_desk`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeskRegistration {
    /// The desk.
    pub desk_id: DeskId,
    /// Its branch.
    pub branch_id: BranchId,
    /// The branch's region.
    pub region_id: Option<RegionId>,
    /// Teller or regional.
    pub kind: DeskKind,
    /// The login role, which must be the CN of the desk's client certificate.
    pub role_name: String,
    /// False when the desk was already registered exactly so (nothing changed).
    pub created: bool,
}

/// The ledger's health as the DBA sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LedgerStatus {
    /// `server_version` of PostgreSQL.
    pub server_version: String,
    /// Whether this session is encrypted (always, through this crate).
    pub tls: bool,
    /// The schema version recorded in the database (`None`: never migrated).
    pub schema_version: Option<i64>,
    /// The newest schema version this build carries.
    pub expected_schema_version: i64,
    /// The history's monthly partitions (`order_events_YYYY_MM`), oldest first.
    pub history_partitions: Vec<String>,
    /// Every desk: last sequence number, last event, last sync.
    pub sync: SyncReport,
}

/// The DBA's connection (its role needs `CREATEROLE` and owns the database).
pub struct LedgerAdmin {
    client: Client,
}

impl std::fmt::Debug for LedgerAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerAdmin").finish_non_exhaustive()
    }
}

fn schema_error(e: &refinery::Error) -> LedgerError {
    LedgerError::Schema(format!("the migration failed: {e}"))
}

impl LedgerAdmin {
    /// Connects with the DBA's certificate (TLS verify-full, `cert` authentication).
    pub async fn connect(options: &ConnectOptions) -> Result<Self> {
        Ok(Self {
            client: open_client(options).await?,
        })
    }

    /// Applies the migrations this build carries that the database lacks (each in its own
    /// transaction; a failed one is rolled back and stops the run), then makes sure the history
    /// has this month's and next month's partitions. Safe to run again; two runs at once wait
    /// for each other. A database changed by a newer build, or whose applied migrations differ
    /// from this build's, is refused.
    pub async fn migrate(&mut self) -> Result<MigrationReport> {
        self.client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATE_LOCK])
            .await?;
        let outcome = self.migrate_locked().await;
        let unlock = self
            .client
            .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATE_LOCK])
            .await;
        let report = outcome?;
        unlock?;
        Ok(report)
    }

    async fn migrate_locked(&mut self) -> Result<MigrationReport> {
        // A migration may rewrite a large table: no statement timeout for this session.
        self.client
            .batch_execute("SET statement_timeout = 0")
            .await?;
        let mut runner = embedded::migrations::runner()
            .set_abort_divergent(true)
            .set_abort_missing(true);
        runner.set_migration_table_name(SCHEMA_HISTORY_TABLE);
        // A database ahead of this build: refuse rather than run old code against it.
        let current = self.schema_version().await?;
        let latest = latest_schema_version();
        if let Some(found) = current
            && found > latest
        {
            return Err(LedgerError::Schema(format!(
                "the ledger's schema is version {found}, newer than this build's {latest}: use \
                 the newer issuance-desk-admin"
            )));
        }
        let report = runner
            .run_async(&mut self.client)
            .await
            .map_err(|e| schema_error(&e))?;
        self.client
            .batch_execute(
                "SELECT ledger.ensure_history_partition(now()); \
                 SELECT ledger.ensure_history_partition(now() + interval '1 month');",
            )
            .await?;
        let applied = report
            .applied_migrations()
            .iter()
            .map(|m| format!("V{}__{}", m.version(), m.name()))
            .collect();
        Ok(MigrationReport {
            applied,
            version: self.schema_version().await?.unwrap_or(0),
        })
    }

    /// The schema version recorded in the database (`None`: never migrated).
    pub async fn schema_version(&self) -> Result<Option<i64>> {
        let exists: bool = self
            .client
            .query_one(
                &format!("SELECT to_regclass('public.{SCHEMA_HISTORY_TABLE}') IS NOT NULL"),
                &[],
            )
            .await?
            .try_get(0)?;
        if !exists {
            return Ok(None);
        }
        let row = self
            .client
            .query_one(
                &format!("SELECT max(version)::bigint FROM public.{SCHEMA_HISTORY_TABLE}"),
                &[],
            )
            .await?;
        Ok(row.try_get(0)?)
    }

    /// Registers a desk: creates its branch (with the region) when new, its login role
    /// `desk_<desk id>` (LOGIN, no password, member of `ledger_desk` only: with the server's
    /// `hostssl … cert` line it can log in only with a certificate whose CN is that role), and
    /// its sync row. One transaction. Registering the same desk again changes nothing
    /// (`created = false`); a desk already registered differently is refused.
    pub async fn add_desk(&mut self, desk: &NewDesk) -> Result<DeskRegistration> {
        let role = desk.desk_id.role_name();
        let branch = desk.branch_id.as_str();
        let tx = self.client.transaction().await?;

        let existing: Option<Option<String>> = tx
            .query_opt(
                "SELECT region_id::text FROM ledger.branches WHERE branch_id = $1::text FOR UPDATE",
                &[&branch],
            )
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
        let wanted = desk.region_id.as_ref().map(|r| r.as_str().to_owned());
        let region = match (existing, wanted) {
            (None, wanted) => {
                tx.execute(
                    "INSERT INTO ledger.branches (branch_id, region_id) VALUES ($1::text, $2::text)",
                    &[&branch, &wanted],
                )
                .await?;
                wanted
            }
            (Some(Some(have)), Some(want)) if have != want => {
                return Err(LedgerError::Settings(format!(
                    "branch {branch} is in region {have}, not {want}"
                )));
            }
            (Some(None), Some(want)) => {
                tx.execute(
                    "UPDATE ledger.branches SET region_id = $2::text WHERE branch_id = $1::text",
                    &[&branch, &want],
                )
                .await?;
                Some(want)
            }
            (Some(have), _) => have,
        };
        if desk.kind == DeskKind::Regional && region.is_none() {
            return Err(LedgerError::Settings(format!(
                "a regional desk sees its branch's region, and branch {branch} has none: pass \
                 the region"
            )));
        }

        let registered = tx
            .query_opt(
                "SELECT branch_id::text, kind, retired_at IS NOT NULL FROM ledger.desks \
                 WHERE desk_id = $1::text",
                &[&desk.desk_id.as_str()],
            )
            .await?;
        if let Some(r) = registered {
            let (b, kind, retired): (String, String, bool) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            if b != branch || kind != desk.kind.as_str() || retired {
                return Err(LedgerError::Settings(format!(
                    "desk {} is already registered in branch {b} as a {kind} desk{}; desk ids \
                     are unique across the bank",
                    desk.desk_id,
                    if retired { " (retired)" } else { "" }
                )));
            }
            tx.commit().await?;
            return Ok(DeskRegistration {
                desk_id: desk.desk_id.clone(),
                branch_id: desk.branch_id.clone(),
                region_id: region.map(RegionId::from_server),
                kind: desk.kind,
                role_name: role,
                created: false,
            });
        }

        ensure_desk_role(&tx, &role).await?;
        tx.execute(
            "INSERT INTO ledger.desks (branch_id, desk_id, role_name, kind) \
             VALUES ($1::text, $2::text, $3::text, $4::text)",
            &[&branch, &desk.desk_id.as_str(), &role, &desk.kind.as_str()],
        )
        .await?;
        tx.execute(
            "INSERT INTO ledger.desk_sync (branch_id, desk_id) VALUES ($1::text, $2::text)",
            &[&branch, &desk.desk_id.as_str()],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(desk = %desk.desk_id, branch, kind = %desk.kind, "ledger desk registered");
        Ok(DeskRegistration {
            desk_id: desk.desk_id.clone(),
            branch_id: desk.branch_id.clone(),
            region_id: region.map(RegionId::from_server),
            kind: desk.kind,
            role_name: role,
            created: true,
        })
    }

    /// Reachability (this call got an answer), TLS, schema version against this build's, the
    /// history's partitions and every desk's sync position.
    pub async fn status(&self) -> Result<LedgerStatus> {
        let row = self
            .client
            .query_one(
                "SELECT current_setting('server_version'), \
                        coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)",
                &[],
            )
            .await?;
        let schema_version = self.schema_version().await?;
        let (history_partitions, sync) = if schema_version.is_some() {
            let parts = self
                .client
                .query(
                    "SELECT c.relname::text FROM pg_inherits AS i \
                     JOIN pg_class AS c ON c.oid = i.inhrelid \
                     WHERE i.inhparent = to_regclass('ledger.order_events') ORDER BY 1",
                    &[],
                )
                .await?
                .iter()
                .map(|r| r.try_get::<_, String>(0))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            (parts, read_sync_report(&self.client).await?)
        } else {
            let now = self.client.query_one("SELECT now()", &[]).await?;
            (
                Vec::new(),
                SyncReport {
                    server_time: crate::types::to_timestamp(now.try_get(0)?),
                    desks: Vec::new(),
                },
            )
        };
        Ok(LedgerStatus {
            server_version: row.try_get(0)?,
            tls: row.try_get(1)?,
            schema_version,
            expected_schema_version: latest_schema_version(),
            history_partitions,
            sync,
        })
    }
}

/// Creates the desk's login role, or checks an existing role has no power a desk must not have,
/// and makes it a member of `ledger_desk`.
async fn ensure_desk_role(tx: &tokio_postgres::Transaction<'_>, role: &str) -> Result<()> {
    let found = tx
        .query_opt(
            "SELECT r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolbypassrls \
                    OR r.rolreplication, \
                    EXISTS (SELECT 1 FROM pg_auth_members AS m JOIN pg_roles AS g ON g.oid = m.roleid \
                            WHERE m.member = r.oid AND g.rolname <> $2) \
             FROM pg_roles AS r WHERE r.rolname = $1",
            &[&role, &DESK_GROUP_ROLE],
        )
        .await?;
    let quoted = quote_ident(role);
    match found {
        None => {
            tx.batch_execute(&format!(
                "CREATE ROLE {quoted} LOGIN PASSWORD NULL IN ROLE {DESK_GROUP_ROLE}"
            ))
            .await?;
        }
        Some(r) => {
            let (powerful, other_groups): (bool, bool) = (r.try_get(0)?, r.try_get(1)?);
            if powerful || other_groups {
                return Err(LedgerError::Settings(format!(
                    "the role {role} already exists with privileges a desk must not have \
                     (superuser, CREATEROLE, CREATEDB, BYPASSRLS, REPLICATION or membership in \
                     other roles); choose another desk id or remove them"
                )));
            }
            tx.batch_execute(&format!("GRANT {DESK_GROUP_ROLE} TO {quoted}"))
                .await?;
        }
    }
    Ok(())
}

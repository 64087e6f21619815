//! `ledger migrate`, `ledger add-desk`, `ledger status`: the DBA's commands for the branch ledger.
//!
//! Where the ledger is comes from the `[ledger]` section of the configuration (host, port,
//! database, CA bundle), each overridable on the command line (a DBA's workstation is not a
//! desk). These commands run as the DBA's role, whose certificate and key are given as files
//! (`--admin-cert`, `--admin-key`): the DBA holds them, not the desk's keychain. The key is read
//! into memory that is wiped after use and never printed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use branch_ledger::{
    BranchId, ClientIdentity, ConnectOptions, DeskId, DeskKind, LedgerAdmin, LedgerError,
    LedgerStatus, NewDesk, RegionId,
};
use clap::{Args, Subcommand};
use desk_config::{Config, ConfigSources};
use zeroize::Zeroizing;

use crate::error::{AdminError, Outcome};
use crate::output::line;

/// The DBA's role when `--admin-user` is not given.
pub const DEFAULT_ADMIN_USER: &str = "ledger_admin";

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Create or upgrade the ledger's schema (run once per release, as the DBA's role).
    Migrate(AdminArgs),
    /// Register a desk: its branch (and region), its login role desk_<DESK> (the CN its client
    /// certificate must carry) and its sync row.
    AddDesk(AddDeskArgs),
    /// Reachability, TLS, schema version and each desk's last sync.
    Status(StatusArgs),
}

/// How to reach the ledger as the DBA.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// The DBA's client certificate (PEM; its CN is the DBA's role).
    #[arg(long, value_name = "FILE")]
    pub admin_cert: PathBuf,
    /// The DBA's private key (PEM). Read, used, wiped; never stored by this command.
    #[arg(long, value_name = "FILE")]
    pub admin_key: PathBuf,
    /// The DBA's role (the certificate's CN).
    #[arg(long, value_name = "ROLE", default_value = DEFAULT_ADMIN_USER)]
    pub admin_user: String,
    /// Ledger host (default: ledger.host of the configuration).
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Ledger port (default: ledger.port, else 5432).
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// Database (default: ledger.dbname, else ledger).
    #[arg(long, value_name = "NAME")]
    pub dbname: Option<String>,
    /// CA certificate(s) of the server, PEM (default: ledger.ca_bundle).
    #[arg(long, value_name = "FILE")]
    pub ca_bundle: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct AddDeskArgs {
    /// The desk id (1–40 of A-Z a-z 0-9 _ -, unique across the bank).
    #[arg(value_name = "DESK")]
    pub desk: String,
    /// The desk's branch (created when new).
    #[arg(long, value_name = "BRANCH")]
    pub branch: String,
    /// The branch's region (set on a new branch, or checked against an existing one).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// A regional desk: it sees every branch of its branch's region.
    #[arg(long)]
    pub regional: bool,
    #[command(flatten)]
    pub admin: AdminArgs,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print the status as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub admin: AdminArgs,
}

pub fn run(command: &LedgerCommand) -> Outcome {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| AdminError::Failed(format!("cannot start the async runtime: {e}")))?;
    match command {
        LedgerCommand::Migrate(admin) => runtime.block_on(migrate(admin)),
        LedgerCommand::AddDesk(args) => runtime.block_on(add_desk(args)),
        LedgerCommand::Status(args) => runtime.block_on(status(args)),
    }
}

/// The ledger's errors as exit codes: unreachable / TLS / credentials refused → 6, bad input → 2,
/// everything else → 1.
fn ledger_error(e: LedgerError) -> AdminError {
    match e {
        LedgerError::Unreachable(_) | LedgerError::Tls(_) | LedgerError::Unauthorized(_) => {
            AdminError::Ledger(e.to_string())
        }
        other => AdminError::Failed(other.to_string()),
    }
}

fn read_text(what: &str, path: &Path) -> Result<Zeroizing<String>, AdminError> {
    std::fs::read_to_string(path)
        .map(Zeroizing::new)
        .map_err(|e| AdminError::Failed(format!("cannot read the {what} {}: {e}", path.display())))
}

/// The connection options: command line, else the configuration's `[ledger]`.
fn options(args: &AdminArgs) -> Result<ConnectOptions, AdminError> {
    // The configuration is only needed for what the command line does not give.
    let needs_config = args.host.is_none() || args.ca_bundle.is_none();
    let ledger = if needs_config {
        Config::load(&ConfigSources::from_process())
            .map_err(|e| {
                AdminError::Config(format!(
                    "{e}\nRun `issuance-desk-admin config check` for the files and variables read."
                ))
            })?
            .config
            .ledger
    } else {
        desk_config::LedgerConfig::default()
    };
    let host = args.host.clone().or(ledger.host.clone()).ok_or_else(|| {
        AdminError::Config(
            "no ledger is configured: set [ledger] host in the machine-wide configuration, or \
             pass --host"
                .into(),
        )
    })?;
    let ca_path = args
        .ca_bundle
        .clone()
        .or(ledger.ca_bundle.clone())
        .ok_or_else(|| {
            AdminError::Config(
                "the ledger's CA bundle is not configured: set ledger.ca_bundle, or pass \
                 --ca-bundle"
                    .into(),
            )
        })?;
    let port = match args.port {
        Some(p) => p,
        None => u16::try_from(ledger.port)
            .map_err(|_| AdminError::Config("ledger.port must be 1 to 65535".into()))?,
    };
    if port == 0 {
        return Err(AdminError::Usage("--port must be 1 to 65535".into()));
    }
    let dbname = args.dbname.clone().unwrap_or(ledger.dbname.clone());
    let ca = read_text("CA bundle", &ca_path)?;
    let cert = read_text("certificate", &args.admin_cert)?;
    let key = read_text("private key", &args.admin_key)?;
    let mut options = ConnectOptions::new(
        host,
        port,
        dbname,
        &args.admin_user,
        ca.as_str(),
        ClientIdentity::new(cert.as_str(), key),
    );
    options.connect_timeout = Duration::from_secs(u64::from(ledger.connect_timeout_seconds));
    options.application_name = "issuance-desk-admin".into();
    Ok(options)
}

async fn connect(args: &AdminArgs) -> Result<(LedgerAdmin, ConnectOptions), AdminError> {
    let options = options(args)?;
    let admin = LedgerAdmin::connect(&options).await.map_err(ledger_error)?;
    Ok((admin, options))
}

async fn migrate(args: &AdminArgs) -> Outcome {
    let (mut admin, options) = connect(args).await?;
    let report = admin.migrate().await.map_err(ledger_error)?;
    if report.applied.is_empty() {
        line(format!(
            "The ledger {} on {}:{} is up to date (schema version {}).",
            options.dbname, options.host, options.port, report.version
        ));
    } else {
        line(format!(
            "Applied {} to the ledger {} on {}:{}; schema version {}.",
            report.applied.join(", "),
            options.dbname,
            options.host,
            options.port,
            report.version
        ));
    }
    tracing::info!(applied = ?report.applied, version = report.version, "ledger migrated");
    Ok(())
}

fn usage<T>(result: Result<T, LedgerError>, option: &str) -> Result<T, AdminError> {
    result.map_err(|_| {
        AdminError::Usage(format!(
            "{option} must be 1 to 40 characters among A-Z a-z 0-9 _ -"
        ))
    })
}

async fn add_desk(args: &AddDeskArgs) -> Outcome {
    let desk = NewDesk {
        desk_id: usage(DeskId::parse(&args.desk), "DESK")?,
        branch_id: usage(BranchId::parse(&args.branch), "--branch")?,
        region_id: args
            .region
            .as_deref()
            .map(|r| usage(RegionId::parse(r), "--region"))
            .transpose()?,
        kind: if args.regional {
            DeskKind::Regional
        } else {
            DeskKind::Teller
        },
    };
    let (mut admin, _) = connect(&args.admin).await?;
    let registration = admin.add_desk(&desk).await.map_err(ledger_error)?;
    let region = registration
        .region_id
        .as_ref()
        .map(|r| format!(" (region {r})"))
        .unwrap_or_default();
    line(format!(
        "{} {} desk {} in branch {}{}.",
        if registration.created {
            "Registered"
        } else {
            "Already registered:"
        },
        registration.kind,
        registration.desk_id,
        registration.branch_id,
        region
    ));
    line(format!(
        "Its login role is {}: issue the desk a client certificate with CN={} from the ledger's \
         CA, and import it into the desk's keychain.",
        registration.role_name, registration.role_name
    ));
    Ok(())
}

async fn status(args: &StatusArgs) -> Outcome {
    let (admin, options) = connect(&args.admin).await?;
    let status = admin.status().await.map_err(ledger_error)?;
    if args.json {
        let text = serde_json::to_string_pretty(&status)
            .map_err(|e| AdminError::Failed(format!("cannot print the status: {e}")))?;
        line(text);
    } else {
        print_status(&status, &options);
    }
    match status.schema_version {
        Some(v) if v == status.expected_schema_version => Ok(()),
        Some(v) if v > status.expected_schema_version => Ok(()),
        Some(v) => Err(AdminError::Failed(format!(
            "the ledger's schema is version {v}, this build expects {}: run `issuance-desk-admin \
             ledger migrate`",
            status.expected_schema_version
        ))),
        None => Err(AdminError::Failed(
            "the ledger has no schema yet: run `issuance-desk-admin ledger migrate`".into(),
        )),
    }
}

fn print_status(status: &LedgerStatus, options: &ConnectOptions) {
    line(format!(
        "ledger      {}:{} database {} (PostgreSQL {}, {})",
        options.host,
        options.port,
        options.dbname,
        status.server_version,
        if status.tls { "TLS" } else { "NOT ENCRYPTED" }
    ));
    line(format!(
        "schema      version {} (this build: {})",
        status
            .schema_version
            .map_or_else(|| "none".to_owned(), |v| v.to_string()),
        status.expected_schema_version
    ));
    line(format!(
        "history     {} monthly partition(s){}",
        status.history_partitions.len(),
        status
            .history_partitions
            .last()
            .map(|p| format!(", newest {p}"))
            .unwrap_or_default()
    ));
    line(format!(
        "server time {}",
        status.sync.server_time.to_rfc3339()
    ));
    if status.sync.desks.is_empty() {
        line("desks       none registered (issuance-desk-admin ledger add-desk)");
        return;
    }
    line(format!(
        "{:<12} {:<24} {:<9} {:>10}  {:<26} last sync",
        "branch", "desk", "kind", "last seq", "last event"
    ));
    for desk in &status.sync.desks {
        let since = status
            .sync
            .since_last_sync_ms(desk)
            .map_or_else(|| "never".to_owned(), |ms| format!("{} ago", human(ms)));
        line(format!(
            "{:<12} {:<24} {:<9} {:>10}  {:<26} {}",
            desk.branch_id,
            desk.desk_id,
            desk.kind,
            desk.last_seq,
            desk.last_event_at
                .map_or_else(|| "-".to_owned(), |t| t.to_rfc3339()),
            since
        ));
    }
}

/// `95 s`, `12 min`, `3 h`, `4 d`.
fn human(ms: i64) -> String {
    let s = ms / 1000;
    match s {
        0..=119 => format!("{s} s"),
        120..=7_199 => format!("{} min", s / 60),
        7_200..=172_799 => format!("{} h", s / 3600),
        _ => format!("{} d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_say_them() {
        assert_eq!(human(0), "0 s");
        assert_eq!(human(119_999), "119 s");
        assert_eq!(human(120_000), "2 min");
        assert_eq!(human(7_200_000), "2 h");
        assert_eq!(human(172_800_000), "2 d");
    }
}

//! `issuance-desk-admin`: the IT command line of Issuance Desk. See DEPLOYMENT.md.
//!
//! A library so that the app binary can serve it too ([`invoked_as_admin`]): on Linux the
//! package installs `issuance-desk-admin` as a link to `issuance-desk`, so the code ships once.
//! The `issuance-desk-admin` binary of this crate is the same CLI on its own (Windows: the app
//! is a GUI binary without a console).

mod cmd;
mod error;
mod output;

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cmd::config::ConfigCommand;
use cmd::doctor::DoctorArgs;
use cmd::journal::JournalCommand;
use cmd::ledger::LedgerCommand;
use cmd::secrets::SecretsCommand;
use desk_config::{Config, ConfigSources, LogLevel};
use error::{AdminError, EXIT_CODES_HELP};

#[derive(Debug, Parser)]
#[command(
    name = "issuance-desk-admin",
    version,
    about = "Issuance Desk administration: configuration, keychain credentials, connectivity check, journal export, branch ledger",
    after_help = EXIT_CODES_HELP,
    propagate_version = true
)]
struct Cli {
    /// Use the development keychain namespace (issuance-desk-dev/...), like a development build
    /// of the app. The default follows this binary's build (release: issuance-desk/...).
    #[arg(long, global = true)]
    dev: bool,
    /// Also print logs on stderr (-v: the configured level, -vv: debug, -vvv: trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check the configuration (machine file, user file, environment variables).
    #[command(subcommand, after_help = EXIT_CODES_HELP)]
    Config(ConfigCommand),
    /// Manage the credentials in the OS keychain (signing key, mTLS identity).
    #[command(subcommand, after_help = EXIT_CODES_HELP)]
    Secrets(SecretsCommand),
    /// Check configuration, keychain, TLS and a real D1 token fetch (and a card's status).
    #[command(after_help = EXIT_CODES_HELP)]
    Doctor(DoctorArgs),
    /// Work with the order journal.
    #[command(subcommand, after_help = EXIT_CODES_HELP)]
    Journal(JournalCommand),
    /// The branch ledger (PostgreSQL), for the DBA: migrate, add-desk, status.
    #[command(subcommand, after_help = EXIT_CODES_HELP)]
    Ledger(LedgerCommand),
}

impl Command {
    fn name(&self) -> &'static str {
        match self {
            Command::Config(_) => "config",
            Command::Secrets(_) => "secrets",
            Command::Doctor(_) => "doctor",
            Command::Journal(_) => "journal",
            Command::Ledger(_) => "ledger",
        }
    }
}

/// The program name under which a binary acts as this CLI.
pub const PROGRAM_NAME: &str = "issuance-desk-admin";

/// Whether a process started with `args` should run the admin CLI instead of the app: it was
/// started as `issuance-desk-admin` (a link to the app binary), or as `issuance-desk admin …`.
/// Returns the arguments for [`run`] in that case.
pub fn invoked_as_admin(args: &[OsString]) -> Option<Vec<OsString>> {
    let program = args.first().map(Path::new).and_then(Path::file_stem)?;
    if program == PROGRAM_NAME {
        return Some(args.to_vec());
    }
    if args.get(1).is_some_and(|arg| arg == "admin") {
        let mut rest = vec![OsString::from(PROGRAM_NAME)];
        rest.extend(args.iter().skip(2).cloned());
        return Some(rest);
    }
    None
}

/// Runs the CLI with `args` (the program name first) and returns its exit code.
pub fn run(args: Vec<OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    let _logs = start_logging(cli.verbose);
    let dev = cli.dev || cfg!(debug_assertions);
    tracing::info!(command = cli.command.name(), dev, "admin command started");
    let result = match &cli.command {
        Command::Config(c) => cmd::config::run(c),
        Command::Secrets(c) => cmd::secrets::run(c, dev),
        Command::Doctor(args) => cmd::doctor::run(args, dev),
        Command::Journal(c) => cmd::journal::run(c, dev),
        Command::Ledger(c) => cmd::ledger::run(c),
    };
    match result {
        Ok(()) => {
            tracing::info!(command = cli.command.name(), exit = 0, "admin command done");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::warn!(command = cli.command.name(), exit = e.code(), error = %e, "admin command failed");
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

/// Help and version go to stdout (exit 0). Other clap errors exit 2; clap quotes the offending
/// argument, so digit runs long enough to be a card number are removed before printing (an IT
/// person may paste the wrong thing; it must not end up in a terminal log).
fn usage_error(error: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = error.print();
        return if error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            AdminError::Usage(String::new()).exit_code()
        } else {
            ExitCode::SUCCESS
        };
    }
    let text = error.render().to_string();
    let safe: Vec<String> = text
        .lines()
        .map(|l| order_journal::sanitize::scrub_free_text(l, 4096))
        .collect();
    eprintln!("{}", safe.join("\n"));
    AdminError::Usage(String::new()).exit_code()
}

/// Logs go to the admin CLI's JSON files (level and directory from the configuration when it
/// is valid) and, with -v, to stderr. A log directory that cannot be used is reported on stderr
/// and the command still runs.
fn start_logging(verbose: u8) -> Option<desk_logging::LogGuard> {
    let mut options = desk_logging::LogOptions::admin();
    if let Ok(loaded) = Config::load(&ConfigSources::from_process()) {
        options = options.with_config(&loaded.config.log);
    }
    options.stderr = verbose > 0;
    options.level = match verbose {
        0 | 1 => options.level,
        2 => LogLevel::Debug,
        _ => LogLevel::Trace,
    };
    match desk_logging::init(options) {
        Ok(guard) => Some(guard),
        Err(e) => {
            eprintln!("warning: logs are not written: {e}");
            None
        }
    }
}

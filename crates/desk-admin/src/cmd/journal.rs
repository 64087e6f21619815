//! `journal export`: the orders of a period as CSV (the card masked to its last 4 digits).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use order_journal::{Journal, OrderQuery, Timestamp};
use order_workflow::Installation;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

use crate::error::{AdminError, Outcome};

/// Replaces the data directory (the same variable the app reads; debug builds only).
pub const DATA_DIR_ENV: &str = desk_config::dev_hooks::DATA_DIR;

#[derive(Debug, Subcommand)]
pub enum JournalCommand {
    /// Export the orders created in a period as CSV (UTF-8, header row; the card is shown as
    /// its last 4 digits only). Dates are UTC: YYYY-MM-DD or RFC 3339 (2026-11-25T08:00:00Z).
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// First day (or instant) included.
    #[arg(long, value_name = "DATE")]
    pub since: String,
    /// Last day included (YYYY-MM-DD), or the instant where the period ends (excluded).
    /// Default: now.
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// Write to this new file instead of standard output. The file is created readable by
    /// its owner only (0600); an existing file or a symbolic link is refused, never overwritten.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The journal database. Default: the app's journal of the configured D1, in
    /// $ISSUANCE_DESK_DATA_DIR or the OS data directory (Linux:
    /// ~/.local/share/com.issuancedesk.desk/journals/<environment>-<issuer>.sqlite3).
    #[arg(long, value_name = "PATH")]
    pub journal: Option<PathBuf>,
}

pub fn run(command: &JournalCommand, dev: bool) -> Outcome {
    match command {
        JournalCommand::Export(args) => export(args, dev),
    }
}

/// The app's journal of the configured D1, where the app keeps it (the one composition root,
/// `order_workflow::Installation`): `journals/<environment>-<issuer>.sqlite3` in
/// `$ISSUANCE_DESK_DATA_DIR` (debug builds), else in `<OS data dir>/com.issuancedesk.desk`
/// (development installations: `com.issuancedesk.desk.dev`).
pub fn default_journal_path(dev: bool, config: &desk_config::Config) -> Option<PathBuf> {
    Installation { development: dev }.journal_path(config)
}

/// Parses a date (`YYYY-MM-DD`, midnight UTC; `end` = the next midnight, so the day is
/// included) or an RFC 3339 instant. The value is not echoed in the error.
pub fn parse_when(option: &str, value: &str, end: bool) -> Result<Timestamp, AdminError> {
    let bad = || {
        AdminError::Usage(format!(
            "{option} must be a UTC date YYYY-MM-DD or an RFC 3339 time such as 2026-11-25T08:00:00Z"
        ))
    };
    let value = value.trim();
    let instant = if let Ok(date) = Date::parse(value, format_description!("[year]-[month]-[day]"))
    {
        let day = if end {
            date.next_day().ok_or_else(bad)?
        } else {
            date
        };
        day.midnight().assume_utc()
    } else {
        OffsetDateTime::parse(value, &Rfc3339).map_err(|_| bad())?
    };
    let ms = instant.unix_timestamp_nanos() / 1_000_000;
    i64::try_from(ms)
        .map(Timestamp::from_millis)
        .map_err(|_| bad())
}

fn export(args: &ExportArgs, dev: bool) -> Outcome {
    let from = parse_when("--since", &args.since, false)?;
    let to = match &args.until {
        Some(until) => parse_when("--until", until, true)?,
        None => Timestamp::now(),
    };
    if from >= to {
        return Err(AdminError::Usage(
            "--since must be before --until (and before now)".into(),
        ));
    }
    let path = match &args.journal {
        Some(path) => path.clone(),
        None => default_journal_path(dev, &super::load_config()?.config).ok_or_else(|| {
            AdminError::Failed(format!(
                "no data directory: pass --journal or set {DATA_DIR_ENV}"
            ))
        })?,
    };
    if !path.is_file() {
        return Err(AdminError::Failed(format!(
            "no journal at {} (the app creates it at its first start; pass --journal PATH)",
            path.display()
        )));
    }
    let journal = Journal::open(&path).map_err(|e| {
        AdminError::Failed(format!("cannot open the journal {}: {e}", path.display()))
    })?;
    let query = OrderQuery {
        from: Some(from),
        to: Some(to),
        ..OrderQuery::default()
    };
    let failed = |e: &dyn std::fmt::Display| AdminError::Failed(format!("the export failed: {e}"));
    let count = match &args.out {
        Some(out) => {
            let file = create_export_file(out)?;
            let mut writer = std::io::BufWriter::new(file);
            let count = journal
                .export_csv(&query, &mut writer)
                .map_err(|e| failed(&e))?;
            writer.flush().map_err(|e| failed(&e))?;
            count
        }
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            journal
                .export_csv(&query, &mut lock)
                .map_err(|e| failed(&e))?
        }
    };
    tracing::info!(orders = count, from = %from, to = %to, "journal exported");
    eprintln!(
        "Exported {count} order(s) created from {from} to {to} (excluded) from {}",
        path.display()
    );
    Ok(())
}

/// A new file, 0600 on Unix. `create_new` refuses an existing path, and a symbolic link even
/// when it points nowhere (O_CREAT|O_EXCL), so an export can neither overwrite a file nor be
/// redirected through a link into someone else's.
fn create_export_file(out: &Path) -> Result<std::fs::File, AdminError> {
    desk_config::private_fs::create_new_private_file()
        .open(out)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                let what = if out.is_symlink() {
                    "is a symbolic link"
                } else {
                    "already exists"
                };
                AdminError::Failed(format!(
                    "{} {what}: an export never overwrites; give a new file name",
                    out.display()
                ))
            } else {
                AdminError::Failed(format!("cannot write {}: {e}", out.display()))
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_instants_parse_and_the_until_day_is_included() {
        let since = parse_when("--since", "2026-11-25", false).unwrap();
        assert_eq!(since.to_rfc3339(), "2026-11-25T00:00:00.000Z");
        let until = parse_when("--until", "2026-11-25", true).unwrap();
        assert_eq!(until.to_rfc3339(), "2026-11-26T00:00:00.000Z");
        let instant = parse_when("--since", "2026-11-25T08:30:00+01:00", false).unwrap();
        assert_eq!(instant.to_rfc3339(), "2026-11-25T07:30:00.000Z");
        let leap = parse_when("--until", "2028-02-29", true).unwrap();
        assert_eq!(leap.to_rfc3339(), "2028-03-01T00:00:00.000Z");
    }

    #[test]
    fn bad_dates_are_usage_errors_that_do_not_echo_the_value() {
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-02-30",
            "4000056655665556",
            "25/11/2026",
        ] {
            let e = parse_when("--since", bad, false).unwrap_err();
            assert_eq!(e.code(), 2, "{bad}");
            assert!(e.to_string().starts_with("--since must be"), "{e}");
            if !bad.is_empty() {
                assert!(!e.to_string().contains(bad));
            }
        }
    }
}

//! The system journal (systemd-journald) as a second destination, for the bank's SIEM: the
//! same events as the files, each field a journal field, `SYSLOG_IDENTIFIER` the program's file
//! prefix (`issuance-desk-app`, `issuance-desk-admin`). Linux only.

#[cfg(target_os = "linux")]
pub(crate) fn layer(identifier: &str) -> std::io::Result<tracing_journald::Layer> {
    Ok(tracing_journald::layer()?
        .with_syslog_identifier(identifier.to_string())
        // Our fields as they are named in the JSON files (CARD_ID, not F_CARD_ID).
        .with_field_prefix(None))
}

/// Elsewhere there is no system journal: the configuration refuses `log.journald` there.
#[cfg(not(target_os = "linux"))]
pub(crate) fn layer(_identifier: &str) -> std::io::Result<tracing_subscriber::layer::Identity> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "the system journal exists on Linux only",
    ))
}

//! The supervisor's CSV export: every order of a query, masked, formula-safe.

use std::io::Write;

use crate::db::Journal;
use crate::error::{JournalError, Result};
use crate::queries::{MAX_PAGE_SIZE, OrderQuery};

/// A CSV cell a spreadsheet will not run as a formula: a cell starting with `=`, `+`, `-`, `@`,
/// tab or CR gets a leading `'`.
pub fn csv_safe(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_owned(),
    }
}

/// Header of [`Journal::export_csv`].
pub const CSV_HEADER: [&str; 16] = [
    "created_at",
    "updated_at",
    "state",
    "d1_status",
    "operator",
    "consumer_id",
    "product_id",
    "station_id",
    "issuance_type",
    "card",
    "card_id",
    "issuer_request_id",
    "correlation_id",
    "operation_id",
    "error_code",
    "error_message",
];

impl Journal {
    /// Writes every order matching `q` (from `q.after`, all pages; `q.page_size` is ignored) as
    /// CSV with a header ([`CSV_HEADER`]). The card is masked (`•••• 1234`); cells that a
    /// spreadsheet would run as a formula get a leading `'`. Returns the number of orders.
    pub fn export_csv(&self, q: &OrderQuery, out: impl Write) -> Result<u64> {
        let mut w = csv::Writer::from_writer(out);
        let export_err = |e: csv::Error| JournalError::Export(e.to_string());
        w.write_record(CSV_HEADER).map_err(export_err)?;
        let mut page_q = OrderQuery {
            page_size: MAX_PAGE_SIZE,
            ..q.clone()
        };
        let mut count = 0u64;
        loop {
            let page = self.list(&page_q)?;
            for o in &page.items {
                let opt = |v: &Option<String>| v.as_deref().map(csv_safe).unwrap_or_default();
                w.write_record([
                    o.created_at.to_rfc3339(),
                    o.updated_at.to_rfc3339(),
                    o.state.as_str().to_owned(),
                    opt(&o.d1_status),
                    csv_safe(&o.operator),
                    csv_safe(o.consumer_id.as_str()),
                    csv_safe(&o.product_id),
                    csv_safe(&o.station_id),
                    csv_safe(&o.issuance_type),
                    o.pan_last4.masked(),
                    csv_safe(o.card_id.as_str()),
                    csv_safe(o.issuer_request_id.as_str()),
                    csv_safe(o.correlation_id.as_str()),
                    o.operation_id
                        .as_ref()
                        .map(|id| csv_safe(id.as_str()))
                        .unwrap_or_default(),
                    opt(&o.error_code),
                    opt(&o.error_message),
                ])
                .map_err(export_err)?;
                count += 1;
            }
            match page.next {
                Some(next) => page_q.after = Some(next),
                None => break,
            }
        }
        w.flush().map_err(|e| JournalError::Export(e.to_string()))?;
        Ok(count)
    }
}

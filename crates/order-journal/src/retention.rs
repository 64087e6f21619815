//! Retention: finished orders older than `journal.retention_days` are deleted, in batches.

use std::time::Duration;

use crate::db::Journal;
use crate::error::{JournalError, Result};
use crate::types::duration_ms;

/// Retention by default: orders older than this are pruned.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(400 * 24 * 3600);
/// Shortest retention [`Journal::prune`] accepts.
pub const MIN_RETENTION: Duration = Duration::from_secs(24 * 3600);

impl Journal {
    /// Retention: deletes finished orders (and their history) created more than `older_than`
    /// ago. In-flight orders are kept whatever their age (they still need reconciling).
    /// Refused when `older_than` is shorter than [`MIN_RETENTION`]. Returns the number deleted.
    /// Deletes in batches so the app's writes are not blocked for long.
    pub fn prune(&self, older_than: Duration) -> Result<u64> {
        if older_than < MIN_RETENTION {
            return Err(JournalError::InvalidQuery(
                "the retention period must be at least one day".to_owned(),
            ));
        }
        let cutoff = self
            .now()
            .as_millis()
            .saturating_sub(duration_ms(older_than));
        let mut total = 0u64;
        loop {
            let n = self.with_writer(|c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let n = tx
                    .prepare_cached(
                        "DELETE FROM orders WHERE id IN (
                             SELECT id FROM orders WHERE created_at < ?1
                             AND state IN ('done', 'failed', 'rejected', 'abandoned')
                             ORDER BY created_at LIMIT 5000)",
                    )?
                    .execute([cutoff])?;
                tx.commit()?;
                Ok(n)
            })?;
            total += u64::try_from(n).unwrap_or(0);
            if n == 0 {
                break;
            }
        }
        if total > 0 {
            tracing::info!(deleted = total, "order journal pruned");
        }
        Ok(total)
    }
}

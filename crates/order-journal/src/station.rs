//! What a personalization station did lately, for the teller's status bar: its last card made,
//! its last production exception and whether its last finished order failed. Kept apart from the
//! supervisor's queries: three index walks on `orders_station`, one row each.

use rusqlite::OptionalExtension;
use serde::Serialize;

use crate::db::Journal;
use crate::error::Result;
use crate::types::OrderSummary;
use desk_domain::CardId;

/// A station's recent outcome, from this desk's journal.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StationActivity {
    /// The newest order of this station whose card was made.
    pub last_made: Option<OrderSummary>,
    /// The newest order of this station that ended in a production exception (`Failed`: D1 or
    /// the station reported `DATA_EXCEPTION`, `CARD_PROD_EXCEPTION`, `CARD_PROD_CANCELED`).
    pub last_exception: Option<OrderSummary>,
    /// Whether the exception came after the last card made: the station's last finished order
    /// failed.
    pub last_failed: bool,
}

impl Journal {
    /// The recent outcome of `station_id`. A station without orders has an empty activity.
    pub fn station_activity(&self, station_id: &str) -> Result<StationActivity> {
        let newest = |state: &str| -> Result<Option<CardId>> {
            self.with_reader(|c| {
                let mut st = c.prepare_cached(
                    "SELECT card_id FROM orders WHERE station_id = ?1 AND state = ?2
                     ORDER BY created_at DESC, id DESC LIMIT 1",
                )?;
                Ok(st
                    .query_row(rusqlite::params![station_id, state], |r| r.get(0))
                    .optional()?)
            })
        };
        let last_made = newest("done")?
            .map(|card| self.detail(&card))
            .transpose()?
            .map(|d| d.order);
        let last_exception = newest("failed")?
            .map(|card| self.detail(&card))
            .transpose()?
            .map(|d| d.order);
        let last_failed = match (&last_made, &last_exception) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(made), Some(failed)) => failed.updated_at > made.updated_at,
        };
        Ok(StationActivity {
            last_made,
            last_exception,
            last_failed,
        })
    }
}

//! The chosen station's recent outcome, for the teller's status bar: the last card it made, its
//! last production exception, and whether its last finished order failed. From this desk's
//! journal; the window words it (a known reason such as `PRINTER_JAM` in plain words, the raw
//! code beside it for IT).

use desk_domain::{CardId, ConsumerId};
use order_journal::OrderSummary;
use serde::Serialize;

use crate::desk::OrderDesk;
use crate::error::WorkflowError;

/// One finished order of a station, as the status bar shows it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct StationEvent {
    /// When the outcome became known (ms since the Unix epoch).
    pub at: f64,
    pub card_id: CardId,
    pub consumer_id: ConsumerId,
    /// D1's `details.status` (`CARD_PROD_DONE`, `CARD_PROD_EXCEPTION`, …), as received.
    pub d1_status: Option<String>,
    /// D1's reason of an exception (e.g. `PRINTER_JAM`), as received.
    pub reason: Option<String>,
}

/// What the chosen station did lately.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct StationState {
    pub station_id: String,
    /// The configured name, when the station is one of this desk's.
    pub station_name: Option<String>,
    pub last_made: Option<StationEvent>,
    pub last_exception: Option<StationEvent>,
    /// The station's last finished order failed: warn before ordering on it.
    pub last_failed: bool,
}

fn event(order: OrderSummary) -> StationEvent {
    StationEvent {
        at: order.updated_at.as_millis() as f64,
        card_id: order.card_id,
        consumer_id: order.consumer_id,
        d1_status: order.d1_status,
        reason: order.error_message,
    }
}

impl OrderDesk {
    /// The recent outcome of `station_id`, from the journal.
    pub async fn station_state(&self, station_id: &str) -> Result<StationState, WorkflowError> {
        let id = station_id.to_owned();
        let activity = self.in_journal(move |j| j.station_activity(&id)).await?;
        Ok(StationState {
            station_id: station_id.to_owned(),
            station_name: self
                .inner
                .catalog
                .station(station_id)
                .map(|s| s.name.clone()),
            last_made: activity.last_made.map(event),
            last_exception: activity.last_exception.map(event),
            last_failed: activity.last_failed,
        })
    }
}

//! The station's recent outcome for the teller's status bar.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{HOUR, mem, op, order};
use desk_domain::CardId;
use order_journal::{Journal, OperationStatus};

fn finish(j: &Journal, i: u32, station: &str, outcome: Option<&str>) -> CardId {
    let mut o = order(i);
    o.station_id = station.to_owned();
    let card = o.card_id.clone();
    j.record_intent(&o).unwrap();
    j.mark_sending(&card).unwrap();
    j.record_accepted(&card, &op(&format!("op-{i}"))).unwrap();
    match outcome {
        None => {
            j.record_production_status(&card, "CARD_PROD_DONE", OperationStatus::Successful, None)
                .unwrap();
        }
        Some(reason) => {
            j.record_production_status(
                &card,
                "CARD_PROD_EXCEPTION",
                OperationStatus::Failed,
                Some(reason),
            )
            .unwrap();
        }
    }
    card
}

#[test]
fn a_station_without_orders_has_no_activity() {
    let (j, _) = mem();
    let activity = j.station_activity("ST-1").unwrap();
    assert!(activity.last_made.is_none() && activity.last_exception.is_none());
    assert!(!activity.last_failed);
}

#[test]
fn the_last_card_made_and_the_last_exception_are_the_stations_own() {
    let (j, clock) = mem();
    let made = finish(&j, 1, "ST-1", None);
    clock.advance(HOUR);
    let jam = finish(&j, 2, "ST-1", Some("PRINTER_JAM"));
    clock.advance(HOUR);
    // Another station's newer orders do not count.
    finish(&j, 3, "ST-2", None);
    finish(&j, 4, "ST-2", Some("OUT_OF_CARDS"));

    let activity = j.station_activity("ST-1").unwrap();
    assert_eq!(activity.last_made.unwrap().card_id, made);
    let exception = activity.last_exception.unwrap();
    assert_eq!(exception.card_id, jam);
    assert_eq!(exception.error_message.as_deref(), Some("PRINTER_JAM"));
    assert_eq!(exception.d1_status.as_deref(), Some("CARD_PROD_EXCEPTION"));
    assert!(
        activity.last_failed,
        "the jam came after the last card made"
    );
}

#[test]
fn a_card_made_after_an_exception_clears_the_warning() {
    let (j, clock) = mem();
    finish(&j, 1, "ST-1", Some("PRINTER_JAM"));
    clock.advance(HOUR);
    let made = finish(&j, 2, "ST-1", None);
    let activity = j.station_activity("ST-1").unwrap();
    assert_eq!(activity.last_made.unwrap().card_id, made);
    assert!(activity.last_exception.is_some());
    assert!(!activity.last_failed);
}

#[test]
fn orders_still_in_production_or_refused_by_d1_are_not_station_outcomes() {
    let (j, _) = mem();
    let mut o = order(1);
    o.station_id = "ST-1".into();
    j.record_intent(&o).unwrap();
    j.mark_sending(&o.card_id).unwrap();
    j.record_rejected(&o.card_id, "FIELD_INVALID_VALUE", "refused")
        .unwrap();
    let mut o = order(2);
    o.station_id = "ST-1".into();
    j.record_intent(&o).unwrap();
    j.mark_sending(&o.card_id).unwrap();
    j.record_accepted(&o.card_id, &op("op-2")).unwrap();
    let activity = j.station_activity("ST-1").unwrap();
    assert!(activity.last_made.is_none() && activity.last_exception.is_none());
    assert!(!activity.last_failed);
}

//! A canary PAN pushed through every field never reaches the database file, its WAL, an export,
//! an error message or Debug output.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

mod common;

use common::{CANARY, card, cid, op, order};
use desk_domain::{CardId, ConsumerId, CorrelationId, IssuerRequestId};
use order_journal::{Journal, MatchMode, NewOrder, OperationStatus, OrderQuery, PanLast4, Search};

const FORMS: [&str; 4] = [
    CANARY,
    "4000 0566 5566 5556",
    "4000-0566-5566-5556",
    "4000.0566.5566.5556",
];

fn assert_clean(what: &str, bytes: &[u8]) {
    for form in FORMS {
        assert!(
            !bytes.windows(form.len()).any(|w| w == form.as_bytes()),
            "{what} contains the canary ({form})"
        );
    }
    // Also no 12-digit slice of it.
    assert!(
        !bytes.windows(12).any(|w| w == &CANARY.as_bytes()[2..14]),
        "{what}"
    );
}

#[test]
fn canary_never_reaches_the_file_wal_export_or_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    let j = Journal::open(&path).unwrap();
    let mut errors = Vec::new();

    assert!(PanLast4::new(CANARY).is_err());
    // Every identifier field of the intent refuses it, in every written form and embedded.
    // A typed id that matches D1's pattern can still look like a card number: the journal
    // refuses it (a value the id type itself refuses never reaches it).
    type Set = fn(&mut NewOrder, String);
    let fields: [(&str, Set); 8] = [
        ("operator", |o, v| o.operator = v),
        ("consumer_id", |o, v| {
            o.consumer_id = ConsumerId::parse(v).unwrap()
        }),
        ("product_id", |o, v| o.product_id = v),
        ("station_id", |o, v| o.station_id = v),
        ("issuance_type", |o, v| o.issuance_type = v),
        ("card_id", |o, v| o.card_id = CardId::parse(v).unwrap()),
        ("issuer_request_id", |o, v| {
            o.issuer_request_id = IssuerRequestId::parse(v).unwrap()
        }),
        ("correlation_id", |o, v| {
            o.correlation_id = CorrelationId::parse(v).unwrap()
        }),
    ];
    for (name, set) in fields {
        for value in [
            CANARY.to_owned(),
            format!("X{CANARY}"),
            format!("a-{}", FORMS[2]),
            format!("a_{}", FORMS[2]),
        ] {
            let mut o = order(1);
            set(&mut o, value.clone());
            match j.record_intent(&o) {
                Err(e) => errors.push(format!("{e} {e:?}")),
                Ok(_) => panic!("{name} accepted a PAN-shaped value"),
            }
        }
    }

    // Free-text fields are scrubbed on the way in.
    let stages = |i: u32| {
        j.record_intent(&order(i)).unwrap();
        j.mark_sending(&card(i)).unwrap();
    };
    stages(1);
    j.record_rejected(&card(1), CANARY, &format!("bad pan {}", FORMS[1]))
        .unwrap();
    j.record_intent(&order(2)).unwrap();
    j.record_abandoned(&card(2), &format!("teller typed {}", FORMS[2]))
        .unwrap();
    stages(4);
    j.record_outcome_unknown(&card(4), &format!("timeout, card {CANARY}"))
        .unwrap();
    j.record_no_record(&card(4), &format!("no record of {}", FORMS[3]))
        .unwrap();
    stages(5);
    j.record_not_sent(&card(5), &format!("refused {CANARY}"))
        .unwrap();
    stages(3);
    if let Err(e) = j.record_accepted(&card(3), &op(CANARY)) {
        errors.push(format!("{e} {e:?}"));
    }
    j.record_accepted(&card(3), &op("op-3")).unwrap();
    j.record_production_status(&card(3), CANARY, OperationStatus::Pending, Some(FORMS[3]))
        .unwrap();
    j.record_production_status(
        &card(3),
        &format!("DATA_EXCEPTION {CANARY}"),
        OperationStatus::Failed,
        Some(&format!("pan={CANARY}")),
    )
    .unwrap();
    // Searching for it finds nothing and stores nothing.
    let q = OrderQuery {
        search: Some(Search {
            text: CANARY.into(),
            mode: MatchMode::Exact,
        }),
        ..OrderQuery::default()
    };
    assert!(j.list(&q).unwrap().items.is_empty());
    if let Err(e) = j.detail(&cid(CANARY)) {
        errors.push(format!("{e} {e:?}"));
    }

    // Export and Debug output are clean.
    let mut csv = Vec::new();
    j.export_csv(&OrderQuery::default(), &mut csv).unwrap();
    assert_clean("the CSV export", &csv);
    for i in 1..=3 {
        let d = j.detail(&card(i)).unwrap();
        assert_clean("Debug of an order", format!("{d:?}").as_bytes());
    }
    // The refusals name the field, never the value ("no order with card id …" for a lookup
    // by the canary itself is the caller's own input and is tested separately below).
    let refusals: Vec<_> = errors
        .iter()
        .filter(|e| !e.contains("no order with card id"))
        .collect();
    assert!(refusals.len() >= 20, "{}", refusals.len());
    for e in refusals {
        assert_clean("an error message", e.as_bytes());
    }

    // The bytes on disk, before and after a checkpoint.
    let wal = dir.path().join("journal.sqlite-wal");
    assert!(wal.exists());
    assert_clean("the WAL", &std::fs::read(&wal).unwrap());
    assert_clean("the database file", &std::fs::read(&path).unwrap());
    drop(j);
    let j = Journal::open(&path).unwrap();
    j.optimize().unwrap();
    drop(j);
    assert_clean(
        "the database file after reopening",
        &std::fs::read(&path).unwrap(),
    );
    if let Ok(bytes) = std::fs::read(&wal) {
        assert_clean("the WAL after reopening", &bytes);
    }
}

#[test]
fn a_lookup_error_repeats_at_most_a_card_id_sized_value() {
    // A longer value is not a card id at all: the type refuses it before any lookup.
    assert!(CardId::parse("9".repeat(200)).is_err());
    let j = Journal::open_in_memory().unwrap();
    let e = j
        .mark_sending(&cid(&"9".repeat(48)))
        .unwrap_err()
        .to_string();
    assert!(!e.contains(&"9".repeat(49)), "{e}");
}

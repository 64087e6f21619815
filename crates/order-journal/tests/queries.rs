//! Supervisor queries: list (filters, search, paging), detail, stats, exceptions, export, prune.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{DAY, HOUR, T0, TestClock, card, cid, mem, op, order};
use desk_domain::CardId;
use order_journal::{
    Bucket, CSV_HEADER, Cursor, DEFAULT_RETENTION, ExceptionQuery, Journal, JournalError,
    MAX_PAGE_SIZE, MatchMode, OperationStatus, OrderQuery, OrderState, Search, TimeRange,
    Timestamp,
};

/// 40 orders, one per hour from T0; order i ends in a state chosen by i % 8.
fn fixture() -> (Journal, TestClock) {
    let (j, clock) = mem();
    for i in 0..40u32 {
        clock.set(T0 + i64::from(i) * HOUR);
        j.record_intent(&order(i)).unwrap();
        let c = card(i);
        match i % 8 {
            0 => {}
            1 => j.mark_sending(&c).unwrap(),
            2 => {
                j.mark_sending(&c).unwrap();
                j.record_outcome_unknown(&c, "timeout").unwrap();
            }
            3 => {
                j.mark_sending(&c).unwrap();
                j.record_rejected(&c, "FIELD_INVALID_VALUE", "bad product")
                    .unwrap();
            }
            4 => {
                j.mark_sending(&c).unwrap();
                j.record_accepted(&c, &op(&format!("op-{i:05}"))).unwrap();
            }
            5 | 6 => {
                j.mark_sending(&c).unwrap();
                j.record_accepted(&c, &op(&format!("op-{i:05}"))).unwrap();
                let (st, top) = if i % 8 == 5 {
                    ("CARD_PROD_DONE", OperationStatus::Successful)
                } else {
                    ("CARD_PROD_EXCEPTION", OperationStatus::Failed)
                };
                j.record_production_status(&c, st, top, Some("printer jammed"))
                    .unwrap();
            }
            _ => j.record_abandoned(&c, "teller cancelled").unwrap(),
        }
    }
    clock.set(T0 + 40 * HOUR);
    (j, clock)
}

fn ids(page: &[order_journal::OrderSummary]) -> Vec<CardId> {
    page.iter().map(|o| o.card_id.clone()).collect()
}

fn all(j: &Journal, q: &OrderQuery) -> Vec<CardId> {
    let mut q = q.clone();
    let mut out = Vec::new();
    loop {
        let p = j.list(&q).unwrap();
        out.extend(ids(&p.items));
        match p.next {
            Some(n) => q.after = Some(n),
            None => return out,
        }
    }
}

fn expected(pred: impl Fn(u32) -> bool) -> Vec<CardId> {
    (0..40u32).rev().filter(|i| pred(*i)).map(card).collect()
}

#[test]
fn first_page_is_newest_first_and_paging_covers_everything_once() {
    let (j, _) = fixture();
    let q = OrderQuery {
        page_size: 7,
        ..OrderQuery::default()
    };
    let p = j.list(&q).unwrap();
    assert_eq!(ids(&p.items), expected(|i| i >= 33));
    assert!(p.next.is_some());
    let every = all(&j, &q);
    assert_eq!(every, expected(|_| true));
    assert_eq!(every.iter().collect::<HashSet<_>>().len(), 40);
}

#[test]
fn paging_is_stable_when_orders_share_a_timestamp() {
    let (j, _) = mem();
    for i in 0..10 {
        j.record_intent(&order(i)).unwrap();
    }
    let q = OrderQuery {
        page_size: 3,
        ..OrderQuery::default()
    };
    assert_eq!(all(&j, &q), expected(|i| i < 10));
}

#[test]
fn page_size_boundaries() {
    let (j, _) = fixture();
    let one = j
        .list(&OrderQuery {
            page_size: 1,
            ..OrderQuery::default()
        })
        .unwrap();
    assert_eq!(ids(&one.items), [card(39)]);
    let max = j
        .list(&OrderQuery {
            page_size: MAX_PAGE_SIZE,
            ..OrderQuery::default()
        })
        .unwrap();
    assert_eq!(max.items.len(), 40);
    assert_eq!(max.next, None);
    let exact = j
        .list(&OrderQuery {
            page_size: 40,
            ..OrderQuery::default()
        })
        .unwrap();
    assert_eq!(exact.next, None, "no empty trailing page");
    for bad in [0, MAX_PAGE_SIZE + 1, u32::MAX] {
        let err = j
            .list(&OrderQuery {
                page_size: bad,
                ..OrderQuery::default()
            })
            .unwrap_err();
        assert!(matches!(err, JournalError::InvalidQuery(_)), "{bad}");
        assert!(err.to_string().contains("page size"), "{err}");
    }
}

#[test]
fn cursor_tokens_round_trip_and_garbage_is_refused() {
    let (j, _) = fixture();
    let p = j
        .list(&OrderQuery {
            page_size: 5,
            ..OrderQuery::default()
        })
        .unwrap();
    let next = p.next.unwrap();
    let back = Cursor::from_token(&next.to_token()).unwrap();
    assert_eq!(back, next);
    let p2 = j
        .list(&OrderQuery {
            page_size: 5,
            after: Some(back),
            ..OrderQuery::default()
        })
        .unwrap();
    assert_eq!(ids(&p2.items), expected(|i| (30..35).contains(&i)));
    for bad in ["", "1", "a.b", "1.", ".1", "1.2.3"] {
        assert!(Cursor::from_token(bad).is_err(), "{bad}");
    }
    assert_eq!(
        serde_json::to_string(&next).unwrap(),
        format!("\"{}\"", next.to_token())
    );
}

#[test]
fn date_range_is_half_open() {
    let (j, _) = fixture();
    let q = OrderQuery {
        from: Some(Timestamp::from_millis(T0 + 10 * HOUR)),
        to: Some(Timestamp::from_millis(T0 + 20 * HOUR)),
        ..OrderQuery::default()
    };
    assert_eq!(all(&j, &q), expected(|i| (10..20).contains(&i)));
    let only_from = OrderQuery {
        from: Some(Timestamp::from_millis(T0 + 38 * HOUR)),
        ..OrderQuery::default()
    };
    assert_eq!(all(&j, &only_from), expected(|i| i >= 38));
    let only_to = OrderQuery {
        to: Some(Timestamp::from_millis(T0 + HOUR)),
        ..OrderQuery::default()
    };
    assert_eq!(all(&j, &only_to), [card(0)]);
    let empty = OrderQuery {
        from: Some(Timestamp::from_millis(T0 + 100 * DAY)),
        ..OrderQuery::default()
    };
    assert!(j.list(&empty).unwrap().items.is_empty());
    for (from, to) in [(T0, T0), (T0 + 1, T0)] {
        let q = OrderQuery {
            from: Some(Timestamp::from_millis(from)),
            to: Some(Timestamp::from_millis(to)),
            ..OrderQuery::default()
        };
        assert!(matches!(j.list(&q), Err(JournalError::InvalidQuery(_))));
    }
}

#[test]
fn state_filter_takes_any_set_of_states() {
    let (j, _) = fixture();
    let q = |states: Vec<OrderState>| OrderQuery {
        states,
        page_size: 3,
        ..OrderQuery::default()
    };
    assert_eq!(
        all(&j, &q(vec![OrderState::Failed])),
        expected(|i| i % 8 == 6)
    );
    assert_eq!(
        all(
            &j,
            &q(vec![
                OrderState::Rejected,
                OrderState::OutcomeUnknown,
                OrderState::Rejected
            ])
        ),
        expected(|i| i % 8 == 2 || i % 8 == 3)
    );
    assert_eq!(all(&j, &q(OrderState::ALL.to_vec())), expected(|_| true));
    assert!(all(&j, &q(vec![OrderState::InProduction])).is_empty());
}

#[test]
fn exact_filters_on_station_operator_product_and_issuance_type() {
    let (j, _) = fixture();
    let base = OrderQuery {
        page_size: 4,
        ..OrderQuery::default()
    };
    let q = OrderQuery {
        station_id: Some("STATION-2".into()),
        ..base.clone()
    };
    assert_eq!(all(&j, &q), expected(|i| i % 4 == 2));
    let q = OrderQuery {
        operator: Some("teller0".into()),
        ..base.clone()
    };
    assert_eq!(all(&j, &q), expected(|i| i % 3 == 0));
    let q = OrderQuery {
        product_id: Some("PRODUCT_1".into()),
        ..base.clone()
    };
    assert_eq!(all(&j, &q), expected(|i| i % 2 == 1));
    let q = OrderQuery {
        issuance_type: Some("NEW".into()),
        ..base.clone()
    };
    assert_eq!(all(&j, &q), expected(|i| i % 2 == 0));
    let q = OrderQuery {
        station_id: Some("station-2".into()),
        ..base.clone()
    };
    assert!(all(&j, &q).is_empty(), "exact and case-sensitive");
    // Everything combined.
    let q = OrderQuery {
        station_id: Some("STATION-1".into()),
        operator: Some("teller1".into()),
        states: vec![OrderState::Sending, OrderState::Done],
        from: Some(Timestamp::from_millis(T0)),
        to: Some(Timestamp::from_millis(T0 + 30 * HOUR)),
        ..base.clone()
    };
    assert_eq!(
        all(&j, &q),
        expected(|i| i % 4 == 1 && i % 3 == 1 && (i % 8 == 1 || i % 8 == 5) && i < 30)
    );
    for bad in [
        OrderQuery {
            station_id: Some(String::new()),
            ..base.clone()
        },
        OrderQuery {
            operator: Some(String::new()),
            ..base.clone()
        },
        OrderQuery {
            product_id: Some("p".repeat(257)),
            ..base.clone()
        },
        OrderQuery {
            issuance_type: Some(String::new()),
            ..base.clone()
        },
    ] {
        assert!(matches!(j.list(&bad), Err(JournalError::InvalidQuery(_))));
    }
}

fn search(j: &Journal, text: &str, mode: MatchMode) -> Result<Vec<CardId>, JournalError> {
    let q = OrderQuery {
        search: Some(Search {
            text: text.into(),
            mode,
        }),
        page_size: 3,
        ..OrderQuery::default()
    };
    j.list(&q)?;
    Ok(all(j, &q))
}

#[test]
fn search_by_consumer_card_operation_and_last4() {
    let (j, _) = fixture();
    use MatchMode::{Exact, Prefix};
    assert_eq!(search(&j, "CUST00012", Exact).unwrap(), [card(12)]);
    assert_eq!(
        search(&j, "  CUST00012 ", Exact).unwrap(),
        [card(12)],
        "trimmed"
    );
    assert_eq!(search(&j, "card-00013", Exact).unwrap(), [card(13)]);
    assert_eq!(search(&j, "op-00012", Exact).unwrap(), [card(12)]);
    // order(i).pan_last4 = (i*37) % 10000: i=3 → 0111.
    assert_eq!(search(&j, "0111", Exact).unwrap(), [card(3)]);
    assert_eq!(
        search(&j, "CUST0001", Prefix).unwrap(),
        expected(|i| (10..20).contains(&i))
    );
    assert_eq!(
        search(&j, "card-0003", Prefix).unwrap(),
        expected(|i| (30..40).contains(&i))
    );
    // Operation ids exist for i % 8 in {4, 5, 6}.
    assert_eq!(
        search(&j, "op-0002", Prefix).unwrap(),
        [card(29), card(28), card(22), card(21), card(20)]
    );
    // Last-4 prefix of 1–4 digits: 01xx → i=3 (0111), i=4 (0148), i=5 (0185).
    assert_eq!(
        search(&j, "01", Prefix).unwrap(),
        [card(5), card(4), card(3)]
    );
    assert!(search(&j, "CUST99999", Exact).unwrap().is_empty());
    // A consumer id is found by any part of it, whatever the case.
    assert_eq!(
        search(&j, "CUST0001", Exact).unwrap(),
        expected(|i| (10..20).contains(&i))
    );
    assert_eq!(search(&j, "cust00012", Exact).unwrap(), [card(12)]);
    assert!(
        search(&j, "01", Exact).unwrap().is_empty(),
        "2 digits are no last 4"
    );
}

#[test]
fn a_consumer_id_is_found_by_any_part_of_it_whatever_the_case() {
    let (j, _) = fixture();
    for (i, consumer) in [
        (50, "CUST-7005"),
        (51, "CUST-17005"),
        (52, "AB_CD"),
        (53, "ABXCD"),
    ] {
        let mut o = order(i);
        o.consumer_id = desk_domain::ConsumerId::parse(consumer).unwrap();
        j.record_intent(&o).unwrap();
    }
    for mode in [MatchMode::Exact, MatchMode::Prefix] {
        // "7005" is also an exact last 4 (none of the fixture's), and the end of a consumer id.
        assert_eq!(
            search(&j, "7005", mode).unwrap(),
            [card(51), card(50)],
            "{mode:?}"
        );
        assert_eq!(
            search(&j, "cust-7005", mode).unwrap(),
            [card(50)],
            "{mode:?}"
        );
        assert_eq!(search(&j, "T-170", mode).unwrap(), [card(51)], "{mode:?}");
        // '_' is a character to find, not a wildcard.
        assert_eq!(search(&j, "b_c", mode).unwrap(), [card(52)], "{mode:?}");
    }
}

/// A consumer id of 64 characters, the longest there is; its index keeps 16 characters of each
/// suffix (migration 0007), so longer texts are checked against the whole id.
const LONG_CONSUMER: &str = "CUST-0123456789-abcdefghij-KLMNOPQRST-uvwxyz_0123456789-_9_8_7_6";

#[test]
fn a_long_consumer_id_is_found_by_any_part_of_it_short_or_long() {
    let (j, _) = fixture();
    assert_eq!(LONG_CONSUMER.len(), 64);
    // Another id with the same first 40 characters.
    let near = format!("{}{}", &LONG_CONSUMER[..40], "Z".repeat(24));
    for (i, consumer) in [(60, LONG_CONSUMER), (61, near.as_str())] {
        let mut o = order(i);
        o.consumer_id = desk_domain::ConsumerId::parse(consumer).unwrap();
        j.record_intent(&o).unwrap();
    }
    let both = [card(61), card(60)];
    let upper = LONG_CONSUMER.to_ascii_uppercase();
    for mode in [MatchMode::Exact, MatchMode::Prefix] {
        for (text, want) in [
            (LONG_CONSUMER, &[card(60)][..]),
            (upper.as_str(), &[card(60)][..]),
            // 16 characters: what the index keeps; both ids hold them.
            (&LONG_CONSUMER[..16], &both[..]),
            // Looked up by 16 characters that both hold, kept by the rest.
            (&LONG_CONSUMER[..17], &both[..]),
            (&LONG_CONSUMER[..41], &[card(60)][..]),
            (&LONG_CONSUMER[30..], &[card(60)][..]),
            (&LONG_CONSUMER[45..62], &[card(60)][..]),
            // The end of the id: its last suffix of 3.
            (&LONG_CONSUMER[61..], &[card(60)][..]),
            // Twice in one id, once in the other: one row each.
            ("0123456789", &both[..]),
            (&near[38..], &[card(61)][..]),
            ("0123456789-_9_8_7_7", &[][..]),
        ] {
            assert_eq!(search(&j, text, mode).unwrap(), want, "{text} {mode:?}");
        }
    }
}

#[test]
fn a_consumer_search_with_filters_a_period_and_pages_finds_the_same_orders() {
    let (j, _) = fixture();
    // "cust0001" is in the consumer ids of orders 10..=19: few, read in the suffix index alone
    // (with or without a period), or with the orders' rows for their labels and states.
    let q = |f: &dyn Fn(&mut OrderQuery)| {
        let mut q = OrderQuery {
            search: Some(Search {
                text: "cust0001".into(),
                mode: MatchMode::Exact,
            }),
            page_size: 2,
            ..OrderQuery::default()
        };
        f(&mut q);
        all(&j, &q)
    };
    let period = |q: &mut OrderQuery| {
        q.from = Some(Timestamp::from_millis(T0 + 12 * HOUR));
        q.to = Some(Timestamp::from_millis(T0 + 17 * HOUR));
    };
    assert_eq!(q(&|_| {}), expected(|i| (10..20).contains(&i)));
    assert_eq!(q(&period), expected(|i| (12..17).contains(&i)));
    assert_eq!(
        q(&|q| q.station_id = Some("STATION-1".into())),
        [card(17), card(13)]
    );
    assert_eq!(
        q(&|q| {
            period(q);
            q.station_id = Some("STATION-1".into());
        }),
        [card(13)]
    );
    assert_eq!(q(&|q| q.states = vec![OrderState::Intent]), [card(16)]);
    assert!(
        q(&|q| {
            period(q);
            q.states = vec![OrderState::Intent];
            q.operator = Some("nobody".into());
        })
        .is_empty()
    );
}

#[test]
fn a_consumer_id_changed_or_removed_in_the_file_leaves_the_search_index_in_step() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    let j = Journal::open(&path).unwrap();
    for i in 0..3 {
        j.record_intent(&order(i)).unwrap();
    }
    // The app never changes a consumer id or deletes an order but by pruning; a repair by hand
    // must not leave the index behind.
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute(
        "UPDATE orders SET consumer_id = 'REPAIRED-1' WHERE card_id = 'card-00001'",
        [],
    )
    .unwrap();
    c.execute("DELETE FROM orders WHERE card_id = 'card-00002'", [])
        .unwrap();
    assert_eq!(j.integrity_check().unwrap(), Vec::<String>::new());
    assert_eq!(search(&j, "paired", MatchMode::Exact).unwrap(), [card(1)]);
    assert!(
        search(&j, "CUST00001", MatchMode::Exact)
            .unwrap()
            .is_empty()
    );
    assert!(
        search(&j, "CUST00002", MatchMode::Exact)
            .unwrap()
            .is_empty()
    );
    assert_eq!(search(&j, "CUST0000", MatchMode::Exact).unwrap(), [card(0)]);
    // And the check sees an index that is not in step.
    c.execute_batch(
        "INSERT INTO orders_consumer_suffix VALUES ('stale', 1, 999);
         DELETE FROM orders_consumer_suffix WHERE suffix = 'cust00000';",
    )
    .unwrap();
    let problems = j.integrity_check().unwrap();
    assert_eq!(
        problems,
        [
            "the consumer search index lacks 1 entries of the orders",
            "the consumer search index holds 1 entries of no order"
        ]
    );
}

#[test]
fn search_combines_with_filters_and_never_duplicates() {
    let (j, _) = fixture();
    // "card-0000" prefix matches card ids 0..9; op ids do not start with it.
    let q = OrderQuery {
        search: Some(Search {
            text: "card-0000".into(),
            mode: MatchMode::Prefix,
        }),
        states: vec![OrderState::Intent, OrderState::Done],
        page_size: 2,
        ..OrderQuery::default()
    };
    assert_eq!(all(&j, &q), [card(8), card(5), card(0)]);
    // An order whose consumer id equals its card id is found once.
    let mut o = order(99);
    o.consumer_id = desk_domain::ConsumerId::parse("dup-1").unwrap();
    o.card_id = cid("dup-1");
    j.record_intent(&o).unwrap();
    assert_eq!(search(&j, "dup-1", MatchMode::Exact).unwrap(), ["dup-1"]);
    assert_eq!(search(&j, "dup", MatchMode::Prefix).unwrap(), ["dup-1"]);
}

#[test]
fn search_input_boundaries() {
    let (j, _) = fixture();
    // Empty or blank search = no search.
    assert_eq!(search(&j, "", MatchMode::Exact).unwrap().len(), 40);
    assert_eq!(search(&j, "   ", MatchMode::Prefix).unwrap().len(), 40);
    // 64 characters is fine, 65 is refused.
    assert!(
        search(&j, &"a".repeat(64), MatchMode::Exact)
            .unwrap()
            .is_empty()
    );
    for (text, mode, words) in [
        ("a".repeat(65), MatchMode::Exact, "longer than 64"),
        ("ca".to_owned(), MatchMode::Prefix, "at least 3"),
        ("x".to_owned(), MatchMode::Prefix, "at least 3"),
        ("CUST 1".to_owned(), MatchMode::Exact, "only letters"),
        (
            "'; DROP TABLE orders; --".to_owned(),
            MatchMode::Exact,
            "only letters",
        ),
        ("%".to_owned(), MatchMode::Prefix, "only letters"),
    ] {
        match search(&j, &text, mode) {
            Err(JournalError::InvalidQuery(m)) => assert!(m.contains(words), "{text}: {m}"),
            other => panic!("{text}: {other:?}"),
        }
    }
    // 3 characters are enough for a prefix; 5 digits are an id prefix, not a last 4.
    assert!(search(&j, "123", MatchMode::Prefix).unwrap().is_empty());
    assert!(search(&j, "12345", MatchMode::Prefix).unwrap().is_empty());
    assert_eq!(search(&j, "CUS", MatchMode::Prefix).unwrap().len(), 40);
    assert_eq!(
        j.list(&OrderQuery::default()).unwrap().items.len(),
        40,
        "table intact"
    );
}

#[test]
fn detail_has_the_timeline_and_errors() {
    let (j, _) = fixture();
    let d = j.detail(&card(6)).unwrap();
    assert_eq!(d.order.state, OrderState::Failed);
    assert_eq!(d.order.error_message.as_deref(), Some("printer jammed"));
    let states: Vec<_> = d.history.iter().map(|h| h.state).collect();
    assert_eq!(
        states,
        [
            OrderState::Intent,
            OrderState::Sending,
            OrderState::Accepted,
            OrderState::Failed
        ]
    );
    assert_eq!(
        d.history[3].d1_status.as_deref(),
        Some("CARD_PROD_EXCEPTION")
    );
    assert_eq!(d.history[3].detail.as_deref(), Some("printer jammed"));
    assert!(d.history.windows(2).all(|w| w[0].at <= w[1].at));
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["order"]["state"], "failed");
    assert_eq!(json["order"]["pan_last4"], "0222");
}

#[test]
fn in_flight_lists_every_unfinished_order_oldest_first() {
    let (j, _) = fixture();
    let got: Vec<_> = j
        .in_flight()
        .unwrap()
        .into_iter()
        .map(|o| o.card_id)
        .collect();
    let mut want: Vec<_> = (0..40u32)
        .filter(|i| matches!(i % 8, 0 | 1 | 2 | 4))
        .map(card)
        .collect();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn exceptions_need_action_or_are_stuck() {
    let (j, _) = fixture();
    // At T0+40h every accepted order (i%8==4, created ≤ T0+36h) has been unchanged > 30 min.
    let ex: Vec<_> = j
        .exceptions(&ExceptionQuery::default())
        .unwrap()
        .into_iter()
        .map(|o| o.card_id)
        .collect();
    assert_eq!(ex, expected(|i| matches!(i % 8, 2 | 3 | 4 | 6)));
    // Not stuck yet when the threshold is longer than their age.
    let q = ExceptionQuery {
        stuck_after: Duration::from_secs(40 * 3600),
        ..ExceptionQuery::default()
    };
    let ex: Vec<_> = j
        .exceptions(&q)
        .unwrap()
        .into_iter()
        .map(|o| o.card_id)
        .collect();
    assert_eq!(ex, expected(|i| matches!(i % 8, 2 | 3 | 6)));
    // since + limit.
    let q = ExceptionQuery {
        since: Some(Timestamp::from_millis(T0 + 30 * HOUR)),
        limit: 2,
        ..ExceptionQuery::default()
    };
    let ex: Vec<_> = j
        .exceptions(&q)
        .unwrap()
        .into_iter()
        .map(|o| o.card_id)
        .collect();
    assert_eq!(ex, [card(38), card(36)]);
    // Exactly `stuck_after` old is not stuck yet; one millisecond more is.
    let (k, clock2) = mem();
    k.record_intent(&order(1)).unwrap();
    k.mark_sending(&card(1)).unwrap();
    k.record_accepted(&card(1), &op("op-1")).unwrap();
    clock2.advance(30 * 60 * 1000);
    assert!(k.exceptions(&ExceptionQuery::default()).unwrap().is_empty());
    clock2.advance(1);
    assert_eq!(k.exceptions(&ExceptionQuery::default()).unwrap().len(), 1);
    assert_eq!(
        j.exceptions(&ExceptionQuery {
            limit: order_journal::MAX_EXCEPTIONS,
            ..ExceptionQuery::default()
        })
        .unwrap()
        .len(),
        20,
        "5 each of outcome_unknown, rejected, accepted (stuck) and failed"
    );
    for limit in [0, order_journal::MAX_EXCEPTIONS + 1] {
        assert!(
            j.exceptions(&ExceptionQuery {
                limit,
                ..ExceptionQuery::default()
            })
            .is_err()
        );
    }
}

#[test]
fn stats_count_per_bucket_and_failures_by_reason_and_station() {
    let (j, _) = fixture();
    let range = TimeRange::new(
        Timestamp::from_millis(T0),
        Timestamp::from_millis(T0 + 2 * DAY),
    )
    .unwrap();
    let s = j.stats(range, Bucket::Day).unwrap();
    assert_eq!(s.buckets.len(), 2);
    assert_eq!(s.buckets[0].start.as_millis(), T0);
    assert_eq!((s.buckets[0].orders, s.buckets[1].orders), (24, 16));
    // failures = rejected (i%8==3) + failed (i%8==6): in day 0: 3,6,11,14,19,22 → 6.
    assert_eq!((s.buckets[0].failures, s.buckets[1].failures), (6, 4));
    let reasons: Vec<_> = s
        .failures_by_reason
        .iter()
        .map(|r| (r.label.as_str(), r.count))
        .collect();
    assert_eq!(
        reasons,
        [("CARD_PROD_EXCEPTION", 5), ("FIELD_INVALID_VALUE", 5)]
    );
    let stations: u64 = s.failures_by_station.iter().map(|r| r.count).sum();
    assert_eq!(stations, 10);
    assert_eq!(
        s.failures_by_station[0].label, "STATION-2",
        "i%8 in {{3,6}} → stations 3, 2: {:?}",
        s.failures_by_station
    );

    let hours = j
        .stats(
            TimeRange::new(
                Timestamp::from_millis(T0 - 2 * HOUR),
                Timestamp::from_millis(T0 + 2 * HOUR + 1),
            )
            .unwrap(),
            Bucket::Hour,
        )
        .unwrap();
    let counts: Vec<_> = hours.buckets.iter().map(|b| b.orders).collect();
    assert_eq!(
        counts,
        [0, 0, 1, 1, 1],
        "empty buckets included, partial last bucket"
    );

    let empty = j
        .stats(
            TimeRange::new(
                Timestamp::from_millis(T0 + 100 * DAY),
                Timestamp::from_millis(T0 + 101 * DAY),
            )
            .unwrap(),
            Bucket::Day,
        )
        .unwrap();
    assert_eq!(empty.buckets.len(), 1);
    assert!(empty.failures_by_reason.is_empty());

    assert!(TimeRange::new(Timestamp::from_millis(T0), Timestamp::from_millis(T0)).is_err());
    // A range built by hand is checked too.
    let backwards = TimeRange {
        from: Timestamp::from_millis(T0 + 1),
        to: Timestamp::from_millis(T0),
    };
    assert!(matches!(
        j.stats(backwards, Bucket::Day),
        Err(JournalError::InvalidQuery(_))
    ));
    // 400 days of hours is allowed; 10 years of hours is not.
    let year = TimeRange::new(
        Timestamp::from_millis(T0 - 400 * DAY),
        Timestamp::from_millis(T0),
    )
    .unwrap();
    assert_eq!(j.stats(year, Bucket::Hour).unwrap().buckets.len(), 9600);
    let decade = TimeRange::new(
        Timestamp::from_millis(T0 - 3650 * DAY),
        Timestamp::from_millis(T0),
    )
    .unwrap();
    assert!(matches!(
        j.stats(decade, Bucket::Hour),
        Err(JournalError::InvalidQuery(_))
    ));
    assert_eq!(j.stats(decade, Bucket::Day).unwrap().buckets.len(), 3650);
}

#[test]
fn csv_export_is_masked_quoted_and_formula_safe() {
    let (j, _) = mem();
    let mut o = order(1);
    o.operator = "=HYPERLINK(\"http://x\")".into();
    o.station_id = "+1 station, \"main\"".into();
    o.product_id = "@SUM(A1)".into();
    o.consumer_id = desk_domain::ConsumerId::parse("-C1").unwrap();
    j.record_intent(&o).unwrap();
    j.mark_sending(&card(1)).unwrap();
    j.record_rejected(&card(1), "-400", "line1\nline2, with \"quotes\"")
        .unwrap();
    for i in 2..=3 {
        j.record_intent(&order(i)).unwrap();
    }
    let mut buf = Vec::new();
    let n = j.export_csv(&OrderQuery::default(), &mut buf).unwrap();
    assert_eq!(n, 3);
    let mut r = csv::Reader::from_reader(buf.as_slice());
    assert_eq!(r.headers().unwrap().iter().collect::<Vec<_>>(), CSV_HEADER);
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    assert_eq!(rows.len(), 3);
    let col = |name: &str| CSV_HEADER.iter().position(|h| *h == name).unwrap();
    let first = &rows[2]; // oldest last (all same time → by id desc)
    assert_eq!(&first[col("card_id")], "card-00001");
    assert_eq!(&first[col("card")], "•••• 0037");
    assert_eq!(&first[col("operator")], "'=HYPERLINK(\"http://x\")");
    assert_eq!(&first[col("station_id")], "'+1 station, \"main\"");
    assert_eq!(&first[col("product_id")], "'@SUM(A1)");
    assert_eq!(&first[col("consumer_id")], "'-C1");
    assert_eq!(&first[col("error_code")], "'-400");
    assert_eq!(&first[col("error_message")], "line1 line2, with \"quotes\"");
    assert_eq!(&first[col("state")], "rejected");
    assert_eq!(&first[col("created_at")], "2026-11-25T00:00:00.000Z");
    // Filters apply; more than one internal page is exported.
    let mut buf = Vec::new();
    let q = OrderQuery {
        states: vec![OrderState::Intent],
        ..OrderQuery::default()
    };
    assert_eq!(j.export_csv(&q, &mut buf).unwrap(), 2);
    let (big, _) = mem();
    for i in 0..(MAX_PAGE_SIZE + 7) {
        big.record_intent(&order(i)).unwrap();
    }
    assert_eq!(
        big.export_csv(&OrderQuery::default(), std::io::sink())
            .unwrap(),
        u64::from(MAX_PAGE_SIZE + 7)
    );
    // Invalid query → the same clear error as list.
    let bad = OrderQuery {
        station_id: Some(String::new()),
        ..OrderQuery::default()
    };
    assert!(matches!(
        j.export_csv(&bad, std::io::sink()),
        Err(JournalError::InvalidQuery(_))
    ));
}

#[test]
fn csv_export_reports_a_failing_destination() {
    struct Broken;
    impl std::io::Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Err(std::io::Error::other("disk full"))
        }
    }
    let (j, _) = fixture();
    let err = j.export_csv(&OrderQuery::default(), Broken).unwrap_err();
    assert!(matches!(err, JournalError::Export(_)));
    assert!(err.to_string().contains("disk full"), "{err}");
}

#[test]
fn prune_removes_old_finished_orders_and_their_history_only() {
    let (j, clock) = fixture();
    assert_eq!(DEFAULT_RETENTION, Duration::from_secs(400 * 86_400));
    // 400 days after order 20 was created: orders 0..=19 are older than the retention.
    clock.set(T0 + 20 * HOUR + 400 * DAY);
    let n = j.prune(DEFAULT_RETENTION).unwrap();
    let old_final = (0..20u32)
        .filter(|i| matches!(i % 8, 3 | 5 | 6 | 7))
        .count();
    assert_eq!(n, u64::try_from(old_final).unwrap());
    for i in 0..20u32 {
        let kept = j.detail(&card(i)).is_ok();
        assert_eq!(
            kept,
            matches!(i % 8, 0 | 1 | 2 | 4),
            "order {i}: in flight orders are kept"
        );
    }
    assert!(j.detail(&card(20)).is_ok(), "exactly at the limit is kept");
    assert!(j.integrity_check().unwrap().is_empty(), "no orphan history");
    assert_eq!(j.prune(DEFAULT_RETENTION).unwrap(), 0, "idempotent");
    for bad in [Duration::ZERO, Duration::from_secs(86_399)] {
        assert!(matches!(j.prune(bad), Err(JournalError::InvalidQuery(_))));
    }
    assert!(j.prune(Duration::from_secs(86_400)).is_ok());
}
